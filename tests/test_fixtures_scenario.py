"""Tests of rootguard.fixtures.scenario and rootguard.fixtures.server: loading and validating scenario YAML, and
seeding it into moto so that real boto3 calls see it, in-process and over HTTP. The demo is
checked control by control against the outcomes its comments promise."""

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from rootguard.fixtures.scenario import (
    CIS_ROOT_USAGE_PATTERN,
    Age,
    ScenarioError,
    load_scenario,
    load_scenario_text,
    scenario_from_dict,
    seed,
)
from rootguard.fixtures.server import main as server_main
from rootguard.fixtures.server import moto_server
from rootguard.facts import keep_endpoint_host

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios" / "demo.yaml"
HUB = "123456789012"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
FAKE = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class Account:
    """boto3 clients for one account, reached from the hub like the suite does."""

    def __init__(self, account_id, endpoint_url=None):
        self.id = account_id
        self.endpoint_url = endpoint_url
        self.credentials = dict(FAKE)
        self._clients = {}  # made once: building a boto3 client costs more than a call to moto
        if account_id != HUB:
            assumed = self.client("sts", credentials=FAKE).assume_role(
                RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
                RoleSessionName="scenario-test",
            )["Credentials"]
            self.credentials = {
                "aws_access_key_id": assumed["AccessKeyId"],
                "aws_secret_access_key": assumed["SecretAccessKey"],
                "aws_session_token": assumed["SessionToken"],
            }

    def client(self, service, region="us-east-1", credentials=None):
        key = (service, region, credentials is None)
        clients = self._clients
        if key not in clients:
            clients[key] = boto3.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint_url,
                **(credentials or self.credentials),
            )
            if service == "s3control" and self.endpoint_url:
                keep_endpoint_host(clients[key])
        return clients[key]

    def credential_report(self):
        iam = self.client("iam")
        iam.generate_credential_report()
        content = iam.get_credential_report()["Content"].decode()
        return {row["user"]: row for row in csv.DictReader(io.StringIO(content))}


# ---------------------------------------------------------------------------------------------
# Loading and validation


def test_demo_loads():
    scenario = load_scenario(DEMO)
    assert scenario.regions == ("us-east-1", "eu-west-1")
    assert scenario.organization.ous == ("Security", "Production", "Sandbox")
    assert [a.name for a in scenario.accounts] == [
        "management",
        "security-tooling",
        "payments-prod",
        "data-prod",
        "sandbox-dev",
        "legacy-app",
        "retired-poc",
        "acquired-analytics",
    ]
    assert scenario.management.name == "management"
    assert len(scenario.members) == 6
    assert not scenario.account("acquired-analytics").in_organization
    assert scenario.account("retired-poc").status == "SUSPENDED"
    data = scenario.account("data-prod")
    assert data.metric_filters[0].pattern == CIS_ROOT_USAGE_PATTERN
    assert data.root.access_keys[0].last_used == Age(days=3)
    assert data.trails[0].cloudwatch_logs.last_delivery == Age(hours=30)


def test_small_scenario_uses_defaults():
    scenario = load_scenario_text('accounts: [{id: "123456789012", name: hub}]', "small.yaml")
    account = scenario.management
    assert scenario.regions == ("us-east-1",)
    assert scenario.organization is None
    assert (account.root.password, account.root.mfa, account.root.access_keys) == (True, "hardware", ())
    assert account.root.password_last_used is None
    assert account.email == "hub@example.com"


