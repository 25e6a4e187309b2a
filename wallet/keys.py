"""A local keystore: named secp256k1 keys in one JSON file, readable by its owner only.

Keys are stored unencrypted (mode 0600): this is a development wallet for a local
ledger. Never put a key that holds real value in it.

The file is read only if it is exactly what this module writes (an object of valid names
to 32-byte secrets in hex), and never through a symbolic link. It is rewritten through a
fresh private temporary file in the same folder (O_EXCL | O_NOFOLLOW, mode 0600), synced,
then renamed over it: a crash leaves the old file or the new one, and nothing left by
someone else in that folder is written through or inherited.
"""
from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

from coincurve.utils import GROUP_ORDER_INT

from proofs.eip712 import address_of

SECRET_HEX = re.compile(r"[0-9a-fA-F]{64}")


class KeystoreError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def check_name(name: str) -> None:
    """A name is printed beside its address and typed where an address may be: it must be
    visible, one word, and never read as an address."""
    if not name:
        raise KeystoreError("bad_key_name", "a key name cannot be empty")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in name):
        raise KeystoreError("bad_key_name", f"{name!r} holds a space or an invisible or control character")
    if name[:2].lower() == "0x":
        raise KeystoreError("bad_key_name", f"{name!r} starts with 0x, as addresses do")


def check_secret(secret: bytes) -> None:
    if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < GROUP_ORDER_INT:
        raise KeystoreError("invalid_key", "a secp256k1 secret is 32 bytes, from 1 to the group order - 1")


class Keystore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys = _load(path) if os.path.lexists(path) else {}

    @property
    def exists(self) -> bool:
        return os.path.lexists(self.path)

    def new(self, name: str, private_key: bytes | None = None) -> bytes:
        """Create (or import) key `name`; returns its address."""
        check_name(name)
        if name in self._keys:
            raise KeystoreError("key_exists", f"a key named {name!r} exists")
        key = private_key if private_key is not None else fresh_secret()
        check_secret(key)
        _save(self.path, {**self._keys, name: key})
        self._keys[name] = key
        return address_of(key)

    def private_key(self, name: str) -> bytes:
        if name not in self._keys:
            raise KeystoreError("unknown_key", f"no key named {name!r}")
        return self._keys[name]

    def addresses(self) -> dict[str, bytes]:
        return {name: address_of(key) for name, key in self._keys.items()}


def fresh_secret() -> bytes:
    while True:  # a draw outside [1, n) has odds of about 2**-128
        secret = secrets.token_bytes(32)
        if 0 < int.from_bytes(secret, "big") < GROUP_ORDER_INT:
            return secret


def open_regular(path: Path) -> int:
    """A descriptor on the regular file at `path`, never through a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise KeystoreError("keystore_symlink", f"{path} is a symbolic link: refusing to follow it") from None
        raise KeystoreError("unreadable_keystore", f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise KeystoreError("unreadable_keystore", f"{path} is not a regular file")
    return fd


def _load(path: Path) -> dict[str, bytes]:
    with os.fdopen(open_regular(path), "rb") as file:
        raw = file.read()
    try:
        entries = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_pairs)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise KeystoreError("malformed_keystore", f"{path}: {exc}") from None
    if not isinstance(entries, dict):
        raise KeystoreError("malformed_keystore", f"{path}: not an object of names to keys")
    keys = {}
    for name, hexkey in entries.items():
        try:
            check_name(name)
            if not isinstance(hexkey, str) or not SECRET_HEX.fullmatch(hexkey):
                raise KeystoreError("invalid_key", "a key is 64 hex digits")
            check_secret(bytes.fromhex(hexkey))
        except KeystoreError as exc:
            raise KeystoreError("malformed_keystore", f"{path}: key {name!r}: {exc}") from None
        keys[name] = bytes.fromhex(hexkey)
    return keys


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("a key name appears twice")
    return dict(pairs)


def _save(path: Path, keys: dict[str, bytes]) -> None:
    if os.path.islink(path):
        raise KeystoreError("keystore_symlink", f"{path} is a symbolic link: refusing to replace it")
    data = json.dumps({name: key.hex() for name, key in keys.items()}, indent=1).encode()
    try:
        write_privately(path, data, os.replace)
    except OSError as exc:
        raise KeystoreError("unwritable_keystore", f"{exc.filename or path}: {exc.strerror}") from None


def write_privately(path: Path, data: bytes, place: Callable[[str, Path], None]) -> None:
    """Write `data` to a fresh private file beside `path`, synced, then `place` it at `path`
    (os.replace to replace, os.link never to) and sync the folder so the name is durable.
    mkstemp opens a new, unique name with O_EXCL | O_NOFOLLOW and mode 0600."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        place(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
