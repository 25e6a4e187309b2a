"""A local keystore: named secp256k1 keys in one JSON file, readable by its owner only.

Keys are stored unencrypted (mode 0600): this is a development wallet for a local
ledger. Never put a key that holds real value in it.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from proofs.eip712 import address_of


class KeystoreError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class Keystore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str, bytes] = {}
        if path.exists():
            self._keys = {name: bytes.fromhex(hexkey) for name, hexkey in json.loads(path.read_text()).items()}

    def new(self, name: str, private_key: bytes | None = None) -> bytes:
        """Create (or import) key `name`; returns its address."""
        if name in self._keys:
            raise KeystoreError("key_exists", f"a key named {name!r} exists")
        self._keys[name] = private_key if private_key is not None else secrets.token_bytes(32)
        self._save()
        return address_of(self._keys[name])

    def private_key(self, name: str) -> bytes:
        if name not in self._keys:
            raise KeystoreError("unknown_key", f"no key named {name!r}")
        return self._keys[name]

    def addresses(self) -> dict[str, bytes]:
        return {name: address_of(key) for name, key in self._keys.items()}

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump({name: key.hex() for name, key in self._keys.items()}, file, indent=1)
        os.replace(tmp, self.path)
