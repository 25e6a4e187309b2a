"""The root chain's word on a replayed log: `omg audit --eth-rpc`.

The log's own `block_submitted` and `deposit` events are claims the file makes; here they are
checked against what the PlasmaFramework actually holds. Every child block the log sealed is
compared with `blocks(n)`, every deposit block with the root chain's deposit root, and the
root chain's blocks and deposits that the log lacks are named (a deleted tail, a deposit never
followed). The child blocks whose roots match, in order from the first, anchor the log up to
their seal: that part of the history is the one the root chain committed to.
"""
from __future__ import annotations

from collections.abc import Callable

from web3 import Web3

from adapters.ethereum.client import RootChainClient
from adapters.ethereum.contracts import RootChain
from ledger.replay import Anchor, AuditReport, Finding
from ledger.state import CHILD_BLOCK_INTERVAL, State

EMPTY_ROOT = bytes(32)


VaultBalances = dict[str, dict[str, int]]  # token hex -> {"vault": held, "owed": what the log says it must hold}


def check_against_root_chain(report: AuditReport, w3: Web3, root: RootChain, deployed_at: int
                             ) -> tuple[AuditReport, VaultBalances]:
    """The report with the root chain's findings and anchor added, and each vault reconciled."""
    findings, anchors = root_chain_checks(w3, root, deployed_at, report)
    return report.with_root_chain(findings, anchors), reconcile(report, RootChainClient(w3, root).vault_balance)


def reconcile(report: AuditReport, vault_balance: Callable[[bytes], int]) -> VaultBalances:
    """Per token, what its root-chain vault holds against what the log says it must:
    deposited - exited - unbacked, plus the payouts it kept for receivers who refused them."""
    return {
        token: {"vault": vault_balance(bytes.fromhex(token[2:])),
                "owed": value["deposited"] - value["exited"] - value["unbacked"] + value["unclaimed"]}
        for token, value in report.value.items()
    }


def reconciled(balances: VaultBalances) -> bool:
    return all(b["vault"] == b["owed"] for b in balances.values())


def root_chain_checks(w3: Web3, root: RootChain, deployed_at: int, report: AuditReport) -> tuple[list[Finding], list[Anchor]]:
    """Findings where the log and the root chain disagree, and the anchor the root chain gives."""
    state = report.final_state
    assert state is not None, "a report from `ledger.replay.audit` carries its final state"
    findings, anchor = _child_blocks(root, state, report)
    findings += _deposit_blocks(root, state, report)
    findings += _missing_deposits(w3, root, deployed_at, state, report.events)
    findings += _cursor(w3, state, report)
    return findings, [anchor] if anchor is not None else []


def _block_root(root: RootChain, blknum: int) -> bytes:
    block_root, _ = root.framework.functions.blocks(blknum).call()
    return bytes(block_root)


def _child_blocks(root: RootChain, state: State, report: AuditReport) -> tuple[list[Finding], Anchor | None]:
    findings: list[Finding] = []
    anchored, agreeing = None, True
    next_on_chain = root.framework.functions.nextChildBlock().call()
    sealed = sorted(n for n, block in state.blocks.items() if not block.is_deposit)
    for blknum in sealed:
        held = _block_root(root, blknum)
        index = report.block_events[blknum]
        if held == EMPTY_ROOT:
            break  # sealed, not yet submitted: the tail the root chain cannot vouch for yet
        if held != state.blocks[blknum].root:
            agreeing = False
            findings.append(Finding(index, "block_sealed", "root_chain_root_differs",
                                    f"the root chain holds 0x{held.hex()} for block {blknum}"))
        elif agreeing:
            anchored = Anchor(index, "root chain", f"PlasmaFramework.blocks holds the roots of child blocks"
                              f" {CHILD_BLOCK_INTERVAL}..{blknum}")
    last_in_log = sealed[-1] if sealed else 0
    for blknum in range(last_in_log + CHILD_BLOCK_INTERVAL, next_on_chain, CHILD_BLOCK_INTERVAL):
        if blknum not in state.foreign_roots:  # a foreign root the log recorded is already a finding
            findings.append(Finding(report.events, "end of log", "block_missing_from_log",
                                    f"the root chain holds child block {blknum}, the log does not (a lost tail?)"))
    return findings, anchored


def _deposit_blocks(root: RootChain, state: State, report: AuditReport) -> list[Finding]:
    findings = []
    for blknum, block in sorted(state.blocks.items()):
        if block.is_deposit and (held := _block_root(root, blknum)) != block.root:
            findings.append(Finding(report.block_events[blknum], "deposit", "root_chain_deposit_differs",
                                    f"the root chain holds 0x{held.hex()} for deposit block {blknum}"))
    return findings


def _missing_deposits(w3: Web3, root: RootChain, deployed_at: int, state: State, end: int) -> list[Finding]:
    """Deposits the vaults logged up to the log's root-chain cursor that the log lacks."""
    cursor, _ = state.root_cursor
    if cursor < deployed_at:
        return []
    findings = []
    for vault in (root.eth_vault, root.erc20_vault):
        for entry in vault.events.DepositCreated().get_logs(from_block=deployed_at, to_block=cursor):
            blknum = entry.args.blknum
            if blknum not in state.blocks:
                findings.append(Finding(end, "end of log", "deposit_missing_from_log",
                                        f"deposit block {blknum} (Ethereum block {entry.blockNumber}) is not in the log"))
    return findings


def _cursor(w3: Web3, state: State, report: AuditReport) -> list[Finding]:
    block, block_hash = state.root_cursor
    if block < 0:
        return []
    held = bytes(w3.eth.get_block(block).hash) if block <= w3.eth.block_number else b""
    if held == block_hash:
        return []
    return [Finding(report.cursor_event, "root_chain_synced", "root_cursor_unknown",
                    f"the log followed Ethereum block {block} 0x{block_hash.hex()}, the node knows "
                    + (f"0x{held.hex()}" if held else "no such block"))]
