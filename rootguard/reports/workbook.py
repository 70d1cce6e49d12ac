"""results.xlsx: the run as an Excel workbook an auditor can sort, filter and sample from.

Sheets: Summary, Accounts x controls, Verdicts (message and evidence paths), one per
framework (requirement, its controls, outcome counts, the accounts failing it), Waivers,
Population and Procedures (how each control tests). Written with openpyxl in
write-only mode (rows stream to the file, so a thousand accounts fit in little memory).
Every cell holding text is stored as text, never as a formula, whatever it starts with.
The file's dates and the zip entries' timestamps are the run's start, so the same pack
always gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

from rootguard.reports.csv_export import framework_ids
from rootguard.reports.context import banner_of
from rootguard.reports.exports import Export, PackData, framework_titles
from rootguard.vocabulary import OUTCOMES

HEADING, WRAPPED = "rootguard heading", "rootguard wrapped text"
HEADER_WIDTH = {"message": 90, "title": 48, "pass criteria": 90, "rationale": 60, "remediation": 60, "justification": 60}


class Sheets:
    """A write-only workbook, one sheet at a time: a bold frozen header row, a filter, column widths."""

    def __init__(self):
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, NamedStyle

        self.book = Workbook(write_only=True)
        # Named styles, given to a cell by name: a cell given a Font or an Alignment object
        # makes openpyxl hash that object again for every cell (a third of the workbook's
        # time at 2300 verdicts); a named style is looked up once.
        self.book.add_named_style(NamedStyle(name=HEADING, font=Font(bold=True)))
        self.book.add_named_style(NamedStyle(name=WRAPPED, alignment=Alignment(wrap_text=True, vertical="top")))

    def add(self, title: str, header: list[str], rows) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        sheet = self.book.create_sheet(title[:31])
        sheet.freeze_panes = "A2"
        for index, name in enumerate(header, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = HEADER_WIDTH.get(name, max(12, len(name) + 4))
        heading = []
        for name in header:
            heading.append(WriteOnlyCell(sheet, value=name))
            heading[-1].style = HEADING
        sheet.append(heading)
        count = 0
        for row in rows:
            cells = []
            for value in row:
                # Plain values are written as they are; a cell object only where a value needs one:
                # text that a spreadsheet would run as a formula ("=..." from an account name) is
                # stored as text, and text over several lines wraps.
                if isinstance(value, str) and (value.startswith("=") or "\n" in value):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.data_type = "s"
                    if "\n" in value:
                        cell.style = WRAPPED
                    value = cell
                cells.append(value)
            sheet.append(cells)
            count += 1
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count + 1}"

    def save(self, moment) -> bytes:
        from openpyxl.writer.excel import ExcelWriter

        naive = moment.replace(tzinfo=None)
        self.book.properties.creator = "rootguard"
        self.book.properties.created = self.book.properties.modified = naive
        written = io.BytesIO()
        with zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as archive:
            ExcelWriter(self.book, archive).save()  # not Workbook.save: it stamps "modified" with the clock
        # Zip entries carry their write time; the run's start instead.
        stamped = io.BytesIO()
        with zipfile.ZipFile(written) as source, zipfile.ZipFile(stamped, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                info = zipfile.ZipInfo(entry.filename, date_time=naive.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, source.read(entry.filename))
        return stamped.getvalue()


def yes_no(value) -> str:
    return "" if value is None else ("yes" if value else "no")


def summary_rows(data: PackData):
    results = data.results
    context = results.get("context") or {}
    yield "profile", results["profile"]
    yield "data source", banner_of(results) or "AWS APIs (live)"
    if results.get("endpoint_url"):
        yield "endpoint", results["endpoint_url"]
    if context.get("profile"):
        yield "profile file SHA-256", context["profile"].get("sha256") or ""
    operator = results.get("operator") or {}
    if operator:
        yield "operator (hub identity)", operator.get("hub_identity") or ""
        job = operator.get("ci_job")
        if job:
            yield "CI job", f"{job['system']}: {job.get('url') or job.get('job') or ''}"
    if context.get("suite"):
        suite = context["suite"]
        yield "suite source commit", (suite.get("commit") or "unknown") + (" (with local changes)" if suite.get("modified") else "")
    if data.population:
        yield "population", data.population["statement"]
    yield "started (UTC)", results["started_at"]
    yield "finished (UTC)", results.get("finished_at") or ""
    yield "complete", yes_no(results.get("complete"))
    yield "suite version", results.get("suite_version") or ""
    yield "caller", results.get("caller") or ""
    yield "accounts", len(results["accounts"])
    yield "controls", len(data.controls)
    yield "verdicts", len(results["results"])
    for outcome in OUTCOMES:
        yield outcome, (results.get("counts") or {}).get(outcome, 0)
    gate = results.get("gate") or {}
    if gate:
        yield "gate: minimum severity", gate.get("min_severity") or ""
        yield "gate: exit code", gate.get("exit_code")
    for key, title in framework_titles(data.matrix).items():
        yield f"framework {key}", title


def account_rows(data: PackData, controls: list[str]):
    cells: dict[tuple[str, str], list[str]] = {}
    for entry in data.results["results"]:
        text = f"{entry['region']}: {entry['outcome']}" if entry["region"] else entry["outcome"]
        cells.setdefault((entry["account_id"], entry["control"]), []).append(text)
    for account in data.results["accounts"]:
        yield [account["account_id"], account["account_name"]] + [
            "\n".join(cells.get((account["account_id"], control), [])) for control in controls
        ]


def verdict_rows(data: PackData):
    for entry in data.results["results"]:
        yield [
            entry["account_id"], entry["account_name"], entry["control"], entry.get("title") or data.controls.get(entry["control"], {}).get("title", ""),
            entry["region"] or "", entry["outcome"], entry["severity"], entry["message"],
            framework_ids(entry["frameworks"]).replace(" ", "\n"), "\n".join(entry["evidence"]),
        ]


def requirement_rows(matrix_entry: dict):
    for row in matrix_entry["requirements"]:
        failing = sorted(a for a, tally in row["accounts"].items() if tally.get("failed"))
        erring = sorted(a for a, tally in row["accounts"].items() if tally.get("error"))
        yield [
            row["id"], row["title"], row["status"], "\n".join(row["controls"]),
            *(row["counts"].get(outcome, 0) for outcome in OUTCOMES),
            "\n".join(failing), "\n".join(erring),
        ]


def waiver_rows(data: PackData):
    stated = {(w["control"], tuple(w["accounts"]), w.get("account_pattern"), w["expires"]): w for w in (data.results.get("settings") or {}).get("waivers", [])}
    for usage in data.results.get("waivers") or []:
        key = (usage["control"], tuple(usage["accounts"]), usage.get("account_pattern"), usage["expires"])
        justification = usage.get("justification") or stated.get(key, {}).get("justification", "")
        yield [
            usage["control"], "\n".join(usage["accounts"]), usage.get("account_pattern") or "", justification,
            usage["approved_by"], usage["expires"], yes_no(usage["expired"]), usage["matched"], usage["waived"],
        ]


def population_rows(data: PackData):
    judged: dict[str, int] = {}
    for entry in data.results["results"]:
        judged[entry["account_id"]] = judged.get(entry["account_id"], 0) + 1
    for account in data.results["accounts"]:
        count = judged.get(account["account_id"], 0)
        yield [account["account_id"], account["account_name"], account.get("source") or "", yes_no(count > 0), count]


def procedure_rows(data: PackData):
    for control in data.controls.values():
        procedure = control.get("procedure") or {}
        reads = [f"{r['fact']}: {r['what']}" if r.get("what") else r["fact"] for r in procedure.get("reads", [])]
        settings = [f"{name} = {value}" for name, value in (control.get("settings") or {}).items()]
        yield [
            control["id"], control.get("title", ""), control.get("severity", ""), procedure.get("scope", ""),
            "\n".join(reads), control.get("pass_criteria", ""), "\n".join(settings),
            control.get("rationale", ""), control.get("remediation", ""), framework_ids(control.get("frameworks") or {}).replace(" ", "\n"),
        ]


class ResultsWorkbook(Export):
    name = "xlsx"
    filename = "results.xlsx"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def stream(self, data: PackData, out: BinaryIO) -> None:
        sheets = Sheets()
        controls = sorted(data.controls)
        sheets.add("Summary", ["field", "value"], summary_rows(data))
        sheets.add("Accounts x controls", ["account_id", "account_name", *controls], account_rows(data, controls))
        sheets.add(
            "Verdicts",
            ["account_id", "account_name", "control", "title", "region", "outcome", "severity", "message", "frameworks", "evidence"],
            verdict_rows(data),
        )
        for key, entry in data.matrix.items():
            sheets.add(
                key,
                ["requirement", "title", "status", "controls", *OUTCOMES, "accounts failing", "accounts with errors"],
                requirement_rows(entry),
            )
        sheets.add(
            "Waivers",
            ["control", "accounts", "account_pattern", "justification", "approved_by", "expires", "expired", "matched", "waived"],
            waiver_rows(data),
        )
        sheets.add("Population", ["account_id", "account_name", "source", "judged", "verdicts"], population_rows(data))
        sheets.add(
            "Procedures",
            ["control", "title", "severity", "scope", "reads", "pass criteria", "settings", "rationale", "remediation", "frameworks"],
            procedure_rows(data),
        )
        out.write(sheets.save(data.started))
