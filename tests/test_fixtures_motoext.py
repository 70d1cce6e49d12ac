"""Tests of rootguard.fixtures.motoext: each gap it fills answers real boto3 calls, in-process (mock_aws)
and over HTTP (a moto server in this process), and moto is unchanged where nothing was seeded."""

import csv
import io
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from rootguard.fixtures import motoext
from rootguard.fixtures.server import moto_server

HUB = "123456789012"
MEMBER = "210987654321"
OUTSIDER = "555555555555"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
FAKE = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(service, region="us-east-1", endpoint_url=None, account=HUB):
    credentials = dict(FAKE)
    if account != HUB:
        assumed = client("sts", endpoint_url=endpoint_url).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="motoext-test",
        )["Credentials"]
        credentials = {
            "aws_access_key_id": assumed["AccessKeyId"],
            "aws_secret_access_key": assumed["SecretAccessKey"],
            "aws_session_token": assumed["SessionToken"],
        }
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **credentials)


def credential_report(endpoint_url=None, account=HUB):
    iam = client("iam", endpoint_url=endpoint_url, account=account)
    iam.generate_credential_report()
    content = iam.get_credential_report()["Content"].decode()
    return list(csv.DictReader(io.StringIO(content)))


def make_organization(endpoint_url=None):
    org = client("organizations", endpoint_url=endpoint_url)
    org.create_organization(FeatureSet="ALL")
    with motoext.fixed_account_ids([MEMBER]):
        created = org.create_account(AccountName="member", Email="member@example.com")
    assert created["CreateAccountStatus"]["AccountId"] == MEMBER


