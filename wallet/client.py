"""A client of a node's OMG HTTP API (elixir-omg's watcher and child-chain routes, as
`omg node --http` serves them): POST a JSON body, read the `{success, data}` envelope.
An error object becomes `NodeError` with OMG's code (`submit:utxo_not_found`, ...).

It uses urllib from the standard library: one blocking request per call is all a wallet
needs, and the SDK then adds no HTTP dependency to a wallet provider's application.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from wallet.errors import WalletError

PAGE_LIMIT = 1000  # the API's largest page
PAYMENT_TX_TYPE = 1


class NodeError(WalletError):
    """An OMG error object (`code`, `description`, `messages`) or an unreachable node."""

    def __init__(self, code: str, description: str = "", messages: Any = None) -> None:
        super().__init__(code, description)
        self.description, self.messages = description, messages


def unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def tohex(raw: bytes) -> str:
    return "0x" + raw.hex()


@dataclass(frozen=True, slots=True)
class Utxo:
    utxo_pos: int
    blknum: int
    txindex: int
    oindex: int
    owner: bytes
    currency: bytes
    amount: int
    otype: int = 1  # 1 a payment output, 3 an order output (spent only by its cancel or settlement)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Utxo:
        return cls(data["utxo_pos"], data["blknum"], data["txindex"], data["oindex"], unhex(data["owner"]),
                   unhex(data["currency"]), data["amount"], data.get("otype", 1))


@dataclass(frozen=True, slots=True)
class Transaction:
    txhash: bytes
    blknum: int
    txindex: int
    txbytes: bytes  # signed
    metadata: bytes
    inputs: tuple[Utxo, ...]
    outputs: tuple[Utxo, ...]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Transaction:
        blknum = data["block"]["blknum"] if data.get("block") else data["outputs"][0]["blknum"]  # open block: null
        return cls(unhex(data["txhash"]), blknum, data["txindex"], unhex(data["txbytes"]), unhex(data["metadata"]),
                   tuple(Utxo.parse(u) for u in data["inputs"]), tuple(Utxo.parse(u) for u in data["outputs"]))


@dataclass(frozen=True, slots=True)
class Submitted:
    blknum: int
    txindex: int
    txhash: bytes


@dataclass(frozen=True, slots=True)
class ExitData:
    utxo_pos: int
    txbytes: bytes
    proof: bytes


@dataclass(frozen=True, slots=True)
class ByzantineEvent:
    event: str  # invalid_exit, unchallenged_exit, invalid_block, block_withholding, ...
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Status:
    plasma_framework: bytes  # also the EIP-712 verifying contract of every signature
    last_validated_child_block_number: int
    last_mined_child_block_number: int
    byzantine_events: tuple[ByzantineEvent, ...]


class NodeClient:
    def __init__(self, url: str, timeout: float = 30) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout

    def call(self, route: str, body: dict[str, Any] | None = None) -> Any:
        """The `data` of a successful answer; `NodeError` otherwise."""
        request = urllib.request.Request(f"{self.url}/{route}", data=json.dumps(body or {}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                payload = json.loads(answer.read())
        except urllib.error.HTTPError as exc:  # OMG sends an error object with 4xx/5xx too
            payload = _json_or_none(exc.read())
            if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
                raise NodeError("http_error", f"{route}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise NodeError("node_unreachable", f"{self.url}: {exc}") from None
        except ValueError:
            raise NodeError("malformed_answer", f"{route}: the answer is not JSON") from None
        if not isinstance(payload, dict):
            raise NodeError("malformed_answer", f"{route}: the answer is not an OMG envelope")
        if payload.get("success") is not True:
            data = payload.get("data") or {}
            raise NodeError(data.get("code", "unknown_error"), data.get("description", ""), data.get("messages"))
        return payload["data"]

    def _all_pages(self, route: str, body: dict[str, Any]) -> list[Any]:
        items, page = [], 1
        while True:
            batch = self.call(route, {**body, "page": page, "limit": PAGE_LIMIT})
            items += batch
            if len(batch) < PAGE_LIMIT:
                return items
            page += 1

    def status(self) -> Status:
        data = self.call("status.get")
        return Status(unhex(data["contract_addr"]["plasma_framework"]), data["last_validated_child_block_number"],
                      data["last_mined_child_block_number"],
                      tuple(ByzantineEvent(e["event"], e["details"]) for e in data["byzantine_events"]))

    def balance(self, address: bytes) -> dict[bytes, int]:
        return {unhex(b["currency"]): b["amount"] for b in self.call("account.get_balance", {"address": tohex(address)})}

    def utxos(self, address: bytes) -> list[Utxo]:
        return [Utxo.parse(u) for u in self._all_pages("account.get_utxos", {"address": tohex(address)})]

    def exitable_utxos(self, address: bytes) -> list[Utxo]:
        """Unspent outputs in sealed or deposit blocks: those a standard exit can prove."""
        return [Utxo.parse(u) for u in self.call("account.get_exitable_utxos", {"address": tohex(address)})]

    def transactions(self, address: bytes) -> list[Transaction]:
        """The payments `address` took part in, newest first (deposits are `deposits`)."""
        return [Transaction.parse(t) for t in self._all_pages("account.get_transactions", {"address": tohex(address)})]

    def deposits(self, address: bytes) -> list[Utxo]:
        found = self._all_pages("deposit.all", {"address": tohex(address)})
        return [Utxo.parse(d["txoutputs"][0]) for d in found]

    def transaction(self, txhash: bytes) -> Transaction:
        return Transaction.parse(self.call("transaction.get", {"id": tohex(txhash)}))

    def fees(self, tx_type: int = PAYMENT_TX_TYPE) -> dict[bytes, int]:
        """The fee of `tx_type` in each currency the node accepts; empty when fees are off."""
        data = self.call("fees.all", {"tx_types": [tx_type]})
        return {unhex(f["currency"]): f["amount"] for f in data.get(str(tx_type), [])}

    def submit(self, signed: bytes) -> Submitted:
        data = self.call("transaction.submit", {"transaction": tohex(signed)})
        return Submitted(data["blknum"], data["txindex"], unhex(data["txhash"]))

    def exit_data(self, utxo_pos: int) -> ExitData:
        data = self.call("utxo.get_exit_data", {"utxo_pos": utxo_pos})
        return ExitData(data["utxo_pos"], unhex(data["txbytes"]), unhex(data["proof"]))


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
