"""Allure: labels for every control (framework, requirement, control), evidence attachments, and the HTML report.

allure-pytest writes allure-results/ into the pack; rootguard adds the labels and
links before the tests run, the evidence as each verdict is reached, and, at the
end, environment.properties and categories.json. The Allure 3 command line (npm
package `allure`, pinned in package.json) turns them into one self-contained HTML
file in the pack: `rootguard report PACK`, or at the end of a run when asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}
CIS_BENCHMARK_URL = "https://www.cisecurity.org/benchmark/amazon_web_services"
RESULTS_DIR = "allure-results"
REPORT_DIR = "allure-report"
REPORT_FILE = f"{REPORT_DIR}/index.html"
# Building the HTML at the end of a run is opt-in: it takes 3-5 s a run, and rootguard's own
# tests run the suite some sixty times. `rootguard report PACK` (make report) builds it any time.
BUILD_AT_RUN_END = "ROOTGUARD_ALLURE_HTML"
RUN_BUILD_TIMEOUT = 120

# How rootguard outcomes read in Allure: error is "broken", waived is a skip whose trace (the
# verdict message) says "waived until"; allure-pytest puts the control's failure in the message.
# Allure 3 files a result under the first rule it matches, Allure 2 under every one, so the
# plain skip rule excludes waivers itself. [\s\S] because Allure 2 matches the whole text.
WAIVED = "waived until"
CATEGORIES = [
    {"name": "Non-compliant (failed)", "matchedStatuses": ["failed"]},
    {"name": "Could not judge (error)", "matchedStatuses": ["broken"]},
    {"name": "Waived exception", "matchedStatuses": ["skipped"], "traceRegex": f"[\\s\\S]*{WAIVED}[\\s\\S]*"},
    {"name": "Not applicable (skipped)", "matchedStatuses": ["skipped"], "traceRegex": f"^(?![\\s\\S]*{WAIVED})[\\s\\S]*$"},
]


def securityhub_url(control_id: str) -> str:
    service, number = control_id.split(".", 1)
    return f"https://docs.aws.amazon.com/securityhub/latest/userguide/{service.lower()}-controls.html#{service.lower()}-{number}"


def control_markers(meta, catalogs: dict) -> list:
    """The Allure labels and links of one control, as pytest markers."""
    import allure

    markers = [
        allure.severity(SEVERITY[meta.severity]),
        allure.story(f"{meta.id}: {meta.title}"),
        allure.tag(meta.id),
        allure.label("rootguard_control", meta.id),
    ]
    for framework, ids in meta.frameworks.items():
        for requirement in ids:
            catalog = catalogs.get(framework)
            title = catalog.requirements.get(requirement, "") if catalog else ""
            framework_title = catalog.label if catalog else framework
            markers.append(allure.epic(framework_title))
            markers.append(allure.feature(f"{requirement} {title}".strip()[:120]))
            markers.append(allure.tag(f"{framework}:{requirement}"))
            if framework == "securityhub":
                markers.append(allure.link(securityhub_url(requirement), name=f"AWS Security Hub {requirement}"))
            elif framework.startswith("cis-"):
                markers.append(allure.link(CIS_BENCHMARK_URL, name=f"{framework_title} {requirement}"))
    markers.append(allure.description(f"{meta.rationale}\n\nRemediation: {meta.remediation}"))
    return markers


def label(items: list[pytest.Item], catalogs: dict) -> None:
    """Add Allure labels and links to every control test (markers allure-pytest reads at run time).

    A control's markers are made once and shared by its tests, one per account and region:
    made per test, they were a fifth of pytest's memory in an organization sweep.
    """
    made: dict[str, list] = {}
    for item in items:
        marker = item.get_closest_marker("control")
        if marker is None:
            continue
        meta = marker.args[0]
        markers = made.get(meta.id)
        if markers is None:
            markers = made[meta.id] = control_markers(meta, catalogs)
        for one in markers:
            item.add_marker(one)


def attach_verdict(result, documents: dict[str, str]) -> None:
    """Attach the verdict to the running Allure test, and the evidence files' text when given."""
    import allure

    # allure-pytest shows the `account` parameter as the repr of rootguard's Account object;
    # a reader wants the name and id (and region, where the control is regional).
    where = f"{result.account_name} ({result.account_id})" + (f" {result.region}" if result.region else "")
    allure.dynamic.parameter("account", where)
    verdict = {
        "control": result.control.id,
        "account_id": result.account_id,
        "account_name": result.account_name,
        "region": result.region,
        "outcome": result.outcome,
        "message": result.message,
        "evidence": result.evidence,
    }
    allure.attach(json.dumps(verdict, indent=2), name="verdict", attachment_type=allure.attachment_type.JSON)
    if documents:
        # The files as written (already JSON): one object by pack path, without parsing them again.
        body = ",\n".join(f"{json.dumps(path)}: {text.strip()}" for path, text in sorted(documents.items()))
        allure.attach("{\n" + body + "\n}", name="evidence", attachment_type=allure.attachment_type.JSON)


