"""Exports written aside: a second process writes the heaviest exports while the run finishes its other reports.

The exports read the pack's documents and nothing of the run (rootguard.reports.exports),
and those documents are complete once results.json, population.json,
framework-matrix.json and controls.json are written, the first reports of the run's end.
From then on, the exports marked `aside` (OSCAL and OCSF) and the rest of the run's end
(the workpaper, report.html, JUnit, Allure, the other exports) need nothing of each other.
In one interpreter they take turns, since Python runs one thread at a time; in a second
process, on a machine of two cores, the end of the run takes about the longer of the two
instead of their sum.

    python -m rootguard.reports.aside PACK MODULE:CLASS...

writes the given exports into PACK, one after another, and prints one JSON line for each:
`{"name": ..., "file": ..., "media_type": ...}` when written, `{"name": ..., "error": ...}`
when not; it imports those exports' modules and no other report's. The run reads those
lines when it would have written the export itself. An export the child did not report
(it could not start, died, or was stopped) is written by the run in its own process, as
it would be without this: the same bytes either way.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import rootguard
from rootguard.distributed import usable_cores
from rootguard.reports.exports import Export, PackData, failure_text, write_export


def spec(export: type[Export]) -> str:
    return f"{export.__module__}:{export.__qualname__}"


def command(pack: Path, chosen: list[type[Export]]) -> list[str]:
    return [sys.executable, "-m", "rootguard.reports.aside", str(pack), *map(spec, chosen)]


class Aside:
    """The child process writing some exports of one pack, and what it said of each."""

    def __init__(self, pack: Path, chosen: list[type[Export]]):
        self.pack = pack
        self.names = [export.name for export in chosen]
        self.said: dict[str, dict] | None = None
        # The child imports the rootguard this run imported, wherever it came from.
        source = str(Path(rootguard.__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])))
        try:
            self.process: subprocess.Popen | None = subprocess.Popen(
                command(pack, chosen), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            )
        except OSError:
            self.process = None

    def result(self, name: str) -> dict | None:
        """What the child said of export `name`, once it has ended; None if it said nothing (the run writes it then)."""
        if self.said is None:
            self.said = {}
            if self.process is not None:
                try:
                    out, _ = self.process.communicate()
                finally:
                    self.stop()
                for line in out.decode("utf-8", "replace").splitlines():
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict) and entry.get("name") in self.names and (entry.get("file") or entry.get("error")):
                        self.said[entry["name"]] = entry
        entry = self.said.get(name)
        return None if entry is None else {k: v for k, v in entry.items() if k != "name"}

    def stop(self) -> None:
        """End the child now, if it still runs (a run abandoned or interrupted before its exports)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


_running: dict[Path, Aside] = {}

# Below this many verdicts the child's own start (an interpreter, and the exports' libraries
# imported again: about a second of CPU) costs more than the exports it would take over
# (OSCAL and OCSF: about half a second per thousand verdicts).
MIN_VERDICTS = 1000


def pays(verdicts: int) -> bool:
    """Whether writing aside shortens this run's end: enough verdicts, and a second core to write them on."""
    return verdicts >= MIN_VERDICTS and usable_cores() > 1


def start(pack: Path, chosen: list[type[Export]]) -> Aside | None:
    """The child for this pack, started once, when the pack's documents are written."""
    if not chosen:
        return None
    known = _running.get(pack)
    if known is None:
        known = _running[pack] = Aside(pack, chosen)
    return known


def load(text: str) -> type[Export]:
    """An export class from its `module:Class`; ValueError for anything else."""
    module, _, name = text.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"no export {text!r} ({exc})") from None
    if not (isinstance(found, type) and issubclass(found, Export)):
        raise ValueError(f"{text!r} is not an export")
    return found


def running(pack: Path) -> Aside | None:
    return _running.get(pack)


def stop_all() -> None:
    """Stop every child still running and forget them (the run's end, or its abandonment)."""
    for aside in _running.values():
        aside.stop()
    _running.clear()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python -m rootguard.reports.aside PACK MODULE:CLASS...", file=sys.stderr)
        return 2
    pack, data = Path(argv[0]), PackData(Path(argv[0]))
    for text in argv[1:]:
        try:
            export = load(text)((), None)
        except ValueError as exc:
            print(json.dumps({"name": text, "error": str(exc)}), flush=True)
            continue
        try:
            write_export(export, data, pack)
        except Exception as exc:  # noqa: BLE001 - said to the run, which reports it as it would its own
            said = {"name": export.name, "error": failure_text(exc)}
        else:
            said = {"name": export.name, "file": export.filename, "media_type": export.media_type}
        print(json.dumps(said), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
