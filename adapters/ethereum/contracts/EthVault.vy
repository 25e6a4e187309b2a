# pragma version ~=0.4.3
"""
@title EthVault
@notice Holds the ETH of the child chain, after plasma-contracts v2's EthVault with its
        EthDepositVerifier: `deposit` takes an RLP deposit transaction (payment type 1,
        no inputs, one payment output owned by the sender, token 0x0, amount == msg.value,
        txData 0, 32-byte metadata) and submits it to the framework as a one-leaf deposit
        block; `withdraw` pays exits and is callable only by registered exit games.
"""
import rlp
import payment
import merkle

# Gas forwarded with an ETH payment (SafeEthTransfer): enough for a plain receive, not for reentrancy.
SAFE_GAS_STIPEND: constant(uint256) = 2300

interface PlasmaFramework:
    def submitDepositBlock(blockRoot: bytes32) -> uint256: nonpayable
    def exitGameToTxType(exitGame: address) -> uint256: view


event DepositCreated:
    depositor: indexed(address)
    blknum: indexed(uint256)
    token: indexed(address)
    amount: uint256

event EthWithdrawn:
    receiver: indexed(address)
    amount: uint256

event WithdrawFailed:
    receiver: indexed(address)
    amount: uint256


framework: public(address)


@deploy
def __init__(framework: address):
    self.framework = framework


@external
@payable
@nonreentrant
def deposit(depositTx: Bytes[rlp.MAX_BYTES]):
    output: payment.Output = payment.decode_deposit(depositTx)
    assert output.amount == msg.value, "Deposited value must match sent amount"
    assert output.token == empty(address), "Output requires correct currency (ETH)"
    payment.check_deposit_owner(output, msg.sender)
    blknum: uint256 = extcall PlasmaFramework(self.framework).submitDepositBlock(
        merkle.single_leaf_root(depositTx)
    )
    log DepositCreated(depositor=msg.sender, blknum=blknum, token=empty(address), amount=msg.value)


@external
def withdraw(receiver: address, amount: uint256):
    """Pay `amount` wei to `receiver` for an exit; a failed payment is logged, not reverted."""
    assert staticcall PlasmaFramework(self.framework).exitGameToTxType(msg.sender) != 0, "Called from a non-registered exit game contract"
    success: bool = raw_call(receiver, b"", value=amount, gas=SAFE_GAS_STIPEND, revert_on_failure=False)
    if success:
        log EthWithdrawn(receiver=receiver, amount=amount)
    else:
        log WithdrawFailed(receiver=receiver, amount=amount)
