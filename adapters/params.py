"""The `omg` command's parameter types: one way to read each kind of input (an amount, an
address, a count, a duration, a key name, a home folder), strict and with a clear message;
`BadInput` for input that cannot be read as what it should be (exit 2)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import click

from ledger.events import FeeRule
from proofs.keccak import keccak256
from proofs.order import ORDER_TX_TYPE
from proofs.payment import PAYMENT_TX_TYPE
from wallet.keys import KeystoreError, check_name

ETH = bytes(20)
# A ledger home's files; `omg node` keeps its root-chain contracts in the deployment file.
LEDGER_FILE, KEYS_FILE, DEPLOYMENT_FILE = "ledger.db", "keys.json", "rootchain.json"
MAX_SECONDS = 7 * 24 * 3600
# Amount-taking commands read `-5` as an argument, so it is refused as an amount, not as an unknown option.
AMOUNT_ARGUMENTS = {"ignore_unknown_options": True}


class BadInput(click.ClickException):
    """Input that cannot be read as what it should be: exit 2, as bad usage."""

    exit_code = 2


class WholeNumber(click.ParamType):
    """A whole number in ASCII digits 0-9 only (Python's int() also takes signs, spaces,
    underscores and other scripts' digits), from `minimum` to `maximum`."""

    def __init__(self, name: str, minimum: int, maximum: int | None = None, bounds: str = "") -> None:
        self.name, self.minimum, self.maximum = name, minimum, maximum
        self.bounds = bounds or f"at least {minimum}"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value)
        if text.isascii() and text.isdigit() and len(text) <= 100:
            number = int(text)
            if number >= self.minimum and (self.maximum is None or number <= self.maximum):
                return number
        self.fail(f"{text!r} is not {'an' if self.name[0] in 'aeiou' else 'a'} {self.name}: "
                  f"ASCII digits 0-9, {self.bounds}", param, ctx)


class Seconds(click.ParamType):
    """A finite duration in seconds, in ASCII digits with an optional decimal point."""

    name = "seconds"

    def __init__(self, positive: bool) -> None:
        self.positive = positive

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value)
        if re.fullmatch(r"[0-9]{1,9}(\.[0-9]*)?|\.[0-9]+", text):
            seconds = float(text)
            if (seconds > 0 or not self.positive) and seconds <= MAX_SECONDS:
                return seconds
        floor = "above 0" if self.positive else "from 0"
        self.fail(f"{text!r} is not a duration: seconds {floor} to {MAX_SECONDS}", param, ctx)


def _eip55_holds(digits: str) -> bool:
    """EIP-55: in a mixed-case address a letter is upper case exactly when its nibble of
    keccak(the lower-case digits) is 8 or more. One-case addresses carry no checksum."""
    if digits in (digits.lower(), digits.upper()):
        return True
    nibbles = keccak256(digits.lower().encode()).hex()
    return all(ch.isupper() == (int(n, 16) >= 8) for ch, n in zip(digits, nibbles) if ch.isalpha())


class Address(click.ParamType):
    """`0x` and 40 hex digits (one case, or mixed case with a valid EIP-55 checksum); with
    `eth_alias`, also `eth` for the ETH token (the zero address)."""

    name = "address"

    def __init__(self, eth_alias: bool = False) -> None:
        self.eth_alias = eth_alias

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> bytes:
        if isinstance(value, bytes):
            return value
        text = str(value)
        if self.eth_alias and text == "eth":
            return ETH
        if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
            if _eip55_holds(text[2:]):
                return bytes.fromhex(text[2:])
            self.fail(f"{text!r} is not a 20-byte hex address: its mixed-case EIP-55 checksum is wrong", param, ctx)
        alias = " or 'eth'" if self.eth_alias else ""
        self.fail(f"{text!r} is not a 20-byte hex address (0x and 40 hex digits){alias}", param, ctx)


class Hash(click.ParamType):
    """`0x` and 64 hex digits: a 32-byte hash (an order id)."""

    name = "hash"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> bytes:
        if isinstance(value, bytes):
            return value
        if re.fullmatch(r"0x[0-9a-fA-F]{64}", text := str(value)):
            return bytes.fromhex(text[2:])
        self.fail(f"{text!r} is not a 32-byte hash (0x and 64 hex digits)", param, ctx)


AMOUNT = WholeNumber("amount", 1, 2**256 - 1, bounds="from 1 to 2**256 - 1 base units")
COUNT = WholeNumber("count", 0)
ADDRESS = Address()
TOKEN = Address(eth_alias=True)
HASH = Hash()


class Fee(click.ParamType):
    """TOKEN:AMOUNT, the payment fee in that token; order:TOKEN:AMOUNT, the fee of placing an
    order (the ORDER transaction, tx type 4) in that token."""

    name = "[order:]TOKEN:AMOUNT"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> FeeRule:
        if isinstance(value, FeeRule):
            return value
        text = str(value)
        tx_type = ORDER_TX_TYPE if text.startswith("order:") else PAYMENT_TX_TYPE
        token, colon, amount = text.removeprefix("order:").partition(":")
        if not colon:
            self.fail(f"{value!r} is not TOKEN:AMOUNT or order:TOKEN:AMOUNT", param, ctx)
        return FeeRule(tx_type, TOKEN.convert(token, param, ctx), AMOUNT.convert(amount, param, ctx))


class KeyName(click.ParamType):
    name = "name"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            check_name(str(value))
        except KeystoreError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


def home_folder(ctx: click.Context, param: click.Parameter, home: Path | None) -> Path | None:
    """A home is a folder, or will be made one: its nearest existing ancestor must be a folder."""
    for folder in (home, *home.parents) if home is not None else ():
        if os.path.lexists(folder):
            if not folder.is_dir():
                raise click.BadParameter(f"{folder} is not a folder", ctx, param)
            break
    return home


home_option = click.option(
    "--home", type=click.Path(path_type=Path), callback=home_folder, default=Path("omg-data"), envvar="OMG_HOME",
    show_default=True, help="Ledger home folder (ledger.db, keys.json).",
)
