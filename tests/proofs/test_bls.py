"""BLS signatures for validator commits: both backends against the published vectors of
the proof-of-possession ciphersuite (vectors/bls_vectors.json), against each other on
random keys and messages, and against tampering, rogue keys and malformed bytes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proofs import bls
from proofs.errors import DecodeError

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((Path(__file__).parent / "vectors" / "bls_vectors.json").read_text())

# py-ecc takes ~0.35 s a verification: it runs every published case of the small groups
# but only these of the large ones, arkworks runs them all.
REFERENCE_SAMPLE = {
    "verify_valid_case_195246ee3bd3b6ec",
    "verify_tampered_signature_case_195246ee3bd3b6ec",
    "verify_wrong_pubkey_case_195246ee3bd3b6ec",
    "verify_infinity_pubkey_and_infinity_signature",
    "verifycase_one_privkey_47117849458281be",
    "fast_aggregate_verify_valid_3d7576f3c0e3570a",
    "fast_aggregate_verify_extra_pubkey_5a38e6b4017fe4dd",
    "fast_aggregate_verify_infinity_pubkey",
    "fast_aggregate_verify_na_pubkeys_and_infinity_signature",
    "fast_aggregate_verify_tampered_signature_652ce62f09290811",
}
NO_ARKWORKS = pytest.mark.skipif(bls.ARKWORKS is None, reason="py-arkworks-bls12381 not installed")
BACKENDS = [
    pytest.param(bls.PY_ECC, id="py_ecc"),
    pytest.param(bls.ARKWORKS, id="arkworks", marks=NO_ARKWORKS),
]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def cases(group: str, backend: bls.Backend | None = None) -> list:
    sample = backend is bls.PY_ECC and group in ("verify", "fast_aggregate_verify")
    return [c for c in VECTORS[group] if not sample or c["name"] in REFERENCE_SAMPLE]


def backend_cases(group: str) -> list:
    """(backend, case) pairs: every case for arkworks, the sample for py-ecc."""
    params = []
    for param in BACKENDS:
        backend = param.values[0]
        params += [pytest.param(backend, c, id=f"{param.id}-{c['name']}", marks=param.marks) for c in cases(group, backend)]
    return params


# --- published vectors ----------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["keygen"], ids=lambda c: c["name"])
def test_keygen_vectors(case):
    assert bls.secret_key(h(case["ikm"]), h(case["key_info"])) == int(case["sk_decimal"])


def test_keygen_matches_py_ecc():
    from py_ecc.bls import G2ProofOfPossession

    for i in range(8):
        ikm = bytes([i]) * 32 + bytes(i)
        assert bls.secret_key(ikm) == G2ProofOfPossession.KeyGen(ikm)
        assert bls.secret_key(ikm, b"info") == G2ProofOfPossession.KeyGen(ikm, b"info")


@pytest.mark.parametrize("backend,case", backend_cases("sign"))
def test_sign_vectors(backend, case):
    sk = int(case["privkey"], 16)
    if case["output"] is None:  # the zero key
        with pytest.raises(ValueError):
            bls.sign(sk, h(case["message"]), backend=backend)
        return
    assert bls.sign(sk, h(case["message"]), backend=backend) == h(case["output"])


@pytest.mark.parametrize("backend,case", backend_cases("verify"))
def test_verify_vectors(backend, case):
    got = bls.verify(h(case["pubkey"]), h(case["message"]), h(case["signature"]), backend=backend)
    assert got is case["output"]


@pytest.mark.parametrize("backend,case", backend_cases("aggregate"))
def test_aggregate_vectors(backend, case):
    signatures = [h(s) for s in case["input"]]
    if case["output"] is None:  # nothing to aggregate
        with pytest.raises(ValueError):
            bls.aggregate(signatures, backend=backend)
        return
    assert bls.aggregate(signatures, backend=backend) == h(case["output"])


@pytest.mark.parametrize("backend,case", backend_cases("fast_aggregate_verify"))
def test_fast_aggregate_verify_vectors(backend, case):
    pks = [h(pk) for pk in case["pubkeys"]]
    got = bls.fast_aggregate_verify(pks, h(case["message"]), h(case["signature"]), backend=backend)
    assert got is case["output"]


@pytest.mark.parametrize("backend,case", backend_cases("deserialization_G1"))
def test_public_key_deserialization_vectors(backend, case):
    # The vectors decode points; a public key must also not be infinity (KeyValidate).
    valid = case["output"] and case["name"] != "deserialization_succeeds_infinity_with_true_b_flag"
    assert (backend.public_key_problem(h(case["input"])) is None) is valid
    if valid:
        assert bls.check_public_key(h(case["input"]), backend=backend) == h(case["input"])
    else:
        with pytest.raises(DecodeError) as error:
            bls.check_public_key(h(case["input"]), backend=backend)
        assert error.value.reason == bls.MALFORMED_POINT


@pytest.mark.parametrize("backend,case", backend_cases("deserialization_G2"))
def test_signature_deserialization_vectors(backend, case):
    assert (backend.signature_problem(h(case["input"])) is None) is case["output"]
    if not case["output"]:
        with pytest.raises(DecodeError) as error:
            bls.check_signature(h(case["input"]), backend=backend)
        assert error.value.reason == bls.MALFORMED_POINT


@pytest.mark.parametrize("backend,case", backend_cases("pop_prove"))
def test_pop_vectors(backend, case):
    sk = int(case["privkey"], 16)
    proof = bls.pop_prove(sk, backend=backend)
    assert proof == h(case["output"])
    assert bls.pop_verify(bls.public_key(sk, backend=backend), proof, backend=backend)


def _g2_xy(case: dict) -> tuple[int, int, int, int]:
    return tuple(int(case[k], 16) for k in ("x_c0", "x_c1", "y_c0", "y_c1"))  # type: ignore[return-value]


@pytest.mark.parametrize("case", VECTORS["hash_to_G2"], ids=lambda c: c["name"])
def test_hash_to_g2_vectors_py_ecc(case):
    """RFC 9380's own vectors (another DST): the hash-to-curve both signers rest on."""
    from hashlib import sha256

    from py_ecc.bls.hash_to_curve import hash_to_G2
    from py_ecc.optimized_bls12_381 import normalize

    x, y = normalize(hash_to_G2(case["msg_ascii"].encode(), case["dst"].encode(), sha256))
    assert (x.coeffs[0], x.coeffs[1], y.coeffs[0], y.coeffs[1]) == _g2_xy(case)


