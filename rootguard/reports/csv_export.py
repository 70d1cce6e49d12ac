"""results.csv: one row per verdict, for a spreadsheet, a GRC import or `pandas.read_csv`.

RFC 4180 CSV in UTF-8 with a byte order mark (so Excel reads accents right), rows in
results.json order. A cell that a spreadsheet would run as a formula (one starting with
=, +, -, @, a tab or a carriage return: an account named "=HYPERLINK(...)") gets a
leading apostrophe, as OWASP advises for CSV that people open in spreadsheets.
"""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

from rootguard.reports.exports import Export, PackData

COLUMNS = ("account_id", "account_name", "control", "title", "region", "outcome", "severity", "message", "frameworks", "evidence")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def framework_ids(frameworks: dict) -> str:
    """`soc2:CC6.1 iso27001:A.8.5 ...`: one token per requirement, framework first."""
    return " ".join(f"{key}:{requirement}" for key, ids in frameworks.items() for requirement in ids)


class ResultsCsv(Export):
    name = "csv"
    filename = "results.csv"
    media_type = "text/csv"

    def stream(self, data: PackData, out: BinaryIO) -> None:
        text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for entry in data.results["results"]:
            row = dict(entry, frameworks=framework_ids(entry["frameworks"]), evidence=" ".join(entry["evidence"]))
            row.setdefault("title", data.controls.get(entry["control"], {}).get("title", ""))
            writer.writerow([cell(row.get(column)) for column in COLUMNS])
        text.flush()
        text.detach()  # the caller closes `out`
