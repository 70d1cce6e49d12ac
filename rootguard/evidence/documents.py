"""Evidence: every fact a verdict rests on, written as JSON under evidence/<account_id>/, secrets redacted."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

from rootguard.evidence.jsontext import NotFinite, indented
from rootguard.facts import FactKey, FactResult, describe_key

SECRET_KEYS = re.compile(
    r"^(secretaccesskey|secret_access_key|secret_key|secret|sessiontoken|session_token|token|password|passwd|"
    r"privatekey|private_key|clientsecret|client_secret)$",
    re.IGNORECASE,
)
ACCESS_KEY_ID = re.compile(r"\b((?:AKIA|ASIA|AIDA|AROA|ANPA|ANVA|AGPA|AIPA)[A-Z0-9]{12,})\b")


# The shortest text ACCESS_KEY_ID matches: a four-letter prefix and twelve more characters.
SHORTEST_KEY_ID = 16


def mask_key_id(text: str) -> str:
    if len(text) < SHORTEST_KEY_ID:
        return text  # no key id fits: most values (names, dates, flags) are shorter
    return ACCESS_KEY_ID.sub(lambda m: "*" * (len(m.group(1)) - 4) + m.group(1)[-4:], text)


# Whether a field's name marks a secret, by name: a response repeats the same few dozen names.
_secret_names: dict[str, bool] = {}
SECRET_NAMES_KEPT = 4096


def is_secret_name(key: str) -> bool:
    known = _secret_names.get(key)
    if known is None:
        known = SECRET_KEYS.match(key) is not None
        if len(_secret_names) < SECRET_NAMES_KEPT:
            _secret_names[key] = known
    return known


def redact(value: Any, key: str = "") -> Any:
    """Secrets and tokens are replaced; access key ids keep only their last four characters."""
    if isinstance(value, dict):
        return {k: redact(v, k if type(k) is str else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if key and value is not None and is_secret_name(key):
        return "[redacted]"
    if isinstance(value, str):
        return mask_key_id(value)
    if value.__class__ is float and value - value != 0.0:  # NaN or infinity: written by json (jsontext)
        return NotFinite(value)
    return value


def json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def evidence_name(key: FactKey) -> str:
    name, region, params = key
    stem = f"{name}--{region}"
    if params:
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", "--".join(str(value) for _, value in params)).strip("_")
        if len(readable) > 100:
            # Long parameters (a budget notification) get a stable digest instead.
            readable = readable[:60] + "--" + hashlib.sha256(repr(params).encode()).hexdigest()[:12]
        stem += f"--{readable}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) + ".json"


def write_fact(pack: Path, account, caller: dict | None, result: FactResult) -> str:
    """Write one raw fact's calls (redacted); returns its path relative to the pack."""
    relative = Path("evidence") / account.id / evidence_name(result.key)
    name, region, params = result.key
    document = {
        "account_id": account.id,
        "account_name": account.name,
        "fact": name,
        "description": describe_key(result.key),
        "region": region,
        "parameters": dict(params),
        "caller": caller,
        "calls": [
            {
                "action": call.action,
                "region": call.region,
                "parameters": call.parameters,
                "requested_at": call.requested_at,
                "pages": call.pages,
                "response": call.response,
                "error": call.error,
                "request_ids": call.request_ids,
                "response_dates": call.response_dates,
            }
            for call in result.calls
        ],
        "error": None if result.error is None else {"code": result.error.code, "action": result.error.action, "message": str(result.error)},
    }
    target = os.path.join(pack, relative)
    text = indented(redact(document), default=json_default, sort_keys=True)
    # Atomic, and unique per process and thread: two xdist workers may both record a fact when
    # the first could not note its file for the other (rootguard.distributed.sharing), and a verdict may
    # need a file while the fetching thread still writes it.
    folder, file_name = os.path.split(target)
    temporary = os.path.join(folder, f".{file_name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        stream = open(temporary, "wb")
    except FileNotFoundError:  # the account's first file: its folder is made once, not per file
        os.makedirs(folder, exist_ok=True)
        stream = open(temporary, "wb")
    with stream:
        stream.write(text + b"\n")
    os.replace(temporary, target)
    return relative.as_posix()
