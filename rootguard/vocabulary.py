"""The words every stage of a run shares: severities in order, outcomes, id patterns.

Framework names and titles are not here: each catalog in frameworks/ names itself
(its `framework:` and `title:` keys), and rootguard.frameworks reads them.
"""

from __future__ import annotations

import re

# Lowest first: a gate at a severity blocks failures at it and above.
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES, start=1)}

# Every (control, account, region) gets exactly one of these (DESIGN.md, "Outcomes").
OUTCOMES = ("passed", "failed", "error", "skipped", "waived")

# \Z, not $: "$" would also take a trailing newline; [0-9], not \d: \d takes any script's digits.
CONTROL_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
ACCOUNT_ID = re.compile(r"^[0-9]{12}\Z")