def test_age_is_relative_to_now():
    assert Age(days=1, hours=2, minutes=3).before(NOW) == datetime(2026, 2, 28, 9, 57, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    rooot: {}\n',
            "bad.yaml:4: accounts[0] (hub): unknown key 'rooot'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    root:\n      mfa: yubikey\n',
            "bad.yaml:5: accounts[0] (hub).root.mfa: expected one of none, virtual, hardware, got 'yubikey'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    root: {password: maybe}\n',
            "bad.yaml:4: accounts[0] (hub).root.password: expected true or false, got 'maybe'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    root:\n      password_last_used: {weeks_ago: 2}\n',
            "bad.yaml:5: accounts[0] (hub).root.password_last_used: unknown key 'weeks_ago'",
        ),
        (
            'accounts:\n  - id: "12345"\n    name: hub\n',
            "bad.yaml:2: accounts[0] (hub).id: an account id is 12 digits, got '12345'",
        ),
        (
            'accounts:\n  - id: "210987654321"\n    name: member\n',
            "bad.yaml:2: accounts: list the management (hub) account 123456789012",
        ),
        (
            'organization: {ous: [{name: Prod}]}\naccounts:\n  - {id: "123456789012", name: hub}\n'
            '  - {id: "210987654321", name: member, ou: Prdo}\n',
            "bad.yaml:4: accounts[1] (member).ou: unknown OU 'Prdo'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    trails:\n      - {name: trail-1, home_region: ap-south-1}\n',
            "bad.yaml:5: accounts[0] (hub).trails[0].home_region: region 'ap-south-1' is not in the scenario's regions",
        ),
        (
            'organization: {}\naccounts:\n  - {id: "123456789012", name: hub}\n'
            '  - id: "210987654321"\n    name: member\n    trails: [{name: rogue, organization: true}]\n',
            "bad.yaml:6: accounts[1] (member).trails[0].organization: only the management account",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    alarms: [{name: a, metric: m, topic: nope}]\n',
            "bad.yaml:4: accounts[0] (hub).alarms[0].topic: no topic 'nope' in us-east-1",
        ),
        (
            'accounts:\n  - {id: "123456789012", name: hub}\n  - {id: "123456789012", name: again}\n',
            "bad.yaml:3: accounts[1]: duplicate '123456789012'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    budgets: [{name: b, limit: lots}]\n',
            "bad.yaml:4: accounts[0] (hub).budgets[0].limit: expected a number, got 'lots'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    budgets: [{name: b, notifications: [{threshold: 80}]}]\n',
            "bad.yaml:4: accounts[0] (hub).budgets[0].notifications[0].subscribers: a budget notification needs",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    iam:\n      users: [{name: a, groups: [admins]}]\n',
            "bad.yaml:5: accounts[0] (hub).iam.users[0].groups: no group 'admins' in accounts[0] (hub).iam.groups",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    iam:\n      policies: [{name: p, document: everything}]\n',
            "bad.yaml:5: accounts[0] (hub).iam.policies[0].document: expected a policy document or one of admin, got 'everything'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    iam: {password_policy: {min_length: 5}}\n',
            "bad.yaml:4: accounts[0] (hub).iam.password_policy.min_length: expected a whole number from 6 to 128, got '5'",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    guardduty: {ap-south-1: enabled}\n',
            "bad.yaml:4: accounts[0] (hub).guardduty: unknown key 'ap-south-1' (allowed: us-east-1)",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    config_recorders: [{all_supported: false, include_global: true}]\n',
            "bad.yaml:4: accounts[0] (hub).config_recorders[0].include_global: global resources are recorded only with",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    buckets: [{name: logs-bucket, mfa_delete: true}]\n',
            "bad.yaml:4: accounts[0] (hub).buckets[0].mfa_delete: MFA delete needs versioning: Enabled",
        ),
        (
            'accounts:\n  - id: "123456789012"\n    name: hub\n    trails: [{name: t1, cloudwatch_logs: {log_group: g, retention_days: 100}}]\n',
            "bad.yaml:4: accounts[0] (hub).trails[0].cloudwatch_logs.retention_days: CloudWatch Logs keeps events 1, 3, 5",
        ),
        (
            'organization: {}\naccounts:\n  - {id: "123456789012", name: hub}\n  - {id: "210987654321", name: m, own_organization: {}}\n',
            "bad.yaml:4: accounts[1] (m).own_organization: only an account outside the scenario's organization",
        ),
        (
            'organization:\n  service_control_policies:\n    - {name: d, document: deny-root, targets: [Prod]}\n'
            'accounts:\n  - {id: "123456789012", name: hub}\n',
            "bad.yaml:3: organization.service_control_policies[0].targets: 'Prod' is not root, an OU of organization.ous",
        ),
        ("regions: us-east-1\naccounts: []\n", "bad.yaml:1: regions: expected a list"),
        ("accounts: [\n", "bad.yaml:2: invalid YAML"),
        ("", "bad.yaml: scenario: the document is empty"),
    ],
)
def test_invalid_scenarios_name_file_line_and_field(text, message):
    with pytest.raises(ScenarioError) as error:
        load_scenario_text(text, "bad.yaml")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="nope.yaml: cannot read scenario"):
        load_scenario(tmp_path / "nope.yaml")


