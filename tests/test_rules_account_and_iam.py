"""The account, IAM, organization and detection controls' rules on plain facts."""

import pytest

from rootguard.controls.given import failing, judge
from rootguard.facts.account import BudgetAlert, PrimaryContact
from rootguard.facts.detection import Detector, Recorder
from rootguard.facts.iam import Administrator, IamUser, PasswordPolicy
from rootguard.facts.organizations import Organization, RootAccessFeatures, ServiceControlPolicy
from tests_compliance import test_account, test_detection, test_iam, test_organization

ACCOUNT = "111122223333"
CONTACT = {"EmailAddress": "x@example.com", "Name": "X"}


def contacts(**kinds):
    """alternate_contact by type: given as a value (set), None (not set) or an Unreadable."""
    return {"account.alternate_contact": lambda contact_type: kinds.get(contact_type.lower(), CONTACT)}


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (contacts(), "passed", "alternate contacts set: billing x@example.com, operations x@example.com, security x@example.com"),
        (contacts(billing=None), "failed", "alternate contact not set: billing;"),
        (contacts(operations=None), "failed", "alternate contact not set: operations;"),
        (contacts(security=None), "failed", "alternate contact not set: security;"),
        (contacts(billing=None, security=None), "failed", "not set: billing, security"),
        (contacts(security=failing("AccessDeniedException", "account:GetAlternateContact")), "error", "the security contact"),
    ],
)
def test_alternate_contacts(given, outcome, says):
    found, message = judge(test_account.test_alternate_contacts, given)
    assert found == outcome, message
    assert says in message


def budgets(alerts_by_budget: dict):
    return {"budgets.cost_budget_names": list(alerts_by_budget), "budgets.alerts": lambda budget: alerts_by_budget[budget]}


def alert(*subscribers) -> BudgetAlert:
    return BudgetAlert("ACTUAL", "GREATER_THAN", 80.0, tuple(subscribers))


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (budgets({"monthly": (alert("EMAIL:f@example.com"),)}), "passed", "cost budget monthly alerts at 80 (actual) to 1 subscriber(s)"),
        (budgets({}), "failed", "no cost budget exists"),
        # A notification with nobody to tell is no alert.
        (budgets({"monthly": (alert(),)}), "failed", "cost budget(s) monthly have no alert with a subscriber"),
        (budgets({"monthly": ()}), "failed", "have no alert with a subscriber"),
        (budgets({"a": (alert(),), "b": (alert("SNS:arn:aws:sns:us-east-1:1:t"),)}), "passed", "cost budget b alerts"),
        (budgets({"gone": None}), "failed", "no cost budget exists (gone was deleted while being read)"),
        (budgets({"gone": None, "monthly": (alert("EMAIL:f@example.com"),)}), "passed", "cost budget monthly alerts"),
        (budgets({"a": failing("AccessDeniedException", "budgets:DescribeNotificationsForBudget")}), "error", "the alerts of cost budget a"),
    ],
)
def test_budget_alerts(given, outcome, says):
    found, message = judge(test_account.test_budget_alerts, given)
    assert found == outcome, message
    assert says in message


def primary(phone="+1 206 555 0100", name="Example Corp", street="1 Main St", city="Springfield", country="US") -> PrimaryContact:
    return PrimaryContact(name, phone, street, city, "62701", country, None)


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (primary(), "passed", "primary contact Example Corp, +1 206 555 0100"),
        (None, "failed", "no primary contact information is set"),
        (primary(phone="555-0142"), "failed", "is not in international format"),
        (primary(phone="+1 23"), "failed", "is not in international format"),
        (primary(phone="+1234567890123456"), "failed", "is not in international format"),
        (primary(name=" "), "failed", "no full name"),
        (primary(street="", city=""), "failed", "the address has no street, city"),
    ],
)
def test_root_contact_details(given, outcome, says):
    found, message = judge(test_account.test_root_contact_details, {"account.contact_information": given})
    assert found == outcome, message
    assert says in message


def user(name, mfa=True, password=True) -> IamUser:
    return IamUser(name, f"arn:aws:iam::{ACCOUNT}:user/{name}", password, mfa)


def admin(kind, name) -> Administrator:
    return Administrator(kind, name, f"arn:aws:iam::{ACCOUNT}:{kind}/{name}", ("AdministratorAccess",))


