"""Bad input: generated profile and waiver files load, or fail as one line naming file and line.

A profile or waiver file is written by hand, copied between repositories and sometimes
generated; whatever it holds, rootguard must answer with a Profile (or waivers), or with
one `file:line: field: problem` line and exit code 4, never a traceback or a hang.

Hypothesis draws the files: valid profiles and waivers with one mutation (a wrong type, an
unknown key, a missing key), deep nesting, alias bombs, binary garbage, oversized files and
unusual YAML. Every property runs with `derandomize=True` and no example database, so CI
tries the same inputs on every run and a failure reproduces; a deadline turns a slow input
into a failure, and `finishes` turns a hang into one.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import socket
import string
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from botocore.client import BaseClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rootguard.profile import yamlsource
from rootguard.errors import ProfileError
from rootguard.profile import PARAM_DEFAULTS, TOP_LEVEL, Profile, Waiver, load_profile
from rootguard.profile.waivers import covers, load_waivers_file

REPO = Path(__file__).resolve().parent.parent
KINDS = ("profile", "waivers")
HANG_SECONDS = 20


def bad_input(max_examples: int):
    """Deterministic (derandomize, no database) so CI tries the same files every run."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=2000,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# --- loading and judging one file ---------------------------------------------------------------


def finishes(call, seconds: float = HANG_SECONDS):
    """call(), failing the test instead of hanging it when it does not return in time."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still loading after {seconds} s: a hang"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@contextmanager
def input_file(content: bytes | str, name: str = "input.yaml"):
    """A fresh folder holding one file with exactly these bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as handle:
            handle.write(content.encode("utf-8") if isinstance(content, str) else content)
        yield path


def load(kind: str, path: str):
    return load_profile(path, REPO) if kind == "profile" else load_waivers_file(path)


def judged(kind: str, path: str, content: bytes | str | None = None) -> str | None:
    """None when `path` loads; else its error, checked to be one line naming the file and a line.

    Any exception other than ProfileError escapes and fails the test with its traceback.
    """
    try:
        loaded = finishes(lambda: load(kind, path))
    except ProfileError as exc:
        message = str(exc)
    else:
        if kind == "profile":
            assert isinstance(loaded, Profile)
        else:
            assert isinstance(loaded, tuple) and all(isinstance(waiver, Waiver) for waiver in loaded)
        return None
    assert len(message.splitlines()) == 1 and "\n" not in message and "\r" not in message, repr(message)
    found = re.match(re.escape(path) + r":(\d+): \S", message)
    assert found, message
    if content is not None:
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        assert 1 <= int(found.group(1)) <= len(text.splitlines()) + 1, message
    assert len(message) <= len(path) + 700, message[:2000]
    return message


def judge_text(kind: str, content: bytes | str) -> str | None:
    with input_file(content) as path:
        message = judged(kind, path, content)
    # Strip the temporary folder so callers can compare messages.
    return None if message is None else message[len(path) :]


# --- valid files, the starting point of mutations -----------------------------------------------

