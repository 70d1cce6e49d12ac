"""Progress while facts are fetched: accounts done of total, requests, errors, retries, throttling, time spent and left.

An organization of hundreds of accounts at real AWS latency is minutes of fetching before
the first verdict. On a terminal that shows as one line rewritten in place (pytest's own
TerminalReporter.rewrite); in a CI log, where a rewritten line would pile up, as a plain
line every LOG_EVERY seconds; under -q, not at all. The request and retry counts come from
every fact context of the process (TALLY), read as differences from the fetch's start; the
throttled responses, by service, from every client (note_throttling, on botocore's
needs-retry event, which sees each response before botocore decides to retry it).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

LOG_EVERY = 5.0  # seconds between plain lines in a log
TTY_EVERY = 0.25  # seconds between rewrites of the terminal line


# botocore's own test of a throttling answer, the one its retries back off on.
THROTTLED = ThrottledRetryableChecker()


class Tally:
    """Requests made and retries botocore needed, by every fact context of this process; throttled responses by service."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.throttled: Counter = Counter()

    def add(self, retries: int = 0) -> None:
        with self._lock:
            self.requests += 1
            self.retries += retries

    def throttle(self, service: str) -> None:
        with self._lock:
            self.throttled[service] += 1

    def absorb(self, requests: int, retries: int, throttled: Counter) -> None:
        """Counts another process of this run made (a child fetching, rootguard.distributed.forked)."""
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.throttled.update(throttled)

    def read(self) -> tuple[int, int]:
        with self._lock:
            return self.requests, self.retries

    def throttled_since(self, base: Counter) -> Counter:
        with self._lock:
            return self.throttled - base


TALLY = Tally()


def note_throttling(response=None, operation=None, **_) -> None:
    """botocore's needs-retry event: count a throttled response against its service. Decides nothing."""
    if response is None or operation is None:
        return
    parsed = response[1] if isinstance(response, tuple) and len(response) == 2 else None
    if isinstance(parsed, dict) and THROTTLED.is_retryable(RetryContext(attempt_number=1, parsed_response=parsed)):
        TALLY.throttle(operation.service_model.service_name)


def retry_attempts(document) -> int:
    """botocore's count of retries behind one response (or error response); 0 when it does not say."""
    meta = document.get("ResponseMetadata") if isinstance(document, dict) else None
    attempts = meta.get("RetryAttempts") if isinstance(meta, dict) else None
    return attempts if isinstance(attempts, int) and attempts > 0 else 0


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class Progress:
    """What the fetch has done so far, shown on `reporter` (pytest's terminal reporter) while it runs."""

    def __init__(self, reporter, total: int, tty: bool, clock=time.monotonic):
        self.reporter = reporter
        self.total = total
        self.tty = tty
        self.clock = clock
        self.done = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = clock()
        self._base = TALLY.read()
        self._throttled_base = Counter(TALLY.throttled)
        self._ticker: threading.Thread | None = None
        self._ended: float | None = None  # when the fetch ended, if before the last line is shown
        self._held = False

    @classmethod
    def for_config(cls, config, total: int) -> "Progress | None":
        """A progress display for this run, or None under -q, without a terminal reporter, or with nothing to fetch."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or config.option.verbose < 0 or total == 0:
            return None
        return cls(reporter, total, tty=bool(getattr(reporter, "isatty", False)))

    def account_done(self, errors: int) -> None:
        with self._lock:
            self.done += 1
            self.errors += errors

    def line(self, final: bool = False) -> str:
        with self._lock:
            done, errors = self.done, self.errors
        requests, retries = (now - base for now, base in zip(TALLY.read(), self._base))
        elapsed = (self.clock() if self._ended is None else self._ended) - self._started
        counts = f"{plural(requests, 'request')}, {plural(errors, 'error')}, {plural(retries, 'retry')}".replace("retrys", "retries")
        throttled = TALLY.throttled_since(self._throttled_base)
        if throttled:
            by_service = ", ".join(f"{service} {n}" for service, n in sorted(throttled.items(), key=lambda item: (-item[1], item[0])))
            counts += f" ({sum(throttled.values())} throttled: {by_service})"
        if final:
            return f"rootguard: fetched the facts of {done}/{self.total} accounts: {counts}, in {elapsed:.1f} s"
        left = ""
        if done:
            estimate = elapsed / done * (self.total - done)
            left = f", about {estimate:.0f} s left" if estimate >= 1 else ", under a second left"
        return f"rootguard: fetching facts: {done}/{self.total} accounts, {counts}, {elapsed:.1f} s{left}"

    def start(self) -> None:
        if self.tty:
            self.reporter.write("\n")
        else:
            self.reporter.write_line(self.line())
        self._ticker = threading.Thread(target=self._tick, name="rootguard-progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        every = TTY_EVERY if self.tty else LOG_EVERY
        while not self._stop.wait(every):
            self._show(self.line())

    def _show(self, text: str) -> None:
        if self.tty:
            self.reporter.rewrite(text, erase=True)
        else:
            self.reporter.write_line(text)

    def end(self) -> None:
        """The fetch is over, though its last line may show later (stop): that line's time is the fetch's own."""
        if self._ended is None:
            self._ended = self.clock()

    def hold(self) -> None:
        """No more lines until the last (stop): the tests run, and pytest's own output shows how the
        sweep goes; a line rewritten beside it would break its lines. Once held, it does nothing."""
        if self._held:
            return
        self._held = True
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        if self.tty:
            self.reporter.write("\n")

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._held:
            self.reporter.write_line(self.line(final=True))  # a line of its own, after the tests' output
            return
        self._show(self.line(final=True))
        if self.tty:
            self.reporter.write("\n")
