"""The evidence writer: each fact's AWS calls, written once as a JSON file of the pack, by the thread that fetched it.

Fetch threads write as facts arrive (write_early), while others wait on AWS, not in
pytest's loop; a verdict then only names the files behind it (record). Once the pack
is being finished (an interrupted run leaves requests in flight) nothing more is
written early, so that the manifest covers every file (close).
"""

from __future__ import annotations

import threading
from pathlib import Path

from rootguard.evidence.documents import write_fact
from rootguard.facts import FactResult, FactStore, closure


class EvidenceWriter:
    def __init__(self, pack: Path):
        self.pack = pack
        self._paths: dict[tuple, str] = {}  # (account id, fact key) -> evidence path
        self._lock = threading.Lock()
        self._writing: dict[tuple, threading.Lock] = {}  # files being written, by marker
        self._early = threading.Condition()
        self._early_writers = 0
        self._closed = False

    def write(self, store: FactStore, fact: FactResult) -> str:
        """Write one raw fact's evidence file, once; returns its path in the pack."""
        marker = (store.account.id, fact.key)
        if fact.evidence is not None:
            # Read from the file another worker wrote (rootguard.distributed.sharing): that file is the evidence.
            with self._lock:
                self._paths.setdefault(marker, fact.evidence)
            return fact.evidence
        with self._lock:
            known = self._paths.get(marker)
            writing = self._writing.setdefault(marker, threading.Lock()) if known is None else None
        if known is not None:
            return known
        # One writer per file: a second one, coming after the first dropped the responses,
        # would replace the file with one that has none.
        with writing:
            with self._lock:
                known = self._paths.get(marker)
            if known is not None:
                return known
            path = write_fact(self.pack, store.account, store.identity(), fact)
            # On disk now: the raw responses need not stay in memory for the rest of the run.
            for call in fact.calls:
                call.response = None
            with self._lock:
                self._paths[marker] = path
                self._writing.pop(marker, None)
            return path

    def write_early(self, store: FactStore, fact: FactResult) -> str | None:
        """In the fetching thread, as soon as a fact is in; a fact no verdict ends up resting on is
        still what the run read. Returns the file's path in the pack, or None when it was not written."""
        with self._early:
            if self._closed:
                return None
            self._early_writers += 1
        try:
            return self.write(store, fact)
        except OSError:
            return None  # tried again, and reported, when a verdict needs the file (record)
        finally:
            with self._early:
                self._early_writers -= 1
                self._early.notify_all()

    def close(self, timeout: float = 60) -> None:
        """No more early writes; wait for those under way (local files: moments)."""
        with self._early:
            self._closed = True
            self._early.wait_for(lambda: self._early_writers == 0, timeout)

    def record(self, verdict) -> None:
        """Name the evidence files behind one verdict on it (writing any not yet written)."""
        paths, actions = set(), set()
        for store, fact in closure(verdict.fact_keys):
            if fact.calls:
                paths.add(self.write(store, fact))
                actions.update(call.action for call in fact.calls)
        verdict.evidence = sorted(paths)
        verdict.actions = tuple(sorted(actions))