@NO_ARKWORKS
@pytest.mark.parametrize("case", VECTORS["hash_to_G2"], ids=lambda c: c["name"])
def test_hash_to_g2_vectors_arkworks(case):
    import py_arkworks_bls12381 as ark

    point = ark.G2Point.hash_to_curve(case["msg_ascii"].encode(), case["dst"].encode())
    xy = point.to_xy_bytes_be()  # x (c0 ‖ c1), then y, 48 bytes each: checked by this test
    words = tuple(int.from_bytes(xy[i : i + 48], "big") for i in range(0, 192, 48))
    assert words == _g2_xy(case)


# --- the two backends agree -------------------------------------------------------------

ikms = st.binary(min_size=32, max_size=40)
messages = st.binary(max_size=96)


@NO_ARKWORKS
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ikms, min_size=1, max_size=3, unique=True), messages, messages)
def test_backends_agree(seeds, message, other):
    """Same keys, signatures, proofs and aggregates byte for byte; same verdicts."""
    ref, fast = bls.PY_ECC, bls.ARKWORKS
    sks = [bls.secret_key(seed) for seed in seeds]
    pks = [bls.public_key(sk, backend=ref) for sk in sks]
    assert pks == [bls.public_key(sk, backend=fast) for sk in sks]
    sigs = [bls.sign(sk, message, backend=ref) for sk in sks]
    assert sigs == [bls.sign(sk, message, backend=fast) for sk in sks]
    assert bls.pop_prove(sks[0], backend=ref) == bls.pop_prove(sks[0], backend=fast)
    combined = bls.aggregate(sigs, backend=ref)
    assert combined == bls.aggregate(sigs, backend=fast)
    assert bls.aggregate_public_keys(pks, backend=ref) == bls.aggregate_public_keys(pks, backend=fast)
    for backend in (ref, fast):
        assert bls.verify(pks[0], message, sigs[0], backend=backend)
        assert bls.fast_aggregate_verify(pks, message, combined, backend=backend)
    verdicts = {
        backend.name: (
            bls.verify(pks[0], other, sigs[0], backend=backend),
            bls.fast_aggregate_verify(pks, other, combined, backend=backend),
            bls.fast_aggregate_verify(pks[1:] or pks, message, sigs[0], backend=backend),
        )
        for backend in (ref, fast)
    }
    assert verdicts["py_ecc"] == verdicts["arkworks"]
    assert verdicts["py_ecc"] == (message == other, message == other, len(pks) == 1)


