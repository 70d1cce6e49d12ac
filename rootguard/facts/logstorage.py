"""Where trail logs are stored: the S3 bucket's public access and versioning, and the log group's retention.

Each store is judged from facts of its own (one bucket's exposure, one log group's
retention), read in the account that holds it (rootguard.controls.trail_logs), so one that
cannot be read leaves the others to decide. The `trail_*` facts fetch all of an
account's trail stores ahead for the controls.
"""

from __future__ import annotations

from dataclasses import dataclass

from rootguard.errors import UnexpectedResponse
from rootguard.facts.registry import Unreadable, fact
from rootguard.facts.shapes import listing, maybe, need

BLOCK_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "any AWS user",
}
BUCKET_BLOCK = "s3:GetPublicAccessBlock"
ACCOUNT_BLOCK = "s3control:GetPublicAccessBlock"
POLICY_STATUS = "s3:GetBucketPolicyStatus"
ACL = "s3:GetBucketAcl"
VERSIONING = "s3:GetBucketVersioning"
LOG_GROUPS = "logs:DescribeLogGroups"


@fact("s3.bucket_names")
def bucket_names(ctx) -> list[str]:
    """The names of the account's own S3 buckets (ListBuckets): a bucket name does not say its owner."""
    buckets = listing(ctx, "s3", "list_buckets", ("Buckets",), "s3:ListBuckets", token="ContinuationToken")["Buckets"]
    return [need(b, "Name", str, "s3:ListBuckets") for b in buckets]


@fact("s3.bucket_public_access_block", regional=True)
def bucket_public_access_block(ctx, bucket: str) -> dict | None:
    """A bucket's Block Public Access settings; None when it has none."""
    response = ctx.call("s3", "get_public_access_block", absent=("NoSuchPublicAccessBlockConfiguration",), Bucket=bucket)
    return None if response is None else need(response, "PublicAccessBlockConfiguration", dict, BUCKET_BLOCK)


@fact("s3control.public_access_block")
def account_public_access_block(ctx) -> dict | None:
    """The account-wide S3 Block Public Access settings; None when it has none."""
    response = ctx.call("s3control", "get_public_access_block", absent=("NoSuchPublicAccessBlockConfiguration",), AccountId=ctx.account.id)
    return None if response is None else need(response, "PublicAccessBlockConfiguration", dict, ACCOUNT_BLOCK)


@fact("s3.bucket_policy_status", regional=True)
def bucket_policy_status(ctx, bucket: str) -> dict | None:
    """GetBucketPolicyStatus; None when the bucket has no policy (NoSuchBucketPolicy)."""
    response = ctx.call("s3", "get_bucket_policy_status", absent=("NoSuchBucketPolicy",), Bucket=bucket)
    return None if response is None else need(response, "PolicyStatus", dict, POLICY_STATUS)


@fact("s3.bucket_acl", regional=True)
def bucket_acl(ctx, bucket: str) -> list:
    """The grants of a bucket's ACL."""
    return need(ctx.call("s3", "get_bucket_acl", Bucket=bucket), "Grants", list, ACL)


@fact("s3.bucket_versioning", regional=True)
def bucket_versioning(ctx, bucket: str) -> dict:
    """GetBucketVersioning: Status and MFADelete, both absent on a bucket never versioned."""
    return ctx.call("s3", "get_bucket_versioning", Bucket=bucket)


def _trail_buckets(ctx) -> dict[str, str]:
    """Buckets of the multi-region trails visible to the account that it owns: name -> a region to ask in."""
    listing = ctx.attempt("cloudtrail.trails")
    own = ctx.attempt("s3.bucket_names")
    if isinstance(listing, Unreadable) or isinstance(own, Unreadable):
        return {}
    return {t.s3_bucket: t.home_region for t in listing.multi_region if t.s3_bucket and t.s3_bucket in own}


@dataclass(frozen=True)
class BucketExposure:
    """What could make a bucket public: Block Public Access gaps, a public policy, public ACL grants."""

    name: str
    unblocked: tuple[str, ...]  # Block Public Access settings on at neither bucket nor account level
    blocked_where: str  # "bucket", "account" or "bucket and account" level, for the pass message
    public_policy: bool
    public_grants: tuple[str, ...]  # "READ to everyone", ...


def _settings(config: dict | None, action: str) -> dict[str, bool]:
    if config is None:
        return {name: False for name in BLOCK_SETTINGS}
    return {name: need(config, name, bool, action) for name in BLOCK_SETTINGS}


