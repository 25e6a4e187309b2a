"""Building and signing payments from a ledger state: input selection, change, fee."""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from ledger.state import CHILD_BLOCK_INTERVAL, State
from proofs import eip712
from proofs.order import ORDER_TX_TYPE, OrderTerms, OrderTx, order_id, order_tx
from proofs.payment import MAX_INPUTS, OUTPUT_TYPE_PAYMENT, Output, PaymentTx, encode
from wallet.errors import WalletError

__all__ = ["WalletError", "balances", "build_cancel", "build_order", "build_payment", "depth", "fee_for", "pair_of",
           "sign_payment", "utxos_of"]


def utxos_of(state: State, owner: bytes) -> dict[int, Output]:
    """The unspent outputs `owner` holds (a scan: fine for a local wallet)."""
    return {pos: output for pos, output in state.utxos.items() if output.owner == owner}


def balances(state: State, owner: bytes) -> dict[bytes, int]:
    totals: dict[bytes, int] = {}
    for output in utxos_of(state, owner).values():
        totals[output.token] = totals.get(output.token, 0) + output.amount
    return totals


def fee_for(state: State, token: bytes) -> int:
    """The scheduled payment fee in `token` (0 with an empty schedule)."""
    assert state.params is not None
    schedule = state.params.fee_schedule
    if not schedule:
        return 0
    fee = schedule.get((1, token))
    if fee is None:
        raise WalletError("fee_currency_not_accepted", f"no fee is accepted in 0x{token.hex()}")
    return fee


def build_payment(state: State, owner: bytes, to: bytes, token: bytes, amount: int) -> PaymentTx:
    """Spend the largest of `owner`'s outputs in `token` to pay `amount` plus the fee, with change."""
    if amount <= 0:
        raise WalletError("amount_cant_be_zero", "amount must be positive")
    needed = amount + fee_for(state, token)
    mine = sorted(
        ((pos, o) for pos, o in utxos_of(state, owner).items() if o.token == token and o.output_type == OUTPUT_TYPE_PAYMENT),
        key=lambda item: -item[1].amount,
    )
    chosen = mine[:MAX_INPUTS]
    total = sum(o.amount for _, o in chosen)
    if total < needed:
        raise WalletError("insufficient_funds", f"{MAX_INPUTS} largest outputs hold {total}, {needed} needed")
    while len(chosen) > 1 and total - chosen[-1][1].amount >= needed:
        total -= chosen.pop()[1].amount
    outputs = [Output(OUTPUT_TYPE_PAYMENT, to, token, amount)]
    if total > needed:
        outputs.append(Output(OUTPUT_TYPE_PAYMENT, owner, token, total - needed))
    return PaymentTx(inputs=[pos for pos, _ in chosen], outputs=outputs)


def sign_payment(tx: PaymentTx, keys: Mapping[int, bytes], verifying_contract: bytes) -> bytes:
    """Signed transaction bytes; `keys` maps each input position to its owner's private key."""
    digest = eip712.signing_hash(tx, verifying_contract)
    return encode(tx.with_signatures(tuple(eip712.sign(digest, keys[pos]) for pos in tx.inputs)))


DEFAULT_EXPIRY_BLOCKS = 100  # child blocks an order stays open when no expiry is given

# --- orders on a local ledger (the CLI on a home no node serves; the node's order.book) -------

