"""What the HTTP routes share: the node behind its one writer, the read model, the
operator's latest watcher reports, and the log's path (for its audit)."""
from __future__ import annotations

from pathlib import Path

import attrs
from web3 import Web3

from adapters.http.committer import Committer, Placed
from adapters.http.errors import ApiError
from adapters.http.view import Folder, View
from ledger.events import Event
from ledger.node import Node


@attrs.define
class Service:
    node: Node
    log_path: Path
    committer: Committer = attrs.field(init=False)
    folder: Folder = attrs.field(init=False)
    reports: list = attrs.Factory(list)  # the watcher's reports of the operator's last step
    audit_verdict: dict | None = None  # the last audit.get verdict, for the log it audited
    chain: Web3 | None = None  # the embedded root chain, served at /eth; None with --eth-rpc

    def __attrs_post_init__(self) -> None:
        self.folder = Folder(self.log_path)
        self.committer = Committer(self.node, after_write=self.folder.poke)

    def view(self) -> View:
        """The read model, at least as far as the node's last acknowledged write."""
        view = self.folder.wait_for(self.node.state.event_count)
        if self.folder.error is not None:
            raise ApiError("view", "unreadable_ledger", f"the read model stopped: {self.folder.error}")
        return view

    async def submit(self, action: str, event: Event) -> Placed:
        """One event through the group commit; an OMG error if the ledger rejects it."""
        placed: Placed = await self.committer.submit(event)
        if not placed.outcome.accepted:
            raise ApiError(action, placed.outcome.code or "rejected", placed.outcome.detail or None)
        return placed

    def operator_step(self, step) -> object:
        """Run one operator step under the writer's lock, then refresh the read model."""
        with self.committer.lock:
            result = step()
        self.folder.poke()
        return result

    def close(self) -> None:
        self.committer.close()
        self.folder.close()
