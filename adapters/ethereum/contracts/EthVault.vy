# pragma version ~=0.4.3
"""
@title EthVault
@notice Holds the ETH of the child chain, after plasma-contracts v1.0.4's EthVault with its
        EthDepositVerifier: `deposit` takes an RLP deposit transaction (payment type 1,
        no inputs, one payment output owned by the sender, token 0x0, amount == msg.value,
        txData 0, 32-byte metadata) and submits it to the framework as a one-leaf deposit
        block; `withdraw` pays exits and is callable only by registered exit games out of
        quarantine. A payout the receiver refuses (with the 2300-gas stipend) is kept for it
        in `unclaimed`, never lost and never reverted (that would block the queue): the
        receiver takes it later with `claim`, to any address and with all the call's gas, so a
        contract whose receive needs more gas is paid too.
"""
import rlp
import payment
import merkle

# Gas forwarded with an ETH payment (SafeEthTransfer): enough for a plain receive, not for reentrancy.
SAFE_GAS_STIPEND: constant(uint256) = 2300

interface PlasmaFramework:
    def submitDepositBlock(blockRoot: bytes32) -> uint256: nonpayable
    def isExitGameSafeToUse(exitGame: address) -> bool: view


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

event WithdrawClaimed:
    receiver: indexed(address)
    to: indexed(address)
    amount: uint256


framework: public(address)
# receiver => wei of its payouts that failed, not yet claimed
unclaimed: public(HashMap[address, uint256])


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
    """Pay `amount` wei to `receiver` for an exit; a failed payment is kept for it to claim, not reverted."""
    assert staticcall PlasmaFramework(self.framework).isExitGameSafeToUse(msg.sender), "Called from a non-registered or quarantined exit game contract"
    success: bool = raw_call(receiver, b"", value=amount, gas=SAFE_GAS_STIPEND, revert_on_failure=False)
    if success:
        log EthWithdrawn(receiver=receiver, amount=amount)
    else:
        self.unclaimed[receiver] += amount
        log WithdrawFailed(receiver=receiver, amount=amount)


@external
@nonreentrant
def claim(to: address):
    """The caller takes every payout of its that failed, sent to `to` with all the gas left."""
    amount: uint256 = self.unclaimed[msg.sender]
    assert amount > 0, "Nothing to claim"
    self.unclaimed[msg.sender] = 0
    raw_call(to, b"", value=amount)
    log WithdrawClaimed(receiver=msg.sender, to=to, amount=amount)