ACCOUNT_IDS = st.from_regex(r"\A[0-9]{12}\Z")
NAMES = st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=20).filter(str.strip)
ROLE_NAMES = st.from_regex(r"\A[A-Za-z0-9+=,.@_-]{1,40}\Z")
EXTERNAL_IDS = st.from_regex(r"\A[A-Za-z0-9+=,.@:/_-]{2,40}\Z")
REGIONS = st.sampled_from(["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "us-gov-west-1"])
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
CONTROL_IDS = st.from_regex(r"\A[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}\Z")
PATTERNS = (
    st.text(alphabet="0123456789*?[]!-^\\{}", min_size=1, max_size=24)
    | st.sampled_from(["[", "[!", "[]", "[!]", "]", "\\", "[0-", "[9-0]*", "[[:digit:]]*", "(", "{1,2}", "?" * 12, "*" * 200, "1234*"])
    | st.text(min_size=1, max_size=24)
)
WAIVER_REQUIRED = ("control", "justification", "approved_by", "expires")


@st.composite
def waivers(draw) -> dict:
    waiver = {"control": draw(CONTROL_IDS)}
    ids = draw(st.lists(ACCOUNT_IDS, max_size=3))
    pattern = draw(st.none() | PATTERNS)
    if ids or pattern is None:
        waiver["accounts"] = ids or [draw(ACCOUNT_IDS)]
    if pattern is not None:
        waiver["account_pattern"] = pattern
    waiver.update(justification=draw(NAMES), approved_by=draw(NAMES), expires=draw(DATES))
    return waiver


@st.composite
def profiles(draw) -> dict:
    data: dict = {}
    if draw(st.booleans()):
        data["description"] = draw(NAMES)
    if draw(st.booleans()):
        data["backend"] = "live"
    if draw(st.booleans()):
        data["endpoint_url"] = draw(st.sampled_from(["http://localhost:5000", "https://moto.example.com:4566/x"]))
    data["home_region"] = draw(REGIONS)
    data["regions"] = draw(st.just("all") | st.lists(REGIONS, min_size=1, max_size=3))
    if draw(st.booleans()):
        data["credentials"] = {"aws_profile": draw(NAMES)}
        if draw(st.booleans()):
            hub = draw(ACCOUNT_IDS)
            data["credentials"].update(role_arn=f"arn:aws:iam::{hub}:role/{draw(ROLE_NAMES)}", external_id=draw(EXTERNAL_IDS))
    accounts = []
    for account_id in draw(st.lists(ACCOUNT_IDS, min_size=1, max_size=3, unique=True)):
        account = {"id": account_id, "name": draw(NAMES)}
        reach = draw(st.sampled_from(["hub", "role", "profile"]))
        if reach == "role":
            account["role_arn"] = f"arn:aws:iam::{account_id}:role/{draw(ROLE_NAMES)}"
            if draw(st.booleans()):
                account["external_id"] = draw(EXTERNAL_IDS)
        elif reach == "profile":
            account["aws_profile"] = draw(NAMES)
        accounts.append(account)
    data["accounts"] = accounts
    if draw(st.booleans()):
        ous = st.from_regex(r"\Aou-[0-9a-z]{4}-[0-9a-z]{8}\Z") | st.from_regex(r"\A[A-Z][a-z]{2,10}\Z")
        data["organization"] = {
            "role_name": draw(ROLE_NAMES),
            "include_ous": draw(st.lists(ous, max_size=2)),
            "exclude_accounts": draw(st.lists(ACCOUNT_IDS, max_size=2)),
        }
    if draw(st.booleans()):
        data["vending"] = {"role_name": draw(ROLE_NAMES), "wait_seconds": draw(st.integers(0, 3600)), "retry_seconds": draw(st.integers(1, 300))}
    if draw(st.booleans()):
        data["params"] = {
            "root_recent_use_days": draw(st.integers(1, 10_000)),
            "require_mfa_delete": draw(st.booleans()),
            "scp_root_allowed_actions": draw(st.lists(st.from_regex(r"\A[a-z0-9-]{2,10}:[A-Za-z0-9*?]{1,12}\Z"), max_size=2)),
        }
    if draw(st.booleans()):
        data["gate"] = {"min_severity": draw(st.sampled_from(["low", "medium", "high", "critical"]))}
    if draw(st.booleans()):
        data["waivers"] = draw(st.lists(waivers(), min_size=1, max_size=2))
    return data


@st.composite
def waiver_files(draw):
    listed = draw(st.lists(waivers(), min_size=1, max_size=3))
    return {"waivers": listed} if draw(st.booleans()) else listed


def valid(kind: str):
    return profiles() if kind == "profile" else waiver_files()


def dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**9)


# --- mutations ----------------------------------------------------------------------------------

KNOWN_KEYS = {
    *TOP_LEVEL, *PARAM_DEFAULTS, "aws_profile", "role_arn", "external_id", "id", "name", "role_name", "include_ous",
    "exclude_accounts", "wait_seconds", "retry_seconds", "min_severity", "control", "account_pattern", "justification",
    "approved_by", "expires",
}


def every_place(value, where: tuple = ()):
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from every_place(item, where + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from every_place(item, where + (index,))


def replaced(data, where: tuple, new):
    data = copy.deepcopy(data)
    if not where:
        return new
    parent = data
    for part in where[:-1]:
        parent = parent[part]
    parent[where[-1]] = new
    return data


def field(where: tuple) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return text or "(top level)"


def kind_of(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dt.date):
        return "date"
    return type(value).__name__


WRONG_VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(),
    st.text(max_size=30),
    st.dates(),
    st.datetimes(),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers() | st.none(), max_size=3),
)
JUNK = st.none() | WRONG_VALUES
MARKER_KEYS = st.from_regex(r"\Azz[a-z0-9_]{1,12}\Z")


