"""The search's DEX steps: orders placed (honest and flawed), cancels, and each block's
settlement (honest, tampered, replayed), so the same search drives trading."""
from __future__ import annotations

import math

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ledger.events import BatchSettled, OrderPlaced, Payment
from proofs import eip712, payment
from proofs import order as dex_tx
from proofs.keccak import keccak256
from proofs.payment import Output, PaymentTx
from specs.actors import ADDRESSES, KEYS, SEPARATOR, TOKENS, sign
from specs.commands import OrderIntent, PaymentIntent, SettleIntent
from specs.naive import Out
from specs.strategies import KEY, ORDER_FLAWS, SETTLE_FLAWS

UNLISTED = bytes.fromhex("7a" * 20)  # a token nobody deposits: no pair trades it
# Limits from a few prices near one another, so that orders in a pair often cross.
PRICES = ((1, 1), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3))


class DexSteps:
    """`LedgerMachine`'s DEX rules (a mixin: `submit`, the model and the state are the machine's)."""

    def _sellers(self) -> list[int]:
        """Positions of payment outputs (not orders) that could fund an order: in a token the
        schedule takes an order's fee in, if there is a schedule."""
        schedule = self.model.fee_schedule
        return sorted(pos for pos, (_, token, _) in self.model.utxos.items()
                      if pos not in self.model.orders and (not schedule or (dex_tx.ORDER_TX_TYPE, token) in schedule))

    @precondition(lambda self: self.model.utxos)
    @rule(data=st.data(), flaw=st.sampled_from(ORDER_FLAWS))
    def place_order(self, data: st.DataObject, flaw: str) -> None:
        if flaw == "none" and self.model.orders and data.draw(st.booleans()):
            self.counter_order(data)
            return
        funding = self._sellers()
        if flaw == "order_input" and self.model.orders:
            funding = sorted(self.model.orders)
        if not funding:
            return
        first = data.draw(st.sampled_from(funding))
        owner, sell, _ = self.model.utxos[first]
        same = [pos for pos in funding if self.model.utxos[pos][:2] == (owner, sell) and pos != first]
        inputs = [first, *data.draw(st.lists(st.sampled_from(same), max_size=1, unique=True) if same else st.just([]))]
        total = sum(self.model.utxos[pos][2] for pos in inputs)
        fee = self.model.fee_schedule.get((dex_tx.ORDER_TX_TYPE, sell), 0) if self.model.fee_schedule else 0
        if total <= fee:
            return
        num, den = data.draw(st.sampled_from(PRICES))  # limits in small terms: lots stay small
        lots = data.draw(st.integers(1, max((total - fee) // den, 1)))
        sell_amount = min(lots * den, total - fee)
        change: list[Out] = [(owner, sell, total - fee - sell_amount)] if total - fee > sell_amount else []
        buy = next(t for t in TOKENS if t != sell) if flaw != "unlisted" else UNLISTED
        if buy not in self.model.deposited and flaw == "none":  # someone brings the other token
            self.deposit(data.draw(KEY), buy, data.draw(st.integers(1, 1000)))
        buy_amount = max(sell_amount * num // den, 1) if flaw != "zero_buy" else 0
        expiry = self.model.open_child() + 1000 * data.draw(st.integers(1, 3))
        if flaw == "expired":
            expiry = self.model.open_child() - 1000 * data.draw(st.integers(0, 1))
        nonce = data.draw(st.integers(0, 3))
        if flaw == "overdrawn":
            sell_amount += 1
        terms = dex_tx.OrderTerms(owner, sell, buy, sell_amount, buy_amount, max(expiry, 0), nonce)
        keys = [ADDRESSES.index(self.model.utxos[pos][0]) for pos in inputs]
        if flaw == "wrong_key":
            keys[0] = (keys[0] + data.draw(st.integers(1, len(KEYS) - 1))) % len(KEYS)
        self._place(terms, inputs, change, keys, drop=flaw == "drop_sig")
        if flaw == "none" and self.model.orders and data.draw(st.booleans()):
            self.counter_order(data)  # a counterparty answers at once: batches cross often

    @precondition(lambda self: self.model.orders)
    @rule(data=st.data())
    def counter_order(self, data: st.DataObject) -> None:
        """Someone takes the other side of an open order at its limit or better: batches cross."""
        target = self.model.orders[data.draw(st.sampled_from(sorted(self.model.orders)))]
        funding = [pos for pos in self._sellers() if self.model.utxos[pos][1] == target.buy_token]
        if not funding:  # a trader deposits the token the order wants
            self.deposit(data.draw(KEY), target.buy_token, data.draw(st.integers(1, 1000)))
            funding = [pos for pos in self._sellers() if self.model.utxos[pos][1] == target.buy_token]
        if not funding:
            return
        pos = data.draw(st.sampled_from(funding))
        owner, sell, total = self.model.utxos[pos]
        fee = self.model.fee_schedule.get((dex_tx.ORDER_TX_TYPE, sell), 0) if self.model.fee_schedule else 0
        if total <= fee:
            return
        divisor = math.gcd(target.sell_amount, target.buy_amount)
        give, take = target.buy_amount // divisor, target.sell_amount // divisor  # the order's own price
        if total - fee < give:
            return
        lots = data.draw(st.integers(1, (total - fee) // give))
        sell_amount, buy_amount = lots * give, lots * take
        change: list[Out] = [(owner, sell, total - fee - sell_amount)] if total - fee > sell_amount else []
        expiry = self.model.open_child() + 1000 * data.draw(st.integers(1, 3))
        terms = dex_tx.OrderTerms(owner, sell, target.sell_token, sell_amount, buy_amount, expiry, data.draw(st.integers(0, 3)))
        self._place(terms, [pos], change, [ADDRESSES.index(owner)])
        if data.draw(st.booleans()):
            self.close_block("none", data)  # the operator closes the batch: settle, collect, seal

    def _place(self, terms: dex_tx.OrderTerms, inputs: list[int], change: list[Out], keys: list[int],
               drop: bool = False) -> None:
        tx = dex_tx.order_tx(tuple(inputs), terms, tuple(Output(1, *out) for out in change))
        digest = dex_tx.signing_hash_with_separator(tx, SEPARATOR)
        signatures = [sign(digest, key) for key in keys][: len(keys) - drop]
        signers = tuple(ADDRESSES[key] for key in keys)[: len(keys) - drop]
        raw = dex_tx.encode_order(tx.with_signatures(tuple(signatures))) if signatures else dex_tx.encode_order(tx)
        intent = OrderIntent(tuple(inputs), tuple(terms), tuple(change), signers, dex_tx.encode_order_unsigned(tx),
                             dex_tx.order_id(terms))
        self.submit(intent, OrderPlaced(raw))

    @precondition(lambda self: self.model.orders)
    @rule(data=st.data(), to_owner=st.booleans())
    def cancel_order(self, data: st.DataObject, to_owner: bool) -> None:
        """The owner takes an order back (or, before expiry refused, pays it to someone else)."""
        pos = data.draw(st.sampled_from(sorted(self.model.orders)))
        owner, token, amount = self.model.utxos[pos]
        fee = self.model.payment_fee(token) if self.model.fee_schedule else 0
        if fee is None or amount <= fee:
            return
        to = owner if to_owner else ADDRESSES[data.draw(KEY)]
        outputs = [(to, token, amount - fee)]
        tx = PaymentTx([pos], [Output(1, *out) for out in outputs])
        digest = eip712.signing_hash_with_separator(tx, SEPARATOR)
        raw = payment.encode(tx.with_signatures((sign(digest, ADDRESSES.index(owner)),)))
        intent = PaymentIntent((pos,), tuple(outputs), (owner,), payment.encode_unsigned(tx))
        self.submit(intent, Payment(raw))

    @rule(data=st.data(), flaw=st.sampled_from(SETTLE_FLAWS))
    def settle(self, data: st.DataObject, flaw: str) -> None:
        """The operator's settlement of the open block's batch, honest or not."""
        if flaw == "none" and self.model.orders and not self.model.settlement_due():
            self.counter_order(data)  # mostly, something to settle
        blknum, expected = self.model.open_child(), self.model.settlement()
        raw = dex_tx.encode_settlement(expected) if expected is not None else b"\xc0"
        if flaw == "blknum":
            blknum += data.draw(st.sampled_from([-1000, 1000]))
        elif flaw == "skim" and expected is not None:
            first = expected.records[0]
            if first.bought - first.fee > 1:
                skimmed = first._replace(fee=first.fee + 1)
                outputs = (*dex_tx.settlement_outputs(skimmed, 0), *expected.outputs[1:])
                raw = dex_tx.encode_settlement(dex_tx.SettlementTx(expected.inputs, outputs, (skimmed, *expected.records[1:])))
        elif flaw == "garbage":
            raw = keccak256(raw)
        self.submit(SettleIntent(blknum, raw), BatchSettled(blknum, raw))

    def settle_if_due(self) -> None:
        """What the node does before a seal: settle the batch if it crosses."""
        if self.model.settlement_due():
            expected = self.model.settlement()
            assert expected is not None
            raw = dex_tx.encode_settlement(expected)
            self.submit(SettleIntent(self.model.open_child(), raw), BatchSettled(self.model.open_child(), raw))
