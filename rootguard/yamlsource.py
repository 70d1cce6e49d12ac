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
        return self.error_type(f"{self.path}:{self.line(where)}: {field_name(where)}: {problem}")


def field_name(where: Iterable) -> str:
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


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
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise error_type(f"{shown}:{line}: (file): invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise error_type(f"{shown}:1: (file): invalid YAML: {str(exc).splitlines()[0]}") from None
    doc = Document(path=shown, data=None, error_type=error_type)
    try:
        doc.data = {} if root is None else _build(root, (), doc, loader, [MAX_NODES])
    finally:
        loader.dispose()
    return doc


def _build(node: yaml.Node, where: tuple, doc: Document, loader: yaml.SafeLoader, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise doc.error_type(
            f"{doc.path}:{node.start_mark.line + 1}: {field_name(where)}: document expands to more than "
            f"{MAX_NODES} values (YAML aliases?); refusing it"
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
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise doc.error_type(f"{doc.path}:{node.start_mark.line + 1}: {field_name(where)}: {problem}") from None


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
