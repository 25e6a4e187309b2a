"""What a client can get wrong, answered with OMG's error objects (never a traceback)."""
from __future__ import annotations

from adapters.http.app import MAX_BODY
from tests.conftest import ADDRS

A0 = "0x" + ADDRS[0].hex()


def validation(api, route: str, body: object) -> dict:
    data = api.error(route, body)
    assert data["code"] == "operation:bad_request"
    return data["messages"]["validation_error"]


def test_bad_hex_wrong_length_unknown_field_missing(api):
    assert validation(api, "account.get_balance", {"address": "0xzz"}) == {"parameter": "address", "validator": ":hex"}
    assert validation(api, "account.get_balance", {"address": "0x1234"}) == \
        {"parameter": "address", "validator": "{:length, 20}"}
    assert validation(api, "account.get_balance", {"address": A0[2:]})["validator"] == ":hex"  # no 0x
    assert validation(api, "account.get_balance", {"address": A0, "colour": 1}) == \
        {"parameter": "colour", "validator": ":unknown_field"}
    assert validation(api, "account.get_balance", {}) == {"parameter": "address", "validator": ":missing"}
    assert validation(api, "transaction.create", {"owner": A0, "fee": {"currency": A0},
                                                  "payments": [{"amount": 1, "currency": "0x12", "owner": A0}]}) == \
        {"parameter": "payments.0.currency", "validator": "{:length, 20}"}


def test_omg_js_adds_jsonrpc_and_id(api):
    assert api.ok("account.get_balance", {"address": A0, "jsonrpc": "2.0", "id": 0})


def test_transport_errors(api):
    big = api.post("account.get_balance", {"address": A0, "pad": "x" * MAX_BODY})
    assert big.status_code == 413 and big.json()["data"]["code"] == "operation:bad_request"
    broken = api.client.post(f"{api.url}/status.get", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["data"]["description"] == "Server has failed to parse the request."
    form = api.client.post(f"{api.url}/status.get", content=b"a=1", headers={"content-type": "text/plain"})
    assert form.status_code == 415
    missing = api.post("account.nothing", {})
    assert missing.status_code == 404 and missing.json()["data"]["code"] == "operation:not_found"
    get = api.client.get(f"{api.url}/status.get")
    assert get.status_code == 405 and get.headers["allow"] == "POST"


def test_a_rejected_transaction_names_the_ledger_code(api):
    assert api.error("transaction.submit", {"transaction": "0xc0"})["code"] == "submit:malformed_transaction"
    from proofs.payment import encode_utxo_pos
    from tests.conftest import out, signed
    stranger = signed([encode_utxo_pos(1, 0, 0)], [out(1, 99)], [2])  # key 2 signs key 0's output
    assert api.error("transaction.submit", {"transaction": "0x" + stranger.hex()})["code"] == "submit:unauthorized_spend"
    assert api.node.store.count == 43  # genesis and 42 deposits: nothing of either stored
