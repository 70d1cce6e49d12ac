"""The JSON text of the pack's files, written and read with orjson's C code.

The json module indents only in Python (its C encoder is used without `indent`): an evidence
file cost 20 times as much CPU to write that way, and a sweep writes about thirty an account.
orjson writes the same indented text as `json.dumps(indent=2, ensure_ascii=False)`. What it
cannot write exactly goes to the json module instead, so a file always says what the run
held in memory:

- an integer beyond 64 bits (orjson refuses it);
- a float that is not finite, which JSON has no number for. orjson writes `null`; the json
  module writes `NaN` and reads it back as the same float. `redact` marks such a float
  (NotFinite), and orjson, which does not write float subclasses, hands it to `default`.

Reading, orjson is faster on small files (an evidence file: 4 against 11 microseconds) and
about the same on large ones. It reads an integer beyond 64 bits as a float, so `parse` is
for what no verdict is judged on: the run's own documents (results.json, the manifest, the
population) and what the exports take from evidence files (actions, regions, error codes).
Evidence read back to judge on (a replay, a fact another process of the run wrote) is read
with the json module, whose numbers are exact.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import orjson

OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS


class NotFinite(float):
    """NaN or infinity, marked for the json module (see the module's docstring)."""


def _refusing_not_finite(default: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call(value: Any) -> Any:
        if isinstance(value, NotFinite):
            raise TypeError("not a finite number")
        return default(value)

    return call


def _dumps(document: Any, default: Callable[[Any], Any], option: int, **by_json) -> bytes:
    """orjson's text of `document`; the json module's, with `by_json`, for what orjson cannot write exactly."""
    try:
        return orjson.dumps(document, default=_refusing_not_finite(default), option=option)
    except orjson.JSONEncodeError:
        return json.dumps(document, default=default, ensure_ascii=False, **by_json).encode("utf-8")


def indented(document: Any, default: Callable[[Any], Any] = str, sort_keys: bool = False) -> bytes:
    """`document` as JSON indented by two spaces, UTF-8: the bytes json.dumps(indent=2, ensure_ascii=False) gives."""
    options = OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else OPTIONS
    return _dumps(document, default, options, indent=2, sort_keys=sort_keys)


def compact(document: Any) -> bytes:
    """`document` as JSON without any whitespace, UTF-8: what json.dumps(separators=(",", ":"), ensure_ascii=False) gives."""
    return _dumps(document, str, orjson.OPT_NON_STR_KEYS, separators=(",", ":"))


def parse(raw: bytes) -> Any:
    """A JSON document from its bytes (see the module's docstring for what it may read); ValueError when it is not one."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # NaN or Infinity, which the json module reads; or not JSON, which it rejects too
