"""BLS signatures on BLS12-381 for validator commits.

The proof-of-possession ciphersuite of draft-irtf-cfrg-bls-signature,
BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_, as Ethereum's consensus layer uses it:
public keys are 48-byte compressed G1 points, signatures 96-byte compressed G2 points
(ZCash's encoding). Every validator signs the same commit message, so a block's commit
is one aggregate signature checked by `fast_aggregate_verify` against the signers'
keys; that is sound only because each key was registered with a proof of possession
(`pop_verify`), which rules out rogue keys (pk' = g·x − Σ pk_i) forged to cancel others.

Two backends give byte-identical keys, signatures and aggregates and the same verdicts:
- `py_ecc`: py-ecc's G2ProofOfPossession, pure Python, the reference (≈0.35 s a verify);
- `arkworks`: py-arkworks-bls12381 (Rust), the fast one, composed here from its group
  operations, hash-to-G2 and pairing check.
`BACKEND` is arkworks when importable, else py-ecc; OMG_BLS_BACKEND=py_ecc|arkworks
forces one. Every function takes `backend=` to pick one explicitly.

Bytes that are not a valid point (wrong length, flags, coordinate ≥ p, off the curve,
outside the prime-order subgroup, an infinity public key) make `verify` and friends
return False; the explicit decoders `check_public_key` / `check_signature` and the
aggregators raise `DecodeError("malformed_bls_point", detail)`.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from proofs.errors import DecodeError

try:
    import py_arkworks_bls12381 as _ark
except ImportError:  # pragma: no cover - the fast backend is optional at run time
    _ark = None

DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
POP_DST = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
PUBLIC_KEY_BYTES = 48
SIGNATURE_BYTES = 96
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001  # r
FIELD_MODULUS = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab", 16
)  # p
MALFORMED_POINT = "malformed_bls_point"
MALFORMED_BITMAP = "malformed_signer_bitmap"
ENV_BACKEND = "OMG_BLS_BACKEND"
# Decompressing a key (square root, subgroup check) costs ~75 µs in arkworks against
# ~2 ms for a whole verification; validators sign every block, so keep their points.
PUBLIC_KEY_CACHE_SIZE = 4096

_C_FLAG, _B_FLAG, _A_FLAG = 0x80, 0x40, 0x20  # compressed, infinity, sign of y


# --- key generation (no curve arithmetic: one implementation for both backends) -----


def secret_key(ikm: bytes, key_info: bytes = b"") -> int:
    """KeyGen of the draft (v4+, as EIP-2333's HKDF_mod_r): a secret key from at least
    32 bytes of input keying material."""
    if len(ikm) < 32:
        raise ValueError(f"KeyGen needs at least 32 bytes of keying material, got {len(ikm)}")
    length = 48  # ceil(3 * ceil(log2(r)) / 16)
    salt = b"BLS-SIG-KEYGEN-SALT-"
    sk = 0
    while sk == 0:  # r's bound makes a second round astronomically unlikely
        salt = hashlib.sha256(salt).digest()
        prk = hmac.new(salt, ikm + b"\x00", hashlib.sha256).digest()
        okm, block, info = b"", b"", key_info + length.to_bytes(2, "big")
        for counter in range(1, 3):  # HKDF-Expand: two SHA-256 blocks cover 48 bytes
            block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
            okm += block
        sk = int.from_bytes(okm[:length], "big") % CURVE_ORDER
    return sk


# --- encodings shared by both backends -------------------------------------------------


def _encoding_problem(data: bytes, size: int) -> str | None:
    """Why `data` is not a canonical compressed point of `size` bytes, before any curve
    arithmetic; None if its flags and coordinates are well-formed. Stricter than
    arkworks alone, which reads an infinity with stray bits as infinity."""
    if len(data) != size:
        return f"{len(data)} bytes, expected {size}"
    flags = data[0] & (_C_FLAG | _B_FLAG | _A_FLAG)
    if not flags & _C_FLAG:
        return "compression flag not set"
    words = [int.from_bytes(data[i : i + 48], "big") for i in range(0, size, 48)]
    words[0] &= (1 << 381) - 1
    if flags & _B_FLAG:
        if flags & _A_FLAG or any(words):
            return "point at infinity with other bits set"
        return None
    if any(word >= FIELD_MODULUS for word in words):
        return "coordinate not below the field modulus"
    return None


# --- the backend seam --------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """The curve-dependent half of the scheme. Every function takes and returns bytes,
    so two backends can be compared byte for byte."""

    name: str
    public_key: Callable[[int], bytes]
    sign: Callable[[int, bytes], bytes]
    pop_prove: Callable[[int], bytes]
    verify: Callable[[bytes, bytes, bytes], bool]
    pop_verify: Callable[[bytes, bytes], bool]
    fast_aggregate_verify: Callable[[Sequence[bytes], bytes, bytes], bool]
    aggregate: Callable[[Sequence[bytes]], bytes]  # raises DecodeError on a bad signature
    aggregate_public_keys: Callable[[Sequence[bytes]], bytes]  # raises DecodeError on a bad key
    public_key_problem: Callable[[bytes], str | None]  # None: a valid public key (KeyValidate)
    signature_problem: Callable[[bytes], str | None]  # None: a point of G2's subgroup


def _malformed(what: str, problem: str) -> DecodeError:
    return DecodeError(MALFORMED_POINT, f"{what}: {problem}")


# --- py-ecc: the reference ---------------------------------------------------------------


@functools.cache
def _py_ecc() -> Any:
    """py-ecc, imported on first use: its import alone takes ~0.4 s."""
    from py_ecc.bls import G2ProofOfPossession
    from py_ecc.bls.g2_primitives import pubkey_to_G1, signature_to_G2, subgroup_check
    from py_ecc.optimized_bls12_381 import is_inf

    assert G2ProofOfPossession.DST == DST and G2ProofOfPossession.POP_TAG == POP_DST
    return SimpleNamespace(
        scheme=G2ProofOfPossession,
        pubkey_to_G1=pubkey_to_G1,
        signature_to_G2=signature_to_G2,
        subgroup_check=subgroup_check,
        is_inf=is_inf,
    )


def _py_ecc_public_key_problem(pk: bytes) -> str | None:
    problem = _encoding_problem(pk, PUBLIC_KEY_BYTES)
    if problem:
        return problem
    m = _py_ecc()
    try:
        point = m.pubkey_to_G1(pk)
    except ValueError:
        return "not on the curve"
    if m.is_inf(point):
        return "the point at infinity is no public key"
    if not m.subgroup_check(point):
        return "not in the prime-order subgroup"
    return None


def _py_ecc_signature_problem(signature: bytes) -> str | None:
    problem = _encoding_problem(signature, SIGNATURE_BYTES)
    if problem:
        return problem
    m = _py_ecc()
    try:
        point = m.signature_to_G2(signature)
    except ValueError:
        return "not on the curve"
    if not m.subgroup_check(point):
        return "not in the prime-order subgroup"
    return None


def _py_ecc_aggregate(signatures: Sequence[bytes]) -> bytes:
    # The draft's Aggregate only decompresses; we also refuse points outside the subgroup,
    # which could never verify, so that both backends fail alike and early.
    for i, signature in enumerate(signatures):
        problem = _py_ecc_signature_problem(signature)
        if problem:
            raise _malformed(f"signature {i}", problem)
    return bytes(_py_ecc().scheme.Aggregate(list(signatures)))


def _py_ecc_aggregate_public_keys(pks: Sequence[bytes]) -> bytes:
    for i, pk in enumerate(pks):
        problem = _py_ecc_public_key_problem(pk)
        if problem:
            raise _malformed(f"public key {i}", problem)
    return bytes(_py_ecc().scheme._AggregatePKs(list(pks)))  # what its FastAggregateVerify sums with


def _py_ecc_verify(pk: bytes, message: bytes, signature: bytes) -> bool:
    # py-ecc reads an infinity with stray bits as infinity too: screen encodings first.
    if _encoding_problem(pk, PUBLIC_KEY_BYTES) or _encoding_problem(signature, SIGNATURE_BYTES):
        return False
    return bool(_py_ecc().scheme.Verify(pk, message, signature))


def _py_ecc_pop_verify(pk: bytes, proof: bytes) -> bool:
    if _encoding_problem(pk, PUBLIC_KEY_BYTES) or _encoding_problem(proof, SIGNATURE_BYTES):
        return False
    return bool(_py_ecc().scheme.PopVerify(pk, proof))


def _py_ecc_fast_aggregate_verify(pks: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    if any(_encoding_problem(pk, PUBLIC_KEY_BYTES) for pk in pks) or _encoding_problem(signature, SIGNATURE_BYTES):
        return False
    return bool(_py_ecc().scheme.FastAggregateVerify(list(pks), message, signature))


def _py_ecc_public_key(sk: int) -> bytes:
    return bytes(_py_ecc().scheme.SkToPk(sk))


def _py_ecc_sign(sk: int, message: bytes) -> bytes:
    return bytes(_py_ecc().scheme.Sign(sk, message))


def _py_ecc_pop_prove(sk: int) -> bytes:
    return bytes(_py_ecc().scheme.PopProve(sk))


PY_ECC = Backend(
    name="py_ecc",
    public_key=_py_ecc_public_key,
    sign=_py_ecc_sign,
    pop_prove=_py_ecc_pop_prove,
    verify=_py_ecc_verify,
    pop_verify=_py_ecc_pop_verify,
    fast_aggregate_verify=_py_ecc_fast_aggregate_verify,
    aggregate=_py_ecc_aggregate,
    aggregate_public_keys=_py_ecc_aggregate_public_keys,
    public_key_problem=_py_ecc_public_key_problem,
    signature_problem=_py_ecc_signature_problem,
)


# --- arkworks: the fast path, composed from group operations ---------------------------
# arkworks provides compressed (de)serialisation in the same ZCash format, subgroup
# checks, G2 hash_to_curve(msg, dst) (RFC 9380 expand_message_xmd + SSWU, checked against
# py-ecc and RFC 9380's vectors in the tests) and a multi-pairing check; nothing is
# borrowed from py-ecc.


def _ark_g2(signature: bytes) -> tuple[Any, str | None]:
    """The G2 point of `signature`, or None and why not."""
    problem = _encoding_problem(signature, SIGNATURE_BYTES)
    if problem:
        return None, problem
    try:
        point = _ark.G2Point.from_compressed_bytes_unchecked(signature)
    except ValueError:
        return None, "not on the curve"
    if not point.is_in_subgroup():
        return None, "not in the prime-order subgroup"
    return point, None


@functools.lru_cache(maxsize=PUBLIC_KEY_CACHE_SIZE)
def _ark_public_key_point(pk: bytes) -> tuple[Any, str | None]:
    """The G1 point of a valid public key (KeyValidate), or None and why not; cached."""
    problem = _encoding_problem(pk, PUBLIC_KEY_BYTES)
    if problem:
        return None, problem
    try:
        point = _ark.G1Point.from_compressed_bytes_unchecked(pk)
    except ValueError:
        return None, "not on the curve"
    if point == _ark.G1Point.identity():
        return None, "the point at infinity is no public key"
    if not point.is_in_subgroup():
        return None, "not in the prime-order subgroup"
    return point, None


def _ark_core_sign(sk: int, message: bytes, dst: bytes) -> bytes:
    return (_ark.G2Point.hash_to_curve(message, dst) * _ark.Scalar(sk)).to_compressed_bytes()


def _ark_pairing_verify(key: Any, message: bytes, signature: bytes, dst: bytes) -> bool:
    """e(key, H(m)) == e(g1, σ), as one product e(key, H(m))·e(−g1, σ) == 1."""
    point, _ = _ark_g2(signature)
    if point is None:
        return False
    hashed = _ark.G2Point.hash_to_curve(message, dst)
    return bool(_ark.GT.pairing_check([key, -_ark.G1Point()], [hashed, point]))


def _ark_core_verify(pk: bytes, message: bytes, signature: bytes, dst: bytes) -> bool:
    key, _ = _ark_public_key_point(pk)
    return key is not None and _ark_pairing_verify(key, message, signature, dst)


def _ark_fast_aggregate_verify(pks: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    if not pks:
        return False
    total = _ark.G1Point.identity()
    for pk in pks:
        key, _ = _ark_public_key_point(pk)
        if key is None:
            return False
        total = total + key
    if total == _ark.G1Point.identity():  # KeyValidate of the aggregate, as CoreVerify does
        return False
    return _ark_pairing_verify(total, message, signature, DST)


def _ark_aggregate(signatures: Sequence[bytes]) -> bytes:
    total = _ark.G2Point.identity()
    for i, signature in enumerate(signatures):
        point, problem = _ark_g2(signature)
        if point is None:
            raise _malformed(f"signature {i}", problem or "")
        total = total + point
    return total.to_compressed_bytes()


def _ark_aggregate_public_keys(pks: Sequence[bytes]) -> bytes:
    total = _ark.G1Point.identity()
    for i, pk in enumerate(pks):
        key, problem = _ark_public_key_point(pk)
        if key is None:
            raise _malformed(f"public key {i}", problem or "")
        total = total + key
    return total.to_compressed_bytes()


def _ark_public_key(sk: int) -> bytes:
    return (_ark.G1Point() * _ark.Scalar(sk)).to_compressed_bytes()


def _ark_sign(sk: int, message: bytes) -> bytes:
    return _ark_core_sign(sk, message, DST)


def _ark_pop_prove(sk: int) -> bytes:
    return _ark_core_sign(sk, _ark_public_key(sk), POP_DST)


def _ark_verify(pk: bytes, message: bytes, signature: bytes) -> bool:
    return _ark_core_verify(pk, message, signature, DST)


def _ark_pop_verify(pk: bytes, proof: bytes) -> bool:
    return _ark_core_verify(pk, pk, proof, POP_DST)


def _ark_public_key_problem(pk: bytes) -> str | None:
    return _ark_public_key_point(pk)[1]


def _ark_signature_problem(signature: bytes) -> str | None:
    return _ark_g2(signature)[1]


ARKWORKS: Backend | None = None
if _ark is not None:
    ARKWORKS = Backend(
        name="arkworks",
        public_key=_ark_public_key,
        sign=_ark_sign,
        pop_prove=_ark_pop_prove,
        verify=_ark_verify,
        pop_verify=_ark_pop_verify,
        fast_aggregate_verify=_ark_fast_aggregate_verify,
        aggregate=_ark_aggregate,
        aggregate_public_keys=_ark_aggregate_public_keys,
        public_key_problem=_ark_public_key_problem,
        signature_problem=_ark_signature_problem,
    )

BACKENDS: dict[str, Backend] = {b.name: b for b in (PY_ECC, ARKWORKS) if b is not None}


def _select_backend() -> Backend:
    wanted = os.environ.get(ENV_BACKEND, "").strip()
    if not wanted:
        return ARKWORKS or PY_ECC
    if wanted not in ("py_ecc", "arkworks"):
        raise RuntimeError(f"{ENV_BACKEND}={wanted!r}: expected py_ecc or arkworks")
    if wanted not in BACKENDS:
        raise RuntimeError(f"{ENV_BACKEND}={wanted}, but py-arkworks-bls12381 is not installed")
    return BACKENDS[wanted]


BACKEND: Backend = _select_backend()


# --- the API: argument checks common to both backends, then the backend ---------------


def _bytes(value: bytes | bytearray | memoryview, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)


def _secret(sk: int) -> int:
    if isinstance(sk, bool) or not isinstance(sk, int):
        raise TypeError(f"secret key must be an int, not {type(sk).__name__}")
    if not 0 < sk < CURVE_ORDER:
        raise ValueError("secret key must be in [1, r)")
    return sk


def _pick(backend: Backend | None) -> Backend:
    return BACKEND if backend is None else backend


def public_key(sk: int, *, backend: Backend | None = None) -> bytes:
    """SkToPk: the 48-byte compressed G1 public key."""
    return _pick(backend).public_key(_secret(sk))


def sign(sk: int, message: bytes, *, backend: Backend | None = None) -> bytes:
    """The 96-byte signature of `message` (any length) under the ciphersuite's DST."""
    return _pick(backend).sign(_secret(sk), _bytes(message, "message"))


def verify(pk: bytes, message: bytes, signature: bytes, *, backend: Backend | None = None) -> bool:
    """True iff `signature` is `pk`'s signature of `message`; False for malformed bytes."""
    return _pick(backend).verify(_bytes(pk, "public key"), _bytes(message, "message"), _bytes(signature, "signature"))


def pop_prove(sk: int, *, backend: Backend | None = None) -> bytes:
    """Proof of possession: the signature of one's own public key under the PoP DST."""
    return _pick(backend).pop_prove(_secret(sk))


def pop_verify(pk: bytes, proof: bytes, *, backend: Backend | None = None) -> bool:
    """True iff `proof` proves possession of `pk`'s secret key. Check it when a key is
    registered: fast_aggregate_verify is only sound over keys that passed it."""
    return _pick(backend).pop_verify(_bytes(pk, "public key"), _bytes(proof, "proof"))


def aggregate(signatures: Iterable[bytes], *, backend: Backend | None = None) -> bytes:
    """The sum of the signatures, compressed. Raises DecodeError for a malformed one."""
    items = [_bytes(s, "signature") for s in signatures]
    if not items:
        raise ValueError("no signatures to aggregate")
    return _pick(backend).aggregate(items)


def aggregate_public_keys(pks: Iterable[bytes], *, backend: Backend | None = None) -> bytes:
    """The sum of the public keys, compressed (may be infinity). Raises DecodeError for a
    key that fails KeyValidate."""
    items = [_bytes(pk, "public key") for pk in pks]
    if not items:
        raise ValueError("no public keys to aggregate")
    return _pick(backend).aggregate_public_keys(items)


def fast_aggregate_verify(
    pks: Sequence[bytes], message: bytes, signature: bytes, *, backend: Backend | None = None
) -> bool:
    """True iff `signature` aggregates a signature of `message` by each of `pks` (the
    commit case: one message, many signers). False for no keys or malformed bytes."""
    keys = [_bytes(pk, "public key") for pk in pks]
    if not keys:
        return False
    return _pick(backend).fast_aggregate_verify(keys, _bytes(message, "message"), _bytes(signature, "signature"))


def check_public_key(pk: bytes, *, backend: Backend | None = None) -> bytes:
    """`pk` if it is a valid public key (KeyValidate), else DecodeError."""
    pk = _bytes(pk, "public key")
    problem = _pick(backend).public_key_problem(pk)
    if problem:
        raise _malformed("public key", problem)
    return pk


def check_signature(signature: bytes, *, backend: Backend | None = None) -> bytes:
    """`signature` if it decodes to a point of G2's prime-order subgroup, else DecodeError."""
    signature = _bytes(signature, "signature")
    problem = _pick(backend).signature_problem(signature)
    if problem:
        raise _malformed("signature", problem)
    return signature


# --- commits: who signed, as a bitmap over the validator set ---------------------------


def signer_bitmap(indices: Iterable[int], validators: int) -> bytes:
    """Bit i (byte i // 8, bit i % 8, least significant first, as SSZ's Bitvector) is set
    iff validator i signed; ceil(validators / 8) bytes, unused high bits zero."""
    if validators < 1:
        raise ValueError("a commit needs at least one validator")
    bits = 0
    for i in indices:
        if not 0 <= i < validators:
            raise ValueError(f"signer {i} not in a set of {validators}")
        bits |= 1 << i
    return bits.to_bytes((validators + 7) // 8, "little")


def signers(bitmap: bytes, validators: int) -> tuple[int, ...]:
    """The indices set in `bitmap`, ascending. DecodeError unless it is the canonical
    bitmap of a set of `validators` (exact length, no bit past the last validator)."""
    if validators < 1:
        raise ValueError("a commit needs at least one validator")
    expected = (validators + 7) // 8
    if len(bitmap) != expected:
        raise DecodeError(MALFORMED_BITMAP, f"{len(bitmap)} bytes for {validators} validators, expected {expected}")
    bits = int.from_bytes(bitmap, "little")
    if bits >> validators:
        raise DecodeError(MALFORMED_BITMAP, f"a bit past validator {validators - 1} is set")
    return tuple(i for i in range(validators) if bits >> i & 1)


def verify_commit(
    validator_pks: Sequence[bytes], bitmap: bytes, message: bytes, signature: bytes, *, backend: Backend | None = None
) -> bool:
    """True iff `signature` aggregates a signature of `message` by exactly the validators
    the bitmap names (at least one). Quorum (how much stake signed) is the caller's rule."""
    try:
        indices = signers(bitmap, len(validator_pks))
    except (DecodeError, ValueError):
        return False
    return fast_aggregate_verify([validator_pks[i] for i in indices], message, signature, backend=backend)
