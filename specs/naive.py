"""The model's constants and naive restatements: PosLib positions, the Merkle root of a block,
the RLP of a transaction the ledger mints, per-token totals, output shapes and the lower
stake-weighted median, each written for obviousness, none shared with the ledger."""
from __future__ import annotations

import functools

from proofs.keccak import keccak256

CHILD_INTERVAL = 1000
BLOCK_OFFSET = 1_000_000_000
TX_OFFSET = 10_000
MAX_TXINDEX = 2**16 - 1  # PosLib: a block holds at most 2^16 transactions
MAX_BLKNUM = (2**56 - 1 - MAX_TXINDEX) // (BLOCK_OFFSET // TX_OFFSET)  # PosLib: a position fits 56 bits
PAYMENT_TX_TYPE = 1
MAX_INPUTS = 4
MAX_OUTPUTS = 4
MERKLE_DEPTH = 16
BPS = 10_000
STAKING_POOL = keccak256(b"omg-ledger staking pool")[12:]  # nobody's key: outputs paid to it are stake
MINT_METADATA = keccak256(b"omg-ledger stake returned")  # the metadata of transactions the ledger mints

Out = tuple[bytes, bytes, int]  # (owner, token, amount)
Slot = tuple[bool, int]  # (is_output, index) of an in-flight exit
ABSENT = b""  # the signer of an all-zero signature: nobody, and it does not count


# --- naive encodings: a Merkle root, and the transactions the ledger mints ------------


@functools.lru_cache(maxsize=None)
def empty_subtree(height: int) -> bytes:
    """Root of a subtree of `height` whose leaves are all empty (32 zero bytes)."""
    if height == 0:
        return keccak256(b"\x00" + bytes(32))
    child = empty_subtree(height - 1)
    return keccak256(b"\x01" + child + child)


def naive_root(leaves: list[bytes], height: int = MERKLE_DEPTH) -> bytes:
    """Top-down recursion over halves: a different algorithm from proofs.merkle's bottom-up levels."""
    if not leaves:
        return empty_subtree(height)
    if height == 0:
        assert len(leaves) == 1
        return keccak256(b"\x00" + leaves[0])
    half = 2 ** (height - 1)
    return keccak256(b"\x01" + naive_root(leaves[:half], height - 1) + naive_root(leaves[half:], height - 1))


def _rlp_header(offset: int, length: int) -> bytes:
    if length <= 55:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def _rlp(item: bytes | list) -> bytes:
    """RLP, written out again from the yellow paper's appendix B."""
    if isinstance(item, list):
        payload = b"".join(_rlp(child) for child in item)
        return _rlp_header(0xC0, len(payload)) + payload
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _rlp_header(0x80, len(item)) + item


def mint_leaf(out: Out) -> bytes:
    """The unsigned bytes of the input-less transaction by which the ledger pays `out`:
    [txType 1, no inputs, [[outputType 1, [owner, token, amount]]], txData 0, metadata]."""
    owner, token, amount = out
    amount_bytes = amount.to_bytes((amount.bit_length() + 7) // 8, "big")
    return _rlp([b"\x01", [], [[b"\x01", [owner, token, amount_bytes]]], b"", MINT_METADATA])


def position(blknum: int, txindex: int, oindex: int) -> int:
    return blknum * BLOCK_OFFSET + txindex * TX_OFFSET + oindex


def totals(outputs: list[Out]) -> dict[bytes, int]:
    """Sum per token, by the most obvious loop."""
    result: dict[bytes, int] = {}
    for _, token, amount in outputs:
        result[token] = result.get(token, 0) + amount
    return result


def add(totals_map: dict[bytes, int], token: bytes, amount: int) -> None:
    totals_map[token] = totals_map.get(token, 0) + amount


def shape_codes(outputs: tuple[Out, ...], input_count: int) -> set[str]:
    """Encoding rules any transaction obeys: ≤4 inputs, 1..4 outputs, nonzero amounts and owners."""
    codes = set()
    if input_count > MAX_INPUTS:
        codes.add("too_many_inputs")
    if not outputs:
        codes.add("empty_outputs")
    if len(outputs) > MAX_OUTPUTS:
        codes.add("too_many_outputs")
    if any(amount == 0 for _, _, amount in outputs):
        codes.add("amount_cant_be_zero")
    if any(owner == bytes(20) for owner, _, _ in outputs):
        codes.add("output_guard_cant_be_zero")
    return codes


def lower_weighted_median(votes: list[tuple[int, int]]) -> int:
    """Of (fee, stake) votes: the lowest voted fee such that the stake voting at most it is
    at least half of all the stake voting."""
    total = sum(stake for _, stake in votes)
    for fee in sorted({fee for fee, _ in votes}):
        if 2 * sum(stake for voted, stake in votes if voted <= fee) >= total:
            return fee
    raise AssertionError("no votes")
