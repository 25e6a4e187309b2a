"""The read routes: OMG's shapes over a live server and a real store."""
from __future__ import annotations

from proofs import merkle
from proofs.payment import encode_utxo_pos
from tests.conftest import ADDRS, ETH, TOKEN, VC, out, signed

A0, A1 = "0x" + ADDRS[0].hex(), "0x" + ADDRS[1].hex()


def test_envelope_and_status(api):
    answer = api.post("status.get").json()
    assert set(answer) == {"version", "success", "data", "service_name"}
    data = answer["data"]
    assert data["contract_addr"] == {"plasma_framework": "0x" + VC.hex()}
    assert data["last_validated_child_block_number"] == 0 and data["byzantine_events"] == []


def test_balance_and_utxos(api):
    assert api.ok("account.get_balance", {"address": A1}) == [{"currency": "0x" + ETH.hex(), "amount": 100},
                                                             {"currency": "0x" + TOKEN.hex(), "amount": 50}]
    page = api.post("account.get_utxos", {"address": A0, "limit": 3, "page": 2}).json()
    assert page["data_paging"] == {"page": 2, "limit": 3}
    assert [u["utxo_pos"] for u in page["data"]] == [encode_utxo_pos(n, 0, 0) for n in (5, 6, 7)]
    first = api.ok("account.get_utxos", {"address": A0})[0]
    assert first == {"blknum": 1, "txindex": 0, "otype": 1, "oindex": 0, "utxo_pos": encode_utxo_pos(1, 0, 0),
                     "owner": A0, "currency": "0x" + ETH.hex(), "amount": 100, "creating_txhash": first["creating_txhash"],
                     "spending_txhash": None, "inserted_at": None, "updated_at": None}


def test_submit_then_read_it_back(api):
    raw = signed([encode_utxo_pos(1, 0, 0)], [out(1, 60), out(0, 39)], [0])
    submitted = api.ok("transaction.submit", {"transaction": "0x" + raw.hex()})
    assert (submitted["blknum"], submitted["txindex"]) == (1000, 0)
    got = api.ok("transaction.get", {"id": submitted["txhash"]})
    assert got["txbytes"] == "0x" + raw.hex() and got["block"] is None
    assert [i["utxo_pos"] for i in got["inputs"]] == [encode_utxo_pos(1, 0, 0)]
    assert got["inputs"][0]["spending_txhash"] == submitted["txhash"]
    assert [o["amount"] for o in got["outputs"]] == [60, 39]
    listed = api.ok("account.get_transactions", {"address": A1, "limit": 10})
    assert [t["txhash"] for t in listed] == [submitted["txhash"]]
    assert api.ok("transaction.all", {"limit": 10})[0]["txhash"] == submitted["txhash"]
    api.service.operator_step(api.node.seal)
    block = api.ok("block.get", {"blknum": 1000})
    assert block["tx_count"] == 1 and api.ok("block.all", {})[0]["blknum"] == 1000
    assert api.ok("transaction.get", {"id": submitted["txhash"]})["block"]["blknum"] == 1000


def test_exit_data_proves_inclusion(api):
    raw = signed([encode_utxo_pos(1, 0, 0)], [out(1, 99)], [0])
    api.ok("transaction.submit", {"transaction": "0x" + raw.hex()})
    api.service.operator_step(api.node.seal)
    pos = encode_utxo_pos(1000, 0, 0)
    data = api.ok("utxo.get_exit_data", {"utxo_pos": pos})
    root = api.node.state.blocks[1000].root
    assert merkle.verify(bytes.fromhex(data["txbytes"][2:]), 0, root, bytes.fromhex(data["proof"][2:]))
    assert api.error("utxo.get_exit_data", {"utxo_pos": encode_utxo_pos(1, 0, 0)})["code"] == "exit:invalid"


def test_fees_and_deposits(api):
    fees = api.ok("fees.all")
    assert fees == {"1": [{"currency": "0x" + ETH.hex(), "amount": 1, "subunit_to_unit": 10**18,
                           "pegged_currency": None, "pegged_amount": None, "pegged_subunit_to_unit": None,
                           "updated_at": None}]}
    assert api.ok("fees.all", {"currencies": ["0x" + TOKEN.hex()]}) == {}
    deposits = api.ok("deposit.all", {"address": A1})
    assert len(deposits) == 11 and deposits[-1]["txoutputs"][0]["currency"] == "0x" + TOKEN.hex()


def test_exitable_utxos_are_those_in_sealed_or_deposit_blocks(api):
    raw = signed([encode_utxo_pos(1, 0, 0)], [out(1, 99)], [0])
    api.ok("transaction.submit", {"transaction": "0x" + raw.hex()})
    exitable = lambda: {u["utxo_pos"] for u in api.ok("account.get_exitable_utxos", {"address": A1})}  # noqa: E731
    assert encode_utxo_pos(1000, 0, 0) not in exitable()  # still in the open block: no inclusion proof yet
    api.service.operator_step(api.node.seal)
    assert encode_utxo_pos(1000, 0, 0) in exitable() and encode_utxo_pos(2, 0, 0) in exitable()
    assert set(api.ok("account.get_exitable_utxos", {"address": A1})[0]) == \
        {"blknum", "txindex", "otype", "oindex", "utxo_pos", "owner", "currency", "amount"}


def test_a_deposit_block_has_its_root(api):
    assert api.ok("block.get", {"blknum": 2})["hash"] == "0x" + api.node.state.blocks[2].root.hex()


def test_not_found_codes(api):
    assert api.error("block.get", {"blknum": 5000})["code"] == "get_block:block_not_found"
    assert api.error("transaction.get", {"id": "0x" + "00" * 32})["code"] == "transaction:not_found"
    assert api.error("utxo.get_challenge_data", {"utxo_pos": 1})["code"] == "challenge:exit_not_found"
