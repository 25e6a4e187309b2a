# pragma version ~=0.4.3
"""
@title RogueExitGame
@notice What an authority turned hostile registers as an exit game: it asks the vaults to pay
        it everything and the framework to flag honest outputs as exited, with no exit at all.
"""

interface EthVault:
    def withdraw(receiver: address, amount: uint256): nonpayable

interface PlasmaFramework:
    def flagOutputFinalized(outputId: bytes32, exitId: uint160): nonpayable


@external
def drain(vault: address, receiver: address, amount: uint256):
    extcall EthVault(vault).withdraw(receiver, amount)


@external
def flag(framework: address, outputId: bytes32):
    extcall PlasmaFramework(framework).flagOutputFinalized(outputId, 1)
