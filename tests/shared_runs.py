"""Many cases, one run: each case is an account of one scenario, judged together, asserted one by one.

A run of the suite through pytester costs seconds; the control tests seed one scenario
holding an account per case, run it once, and let each parametrized case read its
account's verdict from the cached results.
"""

from __future__ import annotations

import textwrap

_RUNS: dict[tuple, object] = {}


def judged(judge, scenario: str, *controls: str, profile_extra: str = "", regions=None):
    """Run the given controls on `scenario` once per distinct profile; later cases reuse the verdicts."""
    key = (scenario, controls, profile_extra, tuple(regions or ()))
    if key not in _RUNS:
        selection = " or ".join("test_" + c.replace("-", "_") for c in controls)
        _RUNS[key] = judge(scenario, profile_extra=profile_extra, regions=regions, args=("-k", selection) if controls else ())
    return _RUNS[key]


def accounts(*entries: str, hub: str = "", regions: str = "[us-east-1]", organization: str | None = None) -> str:
    """A scenario: the hub (with `hub`, its YAML keys), then each entry (an account, from its `- id:` line)."""
    text = f"regions: {regions}\n"
    if organization is not None:
        text += "organization:\n" + textwrap.indent(textwrap.dedent(organization), "  ")
    text += 'accounts:\n  - id: "123456789012"\n    name: hub\n' + textwrap.indent(textwrap.dedent(hub), "    ")
    for entry in entries:
        text += textwrap.indent(textwrap.dedent(entry), "  ")
    return text