@pytest.mark.parametrize(
    "admins, users, outcome, says",
    [
        ([admin("role", "a"), admin("user", "b")], [user("b")], "passed", "2 principals hold administrator access"),
        ([admin("role", "a")], [], "failed", "only 1 principal(s) hold administrator access"),
        ([], [], "failed", "only 0 principal(s)"),
        ([admin("role", "a"), admin("user", "b")], [user("b", mfa=False)], "failed", "IAM user(s) with administrator access and no MFA: user b"),
        # An administrator newer than the credential report cannot be judged yet.
        ([admin("role", "a"), admin("user", "b")], [], "error", "is not in the credential report yet"),
    ],
)
def test_break_glass_admins(admins, users, outcome, says):
    found, message = judge(test_iam.test_break_glass_admins, {"iam.administrators": admins, "iam.users": users})
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "users, outcome, says",
    [
        ([user("a"), user("b", mfa=False, password=False)], "passed", "all 1 IAM user(s) with a console password have MFA"),
        ([], "passed", "no IAM user has a console password"),
        ([user("a"), user("b", mfa=False)], "failed", "1 IAM user(s) with a console password have no MFA: b"),
    ],
)
def test_iam_console_mfa(users, outcome, says):
    found, message = judge(test_iam.test_iam_console_mfa, {"iam.users": users})
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "policy, params, outcome, says",
    [
        (PasswordPolicy(14, 24), {}, "passed", "minimum length 14, prevents reuse of the last 24"),
        (PasswordPolicy(13, 24), {}, "failed", "minimum length is 13, not at least 14"),
        (PasswordPolicy(14, 23), {}, "failed", "only the last 23 passwords"),
        (PasswordPolicy(14, None), {}, "failed", "no earlier password"),
        (None, {}, "failed", "no IAM password policy is set"),
        (PasswordPolicy(12, 24), {"min_password_length": 12}, "passed", "minimum length 12"),
    ],
)
def test_password_policy(policy, params, outcome, says):
    found, message = judge(test_iam.test_password_policy, {"iam.password_policy": policy}, params=params)
    assert found == outcome, message
    assert says in message


ORG = Organization("o-1234567890", "123456789012")
DENY_ROOT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]}


def scp(document, name="deny-root") -> ServiceControlPolicy:
    return ServiceControlPolicy("p-00000001", name, "ou-9012-00000001", "ORGANIZATIONAL_UNIT", document)


def with_statement(**changes):
    statement = dict(DENY_ROOT["Statement"][0], **changes)
    return {"Version": "2012-10-17", "Statement": [statement]}


CALLER = {"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/audit/rootguard", "UserId": "x"}


@pytest.mark.parametrize(
    "policies, params, outcome, says",
    [
        ([scp(DENY_ROOT)], {}, "passed", "SCP deny-root (on OU ou-9012-00000001) denies every action to arn:aws:iam::111122223333:root"),
        ([], {}, "failed", "no SCP above the account denies its root user"),
        ([scp(with_statement(Action="s3:*"))], {}, "failed", "denies root only s3:*"),
        ([scp(with_statement(Resource="arn:aws:s3:::x"))], {}, "failed", "does not cover every resource"),
        ([scp(with_statement(Effect="Allow"))], {}, "failed", "no SCP above the account denies its root user"),
        ([scp(with_statement(Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}, "Bool": {"aws:MultiFactorAuthPresent": "false"}}))], {}, "failed", "applies only with Bool aws:MultiFactorAuthPresent"),
        ([scp(with_statement(Action=None, NotAction=["iam:*"]))], {}, "failed", "leaves iam:* to root"),
        ([scp(with_statement(Action=None, NotAction=["iam:*"]))], {"scp_root_allowed_actions": ("iam:*",)}, "passed", "except iam:*"),
        ([scp(with_statement(Condition={"ArnLike": {"aws:PrincipalArn": ["arn:*:iam::*:root"]}, "Null": {"aws:AssumedRoot": "true"}}))], {}, "passed", "except sessions opened with sts:AssumeRoot"),
        ([scp(with_statement(Condition={"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:root"}}))], {}, "failed", "exempting root itself"),
        ([failing("AccessDeniedException", "organizations:DescribePolicy"), scp(DENY_ROOT)], {}, "passed", "not read, and not needed"),
        ([failing("AccessDeniedException", "organizations:DescribePolicy")], {}, "error", "organizations:DescribePolicy failed"),
    ],
)
def test_scp_deny_root(policies, params, outcome, says):
    given = {"organizations.organization": ORG, "organizations.service_control_policies": policies, "sts.caller_identity": CALLER}
    found, message = judge(test_organization.test_scp_deny_root, given, params=params)
    assert found == outcome, message
    assert says in message


def test_scp_deny_root_skips_the_management_account_and_accounts_outside_organizations():
    managed = {"organizations.organization": Organization("o-1234567890", ACCOUNT)}
    assert judge(test_organization.test_scp_deny_root, managed)[0] == "skipped"
    assert judge(test_organization.test_scp_deny_root, {"organizations.organization": None})[0] == "skipped"