@st.composite
def with_unknown_key(draw, kind: str):
    data = draw(valid(kind))
    mappings = [where for where, value in every_place(data) if isinstance(value, dict)]
    where = draw(st.sampled_from(mappings))
    key = draw(MARKER_KEYS | st.text(min_size=1, max_size=30))
    assume(key not in KNOWN_KEYS)
    target = copy.deepcopy(data)
    parent = target
    for part in where:
        parent = parent[part]
    parent[key] = draw(JUNK)
    return target, where + (key,)


@st.composite
def with_wrong_type(draw, kind: str):
    data = draw(valid(kind))
    where, old = draw(st.sampled_from(list(every_place(data))[1:]))  # whole-file values: WHOLE_FILES
    new = draw(WRONG_VALUES)
    return replaced(data, where, new), where, old, new


@st.composite
def with_key_missing(draw, kind: str):
    data = draw(valid(kind))
    places = [(where, key) for where, value in every_place(data) if isinstance(value, dict) for key in value]
    where, key = draw(st.sampled_from(places))
    target = copy.deepcopy(data)
    parent = target
    for part in where:
        parent = parent[part]
    del parent[key]
    return target, where, key


def required_keys(kind: str, where: tuple) -> tuple[str, ...]:
    if kind == "profile":
        if len(where) == 2 and where[0] == "accounts":
            return ("id",)
        return WAIVER_REQUIRED if len(where) == 2 and where[0] == "waivers" else ()
    if where == ():
        return ("waivers",)
    return WAIVER_REQUIRED if isinstance(where[-1], int) else ()


def must_be_refused(where: tuple, old, new) -> bool:
    """A value of another kind than the valid one is an error, except where rootguard takes both."""
    if kind_of(old) == kind_of(new):
        return False
    if where[-1] == "external_id" and kind_of(new) == "int":
        return False  # an all-digit external id may be written unquoted
    return not (where == ("regions",) and new == "all")


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=25)
@given(data=st.data())
def test_generated_valid_files_load(kind, data):
    """The mutations below start from files that load; a mutation's error is then its own."""
    assert judge_text(kind, dump(data.draw(valid(kind)))) is None


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=40)
@given(data=st.data())
def test_unknown_key_at_any_level_names_the_key_and_its_line(kind, data):
    mutated, where = data.draw(with_unknown_key(kind))
    text = dump(mutated)
    message = judge_text(kind, text)
    assert message is not None and "unknown key" in message, message
    key = where[-1]
    if re.fullmatch(r"zz[a-z0-9_]+", key):
        line = next(number for number, content in enumerate(text.splitlines(), 1) if f"{key}:" in content)
        assert message.startswith(f":{line}: {field(where)}: unknown key"), (message, line)


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=60)
@given(data=st.data())
def test_wrong_type_anywhere_loads_or_names_the_field(kind, data):
    mutated, where, old, new = data.draw(with_wrong_type(kind))
    message = judge_text(kind, dump(mutated))
    if must_be_refused(where, old, new):
        # The field itself, or for a list or mapping of the wrong contents, a field inside it.
        assert message is not None and re.search(f": {re.escape(field(where))}[.\\[:]", message), (message, where, new)


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=30)
@given(data=st.data())
def test_missing_key_loads_or_names_it(kind, data):
    mutated, where, key = data.draw(with_key_missing(kind))
    message = judge_text(kind, dump(mutated))
    if key in required_keys(kind, where):
        assert message is not None and f": {field(where)}: missing required key '{key}'" in message, message


# --- hostile structure --------------------------------------------------------------------------


