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


# What a fact cannot show, stated beside every control that reads it.
FACT_LIMITS = {
    "iam.root_report": "The IAM credential report is regenerated at most every 4 hours: root activity in the hours before "
                       "the run may not show in it yet.",
    "iam.credential_report": "The IAM credential report is regenerated at most every 4 hours: activity in the hours before "
                             "the run may not show in it yet.",
    "cloudtrail.trail_status": "Delivery times are CloudTrail's own record of its last delivery; the logs themselves are not read.",
    "organizations.service_control_policies": "SCPs are read through the hub's view of the organization; a policy the hub cannot "
                                              "read makes the verdict error unless the readable ones decide it.",
}
GENERAL_LIMITS = (
    "A point-in-time test: it states the configuration AWS reported at the run's time, not over a period.",
    "It reads configuration through AWS's APIs only; it does not sign in as root or trigger alarms.",
)
RULE = ("Each verdict is judged from the facts above as AWS returned them (the evidence files name each call); "
        "a piece AWS would not give makes the verdict error, unless the readable part proves the pass or the failure.")


def control_document(control: Control, params: dict, actions=(), population: str = "") -> dict:
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
            # The API actions behind this control's verdicts in this run (from their evidence).
            "api_calls": sorted(set(actions)),
            "rule": RULE,
            "population": population,
        },
        "pass_criteria": control.criteria(params),
        "settings": {name: list(value) if isinstance(value, tuple) else value for name, value in used.items()},
        "remediation": control.remediation,
        "frameworks": {key: list(ids) for key, ids in control.frameworks.items()},
        "limits": [*GENERAL_LIMITS, *(FACT_LIMITS[name] for name in control.facts if name in FACT_LIMITS)],
    }


def controls_document(verdicts, params: dict) -> dict:
    controls, actions, accounts = {}, {}, {}
    for v in verdicts:
        controls[v.control.id] = v.control
        actions.setdefault(v.control.id, set()).update(v.actions)
        accounts.setdefault(v.control.id, set()).add(v.account_id)
    return {"controls": [
        control_document(controls[key], params, actions[key], population_sentence(controls[key].regional, len(accounts[key])))
        for key in sorted(controls)
    ]}


def population_sentence(regional: bool, accounts: int) -> str:
    where = "once per account and profile region" if regional else "once per account"
    return f"every in-scope account judged by the run ({accounts}, listed in population.json), {where}; no sampling"


class ControlsJson(Reporter):
    name = "controls"

    def write(self, ending) -> None:
        write_json_atomic(self.sweep.pack / CONTROLS, controls_document(self.verdicts, self.sweep.profile.params))