def make_org_trail(endpoint_url=None, name="org-trail", multi_region=True):
    client("s3", endpoint_url=endpoint_url).create_bucket(Bucket=f"{name}-bucket")
    cloudtrail = client("cloudtrail", endpoint_url=endpoint_url)
    arn = cloudtrail.create_trail(
        Name=name,
        S3BucketName=f"{name}-bucket",
        IsMultiRegionTrail=multi_region,
        IsOrganizationTrail=True,
        EnableLogFileValidation=True,
    )["TrailARN"]
    cloudtrail.put_event_selectors(
        TrailName=arn,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    cloudtrail.start_logging(Name=arn)
    return arn


def test_install_is_idempotent():
    from moto.iam.models import IAMBackend

    motoext.install()
    patched = IAMBackend.get_credential_report
    motoext.install()
    assert IAMBackend.get_credential_report is patched


@mock_aws
def test_unseeded_accounts_keep_moto_behaviour():
    motoext.install()
    client("iam").create_user(UserName="alice")
    rows = credential_report()
    assert [row["user"] for row in rows] == ["alice"]
    summary = client("iam").get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == 0
    assert summary["AccountAccessKeysPresent"] == 0
    assert "AccountPasswordPresent" not in summary
    assert client("iam").list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"] == []


def assert_root_row(rows, account_id):
    assert rows[0]["user"] == "<root_account>"
    root = rows[0]
    assert root["arn"] == f"arn:aws:iam::{account_id}:root"
    assert root["user_creation_time"] == "2023-06-04T12:00:00+00:00"
    assert root["password_enabled"] == "not_supported"
    assert root["password_last_used"] == "2026-02-27T12:00:00+00:00"
    assert root["password_last_changed"] == "not_supported"
    assert root["mfa_active"] == "true"
    assert root["access_key_1_active"] == "true"
    assert root["access_key_1_last_rotated"] == "2025-01-25T12:00:00+00:00"
    assert root["access_key_1_last_used_date"] == "2026-03-01T07:00:00+00:00"
    assert root["access_key_1_last_used_region"] == "eu-west-1"
    assert root["access_key_1_last_used_service"] == "s3"
    assert root["access_key_2_active"] == "false"
    # AWS: N/A in last_rotated for a key that is not active.
    assert root["access_key_2_last_rotated"] == "N/A"
    assert root["access_key_2_last_used_date"] == "N/A"
    assert root["access_key_2_last_used_region"] == "N/A"
    assert root["cert_1_active"] == "false"
    assert root["cert_2_last_rotated"] == "N/A"
    assert [row["user"] for row in rows[1:]] == ["alice"]
    assert rows[1]["arn"] == f"arn:aws:iam::{account_id}:user/alice"


def seed_root_with_keys(account_id):
    motoext.set_root_credentials(
        account_id,
        motoext.RootCredentials(
            created=NOW - timedelta(days=1001),
            password=True,
            password_last_used=NOW - timedelta(days=2),
            mfa="hardware",
            access_keys=(
                motoext.RootAccessKey(
                    active=True,
                    created=NOW - timedelta(days=400),
                    last_used=NOW - timedelta(hours=5),
                    last_used_region="eu-west-1",
                    last_used_service="s3",
                ),
                motoext.RootAccessKey(active=False, created=NOW - timedelta(days=694)),
            ),
        ),
    )


@mock_aws
def test_credential_report_has_root_row_in_process():
    client("iam").create_user(UserName="alice")
    seed_root_with_keys(HUB)
    assert_root_row(credential_report(), HUB)


def test_credential_report_has_root_row_over_http():
    with moto_server() as endpoint:
        client("iam", endpoint_url=endpoint).create_user(UserName="alice")
        seed_root_with_keys(HUB)
        assert_root_row(credential_report(endpoint), HUB)


def test_root_row_for_root_without_credentials_and_never_used_password():
    with mock_aws():
        motoext.set_root_credentials(HUB, motoext.RootCredentials(created=NOW, password=False, mfa="none"))
        root = credential_report()[0]
        assert (root["password_last_used"], root["mfa_active"], root["access_key_1_active"]) == (
            "N/A",
            "false",
            "false",
        )
        assert root["access_key_1_last_rotated"] == "N/A"
    # A fresh account: within four hours of a report, AWS serves that report again.
    with mock_aws():
        motoext.set_root_credentials(HUB, motoext.RootCredentials(created=NOW, password=True, mfa="none"))
        assert credential_report()[0]["password_last_used"] == "no_information"


def assert_report_dated_when_generated(endpoint_url):
    iam = client("iam", endpoint_url=endpoint_url)
    iam.create_user(UserName="alice")
    with pytest.raises(ClientError) as error:
        iam.get_credential_report()
    assert error.value.response["Error"]["Code"] == "ReportNotPresent"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert iam.generate_credential_report()["State"] == "STARTED"
    after = datetime.now(timezone.utc)
    report = iam.get_credential_report()
    assert before <= report["GeneratedTime"] <= after
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    assert [row["user"] for row in rows] == ["alice"]
    assert datetime.fromisoformat(rows[0]["user_creation_time"]) <= report["GeneratedTime"]
    # Within four hours AWS serves the report it made: bob, made since, is not in it yet.
    iam.create_user(UserName="bob")
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    again = iam.get_credential_report()
    assert (again["GeneratedTime"], again["Content"]) == (report["GeneratedTime"], report["Content"])


@mock_aws
def test_credential_report_is_dated_when_generated_in_process():
    motoext.install()
    assert_report_dated_when_generated(None)


def test_credential_report_is_dated_when_generated_over_http():
    with moto_server() as endpoint:
        assert_report_dated_when_generated(endpoint)


@mock_aws
def test_credential_report_older_than_four_hours_is_made_again(monkeypatch):
    iam = client("iam")
    seed_root_with_keys(HUB)
    iam.generate_credential_report()
    first = iam.get_credential_report()["GeneratedTime"]
    iam.create_user(UserName="bob")
    monkeypatch.setattr(motoext, "_utcnow", lambda: first + timedelta(hours=4) - timedelta(seconds=1))
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    assert iam.get_credential_report()["GeneratedTime"] == first
    monkeypatch.setattr(motoext, "_utcnow", lambda: first + timedelta(hours=4))
    assert iam.generate_credential_report()["State"] == "STARTED"
    report = iam.get_credential_report()
    assert report["GeneratedTime"] == first + timedelta(hours=4)
    users = [row["user"] for row in csv.DictReader(io.StringIO(report["Content"].decode()))]
    assert users == ["<root_account>", "bob"]


@mock_aws
def test_account_summary_follows_root_state():
    iam = client("iam")
    motoext.set_root_credentials(
        HUB,
        motoext.RootCredentials(
            created=NOW, mfa="hardware", access_keys=(motoext.RootAccessKey(False, NOW),)
        ),
    )
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["AccountMFAEnabled"], summary["AccountAccessKeysPresent"]) == (1, 1)
    assert summary["AccountPasswordPresent"] == 1
    motoext.set_root_credentials(HUB, motoext.RootCredentials(created=NOW, password=False, mfa="none"))
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["AccountMFAEnabled"], summary["AccountAccessKeysPresent"]) == (0, 0)
    assert summary["AccountPasswordPresent"] == 0