@st.composite
def deep_nesting(draw) -> tuple[str, int]:
    """A file nested `depth` levels deep in one of YAML's ways, and the level of its deepest value."""
    depth = draw(st.integers(1, 30) | st.integers(30, 36) | st.integers(300, 2_000) | st.integers(2_000, 20_000))
    style = draw(st.sampled_from(["flow-list", "flow-map", "block-list", "block-map", "mixed", "unclosed", "aliases"]))
    if style == "block-map":
        depth = min(depth, 300)  # indentation grows with the square of the depth
        return "".join("  " * level + "a:\n" for level in range(depth)) + "  " * depth + "x\n", depth
    if style == "aliases":
        depth = min(depth, 2_000)
        body = "".join(f"a{level}: &a{level} [*a{level - 1}]\n" for level in range(1, depth))
        return f"a0: &a0 [x]\n{body}", depth + 1
    body = {
        "flow-list": "[" * depth + "x" + "]" * depth,
        "flow-map": "{a: " * depth + "x" + "}" * depth,
        "block-list": "- " * depth + "x",
        "mixed": "[{a: " * depth + "x" + "}]" * depth,
        "unclosed": draw(st.sampled_from("[{")) * depth,
    }[style]
    deepest = {"mixed": 2 * depth, "unclosed": depth - 1}.get(style, depth)
    prefix = draw(st.sampled_from(["", "description: ", "accounts: ", "waivers: ", "- "]))
    if style == "block-list" and prefix.endswith(": "):
        prefix = prefix.rstrip() + "\n"  # a block list starts on the line after its key
    return prefix + body + "\n", deepest + (1 if prefix else 0)


def alias_bomb(levels: int, fanout: int, mappings: bool) -> tuple[str, int]:
    """A "billion laughs" file, and the number of values it expands to."""
    def collection(items: list[str]) -> str:
        return "{" + ", ".join(f"k{index}: {item}" for index, item in enumerate(items)) + "}" if mappings else f"[{', '.join(items)}]"

    lines = [f"a0: &a0 {collection(['lol'] * fanout)}"]
    size = total = 1 + fanout
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} {collection([f'*a{level - 1}'] * fanout)}")
        size = 1 + fanout * size
        total += size
    return "\n".join(lines) + "\n", 1 + total


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=25)
@given(nesting=deep_nesting())
def test_deep_nesting_is_refused_not_a_recursion_error(kind, nesting):
    text, deepest = nesting
    message = judge_text(kind, text)
    assert message is not None
    assert (f"nested more than {yamlsource.MAX_DEPTH} levels deep" in message) == (deepest > yamlsource.MAX_DEPTH), (deepest, message)


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=12)
@given(levels=st.integers(1, 40), fanout=st.integers(1, 12), mappings=st.booleans())
def test_alias_bombs_are_refused_at_the_value_budget(kind, levels, fanout, mappings):
    text, values = alias_bomb(levels, fanout, mappings)
    message = judge_text(kind, text)
    assert message is not None
    if levels + 1 > yamlsource.MAX_DEPTH:
        assert "more than" in message, message
    else:
        assert (f"more than {yamlsource.MAX_NODES} values" in message) == (values > yamlsource.MAX_NODES), (values, message)


# --- bytes that are not YAML, and sizes past the cap --------------------------------------------

NOT_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=60)
@given(content=st.binary(max_size=2_000) | st.binary(min_size=1, max_size=64).map(lambda chunk: chunk * 500))
def test_random_bytes(kind, content):
    judge_text(kind, content)


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=40)
@given(data=st.data())
def test_a_nul_byte_or_invalid_utf8_anywhere_names_its_line(kind, data):
    text = dump(data.draw(valid(kind)))
    at = data.draw(st.integers(0, len(text)))  # between characters: a NUL inside one would be bad UTF-8 first
    inserted = data.draw(st.sampled_from([b"\x00", *NOT_UTF8]))
    content = text[:at].encode("utf-8") + inserted + text[at:].encode("utf-8")
    message = judge_text(kind, content)
    line = text[:at].count("\n") + 1
    expected = "binary data, not YAML" if inserted == b"\x00" else "not UTF-8 text"
    assert message == f":{line}: (file): {expected}", message


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=10)
@given(data=st.data())
def test_files_over_the_size_cap_are_refused_unread(kind, data):
    size = data.draw(st.integers(yamlsource.MAX_FILE_BYTES + 1, 64 * yamlsource.MAX_FILE_BYTES))
    head = dump(data.draw(valid(kind))).encode("utf-8")
    with input_file(head) as path:
        os.truncate(path, size)  # sparse: the tail is NUL bytes that take no disk space
        message = judged(kind, path)
    assert message.endswith(f":1: (file): {size} bytes is too large for a rootguard file (limit {yamlsource.MAX_FILE_BYTES})")


