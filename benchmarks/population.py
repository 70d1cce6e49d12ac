"""An organization of any size for the scale benchmark, grown from the demo scenario.

The demo's ACTIVE members are hand-made to pass some controls and fail others, and the
demo grows with every new control; cloning them round-robin gives N accounts with the same
realistic mix of compliant and non-compliant state, with no second scenario to maintain.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "fixtures" / "scenarios" / "demo.yaml"
HUB_ACCOUNT_ID = "123456789012"
# Far from the demo's ids (111122223333 ...), so a clone's id never collides with a template's.
FIRST_MEMBER_ID = 200000000000


def templates(demo: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo's organization members an organization sweep judges: ACTIVE, not standalone."""
    return [
        account
        for account in demo["accounts"]
        if str(account["id"]) != HUB_ACCOUNT_ID
        and not account.get("standalone", False)
        and account.get("status", "ACTIVE") == "ACTIVE"
    ]


def _replace_everywhere(value: Any, old: str, new: str) -> Any:
    # Account ids appear inside bucket names and SNS ARNs; a clone must own its copies, since
    # S3 bucket names are global and an ARN naming the template would point at another account.
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_everywhere(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace_everywhere(v, old, new) for k, v in value.items()}
    return value


def organization(accounts: int, demo_path: Path = DEMO) -> dict[str, Any]:
    """A scenario (as data) with the demo's management account and `accounts - 1` cloned members."""
    if accounts < 1:
        raise ValueError("an organization has at least its management account")
    demo = yaml.safe_load(demo_path.read_text(encoding="utf-8"))
    sources = templates(demo)
    if not sources:
        raise ValueError(f"{demo_path}: no ACTIVE organization member to clone")
    management = next(a for a in demo["accounts"] if str(a["id"]) == HUB_ACCOUNT_ID)
    members = []
    first_clone: dict[str, str] = {}
    for index in range(accounts - 1):
        template = sources[index % len(sources)]
        account_id = str(FIRST_MEMBER_ID + index)
        clone = _replace_everywhere(copy.deepcopy(template), str(template["id"]), account_id)
        clone["id"] = account_id
        clone["name"] = f"{template['name']}-{index:04d}"
        clone["email"] = f"{clone['name']}@example.com"
        first_clone.setdefault(template["name"], clone["name"])
        members.append(clone)

    scenario = {"regions": demo.get("regions", ["us-east-1"]), "accounts": [copy.deepcopy(management), *members]}
    if demo.get("organization") is not None:
        org = copy.deepcopy(demo["organization"])
        # An SCP aimed at a template account lands on that template's first clone.
        for policy in org.get("service_control_policies") or []:
            policy["targets"] = [first_clone.get(t, t) for t in policy.get("targets", [])]
            policy["targets"] = [t for t in policy["targets"] if t not in {s["name"] for s in sources}]
        scenario["organization"] = org
    _check_bucket_names(scenario)
    return scenario


def _check_bucket_names(scenario: dict[str, Any]) -> None:
    # A template bucket whose name does not carry its account id would be cloned under the same
    # global name; say so here rather than as a BucketAlreadyExists halfway through seeding.
    seen: dict[str, str] = {}
    for account in scenario["accounts"]:
        for bucket in account.get("buckets") or []:
            owner = seen.setdefault(bucket["name"], account["name"])
            if owner != account["name"]:
                raise ValueError(f"bucket {bucket['name']} is made by both {owner} and {account['name']}: "
                                 "name it after its account id in the demo so clones get their own")
