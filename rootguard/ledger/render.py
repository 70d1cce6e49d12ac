"""ledger.html: the audit period as a static, printable page, with its trend charts inline as SVG.

Rendered from ledger.json alone (docs/ledger-format.md), so the page and the document agree
by construction. The timelines are not drawn as rows (a thousand accounts make tens of
thousands); the page shows what an auditor reads, the failure episodes and a summary per
control, and ledger.xlsx holds every timeline. matplotlib is imported only here, when a
ledger is written, never by a sweep.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from collections import Counter
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

# The stacked chart's series, in the order stacked from the axis up; colours as the tables' cells, darker.
OPEN_SERIES = (("failed", "#c0392b"), ("waived", "#2471a3"), ("error", "#b7950b"))
PANEL_COLUMNS = 6
LINE_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINE_STYLES = ("-", "--", "-.", ":")
SVG_ID = re.compile(r'(\bid="|\bhref="#|url\(#)')


def moment(text: str) -> dt.datetime:
    """A ledger time ("...Z") as a naive UTC datetime, which matplotlib's date axis takes as UTC."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc).replace(tzinfo=None)


def percentages(rates: list) -> list[float]:
    """Pass rates (0..1, null when not judged) as percentages, NaN where not judged: matplotlib breaks the line there."""
    return [math.nan if rate is None else rate * 100 for rate in rates]


