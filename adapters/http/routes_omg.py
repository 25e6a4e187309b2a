"""OMG's watcher routes (security-critical and info APIs), POST with JSON bodies."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from adapters.http import models as m
from adapters.http.codec import to_hex
from adapters.http.create import create
from adapters.http.errors import ApiError, bad_request, envelope
from adapters.http.render import block, inclusion, newest_first, page, transaction, utxo
from adapters.http.service import Service
from adapters.http.view import TxRecord, View
from ledger.events import OrderPlaced, Payment
from ledger.state import InFlightExit, StandardExit, State
from proofs.errors import DecodeError
from proofs.fraud import Spend
from proofs.keccak import keccak256
from proofs.order import OrderTx, decode_transaction
from proofs.payment import BLOCK_OFFSET, OUTPUT_TYPE_PAYMENT, TX_OFFSET, Output, PaymentTx, \
    decode, encode, encode_unsigned, encode_utxo_pos, unsigned_bytes
from proofs import eip712

router = APIRouter()


def ok(model: Any) -> dict[str, Any]:
    return {"response_model": m.Ok[model] | m.Error}


def ok_page(model: Any) -> dict[str, Any]:
    return {"response_model": m.OkPage[model] | m.Error}


def service(request: Request) -> Service:
    return request.app.state.service


def paged(data: list, body: m.Request) -> dict[str, Any]:
    return envelope(data, data_paging={"page": body.page, "limit": body.limit})


@router.post("/status.get", tags=["Status"], **ok(m.Status))
def status_get(request: Request, body: m.Empty | None = None) -> dict:
    svc = service(request)
    view = svc.view()
    state = view.state
    exits = [{"txhash": to_hex(e.tx_hash), "txbytes": to_hex(e.tx), "eth_height": 0,
              "piggybacked_inputs": sorted(i for out, i in e.piggybacked if not out),
              "piggybacked_outputs": sorted(i for out, i in e.piggybacked if out)}
             for e in state.exits.values() if isinstance(e, InFlightExit) and not e.ended]
    return envelope({
        "last_validated_child_block_timestamp": 0,
        "last_validated_child_block_number": view.child_blocks[-1] if view.child_blocks else 0,
        "last_mined_child_block_timestamp": 0, "last_mined_child_block_number": state.submitted_blknum,
        "last_seen_eth_block_timestamp": 0, "last_seen_eth_block_number": max(state.root_cursor[0], 0),
        "contract_addr": {"plasma_framework": to_hex(state.params.verifying_contract) if state.params else ""},
        "eth_syncing": False, "byzantine_events": [byzantine(state, r) for r in svc.reports],
        "in_flight_txs": [], "in_flight_exits": exits, "services_synced_heights": [],
    })


def byzantine(state: State, report) -> dict[str, Any]:
    """A watcher report as elixir-omg's byzantine event: its details fields where the ledger
    knows them (an exit's output, an in-flight exit's bytes, a block's number), and the
    watcher's own sentence as `detail`."""
    details: dict[str, Any] = {"detail": report.detail}
    record = state.exits.get(report.exit_id) if report.exit_id is not None else None
    if isinstance(record, StandardExit):
        details.update(utxo_pos=record.utxo_pos, owner=to_hex(record.output.owner),
                       currency=to_hex(record.output.token), amount=record.output.amount)
    elif isinstance(record, InFlightExit):
        details["txbytes"] = to_hex(record.tx)
    if report.blknum is not None:
        details["blknum"] = report.blknum
        if report.condition == "invalid_block":
            details["error_type"] = "incorrect_hash"
    return {"event": report.condition, "details": details}


@router.post("/account.get_balance", tags=["Account"], **ok(list[m.Balance]))
def get_balance(request: Request, body: m.AddressPaged) -> dict:
    totals: dict[bytes, int] = {}
    for output in _owned(service(request).view(), body.address).values():
        totals[output.token] = totals.get(output.token, 0) + output.amount
    return envelope([{"currency": to_hex(t), "amount": a} for t, a in sorted(totals.items())])


def _owned(view: View, owner: bytes) -> dict[int, Output]:
    return {pos: o for pos, o in view.state.utxos.items() if o.owner == owner}


@router.post("/account.get_utxos", tags=["Account"], **ok_page(list[m.Utxo]))
def get_utxos(request: Request, body: m.AddressPaged) -> dict:
    view = service(request).view()
    owned = sorted(_owned(view, body.address).items())
    return paged([utxo(view, pos, o) for pos, o in page(owned, body.page, body.limit)], body)


@router.post("/account.get_exitable_utxos", tags=["Account"], **ok(list[m.ExitableUtxo]))
def get_exitable_utxos(request: Request, body: m.AddressOnly) -> dict:
    """Unspent outputs in sealed or deposit blocks: what a standard exit can prove."""
    view = service(request).view()
    keys = ("blknum", "txindex", "otype", "oindex", "utxo_pos", "owner", "currency", "amount")
    return envelope([{k: v for k, v in utxo(view, pos, o).items() if k in keys}
                     for pos, o in sorted(_owned(view, body.address).items()) if pos // BLOCK_OFFSET in view.blocks])


@router.post("/account.get_transactions", tags=["Account"], **ok_page(list[m.Transaction]))
@router.post("/transaction.all", tags=["Transaction"], **ok_page(list[m.Transaction]))
def transaction_all(request: Request, body: m.TxFilter) -> dict:
    view = service(request).view()
    hashes = reversed(view.by_address.get(body.address, ())) if body.address is not None else newest_first(view)
    records = (view.txs[h] for h in hashes)
    return paged([transaction(view, r) for r in page(_filtered(view, records, body), body.page, body.limit)], body)


def _filtered(view: View, records, body: m.TxFilter):
    for record in records:
        if record.blknum in view.blocks and view.blocks[record.blknum].is_deposit:
            continue  # deposits are listed by deposit.all
        tx = decode_transaction(record.leaf)
        if body.blknum is not None and record.blknum != body.blknum:
            continue
        if body.metadata is not None and tx.metadata != body.metadata:
            continue
        if body.txtypes is not None and tx.tx_type not in body.txtypes:
            continue
        yield record


@router.post("/transaction.get", tags=["Transaction"], **ok(m.Transaction))
def transaction_get(request: Request, body: m.TxGet) -> dict:
    view = service(request).view()
    record = view.txs.get(body.id)
    if record is None:
        raise ApiError("get_transaction", "transaction_not_found")
    return envelope(transaction(view, record))


@router.post("/transaction.create", tags=["Transaction"], **ok(m.Created))
def transaction_create(request: Request, body: m.Create) -> dict:
    return envelope(create(service(request).view(), body))


@router.post("/transaction.submit", tags=["Transaction"], **ok(m.Submitted))
async def transaction_submit(request: Request, body: m.Submit) -> dict:
    return await _submit(service(request), "submit", body.transaction)


async def _submit(svc: Service, action: str, signed: bytes) -> dict:
    """A payment (a cancel of an order is one) or an ORDER transaction (tx type 4), by its type."""
    try:
        tx = decode_transaction(signed)
    except DecodeError:  # the ledger refuses it with the decoder's code
        tx = None
    placed = await svc.submit(action, OrderPlaced(signed) if isinstance(tx, OrderTx) else Payment(signed))
    return envelope({"blknum": placed.blknum, "txindex": placed.txindex, "txhash": to_hex(keccak256(unsigned_bytes(signed)))})


@router.post("/transaction.submit_typed", tags=["Transaction"], **ok(m.Submitted))
async def transaction_submit_typed(request: Request, body: m.SubmitTyped) -> dict:
    svc = service(request)
    params = svc.node.state.params
    domain = eip712.domain_separator(body.domain.verifyingContract)
    if params is None or body.domain.salt != eip712.DOMAIN_SALT or domain != params.domain_separator \
            or body.domain.name not in (None, eip712.DOMAIN_NAME) or body.domain.version not in (None, eip712.DOMAIN_VERSION):
        raise bad_request("domain", ":domain_separator_mismatch")
    msg = body.message
    inputs = [encode_utxo_pos(i.blknum, i.txindex, i.oindex) if (i.blknum, i.txindex, i.oindex) != (0, 0, 0) else 0
              for i in (msg.input0, msg.input1, msg.input2, msg.input3)]
    outputs = [Output(OUTPUT_TYPE_PAYMENT, o.owner, o.currency, o.amount)
               for o in (msg.output0, msg.output1, msg.output2, msg.output3) if o.amount]
    tx = PaymentTx(inputs=[pos for pos in inputs if pos], outputs=outputs, metadata=msg.metadata)
    return await _submit(svc, "submit_typed", encode(tx.with_signatures(tuple(body.signatures))))


@router.post("/block.all", tags=["Block"], **ok_page(list[m.Block]))
def block_all(request: Request, body: m.Paged | None = None) -> dict:
    body = body or m.Paged()
    view = service(request).view()
    return paged([block(view, n) for n in page(reversed(view.child_blocks), body.page, body.limit)], body)


@router.post("/block.get", tags=["Block"], **ok(m.Block))
def block_get(request: Request, body: m.BlockGet) -> dict:
    found = block(service(request).view(), body.blknum)
    if found is None:
        raise ApiError("get_block", "block_not_found")
    return envelope(found)


@router.post("/fees.all", tags=["Fees"], **ok(dict[str, list[m.FeeItem]]))
def fees_all(request: Request, body: m.FeesFilter | None = None) -> dict:
    body = body or m.FeesFilter()
    params = service(request).view().state.params
    fees: dict[str, list] = {}
    for (tx_type, token), amount in sorted((params.fee_schedule.items() if params else ())):
        if (body.tx_types is None or tx_type in body.tx_types) and (body.currencies is None or token in body.currencies):
            fees.setdefault(str(tx_type), []).append({
                "currency": to_hex(token), "amount": amount, "subunit_to_unit": 10**18, "pegged_currency": None,
                "pegged_amount": None, "pegged_subunit_to_unit": None, "updated_at": None})
    return envelope(fees)


@router.post("/deposit.all", tags=["Deposit"], **ok_page(list[m.Deposit]))
def deposit_all(request: Request, body: m.DepositFilter | None = None) -> dict:
    body = body or m.DepositFilter()
    view = service(request).view()

    def deposits():
        for blknum in reversed(view.deposits):
            output = decode(view.txs[view.blocks[blknum].txhashes[0]].leaf).outputs[0]
            if body.address is None or output.owner == body.address:
                yield {"event_type": "deposit", "root_chain_txhash": None, "log_index": None, "eth_height": None,
                       "inserted_at": None, "updated_at": None,
                       "txoutputs": [utxo(view, encode_utxo_pos(blknum, 0, 0), output)]}
    return paged(page(deposits(), body.page, body.limit), body)


# --- exits ------------------------------------------------------------------------------


@router.post("/utxo.get_exit_data", tags=["UTXO"], **ok(m.ExitData))
def utxo_exit_data(request: Request, body: m.UtxoPos) -> dict:
    view = service(request).view()
    record = _creating(view, body.utxo_pos)
    proven = inclusion(view, record) if record and body.utxo_pos in view.state.utxos else None
    if proven is None:
        raise ApiError("get_utxo_exit", "utxo_not_found")
    return envelope({"utxo_pos": body.utxo_pos, "txbytes": to_hex(record.leaf), "proof": to_hex(proven[1])})


def _creating(view: View, pos: int) -> TxRecord | None:
    return view.tx_at(pos // BLOCK_OFFSET, pos % BLOCK_OFFSET // TX_OFFSET) if view.output_at(pos) else None


@router.post("/utxo.get_challenge_data", tags=["UTXO"], **ok(m.ChallengeData))
def utxo_challenge_data(request: Request, body: m.UtxoPos) -> dict:
    view = service(request).view()
    exit_id = next((i for i, e in view.state.exits.items() if isinstance(e, StandardExit)
                    and e.utxo_pos == body.utxo_pos and e.status == "pending"), None)
    if exit_id is None:
        raise ApiError("get_utxo_challenge", "exit_not_found")
    spend = _spend(view, body.utxo_pos)
    if spend is None:
        raise ApiError("get_utxo_challenge", "utxo_not_spent")
    return envelope({"exit_id": exit_id, "input_index": spend.input_index, "sig": to_hex(spend.signature),
                     "txbytes": to_hex(spend.tx), "exiting_tx": to_hex(_creating(view, body.utxo_pos).leaf)})


def _spend(view: View, pos: int) -> Spend | None:
    found = view.spends.get(pos)
    return Spend.of(view.txs[found[0]].signed, pos) if found else None


def _in_flight(action: str, raw: bytes) -> tuple[PaymentTx, bytes]:
    """The transaction (as given, signed or not) and its unsigned bytes."""
    try:
        tx = decode(raw)
    except DecodeError as exc:
        raise ApiError(action, exc.reason, exc.detail or None) from None
    return tx, encode_unsigned(tx)


@router.post("/in_flight_exit.get_data", tags=["InFlightExit"], **ok(m.IfeData))
def ife_get_data(request: Request, body: m.TxBytes) -> dict:
    view = service(request).view()
    tx, unsigned = _in_flight("get_in_flight_exit", body.txbytes)
    input_txs, proofs = [], []
    for pos in tx.inputs:
        record = _creating(view, pos)
        proven = inclusion(view, record) if record else None
        if proven is None:
            raise ApiError("get_in_flight_exit", "tx_for_input_not_found", f"no sealed transaction created {pos}")
        input_txs.append(to_hex(record.leaf))
        proofs.append(to_hex(proven[1]))
    return envelope({"in_flight_tx": to_hex(unsigned), "input_txs": input_txs, "input_txs_inclusion_proofs": proofs,
                     "in_flight_tx_sigs": [to_hex(s) for s in tx.signatures], "input_utxos_pos": list(tx.inputs)})


@router.post("/in_flight_exit.get_competitor", tags=["InFlightExit"], **ok(m.Competitor))
def ife_get_competitor(request: Request, body: m.TxBytes) -> dict:
    view = service(request).view()
    tx, unsigned = _in_flight("get_competitor", body.txbytes)
    for index, pos in enumerate(tx.inputs):
        spend = _spend(view, pos)
        if spend is None or spend.tx == unsigned or (input_record := _creating(view, pos)) is None:
            continue
        competitor = view.txs[keccak256(spend.tx)]
        proven = inclusion(view, competitor) or (0, b"")
        return envelope({
            "in_flight_txbytes": to_hex(unsigned), "in_flight_input_index": index,
            "competing_txbytes": to_hex(spend.tx), "competing_input_index": spend.input_index,
            "competing_sig": to_hex(spend.signature), "competing_tx_pos": proven[0], "competing_proof": to_hex(proven[1]),
            "input_tx": to_hex(input_record.leaf), "input_utxo_pos": pos})
    raise ApiError("get_competitor", "competitor_not_found")


@router.post("/in_flight_exit.prove_canonical", tags=["InFlightExit"], **ok(m.Canonical))
def ife_prove_canonical(request: Request, body: m.TxBytes) -> dict:
    view = service(request).view()
    _, unsigned = _in_flight("prove_canonical", body.txbytes)
    record = view.txs.get(keccak256(unsigned))
    proven = inclusion(view, record) if record else None
    if proven is None:
        raise ApiError("prove_canonical", "no_viable_canonical_proof_found")
    return envelope({"in_flight_txbytes": to_hex(unsigned), "in_flight_tx_pos": proven[0],
                     "in_flight_proof": to_hex(proven[1])})


def _known_ife(action: str, view: View, unsigned: bytes) -> None:
    txhash = keccak256(unsigned)
    if not any(isinstance(e, InFlightExit) and not e.ended and e.tx_hash == txhash for e in view.state.exits.values()):
        raise ApiError(action, "ife_not_known_for_tx")


@router.post("/in_flight_exit.get_input_challenge_data", tags=["InFlightExit"], **ok(m.InputChallenge))
def ife_input_challenge(request: Request, body: m.TxBytesInput) -> dict:
    action = "get_input_challenge_data"
    view = service(request).view()
    tx, unsigned = _in_flight(action, body.txbytes)
    _known_ife(action, view, unsigned)
    if body.input_index >= len(tx.inputs):
        raise ApiError(action, "piggybacked_index_out_of_range")
    pos = tx.inputs[body.input_index]
    spend = _spend(view, pos)
    if spend is None or spend.tx == unsigned:
        raise ApiError(action, "no_double_spend_on_particular_piggyback")
    return envelope({
        "in_flight_txbytes": to_hex(unsigned), "in_flight_input_index": body.input_index,
        "spending_txbytes": to_hex(spend.tx), "spending_input_index": spend.input_index,
        "spending_sig": to_hex(spend.signature), "input_tx": to_hex(_creating(view, pos).leaf), "input_utxo_pos": pos})


@router.post("/in_flight_exit.get_output_challenge_data", tags=["InFlightExit"], **ok(m.OutputChallenge))
def ife_output_challenge(request: Request, body: m.TxBytesOutput) -> dict:
    action = "get_output_challenge_data"
    view = service(request).view()
    tx, unsigned = _in_flight(action, body.txbytes)
    _known_ife(action, view, unsigned)
    record = view.txs.get(keccak256(unsigned))
    proven = inclusion(view, record) if record else None
    if body.output_index >= len(tx.outputs) or proven is None:
        raise ApiError(action, "piggybacked_index_out_of_range" if proven else "no_viable_canonical_proof_found")
    pos = proven[0] + body.output_index
    spend = _spend(view, pos)
    if spend is None:
        raise ApiError(action, "no_double_spend_on_particular_piggyback")
    return envelope({
        "in_flight_txbytes": to_hex(unsigned), "in_flight_output_pos": pos, "in_flight_proof": to_hex(proven[1]),
        "spending_txbytes": to_hex(spend.tx), "spending_input_index": spend.input_index,
        "spending_sig": to_hex(spend.signature)})
