"""workpaper.html: the pack as an auditor's workpaper, static HTML that reads without JavaScript and prints whole.

Rendered from the pack's own documents (results.json, population.json, controls.json,
framework-matrix.json), never from a second copy of what they say, so the page and the
files agree by construction: the run's context and the banner when the data did not
come from AWS, the population, how each control tests, the framework matrix (which
controls support each requirement, never "covered"), and every verdict with its
evidence links. A merged pack gets its own, written the same way.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from rootguard.reports import Reporter
from rootguard.reports.context import banner_of
from rootguard.reports.exports import PackData
from rootguard.vocabulary import OUTCOMES

WORKPAPER = "workpaper.html"


def support_rows(matrix: dict) -> list[dict]:
    """Per framework, the requirements some control supports: which controls, and how they fared."""
    frameworks = []
    for key, framework in matrix.items():
        supported = [row for row in framework["requirements"] if row["controls"]]
        frameworks.append({
            "key": key,
            "title": f"{framework['title']} {framework['version']}".strip(),
            "total": framework["requirements_total"],
            "supported": supported,
            "others": framework["requirements_total"] - len(supported),
        })
    return frameworks


def render(pack: Path) -> str:
    data = PackData(pack)
    results, population, controls, matrix = data.results, data.population, list(data.controls.values()), data.matrix
    counts = Counter(r["outcome"] for r in results["results"])
    environment = Environment(loader=PackageLoader("rootguard", "templates"), autoescape=select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("workpaper.html.j2").render(
        results=results,
        context=results.get("context") or {},
        banner=banner_of(results),
        population=population,
        controls=controls,
        frameworks=support_rows(matrix),
        outcomes=OUTCOMES,
        counts={outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
        waivers=results.get("waivers") or [],
    )


def write_workpaper(pack: Path) -> Path:
    target = pack / WORKPAPER
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(render(pack), encoding="utf-8")
    temporary.replace(target)
    return target


class Workpaper(Reporter):
    name = "workpaper"

    def write(self, ending) -> None:
        write_workpaper(self.sweep.pack)
