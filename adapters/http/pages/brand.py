"""The wallet's brand: one JSON file a wallet provider writes (`omg node --brand FILE` puts it
in the node's home as brand.json, read again on each request), checked field by field, over
the embedded defaults (`default_brand.json`). A malformed file is refused with its reason
rather than half applied."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_FILE = Path(__file__).with_name("default_brand.json")
BRAND_FILE = "brand.json"  # in the node's home
COLOUR = r"^#[0-9a-fA-F]{6}$"


class BrandError(ValueError):
    pass


class Colours(BaseModel):
    model_config = ConfigDict(extra="forbid")
    primary: str = Field(pattern=COLOUR)
    background: str = Field(pattern=COLOUR)
    surface: str = Field(pattern=COLOUR)
    text: str = Field(pattern=COLOUR)


class Token(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=12)
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    decimals: int = Field(ge=0, le=36)


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    tagline: str = Field(default="", max_length=200)
    logo: str = Field(default="", max_length=65536)  # an https URL, a site path or a data: URI
    colours: Colours
    tokens: list[Token] = Field(min_length=1, max_length=32)


def load(home: Path) -> dict[str, Any]:
    """The home's brand over the defaults (no file: the defaults); BrandError if malformed."""
    path = home / BRAND_FILE
    return merged(read(path)) if path.is_file() else merged({})


def install(home: Path, source: Path) -> None:
    """`omg node --brand FILE`: check FILE, then make it the home's brand.json (written whole
    through a temporary file and a rename, so the node never serves half of it)."""
    given = read(source)
    merged(given)
    home.mkdir(parents=True, exist_ok=True)
    temporary = home / f".{BRAND_FILE}.tmp"
    temporary.write_text(json.dumps(given, indent=2))
    temporary.replace(home / BRAND_FILE)


def read(path: Path) -> dict[str, Any]:
    try:
        given = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BrandError(f"{path.name} is not JSON: {exc}") from None
    if not isinstance(given, dict):
        raise BrandError(f"{path.name} is not a JSON object")
    return given


def merged(given: dict[str, Any]) -> dict[str, Any]:
    """`given` over the defaults (colours one by one), checked; BrandError naming the field."""
    defaults = json.loads(DEFAULT_FILE.read_text())
    colours = given.get("colours", {})
    if isinstance(colours, dict):
        colours = {**defaults["colours"], **colours}
    try:
        brand = Brand.model_validate({**defaults, **given, "colours": colours})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BrandError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if re.match(r"^(javascript|vbscript):", brand.logo.strip(), re.IGNORECASE):
        raise BrandError("logo: not a URL or a data: URI")
    return brand.model_dump()