def test_dict_scenarios_name_the_field():
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict({"accounts": [{"id": HUB, "name": "hub", "root": {"mfa": "sms"}}]})
    assert str(error.value).startswith("<dict>: accounts[0] (hub).root.mfa: expected one of")


# ---------------------------------------------------------------------------------------------
# Seeding


@mock_aws
def test_seeded_times_are_relative_to_now():
    seed(
        {
            "accounts": [
                {
                    "id": HUB,
                    "name": "hub",
                    "root": {
                        "password_last_used": {"days_ago": 3},
                        "created": {"days_ago": 10},
                        "access_keys": [{"created": {"days_ago": 400}, "last_used": {"hours_ago": 30}}],
                    },
                }
            ]
        },
        now=NOW,
    )
    root = Account(HUB).credential_report()["<root_account>"]
    assert root["user_creation_time"] == "2026-02-19T12:00:00+00:00"
    assert root["password_last_used"] == "2026-02-26T12:00:00+00:00"
    assert root["access_key_1_last_rotated"] == "2025-01-25T12:00:00+00:00"
    assert root["access_key_1_last_used_date"] == "2026-02-28T06:00:00+00:00"
    assert root["access_key_1_last_used_region"] == "us-east-1"
    assert root["mfa_active"] == "true"


@mock_aws
def test_default_root_and_accounts_outside_an_organization():
    seed(
        {
            "regions": ["eu-west-1"],
            "accounts": [{"id": HUB, "name": "hub"}, {"id": "444444444444", "name": "loner"}],
        }
    )
    for account_id in (HUB, "444444444444"):
        account = Account(account_id)
        identity = account.client("sts").get_caller_identity()
        assert identity["Account"] == account_id
        root = account.credential_report()["<root_account>"]
        assert root["arn"] == f"arn:aws:iam::{account_id}:root"
        assert (root["password_last_used"], root["mfa_active"], root["access_key_1_active"]) == (
            "no_information",
            "true",
            "false",
        )
    with pytest.raises(ClientError):
        Account(HUB).client("organizations").describe_organization()


