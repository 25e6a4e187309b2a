"""Building and signing payments from a ledger state: input selection, change, fee."""
from __future__ import annotations

from collections.abc import Mapping

from ledger.state import State
from proofs import eip712
from proofs.payment import MAX_INPUTS, OUTPUT_TYPE_PAYMENT, Output, PaymentTx, encode
from wallet.errors import WalletError

__all__ = ["WalletError", "balances", "build_payment", "fee_for", "sign_payment", "utxos_of"]


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
        ((pos, o) for pos, o in utxos_of(state, owner).items() if o.token == token), key=lambda item: -item[1].amount
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
