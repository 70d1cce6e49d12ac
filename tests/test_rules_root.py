"""The root user controls' rules on plain facts (rootguard.controls.given): each way to pass, fail and err."""

import datetime as dt

import pytest

from rootguard.controls.given import NOW, failing, judge
from rootguard.facts.iam import RootAccessKey, RootReport, RootSummary
from tests_compliance import test_root_user as controls

ROOT = "arn:aws:iam::111122223333:root"


def report(mfa=True, password_used=None, keys=()) -> RootReport:
    return RootReport(ROOT, NOW - dt.timedelta(hours=1), mfa, password_used, tuple(keys))


def summary(password=True, mfa=True, keys=False) -> RootSummary:
    return RootSummary(password, mfa, keys)


def key(slot=1, active=True, used=None) -> RootAccessKey:
    return RootAccessKey(slot, active, NOW - dt.timedelta(days=400) if active else None, used)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def root_facts(report_fact, summary_fact, virtual=()):
    return {"iam.root_report": report_fact, "iam.root_summary": summary_fact, "iam.root_virtual_mfa": list(virtual)}


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (root_facts(report(), summary()), "passed", "AccountMFAEnabled = 1, credential report mfa_active = true"),
        (root_facts(report(mfa=False), summary(password=False, mfa=False)), "passed", "root has no password and no access keys"),
        (root_facts(report(mfa=False), summary(mfa=False)), "failed", "root user has a password and no MFA"),
        (root_facts(report(mfa=False), summary(password=False, mfa=False, keys=True)), "failed", "root user has an access key and no MFA"),
        # An inactive key the report shows through its use is a credential too.
        (root_facts(report(mfa=False, keys=[key(active=False, used=days_ago(3))]), summary(password=False, mfa=False)), "failed", "an access key"),
        # The two sources disagree: neither is believed over the other.
        (root_facts(report(mfa=False), summary(mfa=True)), "error", "GetAccountSummary says root MFA is on but the credential report"),
        (root_facts(report(mfa=True), summary(mfa=False)), "error", "GetAccountSummary says root MFA is off but the credential report"),
        # No AccountPasswordPresent: only the password's presence would decide.
        (root_facts(report(mfa=False), summary(password=None, mfa=False)), "error", "no AccountPasswordPresent"),
        (root_facts(report(mfa=False, password_used=days_ago(400)), summary(password=None, mfa=False)), "failed", "root user has a password (used "),
        (root_facts(report(), summary(password=None)), "passed", "AccountMFAEnabled = 1"),
        # The summary is the live record; the report alone does not decide.
        (root_facts(report(), failing()), "error", "iam:GetAccountSummary failed: AccessDenied"),
        (root_facts(failing("AccessDenied", "iam:GetCredentialReport"), summary()), "passed", "not read, and not needed for this verdict"),
    ],
)
def test_root_mfa(given, outcome, says):
    found, message = judge(controls.test_root_mfa, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (root_facts(report(), summary()), "passed", "no virtual MFA device is assigned to it"),
        (root_facts(report(), summary(), virtual=["arn:aws:iam::111122223333:mfa/root-account-mfa-device"]), "failed", "root MFA is a virtual device"),
        (root_facts(report(mfa=False), summary(mfa=False)), "failed", "no MFA at all"),
        (root_facts(report(mfa=False), summary(password=False, mfa=False)), "passed", "root has no password and no access keys"),
        (root_facts(report(mfa=False), summary(password=None, mfa=False)), "error", "no AccountPasswordPresent"),
        ({**root_facts(report(), summary()), "iam.root_virtual_mfa": failing("AccessDenied", "iam:ListVirtualMFADevices")}, "error", "iam:ListVirtualMFADevices"),
    ],
)
def test_root_hardware_mfa(given, outcome, says):
    found, message = judge(controls.test_root_hardware_mfa, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (root_facts(report(), summary()), "passed", "credential report and GetAccountSummary agree"),
        (root_facts(report(keys=[key()]), summary(keys=True)), "failed", "1 access key(s): access_key_1 (active)"),
        (root_facts(report(keys=[key(slot=2, active=False, used=days_ago(800))]), summary()), "failed", "access_key_2 (inactive, last used"),
        # A key newer than the report (at most 4 hours old) shows only in the summary.
        (root_facts(report(), summary(keys=True)), "failed", "AccountAccessKeysPresent = 1"),
        (root_facts(report(), failing()), "error", "whether root has an access key"),
        (root_facts(report(keys=[key()]), failing()), "failed", "access_key_1 (active)"),
        (root_facts(failing("AccessDenied", "iam:GetCredentialReport"), summary()), "passed", "AccountAccessKeysPresent = 0"),
    ],
)
def test_root_access_keys(given, outcome, says):
    found, message = judge(controls.test_root_access_keys, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "given, params, outcome, says",
    [
        (report(), {}, "passed", "shows no use of the root password or access keys"),
        (report(password_used=days_ago(91)), {}, "passed", "more than 90 days ago"),
        # The window includes its first day.
        (report(password_used=days_ago(90)), {}, "failed", "password used on"),
        (report(password_used=days_ago(1)), {}, "failed", "password used on"),
        (report(keys=[key(used=days_ago(5))]), {}, "failed", "access key 1 used on"),
        (report(keys=[key(slot=2, active=False, used=days_ago(1))]), {}, "failed", "access key 2 used on"),
        (report(password_used=days_ago(200), keys=[key(used=days_ago(10))]), {}, "failed", "access key 1 used on"),
        (report(password_used=days_ago(10)), {"root_recent_use_days": 5}, "passed", "more than 5 days ago"),
        (report(password_used=days_ago(10)), {"root_recent_use_days": 30}, "failed", "within the last 30 days"),
    ],
)
def test_root_recent_use(given, params, outcome, says):
    found, message = judge(controls.test_root_recent_use, {"iam.root_report": given}, params=params)
    assert found == outcome, message
    assert says in message


def test_root_recent_use_names_the_latest_use_first():
    given = report(password_used=days_ago(20), keys=[key(used=days_ago(2))])
    found, message = judge(controls.test_root_recent_use, {"iam.root_report": given})
    assert found == "failed"
    assert message.index("access key 1 used on") < message.index("password used on")


def test_a_fact_the_test_did_not_give_fails_the_test():
    from rootguard.controls.given import MissingFact

    with pytest.raises(MissingFact, match="iam.root_summary"):
        judge(controls.test_root_mfa, {"iam.root_report": report()})
