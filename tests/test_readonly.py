"""The suite only reads: every AWS action it performs is in policy/readonly-policy.json, and all are reads."""

import json
import threading
from collections import Counter

import pytest

from rootguard.accounts import Connector
from tests.conftest import REPO

POLICY = REPO / "policy" / "readonly-policy.json"
# API operations whose IAM permission has another name.
PERMISSION_FOR = {
    "budgets:DescribeBudgets": "budgets:ViewBudget",
    "budgets:DescribeNotificationsForBudget": "budgets:ViewBudget",
    "budgets:DescribeSubscribersForNotification": "budgets:ViewBudget",
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3control:GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
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


class Recorder:
    def __init__(self):
        self.actions: set[str] = set()
        self.requests: list[tuple] = []  # (access key, region, operation, parameters, thread)


@pytest.fixture
def recorder(monkeypatch):
    """Every API request made through clients the suite builds (seeding is not the suite)."""
    seen = Recorder()
    real_client = Connector.client

    def recording_client(self, session, service, region):
        client = real_client(self, session, service, region)
        name = client.meta.service_model.service_name
        key = session.get_credentials().access_key

        def record(model, params, **kwargs):  # before-parameter-build: once per request, API parameters
            operation = f"{name}:{model.name}"
            seen.actions.add(PERMISSION_FOR.get(operation, operation))
            seen.requests.append((key, region, operation, json.dumps(params, sort_keys=True, default=str), threading.current_thread().name))

        client.meta.events.register("before-parameter-build", record)
        return client

    monkeypatch.setattr(Connector, "client", recording_client)
    return seen


def test_every_action_in_policy_is_a_read():
    for action in policy_actions():
        service, verb = action.split(":", 1)
        assert "*" not in action, action
        assert action in READS_BY_NAME or verb.startswith(READ_VERBS), f"{action} is not a read"


def test_suite_calls_only_policy_actions_and_the_policy_holds_nothing_unused(pytester, recorder):
    pack = pytester.path / "pack"
    pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(REPO / "profiles" / "demo.yaml"), "--report-dir", str(pack))
    assert json.loads((pack / "results.json").read_text())["results"]

    # Facts are fetched once: no request repeats within an account. By design the credential
    # report is polled until ready, and the hub asks twice for its identity: once to know who
    # runs the audit, once as a fact (its credentials reach the management account). The
    # organization is listed as the management account's facts, which its verdicts reuse.
    fact_requests = Counter(r[:4] for r in recorder.requests if r[2] != "iam:GenerateCredentialReport")
    repeated = {r: n for r, n in fact_requests.items() if n > 1}
    assert repeated == {("testing", "us-east-1", "sts:GetCallerIdentity", "{}"): 2}
    assert len(fact_requests) > 50
    # ... and fetched ahead, for several accounts at once.
    assert len({r[4] for r in recorder.requests if r[4].startswith("rootguard-fetch")}) > 1

    # The paths the demo does not take: every enabled region, and an OU filter.
    scenario = REPO / "fixtures" / "scenarios" / "demo.yaml"
    profile = pytester.path / "wide.yaml"
    profile.write_text(
        f"backend: moto\nscenario: {scenario}\nregions: all\n"
        "organization:\n  role_name: OrganizationAccountAccessRole\n  include_ous: [Production]\n"
    )
    pytester.runpytest(str(REPO / "tests_compliance"), "--profile", str(profile), "--report-dir", str(pytester.path / "wide"))

    allowed, performed = policy_actions(), recorder.actions
    assert performed, "no AWS call was recorded"
    assert performed <= allowed, f"called but not in the policy: {sorted(performed - allowed)}"
    assert allowed <= performed, f"in the policy but never called: {sorted(allowed - performed)}"
