"""Encrypted key files (Web3 Secret Storage v3): round trip, a wrong password, the format's
published test vector, and the same file hardening as the development keystore."""
from __future__ import annotations

import json

import pytest

from proofs.eip712 import address_of
from proofs.keccak import keccak256
from wallet.keys import KeystoreError
from wallet.keystore import EncryptedKeystore

KEY = keccak256(b"v3 keystore test key")
FAST = 2**10  # scrypt's n: the format is the same, only slower to open at the default

# The PBKDF2 test vector of the Web3 Secret Storage definition (password "testpassword").
SPEC_VECTOR = {
    "crypto": {"cipher": "aes-128-ctr", "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
               "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
               "kdf": "pbkdf2", "kdfparams": {"c": 262144, "dklen": 32, "prf": "hmac-sha256",
                                              "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
               "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6", "version": 3,
}
SPEC_KEY = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"


def code_of(call) -> str:
    with pytest.raises(KeystoreError) as info:
        call()
    return info.value.code


def test_round_trip_and_a_private_v3_file(tmp_path):
    store = EncryptedKeystore(tmp_path / "keys", work=FAST)
    address = store.new("alice", "correct horse", KEY)
    assert address == address_of(KEY)
    assert EncryptedKeystore(tmp_path / "keys").private_key("alice", "correct horse") == KEY
    assert store.addresses() == {"alice": address}
    path = tmp_path / "keys" / "alice.json"
    document = json.loads(path.read_text())
    assert document["version"] == 3 and document["crypto"]["kdf"] == "scrypt" and KEY.hex() not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600 and (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == ["alice.json"]  # no temporary left


def test_a_wrong_password_is_refused(tmp_path):
    store = EncryptedKeystore(tmp_path, work=FAST)
    store.new("alice", "right", KEY)
    assert code_of(lambda: store.private_key("alice", "wrong")) == "wrong_password"


def test_the_definition_test_vector_opens(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps({**SPEC_VECTOR, "address": address_of(bytes.fromhex(SPEC_KEY)).hex()}))
    assert EncryptedKeystore(tmp_path).private_key("spec", "testpassword").hex() == SPEC_KEY


def test_a_file_whose_address_lies_is_refused(tmp_path):
    store = EncryptedKeystore(tmp_path, work=FAST)
    store.new("alice", "pw", KEY)
    path = tmp_path / "alice.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "address": "11" * 20}))
    assert code_of(lambda: store.private_key("alice", "pw")) == "malformed_keystore"


def test_a_key_file_is_never_replaced_nor_written_through_a_link(tmp_path):
    store = EncryptedKeystore(tmp_path, work=FAST)
    store.new("alice", "pw", KEY)
    before = (tmp_path / "alice.json").read_bytes()
    assert code_of(lambda: store.new("alice", "other")) == "key_exists"
    assert (tmp_path / "alice.json").read_bytes() == before
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "bob.json").symlink_to(victim)
    assert code_of(lambda: store.new("bob", "pw")) == "key_exists"
    assert code_of(lambda: store.private_key("bob", "pw")) == "keystore_symlink"
    assert victim.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alice.json", "bob.json", "victim"]


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"version": 1}', b"\xff"])
def test_a_malformed_file_is_refused(tmp_path, content):
    (tmp_path / "alice.json").write_bytes(content)
    assert code_of(lambda: EncryptedKeystore(tmp_path).private_key("alice", "pw")) == "malformed_keystore"


@pytest.mark.parametrize("name", ["../up", "a/b", ".hidden", "", "0xab"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(tmp_path, name):
    assert code_of(lambda: EncryptedKeystore(tmp_path / "k", work=FAST).new(name, "pw", KEY)) == "bad_key_name"
    assert not (tmp_path / "k").exists()


def test_unknown_key(tmp_path):
    assert code_of(lambda: EncryptedKeystore(tmp_path).private_key("nobody", "pw")) == "unknown_key"
    assert EncryptedKeystore(tmp_path / "absent").addresses() == {}