def seed_demo_and_check_basics(endpoint_url):
    scenario = load_scenario(DEMO)
    org = Account(HUB, endpoint_url).client("organizations")
    accounts = {a["Id"]: (a["Name"], a["Status"]) for a in org.list_accounts()["Accounts"]}
    assert accounts == {a.id: (a.name, a.status) for a in scenario.accounts if a.in_organization}
    for spec in scenario.accounts:
        account = Account(spec.id, endpoint_url)
        assert account.client("sts").get_caller_identity()["Account"] == spec.id
        assert account.credential_report()["<root_account>"]["arn"] == f"arn:aws:iam::{spec.id}:root"
    payments = Account("222233334444", endpoint_url)
    devices = payments.client("iam").list_virtual_mfa_devices(AssignmentStatus="Assigned")[
        "VirtualMFADevices"
    ]
    assert [d["User"]["Arn"] for d in devices] == ["arn:aws:iam::222233334444:root"]
    sandbox = Account("444455556666", endpoint_url)
    sns = sandbox.client("sns")
    topic = sns.list_topics()["Topics"][0]["TopicArn"]
    assert [
        s["SubscriptionArn"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    ] == ["PendingConfirmation"]
    features = Account(HUB, endpoint_url).client("iam").list_organizations_features()["EnabledFeatures"]
    assert features == ["RootCredentialsManagement", "RootSessions"]
    contact = Account(HUB, endpoint_url).client("account").get_contact_information()["ContactInformation"]
    assert contact["CompanyName"] == "Example Corp"


# The outcome each demo account's comment promises, per control.
P, F = "pass", "fail"
CONTROLS = (
    "root-mfa",
    "root-hardware-mfa",
    "root-access-keys",
    "root-recent-use",
    "cloudtrail-multi-region",
    "cloudtrail-log-validation",
    "cloudtrail-cloudwatch-logs",
    "root-usage-alarm",
    "alternate-contacts",
    "budget-alerts",
)
EXPECTED = {
    "123456789012": (P, P, P, P, P, P, P, P, P, P),  # management
    "111122223333": (P, P, P, P, P, P, P, P, P, F),  # security-tooling
    "222233334444": (P, F, P, F, P, P, F, F, F, P),  # payments-prod
    "333344445555": (P, P, F, F, P, F, F, P, P, F),  # data-prod
    "444455556666": (F, F, P, P, P, P, P, F, F, P),  # sandbox-dev
    "555566667777": (F, F, F, F, P, F, F, F, F, F),  # legacy-app
    "666677778888": (P, P, P, P, F, P, F, F, P, P),  # acquired-analytics
}


def evaluate_controls(account, regions, now):
    """A plain reading of DESIGN.md's pass rules, enough to check the demo says what it claims."""
    iam = account.client("iam")
    root = account.credential_report()["<root_account>"]
    summary = iam.get_account_summary()["SummaryMap"]
    has_credentials = summary["AccountPasswordPresent"] or summary["AccountAccessKeysPresent"]
    devices = [
        d
        for page in iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus="Assigned")
        for d in page["VirtualMFADevices"]
    ]
    root_virtual = any(d.get("User", {}).get("Arn") == root["arn"] for d in devices)

    def recent(value):
        if value in ("N/A", "no_information", "not_supported"):
            return False
        return datetime.fromisoformat(value) > now - timedelta(days=90)

    trails = {}
    for region in regions:
        for trail in account.client("cloudtrail", region).describe_trails(includeShadowTrails=True)[
            "trailList"
        ]:
            trails[trail["TrailARN"]] = trail
    logging = []
    for arn, trail in trails.items():
        # Read where the trail lives: AWS refuses a member its organization trail's status and selectors.
        owner = arn.split(":")[4]
        home = (account if owner == account.id else Account(owner, account.endpoint_url)).client("cloudtrail", trail["HomeRegion"])
        status = home.get_trail_status(Name=arn)
        if status["IsLogging"]:
            selectors = home.get_event_selectors(TrailName=arn)["EventSelectors"]
            logging.append((trail, status, selectors))
    multi = [
        (trail, status)
        for trail, status, selectors in logging
        if trail["IsMultiRegionTrail"]
        and any(s["IncludeManagementEvents"] and s["ReadWriteType"] == "All" for s in selectors)
    ]

    def alarm_chain(trail):
        log_group_arn = trail.get("CloudWatchLogsLogGroupArn")
        if not log_group_arn or log_group_arn.split(":")[4] != account.id:
            return False
        region, log_group = log_group_arn.split(":")[3], log_group_arn.split(":")[6]
        filters = account.client("logs", region).describe_metric_filters(logGroupName=log_group)[
            "metricFilters"
        ]
        metrics = {
            (t["metricName"], t["metricNamespace"])
            for f in filters
            if f["filterPattern"] == CIS_ROOT_USAGE_PATTERN
            for t in f["metricTransformations"]
        }
        cloudwatch = account.client("cloudwatch", region)
        sns = account.client("sns", region)
        for page in cloudwatch.get_paginator("describe_alarms").paginate():
            for alarm in page["MetricAlarms"]:
                if (alarm["MetricName"], alarm["Namespace"]) not in metrics:
                    continue
                for topic in alarm["AlarmActions"]:
                    for subs in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
                        if any(s["SubscriptionArn"] != "PendingConfirmation" for s in subs["Subscriptions"]):
                            return True
        return False

    contacts = account.client("account")

    def contact_set(kind):
        try:
            contacts.get_alternate_contact(AlternateContactType=kind)
            return True
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            return False

    budgets = account.client("budgets")

    def alerting(budget):
        notifications = budgets.describe_notifications_for_budget(
            AccountId=account.id, BudgetName=budget["BudgetName"]
        )["Notifications"]
        return any(
            budgets.describe_subscribers_for_notification(
                AccountId=account.id, BudgetName=budget["BudgetName"], Notification=n
            )["Subscribers"]
            for n in notifications
        )

    cost_budgets = [
        b
        for b in budgets.describe_budgets(AccountId=account.id).get("Budgets", [])
        if b["BudgetType"] == "COST"
    ]
    outcomes = (
        root["mfa_active"] == "true" or not has_credentials,
        not has_credentials or (root["mfa_active"] == "true" and not root_virtual),
        summary["AccountAccessKeysPresent"] == 0,
        not any(
            recent(root[column])
            for column in ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
        ),
        bool(multi),
        bool(logging) and all(trail["LogFileValidationEnabled"] for trail, _, _ in logging),
        any(
            trail.get("CloudWatchLogsLogGroupArn")
            and status.get("LatestCloudWatchLogsDeliveryTime", datetime.min.replace(tzinfo=timezone.utc))
            > now - timedelta(hours=24)
            for trail, status in multi
        ),
        any(alarm_chain(trail) for trail, _ in multi),
        all(contact_set(kind) for kind in ("BILLING", "OPERATIONS", "SECURITY")),
        any(alerting(b) for b in cost_budgets),
    )
    return tuple(P if ok else F for ok in outcomes)


