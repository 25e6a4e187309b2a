"""Cryptography and encodings, byte-compatible with the OMG Network.

Knows nothing of the ledger: keccak, RLP payment transactions, EIP-712 signing,
the block Merkle tree. Every decoder raises `DecodeError` with a stable reason.
"""
