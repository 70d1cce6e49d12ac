"""Reading IAM policy documents and service control policies: who gets everything, and what is denied to root.

Documents are read strictly: a statement that is not a JSON object, or an Effect that
is not text, is an `UnexpectedResponse`, never a statement skipped.
"""

from __future__ import annotations

import fnmatch
import json
import urllib.parse
from typing import Any

from rootguard.errors import UnexpectedResponse

ROOT_CONDITION_KEY = "aws:principalarn"
LIKE_OPERATORS = ("StringLike", "ArnLike")
EQUALS_OPERATORS = ("StringEquals", "ArnEquals")
NOT_OPERATORS = {"StringNotLike": "StringLike", "ArnNotLike": "ArnLike", "StringNotEquals": "StringEquals", "ArnNotEquals": "ArnEquals"}
# AWS Control Tower's AWS-GR_RESTRICT_ROOT_USER with ExemptAssumeRoot adds Null {"aws:AssumedRoot": "true"}:
# the deny then spares only the short sessions the management account opens with sts:AssumeRoot
# (centralized root access), never a sign-in with root's own credentials.
# https://docs.aws.amazon.com/controltower/latest/controlreference/strongly-recommended-preventive-controls.html
ASSUMED_ROOT_KEY = "aws:assumedroot"
ASSUMED_ROOT_EXEMPTION = "sessions opened with sts:AssumeRoot (centralized root access)"


def parse_document(value: Any, action: str) -> dict:
    """A policy document as AWS returns it: a JSON object, or its (URL-encoded) text."""
    if isinstance(value, str):
        text = urllib.parse.unquote(value) if value.lstrip().startswith("%") else value
        try:
            value = json.loads(text)
        except ValueError:
            raise UnexpectedResponse(f"{action}: a policy document is not JSON", action=action) from None
    if not isinstance(value, dict):
        raise UnexpectedResponse(f"{action}: a policy document is {type(value).__name__}, not an object", action=action)
    return value


def statements(document: dict, action: str) -> list[dict]:
    listed = document.get("Statement")
    if listed is None:
        raise UnexpectedResponse(f"{action}: a policy document has no Statement", action=action)
    listed = listed if isinstance(listed, list) else [listed]
    for statement in listed:
        if not isinstance(statement, dict) or not isinstance(statement.get("Effect"), str):
            raise UnexpectedResponse(f"{action}: a policy statement has no Effect", action=action)
    return listed


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def grants_everything(statement: dict) -> bool:
    """Allow of every action on every resource: AdministratorAccess or its equivalent (CIS: "*:*")."""
    return (
        statement["Effect"] == "Allow"
        and any(a in ("*", "*:*") for a in as_list(statement.get("Action")))
        and "*" in as_list(statement.get("Resource"))
    )


def _names_root(operator: str, values: list, root_arn: str) -> bool:
    for value in values:
        if not isinstance(value, str):
            continue
        if operator in LIKE_OPERATORS and value.endswith(":root") and fnmatch.fnmatchcase(root_arn, value):
            return True
        if operator in EQUALS_OPERATORS and value == root_arn:
            return True
    return False


def root_deny_gaps(statement: dict, root_arn: str, allowed_actions: tuple[str, ...]) -> list[str] | None:
    """How a statement falls short of denying every action to the root user.

    None: it is not a Deny aimed at root (aws:PrincipalArn naming root_arn) at all.
    []: it denies root everything, except only actions in `allowed_actions`.
    Otherwise the ways it leaves root free: actions left out, resources left out,
    or further conditions that narrow when it applies.
    """
    if statement["Effect"] != "Deny":
        return None
    condition = statement.get("Condition") or {}
    if not isinstance(condition, dict):
        return None
    aimed_at_root = False
    narrowing = []
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            narrowing.append(f"a {operator} condition")
            continue
        for key, values in tests.items():
            if key.lower() == ROOT_CONDITION_KEY and _names_root(operator, as_list(values), root_arn):
                aimed_at_root = True
            elif key.lower() == ROOT_CONDITION_KEY and operator in NOT_OPERATORS:
                # Exempted principals (Control Tower's ExemptedPrincipalArns) narrow nothing for
                # root unless root is among them.
                if _names_root(NOT_OPERATORS[operator], as_list(values), root_arn):
                    narrowing.append(f"{operator} {key} (exempting root itself)")
            elif key.lower() == ASSUMED_ROOT_KEY and operator == "Null" and as_list(values) in (["true"], [True]):
                continue
            else:
                narrowing.append(f"{operator} {key}")
    if not aimed_at_root:
        return None
    gaps = [f"applies only with {', '.join(narrowing)}"] if narrowing else []
    if "NotResource" in statement or "*" not in as_list(statement.get("Resource")):
        gaps.append("does not cover every resource")
    if "NotAction" in statement:
        allowed = {a.lower() for a in allowed_actions}
        left = [a for a in as_list(statement["NotAction"]) if str(a).lower() not in allowed]
        if left:
            gaps.append(f"leaves {', '.join(map(str, left))} to root")
    elif not any(a in ("*", "*:*") for a in as_list(statement.get("Action"))):
        gaps.append(f"denies root only {', '.join(map(str, as_list(statement.get('Action'))))}")
    return gaps


def root_deny_exemptions(statement: dict) -> list[str]:
    """What a statement that denies root everything still spares, in words (for the pass message)."""
    spared = [f"{', '.join(map(str, as_list(statement['NotAction'])))} (allowed by params.scp_root_allowed_actions)"] if "NotAction" in statement else []
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator == "Null" and isinstance(tests, dict) and any(k.lower() == ASSUMED_ROOT_KEY for k in tests):
            spared.append(ASSUMED_ROOT_EXEMPTION)
    return spared