def test_a_file_at_the_size_cap_still_loads():
    """The cap refuses only what is over it: exactly MAX_FILE_BYTES of profile loads."""
    head = 'accounts: [{id: "123456789012"}]\ndescription: '
    content = head + "x" * (yamlsource.MAX_FILE_BYTES - len(head) - 1) + "\n"
    assert len(content.encode()) == yamlsource.MAX_FILE_BYTES
    assert judge_text("profile", content) is None


# --- unusual YAML -------------------------------------------------------------------------------

ODD_SNIPPETS = [
    "!!python/object:os.system {}", "!!python/object/apply:os.system [echo hi]", "!!python/name:os.system ''",
    "!!binary aGVsbG8=", "!!binary '%%%'", "!!set {a, b}", "!!omap [a: 1]", "!!timestamp nope", "!!int ''",
    "!!int 0x", "!!float x", "!!bool maybe", "!custom x", "!<tag:example.com,2000:x> y", "!!str", "!!null x",
    "!!map [a]", "!!seq {a: 1}", "!" + "t" * 3_000 + " x", "!e%0Ascape x",
    "---", "...", "--- !!map", "%YAML 1.1\n---", "%YAML 9.9\n---", "%TAG ! tag:example.com,2000:\n---", "--- |\n  text",
    "&anchor value", "*anchor", "*undefined", "&a [*a]", "&a {k: *a}", "&" + "b" * 3_000 + " x", "*" + "c" * 3_000,
    "<<: {a: 1}", "<<: *anchor", "<<: [*anchor, *anchor]",
    "? [a, b]\n: 1", "? {a: 1}\n: 2", "1.5: x", "null: x", "~: x", "2024-01-01: x", "true: x", "0x1F: x", ": x",
    "dup: 1\ndup: 2", "description: a\ndescription: b",
    "x: " + "y" * 5_000, "? " + "k" * 2_000 + "\n: v", "k" * 1_100 + ": v",
    '"\\x01\\x1b[31m\\u2028\\0"', "a\x85b", "\u2028", "\u2029", "\x7f", "\x1b[2J", "\x01", "\ufffe", "\t", "\r", "\r\n", "\x0c",
    "\ufeff", "# only a comment", "", " ", "{", "}", "[", "]", "'", '"', "|", ">", "- ", ":", "? ", "@", "`", "%",
    "1e400", "-.inf", ".nan", "0o777", "0b102", "1_000", "9" * 5_000, "2024-02-30", "2024-13-01T25:61:61Z", "0000-01-01",
    "'2024-12-31'", "\\", "\U0001F600: \U0001F600",
]
WHOLE_FILES = ["", "\n", "   \n\t\n", "# only\n# comments\n", "---\n", "...\n", "~\n", "null\n", "[]\n", "{}\n", '""\n', "\ufeff",
               "---\n---\n", "%YAML 1.2\n", "- \n", "0\n", "true\n", "2024-01-01\n"]


@st.composite
def unusual_documents(draw, kind: str) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(WHOLE_FILES))
    lines = dump(draw(valid(kind))).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        snippet = draw(st.sampled_from(ODD_SNIPPETS))
        at = draw(st.integers(0, len(lines)))
        how = draw(st.sampled_from(["line", "indented", "value", "append"]))
        if how == "line" or not lines or at == len(lines):
            lines.insert(at, snippet)
        elif how == "indented":
            indent = len(lines[at]) - len(lines[at].lstrip(" "))
            lines.insert(at, " " * indent + snippet)
        elif how == "value" and ": " in lines[at]:
            lines[at] = lines[at].split(": ", 1)[0] + ": " + snippet
        else:
            lines[at] += snippet
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return draw(st.sampled_from(["", "", "\ufeff"])) + newline.join(lines) + newline