def inline_svg(figure, name: str, title: str) -> str:
    """The figure as an <svg> element to put in a page: same bytes for the same figure, its ids its own, titled."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(figure)
    written = io.StringIO()
    # The salt seeds the ids matplotlib hashes (clip paths, markers); one per chart keeps the three apart.
    with matplotlib.rc_context({"svg.hashsalt": f"rootguard-ledger-{name}"}):
        figure.savefig(written, format="svg", metadata={"Date": None})
    svg = written.getvalue()
    svg = svg[svg.index("<svg"):]  # the XML prolog and doctype have no place inside HTML
    # matplotlib numbers its groups figure_1, axes_1, ... in every figure; three in one page would share them.
    svg = SVG_ID.sub(lambda match: f"{match.group(1)}ledger-{name}-", svg)
    opening = svg.index(">")
    return (
        f'{svg[:opening]} role="img" aria-labelledby="ledger-{name}-title">'
        f'<title id="ledger-{name}-title">{html.escape(title)}</title>{svg[opening + 1:]}'
    )


def date_axis(axes, start: dt.datetime, end: dt.datetime, ticks: int) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=2, maxticks=ticks)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlim(start, end)


def rate_axis(axes, size: float) -> None:
    axes.set_ylim(-5, 105)
    axes.set_yticks([0, 50, 100])
    axes.set_yticklabels(["0%", "50%", "100%"], fontsize=size)
    axes.tick_params(axis="x", labelsize=size)
    axes.grid(True, color="#dddddd", linewidth=0.6)


def controls_chart(document: dict, times: list, start, end) -> str:
    from matplotlib.figure import Figure

    rates = document["trends"]["controls"]
    names = list(rates)
    columns = max(1, min(PANEL_COLUMNS, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    figure = Figure(figsize=(11, 0.6 + 1.45 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    panels = [axes for row in grid for axes in row]
    for index, axes in enumerate(panels):
        if index >= len(names):
            axes.set_visible(False)
            continue
        control = names[index]
        values = percentages(rates[control])
        axes.plot(times, values, color="#1f4e79", linewidth=1.2, marker="o", markersize=2.5)
        axes.set_title(control, fontsize=7.5, loc="left")
        if all(math.isnan(value) for value in values):
            axes.text(0.5, 0.5, "not judged", transform=axes.transAxes, ha="center", va="center", fontsize=7, color="#777777")
        rate_axis(axes, 6.5)
        # sharex hides the dates under a panel with one below; where the panel below is empty, show them.
        if index + columns >= len(names):
            axes.tick_params(axis="x", labelbottom=True)
    date_axis(panels[0], start, end, 4)
    figure.suptitle("Pass rate per control, run by run", fontsize=10, x=0.01, ha="left")
    title = (f"Pass rate per control, run by run, {document['period']['from']} to {document['period']['to']}: "
             f"{len(names)} panels, one per control, each 0 to 100%")
    return inline_svg(figure, "controls", title)


def frameworks_chart(document: dict, times: list, start, end) -> str:
    from matplotlib.figure import Figure

    rates = document["trends"]["frameworks"]
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    axes = figure.subplots()
    # Frameworks whose controls are the same have the same line; a marker and a dash of its own keeps each one findable.
    for index, (framework, values) in enumerate(rates.items()):
        axes.plot(times, percentages(values), linewidth=1.6, label=framework, marker=LINE_MARKERS[index % len(LINE_MARKERS)],
                  markersize=5, markerfacecolor="none", linestyle=LINE_STYLES[index % len(LINE_STYLES)])
    rate_axis(axes, 8)
    date_axis(axes, start, end, 10)
    axes.set_ylabel("pass rate", fontsize=8)
    if rates:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    axes.set_title("Pass rate per framework, run by run", fontsize=10, loc="left")
    title = (f"Pass rate per framework, run by run, {document['period']['from']} to {document['period']['to']}: "
             f"one line per framework ({', '.join(rates) or 'none'}), 0 to 100%")
    return inline_svg(figure, "frameworks", title)


def bar_width(times: list, start, end) -> float:
    """Days: most of the shortest spacing between runs, so neighbouring bars stand apart, but never too thin to see in a long period."""
    period_days = max((end - start).total_seconds() / 86400, 1.0)
    spacings = [(later - earlier).total_seconds() / 86400 for earlier, later in zip(times, times[1:])]
    width = 0.7 * min(spacings) if spacings else period_days / 20
    return min(max(width, period_days / 200), period_days / 20)


def open_chart(document: dict, times: list, start, end) -> str:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    counts = document["trends"]["open"]
    figure = Figure(figsize=(11, 3.2), layout="constrained")
    axes = figure.subplots()
    width = bar_width(times, start, end)
    bottom = [0] * len(times)
    for outcome, colour in OPEN_SERIES:
        values = counts.get(outcome) or [None] * len(times)
        drawn = [index for index, value in enumerate(values) if value]  # null: no bar, not a zero; and no empty bars
        axes.bar([times[i] for i in drawn], [values[i] for i in drawn], width=width, bottom=[bottom[i] for i in drawn],
                 color=colour, align="center")
        bottom = [below + (value or 0) for below, value in zip(bottom, values)]
    axes.set_ylim(0, max([*bottom, 1]) * 1.08)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(labelsize=8)
    axes.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    date_axis(axes, start, end, 10)
    axes.set_ylabel("verdicts", fontsize=8)
    # The key is drawn from the series, not the bars: an outcome with no bar in any run still has its colour in it.
    keys = [Patch(color=colour, label=outcome) for outcome, colour in reversed(OPEN_SERIES)]
    axes.legend(handles=keys, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    axes.set_title("Verdicts failed, waived and in error, per run", fontsize=10, loc="left")
    title = (f"Verdicts failed, waived and in error in each run, {document['period']['from']} to {document['period']['to']}: "
             "one bar per run, the three counts stacked")
    return inline_svg(figure, "open", title)


def trend_charts(document: dict) -> dict[str, str]:
    """The three trend charts as <svg> text, keyed controls, frameworks and open; none when the ledger has no run."""
    runs = document["runs"]
    if not runs:
        return {}
    import matplotlib

    times = [moment(run["started_at"]) for run in runs]
    start, end = moment(document["period"]["start"]), moment(document["period"]["end"])
    with matplotlib.rc_context():
        # matplotlib's own defaults, whatever matplotlibrc the machine has, so the same document draws the same bytes;
        # text stays text (searchable, and read by a screen reader) rather than glyph outlines.
        matplotlib.rcdefaults()
        matplotlib.rcParams["svg.fonttype"] = "none"
        return {
            "controls": controls_chart(document, times, start, end),
            "frameworks": frameworks_chart(document, times, start, end),
            "open": open_chart(document, times, start, end),
        }


# -- the page -----------------------------------------------------------------------------------


def control_rows(document: dict) -> list[dict]:
    """Per control: coverage.controls, with how many (account, region) it judged and its failure episodes, counted from the document."""
    judged = Counter(timeline["control"] for timeline in document["timelines"])
    episodes = Counter(episode["control"] for episode in document["episodes"])
    remediated = Counter(episode["control"] for episode in document["episodes"] if episode.get("passed_again"))
    still_open = Counter(episode["control"] for episode in document["open_failures"])
    return [
        {**entry, "judged": judged[entry["control"]], "episodes": episodes[entry["control"]],
         "remediated": remediated[entry["control"]], "open_at_end": still_open[entry["control"]]}
        for entry in document["coverage"]["controls"]
    ]


def control_gap_groups(document: dict) -> list[dict]:
    """The control gaps, one row per control and stretch: an interval without a run gives every account the same gap, so at a
    thousand accounts the rows would repeat it a thousand times; each row names its (account, region) pairs instead."""
    grouped: dict[tuple, dict] = {}
    for gap in document["coverage"]["control_gaps"]:
        key = (gap["control"], gap["from"], gap["to"])
        grouped.setdefault(key, {"control": gap["control"], "from": gap["from"], "to": gap["to"], "days": gap["days"], "pairs": []})
        grouped[key]["pairs"].append(gap)
    return list(grouped.values())


def frameworks_of(document: dict) -> list[dict]:
    """The requirement rows grouped by framework, in the document's order, each with its latest judged pass rate."""
    grouped: dict[str, list[dict]] = {}
    for row in document["frameworks"]:
        judged = [(index, tally) for index, tally in enumerate(row["per_run"]) if tally is not None]
        latest = judged[-1] if judged else None
        grouped.setdefault(row["framework"], []).append({
            **row,
            "runs_judged": len(judged),
            "latest_run": latest[0] if latest else None,
            "latest_rate": latest[1].get("pass_rate") if latest else None,
        })
    return [{"framework": key, "requirements": rows} for key, rows in grouped.items()]


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def days(value) -> str:
    return "" if value is None else f"{value:.1f}"


