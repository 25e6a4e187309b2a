"""EthVault and Erc20Vault: deposits built by proofs.payment, checked by the contracts.

Every malformed encoding below is rejected by the contracts' RLP reader and payment
decoder and by our Python decoder alike: the cross-check that both sides agree on
what a payment transaction is.
"""
from __future__ import annotations

import pytest

from proofs import merkle, rlp
from proofs.errors import DecodeError
from proofs.payment import Output, PaymentTx, decode, deposit_tx, encode, encode_utxo_pos
from tests.adapters.ethereum.rootchain import ALICE, BOB, ETH, events, raw, reverts

AMOUNT = 5


def lst(*parts: bytes) -> bytes:
    """An RLP list of already-encoded parts (lets a test splice in non-canonical bytes)."""
    payload = b"".join(parts)
    return rlp.list_header(len(payload)) + payload


def deposit_bytes(owner: bytes, *, tx_type=b"\x01", inputs=b"\xc0", output=None, amount=None, tx_data=b"\x80",
                  metadata=None, guard=None, token=None, output_type=b"\x01") -> bytes:
    """A deposit of AMOUNT wei to `owner`, any field replaceable by raw RLP bytes."""
    amount = rlp.encode(bytes([AMOUNT])) if amount is None else amount
    guard = rlp.encode(owner) if guard is None else guard
    token = rlp.encode(ETH) if token is None else token
    output = lst(output_type, lst(guard, token, amount)) if output is None else output
    metadata = rlp.encode(bytes(32)) if metadata is None else metadata
    return lst(tx_type, inputs, lst(output), tx_data, metadata)


def test_deposit_bytes_is_our_deposit_encoding():
    owner = b"\x11" * 20
    assert deposit_bytes(owner) == encode(deposit_tx(owner, ETH, AMOUNT))


