"""Exports: the exchange formats (CSV, Excel, OSCAL, OCSF), each written from the pack alone.

An export reads what the pack already holds (results.json, controls.json,
framework-matrix.json and the evidence files) and nothing of the run, so the run and
`rootguard export PACK` write the same bytes for the same pack. Each format is a module
with an Export subclass, registered in rootguard.reports.reporters().
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import sys
import uuid
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from rootguard.evidence.jsontext import parse
from rootguard.evidence.pack import RESULTS, PackError
from rootguard.reports import Reporter

# Names rootguard's own identifiers (OSCAL uuids, OCSF event uids): the same pack gives the same ones.
NAMESPACE = uuid.UUID("7d0c9a6e-3f7a-5b8e-9c1d-2a4b6e8f0a13")


class PackData:
    """What an export may read: the pack's documents, each loaded once, and its evidence files' digests."""

    def __init__(self, pack: Path):
        self.pack = pack
        self._uuids: dict[tuple, str] = {}

    def _load(self, name: str, required: bool = True):
        path = self.pack / name
        try:
            return parse(path.read_bytes())
        except FileNotFoundError:
            if required:
                raise PackError(f"{path}: missing; the exports are written from it") from None
            return None
        except (OSError, ValueError) as exc:
            raise PackError(f"{path}: unreadable ({exc})") from None

    @cached_property
    def results(self) -> dict:
        return self._load(RESULTS)

    @cached_property
    def population(self) -> dict | None:
        """population.json; None in a pack written before it existed."""
        return self._load("population.json", required=False)

    @cached_property
    def matrix(self) -> dict:
        return self._load("framework-matrix.json", required=False) or {}

    @cached_property
    def controls(self) -> dict[str, dict]:
        """controls.json by control id; a pack written before controls.json existed has only what results.json says."""
        document = self._load("controls.json", required=False)
        if document is not None:
            return {entry["id"]: entry for entry in document["controls"]}
        known: dict[str, dict] = {}
        for entry in self.results["results"]:
            known.setdefault(
                entry["control"],
                {"id": entry["control"], "title": entry.get("title", ""), "severity": entry["severity"], "frameworks": entry["frameworks"]},
            )
        return known

    @cached_property
    def digests(self) -> dict[str, str]:
        """SHA-256 of every evidence file the results name, by pack-relative path."""
        return self._evidence[0]

    @cached_property
    def calls(self) -> dict[str, list[dict]]:
        """Per evidence file, the AWS calls it records: action, region, and the error code of a refused one."""
        return self._evidence[1]

    @cached_property
    def _evidence(self) -> tuple[dict[str, str], dict[str, list[dict]]]:
        # Each file read once, for both its digest and its calls: at a thousand accounts they are tens of thousands.
        digests, calls = {}, {}
        for path in sorted({path for entry in self.results["results"] for path in entry["evidence"]}):
            try:
                raw = (self.pack / path).read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise PackError(f"{self.pack / path}: unreadable evidence ({exc})") from None
            digests[path] = hashlib.sha256(raw).hexdigest()
            try:
                document = parse(raw)
            except ValueError as exc:
                raise PackError(f"{self.pack / path}: unreadable evidence ({exc})") from None
            calls[path] = [
                {"action": call["action"], "region": call["region"], "error": (call.get("error") or {}).get("Code")}
                for call in document.get("calls", [])
            ]
        return digests, calls

    @cached_property
    def identity(self) -> str:
        """The sweep as one string: profile, start and shard. A replay re-performs the sweep it names, so it
        keeps that sweep's identity, and its exports name the same observations and findings."""
        data = self.results
        started = (data.get("replay_of") or {}).get("started_at") or data["started_at"]
        return f"{data['profile']}|{started}|{data.get('shard') or ''}"

    def uuid(self, *parts: str) -> str:
        # A verdict's observation is named once by itself and again by each finding it supports.
        known = self._uuids.get(parts)
        if known is None:
            known = self._uuids[parts] = str(uuid.uuid5(NAMESPACE, "|".join((self.identity, *parts))))
        return known

    @property
    def started(self) -> dt.datetime:
        return parse_time(self.results["started_at"])

    @property
    def finished(self) -> dt.datetime:
        return parse_time(self.results.get("finished_at") or self.results["started_at"])


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def framework_titles(matrix: dict) -> dict[str, str]:
    """Framework key -> "title version", as the pack's matrix names them."""
    return {key: f"{entry['title']} {entry['version']}".strip() for key, entry in matrix.items()}