# --- commits: tampering -------------------------------------------------------------------

COMMIT_SKS = [bls.secret_key(b"validator %02d" % i + bytes(32)) for i in range(5)]
COMMIT_MESSAGE = b"omg commit: block 5000, root " + bytes(range(32))


@pytest.fixture(scope="module")
def commit() -> tuple[list[bytes], bytes, bytes]:
    """Five validators, of whom 0, 2 and 3 signed: keys, bitmap, aggregate."""
    pks = [bls.public_key(sk) for sk in COMMIT_SKS]
    signed = (0, 2, 3)
    aggregate = bls.aggregate([bls.sign(COMMIT_SKS[i], COMMIT_MESSAGE) for i in signed])
    return pks, bls.signer_bitmap(signed, len(pks)), aggregate


def test_commit_verifies(commit):
    pks, bitmap, aggregate = commit
    assert bitmap == bytes([0b00001101])
    assert bls.signers(bitmap, len(pks)) == (0, 2, 3)
    assert bls.verify_commit(pks, bitmap, COMMIT_MESSAGE, aggregate)


@pytest.mark.parametrize("backend", BACKENDS)
def test_commit_verifies_on_each_backend(commit, backend):
    pks, bitmap, aggregate = commit
    assert bls.verify_commit(pks, bitmap, COMMIT_MESSAGE, aggregate, backend=backend)
    assert not bls.verify_commit(pks, bls.signer_bitmap((0, 2), 5), COMMIT_MESSAGE, aggregate, backend=backend)


@pytest.mark.parametrize("position", [0, 1, 47, 48, 95])
def test_tampered_aggregate_rejected(commit, position):
    pks, bitmap, aggregate = commit
    tampered = bytearray(aggregate)
    tampered[position] ^= 0x01
    assert not bls.verify_commit(pks, bitmap, COMMIT_MESSAGE, bytes(tampered))


def test_tampered_message_rejected(commit):
    pks, bitmap, aggregate = commit
    assert not bls.verify_commit(pks, bitmap, COMMIT_MESSAGE[:-1] + b"\x00", aggregate)
    assert not bls.verify_commit(pks, bitmap, COMMIT_MESSAGE + b"\x00", aggregate)


@pytest.mark.parametrize(
    "signed",
    [(0, 2), (0, 2, 3, 4), (1, 2, 3), (0, 1, 2, 3, 4), (2, 3)],
    ids=["signer dropped", "signer added", "signer swapped", "everyone", "first dropped"],
)
def test_tampered_bitmap_rejected(commit, signed):
    pks, _, aggregate = commit
    assert not bls.verify_commit(pks, bls.signer_bitmap(signed, len(pks)), COMMIT_MESSAGE, aggregate)


