"""The self-contained HTML report (pytest-html): control columns, evidence per row, and the matrices.

Registered only when pytest-html is active; its hooks add the control id, account,
severity and framework ids to every row, link each verdict's evidence files, and put
the accounts-by-controls matrix and the framework matrix above the table.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from html import escape
from importlib import resources
from pathlib import Path

from rootguard import __version__

from rootguard.frameworks import load_catalogs
from rootguard.reports import Reporter
from rootguard.reports.context import ci_job, data_source, profile_record, suite_source
from rootguard.reports.framework_matrix import framework_matrix
from rootguard.reports.results_json import counts
from rootguard.reports.terminal import MARKS
from rootguard.reports.workpaper import WORKPAPER
from rootguard.vocabulary import OUTCOMES


class HtmlReport(Reporter):
    name = "html"

    @staticmethod
    def active(config) -> bool:
        return config is not None and config.pluginmanager.hasplugin("html") and bool(getattr(config.option, "htmlpath", None))

    _page = None

    def pytest_html_report_title(self, report):
        # Asked when the session starts, before the accounts (and so the sweep) are known:
        # the page object keeps the title, set as soon as the sweep is.
        self._page = report
        self._title()

    def start(self, sweep) -> None:
        super().start(sweep)
        self._title()
        self._environment()

    def _environment(self) -> None:
        """The run's metadata in pytest-html's environment table."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        metadata = self.config.stash.get(metadata_key, None) if self.config is not None else None
        if metadata is None:
            return
        sweep = self.sweep
        metadata["rootguard profile"] = sweep.profile.name
        metadata["rootguard caller"] = str(sweep.caller.get("Arn"))
        metadata["rootguard suite version"] = __version__
        metadata["rootguard started (UTC)"] = sweep.started_text
        metadata["rootguard accounts"] = str(len(sweep.accounts))
        metadata["rootguard data source"] = data_source(sweep) or "AWS"
        if sweep.profile.endpoint_url:
            metadata["rootguard endpoint"] = sweep.profile.endpoint_url
        source = suite_source()
        metadata["rootguard source commit"] = (source["commit"] or "unknown") + (" (with local changes)" if source["modified"] else "")
        job = ci_job()
        if job:
            metadata["rootguard CI job"] = f"{job['system']}: {job.get('url') or job.get('job') or ''}"
        if not sweep.replay_of:
            metadata["rootguard profile SHA-256"] = profile_record(sweep.profile.path)["sha256"] or "unreadable"
        if sweep.replay_of:
            metadata["rootguard replay of"] = sweep.replay_of["pack"]

    def _title(self) -> None:
        if self._page is not None and self.sweep is not None:
            banner = data_source(self.sweep)
            mark = f"[{banner.split(':')[0]}] " if banner else ""
            self._page.title = f"{mark}rootguard evidence: profile {self.sweep.profile.name}, {self.sweep.started_text}"

    def pytest_html_results_table_header(self, cells):
        cells.insert(1, "<th>Control</th>")
        cells.insert(2, "<th>Account</th>")
        cells.insert(3, "<th>Severity</th>")
        cells.insert(4, "<th>Outcome</th>")
        cells.insert(5, "<th>Frameworks</th>")

    def pytest_html_results_table_row(self, report, cells):
        result = getattr(report, "rootguard_result", None)
        if result is None:
            for index in range(1, 6):
                cells.insert(index, "<td></td>")
            return
        frameworks = "; ".join(f"{k}: {', '.join(v)}" for k, v in result.control.frameworks.items() if v)
        account = f"{result.account_name} ({result.account_id})" + (f" {result.region}" if result.region else "")
        # Links relative to the pack, where report.html sits: they open when the pack is read from
        # disk. Written into the links cell, not added as pytest-html extras, which the report
        # would carry twice (as data and as the cell): half its size at a thousand accounts.
        links = "".join(f'<a target="_blank" href="{escape(path)}" class="col-links__extra url">{escape(path)}</a>' for path in result.evidence)
        for index, cell in enumerate(cells):
            if cell.startswith('<td class="col-links">') and cell.endswith("</td>"):
                cells[index] = cell[: -len("</td>")] + links + "</td>"
            elif cell.startswith('<td class="col-result">') and relabelling_supported():
                cells[index] = f'<td class="col-result">{LABELS[result.outcome]}</td>'
        cells.insert(1, f"<td>{escape(result.control.id)}</td>")
        cells.insert(2, f"<td>{escape(account)}</td>")
        cells.insert(3, f"<td>{escape(result.control.severity)}</td>")
        cells.insert(4, f"<td class=\"rootguard-{result.outcome}\">{escape(result.outcome)}</td>")
        cells.insert(5, f"<td>{escape(frameworks)}</td>")

    def pytest_html_results_table_html(self, report, data):
        """The row's log opens with the verdict: why it passed, or what was waived and by whom.

        A failure's log already does (its report's longrepr is the message, then any traceback).
        """
        result = getattr(report, "rootguard_result", None)
        if result is None or report.failed:
            return
        if report.skipped and report.longreprtext and data and data[0] == escape(report.longreprtext) + "\n":
            data.pop(0)  # pytest-html's text of the (path, line, reason) tuple; the verdict says it
        data[:] = [escape(result.message) + "\n"] + [entry for entry in data if entry != "No log output captured."]

    def pytest_html_results_summary(self, prefix, summary, postfix, session):
        if self.sweep is None:
            return
        banner = data_source(self.sweep)
        if banner:
            prefix.append(f'<div class="rootguard-banner" role="alert">{escape(banner)}</div>')
        prefix.append(
            f'<p class="rootguard-workpaper">The workpaper, <a href="{WORKPAPER}">{WORKPAPER}</a>, states the run\'s context, '
            "its population, how each control tests and every verdict, as static HTML that prints whole. "
            f"rootguard's counts: {escape(', '.join(f'{n} {o}' for o, n in counts(self.verdicts).items()))}.</p>"
        )
        if not self.verdicts:
            return
        prefix.append(account_matrix_html(self.sweep.accounts, self.verdicts))
        prefix.append(framework_matrix_html(framework_matrix(self.verdicts, load_catalogs())))


    def finish(self, ending) -> None:
        path = Path(self.config.option.htmlpath)
        if path.is_file() and relabelling_supported():
            relabel_page(path)


