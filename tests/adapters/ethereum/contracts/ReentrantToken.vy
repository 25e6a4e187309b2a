# pragma version ~=0.4.3
"""
@title ReentrantToken (tests only)
@notice An ERC20 whose `transfer` (how a vault pays an exit) first makes one armed call back
        into another contract and records whether it succeeded: a hostile token trying to
        reenter the exit game while it processes an exit.
"""

MAX_CALLDATA: constant(uint256) = 1024

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
target: public(address)
payload: public(Bytes[MAX_CALLDATA])
attempts: public(uint256)
succeeded: public(uint256)


@external
def mint(receiver: address, amount: uint256):
    self.balanceOf[receiver] += amount


@external
def arm(target: address, payload: Bytes[MAX_CALLDATA]):
    self.target = target
    self.payload = payload


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True


@external
def transferFrom(sender: address, receiver: address, amount: uint256) -> bool:
    self.allowance[sender][msg.sender] -= amount
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    return True


@external
def transfer(receiver: address, amount: uint256) -> bool:
    if self.target != empty(address):
        self.attempts += 1
        if raw_call(self.target, self.payload, revert_on_failure=False):
            self.succeeded += 1
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    return True
