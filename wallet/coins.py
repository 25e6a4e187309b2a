"""Coin selection for payments and merges, from the owner's unspent outputs as the node lists them.

A payment spends at most 4 inputs into at most 4 outputs (the payment, a change output per
currency spent, nothing else). Its fee is implicit (inputs minus outputs) in one currency of
the node's schedule (`fees.all`), so a fee in another currency than the payment's adds inputs
of that currency and its change. A merge (one owner, one currency, fewer outputs than inputs)
pays no fee, as elixir-omg's merge rule says: folding many small outputs into one keeps later
payments within 4 inputs.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from proofs.payment import MAX_INPUTS, MAX_OUTPUTS, NULL_METADATA, OUTPUT_TYPE_PAYMENT, Output, PaymentTx
from wallet.client import Utxo
from wallet.errors import WalletError


@dataclass(frozen=True, slots=True)
class Fee:
    currency: bytes
    amount: int


def choose_fee(schedule: Mapping[bytes, int], held: Mapping[bytes, int], pay_currency: bytes, pay_amount: int,
               preferred: bytes | None = None) -> Fee:
    """The fee to pay: in `preferred` if the node accepts it; else in the payment's own
    currency if accepted and held (no extra input); else the cheapest accepted currency held.
    An empty schedule (fees off) asks for no fee."""
    if not schedule:
        return Fee(pay_currency, 0)
    if preferred is not None:
        if preferred not in schedule:
            raise WalletError("fee_currency_not_accepted", f"the node takes no fee in 0x{preferred.hex()}")
        return Fee(preferred, schedule[preferred])

    def affordable(currency: bytes) -> bool:
        spent = pay_amount if currency == pay_currency else 0
        return held.get(currency, 0) >= spent + schedule[currency]

    if pay_currency in schedule and affordable(pay_currency):
        return Fee(pay_currency, schedule[pay_currency])
    options = sorted((amount, currency) for currency, amount in schedule.items() if affordable(currency))
    if not options:
        raise WalletError("insufficient_funds", "no accepted fee currency is held in the amount needed")
    amount, currency = options[0]
    return Fee(currency, amount)


def select(utxos: Iterable[Utxo], currency: bytes, amount: int, max_inputs: int = MAX_INPUTS) -> list[Utxo]:
    """Payment outputs (never an order output) in `currency` covering `amount`: the smallest single one that does, else the
    largest ones until covered, then without any the rest still covers (less change, fewer inputs)."""
    if max_inputs < 1:
        raise WalletError("too_many_inputs", f"no input left for 0x{currency.hex()}")
    mine = sorted((u for u in utxos if u.currency == currency and u.otype == OUTPUT_TYPE_PAYMENT),
                  key=lambda u: (u.amount, u.utxo_pos))
    single = next((u for u in mine if u.amount >= amount), None)
    if single is not None:
        return [single]
    chosen = list(reversed(mine))[:max_inputs]
    total = sum(u.amount for u in chosen)
    if total < amount:
        code = "too_many_inputs" if sum(u.amount for u in mine) >= amount else "insufficient_funds"
        raise WalletError(code, f"0x{currency.hex()}: {max_inputs} inputs hold {total}, {amount} needed")
    for utxo in sorted(chosen, key=lambda u: u.amount):
        if total - utxo.amount >= amount:
            chosen.remove(utxo)
            total -= utxo.amount
    return sorted(chosen, key=lambda u: u.utxo_pos)


def plan_payment(utxos: Sequence[Utxo], owner: bytes, payments: Sequence[tuple[bytes, bytes, int]], fee: Fee,
                 metadata: bytes = NULL_METADATA) -> PaymentTx:
    """A transaction paying each (to, currency, amount) and `fee`, with one change output per
    currency to `owner`. Inputs are selected per currency from `utxos` (the owner's)."""
    if not payments or any(amount <= 0 for _, _, amount in payments):
        raise WalletError("amount_cant_be_zero", "every payment moves a positive amount")
    if any(to == owner for to, _, _ in payments):
        raise WalletError("self_transaction_not_supported", "a payment to oneself is a merge (`plan_merges`)")
    needed: dict[bytes, int] = {}
    for _, currency, amount in payments:
        needed[currency] = needed.get(currency, 0) + amount
    if fee.amount:
        needed[fee.currency] = needed.get(fee.currency, 0) + fee.amount
    inputs: list[Utxo] = []
    outputs = [Output(OUTPUT_TYPE_PAYMENT, to, currency, amount) for to, currency, amount in payments]
    for currency, amount in needed.items():
        chosen = select(utxos, currency, amount, MAX_INPUTS - len(inputs))
        inputs += chosen
        change = sum(u.amount for u in chosen) - amount
        if change:
            outputs.append(Output(OUTPUT_TYPE_PAYMENT, owner, currency, change))
    if len(outputs) > MAX_OUTPUTS:
        raise WalletError("too_many_outputs", f"{len(outputs)} outputs with change, {MAX_OUTPUTS} allowed")
    return PaymentTx(inputs=[u.utxo_pos for u in inputs], outputs=outputs, metadata=metadata)


def plan_merges(utxos: Iterable[Utxo], owner: bytes, currency: bytes, keep_above: int | None = None) -> list[PaymentTx]:
    """Fee-free merges of `owner`'s outputs in `currency`, smallest first, up to 4 into 1 (a
    last lone output stays as it is); outputs above `keep_above` are left alone."""
    small = sorted((u for u in utxos if u.currency == currency and u.owner == owner and u.otype == OUTPUT_TYPE_PAYMENT
                    and (keep_above is None or u.amount <= keep_above)), key=lambda u: (u.amount, u.utxo_pos))
    merges = []
    for start in range(0, len(small) - 1, MAX_INPUTS):
        group = small[start:start + MAX_INPUTS]
        if len(group) < 2:
            break
        merges.append(PaymentTx(inputs=sorted(u.utxo_pos for u in group),
                                outputs=[Output(OUTPUT_TYPE_PAYMENT, owner, currency, sum(u.amount for u in group))]))
    return merges
