# pragma version ~=0.4.3
"""
@title SpendingConditionRegistry
@notice After plasma-contracts v1.0.4's SpendingConditionRegistry: the contract that decides
        whether a transaction of type `spendingTxType` spends an output of type `outputType`.
        The exit games ask it for every pair but a payment output spent by a payment, which
        they check themselves (PaymentOutputToPaymentTxCondition). The owner registers each
        pair once, then renounces ownership so no exit game's rules can change.
"""

owner: public(address)
_conditions: HashMap[bytes32, address]


@deploy
def __init__():
    self.owner = msg.sender


@view
@external
def spendingConditions(outputType: uint256, spendingTxType: uint256) -> address:
    return self._conditions[keccak256(abi_encode(outputType, spendingTxType))]


@external
def registerSpendingCondition(outputType: uint256, spendingTxType: uint256, condition: address):
    assert msg.sender == self.owner, "Ownable: caller is not the owner"
    assert outputType != 0, "Should not register with output type 0"
    assert spendingTxType != 0, "Should not register with spending tx type 0"
    assert condition != empty(address), "Should not register an empty address"
    key: bytes32 = keccak256(abi_encode(outputType, spendingTxType))
    assert self._conditions[key] == empty(address), "The (output type, spending tx type) pair has already been registered"
    self._conditions[key] = condition


@external
def renounceOwnership():
    assert msg.sender == self.owner, "Ownable: caller is not the owner"
    self.owner = empty(address)
