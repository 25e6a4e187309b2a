# pragma version ~=0.4.3
"""
@title WalletExiter (tests only)
@notice A contract wallet: it deposits ETH it owns and starts the standard exit of that deposit
        itself, so the exit game's ExitStarted comes from a transaction whose calldata is the
        wallet's, not startStandardExit's.
"""

MAX_TX_BYTES: constant(uint256) = 1024
MAX_PROOF_BYTES: constant(uint256) = 1024


struct StartStandardExitArgs:
    utxoPos: uint256
    rlpOutputTx: Bytes[MAX_TX_BYTES]
    outputTxInclusionProof: Bytes[MAX_PROOF_BYTES]


interface EthVault:
    def deposit(depositTx: Bytes[MAX_TX_BYTES]): payable

interface ExitGame:
    def startStandardExit(args: StartStandardExitArgs): payable


@external
@payable
def deposit(vault: address, depositTx: Bytes[MAX_TX_BYTES]):
    extcall EthVault(vault).deposit(depositTx, value=msg.value)


@external
@payable
def startExit(exitGame: address, args: StartStandardExitArgs):
    extcall ExitGame(exitGame).startStandardExit(args, value=msg.value)