YAMLISH = st.text(alphabet=string.ascii_letters[:6] + string.digits[:3] + " \t\n-:?[]{},&*!|>'\"%@#.~<=\\", max_size=200)


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=100)
@given(data=st.data())
def test_unusual_yaml(kind, data):
    judge_text(kind, data.draw(unusual_documents(kind)))


@pytest.mark.parametrize("kind", KINDS)
@bad_input(max_examples=100)
@given(text=YAMLISH | st.text(max_size=100))
def test_yaml_punctuation_soup(kind, text):
    judge_text(kind, text)


# --- waivers: dates and patterns ----------------------------------------------------------------

WRONG_DATES = st.sampled_from(
    ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01", "31/12/2024", "12/31/2024", "20241231", "2024-12",
     "2024-12-31T25:00:00", "2024-12-31 10:00:00 +25:00", "tomorrow", "'2024-12-31'", '""', "[2024-12-31]", "{}", "!!timestamp x",
     "2024-1-1", "9999-12-31", "2024-12-31T23:59:59Z", "1e3", "-1", "yes"]
) | st.from_regex(r"\A[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}\Z")


def read_by_yaml(text: str):
    try:
        return yaml.safe_load(text)
    except Exception as exc:  # what PyYAML itself cannot read is not a date either
        return exc


@bad_input(max_examples=60)
@given(entries=st.lists(waivers(), min_size=1, max_size=2), expires=WRONG_DATES, index=st.integers(0, 1), mapping=st.booleans())
def test_waiver_expires_loads_only_as_a_real_date(entries, expires, index, mapping):
    """Whatever PyYAML reads as a date or time loads; anything else is refused on the `expires` line."""
    lines = dump({"waivers": entries} if mapping else entries).splitlines()
    at = [number for number, content in enumerate(lines) if content.lstrip(" -").startswith("expires:")][index % len(entries)]
    lines[at] = lines[at].split("expires:")[0] + "expires: " + expires
    message = judge_text("waivers", "\n".join(lines) + "\n")
    if isinstance(read_by_yaml(expires), dt.date):
        assert message is None, message
    else:
        assert message is not None and message.startswith(f":{at + 1}: ") and "expires" in message, message


@bad_input(max_examples=60)
@given(pattern=PATTERNS | st.text(max_size=300))
def test_any_account_pattern_loads_and_matches_without_error(pattern):
    """fnmatch turns a pattern into a regex; a stray `[` or `\\` must neither fail the load nor the match."""
    entry = {"control": "root-mfa", "account_pattern": pattern, "justification": "j", "approved_by": "a", "expires": dt.date(2099, 1, 1)}
    text = dump([entry])
    with input_file(text) as path:
        (waiver,) = finishes(lambda: load_waivers_file(path))
    assert waiver.account_pattern == yaml.safe_load(text)[0]["account_pattern"]  # PyYAML folds a dumped U+0085
    for account_id in ("123456789012", "000000000000", "", "[", "\\", pattern):
        assert covers(waiver, "root-mfa", account_id) in (True, False)


# --- regressions: each was a traceback or a wrong message before --------------------------------


