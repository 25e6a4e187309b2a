"""Exit data routes: a standard exit's challenge, and the in-flight exit's data, competitor,
canonicity proof and piggyback challenges, each checked against the bytes the ledger holds."""
from __future__ import annotations

import pytest

from ledger.events import ExitStarted, InFlightExitStarted
from proofs import merkle
from proofs.fraud import DoubleSpendProof, InvalidExitProof, Spend
from proofs.payment import deposit_tx, encode, encode_utxo_pos, unsigned_bytes
from tests.conftest import ADDRS, ETH, VC, out, signed

DEPOSIT = encode_utxo_pos(1, 0, 0)
INCLUDED = encode_utxo_pos(1000, 0, 0)


def hx(raw: bytes) -> str:
    return "0x" + raw.hex()


def raw(text: str) -> bytes:
    return bytes.fromhex(text[2:])


@pytest.fixture
def chain(api):
    """tx_a (key 0's deposit to key 1) sealed in block 1000; tx_b, a competitor never included;
    tx_c spends tx_a's output 0 in the open block."""
    tx_a = signed([DEPOSIT], [out(1, 99)], [0])
    tx_b = signed([DEPOSIT], [out(2, 99)], [0])
    api.ok("transaction.submit", {"transaction": hx(tx_a)})
    api.service.operator_step(api.node.seal)
    tx_c = signed([INCLUDED], [out(3, 98)], [1])
    api.ok("transaction.submit", {"transaction": hx(tx_c)})
    return tx_a, tx_b, tx_c


def start(api, event) -> None:
    [outcome] = api.service.operator_step(lambda: api.node.submit([event]))
    assert outcome.accepted, outcome


def test_challenge_data_is_a_valid_fraud_proof(api, chain):
    tx_a = chain[0]
    deposit = encode(deposit_tx(ADDRS[0], ETH, 100))
    start(api, ExitStarted(7, DEPOSIT, deposit))
    data = api.ok("utxo.get_challenge_data", {"utxo_pos": DEPOSIT})
    assert data["exit_id"] == 7 and raw(data["exiting_tx"]) == deposit and raw(data["txbytes"]) == unsigned_bytes(tx_a)
    InvalidExitProof(7, DEPOSIT, deposit, Spend(raw(data["txbytes"]), data["input_index"], raw(data["sig"]))).check(VC)


def test_status_reports_byzantine_events_with_omg_details(api, chain):
    from adapters.ethereum.watcher import Report
    deposit = encode(deposit_tx(ADDRS[0], ETH, 100))
    start(api, ExitStarted(7, DEPOSIT, deposit))
    api.service.reports = [Report("invalid_exit", "exit 7 of spent output", 7), Report("block_withholding", "gone", blknum=2000)]
    events = api.ok("status.get")["byzantine_events"]
    assert events[0] == {"event": "invalid_exit", "details": {"detail": "exit 7 of spent output", "utxo_pos": DEPOSIT,
                                                               "owner": hx(ADDRS[0]), "currency": hx(ETH), "amount": 100}}
    assert events[1] == {"event": "block_withholding", "details": {"detail": "gone", "blknum": 2000}}


def test_challenge_of_an_unspent_output(api, chain):
    unspent = encode_utxo_pos(3, 0, 0)  # key 0's first 10-ETH deposit
    start(api, ExitStarted(8, unspent, encode(deposit_tx(ADDRS[0], ETH, 10))))
    assert api.error("utxo.get_challenge_data", {"utxo_pos": unspent})["code"] == "challenge:utxo_not_spent"


def test_in_flight_data_proves_its_inputs(api, chain):
    tx_b = chain[1]
    data = api.ok("in_flight_exit.get_data", {"txbytes": hx(tx_b)})
    assert raw(data["in_flight_tx"]) == unsigned_bytes(tx_b) and data["input_utxos_pos"] == [DEPOSIT]
    assert raw(data["input_txs"][0]) == encode(deposit_tx(ADDRS[0], ETH, 100))
    root = api.node.state.blocks[1].root
    assert merkle.verify(raw(data["input_txs"][0]), 0, root, raw(data["input_txs_inclusion_proofs"][0]))
    assert len(data["in_flight_tx_sigs"]) == 1


def test_competitor_and_canonical_proof(api, chain):
    tx_a, tx_b, _ = chain
    competitor = api.ok("in_flight_exit.get_competitor", {"txbytes": hx(tx_b)})
    assert competitor["competing_tx_pos"] == INCLUDED and raw(competitor["competing_txbytes"]) == unsigned_bytes(tx_a)
    first = Spend(raw(competitor["in_flight_txbytes"]), competitor["in_flight_input_index"], Spend.of(tx_b, DEPOSIT).signature)
    second = Spend(raw(competitor["competing_txbytes"]), competitor["competing_input_index"], raw(competitor["competing_sig"]))
    DoubleSpendProof(DEPOSIT, raw(competitor["input_tx"]), first, second).check(VC)
    canonical = api.ok("in_flight_exit.prove_canonical", {"txbytes": hx(unsigned_bytes(tx_a))})
    root = api.node.state.blocks[1000].root
    assert canonical["in_flight_tx_pos"] == INCLUDED
    assert merkle.verify(unsigned_bytes(tx_a), 0, root, raw(canonical["in_flight_proof"]))
    assert api.error("in_flight_exit.get_competitor", {"txbytes": hx(tx_a)})["code"] == "get_competitor:competitor_not_found"
    assert api.error("in_flight_exit.prove_canonical", {"txbytes": hx(tx_b)})["code"] == \
        "prove_canonical:no_viable_canonical_proof_found"


def test_piggyback_challenges(api, chain):
    tx_a, tx_b, tx_c = chain
    deposit = encode(deposit_tx(ADDRS[0], ETH, 100))
    body = {"txbytes": hx(unsigned_bytes(tx_b)), "input_index": 0}
    assert api.error("in_flight_exit.get_input_challenge_data", body)["code"] == \
        "get_input_challenge_data:ife_not_known_for_tx"
    start(api, InFlightExitStarted(9, unsigned_bytes(tx_b), (deposit,), (DEPOSIT,)))
    data = api.ok("in_flight_exit.get_input_challenge_data", body)
    assert raw(data["spending_txbytes"]) == unsigned_bytes(tx_a) and data["input_utxo_pos"] == DEPOSIT
    start(api, InFlightExitStarted(10, unsigned_bytes(tx_a), (deposit,), (DEPOSIT,)))
    data = api.ok("in_flight_exit.get_output_challenge_data", {"txbytes": hx(tx_a), "output_index": 0})
    assert data["in_flight_output_pos"] == INCLUDED and raw(data["spending_txbytes"]) == unsigned_bytes(tx_c)
    assert Spend(raw(data["spending_txbytes"]), data["spending_input_index"], raw(data["spending_sig"])).signer(VC) == ADDRS[1]
    listed = api.ok("status.get")["in_flight_exits"]
    assert sorted(e["txbytes"] for e in listed) == sorted(hx(unsigned_bytes(tx)) for tx in (tx_a, tx_b))
