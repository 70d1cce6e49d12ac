"""The log storage controls' rules on plain facts: each multi-region trail's bucket and log group, where they live."""

import pytest

from rootguard.accounts import Account
from rootguard.controls.given import GivenFacts, failing, judge
from rootguard.facts.cloudtrail import Trail, TrailListing, TrailStatus
from rootguard.facts.logstorage import BucketExposure, BucketVersioning, LogGroupRetention
from tests_compliance import test_log_storage as controls

ACCOUNT = "111122223333"
MANAGEMENT = "123456789012"


def trail(name, owner=ACCOUNT, multi_region=True, organization=False) -> Trail:
    return Trail(
        arn=f"arn:aws:cloudtrail:us-east-1:{owner}:trail/{name}", name=name, home_region="us-east-1", owner_account=owner,
        multi_region=multi_region, organization=organization, log_file_validation=True,
        log_group_arn=f"arn:aws:logs:us-east-1:{owner}:log-group:{name}-logs:*", s3_bucket=f"{name}-bucket",
    )


def exposure(name, unblocked=(), public_policy=False, grants=()) -> BucketExposure:
    return BucketExposure(name, tuple(unblocked), "bucket", public_policy, tuple(grants))


def storage(trails, buckets, exposures=None, versions=None, retention=None, logging=True):
    exposures, versions, retention = exposures or {}, versions or {}, retention or {}
    return {
        "cloudtrail.trails": TrailListing(tuple(trails)),
        "cloudtrail.status": lambda trail: TrailStatus(logging, None, None),
        "s3.bucket_names": list(buckets),
        "s3.bucket_exposure": lambda bucket: exposures.get(bucket, exposure(bucket)),
        "s3.versioning": lambda bucket: versions.get(bucket, BucketVersioning(bucket, "Enabled", None)),
        "logs.retention": lambda log_group: retention.get(log_group, LogGroupRetention(log_group, 365)),
    }


@pytest.mark.parametrize(
    "given, outcome, says",
    [
        (storage([trail("a")], ["a-bucket"]), "passed", "bucket a-bucket of multi-region trail a (us-east-1): all four Block Public Access settings on"),
        (storage([trail("a")], ["a-bucket"], {"a-bucket": exposure("a-bucket", unblocked=["BlockPublicPolicy"])}), "failed", "Block Public Access off at bucket and account level for BlockPublicPolicy"),
        (storage([trail("a")], ["a-bucket"], {"a-bucket": exposure("a-bucket", public_policy=True)}), "failed", "its bucket policy is public"),
        (storage([trail("a")], ["a-bucket"], {"a-bucket": exposure("a-bucket", grants=["READ to everyone"])}), "failed", "its ACL grants READ to everyone"),
        # Every multi-region trail's bucket counts, whichever comes first.
        (storage([trail("a"), trail("b")], ["a-bucket", "b-bucket"], {"b-bucket": exposure("b-bucket", public_policy=True)}), "failed", "bucket b-bucket"),
        (storage([trail("a"), trail("b")], ["a-bucket", "b-bucket"], {"a-bucket": exposure("a-bucket", public_policy=True)}), "failed", "bucket a-bucket"),
        (storage([trail("r", multi_region=False)], ["r-bucket"]), "failed", "no multi-region trail is visible"),
        (storage([trail("a")], []), "skipped", "is not in this account, and a bucket name does not say which account holds it"),
        (storage([trail("a"), trail("b")], ["a-bucket", "b-bucket"], {"a-bucket": failing("AccessDenied", "s3:GetBucketAcl")}), "error", "s3:GetBucketAcl failed"),
    ],
)
def test_cloudtrail_bucket_private(given, outcome, says):
    found, message = judge(controls.test_cloudtrail_bucket_private, given)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "versions, params, outcome, says",
    [
        ({}, {}, "passed", "versioning enabled"),
        ({"a-bucket": BucketVersioning("a-bucket", "Suspended", None)}, {}, "failed", "versioning is suspended"),
        ({"a-bucket": BucketVersioning("a-bucket", None, None)}, {}, "failed", "versioning is never enabled"),
        ({}, {"require_mfa_delete": True}, "failed", "MFA delete is off"),
        ({"a-bucket": BucketVersioning("a-bucket", "Enabled", "Enabled")}, {"require_mfa_delete": True}, "passed", "MFA delete on"),
    ],
)
def test_cloudtrail_bucket_versioning(versions, params, outcome, says):
    found, message = judge(controls.test_cloudtrail_bucket_versioning, storage([trail("a")], ["a-bucket"], versions=versions), params=params)
    assert found == outcome, message
    assert says in message


