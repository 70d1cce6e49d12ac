"""controls.json: how each control of the run tests, in the words of the control itself.

Per control: its objective and rationale, what it reads (each fact and what that fact
is), its pass rule with the profile's settings in force, its remediation and its
framework mapping. The exports (the workbook's procedures, OSCAL, OCSF) read it from
the pack, so that `rootguard export PACK` states what the run stated.
"""

from __future__ import annotations

from rootguard.controls import Control
from rootguard.evidence.pack import write_json_atomic
from rootguard.facts import REGISTRY
from rootguard.reports import Reporter

CONTROLS = "controls.json"


def control_document(control: Control, params: dict) -> dict:
    used = {name: params[name] for name in sorted(params) if "{" + name + "}" in control.passes_when}
    return {
        "id": control.id,
        "title": control.title,
        "severity": control.severity,
        "objective": control.title,
        "rationale": control.rationale,
        "procedure": {
            "scope": "each account and profile region" if control.regional else "each account",
            "reads": [
                {"fact": name, "what": REGISTRY[name].description if name in REGISTRY else ""}
                for name in control.facts
            ],
        },
        "pass_criteria": control.criteria(params),
        "settings": {name: list(value) if isinstance(value, tuple) else value for name, value in used.items()},
        "remediation": control.remediation,
        "frameworks": {key: list(ids) for key, ids in control.frameworks.items()},
    }


def controls_document(verdicts, params: dict) -> dict:
    controls = {v.control.id: v.control for v in verdicts}
    return {"controls": [control_document(controls[key], params) for key in sorted(controls)]}


class ControlsJson(Reporter):
    name = "controls"

    def write(self, ending) -> None:
        write_json_atomic(self.sweep.pack / CONTROLS, controls_document(self.verdicts, self.sweep.profile.params))
