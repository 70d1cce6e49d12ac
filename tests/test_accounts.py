"""Accounts: listed ones, AWS Organizations enumeration, sessions via AssumeRole, --account."""

import boto3
import pytest
from moto import mock_aws

from rootguard.accounts import SESSION_NAME, Account, Connector
from rootguard.errors import AccountsError, FactError
from rootguard.profile import Credentials, ListedAccount, OrganizationScope, Profile

HUB = "123456789012"


def profile(**fields) -> Profile:
    return Profile(name="t", path="t.yaml", **fields)


@pytest.fixture
def org():
    with mock_aws():
        client = boto3.client("organizations", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        prod = client.create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]["Id"]
        payments = client.create_organizational_unit(ParentId=prod, Name="Payments")["OrganizationalUnit"]["Id"]
        ids = {}
        for name, parent in (("web-prod", prod), ("pay-prod", payments), ("sandbox", root), ("closed", root)):
            status = client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
            ids[name] = status["AccountId"]
            if parent != root:
                client.move_account(AccountId=ids[name], SourceParentId=root, DestinationParentId=parent)
        client.close_account(AccountId=ids["closed"])
        yield {"client": client, "ids": ids, "prod": prod}


def names(accounts):
    return sorted(a.name for a in accounts)


def test_organization_lists_active_accounts_with_roles(org):
    connector = Connector(profile(organization=OrganizationScope(role_name="Audit")), mocked=True)
    accounts = connector.resolve_accounts()
    assert "closed" not in names(accounts)
    assert {"web-prod", "pay-prod", "sandbox"} <= set(names(accounts))
    by_name = {a.name: a for a in accounts}
    assert by_name["sandbox"].role_arn == f"arn:aws:iam::{org['ids']['sandbox']}:role/Audit"
    management = [a for a in accounts if a.id == HUB]
    assert management and management[0].role_arn is None  # the hub's own account is reached directly
    assert all(a.source == "organization" for a in accounts)


def test_include_ous_by_name_and_id_takes_nested_ous(org):
    by_name = Connector(profile(organization=OrganizationScope(include_ous=("Production",))), mocked=True).resolve_accounts()
    assert names(by_name) == ["pay-prod", "web-prod"]
    by_id = Connector(profile(organization=OrganizationScope(include_ous=(org["prod"],))), mocked=True).resolve_accounts()
    assert names(by_id) == ["pay-prod", "web-prod"]
    nested = Connector(profile(organization=OrganizationScope(include_ous=("Payments",))), mocked=True).resolve_accounts()
    assert names(nested) == ["pay-prod"]


def test_unknown_ou_is_an_error(org):
    connector = Connector(profile(organization=OrganizationScope(include_ous=("Nope",))), mocked=True)
    with pytest.raises(AccountsError, match="include_ous: Nope matches no organizational unit"):
        connector.resolve_accounts()


def test_exclusions_and_listed_accounts_win(org):
    sandbox = org["ids"]["sandbox"]
    listed = ListedAccount(id=sandbox, name="my-sandbox", role_arn=f"arn:aws:iam::{sandbox}:role/Other")
    scope = OrganizationScope(exclude_accounts=(org["ids"]["web-prod"],))
    accounts = Connector(profile(accounts=(listed,), organization=scope), mocked=True).resolve_accounts()
    assert "web-prod" not in names(accounts)
    chosen = [a for a in accounts if a.id == sandbox]
    assert len(chosen) == 1 and chosen[0].name == "my-sandbox" and chosen[0].source == "listed"


def test_assumed_session_reaches_the_account_with_a_clear_session_name(org):
    target = org["ids"]["sandbox"]
    connector = Connector(profile(), mocked=True)
    session = connector.session_for(Account(id=target, name="sandbox", role_arn=f"arn:aws:iam::{target}:role/Audit"))
    identity = session.client("sts", region_name="us-east-1").get_caller_identity()
    assert identity["Account"] == target
    assert identity["Arn"].endswith(f"assumed-role/Audit/{SESSION_NAME}")


def test_organization_refusal_is_an_accounts_error():
    with mock_aws():
        connector = Connector(profile(organization=OrganizationScope()), mocked=True)
        with pytest.raises(AccountsError, match="organization: organizations:DescribeOrganization failed: AWSOrganizationsNotInUseException"):
            connector.resolve_accounts()


def test_bad_named_profile_is_kept_as_the_accounts_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    connector = Connector(profile(), mocked=False)
    account = Account(id=HUB, name="x", aws_profile="no-such-profile")
    with pytest.raises(FactError, match="aws_profile 'no-such-profile'"):
        connector.session_for(account)
    with pytest.raises(FactError):
        connector.session_for(account)  # kept, not retried per fact


def test_hub_role_is_assumed_first(org):
    target = org["ids"]["web-prod"]
    creds = Credentials(role_arn=f"arn:aws:iam::{target}:role/Hub", external_id="x-1")
    connector = Connector(profile(credentials=creds), mocked=True)
    assert connector.hub_account_id() == target


def handler_names(core, event: str) -> list[str]:
    return [getattr(h, "__qualname__", repr(h)) for h in core.get_component("event_emitter")._emitter._handlers.prefix_search(event)]


def test_sessions_copy_botocore_builtin_handlers_and_follow_changes_to_them(monkeypatch):
    import botocore.handlers
    import botocore.session

    from rootguard.accounts import new_botocore_session

    plain = botocore.session.Session()
    for event in ("before-send.iam.GetAccountSummary", "needs-retry.iam.GetAccountSummary", "before-parameter-build.s3.GetBucketPolicy"):
        assert handler_names(new_botocore_session(), event) == handler_names(plain, event)

    # moto adds its HTTP stub to the built-in list when imported; a session made afterwards must carry it.
    def stub(**kwargs):
        return None

    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", [*botocore.handlers.BUILTIN_HANDLERS, ("before-send", stub)])
    assert "test_sessions_copy_botocore_builtin_handlers_and_follow_changes_to_them.<locals>.stub" in handler_names(
        new_botocore_session(), "before-send.iam.GetAccountSummary"
    )


def test_client_classes_are_shared_between_rootguard_sessions_only():
    import botocore.session

    from rootguard.accounts import new_botocore_session

    def iam(core):
        return core.create_client("iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")

    first, second = iam(new_botocore_session()), iam(new_botocore_session())
    assert type(first) is type(second)
    assert first._request_signer._credentials.access_key == "a"
    assert type(iam(botocore.session.Session())) is not type(first)
