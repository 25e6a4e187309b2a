"""`transaction.create`: elixir-omg's transaction advice for one owner, a list of payments and
a fee currency: inputs per currency (largest first), one change output per currency, the
unsigned bytes, the EIP-712 sign hash and the typed data omg-js signs. Like elixir, it
refuses with `too_many_inputs` / `too_many_outputs` rather than merge first
(elixir answers "intermediate" merges; this ledger does not yet)."""
from __future__ import annotations

from typing import Any

from adapters.http.codec import to_hex
from adapters.http.errors import ApiError, bad_request
from adapters.http.models import Create, OrderCreate
from adapters.http.render import utxo
from adapters.http.view import View
from ledger.state import CHILD_BLOCK_INTERVAL
from proofs import eip712
from proofs.order import ORDER_TX_TYPE, OrderTerms, encode_order_unsigned, order_id, order_tx, signing_hash
from proofs.order import typed_data as order_typed_data
from proofs.payment import MAX_INPUTS, MAX_OUTPUTS, NULL_METADATA, OUTPUT_TYPE_PAYMENT, Output, PaymentTx, \
    decode_utxo_pos, encode_unsigned
from wallet.payments import DEFAULT_EXPIRY_BLOCKS, WalletError, fee_for, utxos_of

ACTION = "create"


def create(view: View, request: Create) -> dict[str, Any]:
    state = view.state
    try:
        fee = fee_for(state, request.fee.currency)
    except WalletError as exc:
        raise ApiError(ACTION, exc.code, str(exc)) from None
    if any(p.owner is None for p in request.payments):  # elixir then advises inputs only: not yet here
        raise bad_request("payments.owner", ":address")
    if any(p.owner == request.owner for p in request.payments):
        raise ApiError(ACTION, "self_transaction_not_supported")
    needed: dict[bytes, int] = {}
    for payment in request.payments:
        needed[payment.currency] = needed.get(payment.currency, 0) + payment.amount
    if fee:
        needed[request.fee.currency] = needed.get(request.fee.currency, 0) + fee
    mine = utxos_of(state, request.owner)
    inputs: list[tuple[int, Output]] = []
    outputs = [Output(OUTPUT_TYPE_PAYMENT, p.owner, p.currency, p.amount) for p in request.payments]
    for currency, amount in needed.items():
        chosen = _select(mine, currency, amount)
        inputs += chosen
        change = sum(o.amount for _, o in chosen) - amount
        if change:
            outputs.append(Output(OUTPUT_TYPE_PAYMENT, request.owner, currency, change))
    if len(inputs) > MAX_INPUTS:
        raise ApiError(ACTION, "too_many_inputs")
    if len(outputs) > MAX_OUTPUTS:
        raise ApiError(ACTION, "too_many_outputs")
    tx = PaymentTx(inputs=[pos for pos, _ in inputs], outputs=outputs, metadata=request.metadata or NULL_METADATA)
    verifying = state.params.verifying_contract
    return {"result": "complete", "transactions": [{
        "inputs": [utxo(view, pos, o) for pos, o in inputs],
        "outputs": [{"amount": o.amount, "currency": to_hex(o.token), "owner": to_hex(o.owner)} for o in outputs],
        "fee": {"amount": fee, "currency": to_hex(request.fee.currency)},
        "metadata": to_hex(tx.metadata), "txbytes": to_hex(encode_unsigned(tx)),
        "sign_hash": to_hex(eip712.signing_hash(tx, verifying)), "typed_data": typed_data(tx, verifying),
    }]}


def _select(mine: dict[int, Output], currency: bytes, amount: int, action: str = ACTION) -> list[tuple[int, Output]]:
    """The fewest of the largest payment outputs in `currency` covering `amount` (an order
    output is spent only by its cancel or its settlement)."""
    candidates = sorted(((p, o) for p, o in mine.items() if o.token == currency and o.output_type == OUTPUT_TYPE_PAYMENT),
                        key=lambda item: -item[1].amount)
    chosen, total = [], 0
    for item in candidates:
        if total >= amount:
            break
        chosen.append(item)
        total += item[1].amount
    if total < amount:
        raise ApiError(action, "insufficient_funds", f"0x{currency.hex()}: {total} held, {amount} needed")
    return chosen


