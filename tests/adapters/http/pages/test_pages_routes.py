"""The pages' server side, without a browser: the pages and only the shipped assets, the
brand (defaults, a provider's file, a malformed file refused), and `exit.all`."""
from __future__ import annotations

import json

from ledger.events import ExitStarted
from proofs.payment import deposit_tx, encode, encode_utxo_pos
from tests.conftest import ADDRS, ETH, TOKEN


def test_pages_and_assets_are_served_with_a_strict_policy(api):
    for path, kind in (("/wallet", "text/html"), ("/explorer", "text/html"), ("/web/omg.js", "text/javascript"),
                       ("/web/vendor/noble-secp256k1/index.js", "text/javascript"), ("/web/style.css", "text/css")):
        answer = api.client.get(api.url + path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(kind), path
        assert "script-src 'self'" in answer.headers["content-security-policy"]


def test_only_shipped_files_are_served(api):
    for path in ("/web/routes.py", "/web/../routes.py", "/web/%2e%2e/routes.py", "/web/", "/web/vendor"):
        answer = api.client.get(api.url + path)
        assert answer.status_code == 404 and answer.json()["data"]["code"] == "operation:not_found", path


def test_the_page_learns_whether_the_root_chain_is_embedded(api):
    """Not here (no chain given to the service); the exit test's node says it is."""
    assert api.client.get(api.url + "/web/chain.json").json() == {"embedded": False}


def test_the_default_brand(api):
    brand = api.client.get(api.url + "/web/brand.json").json()
    assert brand["name"] == "OMG Wallet" and brand["tokens"][0]["symbol"] == "ETH"


def test_a_providers_brand_over_the_defaults(api, tmp_path):
    (tmp_path / "brand.json").write_text(json.dumps({
        "name": "Acme Pay", "colours": {"primary": "#aa0000"},
        "tokens": [{"symbol": "ETH", "address": "0x" + ETH.hex(), "decimals": 18},
                   {"symbol": "OMG", "address": "0xd26114cd6ee289accf82350c8d8487fedb8a0c07", "decimals": 18}]}))
    brand = api.client.get(api.url + "/web/brand.json").json()
    assert brand["name"] == "Acme Pay" and [t["symbol"] for t in brand["tokens"]] == ["ETH", "OMG"]
    assert brand["colours"]["primary"] == "#aa0000" and brand["colours"]["text"] == "#10131a"  # the rest: defaults


def test_a_malformed_brand_is_refused_with_its_reason(api, tmp_path):
    for given, reason in (("{", "not JSON"), ("[]", "not a JSON object"), ('{"colours": {"primary": "red"}}', "colours.primary"),
                          ('{"logo": "javascript:alert(1)"}', "logo"), ('{"tokens": []}', "tokens"), ('{"nmae": "x"}', "nmae")):
        (tmp_path / "brand.json").write_text(given)
        answer = api.client.get(api.url + "/web/brand.json")
        assert answer.status_code == 500 and answer.json()["data"]["code"] == "brand:invalid_brand", given
        assert reason in answer.json()["data"]["description"], given


def test_exit_all_lists_exits_newest_first(api):
    assert api.ok("exit.all") == []
    exits = ((3, encode_utxo_pos(1, 0, 0), deposit_tx(ADDRS[0], ETH, 100)),
             (9, encode_utxo_pos(2, 0, 0), deposit_tx(ADDRS[1], TOKEN, 50)))
    for exit_id, pos, tx in exits:
        [outcome] = api.service.operator_step(lambda: api.node.submit([ExitStarted(exit_id, pos, encode(tx))]))
        assert outcome.accepted, outcome
    listed = api.ok("exit.all")
    assert [(x["kind"], x["exit_id"], x["utxo_pos"], x["owner"], x["currency"], x["amount"], x["status"]) for x in listed] == [
        ("standard", 9, exits[1][1], "0x" + ADDRS[1].hex(), "0x" + TOKEN.hex(), 50, "pending"),
        ("standard", 3, exits[0][1], "0x" + ADDRS[0].hex(), "0x" + ETH.hex(), 100, "pending")]


def test_omg_node_brand_installs_a_checked_brand_in_the_home(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import adapters.node
    from adapters.cli import main
    from adapters.http.pages.brand import load

    monkeypatch.setattr(adapters.node, "run_node", lambda *args: 0)  # the operator loop is not what is tested here
    home, given = tmp_path / "home", tmp_path / "acme.json"
    given.write_text('{"name": "Acme Pay", "colours": {"primary": "#0b7a75"}}')
    assert CliRunner().invoke(main, ["node", "--home", str(home), "--brand", str(given)]).exit_code == 0
    assert load(home)["name"] == "Acme Pay" and load(home)["colours"]["primary"] == "#0b7a75"
    given.write_text('{"name": ""}')
    refused = CliRunner().invoke(main, ["node", "--home", str(home), "--brand", str(given)])
    assert refused.exit_code == 2 and "name" in refused.output
    assert load(home)["name"] == "Acme Pay"  # the installed brand is left as it was
