"""More than one process to a sweep: under pytest-xdist, which worker judges which account and the facts
fetched once for all workers; in one process's sweep, the children that fetch its facts (forked)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1
