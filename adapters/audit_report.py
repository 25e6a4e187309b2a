"""What `omg audit` shows: the replay's report as text or JSON, and the root chain's word on it."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs
import click
from tqdm import tqdm

from ledger.replay import AuditReport, TrustedValidators, audit
from ledger.store import EventStore, StoreError
from ledger.witnesses import Prefetcher
from proofs import bls
from proofs.errors import DecodeError
from specs.hooks import InvariantHook


Balances = dict[str, dict[str, int]]  # token hex -> {"vault": held, "owed": by the log}


def passed(report_: AuditReport, balances: Balances | None = None, require_anchor: bool = False) -> bool:
    """What `omg audit` exits 0 on, and its verdict says OK to: every record verified, no finding,
    each vault holds what the log owes, and (when required) every event anchored."""
    anchored = not require_anchor or report_.unanchored is None
    return report_.ok and _vaults_hold(balances or {}) and anchored


def _vaults_hold(balances: Balances) -> bool:
    return all(b["vault"] == b["owed"] for b in balances.values())


def render(report_: AuditReport, balances: Balances | None = None, require_anchor: bool = False) -> str:
    """The report, each vault reconciled (with `balances`), and a verdict that says OK only when
    `omg audit` exits 0."""
    lines = [
        f"events        {report_.events} ({', '.join(f'{k} {n}' for k, n in report_.kinds.items())})",
        f"blocks        {report_.blocks} child, {report_.deposit_blocks} deposit",
        f"head hash     {report_.head_hash}",
    ]
    for token, value in report_.value.items():
        lines.append(
            f"value {token}  deposited {value['deposited']} = unspent {value['unspent']} + fees {value['fees']}"
            f" + in exit {value['in_exit']} + exited {value['exited']}" + (f" + staked {value['staked']}" if value["staked"] else "")
        )
        if value["unbacked"]:
            lines.append(f"      {token}  UNBACKED: the root chain paid {value['unbacked']} for outputs the ledger did not hold")
        if value["unclaimed"]:
            lines.append(f"      {token}  unclaimed: the vault keeps {value['unclaimed']} of exit payouts their receivers refused")
    checked = sum(report_.invariants_checked.values())
    lines.append(f"invariants    {len(report_.invariants_checked)} checked {checked} times")
    lines += [f"FINDING       {'row' if f.kind == 'stray row' else 'event'} {f.index} ({f.kind}): {f.code}: {f.detail}"
              for f in report_.findings]
    furthest = {a.source: a for a in sorted(report_.anchors, key=lambda a: a.through)}
    lines += [f"anchor        events 0..{a.through} by the {source}: {a.by}" for source, a in furthest.items()]
    if line := _unanchoring_commits(report_):
        lines.append(line)
    if balances:
        lines.append(render_reconciliation(balances))
    lines.append(_verdict(report_, balances or {}, require_anchor))
    return "\n".join(lines)


def _unanchoring_commits(report_: AuditReport) -> str | None:
    """Why the log's valid validator commits anchor nothing, if some do not."""
    count, trusted = len(report_.unanchoring_commits), report_.trusted
    if not count:
        return None
    if trusted is None:
        return (f"commits       {count} validator commits are self-attested: their validators are the ones this log"
                " registers itself, so they anchor nothing (name the validators you trust with --validators)")
    return (f"commits       {count} validator commits were signed by fewer than {trusted.quorum} of the"
            f" {len(trusted.bls_keys)} trusted validators: they anchor nothing")


def _verdict(report_: AuditReport, balances: Balances, require_anchor: bool) -> str:
    if report_.failure is not None:
        f = report_.failure
        return f"verdict       FAILED at event {f.index} ({f.kind}): {f.code}: {f.detail}"
    if report_.findings:
        return f"verdict       FINDINGS: {len(report_.findings)} (above); every record, signature and invariant holds"
    if not _vaults_hold(balances):
        return "verdict       MISMATCH: a vault does not hold what the log owes (above)"
    if require_anchor and report_.unanchored is not None:
        first, last = report_.unanchored
        return (f"verdict       UNANCHORED: events {first}..{last}, and --require-anchor asks that nothing outside"
                " the file be left to vouch for them; every record, signature and invariant holds")
    anchored = (f"anchored through event {report_.anchored_through}" if report_.anchored_through >= 0
                else "nothing outside the file anchors it")
    line = f"verdict       OK: every record, signature, Merkle root and invariant holds; {anchored}"
    if report_.unanchored is not None:
        first, last = report_.unanchored
        line += f"\n              UNANCHORED: events {first}..{last}: consistent, but nothing outside the file vouches for them"
    return line


