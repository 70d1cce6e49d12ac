"""The controls' own statements: the README's control table is what the controls say of themselves."""

from __future__ import annotations

import importlib
import re

from rootguard.profile import PARAM_DEFAULTS
from tests.conftest import REPO

ROW = re.compile(r"^\| `(?P<id>[a-z-]+)` \| (?P<rule>.*) \| (?P<severity>critical|high|medium|low) \| (?P<frameworks>.*) \|$")
LABELS = {"soc2": "SOC 2", "iso27001": "ISO", "securityhub": "Security Hub"}


def framework_cell(control) -> str:
    """How the README's table names a control's mapping: SOC 2, ISO, the CIS versions together, Security Hub."""
    parts, cis = [], []
    for key in ("soc2", "iso27001", "cis", "securityhub"):
        if key == "cis":
            cis = [f"{k.removeprefix('cis-')} {', '.join(v)}" for k, v in control.frameworks.items() if k.startswith("cis-")]
            if cis:
                parts.append("CIS " + ", ".join(cis))
        elif control.frameworks.get(key):
            parts.append(f"{LABELS[key]} {', '.join(control.frameworks[key])}")
    return "; ".join(parts)


def suite_controls() -> dict:
    """Every control of tests_compliance/, by id."""
    found = {}
    for path in sorted((REPO / "tests_compliance").glob("test_*.py")):
        module = importlib.import_module(f"tests_compliance.{path.stem}")
        for value in vars(module).values():
            for mark in getattr(value, "pytestmark", []):
                if mark.name == "control":
                    found[mark.args[0].id] = mark.args[0]
    return found


def test_the_readme_control_table_states_each_controls_pass_rule_with_the_default_settings():
    rows = {m["id"]: m for m in map(ROW.match, (REPO / "README.md").read_text().splitlines()) if m}
    controls = suite_controls()
    assert len(controls) == 22
    assert sorted(rows) == sorted(controls)
    for control_id, control in controls.items():
        assert control.check() == []
        assert rows[control_id]["rule"] == control.criteria(PARAM_DEFAULTS), control_id
        assert rows[control_id]["severity"] == control.severity, control_id
        assert rows[control_id]["frameworks"] == framework_cell(control), control_id
