"""Who acts in the search and the bytes they sign: keys, addresses, tokens, the contract,
BLS keys, signatures (and their malleated twins), commit and request digests, drafts of
payments and deposit bytes."""
from __future__ import annotations

import functools

import attrs

from ledger.events import FeeRule, PairFee
from ledger.fee_votes import trading_vote_digest, vote_digest
from ledger.staking import commit_message, unbond_digest, unjail_digest
from ledger.state import State
from proofs import bls, eip712, payment, rlp
from proofs.keccak import keccak256
from proofs.order import decode_transaction
from proofs.payment import OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from specs.naive import Out

KEYS = tuple(keccak256(b"omg-ledger specs.search key %d" % i) for i in range(4))
ADDRESSES = tuple(eip712.address_of(key) for key in KEYS)
TOKENS = (bytes(20), bytes.fromhex("5e1f" * 10))  # ETH (the zero address) and one ERC-20
CONTRACT = bytes.fromhex("c0ffee" * 6 + "c0de")
OTHER_CONTRACT = bytes.fromhex("0badc0de" * 5)  # a signature for another chain
SEPARATOR = eip712.domain_separator(CONTRACT)
NULL_SIGNATURE = bytes(65)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# Validators' BLS keys: one per secp256k1 key above, and a stranger's (index 4) nobody registers honestly.
BLS_SECRETS = tuple(bls.secret_key(keccak256(b"omg-ledger specs.search bls key %d" % i)) for i in range(5))
MALFORMED_BLS_KEYS = (b"", b"\x01" * 48, bytes([0xC0]) + bytes(47))  # empty, no compression flag, infinity


@functools.lru_cache(maxsize=8192)
def sign(digest: bytes, key_index: int) -> bytes:
    """Signatures are deterministic; cached because shrinking replays the same steps many times."""
    return eip712.sign(digest, KEYS[key_index])


def malleated(signature: bytes) -> bytes:
    """The high-s twin of a signature: (r, n - s) with the recovery bit flipped."""
    s_value = int.from_bytes(signature[32:64], "big")
    flipped_v = {27: 28, 28: 27}.get(signature[64], signature[64])
    return signature[:32] + (SECP256K1_N - s_value).to_bytes(32, "big") + bytes([flipped_v])


def key_of(owner: bytes) -> int:
    return ADDRESSES.index(owner)


@functools.cache
def bls_public(index: int) -> bytes:
    return bls.public_key(BLS_SECRETS[index])


@functools.cache
def bls_pop(index: int) -> bytes:
    return bls.pop_prove(BLS_SECRETS[index])


@functools.lru_cache(maxsize=4096)
def bls_sign(index: int, message: bytes) -> bytes:
    return bls.sign(BLS_SECRETS[index], message)


def bls_index(public_key: bytes) -> int:
    return [bls_public(i) for i in range(len(BLS_SECRETS))].index(public_key)


def commit_head(state: State, blknum: int) -> bytes:
    """The log head a commit of `blknum` signs: the sealed child block's, or zeros for any other height."""
    block = state.blocks.get(blknum)
    return block.log_head if block is not None and not block.is_deposit else bytes(32)


def commit_message_of(state: State, blknum: int, root: bytes) -> bytes:
    """What a validator signs to commit `root` as child block `blknum` of the ledger in `state`:
    the one place the search builds a commit message (commits and equivocation evidence)."""
    assert state.params is not None
    return commit_message(state.params.domain_separator, blknum, root, commit_head(state, blknum))


def commit_signature(state: State, index: int, blknum: int, root: bytes) -> tuple[bytes, tuple[bytes, tuple]]:
    """BLS key `index`'s signature committing `root` as block `blknum`, and what it is to the
    model: (the public key, what it signed)."""
    return bls_sign(index, commit_message_of(state, blknum, root)), (bls_public(index), ("commit", CONTRACT, blknum, root))


def request_digest(meaning: tuple) -> bytes:
    """The digest a validator signs for a request, from the meaning the model judges it by."""
    kind, contract, validator, *rest = meaning
    separator = eip712.domain_separator(contract)
    if kind == "unbond":
        return unbond_digest(separator, validator, *rest)
    if kind == "vote":
        schedule, nonce = rest
        return vote_digest(separator, validator, tuple(FeeRule(*r) for r in schedule), nonce)
    if kind == "trading_vote":
        fees, nonce = rest
        return trading_vote_digest(separator, validator, tuple(PairFee(*f) for f in fees), nonce)
    return unjail_digest(separator, validator, *rest)


@attrs.define
class Draft:
    """A payment being built: positions, outputs, and the key that signs each input slot."""

    inputs: list[int]
    outputs: list[Out]
    keys: list[int]

    def tx(self) -> PaymentTx:
        return PaymentTx(self.inputs, [Output(OUTPUT_TYPE_PAYMENT, *out) for out in self.outputs])


def unsigned_deposit(outputs: tuple[Out, ...]) -> bytes:
    return payment.encode(PaymentTx((), [Output(OUTPUT_TYPE_PAYMENT, *out) for out in outputs]))


def deposit_bytes(outputs: tuple[Out, ...], signatures: list[bytes] | None = None) -> bytes:
    """The deposit transaction's bytes: the unsigned form, or the signed form around it."""
    unsigned = unsigned_deposit(outputs)
    return unsigned if signatures is None else rlp.encode([signatures, *rlp.decode(unsigned)])


def outputs_of(raw: bytes) -> tuple[Out, ...]:
    """The outputs of any transaction a block holds (payment, order or settlement)."""
    return tuple((o.owner, o.token, o.amount) for o in decode_transaction(raw).outputs)


def nested_lists(depth: int) -> bytes:
    """RLP of [[[...[]...]]] `depth` deep, built without recursion."""
    raw = b""
    for _ in range(depth):
        size = len(raw)
        if size <= 55:
            raw = bytes([0xC0 + size]) + raw
        else:
            length = size.to_bytes((size.bit_length() + 7) // 8, "big")
            raw = bytes([0xF7 + len(length)]) + length + raw
    return raw
