"""The model's DEX rules: orders in restricted custody and the settlement of each block's batch.

As the model states them:
- an order is a payment-like spend of 1-4 of its signers' payment outputs (never an order
  output) into an order output (first) and change; its expiry is after the open block; its buy
  token was deposited; its id is new; it pays the schedule's fee for tx type 4 exactly (no merge
  exemption); its order output holds the sell amount for the owner under the order's terms;
- a payment may spend an order output (signed by its owner) but, before the order's expiry,
  only back to its owner;
- a block's batch is the order outputs not expired in the open block; the settlement is
  computed here from that batch (positions, records, outputs, fees restated from DEX.md); it
  is accepted once per block, byte for byte; a seal is refused while a batch crosses and none
  was applied in that block (unless the block is full).

What the model does not restate: the price and fill rule itself, which it takes from
`ledger.clearing.clear` (a pure function of the set of orders, with its own tests and
contracts); the catalogue's INV-DEX checks judge every fill without it.
"""
from __future__ import annotations

from ledger.clearing import Order, clear
from proofs.order import FillRecord, OrderTerms, SettlementTx, encode_settlement, encode_settlement_unsigned, order_id
from specs.commands import OrderIntent, SettleIntent, Verdict
from specs.naive import BLOCK_OFFSET, BPS, MAX_TXINDEX, Out, add, position, shape_codes

ORDER_TX_TYPE = 4


class DexRules:
    """`Model`'s DEX rules (a mixin: the state is `Model`'s)."""

    def trading_fee(self, bought: int, sell: bytes, buy: bytes) -> int:
        """The pair's trading fee on `bought`: its bps rounded down, leaving the owner at least one unit."""
        bps = self.stakes.trading_fees.get((min(sell, buy), max(sell, buy)), 0) if self.stakes is not None else 0
        return min(bought * bps // BPS, bought - 1)

    def _place_order(self, c: OrderIntent) -> Verdict:
        owner, sell, buy, sell_amount, buy_amount, expiry, _ = c.terms
        outputs = [(owner, sell, sell_amount), *c.change]
        codes = shape_codes(tuple(outputs), len(c.inputs))
        if not c.inputs:
            codes.add("empty_inputs")
        if buy_amount == 0:
            codes.add("amount_cant_be_zero")
        if sell == buy:
            codes.add("same_token_pair")
        codes |= self._input_codes(c)
        if any(pos in self.orders for pos in c.inputs):
            codes.add("order_output_restricted")
        if expiry <= self.open_child():
            codes.add("order_expired")
        if buy not in self.deposited:
            codes.add("unknown_token_pair")
        if c.order_id in self.order_ids:
            codes.add("duplicate_order")
        fee: dict[bytes, int] = {}
        if c.inputs and all(pos in self.utxos for pos in c.inputs):
            fee, fee_codes = self._implicit_fee(c.inputs, outputs, ORDER_TX_TYPE)  # as a payment's, no merge exemption
            codes |= fee_codes
        if not codes:
            at = position(self.open_child(), len(self.open_txs), 0)
            self._spend_into(c.inputs, outputs, c.leaf, fee)
            self.orders[at] = OrderTerms(*c.terms)
            self.order_ids.add(c.order_id)
        return Verdict.of(codes)

    def custody_codes(self, inputs: tuple[int, ...], outputs: tuple[Out, ...]) -> set[str]:
        """Before its expiry an order output goes back to its owner only."""
        for pos in inputs:
            terms = self.orders.get(pos)
            if terms is not None and self.open_child() < terms.expiry and any(o[0] != terms.owner for o in outputs):
                return {"order_output_restricted"}
        return set()

    # -- the batch ----------------------------------------------------------------------------

    def settlement(self) -> SettlementTx | None:
        """The settlement of the open block's batch, restated from DEX.md: the filled orders by
        position, each paid its fill net of the trading fee, the rest kept open."""
        live = {pos: terms for pos, terms in self.orders.items() if self.open_child() < terms.expiry}
        by_id = {order_id(terms): pos for pos, terms in live.items()}
        batch = [Order(oid, live[pos].sell_token, live[pos].buy_token, self.utxos[pos][2], live[pos].sell_amount,
                       live[pos].buy_amount) for oid, pos in by_id.items()]
        fills = {by_id[fill.order_id]: fill for pair in clear(batch) for fill in pair.fills}
        if not fills:
            return None
        inputs, outputs, records = [], [], []
        for pos in sorted(fills):
            terms, fill = live[pos], fills[pos]
            fee = self.trading_fee(fill.bought, terms.sell_token, terms.buy_token)
            records.append(FillRecord(*terms, fill.sold, fill.bought, fee))
            inputs.append(pos)
            outputs.append((1, terms.owner, terms.buy_token, fill.bought - fee))
            if self.utxos[pos][2] > fill.sold:
                outputs.append((3, terms.owner, terms.sell_token, self.utxos[pos][2] - fill.sold))
        return SettlementTx(inputs, outputs, records)

    def settlement_due(self) -> bool:
        """The open block cannot be sealed before its batch is settled."""
        full = len(self.open_txs) > MAX_TXINDEX
        return self.settled != self.open_child() and not full and self.settlement() is not None

    def _settle(self, c: SettleIntent) -> Verdict:
        codes = set()
        if c.blknum != self.open_child():
            codes.add("wrong_block_number")
        if self.settled == c.blknum:
            codes.add("settlement_repeated")
        expected = self.settlement()
        if expected is None:
            codes.add("nothing_to_settle")
        elif c.raw != encode_settlement(expected):
            codes.add("wrong_settlement")
        if codes:
            return Verdict.of(codes)
        assert expected is not None
        fee: dict[bytes, int] = {}
        for record in expected.records:
            add(fee, record.buy_token, record.fee)
        blknum, txindex = self.open_child(), len(self.open_txs)
        outs = [(o.owner, o.token, o.amount) for o in expected.outputs]
        filled = [self.orders[pos] for pos in expected.inputs]
        self._spend_into(tuple(expected.inputs), outs, encode_settlement_unsigned(expected), fee)
        oindex = 0
        for terms in filled:
            oindex += 1
            if expected.outputs[oindex:oindex + 1] and expected.outputs[oindex].output_type == 3:
                self.orders[position(blknum, txindex, oindex)] = terms
                oindex += 1
        self.settled = blknum
        return Verdict.of(set())

    def _spend_into(self, inputs: tuple[int, ...], outputs: list[Out], leaf: bytes, fee: dict[bytes, int]) -> None:
        blknum, txindex = self.open_child(), len(self.open_txs)
        assert all(pos // BLOCK_OFFSET <= blknum for pos in inputs)
        for pos in inputs:
            del self.utxos[pos]
            self.spent.add(pos)
            self.orders.pop(pos, None)
        for oindex, out in enumerate(outputs):
            self.utxos[position(blknum, txindex, oindex)] = out
        self.open_txs.append(leaf)
        for token, amount in fee.items():
            if amount:
                add(self.open_fees, token, amount)