@fact("s3.bucket_exposure", regional=True)
def bucket_exposure(ctx, bucket: str) -> BucketExposure:
    """One bucket's Block Public Access (bucket or account level), policy status and ACL grants."""
    account_level = _settings(ctx.fact("s3control.public_access_block"), ACCOUNT_BLOCK)
    region = ctx.region
    bucket_level = _settings(ctx.fact("s3.bucket_public_access_block", region=region, bucket=bucket), BUCKET_BLOCK)
    levels = [name for name, on in (("bucket", all(bucket_level.values())), ("account", all(account_level.values()))) if on]
    status = ctx.fact("s3.bucket_policy_status", region=region, bucket=bucket)
    grants = []
    for grant in ctx.fact("s3.bucket_acl", region=region, bucket=bucket):
        # Grantee.DisplayName is gone from S3's answers since 2025; only the URI names a public group.
        grantee = need(grant, "Grantee", dict, ACL)
        who = PUBLIC_GROUPS.get(maybe(grantee, "URI", str, ACL) or "")
        if who:
            grants.append(f"{need(grant, 'Permission', str, ACL)} to {who}")
    return BucketExposure(
        name=bucket,
        unblocked=tuple(name for name in BLOCK_SETTINGS if not (bucket_level[name] or account_level[name])),
        blocked_where=" and ".join(levels) or "bucket and account settings combined",
        public_policy=need(status, "IsPublic", bool, POLICY_STATUS) if status is not None else False,
        public_grants=tuple(grants),
    )


@fact("s3.trail_bucket_exposure")
def trail_bucket_exposure(ctx) -> dict:
    """Fetched ahead: the exposure of each trail bucket the account holds (bucket -> exposure or Unreadable)."""
    return {bucket: ctx.attempt("s3.bucket_exposure", region=region, bucket=bucket) for bucket, region in sorted(_trail_buckets(ctx).items())}


@dataclass(frozen=True)
class BucketVersioning:
    name: str
    status: str | None  # Enabled | Suspended | None (never versioned)
    mfa_delete: str | None  # Enabled | Disabled | None


@fact("s3.versioning", regional=True)
def versioning(ctx, bucket: str) -> BucketVersioning:
    """One bucket's versioning and MFA delete."""
    response = ctx.fact("s3.bucket_versioning", region=ctx.region, bucket=bucket)
    return BucketVersioning(
        name=bucket,
        status=maybe(response, "Status", str, VERSIONING),
        mfa_delete=maybe(response, "MFADelete", str, VERSIONING),
    )


@fact("s3.trail_bucket_versioning")
def trail_bucket_versioning(ctx) -> dict:
    """Fetched ahead: the versioning of each trail bucket the account holds (bucket -> versioning or Unreadable)."""
    return {bucket: ctx.attempt("s3.versioning", region=region, bucket=bucket) for bucket, region in sorted(_trail_buckets(ctx).items())}


@fact("logs.log_groups", regional=True)
def log_groups(ctx, prefix: str) -> list:
    """DescribeLogGroups for the groups whose name starts with `prefix` (all pages)."""
    return ctx.paginate("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)


@dataclass(frozen=True)
class LogGroupRetention:
    name: str
    days: int | None  # None: events never expire


@fact("logs.retention", regional=True)
def retention(ctx, log_group: str) -> LogGroupRetention | None:
    """One log group's retention; None when there is no such group."""
    found = [g for g in ctx.fact("logs.log_groups", region=ctx.region, prefix=log_group) if need(g, "logGroupName", str, LOG_GROUPS) == log_group]
    if len(found) > 1:
        raise UnexpectedResponse(f"{LOG_GROUPS}: {len(found)} log groups named {log_group}", action=LOG_GROUPS)
    return LogGroupRetention(log_group, maybe(found[0], "retentionInDays", int, LOG_GROUPS)) if found else None


@fact("logs.trail_log_group_retention")
def trail_log_group_retention(ctx) -> dict:
    """Fetched ahead: the retention of each multi-region trail log group the account holds (ARN -> retention or Unreadable)."""
    listing = ctx.attempt("cloudtrail.trails")
    if isinstance(listing, Unreadable):
        return {}
    result: dict = {}
    for trail in listing.multi_region:
        arn = trail.log_group_arn
        if arn and trail.log_group_account == ctx.account.id and arn not in result:
            result[arn] = ctx.attempt("logs.retention", region=trail.log_group_region, log_group=trail.log_group_name)
    return result
