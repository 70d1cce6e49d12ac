"""CloudWatch Logs filter patterns: does a metric filter match every use of the root user?

The CIS pattern is `{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS
&& $.eventType != "AwsServiceEvent" }`. An equivalent is any pattern with an `||`
branch made only of that root clause and, optionally, the two CIS exclusions:
a branch that adds any other condition (say `$.eventName = "ConsoleLogin"`)
watches only part of root's activity and does not count.
"""

from __future__ import annotations

import re

CIS_ROOT_USAGE = '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'

ROOT_CLAUSE = re.compile(r'^\$\.userIdentity\.type={1,2}"?Root"?$')
ALLOWED_EXCLUSIONS = (
    re.compile(r"^\$\.userIdentity\.invokedBy NOT EXISTS$", re.IGNORECASE),
    re.compile(r'^\$\.eventType!="?AwsServiceEvent"?$'),
)


def _clause(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    # Spaces around operators do not matter; keep the one inside "NOT EXISTS".
    text = re.sub(r"\s*(!=|==|=)\s*", r"\1", text)
    return re.sub(r"\s+", " ", text)


def matches_root_usage(pattern: str) -> bool:
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return False
    body = body[1:-1]
    for branch in body.split("||"):
        clauses = [_clause(c) for c in branch.split("&&")]
        if any("(" in c or ")" in c for c in clauses):
            # A group spanning && or || would change what a branch means: only flat patterns count.
            return False
        has_root = any(ROOT_CLAUSE.match(c) for c in clauses)
        others = [c for c in clauses if not ROOT_CLAUSE.match(c)]
        if has_root and all(any(x.match(c) for x in ALLOWED_EXCLUSIONS) for c in others):
            return True
    return False