@pytest.mark.parametrize(
    "bitmap", [b"", bytes([0b00101101]), bytes([0b00001101, 0]), bytes([0b10001101])], ids=["empty", "bit 5", "long", "bit 7"]
)
def test_malformed_bitmap(commit, bitmap):
    pks, _, aggregate = commit
    with pytest.raises(DecodeError) as error:
        bls.signers(bitmap, len(pks))
    assert error.value.reason == bls.MALFORMED_BITMAP
    assert not bls.verify_commit(pks, bitmap, COMMIT_MESSAGE, aggregate)


def test_no_signer_is_no_commit(commit):
    pks, _, aggregate = commit
    assert not bls.verify_commit(pks, bls.signer_bitmap((), len(pks)), COMMIT_MESSAGE, aggregate)
    assert not bls.verify_commit([], b"", COMMIT_MESSAGE, aggregate)


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_bitmap_round_trip(n_and_signed):
    validators, signed = n_and_signed
    bitmap = bls.signer_bitmap(signed, validators)
    assert len(bitmap) == (validators + 7) // 8
    assert bls.signers(bitmap, validators) == tuple(sorted(signed))


def test_bitmap_bounds():
    with pytest.raises(ValueError):
        bls.signer_bitmap([5], 5)
    with pytest.raises(ValueError):
        bls.signer_bitmap([-1], 5)
    with pytest.raises(ValueError):
        bls.signers(b"", 0)


# --- rogue keys: why registration demands a proof of possession -------------------------


