"""BLS commit signatures (proofs.bls) against the raw pairing rate of the fast backend,
measured in the same run on one core.

    python -m benchmarks.bls             # prints the table
    python -m benchmarks.bls --quick     # fewer calls, py-ecc on N = 4 only

A verification is one product of two pairings (e(pk, H(m))·e(−g1, σ) == 1), so the raw
limit is arkworks' `GT.pairing_check` over two prepared pairs: every rate here is reported
as a fraction of it, and py-ecc's as a speed-up of arkworks over it. A commit of N signers
is one `fast_aggregate_verify` (N − 1 additions in G1 on top of one verification).
Also run by `python -m benchmarks.run`, which adds the commit check's share of auditing
a block. This is a measurement, never a timed test.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from proofs import bls

SIGNERS = (4, 16, 64)


def _best_seconds(run: Callable[[], None], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


@dataclass
class BlsResults:
    raw: dict[str, float]  # arkworks primitives, calls per second; "pairing_check" is THE limit
    rates: dict[tuple[str, str], float]  # (backend, operation) -> calls per second
    cold_rates: dict[str, float] = field(default_factory=dict)  # arkworks commits, key cache cleared each call
    calls: dict[str, int] = field(default_factory=dict)
    total_s: float = 0.0

    @property
    def limit(self) -> float:
        return self.raw["pairing_check"]

    def per_s(self, backend: str, operation: str) -> float | None:
        return self.rates.get((backend, operation))

    def rows(self) -> list[list[str]]:
        limit = self.limit
        limit_text = f"{limit:,.0f}/s pairing check"
        rows = [
            ["raw: arkworks pairing check, 2 pairs (one verification's pairings)", f"{limit:,.0f}/s", "—", "—", "—"],
            ["raw: arkworks one pairing", f"{self.raw['pairing']:,.0f}/s", "—", "—", "—"],
            ["raw: arkworks hash_to_curve G2 (32-byte message)", f"{self.raw['hash_to_g2']:,.0f}/s", "—", "—", "—"],
            ["raw: arkworks G2 decompress + subgroup check", f"{self.raw['g2_decode']:,.0f}/s", "—", "—", "—"],
            ["raw: arkworks G1 decompress + subgroup check", f"{self.raw['g1_decode']:,.0f}/s", "—", "—", "—"],
        ]
        operations = [("sign", "sign"), ("verify", "verify, 1 signature")]
        operations += [(f"commit{n}", f"fast_aggregate_verify, commit of {n}") for n in SIGNERS]
        for operation, label in operations:
            fast, ref = self.per_s("arkworks", operation), self.per_s("py_ecc", operation)
            for backend, rate in (("arkworks", fast), ("py_ecc", ref)):
                if rate is None:
                    continue
                speedup = f"{fast / ref:,.0f}×" if backend == "arkworks" and fast and ref else "—"
                rows.append([f"{label} ({backend})", _rate_text(rate), limit_text, f"{rate / limit:.3f}", speedup])
        for n in SIGNERS:
            cold = self.cold_rates.get(f"commit{n}")
            if cold is not None:
                rows.append(
                    [f"fast_aggregate_verify, commit of {n}, keys not cached (arkworks), contrast",
                     _rate_text(cold), limit_text, f"{cold / limit:.3f}", "—"]
                )
        return rows

    def table(self) -> str:
        header = ["measure", "value", "raw limit", "ratio", "speed-up over py-ecc"]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join(lines)


def _rate_text(per_s: float) -> str:
    return f"{per_s:,.0f}/s ({1e3 / per_s:,.2f} ms)" if per_s >= 10 else f"{per_s:,.2f}/s ({1 / per_s:,.2f} s)"


def raw_arkworks(calls: int = 300, repeats: int = 3) -> dict[str, float]:
    """Calls per second of the primitives a verification is made of, on prepared inputs."""
    import py_arkworks_bls12381 as ark

    g1, g2 = ark.G1Point(), ark.G2Point()
    scalars = [ark.Scalar(7**i % bls.CURVE_ORDER) for i in range(1, calls + 1)]
    keys = [g1 * s for s in scalars]
    hashed = [g2 * s for s in scalars]
    key_bytes = [k.to_compressed_bytes() for k in keys]
    sig_bytes = [s.to_compressed_bytes() for s in hashed]
    messages = [i.to_bytes(32, "big") for i in range(calls)]
    neg_g1 = -g1
    check, pairing = ark.GT.pairing_check, ark.GT.pairing

    def pairing_checks() -> None:
        for key, point in zip(keys, hashed):
            check([key, neg_g1], [point, g2])

    def pairings() -> None:
        for key, point in zip(keys, hashed):
            pairing(key, point)

    def hashes() -> None:
        for message in messages:
            ark.G2Point.hash_to_curve(message, bls.DST)

    def g2_decodes() -> None:
        for data in sig_bytes:
            ark.G2Point.from_compressed_bytes(data)

    def g1_decodes() -> None:
        for data in key_bytes:
            ark.G1Point.from_compressed_bytes(data)

    runs = {"pairing_check": pairing_checks, "pairing": pairings, "hash_to_g2": hashes,
            "g2_decode": g2_decodes, "g1_decode": g1_decodes}
    return {name: calls / _best_seconds(run, repeats) for name, run in runs.items()}


@dataclass
class Commits:
    """Validators and, per message, the aggregate signature of the first n of them."""

    sks: list[int]
    pks: list[bytes]
    messages: list[bytes]
    aggregates: dict[int, list[bytes]]  # n -> one aggregate per message
    singles: list[bytes]  # validator 0's signature of each message


def build_commits(messages: int, signers: Sequence[int], seed: int = 1) -> Commits:
    """Untimed setup. Σ sk_i·H(m) is the aggregate of the n signatures, so one signing with
    Σ sk_i stands for n (checked once against `bls.aggregate`)."""
    most = max(signers)
    sks = [bls.secret_key(b"bench validator %d/%d" % (seed, i) + bytes(16)) for i in range(most)]
    pks = [bls.public_key(sk) for sk in sks]
    texts = [b"omg commit: seed %d block %d" % (seed, i) for i in range(messages)]
    aggregates = {n: [bls.sign(sum(sks[:n]) % bls.CURVE_ORDER, m) for m in texts] for n in signers}
    assert aggregates[min(signers)][0] == bls.aggregate([bls.sign(sk, texts[0]) for sk in sks[: min(signers)]])
    return Commits(sks, pks, texts, aggregates, [bls.sign(sks[0], m) for m in texts])


def measure_backend(backend: bls.Backend, commits: Commits, calls: int, signers: Sequence[int], repeats: int) -> dict[str, float]:
    """sign, verify and fast_aggregate_verify per second over `calls` distinct messages;
    every verdict must be True. Public keys are warm in the key cache (validators sign
    every block), as in the node and the audit after the first block."""
    assert calls <= len(commits.messages)
    sk, pk, messages = commits.sks[0], commits.pks[0], commits.messages[:calls]
    rates: dict[str, float] = {}

    def signs() -> None:
        for message in messages:
            bls.sign(sk, message, backend=backend)

    def verifies() -> None:
        for message, signature in zip(messages, commits.singles):
            assert bls.verify(pk, message, signature, backend=backend)

    rates["sign"] = calls / _best_seconds(signs, repeats)
    bls.verify(pk, messages[0], commits.singles[0], backend=backend)  # warm the key cache
    rates["verify"] = calls / _best_seconds(verifies, repeats)
    for n in signers:
        keys = commits.pks[:n]
        bls.fast_aggregate_verify(keys, messages[0], commits.aggregates[n][0], backend=backend)

        def commit_checks(keys: list[bytes] = keys, n: int = n) -> None:
            for message, signature in zip(messages, commits.aggregates[n]):
                assert bls.fast_aggregate_verify(keys, message, signature, backend=backend)

        rates[f"commit{n}"] = calls / _best_seconds(commit_checks, repeats)
    return rates


def measure_cold_commits(commits: Commits, calls: int, signers: Sequence[int], repeats: int) -> dict[str, float]:
    """arkworks commits with the key cache cleared before every call: what the cache saves."""
    rates = {}
    for n in signers:
        keys, signatures = commits.pks[:n], commits.aggregates[n]

        def commit_checks(keys: list[bytes] = keys, signatures: list[bytes] = signatures) -> None:
            for message, signature in zip(commits.messages[:calls], signatures):
                bls._ark_public_key_point.cache_clear()
                assert bls.fast_aggregate_verify(keys, message, signature, backend=bls.ARKWORKS)

        rates[f"commit{n}"] = calls / _best_seconds(commit_checks, repeats)
    return rates


def measure(quick: bool = False, seed: int = 1, py_ecc: bool = True, verbose: bool = False) -> BlsResults:
    """Every measurement in order: raw arkworks primitives, then each backend."""
    if bls.ARKWORKS is None:
        raise RuntimeError("benchmarks.bls needs py-arkworks-bls12381: its pairing rate is the raw limit")
    begun = time.perf_counter()
    fast_calls, ref_calls = (50, 1) if quick else (300, 3)
    ref_signers = SIGNERS[:1] if quick else SIGNERS
    if verbose:
        print("BLS: raw arkworks pairing, hash and decoding rates …", file=sys.stderr, flush=True)
    raw = raw_arkworks(fast_calls, 3)
    commits = build_commits(fast_calls, SIGNERS, seed)
    if verbose:
        print("BLS: arkworks sign, verify, commits of " + ", ".join(map(str, SIGNERS)) + " …", file=sys.stderr, flush=True)
    rates = {("arkworks", op): r for op, r in measure_backend(bls.ARKWORKS, commits, fast_calls, SIGNERS, 3).items()}
    cold = measure_cold_commits(commits, fast_calls, SIGNERS, 3)
    if py_ecc:
        if verbose:
            print("BLS: py-ecc (the reference, ~0.4 s a verification) …", file=sys.stderr, flush=True)
        bls.check_public_key(commits.pks[0], backend=bls.PY_ECC)  # imports py-ecc outside the timing
        measured = measure_backend(bls.PY_ECC, commits, ref_calls, ref_signers, 1)
        rates.update({("py_ecc", op): r for op, r in measured.items()})
    calls = {"arkworks": fast_calls, "py_ecc": ref_calls if py_ecc else 0}
    return BlsResults(raw, rates, cold, calls, time.perf_counter() - begun)


METHOD = """\
- Raw limit: `py_arkworks_bls12381.GT.pairing_check([key, −g1], [point, g2])` on prepared
  points, the two-pairing product every verification reduces to; best of 3 over the same
  number of calls as the arkworks rows. The other raw rows are the rest of a verification:
  hash_to_curve to G2 with the ciphersuite's DST, decompressing the signature with its
  subgroup check, decompressing a key (cached per key by proofs.bls).
- Each row calls `proofs.bls` with an explicit `backend=`, one distinct commit message per
  call, and asserts the verdict is True. Keys are warm in the key cache (validators sign
  every block); the "not cached" contrast clears it before each call. An aggregate of N
  signatures is made (untimed) as one signature with the sum of the N secret keys, which is
  the same point, checked once against `proofs.bls.aggregate`.
- arkworks: best of 3 over the calls; py-ecc: one pass of a few calls (it takes seconds).
  Ratio = rate ÷ the raw pairing-check rate; speed-up = arkworks rate ÷ py-ecc rate."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls; py-ecc on a commit of 4 only")
    parser.add_argument("--no-py-ecc", action="store_true", help="skip the (slow) reference backend")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    results = measure(args.quick, args.seed, py_ecc=not args.no_py_ecc, verbose=True)
    print(results.table())
    print(f"\n- whole BLS run: {results.total_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
