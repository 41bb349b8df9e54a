"""A run as one short, URL-safe string, and back: `netstep share` and `--state`.

    text = share.encode(config, steps=120)     # "ns1.eNqrVkrOz..."
    config, steps = share.decode(text)

The string is "ns1." followed by base64url (no padding) of zlib-compressed JSON
{"c": {field: value, ...}, "s": steps}. Only the fields that differ from RunConfig's
defaults are kept, so a string stays short and a string made before a field existed
still decodes (the new field takes its default). Floats go through JSON's repr, so
every value comes back bit for bit and the run reproduces exactly.

decode() never trusts its input: anything wrong (unknown prefix or version, bad
base64, a corrupt or truncated stream, a stream that inflates past MAX_JSON bytes, JSON
that is not a run, a field value the config refuses) raises ShareError, a ConfigError,
with one line saying what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib

from .config import RunConfig
from .errors import ConfigError

PREFIX = "ns"
VERSION = 1
MAX_STRING = 8192   # characters: a run string is a few hundred at most
MAX_JSON = 65536    # bytes after inflating: refuses a zip bomb hidden in a short string


class ShareError(ConfigError):
    """A run string that cannot be read: names what is wrong."""

    def __init__(self, message: str):
        super().__init__("state", message)


def changed_fields(config: RunConfig) -> dict:
    """The fields of `config` whose values differ from RunConfig's defaults."""
    default = RunConfig().to_dict()
    return {k: v for k, v in config.to_dict().items() if v != default.get(k)}


def encode(config: RunConfig, steps: int | None = None) -> str:
    """The run string for `config` (and, when given, the number of steps taken)."""
    doc = {"c": changed_fields(config)}
    if steps is not None:
        doc["s"] = int(steps)
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")
    body = base64.urlsafe_b64encode(zlib.compress(raw, 9)).rstrip(b"=").decode("ascii")
    return f"{PREFIX}{VERSION}.{body}"


def decode(text: str) -> tuple[RunConfig, int | None]:
    """(RunConfig, steps or None) from a run string. Raises ShareError on anything wrong."""
    if not isinstance(text, str):
        raise ShareError("a run string is text such as ns1.eNq...")
    text = text.strip()
    if len(text) > MAX_STRING:
        raise ShareError(f"the run string is {len(text)} characters long; a real one is under {MAX_STRING}")
    head, dot, body = text.partition(".")
    if not dot or not head.startswith(PREFIX) or not head[len(PREFIX):].isdigit():
        raise ShareError("not a netstep run string: it must start with ns1. (copy it whole from `netstep share`)")
    version = int(head[len(PREFIX):])
    if version != VERSION:
        raise ShareError(f"run string version {version} is not readable here; this netstep reads version {VERSION}")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
        raise ShareError("the run string has characters base64url does not use (allowed: A-Z a-z 0-9 - _)")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ShareError("the run string is cut short or altered (its base64 does not decode)") from None
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(packed, MAX_JSON + 1)
    except zlib.error:
        raise ShareError("the run string is corrupt, truncated or altered (its data does not decompress)") from None
    if len(raw) > MAX_JSON or inflate.unconsumed_tail:
        raise ShareError(f"the run string inflates past {MAX_JSON} bytes; refusing it")
    if not inflate.eof or inflate.unused_data:
        raise ShareError("the run string is truncated or has bytes after its end (copy it whole)")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ShareError("the run string does not hold a run (its content is not JSON)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("c"), dict) or set(doc) - {"c", "s"}:
        raise ShareError("the run string does not hold a run (expected its fields and an optional step count)")
    steps = doc.get("s")
    if steps is not None and (type(steps) is not int or steps < 0):
        raise ShareError(f"the run string's step count must be an integer >= 0, got {steps!r}")
    try:
        config = RunConfig.from_dict(doc["c"])
    except ShareError:
        raise
    except ConfigError as e:
        raise ShareError(f"the run string holds an invalid run: {e}") from None
    except (TypeError, ValueError) as e:
        raise ShareError(f"the run string holds an invalid run: {e}") from None
    return config, steps
