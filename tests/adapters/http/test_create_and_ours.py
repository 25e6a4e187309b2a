"""transaction.create -> sign as omg-js does (the sign hash) -> transaction.submit_typed; and
the ledger's own routes."""
from __future__ import annotations

from proofs import eip712
from ledger.replay import audit
from proofs.payment import encode_utxo_pos
from tests.conftest import ADDRS, ETH, KEYS, TOKEN, out, signed

A0, A2 = "0x" + ADDRS[0].hex(), "0x" + ADDRS[2].hex()
ETH_HEX = "0x" + ETH.hex()


def test_create_sign_submit_typed(api):
    created = api.ok("transaction.create", {"owner": A0, "payments": [{"amount": 30, "currency": ETH_HEX, "owner": A2}],
                                            "fee": {"currency": ETH_HEX}})
    assert created["result"] == "complete"
    [tx] = created["transactions"]
    assert tx["fee"] == {"amount": 1, "currency": ETH_HEX}
    assert [(o["owner"], o["amount"]) for o in tx["outputs"]] == [(A2, 30), (A0, 69)]  # the 100-ETH deposit, change
    typed = tx["typed_data"]
    assert typed["domain"]["verifyingContract"] == "0x" + api.node.state.params.verifying_contract.hex()
    signature = eip712.sign(bytes.fromhex(tx["sign_hash"][2:]), KEYS[0])
    submitted = api.ok("transaction.submit_typed", {**typed, "signatures": ["0x" + signature.hex()]})
    assert submitted["txhash"] == api.ok("transaction.get", {"id": submitted["txhash"]})["txhash"]
    assert {"currency": ETH_HEX, "amount": 130} in api.ok("account.get_balance", {"address": A2})


def test_create_refusals(api):
    pay = {"owner": A0, "fee": {"currency": ETH_HEX}}
    too_much = api.error("transaction.create", {**pay, "payments": [{"amount": 10**9, "currency": ETH_HEX, "owner": A2}]})
    assert too_much["code"] == "transaction.create:insufficient_funds"
    to_self = api.error("transaction.create", {**pay, "payments": [{"amount": 1, "currency": ETH_HEX, "owner": A0}]})
    assert to_self["code"] == "transaction.create:self_transaction_not_supported"
    no_fee = api.error("transaction.create", {"owner": A0, "fee": {"currency": "0x" + TOKEN.hex()},
                                              "payments": [{"amount": 1, "currency": ETH_HEX, "owner": A2}]})
    assert no_fee["code"] == "create:fee_currency_not_accepted"


def test_submit_typed_refuses_another_domain(api):
    created = api.ok("transaction.create", {"owner": A0, "payments": [{"amount": 30, "currency": ETH_HEX, "owner": A2}],
                                            "fee": {"currency": ETH_HEX}})
    typed = created["transactions"][0]["typed_data"]
    typed["domain"]["verifyingContract"] = A2
    data = api.error("transaction.submit_typed", {**typed, "signatures": ["0x" + "11" * 65]})
    assert data["messages"]["validation_error"] == {"parameter": "domain", "validator": ":domain_separator_mismatch"}
    typed["domain"]["verifyingContract"] = "0x" + api.node.state.params.verifying_contract.hex()
    unsigned = api.error("transaction.submit_typed", {**typed, "signatures": []})
    assert unsigned["code"] == "submit_typed:missing_signature"


def test_our_routes_without_staking(api):
    assert api.ok("validator.all") == []
    assert api.error("validator.get", {"address": A0})["code"] == "get_validator:validator_not_found"
    epoch = api.ok("fee_epoch.get")
    assert epoch["fee_schedule"] == [{"tx_type": 1, "currency": ETH_HEX, "amount": 1}] and epoch["votes"] == []
    vote = {"validator": A0, "schedule": [{"tx_type": 1, "currency": ETH_HEX, "amount": 2}], "signature": "0x" + "11" * 65}
    assert api.error("fee_vote.submit", vote)["code"] == "fee_vote:staking_not_open"
    status = api.ok("invariant.status")
    assert status["ok"] is True and status["events"] == api.node.state.event_count and status["checked"]


def test_commits_and_audit(api):
    api.ok("transaction.submit", {"transaction": "0x" + signed([encode_utxo_pos(1, 0, 0)], [out(2, 99)], [0]).hex()})
    api.service.operator_step(api.node.seal)
    commit = api.ok("commit.get", {"blknum": 1000})
    assert commit["root"] == "0x" + api.node.state.blocks[1000].root.hex() and commit["signers_bitmap"] is None
    assert [c["blknum"] for c in api.ok("commit.all")] == [1000]
    verdict = api.ok("audit.get")
    assert verdict["ok"] is True and verdict["events"] == api.node.store.count and verdict["failure"] is None


def test_the_audit_runs_again_only_when_the_log_grew(api, monkeypatch):
    import adapters.http.routes_ours as routes
    runs = []
    monkeypatch.setattr(routes, "audit", lambda *args: runs.append(1) or audit(*args))
    first, again = api.ok("audit.get"), api.ok("audit.get")
    assert first == again and len(runs) == 1
    api.ok("transaction.submit", {"transaction": "0x" + signed([encode_utxo_pos(1, 0, 0)], [out(2, 99)], [0]).hex()})
    assert api.ok("audit.get")["events"] == first["events"] + 1 and len(runs) == 2
