"""CloudWatch Logs filter patterns: does a metric filter match every event of a kind?

A pattern counts for an event when one of its `||` branches is made only of the
clauses that name the event and, optionally, clauses known not to narrow it.
A branch that adds any other condition watches only part of those events and
does not count.

Root use: the CIS pattern is `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy
NOT EXISTS && $.eventType != "AwsServiceEvent" }`; the root clause is required, the two
CIS exclusions are allowed (they only drop what AWS services do on root's behalf).

Failed console sign-ins: the CIS pattern is `{ ($.eventName = ConsoleLogin) &&
($.errorMessage = "Failed authentication") }`. A branch needs the ConsoleLogin clause and
a failure clause: that errorMessage, or `$.responseElements.ConsoleLogin = "Failure"`,
which CloudTrail sets on the same events.
"""

from __future__ import annotations

import re

CIS_ROOT_USAGE = '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
CIS_CONSOLE_SIGNIN_FAILURES = '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'

ROOT_CLAUSE = re.compile(r'^\$\.userIdentity\.type={1,2}"?Root"?$')
ALLOWED_EXCLUSIONS = (
    re.compile(r"^\$\.userIdentity\.invokedBy NOT EXISTS$", re.IGNORECASE),
    re.compile(r'^\$\.eventType!="?AwsServiceEvent"?$'),
)
CONSOLE_LOGIN_CLAUSE = re.compile(r'^\$\.eventName={1,2}"?ConsoleLogin"?$')
SIGNIN_FAILURE_CLAUSES = (
    re.compile(r'^\$\.errorMessage={1,2}"Failed authentication"$'),
    re.compile(r'^\$\.responseElements\.ConsoleLogin={1,2}"?Failure"?$'),
)


def _clause(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    # Spaces around operators do not matter; keep the one inside "NOT EXISTS" and in quoted values.
    text = re.sub(r"\s*(!=|==|=)\s*", r"\1", text)
    return re.sub(r"\s+", " ", text)


def _branches(pattern: str) -> list[list[str]] | None:
    """The `||` branches of a JSON filter pattern, each a list of flat clauses; None if not one."""
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    branches = []
    for branch in body[1:-1].split("||"):
        clauses = [_clause(c) for c in branch.split("&&")]
        if any("(" in c or ")" in c for c in clauses):
            # A group spanning && or || would change what a branch means: only flat patterns count.
            return None
        branches.append(clauses)
    return branches


def _matches(pattern: str, required: tuple[tuple[re.Pattern, ...], ...], allowed: tuple[re.Pattern, ...] = ()) -> bool:
    """True when a branch has a clause for each group in `required` and nothing but `allowed` besides."""
    branches = _branches(pattern)
    if branches is None:
        return False
    for clauses in branches:
        needed = [c for c in clauses if any(x.match(c) for group in required for x in group)]
        others = [c for c in clauses if c not in needed]
        covers = all(any(x.match(c) for c in needed for x in group) for group in required)
        if covers and all(any(x.match(c) for x in allowed) for c in others):
            return True
    return False


def matches_root_usage(pattern: str) -> bool:
    return _matches(pattern, ((ROOT_CLAUSE,),), ALLOWED_EXCLUSIONS)


def matches_console_signin_failures(pattern: str) -> bool:
    return _matches(pattern, ((CONSOLE_LOGIN_CLAUSE,), SIGNIN_FAILURE_CLAUSES))
