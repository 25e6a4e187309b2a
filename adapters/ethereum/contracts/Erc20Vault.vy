# pragma version ~=0.4.3
"""
@title Erc20Vault
@notice Holds the ERC20 tokens of the child chain, after plasma-contracts v2's Erc20Vault
        with its Erc20DepositVerifier: the deposit transaction's one output names the token
        (not 0x0) and the amount, which the sender must have approved to this vault.
"""
import rlp
import payment
import merkle

interface PlasmaFramework:
    def submitDepositBlock(blockRoot: bytes32) -> uint256: nonpayable
    def exitGameToTxType(exitGame: address) -> uint256: view

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


framework: public(address)


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
    """Pay `amount` of `token` to `receiver` for an exit."""
    assert staticcall PlasmaFramework(self.framework).exitGameToTxType(msg.sender) != 0, "Called from a non-registered exit game contract"
    assert extcall ERC20(token).transfer(receiver, amount, default_return_value=True), "Token transfer failed"
    log Erc20Withdrawn(receiver=receiver, token=token, amount=amount)
