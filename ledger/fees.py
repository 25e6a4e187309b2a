"""Fee rules: a transaction pays its fee implicitly, as inputs minus outputs, in one token.

As elixir-omg's OMG.Fees and its merge-transaction rule do it: every token's
outputs must be covered by its inputs; at most one token may show a surplus; that
surplus is the fee and must equal the schedule's fee for (tx type, token) exactly.
A merge (one owner folding more inputs into fewer outputs of one token) pays no
fee. An empty schedule requires no fee, and any surplus is collected as fee. A fee
of 0 in the schedule (which the fee votes' median can set) makes its tx type free:
paying nothing pays it exactly, any surplus in that token overpays. (elixir-omg's fee
specs are positive; a zero there would be unpayable.)
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from immutables import Map

from ledger.errors import Rejected
from proofs.payment import Output


def token_totals(outputs: Iterable[Output]) -> dict[bytes, int]:
    totals: dict[bytes, int] = {}
    for output in outputs:
        totals[output.token] = totals.get(output.token, 0) + output.amount
    return totals


def is_merge(spent: Sequence[Output], created: Sequence[Output], signers: Sequence[bytes]) -> bool:
    """elixir-omg's MergeTransactionValidator: fewer outputs than inputs, one token out,
    and every output owner and signer the same address."""
    if not 0 < len(created) < len(spent):
        return False
    owners = {o.owner for o in created} | set(signers)
    return len({o.token for o in created}) == 1 and len(owners) == 1


def implicit_fee(tx_type: int, spent: Sequence[Output], created: Sequence[Output], schedule: Map,
                 merge: bool = False) -> tuple[bytes, int]:
    """(token, amount) of the fee a transaction pays; `Rejected` when it does not add up."""
    inputs, outputs = token_totals(spent), token_totals(created)
    for token, amount in outputs.items():
        if amount > inputs.get(token, 0):
            raise Rejected("amounts_do_not_add_up", f"outputs exceed inputs in token 0x{token.hex()}")
    surplus = {token: amount - outputs.get(token, 0) for token, amount in inputs.items() if amount > outputs.get(token, 0)}
    if len(surplus) > 1:
        raise Rejected("multiple_potential_currency_fees", "a fee is paid in one token only")
    if not schedule:
        return next(iter(surplus.items()), (b"", 0))
    if merge:
        if surplus:
            raise Rejected("overpaying_fees", "a merge transaction pays no fee")
        return b"", 0
    if not surplus:
        if not any(fee == 0 and key[0] == tx_type for key, fee in schedule.items()):
            raise Rejected("fees_not_covered", "the transaction pays no fee")
        return b"", 0
    [(token, paid)] = surplus.items()
    required = schedule.get((tx_type, token))
    if required is None:
        raise Rejected("fees_not_covered", f"no fee is accepted in token 0x{token.hex()}")
    if paid < required:
        raise Rejected("fees_not_covered", f"pays {paid}, the schedule asks {required}")
    if paid > required:
        raise Rejected("overpaying_fees", f"pays {paid}, the schedule asks {required}")
    return token, paid