# pytest-html knows pytest's outcomes only: it files a waived verdict under "Skipped" and an
# `error` verdict under "Failed", and its header counts the passed and failed tests alone. So
# each row's Result cell says rootguard's outcome (the row hook above: pytest-html's script
# filters and sorts by that cell), and once pytest-html has written the page, relabel_page
# counts its rows again and teaches its filters "waived". Both rest on pytest-html 4's page;
# where its script lacks the list of filters they extend, the page is left as pytest-html made it.
FILTERS_SCRIPT = "const possibleFilters = ["
LABELS = {outcome: outcome.capitalize() for outcome in OUTCOMES}
# pytest-html's categories and labels, in its order, with rootguard's "waived" after "skipped".
CATEGORIES = {
    "failed": "Failed", "passed": "Passed", "skipped": "Skipped", "waived": "Waived", "xfailed": "Expected failures",
    "xpassed": "Unexpected passes", "error": "Errors", "rerun": "Reruns",
}
FILTERS = re.compile(rb'<div class="filters">.*?</div>', re.DOTALL)
RUN_COUNT = re.compile(rb'<p class="run-count">\d+ tests? took (.*?)</p>')
DATA = b'data-jsonblob="'
# The page's rows, in its data: JSON that Jinja escaped, so each of JSON's own quotes is
# &#34;, and a quote inside a string (a log that quotes this same text) is \&#34;, which
# the look-behind leaves out. The rows come after the environment, under "tests".
TESTS = b"&#34;tests&#34;: {"
RESULT = re.compile(rb'(?<!\\)&#34;result&#34;: &#34;(\w+)&#34;')


@functools.lru_cache(maxsize=None)
def relabelling_supported() -> bool:
    try:
        script = resources.files("pytest_html").joinpath("resources", "app.js").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        return False
    return script.count(FILTERS_SCRIPT) == 1


