"""The development keystore: it reads only what it wrote, writes privately and atomically,
and never follows a link it did not make."""
from __future__ import annotations

import json
import os

import pytest

from proofs.eip712 import address_of
from proofs.keccak import keccak256
from wallet.keys import Keystore, KeystoreError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # the secp256k1 group order
KEY = keccak256(b"keystore test key")


def refused(path, code: str) -> str:
    with pytest.raises(KeystoreError) as info:
        Keystore(path)
    assert info.value.code == code
    return str(info.value)


def test_keys_survive_a_reload_and_the_file_is_private(tmp_path):
    path = tmp_path / "keys.json"
    keystore = Keystore(path)
    alice = keystore.new("alice", KEY)
    bob = keystore.new("bob")
    assert Keystore(path).addresses() == {"alice": alice, "bob": bob} and alice == address_of(KEY)
    assert Keystore(path).private_key("alice") == KEY
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]  # no temporary left


@pytest.mark.parametrize("content", [
    b'{"alice": "ab',  # truncated
    b"",
    b"[]",
    b'"alice"',
    b'{"alice": 5}',
    b'{"alice": ["00"]}',
    b'{"alice": "' + b"00" * 32 + b'"}',  # secret 0
    b'{"alice": "' + N.to_bytes(32, "big").hex().encode() + b'"}',  # secret n
    b'{"alice": "' + (2**256 - 1).to_bytes(32, "big").hex().encode() + b'"}',  # secret > n
    b'{"alice": "0102"}',  # a 2-byte key
    b'{"alice": "' + b"zz" * 32 + b'"}',
    b'{"alice": " ' + KEY.hex()[1:].encode() + b'"}',  # fromhex would skip the space
    b'{"": "' + KEY.hex().encode() + b'"}',  # a name the keystore would refuse
    b'{"alice": "' + KEY.hex().encode() + b'", "alice": "' + keccak256(b"other").hex().encode() + b'"}',
    b"\xff\xfe{}",  # not UTF-8
])
def test_a_malformed_keystore_is_refused_and_left_as_it_is(tmp_path, content):
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    refused(path, "malformed_keystore")
    assert path.read_bytes() == content


def test_a_keystore_that_is_not_a_file_is_unreadable(tmp_path):
    (tmp_path / "keys.json").mkdir()
    refused(tmp_path / "keys.json", "unreadable_keystore")


def test_a_symlinked_keystore_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "elsewhere.json"
    Keystore(target).new("alice", KEY)
    before = target.read_bytes()
    (tmp_path / "keys.json").symlink_to(target)
    refused(tmp_path / "keys.json", "keystore_symlink")
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nothing.json")
    refused(tmp_path / "dangling.json", "keystore_symlink")
    assert target.read_bytes() == before and not (tmp_path / "nothing.json").exists()


def test_a_keystore_replaced_by_a_symlink_before_saving_is_not_followed(tmp_path):
    path, target = tmp_path / "keys.json", tmp_path / "elsewhere.json"
    keystore = Keystore(path)
    keystore.new("alice", KEY)
    target.write_text("precious")
    path.unlink()
    path.symlink_to(target)
    with pytest.raises(KeystoreError) as info:
        keystore.new("bob")
    assert info.value.code == "keystore_symlink" and target.read_text() == "precious"


def test_leftover_temporaries_are_neither_reused_nor_followed(tmp_path):
    path = tmp_path / "keys.json"
    victim = tmp_path / "victim"
    victim.write_text("precious")
    victim.chmod(0o644)
    (tmp_path / "keys.tmp").symlink_to(victim)  # the name the old keystore wrote through
    loose = tmp_path / "keys.json.tmp"
    loose.write_text("left by a crash")
    loose.chmod(0o644)
    Keystore(path).new("alice", KEY)
    assert victim.read_text() == "precious" and victim.stat().st_mode & 0o777 == 0o644
    assert path.stat().st_mode & 0o777 == 0o600 and not path.is_symlink()
    assert json.loads(path.read_text()) == {"alice": KEY.hex()}


def test_the_private_mode_holds_under_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        Keystore(tmp_path / "keys.json").new("alice", KEY)
    finally:
        os.umask(old)
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["", " ", "\t", "a b", "new\nline", "bell\x07", "nul\x00", "rtl\u202eover",
                                  "0x" + "ab" * 20, "0X" + "AB" * 20])
def test_a_bad_key_name_is_refused_and_nothing_written(tmp_path, name):
    path = tmp_path / "keys.json"
    with pytest.raises(KeystoreError) as info:
        Keystore(path).new(name, KEY)
    assert info.value.code == "bad_key_name" and not path.exists()


@pytest.mark.parametrize("secret", [bytes(32), N.to_bytes(32, "big"), b"\x01\x02", bytes(33)])
def test_an_invalid_imported_secret_is_refused(tmp_path, secret):
    with pytest.raises(KeystoreError) as info:
        Keystore(tmp_path / "keys.json").new("alice", secret)
    assert info.value.code == "invalid_key" and not (tmp_path / "keys.json").exists()


def test_a_name_is_unique(tmp_path):
    keystore = Keystore(tmp_path / "keys.json")
    keystore.new("alice", KEY)
    with pytest.raises(KeystoreError) as info:
        keystore.new("alice")
    assert info.value.code == "key_exists" and Keystore(tmp_path / "keys.json").private_key("alice") == KEY