def region(value) -> str:
    return value or "account-wide"


def lock(retention: dict | None) -> str:
    """A run's Object Lock, as read from its bucket: a pack read from a folder has none to read."""
    if retention is None:
        return "not read from a bucket"
    if "unreadable" in retention:
        return f"unreadable ({retention['unreadable']})"
    if not retention.get("locked"):
        return "NOT locked"
    return f"{retention.get('mode', '').lower()} until {retention.get('retain_until')}"


def render(document: dict) -> str:
    environment = Environment(loader=PackageLoader("rootguard", "templates"), autoescape=select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(percent=percent, days=days, region=region, lock=lock)
    runs = document["runs"]
    episodes = document["episodes"]
    not_used = document["packs_not_used"]
    return environment.get_template("ledger.html.j2").render(
        ledger=document,
        period=document["period"],
        banner=document.get("data_source"),
        runs=runs,
        started={run["index"]: run["started_at"] for run in runs},
        outcomes=document["outcome_order"],
        not_used=not_used,
        rejected=[entry for entry in not_used if entry["status"] == "rejected"],
        coverage=document["coverage"],
        long_gaps=[gap for gap in document["coverage"]["run_gaps"] if gap["exceeds_cadence"]],
        controls=control_rows(document),
        control_gaps=control_gap_groups(document),
        open_failures=document["open_failures"],
        remediated=[episode for episode in episodes if episode.get("passed_again")],
        # Neither passed again nor open at the end: the build closed them otherwise (the account left the population).
        ended=[episode for episode in episodes if not episode.get("passed_again") and not episode.get("open_at_end")],
        waivers=document["waivers"],
        frameworks=frameworks_of(document),
        charts={name: Markup(svg) for name, svg in trend_charts(document).items()},
    )


def write_html(document: dict, path: Path) -> None:
    """ledger.html, written whole or not at all."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(render(document), encoding="utf-8")
    temporary.replace(path)