def _rogue_key(honest_pk: bytes, attacker_sk: int) -> bytes:
    """pk' = g·x − pk_honest: the sum pk' + pk_honest is g·x, whose key the attacker holds."""
    from py_ecc.bls.g2_primitives import G1_to_pubkey, pubkey_to_G1
    from py_ecc.optimized_bls12_381 import G1, add, multiply, neg

    return bytes(G1_to_pubkey(add(multiply(G1, attacker_sk), neg(pubkey_to_G1(honest_pk)))))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rogue_key_caught_by_proof_of_possession(backend):
    honest_sk, attacker_sk = COMMIT_SKS[0], COMMIT_SKS[1]
    honest_pk = bls.public_key(honest_sk, backend=backend)
    rogue_pk = _rogue_key(honest_pk, attacker_sk)
    bls.check_public_key(rogue_pk, backend=backend)  # a perfectly valid point: no decoding catches it
    # Without a PoP the attacker alone forges a "commit by both" ...
    forged = bls.sign(attacker_sk, COMMIT_MESSAGE, backend=backend)
    assert bls.fast_aggregate_verify([honest_pk, rogue_pk], COMMIT_MESSAGE, forged, backend=backend)
    # ... but cannot register the rogue key: every proof it can make fails.
    assert not bls.pop_verify(rogue_pk, bls.pop_prove(attacker_sk, backend=backend), backend=backend)
    assert not bls.pop_verify(rogue_pk, bls.sign(attacker_sk, rogue_pk, backend=backend), backend=backend)
    assert bls.pop_verify(honest_pk, bls.pop_prove(honest_sk, backend=backend), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_proof_of_possession_is_domain_separated(backend):
    """A PoP is not a signature of the key's bytes, nor the reverse."""
    sk = COMMIT_SKS[2]
    pk = bls.public_key(sk, backend=backend)
    assert not bls.pop_verify(pk, bls.sign(sk, pk, backend=backend), backend=backend)
    assert not bls.verify(pk, pk, bls.pop_prove(sk, backend=backend), backend=backend)


# --- malformed inputs -------------------------------------------------------------------

INFINITY_G1 = bytes([0xC0]) + bytes(47)
INFINITY_G2 = bytes([0xC0]) + bytes(95)


def _non_subgroup_g1() -> bytes:
    """A compressed point on the curve y² = x³ + 4 outside the order-r subgroup."""
    p = bls.FIELD_MODULUS
    x = next(x for x in range(1, 100) if pow(x**3 + 4, (p - 1) // 2, p) == 1)
    return (x | 1 << 383).to_bytes(48, "big")


def _malformed_keys(good: bytes) -> dict[str, bytes]:
    return {
        "short": good[:47],
        "long": good + b"\x00",
        "empty": b"",
        "no compression flag": bytes([good[0] & 0x7F]) + good[1:],
        "infinity": INFINITY_G1,
        "infinity with a stray bit": INFINITY_G1[:-1] + b"\x01",
        "infinity with the sign bit": bytes([0xE0]) + bytes(47),
        "x = p": (bls.FIELD_MODULUS | 1 << 383).to_bytes(48, "big"),
        "not in the subgroup": _non_subgroup_g1(),
    }


def _malformed_signatures(good: bytes) -> dict[str, bytes]:
    return {
        "short": good[:95],
        "long": good + b"\x00",
        "no compression flag": bytes([good[0] & 0x7F]) + good[1:],
        "infinity with a stray bit": INFINITY_G2[:-1] + b"\x01",
        "infinity with the sign bit": bytes([0xE0]) + bytes(95),
        "x_re = p": bytes([0x80]) + bytes(47) + bls.FIELD_MODULUS.to_bytes(48, "big"),
        "flag in the second half": good[:48] + bytes([good[48] | 0x80]) + good[49:],
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_malformed_public_keys(backend):
    sk = COMMIT_SKS[3]
    message = b"m"
    signature = bls.sign(sk, message, backend=backend)
    for name, pk in _malformed_keys(bls.public_key(sk, backend=backend)).items():
        assert not bls.verify(pk, message, signature, backend=backend), name
        assert not bls.pop_verify(pk, signature, backend=backend), name
        assert not bls.fast_aggregate_verify([pk], message, signature, backend=backend), name
        with pytest.raises(DecodeError) as error:
            bls.check_public_key(pk, backend=backend)
        assert error.value.reason == bls.MALFORMED_POINT and error.value.detail.startswith("public key:"), name
        with pytest.raises(DecodeError) as error:
            bls.aggregate_public_keys([bls.public_key(sk, backend=backend), pk], backend=backend)
        assert error.value.reason == bls.MALFORMED_POINT and "public key 1" in error.value.detail, name


@pytest.mark.parametrize("backend", BACKENDS)
def test_malformed_signatures(backend):
    sk = COMMIT_SKS[4]
    pk, message = bls.public_key(sk, backend=backend), b"m"
    good = bls.sign(sk, message, backend=backend)
    for name, signature in _malformed_signatures(good).items():
        assert not bls.verify(pk, message, signature, backend=backend), name
        assert not bls.fast_aggregate_verify([pk], message, signature, backend=backend), name
        with pytest.raises(DecodeError) as error:
            bls.check_signature(signature, backend=backend)
        assert error.value.reason == bls.MALFORMED_POINT, name
        with pytest.raises(DecodeError) as error:
            bls.aggregate([good, signature], backend=backend)
        assert error.value.reason == bls.MALFORMED_POINT and "signature 1" in error.value.detail, name


@NO_ARKWORKS
def test_same_problem_named_by_both_backends():
    pk = bls.public_key(COMMIT_SKS[0])
    signature = bls.sign(COMMIT_SKS[0], b"m")
    for name, bad in _malformed_keys(pk).items():
        assert bls.PY_ECC.public_key_problem(bad) == bls.ARKWORKS.public_key_problem(bad), name
    for name, bad in _malformed_signatures(signature).items():
        assert bls.PY_ECC.signature_problem(bad) == bls.ARKWORKS.signature_problem(bad), name


def test_aggregate_of_opposite_keys_is_no_key():
    """pk + (−pk) is infinity: the aggregate of such a pair fails KeyValidate, so no
    signature (not even infinity's) verifies for it."""
    from py_ecc.bls.g2_primitives import G1_to_pubkey, pubkey_to_G1
    from py_ecc.optimized_bls12_381 import neg

    pk = bls.public_key(COMMIT_SKS[0])
    opposite = bytes(G1_to_pubkey(neg(pubkey_to_G1(pk))))
    for backend in bls.BACKENDS.values():
        assert bls.aggregate_public_keys([pk, opposite], backend=backend) == INFINITY_G1
        assert not bls.fast_aggregate_verify([pk, opposite], b"m", INFINITY_G2, backend=backend)


def test_argument_errors():
    with pytest.raises(ValueError):
        bls.secret_key(bytes(31))
    for sk in (0, bls.CURVE_ORDER, -1):
        with pytest.raises(ValueError):
            bls.public_key(sk)
    with pytest.raises(TypeError):
        bls.public_key(True)
    with pytest.raises(TypeError):
        bls.sign(COMMIT_SKS[0], "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bls.verify("00" * 48, b"m", bytes(96))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bls.aggregate([])
    with pytest.raises(ValueError):
        bls.aggregate_public_keys([])
    assert not bls.fast_aggregate_verify([], b"m", INFINITY_G2)


def test_bytes_like_arguments_accepted():
    sk = COMMIT_SKS[0]
    pk, signature = bls.public_key(sk), bls.sign(sk, b"m")
    assert bls.verify(bytearray(pk), memoryview(b"m"), bytearray(signature))


# --- backend selection and the key cache -----------------------------------------------


def _backend_in_subprocess(value: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != bls.ENV_BACKEND}
    if value is not None:
        env[bls.ENV_BACKEND] = value
    code = "from proofs import bls; print(bls.BACKEND.name)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_backend_selection():
    default = _backend_in_subprocess(None)
    assert default.stdout.strip() == ("arkworks" if bls.ARKWORKS else "py_ecc")
    assert _backend_in_subprocess("py_ecc").stdout.strip() == "py_ecc"
    if bls.ARKWORKS:
        assert _backend_in_subprocess("arkworks").stdout.strip() == "arkworks"
    wrong = _backend_in_subprocess("blst")
    assert wrong.returncode != 0 and "OMG_BLS_BACKEND" in wrong.stderr


@NO_ARKWORKS
def test_public_key_cache_keeps_verdicts():
    """The cache is keyed by the exact bytes: a malformed twin is never served a good point."""
    sk = COMMIT_SKS[1]
    pk = bls.public_key(sk, backend=bls.ARKWORKS)
    signature = bls.sign(sk, b"m", backend=bls.ARKWORKS)
    bls._ark_public_key_point.cache_clear()
    for _ in range(2):
        assert bls.verify(pk, b"m", signature, backend=bls.ARKWORKS)
        assert not bls.verify(pk[:-1] + bytes([pk[-1] ^ 1]), b"m", signature, backend=bls.ARKWORKS)
    info = bls._ark_public_key_point.cache_info()
    assert info.hits == 2 and info.misses == 2


# --- the benchmark runs (structure only, never a timing) --------------------------------


@NO_ARKWORKS
def test_benchmark_measures_and_renders():
    if str(ROOT) not in sys.path:  # plain `pytest` does not put the repo root on the path
        sys.path.insert(0, str(ROOT))
    from benchmarks import bls as bench

    raw = bench.raw_arkworks(calls=4, repeats=1)
    assert set(raw) == {"pairing_check", "pairing", "hash_to_g2", "g2_decode", "g1_decode"}
    assert all(rate > 0 for rate in raw.values())
    commits = bench.build_commits(3, (1, 2), seed=5)
    rates = bench.measure_backend(bls.ARKWORKS, commits, 3, (1, 2), 1)  # asserts every verdict
    assert set(rates) == {"sign", "verify", "commit1", "commit2"} and all(r > 0 for r in rates.values())
    cold = bench.measure_cold_commits(commits, 3, (2,), 1)
    results = bench.BlsResults(raw, {("arkworks", op): r for op, r in rates.items()}, cold, {"arkworks": 3, "py_ecc": 0})
    text = results.table()
    assert "| measure |" in text and "pairing check" in text and "commit of 4" not in text
