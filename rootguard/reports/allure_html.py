"""Allure's HTML report of a pack: one self-contained index.html built by the Allure 3 command line.

The awesome report's template loads analytics from the network; they are stripped, and a
report that would still load anything from elsewhere is refused: an auditor opens the
pack offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

RESULTS_DIR = "allure-results"
REPORT_DIR = "allure-report"
REPORT_FILE = f"{REPORT_DIR}/index.html"

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


def build_html(command: list[str], pack: Path, timeout: float = 300, into: Path | None = None) -> dict:
    """Run `allure generate` and put its single self-contained index.html into the pack's allure-report/
    (or `into`'s, leaving the pack as it is)."""
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
    target = (into or pack) / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
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