def pair_of(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    """(base, quote): the pair of two tokens, base < quote bytewise."""
    return min(a, b), max(a, b)


def depth(state: State, pair: tuple[bytes, bytes] | None = None) -> dict[tuple[bytes, bytes], tuple[list, list]]:
    """Per pair, the open orders that have not expired summed per price level (quote units per
    base unit, exact): asks (selling base) lowest first, bids (selling quote) highest first,
    each level `(price, open amount in the side's sell token, orders)`."""
    sides: dict[tuple[bytes, bytes], tuple[dict, dict]] = {}
    for pos, terms in state.orders.items():
        base, quote = pair_of(terms.sell_token, terms.buy_token)
        if state.next_child_blknum >= terms.expiry or (pair is not None and (base, quote) != pair):
            continue
        asking = terms.sell_token == base
        price = Fraction(terms.buy_amount, terms.sell_amount) if asking else Fraction(terms.sell_amount, terms.buy_amount)
        level = sides.setdefault((base, quote), ({}, {}))[0 if asking else 1].setdefault(price, [0, 0])
        level[0] += state.utxos[pos].amount
        level[1] += 1
    return {p: ([(price, *sides[p][0][price]) for price in sorted(sides[p][0])],
                [(price, *sides[p][1][price]) for price in sorted(sides[p][1], reverse=True)]) for p in sorted(sides)}


def _order_fee(state: State, token: bytes) -> int:
    assert state.params is not None
    schedule = state.params.fee_schedule
    if not schedule:
        return 0
    fee = schedule.get((ORDER_TX_TYPE, token))
    if fee is None:
        raise WalletError("fee_currency_not_accepted", f"no order fee (tx type 4) is accepted in 0x{token.hex()}")
    return fee


def build_order(state: State, owner: bytes, sell_token: bytes, sell_amount: int, buy_token: bytes, buy_amount: int,
                expiry: int | None = None, nonce: int | None = None) -> OrderTx:
    """The ORDER transaction offering `sell_amount` of `sell_token` for at least `buy_amount` of
    `buy_token`: the largest of the owner's payment outputs in the sell token for the amount
    and the order fee (in the sell token), with change. `expiry` defaults to
    `DEFAULT_EXPIRY_BLOCKS` child blocks on, `nonce` to the first input's position (an output
    is spent once: two orders planned so never share an id)."""
    needed = sell_amount + _order_fee(state, sell_token)
    mine = sorted(((pos, o) for pos, o in utxos_of(state, owner).items()
                   if o.token == sell_token and o.output_type == OUTPUT_TYPE_PAYMENT), key=lambda item: -item[1].amount)
    chosen = mine[:MAX_INPUTS]
    total = sum(o.amount for _, o in chosen)
    if total < needed:
        raise WalletError("insufficient_funds", f"{MAX_INPUTS} largest outputs hold {total}, {needed} needed")
    while len(chosen) > 1 and total - chosen[-1][1].amount >= needed:
        total -= chosen.pop()[1].amount
    change = (Output(OUTPUT_TYPE_PAYMENT, owner, sell_token, total - needed),) if total > needed else ()
    inputs = tuple(pos for pos, _ in chosen)
    if expiry is None:
        expiry = state.next_child_blknum + DEFAULT_EXPIRY_BLOCKS * CHILD_BLOCK_INTERVAL
    terms = OrderTerms(owner, sell_token, buy_token, sell_amount, buy_amount, expiry, inputs[0] if nonce is None else nonce)
    return order_tx(inputs, terms, change)


def build_cancel(state: State, owner: bytes, oid: bytes) -> PaymentTx:
    """The cancel of order `oid`: its order output paid back to `owner`, less the payment fee
    in the sell token."""
    found = next(((pos, terms) for pos, terms in state.orders.items() if order_id(terms) == oid), None)
    if found is None:
        raise WalletError("order_not_found", f"no order 0x{oid.hex()} is in custody")
    pos, terms = found
    if terms.owner != owner:
        raise WalletError("not_the_owner", f"order 0x{oid.hex()} is 0x{terms.owner.hex()}'s")
    back = state.utxos[pos].amount - fee_for(state, terms.sell_token)
    if back <= 0:
        raise WalletError("insufficient_funds", "the order's rest does not cover the payment fee")
    return PaymentTx(inputs=[pos], outputs=[Output(OUTPUT_TYPE_PAYMENT, owner, terms.sell_token, back)])
