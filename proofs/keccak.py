"""Keccak-256, the hash of Ethereum and of every OMG structure.

`safe-pysha3` binds the C reference implementation and is about six times faster
per call than pycryptodome for short inputs; hashing is on every hot path here.
"""
from sha3 import keccak_256


def keccak256(data: bytes) -> bytes:
    """The 32-byte Keccak-256 digest (not NIST SHA3-256)."""
    return keccak_256(data).digest()


def address_of_public_key(public_key_xy: bytes) -> bytes:
    """Ethereum address: the last 20 bytes of keccak of the 64-byte public key."""
    assert len(public_key_xy) == 64
    return keccak_256(public_key_xy).digest()[12:]