def allure_cli(rootpath: Path) -> list[str] | None:
    """The Allure command line installed from package.json, run with this machine's node."""
    node = shutil.which("node")
    cli = (Path(rootpath) / "node_modules" / "allure" / "cli.js").resolve()  # it runs from another directory
    if node and cli.is_file():
        return [node, str(cli)]
    return None


def finish_allure_results(run) -> dict:
    """environment.properties and categories.json, then the HTML report when asked for and the CLI is there."""
    results = run.pack / RESULTS_DIR
    if not results.is_dir():
        return {"results": None, "html_built": False, "reason": "allure-pytest wrote no results"}
    environment = {
        "profile": run.profile.name,
        "caller": run.caller.get("Arn") if run.caller else "",
        "suite_version": __import__("rootguard").__version__,
        "started_at": run.started_text,
        "finished_at": run.finished_text or "",
        "accounts": str(len(run.accounts)),
        "complete": str(run.complete).lower(),
    }
    (results / "environment.properties").write_text(
        "".join(f"{key}={value}\n" for key, value in environment.items()), encoding="utf-8"
    )
    # Allure 2 and Allure 3's classic report read this file; Allure 3's awesome report takes
    # the same rules from its configuration (build_html passes them).
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")
    status = {"results": RESULTS_DIR, "html_built": False}
    if os.environ.get(BUILD_AT_RUN_END, "").lower() not in ("1", "true", "yes"):
        status["reason"] = f"not built during the run ({BUILD_AT_RUN_END}=1 asks for it); `rootguard report PACK` builds it"
        return status
    command = allure_cli(run.config.rootpath)
    if command is None:
        status["reason"] = "the Allure command line is not installed (make report installs it)"
        return status
    status.update(build_html(command, run.pack, timeout=RUN_BUILD_TIMEOUT))
    reporter = run.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        line = f"allure report: {run.pack / status['html']}" if status["html_built"] else f"allure report not built: {status['reason']}"
        reporter.write_line(line)
    return status


def allure_config(output: Path, report_name: str) -> dict:
    """Allure 3's configuration: only the awesome report, as one index.html, with rootguard's categories."""
    return {
        "name": report_name,
        "output": str(output),
        "plugins": {"awesome": {"options": {"singleFile": True, "reportName": report_name, "reportLanguage": "en"}}},
        "categories": CATEGORIES,
    }


def report_name(pack: Path) -> str:
    try:
        results = json.loads((pack / "results.json").read_text(encoding="utf-8"))
        return f"rootguard: profile {results['profile']}, {results['started_at']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "rootguard"


