"""Request values as elixir-omg's validators read them: `0x` hex (either case), with the
lengths of its aliases (address 20, hash 32, signature 65 bytes). Annotated pydantic types,
so the OpenAPI document states each pattern and a bad value is `operation:bad_request`
naming the parameter and the validator (`:hex`, `{:length, 20}`), as elixir's fallback does."""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
MAX_HEX_CHARS = 2 + 2 * 64 * 1024  # no transaction or proof the API takes is near 64 KiB


def to_hex(value: bytes) -> str:
    return "0x" + value.hex()


def _parser(length: int | None):
    def parse(value: Any) -> bytes:
        if not isinstance(value, str) or len(value) > MAX_HEX_CHARS or not HEX.match(value):
            raise PydanticCustomError("hex", ":hex")
        raw = bytes.fromhex(value[2:])
        if length is not None and len(raw) != length:
            raise PydanticCustomError("length", "{:length, " + str(length) + "}")
        return raw
    return parse


def _hex_type(length: int | None, description: str):
    digits = "*" if length is None else "{%d}" % (2 * length)
    pattern = r"^0x([0-9a-fA-F]{2})*$" if length is None else f"^0x[0-9a-fA-F]{digits}$"
    schema = {"type": "string", "pattern": pattern, "description": description}
    if length is None:
        schema["maxLength"] = MAX_HEX_CHARS
    return Annotated[bytes, BeforeValidator(_parser(length)), PlainSerializer(to_hex, return_type=str),
                     WithJsonSchema(schema)]


Address = _hex_type(20, "a 20-byte address, 0x-hex")
Hash = _hex_type(32, "a 32-byte hash, 0x-hex")
Signature = _hex_type(65, "a 65-byte r||s||v signature, 0x-hex")
HexBytes = _hex_type(None, "bytes, 0x-hex")
