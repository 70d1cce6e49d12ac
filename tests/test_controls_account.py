"""Account controls on seeded moto state: alternate contacts and cost budget alerts."""

import pytest

from tests.conftest import hub

BILLING = "billing: {name: Dana, email: billing@example.com}\n"
OPERATIONS = "operations: {name: Omar, email: ops@example.com}\n"
SECURITY = "security: {name: Sam, email: security@example.com}\n"


@pytest.mark.parametrize(
    "contacts, outcome, says",
    [
        (
            BILLING + OPERATIONS + SECURITY,
            "passed",
            "alternate contacts set: billing billing@example.com, operations ops@example.com, security security@example.com",
        ),
        (BILLING + OPERATIONS, "failed", "alternate contact not set: security;"),
        (None, "failed", "alternate contact not set: billing, operations, security;"),
    ],
    ids=["all-three", "security-missing", "none-set"],
)
def test_alternate_contacts(judge, contacts, outcome, says):
    scenario = hub(alternate_contacts=contacts) if contacts else hub()
    verdicts = judge(scenario, "alternate-contacts")
    assert verdicts.outcome("alternate-contacts") == outcome
    assert says in verdicts.message("alternate-contacts")


ALERTING_COST_BUDGET = """- name: monthly
  type: COST
  notifications:
    - threshold: 80
      subscribers: [{type: EMAIL, address: finance@example.com}]
"""
ALERTING_USAGE_BUDGET = ALERTING_COST_BUDGET.replace("monthly", "usage-gb").replace("COST", "USAGE")
SILENT_COST_BUDGET = "- name: monthly\n  type: COST\n  notifications: []\n"


@pytest.mark.parametrize(
    "budgets, outcome, says",
    [
        (ALERTING_COST_BUDGET, "passed", "cost budget monthly alerts at 80 (actual) to 1 subscriber(s)"),
        (None, "failed", "no cost budget exists"),
        (ALERTING_USAGE_BUDGET, "failed", "no cost budget exists"),
        (SILENT_COST_BUDGET, "failed", "cost budget(s) monthly have no alert with a subscriber"),
    ],
    ids=["cost-budget-with-subscriber", "no-budgets", "usage-budget-only", "cost-budget-without-notifications"],
)
def test_budget_alerts(judge, budgets, outcome, says):
    scenario = hub(budgets=budgets) if budgets else hub()
    verdicts = judge(scenario, "budget-alerts")
    assert verdicts.outcome("budget-alerts") == outcome
    assert says in verdicts.message("budget-alerts")
