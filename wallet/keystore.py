"""Encrypted keys: one Web3 Secret Storage (v3) file per named key, as geth and MetaMask
export them, encrypted and decrypted by eth-account (scrypt, AES-128-CTR, keccak MAC).

This replaces the development keys.json (wallet/keys.py) for keys that hold value. Each
file is created once and never rewritten: written to a fresh private temporary file
(mkstemp: O_EXCL | O_NOFOLLOW, mode 0600), synced, then hard-linked to its name, which
fails if anything (a file, a symbolic link) is already there; it is read only as a
regular file, never through a symbolic link (as wallet/keys.py does).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account

from proofs.eip712 import address_of
from wallet.keys import KeystoreError, check_name, check_secret, fresh_secret, open_regular, write_privately

SCRYPT_N = 2**18  # geth's "standard" scrypt work factor, eth-account's default
SUFFIX = ".json"


class EncryptedKeystore:
    """A folder of v3 key files, `<name>.json`. `work` is scrypt's n (lower only in tests)."""

    def __init__(self, folder: Path, work: int = SCRYPT_N) -> None:
        self.folder, self.work = Path(folder), work

    def new(self, name: str, password: str, private_key: bytes | None = None) -> bytes:
        """Encrypt (and create, or import) key `name` under `password`; returns its address."""
        check_name(name)
        if "/" in name or name.startswith("."):
            raise KeystoreError("bad_key_name", f"{name!r} cannot name a file in the keystore folder")
        key = private_key if private_key is not None else fresh_secret()
        check_secret(key)
        document = Account.encrypt(key, password, kdf="scrypt", iterations=self.work)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_privately(self._path(name), json.dumps(document).encode())
        return address_of(key)

    def private_key(self, name: str, password: str) -> bytes:
        document = self._read(name)
        try:
            key = bytes(Account.decrypt(document, password))
        except ValueError as exc:  # eth-account: "MAC mismatch" for a wrong password
            if "MAC mismatch" in str(exc):
                raise KeystoreError("wrong_password", f"the password does not open key {name!r}") from None
            raise KeystoreError("malformed_keystore", f"{self._path(name)}: {exc}") from None
        if address_of(key).hex() != str(document.get("address", "")).lower().removeprefix("0x"):
            raise KeystoreError("malformed_keystore", f"{self._path(name)}: the key does not match its address")
        return key

    def addresses(self) -> dict[str, bytes]:
        """Each key's address, read from its file's clear `address` field (no password needed)."""
        found = {}
        for path in sorted(self.folder.glob(f"*{SUFFIX}")) if self.folder.is_dir() else ():
            name = path.name[: -len(SUFFIX)]
            address = str(self._read(name).get("address", ""))
            try:
                found[name] = bytes.fromhex(address.removeprefix("0x"))
            except ValueError:
                raise KeystoreError("malformed_keystore", f"{path}: address {address!r} is not hex") from None
        return found

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}{SUFFIX}"

    def _read(self, name: str) -> dict:
        path = self._path(name)
        if not os.path.lexists(path):
            raise KeystoreError("unknown_key", f"no key named {name!r} in {self.folder}")
        with os.fdopen(open_regular(path), "rb") as file:
            raw = file.read()
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise KeystoreError("malformed_keystore", f"{path}: {exc}") from None
        if not isinstance(document, dict) or document.get("version") != 3:
            raise KeystoreError("malformed_keystore", f"{path}: not a version 3 key file")
        return document


def _create_privately(path: Path, data: bytes) -> None:
    try:
        write_privately(path, data, os.link)  # link: never replaces a key file, never follows a link
    except FileExistsError:
        raise KeystoreError("key_exists", f"{path} exists") from None
    except OSError as exc:
        raise KeystoreError("unwritable_keystore", f"{exc.filename or path}: {exc.strerror}") from None
