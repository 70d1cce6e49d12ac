"""YAML loading that remembers where every value came from, so errors name file, line and field.

Profiles, waiver files and scenarios are written by hand; a typo there must give
one line such as ``profiles/prod.yaml:12: accounts[0].id: ...``, not a traceback.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml

from rootguard.errors import ProfileError

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000  # a hand-written file never gets near this; alias bombs do
MAX_DEPTH = 32  # profiles nest five levels; PyYAML slows with the square of the depth (and recurses)
MAX_FIELD_CHARS = 200  # a message stays one readable line even for a huge key or value
MAX_PROBLEM_CHARS = 400


@dataclass
class Document:
    """A parsed YAML file: plain Python data plus the line of every field path."""

    path: str
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)
    error_type: type[Exception] = ProfileError

    def line(self, where: tuple) -> int:
        # Fall back to the nearest enclosing field that has a known line.
        while where and where not in self.lines:
            where = where[:-1]
        return self.lines.get(where, 1)

    def error(self, where: tuple, problem: str) -> Exception:
        return self.error_type(f"{self.path}:{self.line(where)}: {field_name(where)}: {shorten(problem, MAX_PROBLEM_CHARS)}")


def field_name(where: Iterable) -> str:
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part)
            # A key with a line break or an escape code must not break the one-line message.
            text += ("." if text else "") + (name if name.isprintable() else repr(name))
    return shorten(text, MAX_FIELD_CHARS) or "(top level)"


def shorten(text: str, limit: int) -> str:
    """`text`, or its start and end around " ... " when longer than `limit`: both ends say what is wrong."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def read_document(path: str, error_type: type[Exception] = ProfileError, shown_as: str | None = None) -> Document:
    shown = shown_as or path
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or device would block or never end.
            raise error_type(f"{shown}:0: (file): not a regular file")
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise error_type(f"{shown}:1: (file): {size} bytes is too large for a rootguard file (limit {MAX_FILE_BYTES})")
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise error_type(f"{shown}:0: (file): no such file") from None
    except IsADirectoryError:
        raise error_type(f"{shown}:0: (file): is a directory, not a YAML file") from None
    except PermissionError:
        raise error_type(f"{shown}:0: (file): not readable (permission denied)") from None
    except OSError as exc:
        raise error_type(f"{shown}:0: (file): cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error_type(f"{shown}:{line}: (file): not UTF-8 text") from None
    return parse_document(text, shown, error_type)


def parse_document(text: str, shown: str, error_type: type[Exception] = ProfileError) -> Document:
    if "\x00" in text:
        raise error_type(f"{shown}:{text[: text.index(chr(0))].count(chr(10)) + 1}: (file): binary data, not YAML")
    try:
        # The reader checks every character up front, so a control character fails here.
        loader = _CountingLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise error_type(f"{shown}:{line}: (file): character U+{exc.character:04X} is not allowed in YAML") from None
    try:
        root = loader.get_single_node()
    except _Refused as exc:
        raise error_type(f"{shown}:{exc.line}: (file): {exc.problem}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = shorten(exc.problem or exc.context or "invalid YAML", MAX_PROBLEM_CHARS)
        raise error_type(f"{shown}:{line}: (file): invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise error_type(f"{shown}:1: (file): invalid YAML: {shorten(str(exc).splitlines()[0], MAX_PROBLEM_CHARS)}") from None
    doc = Document(path=shown, data=None, error_type=error_type)
    try:
        doc.data = {} if root is None else _build(root, (), doc, loader, [MAX_NODES])
    finally:
        loader.dispose()
    return doc


class _Refused(Exception):
    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line = line
        self.problem = problem


class _CountingLoader(yaml.SafeLoader):
    """Stops composing past MAX_NODES values or MAX_DEPTH levels, before the cost grows.

    PyYAML is pure Python here: a megabyte of `[0,0,0,...` takes it 20 s to compose, and
    every token costs as much as the nesting is deep; thousands of `[` overflow its recursion.
    """

    def __init__(self, text: str):
        super().__init__(text)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent, index):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refused(self.peek_event().start_mark.line + 1, f"document has more than {MAX_NODES} values; refusing it")
        if self.depth > MAX_DEPTH:
            raise _Refused(self.peek_event().start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _build(node: yaml.Node, where: tuple, doc: Document, loader: yaml.SafeLoader, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise doc.error_type(
            f"{doc.path}:{node.start_mark.line + 1}: {field_name(where)}: document expands to more than "
            f"{MAX_NODES} values (YAML aliases?); refusing it"
        )
    if len(where) > MAX_DEPTH:
        raise doc.error_type(
            f"{doc.path}:{node.start_mark.line + 1}: {field_name(where)}: nested more than {MAX_DEPTH} levels deep "
            "through aliases (an alias inside itself?)"
        )
    doc.lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise doc.error_type(f"{doc.path}:{key_node.start_mark.line + 1}: {field_name(where)}: keys must be plain names")
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise doc.error_type(f"{doc.path}:{key_node.start_mark.line + 1}: {field_name(where)}: merge keys (<<) are not supported")
            key = _scalar(key_node, where, doc, loader)
            if not isinstance(key, (str, int)):
                raise doc.error_type(f"{doc.path}:{key_node.start_mark.line + 1}: {field_name(where)}: keys must be plain names")
            key = str(key)
            if key in result:
                raise doc.error_type(f"{doc.path}:{key_node.start_mark.line + 1}: {field_name(where + (key,))}: given twice")
            doc.lines[where + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(value_node, where + (key,), doc, loader, budget)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, where + (index,), doc, loader, budget) for index, item in enumerate(node.value)]
    return _scalar(node, where, doc, loader)


def _scalar(node: yaml.Node, where: tuple, doc: Document, loader: yaml.SafeLoader) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = shorten(getattr(exc, "problem", None) or str(exc).splitlines()[0], MAX_PROBLEM_CHARS)
        raise doc.error_type(f"{doc.path}:{node.start_mark.line + 1}: {field_name(where)}: {problem}") from None
    except Exception as exc:
        # SafeConstructor raises plain ValueError, KeyError, IndexError or AttributeError for a value
        # that looks like (or is tagged as) a date or number but is none: 2024-02-30, !!int "".
        kind = SCALAR_KINDS.get(node.tag, node.tag)
        reason = f" ({str(exc).split(';')[0]})" if isinstance(exc, ValueError) else ""
        problem = shorten(f"{shorten(repr(node.value), 80)} is not a valid {kind}{reason}", MAX_PROBLEM_CHARS)
        raise doc.error_type(f"{doc.path}:{node.start_mark.line + 1}: {field_name(where)}: {problem}") from None


SCALAR_KINDS = {
    "tag:yaml.org,2002:int": "whole number",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:timestamp": "date (YYYY-MM-DD)",
}


# --- small validators shared by profile, waiver and scenario schemas ---------------------------


def expect_mapping(doc: Document, value: Any, where: tuple, allowed: Iterable[str], required: Iterable[str] = ()) -> dict:
    if not isinstance(value, dict):
        raise doc.error(where, f"expected a mapping, got {type_name(value)}")
    allowed = list(allowed)
    for key in value:
        if key not in allowed:
            raise doc.error(where + (key,), f"unknown key (known: {', '.join(allowed)})")
    for key in required:
        if key not in value or value[key] is None:
            raise doc.error(where, f"missing required key '{key}'")
    return value


def expect_type(doc: Document, value: Any, where: tuple, kind: type | tuple, label: str) -> Any:
    # bool is an int in Python; a profile field that wants a number must not take `yes`.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise doc.error(where, f"expected {label}, got a boolean")
    if not isinstance(value, kind):
        raise doc.error(where, f"expected {label}, got {type_name(value)}")
    return value


def expect_list(doc: Document, value: Any, where: tuple, item: Callable[[Any, tuple], Any]) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(where, f"expected a list, got {type_name(value)}")
    return [item(entry, where + (index,)) for index, entry in enumerate(value)]


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        dict: "a mapping",
        list: "a list",
        str: f"the text {value!r}" if isinstance(value, str) and len(value) < 60 else "a text",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
