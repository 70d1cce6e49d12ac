"""Root user controls on seeded moto state: the pass case and every way each one fails."""

import pytest

from tests.conftest import hub

HARDWARE = "password: true\nmfa: hardware\n"
VIRTUAL = "password: true\nmfa: virtual\n"
NO_MFA = "password: true\nmfa: none\n"
NO_CREDENTIALS = "password: false\nmfa: none\naccess_keys: []\n"
KEYS_ONLY = "password: false\nmfa: none\naccess_keys: [{active: true, created: {days_ago: 400}}]\n"


@pytest.mark.parametrize(
    "root, outcome, says",
    [
        (HARDWARE, "passed", "root has MFA"),
        (VIRTUAL, "passed", "root has MFA"),
        (NO_CREDENTIALS, "passed", "no password and no access keys"),
        (NO_MFA, "failed", "root user has a password and no MFA"),
        (KEYS_ONLY, "failed", "root user has an access key and no MFA"),
    ],
    ids=["hardware", "virtual", "no-credentials", "no-mfa", "keys-but-no-mfa"],
)
def test_root_mfa(judge, root, outcome, says):
    verdicts = judge(hub(root=root), "root-mfa")
    assert verdicts.outcome("root-mfa") == outcome
    assert says in verdicts.message("root-mfa")
    assert verdicts.message("root-mfa").startswith("hub (123456789012): ")


@pytest.mark.parametrize(
    "root, outcome, says",
    [
        (HARDWARE, "passed", "no virtual MFA device is assigned"),
        (NO_CREDENTIALS, "passed", "no password and no access keys"),
        (VIRTUAL, "failed", "root MFA is a virtual device (arn:aws:iam::123456789012:mfa/"),
        (NO_MFA, "failed", "no MFA at all"),
    ],
    ids=["hardware", "no-credentials", "virtual", "no-mfa"],
)
def test_root_hardware_mfa(judge, root, outcome, says):
    verdicts = judge(hub(root=root), "root-hardware-mfa")
    assert verdicts.outcome("root-hardware-mfa") == outcome
    assert says in verdicts.message("root-hardware-mfa")


@pytest.mark.parametrize(
    "keys, outcome, says",
    [
        ("[]", "passed", "root has no access keys"),
        ("[{active: true, created: {days_ago: 10}}]", "failed", "1 access key(s): access_key_1 (active)"),
        # AWS writes N/A in the rotation column of a key that is not active: an inactive key never
        # used shows only in GetAccountSummary, one used shows through its last use.
        ("[{active: false, created: {days_ago: 10}}]", "failed", "GetAccountSummary reports AccountAccessKeysPresent = 1"),
        (
            "[{active: false, created: {days_ago: 10}, last_used: {days_ago: 2}}]",
            "failed",
            "1 access key(s): access_key_1 (inactive, last used ",
        ),
        (
            "[{active: true, created: {days_ago: 10}}, {active: false, created: {days_ago: 5}, last_used: {days_ago: 4}}]",
            "failed",
            "2 access key(s): access_key_1 (active), access_key_2 (inactive, last used ",
        ),
    ],
    ids=["none", "active", "inactive", "inactive-used", "two"],
)
def test_root_access_keys(judge, keys, outcome, says):
    verdicts = judge(hub(root=f"access_keys: {keys}\n"), "root-access-keys")
    assert verdicts.outcome("root-access-keys") == outcome
    assert says in verdicts.message("root-access-keys")


@pytest.mark.parametrize(
    "root, extra, outcome, says",
    [
        ("password_last_used: null\n", "", "passed", "shows no use of the root password or access keys"),
        ("password_last_used: {days_ago: 200}\n", "", "passed", "password on"),
        ("password_last_used: {days_ago: 10}\n", "", "failed", "password used on"),
        (
            "access_keys: [{active: true, created: {days_ago: 400}, last_used: {days_ago: 3}}]\n",
            "",
            "failed",
            "access key 1 used on",
        ),
        (
            "access_keys: [{active: false, created: {days_ago: 400}, last_used: {days_ago: 1}}]\n",
            "",
            "failed",
            "access key 1 used on",
        ),
        ("password_last_used: {days_ago: 10}\n", "params:\n  root_recent_use_days: 5\n", "passed", "more than 5 days ago"),
        ("password_last_used: {days_ago: 10}\n", "params:\n  root_recent_use_days: 30\n", "failed", "within the last 30 days"),
    ],
    ids=["never", "long-ago", "password-recently", "key-recently", "inactive-key-recently", "param-shorter-window", "param-longer-window"],
)
def test_root_recent_use(judge, root, extra, outcome, says):
    verdicts = judge(hub(root=root), "root-recent-use", profile_extra=extra)
    assert verdicts.outcome("root-recent-use") == outcome
    assert says in verdicts.message("root-recent-use")