class Export(Reporter):
    """An exchange format: one file (`filename`) of the pack, written from the pack's own documents."""

    export = True
    filename = ""
    media_type = ""
    # Written by a second process while the run finishes its other reports (rootguard.reports.aside).
    aside = False

    @classmethod
    def active(cls, config) -> bool:
        chosen = config.getoption("export", None) if config is not None else None
        return chosen is None or cls.name in chosen

    def stream(self, data: PackData, out: BinaryIO) -> None:
        """Write the export to `out` as it is made: a thousand accounts' worth is never held at once."""
        raise NotImplementedError

    def render(self, data: PackData) -> bytes:
        out = io.BytesIO()
        self.stream(data, out)
        return out.getvalue()

    def write(self, ending) -> None:
        # The pack's documents are written (the reports before the exports): the exports
        # written aside start now, in one child, and write while the run goes on.
        if self.aside:
            from rootguard.reports import aside

            if aside.pays(len(self.verdicts)):
                aside.start(self.sweep.pack, [e for e in exports() if e.aside and e.active(self.config)])

    def finish(self, ending) -> dict:
        # Written last, after pytest-html and JUnit have written theirs and let go of their
        # documents: the exports' libraries then take memory the sweep no longer holds.
        said = None
        if self.aside:
            from rootguard.reports import aside

            child = aside.running(self.sweep.pack)
            said = child.result(self.name) if child is not None else None
        if said is None:
            try:
                write_export(self, packdata(self.sweep.pack), self.sweep.pack)
                said = {}
            except Exception as exc:  # noqa: BLE001 - an export must not cost the pack its manifest
                said = {"error": failure_text(exc)}
        if said.get("error"):
            print(f"rootguard: the {self.name} export ({self.filename}) was not written: {said['error']}", file=sys.stderr)
            return {"file": None, "error": said["error"]}
        return {"file": self.filename, "media_type": self.media_type}


def failure_text(exc: Exception) -> str:
    """Why an export was not written, in one line: a pack's own problem as it says it, anything else with its type."""
    return str(exc) if isinstance(exc, PackError) else f"{type(exc).__name__}: {exc}"


def write_export(export: Export, data: PackData, directory: Path) -> Path:
    target = directory / export.filename
    temporary = target.with_name(target.name + ".tmp")
    with open(temporary, "wb") as out:
        export.stream(data, out)
    os.replace(temporary, target)
    return target


_loaded: dict[Path, tuple[tuple, PackData]] = {}


def packdata(pack: Path) -> PackData:
    """One PackData for the exports of one run: results.json is parsed once, not once per format."""
    stamp = os.stat(pack / RESULTS).st_mtime_ns, os.stat(pack / RESULTS).st_size
    known = _loaded.get(pack)
    if known is None or known[0] != stamp:
        _loaded.clear()
        _loaded[pack] = (stamp, PackData(pack))
    return _loaded[pack][1]


def forget() -> None:
    """Let go of the pack's documents once every export is written."""
    _loaded.clear()


def exports() -> list[type[Export]]:
    from rootguard.reports import reporters

    return [r for r in reporters() if getattr(r, "export", False)]


def export_names() -> list[str]:
    return [e.name for e in exports()]


def export_option(value: str) -> tuple[str, ...]:
    """--export's value: `csv,oscal`, `all` or `none`."""
    known = export_names()
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    if chosen == ["all"]:
        return tuple(known)
    if chosen == ["none"]:
        return ()
    unknown = [name for name in chosen if name not in known]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{value!r}: choose from {', '.join(known)}, comma-separated, or all or none")
    return tuple(dict.fromkeys(chosen))



def export_pack(pack: Path, names: tuple[str, ...], output: Path | None = None) -> list[Path]:
    """Write the chosen exports of a verified pack: into it (its manifest then covers them), or into `output`.

    The pack must match its manifest: re-hashing a changed pack would launder the change. A
    signed or signed-off pack is left as it is (its signature and sign-offs cover the manifest's
    exact bytes); its exports go to `output`.
    """
    from rootguard.evidence.pack import SIGNATURE, verify, write_manifest
    from rootguard.evidence.signoff import has_signoffs

    checked = verify(pack)
    if not checked.ok:
        problems = len(checked.changed) + len(checked.added) + len(checked.missing)
        raise PackError(f"{pack}: {problems} file(s) differ from its manifest; run `rootguard verify {pack}`")
    if output is None and (pack / SIGNATURE).exists():
        raise PackError(f"{pack} is signed, and writing into it would change the signed manifest; use --output DIR")
    if output is None and has_signoffs(pack):
        raise PackError(f"{pack} is signed off, and writing into it would change the manifest its sign-offs are bound to; use --output DIR")
    data = PackData(pack)
    chosen = [export for export in exports() if export.name in names]
    target = output or pack
    target.mkdir(parents=True, exist_ok=True)
    written = [write_export(export((), None), data, target) for export in chosen]
    if output is None:
        manifest = checked.manifest
        metadata = {k: v for k, v in manifest.items() if k not in ("files", "pack_format", "algorithm")}
        metadata["exports"] = {
            **(manifest.get("exports") or {}),
            **{export.name: {"file": export.filename, "media_type": export.media_type} for export in chosen},
        }
        write_manifest(pack, metadata)
    return written