@pytest.mark.parametrize(
    "retention, params, outcome, says",
    [
        ({}, {}, "passed", "are kept 365 days (at least 365 required)"),
        ({"a-logs": LogGroupRetention("a-logs", None)}, {}, "passed", "never expire"),
        ({"a-logs": LogGroupRetention("a-logs", 364)}, {}, "failed", "keeps events 364 days, under 365"),
        ({"a-logs": None}, {}, "failed", "does not exist"),
        ({"a-logs": LogGroupRetention("a-logs", 90)}, {"log_retention_days": 90}, "passed", "are kept 90 days"),
        ({"a-logs": failing("AccessDeniedException", "logs:DescribeLogGroups")}, {}, "error", "logs:DescribeLogGroups failed"),
    ],
)
def test_log_retention(retention, params, outcome, says):
    found, message = judge(controls.test_log_retention, storage([trail("a")], ["a-bucket"], retention=retention), params=params)
    assert found == outcome, message
    assert says in message


def test_an_organization_trails_stores_are_judged_in_the_account_that_holds_them():
    org_trail = trail("org", owner=MANAGEMENT, organization=True)
    management = GivenFacts(Account(MANAGEMENT, "management"), storage([org_trail], ["org-bucket"], {"org-bucket": exposure("org-bucket", public_policy=True)}))
    member = storage([org_trail], [])
    found, message = judge(controls.test_cloudtrail_bucket_private, member, peers={MANAGEMENT: management})
    assert found == "failed" and "(in account management (123456789012))" in message
    found, message = judge(controls.test_log_retention, member, peers={MANAGEMENT: management})
    assert found == "passed" and "(in account management (123456789012))" in message
    found, message = judge(controls.test_cloudtrail_bucket_private, member)
    assert found == "skipped" and "which this run does not include" in message


def test_a_bucket_out_of_reach_does_not_stop_the_next_trails_from_being_judged():
    elsewhere = trail("org", owner=MANAGEMENT, organization=True)
    public = {"a-bucket": exposure("a-bucket", public_policy=True)}
    found, message = judge(controls.test_cloudtrail_bucket_private, storage([elsewhere, trail("a")], ["a-bucket"], public))
    assert found == "failed" and "bucket a-bucket" in message
    refused = {"a-bucket": failing("AccessDenied", "s3:GetBucketAcl"), "b-bucket": exposure("b-bucket", public_policy=True)}
    found, message = judge(controls.test_cloudtrail_bucket_private, storage([trail("a"), trail("b")], ["a-bucket", "b-bucket"], refused))
    assert found == "failed" and "bucket b-bucket" in message


def test_a_bucket_is_asked_about_in_its_trails_home_region():
    eu = Trail(
        arn=f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/eu", name="eu", home_region="eu-west-1", owner_account=ACCOUNT,
        multi_region=True, organization=False, log_file_validation=True, log_group_arn=None, s3_bucket="eu-bucket",
    )
    given = storage([eu], ["eu-bucket"])
    given["s3.bucket_exposure"] = lambda bucket, region: exposure(bucket) if region == "eu-west-1" else failing("AccessDenied", "s3:GetBucketAcl")
    found, message = judge(controls.test_cloudtrail_bucket_private, given)
    assert found == "passed", message
