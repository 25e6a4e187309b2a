# pragma version ~=0.4.3
"""
@title ContractWallet
@notice A smart-contract wallet: its owner makes calls through it, and receiving ETH writes
        storage, which the 2300-gas stipend of an exit payout cannot pay for.
"""

MAX_CALLDATA: constant(uint256) = 4096

owner: public(address)
received: public(uint256)


@deploy
def __init__():
    self.owner = msg.sender


@external
@payable
def execute(target: address, data: Bytes[MAX_CALLDATA], amount: uint256):
    assert msg.sender == self.owner, "Only the owner"
    raw_call(target, data, value=amount)


@external
@payable
def __default__():
    self.received += msg.value