def build_html(command: list[str], pack: Path, timeout: float = 300) -> dict:
    """Run `allure generate` and put its single self-contained index.html into the pack's allure-report/."""
    results = pack / RESULTS_DIR
    if not results.is_dir():
        return {"html_built": False, "reason": f"{RESULTS_DIR}/ is missing from the pack"}
    started = time.monotonic()
    # The configuration and Allure's other outputs (summary.json, test-results.json) stay outside
    # the pack; its working directory is empty so no stray allurerc.* elsewhere is picked up.
    with tempfile.TemporaryDirectory(prefix="rootguard-allure-") as scratch:
        work = Path(scratch)
        output = work / "report"
        config = work / "allurerc.json"
        config.write_text(json.dumps(allure_config(output, report_name(pack)), indent=2), encoding="utf-8")
        environment = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
        try:
            completed = subprocess.run(
                [*command, "generate", str(results.resolve()), "--config", str(config), "--output", str(output)],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=work,
                env=environment,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"html_built": False, "reason": f"allure generate failed: {exc}"}
        index = output / "index.html"
        if completed.returncode != 0 or not index.is_file():
            return {"html_built": False, "reason": f"allure generate exited {completed.returncode}: {failure_line(completed)}"}
        html = strip_analytics(index.read_text(encoding="utf-8"))
    outside = external_resources(html)
    if outside:
        # An auditor opens the pack offline; a report that loads code from elsewhere is not evidence.
        return {"html_built": False, "reason": f"the Allure report would load {outside[0]} from the network"}
    target = pack / REPORT_FILE
    target.parent.mkdir(exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(html, encoding="utf-8")
    os.replace(temporary, target)
    return {
        "html_built": True,
        "html": REPORT_FILE,
        "allure_version": allure_version(command),
        "seconds": round(time.monotonic() - started, 1),
    }


def failure_line(completed: subprocess.CompletedProcess) -> str:
    """The line that says what went wrong: node ends a crash with its version, so prefer an Error line."""
    lines = [line.strip() for line in (completed.stderr or completed.stdout or "").splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line]
    return (errors or lines or ["no output"])[0][:300]


def allure_version(command: list[str]) -> str | None:
    try:
        return json.loads((Path(command[-1]).parent / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, IndexError):
        return None


# The awesome report's template always adds Google Analytics (a remote script and a call that
# sends the report's id). The pack must open offline and tell no third party it was opened.
ANALYTICS = re.compile(
    r"<script[^>]*\bsrc=\"https://www\.googletagmanager\.com/[^\"]*\"[^>]*>\s*</script>"
    r"(\s*<script>\s*window\.dataLayer\b.*?</script>)?",
    re.DOTALL,
)


def strip_analytics(html: str) -> str:
    return ANALYTICS.sub("", html)


class _Resources(HTMLParser):
    """Collects what a browser would fetch by itself: scripts, stylesheets, images, frames, @import and url()."""

    FETCHED = {"script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "embed": ("src",), "source": ("src", "srcset"),
               "video": ("src", "poster"), "audio": ("src",), "object": ("data",)}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        names = self.FETCHED.get(tag, ())
        if tag == "link":
            rel = (values.get("rel") or "").lower()
            if any(kind in rel for kind in ("stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest")):
                names = ("href",)
        for name in names:
            value = (values.get(name) or "").strip()
            if is_remote(value):
                self.found.append(f"<{tag} {name}={value[:100]}>")
        if "style" in values:
            self.found.extend(remote_css_urls(values["style"] or ""))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found.extend(remote_css_urls(data))


def is_remote(value: str) -> bool:
    return value.lower().startswith(("http://", "https://", "//"))


CSS_URL = re.compile(r"""(?:@import\s+(?:url\()?|url\()\s*['"]?([^'")\s]+)""", re.IGNORECASE)


def remote_css_urls(css: str) -> list[str]:
    return [f"css {url[:100]}" for url in CSS_URL.findall(css) if is_remote(url)]


def external_resources(html: str) -> list[str]:
    """What an HTML page would load from the network on opening (links a reader clicks are not counted)."""
    parser = _Resources()
    parser.feed(html)
    parser.close()
    return parser.found
