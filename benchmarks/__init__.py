"""Benchmarks: the ledger measured against the physical limits of the same machine, in one run.

Never a timed test: `python -m benchmarks.run` prints ratios and writes RESULTS.md.
"""