def relabel_page(path: Path) -> None:
    """The page's counters recounted from its own rows, and a "waived" filter beside pytest's.

    A thousand accounts make a page of some 60 MB, nearly all of it the rows' data: it is read
    once, as bytes, searched in place and written back around the two small parts that change
    (the summary above it, the script below it), so the run's memory does not grow with it.
    """
    page = path.read_bytes()
    data = page.find(DATA)
    data_end = page.find(b'"', data + len(DATA)) if data >= 0 else -1
    rows = page.find(TESTS, data, data_end) if data_end >= 0 else -1
    script = page.find(FILTERS_SCRIPT.encode(), data_end) if data_end >= 0 else -1
    if rows < 0 or script < 0 or FILTERS.search(page, 0, data) is None:
        return  # not the page this was written for: left as pytest-html made it
    tally = Counter(match.group(1).decode().lower() for match in RESULT.finditer(page, rows, data_end))
    categories = {**CATEGORIES, **{extra: extra.capitalize() for extra in tally if extra not in CATEGORIES}}
    filters = "".join(
        f'<input checked="true" class="filter" name="filter_checkbox" type="checkbox" data-test-result="{key}"'
        f'{" disabled" if not tally[key] else ""}><span class="{key}">{tally[key]} {label}{"," if index < len(categories) - 1 else ""}</span>'
        for index, (key, label) in enumerate(categories.items())
    ).encode()
    total = sum(tally.values())
    head = FILTERS.sub(lambda _: b'<div class="filters">' + filters + b"</div>", page[:data], count=1)
    head = RUN_COUNT.sub(lambda m: f'<p class="run-count">{total} {"test" if total == 1 else "tests"} took '.encode() + m.group(1) + b"</p>", head, count=1)
    tail = page[script:].replace(FILTERS_SCRIPT.encode(), FILTERS_SCRIPT.encode() + b"\n    'waived',", 1)
    with path.open("wb") as out:
        out.write(head)
        out.write(memoryview(page)[data:script])
        out.write(tail)


def account_matrix_html(accounts, verdicts) -> str:
    controls = list(dict.fromkeys(r.control.id for r in verdicts))
    cell = {}
    rank = {"error": 5, "failed": 4, "waived": 3, "skipped": 2, "passed": 1}
    for r in verdicts:
        key = (r.account_id, r.control.id)
        if key not in cell or rank[r.outcome] > rank[cell[key]]:
            cell[key] = r.outcome
    head = "".join(f"<th title=\"{escape(c)}\">{escape(c)}</th>" for c in controls)
    rows = []
    for account in accounts:
        marks = "".join(
            f"<td class=\"rootguard-{cell.get((account.id, c), 'none')}\">{MARKS.get(cell.get((account.id, c), ''), '-')}</td>" for c in controls
        )
        rows.append(f"<tr><th>{escape(account.name)} ({account.id})</th>{marks}</tr>")
    tally = counts(verdicts)
    totals = ", ".join(f"{tally[o]} {o}" for o in OUTCOMES)
    return (
        "<h2 id=\"rootguard-matrix\">Accounts by controls</h2>"
        f"<table class=\"rootguard-matrix\"><tr><th>account</th>{head}</tr>{''.join(rows)}</table>"
        f"<p>{escape(totals)}. Marks: . passed, F failed, E error, s skipped, w waived, - not run.</p>"
    )


def framework_matrix_html(matrix: dict) -> str:
    parts = [
        "<h2 id=\"rootguard-frameworks\">Framework requirements the controls support</h2>"
        "<p>A control supports its part of a requirement (the root user's and its safety nets' share); "
        "it does not establish that the requirement as a whole is met.</p>"
    ]
    for key, framework in matrix.items():
        parts.append(
            f"<h3>{escape(framework['title'])} {escape(framework['version'])}: "
            f"{framework['requirements_supported']} of {framework['requirements_total']} requirements supported by a control</h3>"
        )
        rows = []
        for row in framework["requirements"]:
            if row["controls"]:
                tally = ", ".join(f"{n} {o}" for o, n in sorted(row["counts"].items()))
                failing = sorted(a for a, t in row["accounts"].items() if t.get("failed") or t.get("error"))
                rows.append(
                    f"<tr><td>{escape(row['id'])}</td><td>{escape(row['title'])}</td>"
                    f"<td>{escape(', '.join(row['controls']))}</td><td>{escape(tally)}</td>"
                    f"<td>{escape(', '.join(failing)) or '-'}</td></tr>"
                )
            else:
                rows.append(
                    f"<tr class=\"rootguard-not-covered\"><td>{escape(row['id'])}</td><td>{escape(row['title'])}</td>"
                    "<td colspan=\"3\">not tested by rootguard</td></tr>"
                )
        parts.append(
            f"<table class=\"rootguard-framework\" id=\"rootguard-framework-{escape(key)}\"><tr><th>requirement</th><th>title</th>"
            "<th>controls</th><th>outcomes</th><th>accounts failing</th></tr>" + "".join(rows) + "</table>"
        )
    return "".join(parts)