@mock_aws
def test_virtual_mfa_assigned_to_root_is_listed():
    iam = client("iam")
    motoext.set_root_credentials(HUB, motoext.RootCredentials(created=NOW, mfa="virtual"))
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")[
        "VirtualMFADevice"
    ]["SerialNumber"]
    assert serial == motoext.root_virtual_mfa_serial(HUB)
    iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")
    motoext.assign_virtual_mfa_to_root(HUB, serial, NOW)

    pages = iam.get_paginator("list_virtual_mfa_devices").paginate(
        AssignmentStatus="Assigned", PaginationConfig={"PageSize": 1}
    )
    devices = [device for page in pages for device in page["VirtualMFADevices"]]
    assert [device["SerialNumber"] for device in devices] == [
        "arn:aws:iam::123456789012:mfa/root-account-mfa-device"
    ]
    assert devices[0]["User"]["Arn"] == "arn:aws:iam::123456789012:root"
    assert devices[0]["User"]["UserId"] == HUB
    assert devices[0]["EnableDate"] == NOW
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert [device["SerialNumber"] for device in unassigned] == ["arn:aws:iam::123456789012:mfa/spare"]


@mock_aws
def test_hardware_root_mfa_has_no_virtual_device():
    motoext.set_root_credentials(HUB, motoext.RootCredentials(created=NOW, mfa="hardware"))
    iam = client("iam")
    assert iam.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"] == []


def assert_member_sees_org_trail(endpoint_url, trail_arn):
    for region in ("us-east-1", "eu-west-1"):
        cloudtrail = client("cloudtrail", region, endpoint_url, account=MEMBER)
        trails = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]
        assert [(t["TrailARN"], t["HomeRegion"], t["IsOrganizationTrail"]) for t in trails] == [
            (trail_arn, "us-east-1", True)
        ]
    cloudtrail = client("cloudtrail", "us-east-1", endpoint_url, account=MEMBER)
    # As AWS does, the member is refused its organization trail's status and selectors by ARN.
    for read in (lambda: cloudtrail.get_trail_status(Name=trail_arn), lambda: cloudtrail.get_event_selectors(TrailName=trail_arn)):
        with pytest.raises(ClientError) as refused:
            read()
        assert refused.value.response["Error"]["Code"] == "CloudTrailARNInvalidException"
        assert refused.value.response["Error"]["Message"] == (
            f"AccountID in ARN is wrong, you can only access resources with AccountID {MEMBER}."
        )
    owner = client("cloudtrail", "us-east-1", endpoint_url)
    assert owner.get_trail_status(Name=trail_arn)["IsLogging"] is True
    selectors = owner.get_event_selectors(TrailName=trail_arn)
    assert selectors["TrailARN"] == trail_arn
    assert selectors["EventSelectors"][0]["ReadWriteType"] == "All"
    assert selectors["EventSelectors"][0]["IncludeManagementEvents"] is True
    assert [t["TrailARN"] for t in cloudtrail.list_trails()["Trails"]] == [trail_arn]


