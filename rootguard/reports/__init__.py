"""Reports: what a run writes from its verdicts, one module per format.

A reporter is handed the run's list of verdicts (which grows as tests end), the frozen
Sweep once the accounts are known (start), and the Ending when the tests are over
(write); it never sees the run. The run registers every reporter with pytest on the
controller (or the only process) when the run is configured, so its pytest hooks
(pytest-html's table header comes first of all, the terminal summary) run there;
finish(ending), last, returns what the manifest should say of it.
LISTENERS hear each verdict where its test runs (every xdist worker), for what is kept
per test: JUnit properties, Allure attachments.

A new format is a module with a Reporter subclass, and one line in the registry below.
"""

from __future__ import annotations

from typing import Sequence


class Reporter:
    """One report format; `name` names it in --export and in the manifest."""

    name = ""
    export = False  # an exchange format: chosen with --export, rewritten by `rootguard export PACK`

    def __init__(self, verdicts: Sequence, config=None):
        self.sweep = None
        self.verdicts = verdicts
        self.config = config

    def start(self, sweep) -> None:
        """The sweep is known: its accounts resolved, its stores made."""
        self.sweep = sweep

    def write(self, ending) -> None:
        """Write the report, now that every verdict is in."""

    def finish(self, ending) -> dict | None:
        """After pytest's own reports are written, before the manifest: what the manifest says of this report."""
        return None


def reporters() -> list[type[Reporter]]:
    """Every report a run writes, in the order written (results.json, population, the matrix and controls.json first: the exports read them)."""
    from rootguard.reports.allure import AllureResults
    from rootguard.reports.controls_json import ControlsJson
    from rootguard.reports.csv_export import ResultsCsv
    from rootguard.reports.framework_matrix import FrameworkMatrixJson
    from rootguard.reports.html import HtmlReport
    from rootguard.reports.ocsf import OcsfComplianceFindings
    from rootguard.reports.population import PopulationJson
    from rootguard.reports.oscal import OscalAssessmentResults
    from rootguard.reports.results_json import ResultsJson
    from rootguard.reports.terminal import TerminalReport
    from rootguard.reports.workbook import ResultsWorkbook
    from rootguard.reports.workpaper import Workpaper

    return [
        ResultsJson,
        PopulationJson,
        FrameworkMatrixJson,
        ControlsJson,
        Workpaper,
        ResultsCsv,
        ResultsWorkbook,
        OscalAssessmentResults,
        OcsfComplianceFindings,
        TerminalReport,
        HtmlReport,
        AllureResults,
    ]


def listeners() -> list[type]:
    """What hears each verdict in the process that runs its test."""
    from rootguard.reports.allure import AllureVerdicts
    from rootguard.reports.junit import JUnitProperties

    return [JUnitProperties, AllureVerdicts]
