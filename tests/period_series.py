"""A quarter's worth of weekly sweeps, made in one process: the packs the ledger and sample tests read.

Each sweep runs at its own date (time-machine moves the clock of this process, moto's seeding and
rootguard's alike), on a scenario whose state changes between runs:

- payments (222233334444) gets a root access key before the third run; a waiver covers it in the
  fourth run and has expired by the fifth; the key is gone by the last run;
- analytics (333344445555) joins the population at the third run, without an operations contact,
  and never gets one: open at the end of the period;
- the run due on 2026-01-23 is missing (a 14-day gap against a 7-day cadence);
- the pack of 2026-02-10 is changed after its run (payments' failure rewritten as a pass).

`python -m tests.period_series OUT` writes the packs to OUT/<run time>/ and SERIES.json there.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import textwrap
from pathlib import Path

PROFILE = "quarterly"
HUB, PAYMENTS, ANALYTICS = "123456789012", "222233334444", "333344445555"
CONTROLS = ("root-mfa", "root-access-keys", "alternate-contacts")
RUNS = ("2026-01-02T06:00:00", "2026-01-09T06:00:00", "2026-01-16T06:00:00", "2026-01-30T06:00:00",
        "2026-02-06T06:00:00", "2026-02-10T06:00:00", "2026-02-13T06:00:00")
TAMPERED = "2026-02-10T06:00:00"
KEY_FROM, KEY_UNTIL = "2026-01-16T06:00:00", "2026-02-13T06:00:00"  # payments' root key: present in [from, until)
WAIVED_FROM = "2026-01-30T06:00:00"  # the profile carries the waiver from this run on
WAIVER_EXPIRES = "2026-02-05"
ANALYTICS_FROM = "2026-01-16T06:00:00"
CONTACTS = """\
alternate_contacts:
  billing: {name: Bea Billing, email: billing@example.com}
  operations: {name: Ole Ops, email: ops@example.com}
  security: {name: Sid Secure, email: security@example.com}
"""


def account(account_id: str, name: str, root: str, contacts: str = CONTACTS) -> str:
    return f'- id: "{account_id}"\n  name: {name}\n  root:\n' + textwrap.indent(root, "    ") + textwrap.indent(contacts, "  ")


def scenario(when: str) -> str:
    key = "access_keys: [{active: true, created: {days_ago: 3}}]\n" if KEY_FROM <= when < KEY_UNTIL else "access_keys: []\n"
    accounts = [
        account(HUB, "hub", "password: true\nmfa: hardware\naccess_keys: []\n"),
        account(PAYMENTS, "payments", "password: true\nmfa: hardware\n" + key),
    ]
    if when >= ANALYTICS_FROM:
        missing_operations = "alternate_contacts:\n  billing: {name: Bea Billing, email: billing@example.com}\n  security: {name: Sid Secure, email: security@example.com}\n"
        accounts.append(account(ANALYTICS, "analytics", "password: true\nmfa: virtual\naccess_keys: []\n", missing_operations))
    return "regions: [us-east-1]\naccounts:\n" + textwrap.indent("".join(accounts), "  ")


def profile(when: str, scenario_path: Path) -> str:
    members = [(PAYMENTS, "payments")] + ([(ANALYTICS, "analytics")] if when >= ANALYTICS_FROM else [])
    lines = ["backend: moto", f"scenario: {scenario_path}", "home_region: us-east-1", "regions: [us-east-1]", "accounts:",
             f'  - id: "{HUB}"', "    name: hub"]
    for account_id, name in members:
        lines += [f'  - id: "{account_id}"', f"    name: {name}", f"    role_arn: arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"]
    if when >= WAIVED_FROM:
        lines += ["waivers:", "  - control: root-access-keys", f'    accounts: ["{PAYMENTS}"]',
                  "    justification: key used by a legacy billing export, removal ticket FIN-88",
                  "    approved_by: ciso@example.com", f"    expires: {WAIVER_EXPIRES}"]
    return "\n".join(lines) + "\n"


def expected_outcome(when: str, control: str, account_id: str) -> str | None:
    """What the seeded state makes of each verdict: the ledger tests compare the ledger with this."""
    if account_id == ANALYTICS and when < ANALYTICS_FROM:
        return None
    if control == "alternate-contacts":
        return "failed" if account_id == ANALYTICS else "passed"
    if control == "root-access-keys" and account_id == PAYMENTS and KEY_FROM <= when < KEY_UNTIL:
        return "waived" if when >= WAIVED_FROM and when[:10] <= WAIVER_EXPIRES else "failed"
    return "passed"


def make_series(out: Path) -> None:
    import pytest
    import time_machine

    repo = Path(__file__).resolve().parent.parent
    selection = " or ".join("test_" + control.replace("-", "_") for control in CONTROLS)
    work = out / ".inputs"
    work.mkdir(parents=True, exist_ok=True)
    made = []
    for when in RUNS:
        moment = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
        name = moment.strftime("%Y%m%dT%H%M%SZ")
        inputs = work / name
        inputs.mkdir()
        scenario_path = inputs / "scenario.yaml"
        scenario_path.write_text(scenario(when))
        profile_path = inputs / f"{PROFILE}.yaml"  # one profile name throughout, as a team's prod.yaml is
        profile_path.write_text(profile(when, scenario_path))
        pack = out / name
        with time_machine.travel(moment, tick=True):
            code = pytest.main([str(repo / "tests_compliance"), "--profile", str(profile_path), "--report-dir", str(pack),
                                "-k", selection, "-q", "-p", "no:cacheprovider", "--export", "none", "-p", "no:allure_pytest"])
        if code not in (0, 1) or not (pack / "manifest.json").is_file():
            raise SystemExit(f"the run at {when} did not write a pack (pytest exit {code})")
        made.append({"when": when, "pack": name})
    tampered = out / dt.datetime.fromisoformat(TAMPERED).strftime("%Y%m%dT%H%M%SZ") / "results.json"
    document = json.loads(tampered.read_text())
    for entry in document["results"]:
        if entry["control"] == "root-access-keys" and entry["account_id"] == PAYMENTS:
            entry["outcome"] = "passed"
    tampered.write_text(json.dumps(document, indent=2))
    (out / "SERIES.json").write_text(json.dumps({"runs": made, "tampered": TAMPERED}, indent=2))


if __name__ == "__main__":
    make_series(Path(sys.argv[1]))
