"""One key's view of the child chain through a node: balance, outputs, history, payments, merges."""
from __future__ import annotations

from proofs import eip712
from proofs.order import OrderTx, sign_order
from proofs.payment import NULL_METADATA, OUTPUT_TYPE_PAYMENT, PaymentTx, encode
from wallet.client import NodeClient, Submitted, Transaction, Utxo
from wallet.coins import choose_fee, plan_merges, plan_payment


class Account:
    """A key and a node. Signatures commit to the node's plasma framework (its EIP-712
    verifying contract), read once from `status.get`."""

    def __init__(self, node: NodeClient, private_key: bytes) -> None:
        self.node, self._key = node, private_key
        self.address = eip712.address_of(private_key)
        self._verifying_contract: bytes | None = None

    @property
    def verifying_contract(self) -> bytes:
        if self._verifying_contract is None:
            self._verifying_contract = self.node.status().plasma_framework
        return self._verifying_contract

    def balance(self) -> dict[bytes, int]:
        return self.node.balance(self.address)

    def utxos(self) -> list[Utxo]:
        return self.node.utxos(self.address)

    def history(self) -> list[Transaction]:
        return self.node.transactions(self.address)

    def sign(self, tx: PaymentTx) -> bytes:
        """The signed transaction bytes; every input must be this key's."""
        digest = eip712.signing_hash(tx, self.verifying_contract)
        signature = eip712.sign(digest, self._key)
        return encode(tx.with_signatures(tuple(signature for _ in tx.inputs)))

    def sign_order(self, tx: OrderTx) -> bytes:
        """The signed ORDER transaction bytes (`proofs.order`'s EIP-712); every input must be this key's."""
        return sign_order(tx, tuple(self._key for _ in tx.inputs), self.verifying_contract)

    def plan(self, to: bytes, amount: int, currency: bytes, fee_currency: bytes | None = None,
             metadata: bytes = NULL_METADATA) -> PaymentTx:
        """The payment `pay` would sign, to inspect first (inputs, change, fee). The fee and the
        inputs are chosen from one listing of the outputs, so they agree."""
        utxos = self.utxos()
        held: dict[bytes, int] = {}
        for utxo in (u for u in utxos if u.otype == OUTPUT_TYPE_PAYMENT):  # order outputs pay no one else
            held[utxo.currency] = held.get(utxo.currency, 0) + utxo.amount
        fee = choose_fee(self.node.fees(), held, currency, amount, fee_currency)
        return plan_payment(utxos, self.address, [(to, currency, amount)], fee, metadata)

    def pay(self, to: bytes, amount: int, currency: bytes, fee_currency: bytes | None = None,
            metadata: bytes = NULL_METADATA) -> Submitted:
        return self.node.submit(self.sign(self.plan(to, amount, currency, fee_currency, metadata)))

    def merge(self, currency: bytes, keep_above: int | None = None) -> list[Submitted]:
        """Fold small outputs in `currency` into fewer (fee-free); one submission per merge."""
        return [self.node.submit(self.sign(tx)) for tx in plan_merges(self.utxos(), self.address, currency, keep_above)]