@mock_aws
def test_organization_trail_is_visible_from_member_in_process():
    motoext.install()
    make_organization()
    arn = make_org_trail()
    assert arn == "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail"
    assert_member_sees_org_trail(None, arn)
    # The owner still sees it once, and an account outside the organization not at all.
    owner = client("cloudtrail", "eu-west-1").describe_trails(includeShadowTrails=True)
    assert [t["TrailARN"] for t in owner["trailList"]] == [arn]
    outsider = client("cloudtrail", account=OUTSIDER).describe_trails(includeShadowTrails=True)
    assert outsider["trailList"] == []


def test_organization_trail_is_visible_from_member_over_http():
    with moto_server() as endpoint:
        make_organization(endpoint)
        arn = make_org_trail(endpoint)
        assert_member_sees_org_trail(endpoint, arn)


@mock_aws
def test_single_region_organization_trail_shows_only_in_its_home_region():
    motoext.install()
    make_organization()
    arn = make_org_trail(multi_region=False)
    home = client("cloudtrail", "us-east-1", account=MEMBER)
    assert [t["TrailARN"] for t in home.describe_trails()["trailList"]] == [arn]
    away = client("cloudtrail", "eu-west-1", account=MEMBER)
    assert away.describe_trails(includeShadowTrails=True)["trailList"] == []
    with pytest.raises(ClientError) as error:
        away.get_event_selectors(TrailName=arn)
    assert error.value.response["Error"]["Code"] == "CloudTrailARNInvalidException"


@mock_aws
def test_trail_status_reports_cloudwatch_logs_delivery():
    motoext.install()
    make_organization()
    arn = make_org_trail()
    cloudtrail = client("cloudtrail")
    assert "LatestCloudWatchLogsDeliveryTime" not in cloudtrail.get_trail_status(Name=arn)
    motoext.set_cloudwatch_logs_delivery(HUB, "us-east-1", "org-trail", NOW - timedelta(hours=30))
    assert cloudtrail.get_trail_status(Name=arn)["LatestCloudWatchLogsDeliveryTime"] == NOW - timedelta(
        hours=30
    )
    with pytest.raises(ClientError) as refused:
        client("cloudtrail", account=MEMBER).get_trail_status(Name=arn)
    assert refused.value.response["Error"]["Code"] == "CloudTrailARNInvalidException"


def assert_pending_subscription(endpoint_url):
    sns = client("sns", endpoint_url=endpoint_url)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    confirmed = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")["SubscriptionArn"]
    pending = sns.subscribe(
        TopicArn=topic, Protocol="email", Endpoint="b@example.com", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    motoext.mark_subscription_pending(HUB, "us-east-1", pending)
    pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
    listed = {s["Endpoint"]: s["SubscriptionArn"] for page in pages for s in page["Subscriptions"]}
    assert listed == {"a@example.com": confirmed, "b@example.com": "PendingConfirmation"}
    everywhere = {s["Endpoint"]: s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]}
    assert everywhere["b@example.com"] == "PendingConfirmation"


@mock_aws
def test_pending_subscription_in_process():
    assert_pending_subscription(None)


def test_pending_subscription_over_http():
    with moto_server() as endpoint:
        assert_pending_subscription(endpoint)


