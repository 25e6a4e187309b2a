# pragma version ~=0.4.3
"""
@title BlacklistToken (tests only)
@notice An ERC20 whose owner can bar an address from receiving it (as USDC and USDT can):
        a transfer to a barred address reverts. Anyone
        may mint or burn: never deploy it for value.
"""

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
barred: public(HashMap[address, bool])


@external
def mint(receiver: address, amount: uint256):
    self.balanceOf[receiver] += amount


@external
def burn(holder: address, amount: uint256):
    self.balanceOf[holder] -= amount


@external
def bar(account: address, barred: bool):
    self.barred[account] = barred


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    assert not self.barred[receiver], "Receiver is blacklisted"
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    assert not self.barred[receiver], "Receiver is blacklisted"
    self.allowance[sender][msg.sender] -= amount
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    return True