def typed_data(tx: PaymentTx, verifying_contract: bytes) -> dict[str, Any]:
    """The EIP-712 typed data as elixir-omg's `transaction.create` returns it."""
    message: dict[str, Any] = {}
    for i in range(MAX_INPUTS):
        blknum, txindex, oindex = decode_utxo_pos(tx.inputs[i]) if i < len(tx.inputs) else (0, 0, 0)
        message[f"input{i}"] = {"blknum": blknum, "txindex": txindex, "oindex": oindex}
    for i in range(MAX_OUTPUTS):
        o = tx.outputs[i] if i < len(tx.outputs) else Output(0, bytes(20), bytes(20), 0)
        message[f"output{i}"] = {"owner": to_hex(o.owner), "currency": to_hex(o.token), "amount": o.amount}
    message["metadata"] = to_hex(tx.metadata)
    return {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "verifyingContract", "type": "address"}, {"name": "salt", "type": "bytes32"}],
            "Transaction": [{"name": "txType", "type": "uint256"},
                            *({"name": f"input{i}", "type": "Input"} for i in range(MAX_INPUTS)),
                            *({"name": f"output{i}", "type": "Output"} for i in range(MAX_OUTPUTS)),
                            {"name": "txData", "type": "uint256"}, {"name": "metadata", "type": "bytes32"}],
            "Input": [{"name": "blknum", "type": "uint256"}, {"name": "txindex", "type": "uint256"},
                      {"name": "oindex", "type": "uint256"}],
            "Output": [{"name": "outputType", "type": "uint256"}, {"name": "outputGuard", "type": "bytes20"},
                       {"name": "currency", "type": "address"}, {"name": "amount", "type": "uint256"}],
        },
        "primaryType": "Transaction",
        "domain": {"name": eip712.DOMAIN_NAME, "version": eip712.DOMAIN_VERSION,
                   "verifyingContract": to_hex(verifying_contract), "salt": to_hex(eip712.DOMAIN_SALT)},
        "message": message,
    }


# --- order.create ---------------------------------------------------------------------------

ORDER_ACTION = "order.create"


def create_order(view: View, request: OrderCreate) -> dict[str, Any]:
    """The ORDER transaction (tx type 4) placing the request's terms: inputs from the owner's
    payment outputs (largest first) for the sell amount and the fee (in `fee.currency`, by
    default the sell token, at the schedule's price for tx type 4), one change output per token.
    Without a nonce, the first input's position is the nonce: an output is spent once, so two
    orders planned this way never share an id even with equal terms."""
    state = view.state
    if state.params is None:
        raise ApiError(ORDER_ACTION, "no_genesis", "the ledger has no genesis yet")
    if request.sell_token == request.buy_token:
        raise ApiError(ORDER_ACTION, "same_token_pair")
    fee_token = request.fee.currency if request.fee is not None else request.sell_token
    fee = _order_fee(state.params.fee_schedule, fee_token)
    needed = {request.sell_token: request.sell_amount}
    if fee:
        needed[fee_token] = needed.get(fee_token, 0) + fee
    mine = utxos_of(state, request.owner)
    inputs: list[tuple[int, Output]] = []
    change: list[Output] = []
    for currency, amount in needed.items():
        chosen = _select(mine, currency, amount, ORDER_ACTION)
        inputs += chosen
        if (rest := sum(o.amount for _, o in chosen) - amount):
            change.append(Output(OUTPUT_TYPE_PAYMENT, request.owner, currency, rest))
    if len(inputs) > MAX_INPUTS:
        raise ApiError(ORDER_ACTION, "too_many_inputs")
    expiry = request.expiry if request.expiry is not None else \
        state.next_child_blknum + DEFAULT_EXPIRY_BLOCKS * CHILD_BLOCK_INTERVAL
    terms = OrderTerms(request.owner, request.sell_token, request.buy_token, request.sell_amount,
                       request.buy_amount, expiry, inputs[0][0] if request.nonce is None else request.nonce)
    tx = order_tx(tuple(pos for pos, _ in inputs), terms, tuple(change), request.metadata or NULL_METADATA)
    verifying = state.params.verifying_contract
    return {
        "order_id": to_hex(order_id(terms)),
        "inputs": [utxo(view, pos, o) for pos, o in inputs],
        "outputs": [{"amount": o.amount, "currency": to_hex(o.token), "owner": to_hex(o.owner)} for o in tx.outputs],
        "fee": {"amount": fee, "currency": to_hex(fee_token)},
        "txbytes": to_hex(encode_order_unsigned(tx)),
        "sign_hash": to_hex(signing_hash(tx, verifying)), "typed_data": order_typed_data(tx, verifying),
    }


def _order_fee(schedule, token: bytes) -> int:
    if not schedule:
        return 0
    fee = schedule.get((ORDER_TX_TYPE, token))
    if fee is None:
        raise ApiError(ORDER_ACTION, "fee_currency_not_accepted", f"no order fee (tx type 4) is accepted in 0x{token.hex()}")
    return fee