def check_demo_controls(endpoint_url):
    now = datetime.now(timezone.utc)
    scenario = load_scenario(DEMO)
    found = {
        account_id: evaluate_controls(Account(account_id, endpoint_url), scenario.regions, now)
        for account_id in EXPECTED
    }
    for account_id, outcomes in EXPECTED.items():
        assert dict(zip(CONTROLS, found[account_id])) == dict(zip(CONTROLS, outcomes)), scenario.account(
            account_id
        ).name
    for i, control in enumerate(CONTROLS):
        assert {outcomes[i] for outcomes in found.values()} == {P, F}, control


# The wider catalog (issue 5), per account; S: skipped (the control does not apply there).
S = "skip"
WIDER_CONTROLS = (
    "scp-deny-root",
    "centralized-root-access",
    "break-glass-admins",
    "iam-console-mfa",
    "password-policy",
    "cloudtrail-bucket-private",
    "cloudtrail-bucket-versioning",
    "log-retention",
    "signin-failure-alarm",
    "guardduty-enabled us-east-1",
    "guardduty-enabled eu-west-1",
    "config-recorder",
    "root-contact-details",
)
WIDER_EXPECTED = {
    "123456789012": (S, P, P, P, P, P, P, P, P, P, P, P, P),  # management
    "111122223333": (P, P, P, P, P, P, P, P, P, P, P, P, P),  # security-tooling
    "222233334444": (P, P, F, P, F, P, P, F, F, P, F, F, F),  # payments-prod
    "333344445555": (P, P, F, F, F, F, F, F, F, F, P, F, F),  # data-prod
    "444455556666": (F, P, P, F, F, F, P, F, F, F, F, F, F),  # sandbox-dev
    "555566667777": (F, P, F, P, F, P, P, F, F, F, F, F, F),  # legacy-app
    "666677778888": (S, F, P, P, F, F, F, F, F, F, P, P, P),  # acquired-analytics
}
DENY_ROOT_CONDITION = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
SIGNIN_PATTERNS = (
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    '{ $.eventName = "ConsoleLogin" && $.responseElements.ConsoleLogin = "Failure" }',
)


def not_found(call, code):
    try:
        return call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == code
        return None