# (contract's revert reason, how to break the deposit of AMOUNT to `owner`)
MALFORMED = {
    "trailing byte": ("Decoded RLP length is invalid", lambda o: deposit_bytes(o) + b"\x80"),
    "truncated": ("RLP: item out of range", lambda o: deposit_bytes(o)[:-1]),
    "4 fields": ("Invalid encoding of transaction", lambda o: lst(b"\x01", b"\xc0", lst(lst(b"\x01", lst(rlp.encode(o), rlp.encode(ETH), b"\x05"))), b"\x80")),
    "not a list": ("Item is not a list", lambda o: rlp.encode(b"\x01" * 60)),
    "tx type 0": ("Transaction type must not be 0", lambda o: deposit_bytes(o, tx_type=b"\x80")),
    "amount leading zero": ("Leading zeros are invalid", lambda o: deposit_bytes(o, amount=b"\x82\x00\x05")),
    "amount byte 0x00": ("Scalar 0 should be encoded as 0x80", lambda o: deposit_bytes(o, amount=b"\x00")),
    "amount wrapped": ("Invalid short string encoding", lambda o: deposit_bytes(o, amount=b"\x81\x05")),
    "amount 0": ("Output amount must not be 0", lambda o: deposit_bytes(o, amount=b"\x80")),
    "amount 33 bytes": ("Item length must be between 1 and 33 bytes", lambda o: deposit_bytes(o, amount=rlp.encode(b"\x01" * 33))),
    "amount a list": ("Item must not be a list", lambda o: deposit_bytes(o, amount=b"\xc0")),
    "metadata long form": ("Invalid length for a long string or list", lambda o: deposit_bytes(o, metadata=b"\xb8\x20" + bytes(32))),
    "metadata length zero-led": ("Invalid leading zeros in length of the length", lambda o: deposit_bytes(o, metadata=b"\xb9\x00\x20" + bytes(32))),
    "metadata 31 bytes": ("Item length must be 33", lambda o: deposit_bytes(o, metadata=rlp.encode(bytes(31)))),
    "guard 19 bytes": ("Item length must be 21", lambda o: deposit_bytes(o, guard=rlp.encode(o[:19]))),
    "guard zero": ("Output outputGuard must not be 0", lambda o: deposit_bytes(o, guard=rlp.encode(bytes(20)))),
    "txData 1": ("txData must be 0", lambda o: deposit_bytes(o, tx_data=b"\x01")),
    "txData a list": ("Item must not be a list", lambda o: deposit_bytes(o, tx_data=b"\xc0")),
    "inputs a string": ("Item is not a list", lambda o: deposit_bytes(o, inputs=b"\x80")),
    "null input": ("Null input not allowed", lambda o: deposit_bytes(o, inputs=lst(rlp.encode(bytes(32))))),
    "output type 0": ("Output type must not be 0", lambda o: deposit_bytes(o, output_type=b"\x80")),
    "output of 1 item": ("Output must have 2 items", lambda o: deposit_bytes(o, output=lst(b"\x01"))),
    "output data of 2 items": ("Output data must have 3 items", lambda o: deposit_bytes(o, output=lst(b"\x01", lst(rlp.encode(o), b"\x05")))),
    "no outputs": ("Transaction cannot have 0 outputs", lambda o: lst(b"\x01", b"\xc0", b"\xc0", b"\x80", rlp.encode(bytes(32)))),
    "5 outputs": ("Transaction outputs num exceeds limit", lambda o: encode(PaymentTx((), [Output(1, o, ETH, 1)] * 5))),
    "5 inputs": ("Transaction inputs num exceeds limit", lambda o: deposit_bytes(o, inputs=lst(*[rlp.encode((i + 1).to_bytes(32, "big")) for i in range(5)]))),
    "7 inputs": ("RLP: too many items in a list", lambda o: deposit_bytes(o, inputs=lst(*[rlp.encode((i + 1).to_bytes(32, "big")) for i in range(7)]))),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_deposits_are_rejected_by_the_contract_and_by_our_decoder(chain, name):
    reason, build = MALFORMED[name]
    tx = build(chain.addr(ALICE))
    with pytest.raises(DecodeError):
        decode(tx)
    with reverts(reason):
        chain.send(chain.eth_vault.functions.deposit(tx), ALICE, value=AMOUNT)


def test_eth_deposit_creates_a_one_leaf_deposit_block(chain):
    amount = 10**18
    tx = encode(deposit_tx(chain.addr(ALICE), ETH, amount))
    receipt = chain.send(chain.eth_vault.functions.deposit(tx), ALICE, value=amount)
    [event] = events(chain.eth_vault, "DepositCreated", receipt)
    assert (event.depositor, event.blknum, event.token, event.amount) == (chain.accounts[ALICE], 1, ETH_ADDRESS, amount)
    root, timestamp = chain.framework.functions.blocks(1).call()
    assert root == merkle.root([tx]) and timestamp > 0  # our Merkle root of the block [tx]
    assert chain.w3.eth.get_balance(chain.eth_vault.address) == amount


ETH_ADDRESS = "0x" + "00" * 20


def test_eth_deposit_rules(chain):
    alice, bob = chain.addr(ALICE), chain.addr(BOB)
    vault = chain.eth_vault.functions
    with reverts("Depositor's address must match sender's address"):
        chain.send(vault.deposit(encode(deposit_tx(bob, ETH, AMOUNT))), ALICE, value=AMOUNT)
    with reverts("Deposited value must match sent amount"):
        chain.send(vault.deposit(encode(deposit_tx(alice, ETH, AMOUNT))), ALICE, value=AMOUNT + 1)
    with reverts("Output requires correct currency (ETH)"):
        chain.send(vault.deposit(encode(deposit_tx(alice, b"\x01" * 20, AMOUNT))), ALICE, value=AMOUNT)
    with reverts("Deposit must have no inputs"):
        chain.send(vault.deposit(encode(PaymentTx([encode_utxo_pos(1, 0, 0)], [Output(1, alice, ETH, AMOUNT)]))), ALICE, value=AMOUNT)
    with reverts("Deposit must have exactly one output"):
        chain.send(vault.deposit(encode(PaymentTx((), [Output(1, alice, ETH, AMOUNT)] * 2))), ALICE, value=AMOUNT)
    # Types our decoder refuses in a payment; the generic decoder passes them to the deposit rules.
    with reverts("Invalid transaction type"):
        chain.send(vault.deposit(deposit_bytes(alice, tx_type=b"\x02")), ALICE, value=AMOUNT)
    with reverts("Invalid output type"):
        chain.send(vault.deposit(deposit_bytes(alice, output_type=b"\x02")), ALICE, value=AMOUNT)
    assert chain.framework.functions.nextDeposit().call() == 1


def test_a_signed_transaction_is_not_a_deposit(chain):
    """The contracts take unsigned bytes; our decoder also reads the signed form."""
    tx = deposit_tx(chain.addr(ALICE), ETH, AMOUNT).with_signatures((b"\x01" * 65,))
    decode(encode(tx))
    with reverts("Invalid encoding of transaction"):
        chain.send(chain.eth_vault.functions.deposit(encode(tx)), ALICE, value=AMOUNT)


def test_erc20_deposit_moves_the_approved_tokens(chain):
    blknum, tx = chain.deposit_token(ALICE, 700)
    assert blknum == 1
    assert chain.framework.functions.blocks(1).call()[0] == merkle.root([tx])
    assert chain.token.functions.balanceOf(chain.erc20_vault.address).call() == 700
    assert chain.token.functions.balanceOf(chain.accounts[ALICE]).call() == 0


def test_erc20_deposit_rules(chain):
    alice, token = chain.addr(ALICE), raw(chain.token.address)
    vault = chain.erc20_vault.functions
    chain.send(chain.token.functions.mint(chain.accounts[ALICE], 100), ALICE)
    with reverts("Tokens have not been approved"):
        chain.send(vault.deposit(encode(deposit_tx(alice, token, 100))), ALICE)
    chain.send(chain.token.functions.approve(chain.erc20_vault.address, 100), ALICE)
    with reverts("Invalid output currency (ETH)"):
        chain.send(vault.deposit(encode(deposit_tx(alice, ETH, 100))), ALICE)
    with reverts("Depositor's address must match sender's address"):
        chain.send(vault.deposit(encode(deposit_tx(chain.addr(BOB), token, 100))), ALICE)
    with reverts("Deposit must have exactly one output"):
        chain.send(vault.deposit(encode(PaymentTx((), [Output(1, alice, token, 50)] * 2))), ALICE)
    assert chain.framework.functions.nextDeposit().call() == 1


def test_vaults_pay_out_only_to_registered_exit_games(chain):
    chain.deposit_eth(ALICE, AMOUNT)
    with reverts("Called from a non-registered or quarantined exit game contract"):
        chain.send(chain.eth_vault.functions.withdraw(chain.accounts[ALICE], AMOUNT), ALICE)
    with reverts("Called from a non-registered or quarantined exit game contract"):
        chain.send(chain.erc20_vault.functions.withdraw(chain.accounts[ALICE], chain.token.address, 1), ALICE)