@pytest.mark.parametrize(
    "features, outcome, says",
    [
        (RootAccessFeatures("o-1234567890", frozenset({"RootCredentialsManagement", "RootSessions"})), "passed", "has RootCredentialsManagement and RootSessions"),
        (RootAccessFeatures("o-1234567890", frozenset({"RootCredentialsManagement"})), "failed", "has not enabled RootSessions"),
        (RootAccessFeatures("o-1234567890", frozenset()), "failed", "has not enabled RootCredentialsManagement, RootSessions"),
        (RootAccessFeatures(None, frozenset(), "trusted access for IAM is not enabled in AWS Organizations"), "failed", "trusted access for IAM is not enabled"),
    ],
)
def test_centralized_root_access(features, outcome, says):
    given = {"organizations.organization": ORG, "organizations.root_access_features": features}
    found, message = judge(test_organization.test_centralized_root_access, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "detectors, outcome, says",
    [
        ([Detector("d1", "ENABLED")], "passed", "GuardDuty detector d1 is enabled"),
        ([Detector("d1", "DISABLED")], "failed", "GuardDuty detector d1 is disabled"),
        ([], "failed", "GuardDuty has no detector here"),
    ],
)
def test_guardduty_enabled(detectors, outcome, says):
    found, message = judge(test_detection.test_guardduty_enabled, {"guardduty.detectors": detectors}, region="us-east-1")
    assert found == outcome, message
    assert says in message


def recorder(strategy="ALL_SUPPORTED_RESOURCE_TYPES", iam=True, recording=True, service=None, excluded=()) -> Recorder:
    return Recorder("us-east-1", "default", strategy, tuple(excluded), iam, service, recording, "SUCCESS" if recording else None)


@pytest.mark.parametrize(
    "recorders, outcome, says",
    [
        ([recorder()], "passed", "records all resource types, IAM's global ones included"),
        ([recorder(strategy="EXCLUSION_BY_RESOURCE_TYPES", excluded=["AWS::Pinpoint::Segment"])], "passed", "except AWS::Pinpoint::Segment"),
        ([recorder(iam=False)], "failed", "leaves out global resources (IAM)"),
        ([recorder(strategy="INCLUSION_BY_RESOURCE_TYPES")], "failed", "records only selected resource types"),
        ([recorder(recording=False)], "failed", "is not recording"),
        ([recorder(service="securityhub.amazonaws.com")], "failed", "no configuration recorder of the account's own"),
        ([], "failed", "no configuration recorder of the account's own"),
    ],
)
def test_config_recorder(recorders, outcome, says):
    given = {"config.recorders_everywhere": {"us-east-1": recorders}, "config.region_recorders": lambda: recorders}
    found, message = judge(test_detection.test_config_recorder, given)
    assert found == outcome, message
    assert says in message


def test_guardduty_reads_the_region_it_judges():
    by_region = {"us-east-1": [Detector("d1", "ENABLED")], "eu-west-1": [Detector("d2", "DISABLED")]}
    given = {"guardduty.detectors": lambda region: by_region[region]}
    assert judge(test_detection.test_guardduty_enabled, given, region="us-east-1")[0] == "passed"
    assert judge(test_detection.test_guardduty_enabled, given, region="eu-west-1")[0] == "failed"


@pytest.mark.parametrize(
    "condition, outcome",
    [
        # Only a Null test of aws:AssumedRoot spares what centralized root access opens.
        ({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "Null": {"aws:AssumedRoot": True}}, "passed"),
        ({"Null": {"aws:AssumedRoot": "true"}, "ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}}, "passed"),
        ({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "Null": {"aws:AssumedRoot": "false"}}, "failed"),
        ({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "StringEquals": {"aws:AssumedRoot": "true"}}, "failed"),
        ({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "Bool": {"aws:MultiFactorAuthPresent": "true"}}, "failed"),
        ({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "Null": {"aws:SourceIp": "true"}}, "failed"),
        ({"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}, "Null": {"aws:AssumedRoot": "true", "aws:SourceVpc": "true"}}, "failed"),
        # A principal list with something else before root's ARN.
        ({"ArnLike": {"aws:PrincipalArn": [7, "arn:aws:iam::*:role/x", "arn:aws:iam::*:root"]}}, "passed"),
    ],
)
def test_scp_deny_root_conditions(condition, outcome):
    given = {"organizations.organization": ORG, "organizations.service_control_policies": [scp(with_statement(Condition=condition))],
             "sts.caller_identity": CALLER}
    found, message = judge(test_organization.test_scp_deny_root, given)
    assert found == outcome, message
    if outcome == "passed":
        assert ("sts:AssumeRoot" in message) == ("aws:AssumedRoot" in str(condition))