DEPTH = yamlsource.MAX_DEPTH
REGRESSIONS = {
    "control-character": ("profile", "description: ok\ndescription2: a\x01b\n", ":2: (file): character U+0001 is not allowed in YAML"),
    "terminal-escape": ("profile", "a: 1\n\x1b[2J\n", ":2: (file): character U+001B is not allowed in YAML"),
    "impossible-date": (
        "waivers",
        "- {control: root-mfa, accounts: ['123456789012'], justification: j, approved_by: a,\n   expires: 2024-02-30}\n",
        ":2: [0].expires: '2024-02-30' is not a valid date (YYYY-MM-DD) (day is out of range for month)",
    ),
    "impossible-month": ("profile", "home_region: 2024-13-01\n", ":1: home_region: '2024-13-01' is not a valid date (YYYY-MM-DD) (month must be in 1..12)"),
    "5000-digit-number": ("profile", "description: " + "9" * 5_000 + "\n", "is not a valid whole number (Exceeds the limit (4300 digits)"),
    "empty-int-tag": ("profile", 'description: !!int ""\n', ":1: description: '' is not a valid whole number"),
    "bad-float-tag": ("profile", "description: !!float abc\n", ":1: description: 'abc' is not a valid number (could not convert string to float: 'abc')"),
    "bad-bool-tag": ("profile", "description: !!bool maybe\n", ":1: description: 'maybe' is not a valid boolean"),
    "bad-timestamp-tag": ("profile", "description: !!timestamp soon\n", ":1: description: 'soon' is not a valid date (YYYY-MM-DD)"),
    "5000-flow-levels": ("profile", "description: " + "[" * 5_000 + "]" * 5_000 + "\n", f":1: (file): nested more than {DEPTH} levels deep"),
    "600-block-levels": ("waivers", "".join("  " * level + "- \n" for level in range(600)), f":{DEPTH + 2}: (file): nested more than {DEPTH} levels deep"),
    "alias-inside-itself": ("profile", "description: &a [*a]\n", f"nested more than {DEPTH} levels deep through aliases (an alias inside itself?)"),
    "key-with-line-break": ("profile", '"a\\nb\\u2028\\e[31m": 1\n', r":1: 'a\nb\u2028\x1b[31m': unknown key"),
    "100kB-value": ("profile", "backend: " + "x" * 100_000 + "\n", ":1: backend: must be 'live' or 'moto', not 'xxx"),
    "5000-character-tag": ("profile", "description: !" + "t" * 5_000 + " x\n", ":1: description: could not determine a constructor for the tag '!ttt"),
    "scenario-name-too-long": ("profile", "backend: moto\nscenario: " + "s" * 300 + "\n", ":2: scenario: file 'sss"),
}


@pytest.mark.parametrize("kind, text, expected", REGRESSIONS.values(), ids=REGRESSIONS.keys())
def test_regressions(kind, text, expected):
    message = judge_text(kind, text)
    assert message is not None and expected in message, message


def test_huge_value_or_key_is_shortened_in_the_message():
    """A megabyte-long value or key must not become a megabyte-long error line."""
    message = judge_text("profile", "backend: " + "x" * 500_000 + "\n")
    assert len(message) < 500 and message.endswith("xxx'")
    message = judge_text("profile", "? " + "k" * 500_000 + "\n: 1\n")
    assert len(message) < 800 and " ... " in message and "unknown key" in message


def test_many_values_are_refused_while_parsing(monkeypatch):
    """The value cap stops the parser early: the syntax error after the cap is never reached."""
    monkeypatch.setattr(yamlsource, "MAX_NODES", 1_000)
    message = judge_text("profile", "[" + "0, " * 1_001 + "\n: : ]\n")
    assert message == ":1: (file): document has more than 1000 values; refusing it"


def test_profile_name_too_long_for_the_file_system():
    """A bare --profile name is looked up in profiles/; a name past NAME_MAX is a usage error there too."""
    name = "p" * 300
    with pytest.raises(ProfileError) as caught:
        load_profile(name, REPO)
    assert str(caught.value) == f"--profile {name}: no profiles/{name}.yaml (profiles available: demo, prod.example, vending.example)"


# --- paths that are not readable files ----------------------------------------------------------


