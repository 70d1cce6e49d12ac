"""The suite only reads: every AWS action it performs is in policy/readonly-policy.json, and all are reads."""

import json

import pytest

from rootguard.accounts import Connector
from tests.conftest import REPO

POLICY = REPO / "policy" / "readonly-policy.json"
# API operations whose IAM permission has another name.
PERMISSION_FOR = {
    "budgets:DescribeBudgets": "budgets:ViewBudget",
    "budgets:DescribeNotificationsForBudget": "budgets:ViewBudget",
    "budgets:DescribeSubscribersForNotification": "budgets:ViewBudget",
}
# Not named Get/List/Describe/View, yet reads: AWS lists GenerateCredentialReport at access level
# Read (it only builds the report GetCredentialReport returns); AssumeRole is the hub's way in.
READS_BY_NAME = {"iam:GenerateCredentialReport", "sts:AssumeRole"}
READ_VERBS = ("Get", "List", "Describe", "View")


def policy_actions() -> set[str]:
    document = json.loads(POLICY.read_text())
    actions = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


@pytest.fixture
def performed(monkeypatch):
    """Every API operation made through clients the suite builds (seeding is not the suite)."""
    seen: set[str] = set()
    real_client = Connector.client

    def recording_client(self, session, service, region):
        client = real_client(self, session, service, region)
        name = client.meta.service_model.service_name

        def record(model, **kwargs):
            operation = f"{name}:{model.name}"
            seen.add(PERMISSION_FOR.get(operation, operation))

        client.meta.events.register("before-call", lambda **kwargs: record(**kwargs))
        return client

    monkeypatch.setattr(Connector, "client", recording_client)
    return seen


def test_every_action_in_policy_is_a_read():
    for action in policy_actions():
        service, verb = action.split(":", 1)
        assert "*" not in action, action
        assert action in READS_BY_NAME or verb.startswith(READ_VERBS), f"{action} is not a read"


def test_suite_calls_only_policy_actions_and_the_policy_holds_nothing_unused(pytester, performed):
    pack = pytester.path / "pack"
    pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(REPO / "profiles" / "demo.yaml"), "--report-dir", str(pack))
    assert json.loads((pack / "results.json").read_text())["results"]

    # The paths the demo does not take: every enabled region, and an OU filter.
    scenario = REPO / "fixtures" / "scenarios" / "demo.yaml"
    profile = pytester.path / "wide.yaml"
    profile.write_text(
        f"backend: moto\nscenario: {scenario}\nregions: all\n"
        "organization:\n  role_name: OrganizationAccountAccessRole\n  include_ous: [Production]\n"
    )
    pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pytester.path / "wide"))

    allowed = policy_actions()
    assert performed, "no AWS call was recorded"
    assert performed <= allowed, f"called but not in the policy: {sorted(performed - allowed)}"
    assert allowed <= performed, f"in the policy but never called: {sorted(allowed - performed)}"
