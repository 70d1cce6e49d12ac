"""Log storage controls on seeded moto state: the trail bucket's exposure and versioning, the log group's retention,
judged in the account that holds them."""

import pytest

from tests.conftest import HUB
from tests.shared_runs import accounts, judged

MEMBER = "210000000041"
STORAGE_CONTROLS = ("cloudtrail-bucket-private", "cloudtrail-bucket-versioning", "log-retention")


def trail(bucket: str, logs: str = "", multi_region: bool = True) -> str:
    cloudwatch = f", cloudwatch_logs: {{log_group: {bucket}-group{logs}}}" if logs is not None else ""
    return f"trails: [{{name: {bucket}-trail, s3_bucket: {bucket}, multi_region: {str(multi_region).lower()}{cloudwatch}}}]\n"


STANDALONE = accounts(
    '- id: "210000000031"\n  name: account-level\n  s3_public_access_block: all\n'
    "  buckets: [{name: account-level-logs, versioning: Enabled, mfa_delete: true}]\n  " + trail("account-level-logs"),
    '- id: "210000000032"\n  name: partial-block\n'
    "  buckets: [{name: partial-block-logs, versioning: Suspended, public_access_block: {block_public_acls: true, ignore_public_acls: true}}]\n  "
    + trail("partial-block-logs", ", retention_days: 30"),
    '- id: "210000000033"\n  name: public-policy\n  s3_public_access_block: all\n'
    "  buckets: [{name: public-policy-logs, public_policy: true}]\n  " + trail("public-policy-logs", None),
    '- id: "210000000034"\n  name: public-acl\n  buckets: [{name: public-acl-logs, public_acl: true, versioning: Enabled}]\n  '
    + trail("public-acl-logs"),
    '- id: "210000000035"\n  name: single-region\n  ' + trail("single-region-logs", multi_region=False),
    '- id: "210000000036"\n  name: central-bucket\n  ' + trail("central-logs-bucket"),
    hub="buckets:\n"
    "  - {name: hub-logs, public_access_block: all, versioning: Enabled}\n"
    "  - {name: central-logs-bucket, public_access_block: all}\n" + trail("hub-logs", ", retention_days: 365"),
)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "bucket hub-logs of multi-region trail hub-logs-trail (us-east-1): all four Block Public Access settings on"),
        ("account-level", "passed", "bucket account-level-logs of multi-region trail account-level-logs-trail (us-east-1): all four"),
        ("partial-block", "failed", "Block Public Access off at bucket and account level for BlockPublicPolicy, RestrictPublicBuckets;"),
        ("public-policy", "failed", "bucket public-policy-logs of multi-region trail public-policy-logs-trail (us-east-1): its bucket policy is public;"),
        ("public-acl", "failed", "its ACL grants READ to everyone; turn on all four Block Public Access settings"),
        ("single-region", "failed", "no multi-region trail is visible, so there is no CloudTrail log bucket to judge"),
        ("central-bucket", "skipped", "S3 bucket central-logs-bucket of multi-region trail central-logs-bucket-trail (us-east-1) is not in this account"),
    ],
    ids=["bucket-block", "account-block", "partial-block", "public-policy", "public-acl", "no-multi-region-trail", "bucket-elsewhere"],
)
def test_cloudtrail_bucket_private(judge, account, outcome, says):
    verdicts = judged(judge, STANDALONE, *STORAGE_CONTROLS)
    assert verdicts.outcome("cloudtrail-bucket-private", account) == outcome
    assert says in verdicts.message("cloudtrail-bucket-private", account)


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "bucket hub-logs of multi-region trail hub-logs-trail (us-east-1): versioning enabled"),
        ("partial-block", "failed", "bucket partial-block-logs of multi-region trail partial-block-logs-trail (us-east-1): versioning is suspended"),
        ("public-policy", "failed", "versioning is never enabled; enable versioning on the bucket"),
        ("single-region", "failed", "no multi-region trail is visible"),
        ("central-bucket", "skipped", "S3 bucket central-logs-bucket of multi-region trail central-logs-bucket-trail (us-east-1) is not in this account"),
    ],
    ids=["enabled", "suspended", "never-enabled", "no-multi-region-trail", "bucket-elsewhere"],
)
def test_cloudtrail_bucket_versioning(judge, account, outcome, says):
    verdicts = judged(judge, STANDALONE, *STORAGE_CONTROLS)
    assert verdicts.outcome("cloudtrail-bucket-versioning", account) == outcome
    assert says in verdicts.message("cloudtrail-bucket-versioning", account)


def test_cloudtrail_bucket_versioning_with_mfa_delete_required(judge):
    verdicts = judged(judge, STANDALONE, "cloudtrail-bucket-versioning", profile_extra="params:\n  require_mfa_delete: true\n")
    assert verdicts.outcome("cloudtrail-bucket-versioning", "hub") == "failed"
    assert "versioning enabled" not in verdicts.message("cloudtrail-bucket-versioning", "hub")
    assert "hub-logs-trail (us-east-1): MFA delete is off (params.require_mfa_delete)" in verdicts.message("cloudtrail-bucket-versioning", "hub")
    assert verdicts.outcome("cloudtrail-bucket-versioning", "account-level") == "passed"
    assert verdicts.message("cloudtrail-bucket-versioning", "account-level").endswith("versioning enabled, MFA delete on")


