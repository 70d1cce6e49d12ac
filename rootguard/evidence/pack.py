"""The evidence pack on disk: its layout, the hash manifest, and verifying a pack against it.

manifest.json holds the SHA-256 of every other file in the pack and the run's
metadata; `rootguard verify PACK` recomputes them and names every file that was
changed, added or removed since. What is added after the run to vouch for it (the
signature, reviewers' sign-offs) is outside the manifest, or adding it would change it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from rootguard.evidence.jsontext import indented, parse

PACK_FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"  # written after the manifest, so it is outside it
SIGNOFFS = "signoffs"  # reviewers' sign-offs, each bound to the manifest, so outside it too
RESULTS = "results.json"


def sha256_file(path: Path | str) -> str:
    # Unbuffered reads on the descriptor: a pack of 100 accounts has 11,000 files, most of them a
    # few kilobytes, where a buffered file object costs more than hashing (half the time, measured).
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY)
    try:
        while chunk := os.read(descriptor, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(descriptor)
    return digest.hexdigest()


def sha256_files(base: str, relatives) -> dict[str, str]:
    """The SHA-256 of each file (paths relative to `base`), each file read once: the names a file
    has under hard links (an Allure attachment of an evidence file) share one digest."""
    digests: dict[str, str] = {}
    linked: dict[tuple[int, int], str] = {}
    for relative in relatives:
        path = os.path.join(base, relative)
        status = os.stat(path)
        if status.st_nlink > 1:
            known = linked.get((status.st_dev, status.st_ino))
            if known is None:
                known = linked[(status.st_dev, status.st_ino)] = sha256_file(path)
            digests[relative] = known
        else:
            digests[relative] = sha256_file(path)
    return digests


def is_signoff(relative: str) -> bool:
    """Whether a pack path is a sign-off file: only `signoffs/<name>.json` is, so that anything
    else put under signoffs/ is still a file the manifest does not know, and verify names it."""
    folder, _, name = relative.partition("/")
    return folder == SIGNOFFS and name.endswith(".json") and "/" not in name


def pack_files(pack: Path) -> list[str]:
    """Every file of the pack but the manifest, its signature and the sign-offs, as sorted POSIX paths relative to the pack."""
    found = []
    base = os.fspath(pack)
    for root, _dirs, files in os.walk(base):
        # The folder's path once, not a Path per file: a tenth of the time at 11,000 files.
        folder = os.path.relpath(root, base)
        prefix = "" if folder == "." else folder.replace(os.sep, "/") + "/"
        for name in files:
            relative = prefix + name
            if relative not in (MANIFEST, SIGNATURE) and not is_signoff(relative) and not name.endswith(".tmp"):
                found.append(relative)
    return sorted(found)


def prepare_pack(chosen: Path | None, reports: Path, replay: bool) -> Path:
    """The folder a run writes its pack to: `chosen` (--report-dir), else reports/<profile>/<UTC time>/; checked writable and empty of a pack."""
    if chosen is not None:
        pack = chosen
    else:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        pack = reports / f"{'replay-' if replay else ''}{stamp}"
    try:
        pack.mkdir(parents=True, exist_ok=True)
        probe = pack / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise PackError(f"report directory {pack}: cannot write there ({exc.strerror or exc})") from None
    if (pack / MANIFEST).exists():
        raise PackError(f"report directory {pack} already holds an evidence pack; choose an empty one")
    return pack


def discard_pack(pack: Path, before: set[str] | None) -> None:
    """Take back what a run that judged nothing wrote: the whole folder if the run made it, else only
    the entries that were not there before (`before`)."""
    if not pack.is_dir():
        return
    for entry in pack.iterdir():
        if before is None or entry.name not in before:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    if before is None:
        try:
            pack.rmdir()
        except OSError:
            pass


def write_json_atomic(path: Path, document: dict, default=str) -> None:
    """Write `document` as JSON indented by two spaces, UTF-8 (rootguard.evidence.jsontext).

    At a thousand accounts results.json and the manifest are tens of megabytes: orjson holds
    them as one bytes object, where json's indenting encoder made millions of pieces."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(indented(document, default=default))  # not `+ b"\n"`: a second copy of tens of megabytes
        handle.write(b"\n")
    os.replace(temporary, path)  # a reader never sees half a file


def write_manifest(pack: Path, metadata: dict) -> Path:
    base = os.fspath(pack)
    files = sha256_files(base, pack_files(pack))
    document = {"pack_format": PACK_FORMAT, **metadata, "algorithm": "sha256", "files": files}
    path = pack / MANIFEST
    write_json_atomic(path, document)
    return path


def read_manifest(pack: Path) -> dict:
    path = pack / MANIFEST
    try:
        document = parse(path.read_bytes())
    except FileNotFoundError:
        raise PackError(f"{path}: no manifest: not a rootguard evidence pack, or the run is still writing it") from None
    except (OSError, ValueError) as exc:
        raise PackError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), dict):
        raise PackError(f"{path}: manifest has no 'files' table")
    return document


class PackError(Exception):
    """A pack that cannot be read; the message is one line for the user."""


@dataclass
class Verification:
    manifest: dict
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.added or self.missing)


def verify(pack: Path) -> Verification:
    manifest = read_manifest(pack)
    recorded: dict = manifest["files"]
    result = Verification(manifest)
    present = set(pack_files(pack))
    found = sha256_files(os.fspath(pack), sorted(present.intersection(recorded)))
    for relative, expected in sorted(recorded.items()):
        if relative not in present:
            result.missing.append(relative)
        elif found[relative] != expected:
            result.changed.append(relative)
    result.added = sorted(present - set(recorded))
    return result
