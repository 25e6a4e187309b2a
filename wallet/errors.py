"""The wallet's one error type: a stable code (OMG's, when the node answered with one) and a sentence."""
from __future__ import annotations


class WalletError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