def evaluate_wider_controls(account, hub, regions):
    """A plain reading of the wider controls' pass rules, enough to check the demo says what it claims."""
    organization = not_found(account.client("organizations").describe_organization, "AWSOrganizationsNotInUseException")
    management = organization["Organization"]["MasterAccountId"] if organization else None

    def scp_denies_root():
        if management in (None, account.id):
            return None
        org = hub.client("organizations")
        targets, child = [account.id], account.id
        while True:
            parent = org.list_parents(ChildId=child)["Parents"][0]
            targets.append(parent["Id"])
            if parent["Type"] == "ROOT":
                break
            child = parent["Id"]
        for target in targets:
            for summary in org.list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]:
                document = json.loads(org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"])
                for statement in document["Statement"]:
                    if statement.get("Effect") == "Deny" and statement.get("Action") == "*" and statement.get("Condition") == DENY_ROOT_CONDITION:
                        return True
        return False

    def root_access_centralized():
        if management is None:
            return None
        owner = account if management == account.id else hub
        features = owner.client("iam").list_organizations_features()["EnabledFeatures"]
        return {"RootCredentialsManagement", "RootSessions"} <= set(features)

    iam = account.client("iam")
    users = {row["arn"]: row for row in account.credential_report().values() if row["user"] != "<root_account>"}
    details = iam.get_account_authorization_details()
    admin_arns = {ADMIN_ARN} | {
        policy["Arn"]
        for policy in details["Policies"]
        for version in policy["PolicyVersionList"]
        if version["IsDefaultVersion"] and any(s.get("Action") == "*" for s in version["Document"]["Statement"])
    }

    def holds_admin(entry, inline_key):
        return any(p["PolicyArn"] in admin_arns for p in entry["AttachedManagedPolicies"]) or any(
            any(s.get("Action") == "*" for s in p["PolicyDocument"]["Statement"]) for p in entry[inline_key]
        )

    admin_groups = {g["GroupName"] for g in details["GroupDetailList"] if holds_admin(g, "GroupPolicyList")}
    admins = [u["Arn"] for u in details["UserDetailList"] if holds_admin(u, "UserPolicyList") or admin_groups & set(u["GroupList"])]
    admin_users = list(admins)
    admins += [r["Arn"] for r in details["RoleDetailList"] if holds_admin(r, "RolePolicyList")]
    policy = not_found(iam.get_account_password_policy, "NoSuchEntity")
    policy = policy["PasswordPolicy"] if policy else {}

    trails = {}
    for region in regions:
        for trail in account.client("cloudtrail", region).describe_trails(includeShadowTrails=True)["trailList"]:
            trails[trail["TrailARN"]] = trail
    multi = [t for t in trails.values() if t["IsMultiRegionTrail"]]

    def bucket_holder(trail):
        for holder in (account, hub):
            if trail["S3BucketName"] in {b["Name"] for b in holder.client("s3").list_buckets()["Buckets"]}:
                if holder is account or trail["TrailARN"].split(":")[4] == hub.id:
                    return holder
        return None

    def bucket_private(trail):
        holder = bucket_holder(trail)
        s3, bucket = holder.client("s3"), trail["S3BucketName"]
        own = not_found(lambda: s3.get_public_access_block(Bucket=bucket), "NoSuchPublicAccessBlockConfiguration")
        wide = not_found(
            lambda: holder.client("s3control").get_public_access_block(AccountId=holder.id), "NoSuchPublicAccessBlockConfiguration"
        )
        blocked = all(
            (own or {}).get("PublicAccessBlockConfiguration", {}).get(k) or (wide or {}).get("PublicAccessBlockConfiguration", {}).get(k)
            for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        )
        status = not_found(lambda: s3.get_bucket_policy_status(Bucket=bucket), "NoSuchBucketPolicy")
        public_acl = any("global/AllUsers" in g["Grantee"].get("URI", "") for g in s3.get_bucket_acl(Bucket=bucket)["Grants"])
        return blocked and not (status and status["PolicyStatus"]["IsPublic"]) and not public_acl

    def bucket_versioned(trail):
        return bucket_holder(trail).client("s3").get_bucket_versioning(Bucket=trail["S3BucketName"]).get("Status") == "Enabled"

    def log_group_of(trail):
        arn = trail.get("CloudWatchLogsLogGroupArn")
        if not arn:
            return None
        holder = account if arn.split(":")[4] == account.id else hub
        return holder, arn.split(":")[3], arn.split(":")[6]

    def retention_kept(trail):
        holder, region, name = log_group_of(trail)
        group = [g for g in holder.client("logs", region).describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name][0]
        return group.get("retentionInDays", 365) >= 365

    def signin_alarmed(trail):
        holder, region, name = log_group_of(trail)
        filters = holder.client("logs", region).describe_metric_filters(logGroupName=name)["metricFilters"]
        metrics = {t["metricName"] for f in filters if f["filterPattern"] in SIGNIN_PATTERNS for t in f["metricTransformations"]}
        sns = holder.client("sns", region)
        for alarm in holder.client("cloudwatch", region).describe_alarms()["MetricAlarms"]:
            if alarm["MetricName"] in metrics:
                for topic in alarm["AlarmActions"]:
                    if any(s["SubscriptionArn"] != "PendingConfirmation" for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]):
                        return True
        return False

    def guardduty_on(region):
        guardduty = account.client("guardduty", region)
        return any(guardduty.get_detector(DetectorId=d)["Status"] == "ENABLED" for d in guardduty.list_detectors()["DetectorIds"])

    def recording():
        for region in regions:
            config = account.client("config", region)
            statuses = {s["name"]: s["recording"] for s in config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]}
            for recorder in config.describe_configuration_recorders()["ConfigurationRecorders"]:
                group = recorder["recordingGroup"]
                if group["allSupported"] and group["includeGlobalResourceTypes"] and statuses.get(recorder["name"]):
                    return True
        return False

    def contact_complete():
        contact = not_found(account.client("account").get_contact_information, "ResourceNotFoundException")
        if contact is None:
            return False
        contact = contact["ContactInformation"]
        digits = sum(c.isdigit() for c in contact["PhoneNumber"])
        return bool(contact["FullName"].strip() and contact["PhoneNumber"].startswith("+") and digits >= 7 and contact["City"].strip())

    watched = [t for t in multi if t.get("CloudWatchLogsLogGroupArn")]
    outcomes = (
        scp_denies_root(),
        root_access_centralized(),
        len(admins) >= 2 and all(users[arn]["mfa_active"] == "true" for arn in admin_users),
        all(row["mfa_active"] == "true" for row in users.values() if row["password_enabled"] == "true"),
        policy.get("MinimumPasswordLength", 0) >= 14 and policy.get("PasswordReusePrevention", 0) >= 24,
        bool(multi) and all(bucket_private(t) for t in multi),
        bool(multi) and all(bucket_versioned(t) for t in multi),
        any(retention_kept(t) for t in watched),
        any(signin_alarmed(t) for t in watched),
        guardduty_on("us-east-1"),
        guardduty_on("eu-west-1"),
        recording(),
        contact_complete(),
    )
    return tuple(S if ok is None else P if ok else F for ok in outcomes)


