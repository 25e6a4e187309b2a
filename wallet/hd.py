"""HD keys from a BIP-39 mnemonic: BIP-32 derivation on BIP-44 paths (m/44'/60'/0'/0/i).

The BIP-39 and BIP-32 code is eth-account's (`eth_account.hdaccount`): it is already
installed as web3's dependency, maintained with web3 by the Ethereum Foundation, and is
what `Account.from_mnemonic` runs. Its maintainers label it unaudited, so tests/wallet
checks it against Trezor's BIP-39 vectors and a known m/44'/60'/0'/0/0 address; a
second HD library would add a dependency without adding that check.
"""
from __future__ import annotations

from eth_account.hdaccount import Mnemonic, key_from_seed, seed_from_mnemonic
from eth_account.types import Language
from eth_utils import ValidationError

from proofs.eip712 import address_of
from wallet.errors import WalletError

ETHEREUM_PATH = "m/44'/60'/0'/0/{index}"  # BIP-44, coin type 60 (Ethereum), external chain
WORD_COUNTS = (12, 15, 18, 21, 24)


def new_mnemonic(words: int = 24) -> str:
    """A fresh English mnemonic from the operating system's randomness."""
    if words not in WORD_COUNTS:
        raise WalletError("bad_mnemonic", f"a mnemonic has one of {WORD_COUNTS} words, not {words}")
    return Mnemonic(Language.ENGLISH).generate(words)


def mnemonic_of(entropy: bytes) -> str:
    """The English mnemonic of 16 to 32 bytes of entropy (BIP-39: its words and checksum)."""
    try:
        return Mnemonic(Language.ENGLISH).to_mnemonic(entropy)
    except (ValidationError, ValueError) as exc:
        raise WalletError("bad_mnemonic", str(exc)) from None


def seed(mnemonic: str, passphrase: str = "") -> bytes:
    """The BIP-39 seed (PBKDF2-HMAC-SHA512, 2048 rounds); the mnemonic's checksum must hold."""
    try:
        return seed_from_mnemonic(mnemonic, passphrase)
    except (ValidationError, ValueError) as exc:  # an unknown word, language or a bad checksum
        raise WalletError("bad_mnemonic", str(exc)) from None


def path(index: int) -> str:
    if not 0 <= index < 2**31:
        raise WalletError("bad_derivation_path", f"an address index is from 0 to 2**31 - 1, not {index}")
    return ETHEREUM_PATH.format(index=index)


class HDWallet:
    """The keys of one mnemonic (and passphrase) at m/44'/60'/0'/0/i, as MetaMask and
    omg-js derive them. Holds the seed: keep it no longer than needed."""

    def __init__(self, mnemonic: str, passphrase: str = "") -> None:
        self._seed = seed(mnemonic, passphrase)

    def private_key(self, index: int = 0) -> bytes:
        return key_from_seed(self._seed, path(index))

    def derive(self, bip32_path: str) -> bytes:
        """The private key at any BIP-32 path (`m/...`, `'` marks a hardened step)."""
        try:
            return key_from_seed(self._seed, bip32_path)
        except (ValidationError, ValueError) as exc:
            raise WalletError("bad_derivation_path", f"{bip32_path!r}: {exc}") from None

    def address(self, index: int = 0) -> bytes:
        return address_of(self.private_key(index))