def assert_budget_subscribers(endpoint_url):
    budgets = client("budgets", endpoint_url=endpoint_url)
    notification = {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE",
    }
    budgets.create_budget(
        AccountId=HUB,
        Budget={
            "BudgetName": "monthly",
            "BudgetLimit": {"Amount": "100", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
        },
        NotificationsWithSubscribers=[
            {
                "Notification": notification,
                "Subscribers": [
                    {"SubscriptionType": "EMAIL", "Address": "finance@example.com"},
                    {"SubscriptionType": "EMAIL", "Address": "cto@example.com"},
                ],
            }
        ],
    )
    listed = budgets.describe_notifications_for_budget(AccountId=HUB, BudgetName="monthly")
    pages = budgets.get_paginator("describe_subscribers_for_notification").paginate(
        AccountId=HUB,
        BudgetName="monthly",
        Notification=listed["Notifications"][0],
        PaginationConfig={"PageSize": 1},
    )
    subscribers = [s["Address"] for page in pages for s in page["Subscribers"]]
    assert subscribers == ["finance@example.com", "cto@example.com"]
    with pytest.raises(ClientError) as error:
        budgets.describe_subscribers_for_notification(
            AccountId=HUB, BudgetName="monthly", Notification=dict(notification, Threshold=50.0)
        )
    assert error.value.response["Error"]["Code"] == "NotFoundException"


@mock_aws
def test_budget_subscribers_in_process():
    motoext.install()
    assert_budget_subscribers(None)


def test_budget_subscribers_over_http():
    with moto_server() as endpoint:
        assert_budget_subscribers(endpoint)


@mock_aws
def test_budget_without_a_period_starts_at_its_period_in_utc(monkeypatch):
    """Made at 20:00 UTC on March 31 by a machine at UTC+14, where it is already April 1."""
    import moto.budgets.models

    made = datetime(2026, 3, 31, 20, 0)
    moto_unix_time = moto.budgets.models.unix_time

    class LocalClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return made + timedelta(hours=14)

    monkeypatch.setattr(moto.budgets.models, "datetime", LocalClock)
    monkeypatch.setattr(moto.budgets.models, "unix_time", lambda value=None: moto_unix_time(value or made))
    motoext.install()
    budgets = client("budgets")
    starts = {"DAILY": (3, 31), "MONTHLY": (3, 1), "QUARTERLY": (1, 1), "ANNUALLY": (1, 1)}
    for unit in starts:
        budgets.create_budget(
            AccountId=HUB,
            Budget={"BudgetName": unit, "BudgetLimit": {"Amount": "100", "Unit": "USD"}, "TimeUnit": unit, "BudgetType": "COST"},
        )
    for budget in budgets.describe_budgets(AccountId=HUB)["Budgets"]:
        month, day = starts[budget["TimeUnit"]]
        assert budget["LastUpdatedTime"] == made.replace(tzinfo=timezone.utc)
        assert budget["TimePeriod"]["Start"] == datetime(2026, month, day, tzinfo=timezone.utc), budget["TimeUnit"]
        assert budget["TimePeriod"]["End"] == datetime(2087, 6, 15, tzinfo=timezone.utc)


@mock_aws
def test_unset_alternate_contact_is_not_found():
    account = client("account")
    account.put_alternate_contact(
        AlternateContactType="SECURITY",
        Name="Sam",
        EmailAddress="sam@example.com",
        PhoneNumber="+1-555-0100",
        Title="CISO",
    )
    assert account.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]["Name"] == "Sam"
    with pytest.raises(ClientError) as error:
        account.get_alternate_contact(AlternateContactType="BILLING")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


