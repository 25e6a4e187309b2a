# pragma version ~=0.4.3
"""
@title DepositBlockFiller (tests only)
@notice Registered as a vault, it submits many deposit blocks in one transaction, so a test
        can reach the 999-deposit limit of a child block interval without 999 transactions.
"""

interface PlasmaFramework:
    def submitDepositBlock(blockRoot: bytes32) -> uint256: nonpayable

MAX_PER_CALL: constant(uint256) = 500

framework: public(address)


@deploy
def __init__(framework: address):
    self.framework = framework


@external
def fill(count: uint256):
    for i: uint256 in range(count, bound=MAX_PER_CALL):
        extcall PlasmaFramework(self.framework).submitDepositBlock(keccak256(convert(i, bytes32)))