def check_wider_demo_controls(endpoint_url):
    scenario = load_scenario(DEMO)
    hub = Account(HUB, endpoint_url)
    found = {
        account_id: evaluate_wider_controls(Account(account_id, endpoint_url), hub, scenario.regions)
        for account_id in WIDER_EXPECTED
    }
    for account_id, outcomes in WIDER_EXPECTED.items():
        assert dict(zip(WIDER_CONTROLS, found[account_id])) == dict(zip(WIDER_CONTROLS, outcomes)), scenario.account(
            account_id
        ).name
    for i, control in enumerate(WIDER_CONTROLS):
        assert {P, F} <= {outcomes[i] for outcomes in found.values()}, control


@mock_aws
def test_demo_in_process():
    seed(DEMO)
    seed_demo_and_check_basics(None)
    check_demo_controls(None)
    check_wider_demo_controls(None)


def test_demo_over_http():
    with moto_server(DEMO) as endpoint:
        seed_demo_and_check_basics(endpoint)
        check_demo_controls(endpoint)
        check_wider_demo_controls(endpoint)


def test_member_sees_organization_trail_over_http():
    scenario = {
        "organization": {},
        "accounts": [
            {
                "id": HUB,
                "name": "management",
                "trails": [
                    {
                        "name": "org-trail",
                        "organization": True,
                        "management_events": "WriteOnly",
                        "cloudwatch_logs": {"log_group": "org-logs", "last_delivery": {"hours_ago": 1}},
                    }
                ],
            },
            {"id": "210987654321", "name": "member"},
        ],
    }
    with moto_server(scenario) as endpoint:
        member = Account("210987654321", endpoint).client("cloudtrail")
        (trail,) = member.describe_trails(includeShadowTrails=True)["trailList"]
        assert trail["TrailARN"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
        assert trail["IsOrganizationTrail"] and trail["HomeRegion"] == "us-east-1"
        assert (
            trail["CloudWatchLogsLogGroupArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:org-logs:*"
        )
        with pytest.raises(ClientError) as refused:
            member.get_trail_status(Name=trail["TrailARN"])
        assert refused.value.response["Error"]["Code"] == "CloudTrailARNInvalidException"
        owner = Account(HUB, endpoint).client("cloudtrail")
        status = owner.get_trail_status(Name=trail["TrailARN"])
        assert status["IsLogging"] is True
        assert status["LatestCloudWatchLogsDeliveryTime"] > datetime.now(timezone.utc) - timedelta(hours=2)
        selectors = owner.get_event_selectors(TrailName=trail["TrailARN"])["EventSelectors"]
        assert selectors == [
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": []}
        ]


def test_moto_server_resets_state_on_exit():
    with moto_server({"accounts": [{"id": HUB, "name": "hub", "topics": [{"name": "t"}]}]}) as endpoint:
        assert len(Account(HUB, endpoint).client("sns").list_topics()["Topics"]) == 1
    with moto_server() as endpoint:
        assert Account(HUB, endpoint).client("sns").list_topics()["Topics"] == []


def test_server_command_rejects_a_bad_scenario(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: 3\n")
    assert server_main(["--scenario", str(bad), "--port", "0"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {bad}:1: accounts: expected a list"
