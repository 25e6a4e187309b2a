# pragma version ~=0.4.3
"""
@title Erc20Vault
@notice Holds the ERC20 tokens of the child chain, after plasma-contracts v1.0.4's Erc20Vault
        with its Erc20DepositVerifier: the deposit transaction's one output names the token
        (not 0x0) and the amount, which the sender must have approved to this vault.
        A payout the token refuses (a blacklisted or paused receiver, a balance short of a
        fee-on-transfer token's deposits) is kept for the receiver in `unclaimed` instead of
        reverting, which would block the token's exit queue for everyone; the receiver takes
        it later with `claim`, to any address.
"""
import rlp
import payment
import merkle

interface PlasmaFramework:
    def submitDepositBlock(blockRoot: bytes32) -> uint256: nonpayable
    def isExitGameSafeToUse(exitGame: address) -> bool: view

interface ERC20:
    def allowance(owner: address, spender: address) -> uint256: view
    def transferFrom(sender: address, receiver: address, amount: uint256) -> bool: nonpayable
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable


event DepositCreated:
    depositor: indexed(address)
    blknum: indexed(uint256)
    token: indexed(address)
    amount: uint256

event Erc20Withdrawn:
    receiver: indexed(address)
    token: indexed(address)
    amount: uint256

event WithdrawFailed:
    receiver: indexed(address)
    token: indexed(address)
    amount: uint256

event WithdrawClaimed:
    receiver: indexed(address)
    token: indexed(address)
    to: address
    amount: uint256


framework: public(address)
# receiver => token => amount of its payouts that failed, not yet claimed
unclaimed: public(HashMap[address, HashMap[address, uint256]])


@deploy
def __init__(framework: address):
    self.framework = framework


@external
@nonreentrant
def deposit(depositTx: Bytes[rlp.MAX_BYTES]):
    output: payment.Output = payment.decode_deposit(depositTx)
    assert output.token != empty(address), "Invalid output currency (ETH)"
    payment.check_deposit_owner(output, msg.sender)
    token: ERC20 = ERC20(output.token)
    # Exactly the amount, as plasma-contracts' Erc20DepositVerifier requires.
    assert staticcall token.allowance(msg.sender, self) == output.amount, "Tokens have not been approved"
    # Tokens that return nothing (USDT-style) count as success; `false` or a revert fails the deposit.
    assert extcall token.transferFrom(msg.sender, self, output.amount, default_return_value=True), "Token transfer failed"
    blknum: uint256 = extcall PlasmaFramework(self.framework).submitDepositBlock(
        merkle.single_leaf_root(depositTx)
    )
    log DepositCreated(depositor=msg.sender, blknum=blknum, token=output.token, amount=output.amount)


@external
@nonreentrant
def withdraw(receiver: address, token: address, amount: uint256):
    """Pay `amount` of `token` to `receiver` for an exit; a refused payment is kept for it to claim."""
    assert staticcall PlasmaFramework(self.framework).isExitGameSafeToUse(msg.sender), "Called from a non-registered or quarantined exit game contract"
    if self._try_transfer(token, receiver, amount):
        log Erc20Withdrawn(receiver=receiver, token=token, amount=amount)
    else:
        self.unclaimed[receiver][token] += amount
        log WithdrawFailed(receiver=receiver, token=token, amount=amount)


@external
@nonreentrant
def claim(token: address, to: address):
    """The caller takes every payout of `token` of its that failed, sent to `to`."""
    amount: uint256 = self.unclaimed[msg.sender][token]
    assert amount > 0, "Nothing to claim"
    self.unclaimed[msg.sender][token] = 0
    assert self._try_transfer(token, to, amount), "Token transfer failed"
    log WithdrawClaimed(receiver=msg.sender, token=token, to=to, amount=amount)


@internal
def _try_transfer(token: address, to: address, amount: uint256) -> bool:
    """ERC20 `transfer` as SafeERC20 judges it (no code, a revert or a `false` fail; no return
    data succeeds), reporting a failure instead of reverting."""
    if not token.is_contract:
        return False
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        token, abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=32, revert_on_failure=False,
    )
    if not success:
        return False
    return len(response) == 0 or (len(response) == 32 and convert(response, uint256) == 1)