def unreadable_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name -> (path, what the error says)."""
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    regular = tmp_path / "regular.yaml"
    regular.write_text("[]\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    loop_a, loop_b = tmp_path / "loop-a.yaml", tmp_path / "loop-b.yaml"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "gone.yaml")
    to_zero = tmp_path / "zero.yaml"
    to_zero.symlink_to("/dev/zero")
    sock = tmp_path / "s.yaml"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    listener.close()
    paths = {
        "directory": (str(folder), "is a directory, not a YAML file"),
        "missing": (str(tmp_path / "missing.yaml"), "no such file"),
        "parent is a file": (str(regular / "child.yaml"), "cannot be read (Not a directory)"),
        "name too long": (str(tmp_path / ("n" * 300 + ".yaml")), "cannot be read (File name too long)"),
        "fifo": (str(fifo), "not a regular file"),
        "socket": (str(sock), "not a regular file"),
        "symlink loop": (str(loop_a), "cannot be read (Too many levels of symbolic links)"),
        "dangling symlink": (str(dangling), "no such file"),
        "/dev/zero": ("/dev/zero", "not a regular file"),
        "/dev/urandom": ("/dev/urandom", "not a regular file"),
        "/dev/null": ("/dev/null", "not a regular file"),
        "symlink to /dev/zero": (str(to_zero), "not a regular file"),
    }
    assert tuple(paths) == UNREADABLE
    return paths


UNREADABLE = ("directory", "missing", "parent is a file", "name too long", "fifo", "socket", "symlink loop",
              "dangling symlink", "/dev/zero", "/dev/urandom", "/dev/null", "symlink to /dev/zero")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_paths_are_one_line_without_blocking(tmp_path, kind, name):
    path, expected = unreadable_paths(tmp_path)[name]
    with pytest.raises(ProfileError) as caught:
        finishes(lambda: load(kind, path), seconds=10)
    assert str(caught.value) == f"{path}:0: (file): {expected}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode; the open is refused in test_profile.py instead")
@pytest.mark.parametrize("kind", KINDS)
def test_permission_denied(tmp_path, kind):
    path = tmp_path / "locked.yaml"
    path.write_text("[]\n")
    path.chmod(0)
    with pytest.raises(ProfileError, match=r":0: \(file\): not readable \(permission denied\)$"):
        load(kind, str(path))


# --- end to end: exit code 4, one line, no traceback, no AWS call ------------------------------

SUITE = str(REPO / "tests_compliance")
DEMO = str(REPO / "profiles" / "demo.yaml")


def only_line(result_lines: list[str]) -> str:
    lines = [line for line in result_lines if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_deeply_nested_profile_from_the_command_line(tmp_path):
    """A real `python -m pytest --profile FILE` run, as a user or CI job makes it."""
    profile = tmp_path / "deep.yaml"
    profile.write_text("accounts: " + "[" * 50_000 + "\n")
    pack = tmp_path / "pack"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--profile", str(profile), "--report-dir", str(pack), "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 4, output[-3000:]
    assert "Traceback" not in output
    assert only_line(output.splitlines()) == f"ERROR: {profile}:1: (file): nested more than {yamlsource.MAX_DEPTH} levels deep"
    assert not pack.exists()


@pytest.fixture
def no_aws(monkeypatch):
    def refuse(self, operation, params):
        raise AssertionError(f"AWS was called: {operation}")

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)


@pytest.mark.parametrize(
    "option, content, expected",
    [
        ("--profile", alias_bomb(8, 10, False)[0], ":1: a4[7][8][8][8][9]: document expands to more than 100000 values"),
        ("--profile", "\ufeffaccounts:\n  - id: \"123456789012\"\n    \"name\\nx\": a\x01\n", ":3: (file): character U+0001 is not allowed in YAML"),
        ("--waivers", "- {control: root-mfa, accounts: ['123456789012'], justification: j, approved_by: a, expires: 2024-02-30}\n",
         ":1: [0].expires: '2024-02-30' is not a valid date (YYYY-MM-DD)"),
        ("--waivers", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ":1: (file): not UTF-8 text"),
    ],
    ids=["alias-bomb-profile", "control-character-profile", "bad-date-waivers", "binary-waivers"],
)
def test_bad_file_is_exit_4_and_one_line(pytester, no_aws, option, content, expected):
    path = pytester.path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    pack = pytester.path / "pack"
    profile = ["--profile", str(path)] if option == "--profile" else ["--profile", DEMO, "--waivers", str(path)]
    result = pytester.runpytest(SUITE, *profile, "--report-dir", str(pack))
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4
    output = result.outlines + result.errlines
    assert not any("Traceback" in line for line in output)
    line = only_line(result.errlines)
    assert line.startswith(f"ERROR: {path}:") and expected in line, line
    assert not pack.exists()