def render_reconciliation(balances: Balances) -> str:
    return "\n".join(
        f"vault {token}  holds {b['vault']} = deposited - exited - unbacked + unclaimed {b['owed']}: "
        + ("OK" if b["vault"] == b["owed"] else "MISMATCH")
        for token, b in balances.items()
    )


def check_root_chain(report_: AuditReport, log: Path, eth_rpc: str, deployment_path: Path | None
                     ) -> tuple[AuditReport, Balances]:
    """The report with the root chain's findings and anchor, and each vault reconciled, for the
    deployment kept beside the log (or at `deployment_path`)."""
    from adapters.ethereum import chain
    from adapters.ethereum.anchor import Deployment
    from adapters.ethereum.audit import check_against_root_chain

    path = deployment_path or log.parent / "rootchain.json"
    if not path.exists():
        raise click.ClickException(f"no deployment at {path}: pass --deployment")
    if report_.events == 0:
        return report_, {}  # nothing verified to hold against the root chain
    try:
        w3 = chain.connect(eth_rpc)
        deployment = Deployment.load(path)
        return check_against_root_chain(report_, w3, deployment.attach(w3), deployment.block)
    except (chain.ChainError, ValueError, OSError) as exc:
        raise click.ClickException(f"root chain: {exc}") from None


def report_json(report_: AuditReport, balances: Balances | None = None, require_anchor: bool = False) -> str:
    """The report as JSON; `ok` is the verdict `omg audit` exits on (`passed`)."""
    failure = report_.failure
    return json.dumps(
        {
            "ok": passed(report_, balances, require_anchor),
            "events": report_.events,
            "head_hash": report_.head_hash,
            "kinds": report_.kinds,
            "blocks": report_.blocks,
            "deposit_blocks": report_.deposit_blocks,
            "value": report_.value,
            "invariants_checked": report_.invariants_checked,
            "failure": None if failure is None else attrs.asdict(failure),
            "findings": [attrs.asdict(f) for f in report_.findings],
            "anchors": [attrs.asdict(a) for a in report_.anchors],
            "anchored_through": report_.anchored_through,
            "unanchored": None if report_.unanchored is None else list(report_.unanchored),
            "unanchoring_commits": list(report_.unanchoring_commits),
            "trusted_validators": None if report_.trusted is None else {
                "bls_keys": sorted("0x" + key.hex() for key in report_.trusted.bls_keys),
                "quorum": report_.trusted.quorum},
            "vaults": balances or {},
        },
        indent=2,
    )


def load_trusted(path: Path) -> TrustedValidators:
    """The validators the auditor trusts, from a JSON file it got from outside the ledger:
    {"bls_keys": ["0x<48-byte compressed key>", ...], "quorum": n (default: more than 2/3)}."""
    try:
        content = json.loads(path.read_text())
        keys = frozenset(bls.check_public_key(bytes.fromhex(key.removeprefix("0x"))) for key in content["bls_keys"])
        return TrustedValidators.of(keys, content.get("quorum"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, DecodeError) as exc:
        raise click.ClickException(f"trusted validators {path}: {type(exc).__name__}: {exc}") from None


def run_audit(log: Path, as_json: bool = False, progress: bool = True, workers: int = 0,
              trusted: TrustedValidators | None = None) -> AuditReport:
    """Audit LOG, opened read-only: the file is never written, and a file that is not a
    ledger is refused with a one-line error."""
    try:
        store = EventStore(log, read_only=True)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    prefetcher = Prefetcher(workers)
    try:
        quiet = as_json or not progress or not sys.stderr.isatty()
        with tqdm(total=store.count, unit="ev", desc="audit", disable=quiet, file=sys.stderr) as bar:
            hook = InvariantHook(full_every=10_000)
            return audit(store, hook, lambda done: bar.update(done - bar.n), prefetcher, trusted)
    finally:
        prefetcher.close()
        store.close()
