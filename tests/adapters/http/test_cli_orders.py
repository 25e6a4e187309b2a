"""`omg order place|cancel|book`: on a home no node serves (the log directly), and through a
node serving the home (the wallet SDK over its HTTP API), with the same outcomes."""
from __future__ import annotations

import json
import re
from pathlib import Path

from tests.adapters.http.test_cli_writes import omg
from tests.adapters.http.test_dex_routes import dex  # noqa: F401 (fixture)
from tests.conftest import ADDRS, KEYS, TOKEN, VC
from wallet.client import NodeClient
from wallet.keys import Keystore

T = "0x" + TOKEN.hex()


def placed_id(out: str) -> str:
    [found] = re.findall(r"order (0x[0-9a-f]{64})", out)
    return found


def test_orders_on_a_home_no_node_serves(tmp_path):
    home = str(tmp_path / "home")
    code, out = omg("init", "--fee", "eth:1", "--fee", "order:eth:1", "--fee", f"order:{T}:2", "--home", home)
    assert code == 0, out
    for name in ("alice", "bob"):
        assert omg("keys", "new", name, "--home", home)[0] == 0
    assert omg("deposit", "alice", "100", "--home", home)[0] == 0
    assert omg("deposit", "bob", "300", "--token", T, "--home", home)[0] == 0
    code, out = omg("order", "place", "alice", "50", "eth", "100", T, "--home", home)
    assert code == 0 and "accepted order_placed" in out, out
    asked = placed_id(out)
    code, out = omg("order", "place", "bob", "60", T, "20", "eth", "--nonce", "9", "--home", home)
    assert code == 0 and "accepted order_placed" in out, out
    code, out = omg("order", "book", T, "eth", "--home", home)
    assert code == 0 and "ask 2/1 (2): 50 in 1 order(s)" in out and "bid 3/1 (3): 60 in 1 order(s)" in out, out
    code, out = omg("seal", "--home", home)
    assert code == 0 and "accepted batch_settled" in out and "accepted block_sealed" in out, out
    code, out = omg("order", "book", "--home", home)
    assert "ask 2/1 (2): 20 in 1 order(s)" in out and "bid" not in out, out
    code, out = omg("order", "cancel", "bob", asked, "--home", home)
    assert code == 1 and "not_the_owner" in out, out
    code, out = omg("order", "cancel", "alice", asked, "--home", home)
    assert code == 0 and "accepted payment" in out, out
    assert omg("order", "book", "--home", home)[1].strip() == "no open orders"
    code, out = omg("balance", "alice", "--home", home)
    assert code == 0 and f": 68 eth, 60 {T}" in out, out  # 100 - 50 - 1 (order fee) + 20 - 1 (cancel fee)
    code, out = omg("order", "place", "alice", "500", "eth", "1", T, "--home", home)
    assert code == 1 and "insufficient_funds" in out, out
    code, out = omg("order", "book", T, "--home", home)
    assert code == 2 and "two tokens" in out, out
    code, out = omg("order", "cancel", "alice", "0x1234", "--home", home)
    assert code == 2 and "32-byte hash" in out, out


def test_orders_through_the_node_serving_the_home(dex, tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    keys = Keystore(home / "keys.json")
    keys.new("alice", KEYS[0])
    keys.new("bob", KEYS[1])
    (home / "rootchain.json").write_text(json.dumps({"framework": "0x" + VC.hex()}))
    (home / "node.url").write_text(dex.url + "\n")
    code, out = omg("order", "place", "alice", "50", "eth", "100", T, "--expiry", "90000", "--home", str(home))
    assert code == 0 and f"through {dex.url}" in out, out
    asked = placed_id(out)
    [mine] = dex.ok("order.all", {"address": "0x" + ADDRS[0].hex()})
    assert mine["order_id"] == asked and mine["expiry"] == 90000
    code, out = omg("order", "place", "bob", "60", T, "20", "eth", "--home", str(home))
    assert code == 0, out
    code, out = omg("order", "book", "--home", str(home))
    assert code == 0 and "ask 2/1 (2): 50 in 1 order(s)" in out and "bid 3/1 (3): 60 in 1 order(s)" in out, out
    assert omg("seal", "--home", str(home))[0] == 0
    code, out = omg("order", "cancel", "alice", asked, "--home", str(home))
    assert code == 0 and "accepted cancel" in out and dex.url in out, out
    assert NodeClient(dex.url).balance(ADDRS[0]) == {bytes(20): 100 - 50 - 1 + 20 - 1, TOKEN: 60}
    code, out = omg("order", "cancel", "alice", asked, "--home", str(home))
    assert code == 1 and "order_closed" in out, out
    code, out = omg("order", "place", "alice", "10", "eth", "1", "eth", "--home", str(home))
    assert code == 1 and "same_token_pair" in out, out