@pytest.mark.parametrize(
    "account, outcome, says",
    [
        ("hub", "passed", "events in log group hub-logs-group of multi-region trail hub-logs-trail (us-east-1) are kept 365 days"),
        ("account-level", "passed", "events in log group account-level-logs-group of multi-region trail account-level-logs-trail (us-east-1) never expire"),
        ("partial-block", "failed", "log group partial-block-logs-group of multi-region trail partial-block-logs-trail (us-east-1) keeps events 30 days, under 365"),
        ("public-policy", "failed", "no multi-region logging trail delivers to CloudWatch Logs"),
    ],
    ids=["365-days", "never-expire", "30-days", "no-log-group"],
)
def test_log_retention(judge, account, outcome, says):
    verdicts = judged(judge, STANDALONE, *STORAGE_CONTROLS)
    assert verdicts.outcome("log-retention", account) == outcome
    assert says in verdicts.message("log-retention", account)


def test_log_retention_days_from_the_profile(judge):
    verdicts = judged(judge, STANDALONE, "log-retention", profile_extra="params:\n  log_retention_days: 30\n")
    assert verdicts.outcome("log-retention", "partial-block") == "passed"
    assert "are kept 30 days (at least 30 required)" in verdicts.message("log-retention", "partial-block")


def organization_trail(bucket: str) -> str:
    return accounts(
        f'- {{id: "{MEMBER}", name: member}}\n',
        hub=f"buckets: [{bucket}]\n"
        "trails:\n"
        "  - name: org-trail\n"
        "    organization: true\n"
        "    s3_bucket: org-logs-bucket\n"
        "    cloudwatch_logs: {log_group: org-trail-logs, retention_days: 400}\n",
        organization="{}\n",
    )


PRIVATE_ORG_BUCKET = organization_trail("{name: org-logs-bucket, public_access_block: all, versioning: Enabled}")
PUBLIC_ORG_BUCKET = organization_trail("{name: org-logs-bucket, public_acl: true}")


@pytest.mark.parametrize(
    "scenario, control, outcome, says",
    [
        (PRIVATE_ORG_BUCKET, "cloudtrail-bucket-private", "passed", "bucket org-logs-bucket of organization trail org-trail (us-east-1) (in account hub (123456789012)): all four"),
        (PRIVATE_ORG_BUCKET, "cloudtrail-bucket-versioning", "passed", "(in account hub (123456789012)): versioning enabled"),
        (PRIVATE_ORG_BUCKET, "log-retention", "passed", "events in log group org-trail-logs of organization trail org-trail (us-east-1) (in account hub (123456789012)) are kept 400 days"),
        (PUBLIC_ORG_BUCKET, "cloudtrail-bucket-private", "failed", "(in account hub (123456789012)): Block Public Access off at bucket and account level"),
        (PUBLIC_ORG_BUCKET, "cloudtrail-bucket-versioning", "failed", "(in account hub (123456789012)): versioning is never enabled"),
    ],
    ids=["private-bucket", "versioned-bucket", "log-group-retention", "public-bucket", "unversioned-bucket"],
)
def test_member_judged_where_the_organization_trail_keeps_its_logs(judge, scenario, control, outcome, says):
    verdicts = judged(judge, scenario, *STORAGE_CONTROLS)
    assert verdicts.outcome(control, "member") == outcome
    assert says in verdicts.message(control, "member")


def test_member_alone_is_judged_where_the_hub_keeps_the_logs(judge):
    """Judging the member alone, its organization trail's stores are read in the management account, the hub's own."""
    verdicts = judge(PRIVATE_ORG_BUCKET, args=("-k", "bucket or retention", "--account", MEMBER))
    for control in STORAGE_CONTROLS:
        assert verdicts.outcome(control, "member") == "passed"
        assert "(in account hub (123456789012))" in verdicts.message(control, "member")


DELEGATED = "210000000042"
DELEGATED_HUB = f"credentials:\n  role_arn: arn:aws:iam::{DELEGATED}:role/OrganizationAccountAccessRole\n"


def test_member_alone_is_skipped_when_the_run_cannot_read_the_account_holding_the_logs(judge):
    """With a hub in another member (a delegated administrator), the management account is out of reach."""
    scenario = PRIVATE_ORG_BUCKET + f'  - {{id: "{DELEGATED}", name: delegated}}\n'
    verdicts = judge(scenario, args=("-k", "bucket or retention", "--account", MEMBER), profile_extra=DELEGATED_HUB, leave_out=(HUB,))
    for control in ("cloudtrail-bucket-private", "cloudtrail-bucket-versioning"):
        assert verdicts.outcome(control, "member") == "skipped"
        assert (
            "S3 bucket org-logs-bucket of organization trail org-trail (us-east-1) is not in this account; the trail belongs to "
            "account 123456789012, which this run does not include"
        ) in verdicts.message(control, "member")
    # log-retention needs the trail to be logging, which only the trail's own account can say.
    assert verdicts.outcome("log-retention", "member") == "error"
    message = verdicts.message("log-retention", "member")
    assert "cloudtrail:GetTrailStatus failed: CloudTrailARNInvalidException" in message
    assert "add account 123456789012 to the profile" in message