@mock_aws
def test_organizations_features():
    motoext.install()
    iam = client("iam")
    with pytest.raises(ClientError) as error:
        iam.list_organizations_features()
    assert error.value.response["Error"]["Code"] == "OrganizationNotFoundException"
    make_organization()
    organization_id = client("organizations").describe_organization()["Organization"]["Id"]
    assert iam.list_organizations_features()["EnabledFeatures"] == []
    motoext.set_organizations_features(HUB, ["RootCredentialsManagement", "RootSessions"])
    features = iam.list_organizations_features()
    assert features["OrganizationId"] == organization_id
    assert features["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    with pytest.raises(ClientError) as error:
        client("iam", account=MEMBER).list_organizations_features()
    assert error.value.response["Error"]["Code"] == "AccountNotManagementOrDelegatedAdministratorException"


def assert_contact_information(endpoint_url):
    account = client("account", endpoint_url=endpoint_url)
    with pytest.raises(ClientError) as error:
        account.get_contact_information()
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    contact = {
        "FullName": "Example Corp",
        "AddressLine1": "1 Main Street",
        "City": "Springfield",
        "PostalCode": "62701",
        "CountryCode": "US",
        "PhoneNumber": "+1-555-0100",
    }
    account.put_contact_information(ContactInformation=contact)
    assert account.get_contact_information()["ContactInformation"] == contact


@mock_aws
def test_contact_information_in_process():
    motoext.install()
    assert_contact_information(None)


def test_contact_information_over_http():
    with moto_server() as endpoint:
        assert_contact_information(endpoint)


@mock_aws
def test_fixed_account_ids_apply_only_inside_the_block():
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    with motoext.fixed_account_ids(["000011112222", "000011113333"]):
        first = org.create_account(AccountName="a", Email="a@example.com")
        second = org.create_account(AccountName="b", Email="b@example.com")
    third = org.create_account(AccountName="c", Email="c@example.com")
    ids = [r["CreateAccountStatus"]["AccountId"] for r in (first, second, third)]
    assert ids[:2] == ["000011112222", "000011113333"]
    assert ids[2] not in ids[:2] and len(ids[2]) == 12
    # moto's CreateAccount also makes the role the hub assumes into the member.
    role = client("iam", account="000011112222").get_role(RoleName="OrganizationAccountAccessRole")
    assert role["Role"]["Arn"] == "arn:aws:iam::000011112222:role/OrganizationAccountAccessRole"


@mock_aws
def test_rename_account():
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    assert org.describe_account(AccountId=HUB)["Account"]["Name"] == "master"
    motoext.rename_account(HUB, HUB, "management")
    assert org.describe_account(AccountId=HUB)["Account"]["Name"] == "management"


@mock_aws
def test_aws_managed_policy_is_provided_only_where_asked():
    iam = client("iam")
    iam.create_role(RoleName="admin", AssumeRolePolicyDocument="{}")
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    with pytest.raises(ClientError) as error:
        iam.attach_role_policy(RoleName="admin", PolicyArn=arn)
    assert error.value.response["Error"]["Code"] == "NoSuchEntity"
    assert motoext.provide_aws_managed_policy(HUB, "AdministratorAccess") == arn
    assert motoext.provide_aws_managed_policy(HUB, "AdministratorAccess") == arn
    iam.attach_role_policy(RoleName="admin", PolicyArn=arn)
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="admin")["AttachedPolicies"]] == [arn]
    assert [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]] == [arn]
    with pytest.raises(KeyError, match="NoSuchPolicy is not an AWS managed policy"):
        motoext.provide_aws_managed_policy(HUB, "NoSuchPolicy")


def assert_bucket_mfa_delete(endpoint_url):
    s3 = client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket="trail-logs")
    s3.put_bucket_versioning(Bucket="trail-logs", VersioningConfiguration={"Status": "Enabled"})
    assert "MFADelete" not in s3.get_bucket_versioning(Bucket="trail-logs")
    motoext.set_bucket_mfa_delete(HUB, "trail-logs")
    versioning = s3.get_bucket_versioning(Bucket="trail-logs")
    assert (versioning["Status"], versioning["MFADelete"]) == ("Enabled", "Enabled")


@mock_aws
def test_bucket_mfa_delete_in_process():
    assert_bucket_mfa_delete(None)


def test_bucket_mfa_delete_over_http():
    with moto_server() as endpoint:
        assert_bucket_mfa_delete(endpoint)


def test_membership_of_a_gone_organization_is_forgotten():
    with mock_aws():
        make_organization()
        assert client("organizations", account=MEMBER).describe_organization()["Organization"]["MasterAccountId"] == HUB
    with mock_aws():
        motoext.install()
        member = client("organizations", account=MEMBER)
        with pytest.raises(ClientError) as error:
            member.describe_organization()
        assert error.value.response["Error"]["Code"] == "AWSOrganizationsNotInUseException"
        # ... and it may make an organization of its own.
        assert member.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"] == MEMBER
