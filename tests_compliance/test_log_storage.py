"""Log storage controls: the trail's S3 bucket is private and versioned, its log group keeps events long enough.

Each is judged where the store lives: in this account, or in the account that holds it
(an organization trail's bucket in the management account) when the run includes it;
otherwise the outcome is `skipped`, naming that account.
"""

from rootguard.controls import control, fail, not_applicable
from rootguard.facts import Unreadable
from rootguard.controls.partial import Gaps
from rootguard.controls.trail_logs import bucket_holder, log_group_holder, logging_trails, where


def _judge_buckets(account, fact, problems_of, fix: str) -> str:
    """Judge each multi-region trail's bucket where it lives: fail, skip or error as it shows; else the pass text."""
    trails = [t for t in account.fact("cloudtrail.trails").multi_region if t.s3_bucket]
    if not trails:
        fail("no multi-region trail is visible, so there is no CloudTrail log bucket to judge; create one (cloudtrail-multi-region)")
    gaps = Gaps()
    passes, failures, elsewhere = [], [], []
    for trail in trails:
        holder, why = bucket_holder(account, trail, gaps)
        if holder is None:
            if why:
                elsewhere.append(why)
            continue
        text = f"bucket {trail.s3_bucket} of {trail.describe()}{where(holder, account)}"
        state = gaps.read(holder.attempt(fact, region=trail.home_region, bucket=trail.s3_bucket), text)
        if state is None:
            continue
        problems = problems_of(state)
        (failures if problems else passes).append(f"{text}: {'; '.join(problems)}" if problems else text)
    if failures:
        fail("; ".join(failures) + f"; {fix}{gaps.note()}")
    if gaps:
        gaps.undecided("whether every multi-region trail's bucket is protected")
    if elsewhere:
        not_applicable("; ".join(elsewhere) + "; judge it in the account that holds it")
    return "; ".join(passes)


@control(
    id="cloudtrail-bucket-private",
    title="The S3 bucket of each multi-region trail is not public",
    severity="high",
    rationale="""The trail's log files show who did what, root included; a public bucket hands that map of
        the account to anyone, and a public write lets them rewrite it.""",
    remediation="""Turn on all four Block Public Access settings for the bucket or the whole account
        (S3 > Block Public Access settings), and remove public statements from its policy and public
        grants from its ACL.""",
    passes_when="""the S3 bucket of each multi-region trail has all four Block Public Access settings on (each
        at bucket or account level), no public bucket policy (GetBucketPolicyStatus `IsPublic`) and
        no ACL grant to everyone or to any AWS user; no multi-region trail fails""",
    facts=["cloudtrail.trails", "s3.bucket_names", "s3.trail_bucket_exposure"],
    frameworks={
        "soc2": ["CC6.1", "CC6.6"],
        "iso27001": ["A.8.15", "A.5.33", "A.8.3"],
        "securityhub": ["CloudTrail.6"],
    },
)
def test_cloudtrail_bucket_private(account):
    def problems_of(exposure):
        problems = []
        if exposure.unblocked:
            problems.append(f"Block Public Access off at bucket and account level for {', '.join(exposure.unblocked)}")
        if exposure.public_policy:
            problems.append("its bucket policy is public")
        if exposure.public_grants:
            problems.append(f"its ACL grants {', '.join(exposure.public_grants)}")
        return problems

    passes = _judge_buckets(
        account, "s3.bucket_exposure", problems_of,
        "turn on all four Block Public Access settings and remove public policy statements and ACL grants",
    )
    account.passes_because(passes + ": all four Block Public Access settings on, no public policy or ACL grant")


@control(
    id="cloudtrail-bucket-versioning",
    title="The S3 bucket of each multi-region trail keeps object versions",
    severity="medium",
    rationale="""With versioning, a deleted or overwritten log file can be recovered, so whoever abused
        root cannot erase the trail of it; MFA delete also makes removing versions need the root
        user's MFA device.""",
    remediation="""Enable versioning on the bucket (S3 > bucket > Properties > Bucket Versioning), and
        where the profile requires it, MFA delete as the root user
        (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa ...).""",
    passes_when="""the S3 bucket of each multi-region trail has versioning enabled, and MFA delete too when
        `require_mfa_delete` is set; no multi-region trail fails""",
    facts=["cloudtrail.trails", "s3.bucket_names", "s3.trail_bucket_versioning"],
    frameworks={
        "soc2": ["CC7.2", "A1.2"],
        "iso27001": ["A.8.15", "A.5.33", "A.8.13"],
        "securityhub": ["S3.14"],
    },
)
def test_cloudtrail_bucket_versioning(account):
    require_mfa_delete = account.params["require_mfa_delete"]

    def problems_of(versioning):
        problems = []
        if versioning.status != "Enabled":
            problems.append(f"versioning is {(versioning.status or 'never enabled').lower()}")
        if require_mfa_delete and versioning.mfa_delete != "Enabled":
            problems.append("MFA delete is off (params.require_mfa_delete)")
        return problems

    passes = _judge_buckets(
        account, "s3.versioning", problems_of, "enable versioning" + (" and MFA delete" if require_mfa_delete else "") + " on the bucket"
    )
    account.passes_because(passes + ": versioning enabled" + (", MFA delete on" if require_mfa_delete else ""))


@control(
    id="log-retention",
    title="The multi-region trail's CloudWatch Logs group keeps events long enough",
    severity="medium",
    rationale="""Root misuse is often found months later; the trail's log group is where alarms and
        investigations read events, and a short retention deletes them before anyone looks.""",
    remediation="""Set the log group's retention to at least the profile's log_retention_days (365 by
        default) or never expire: CloudWatch > Log groups > (group) > Actions > Edit retention setting.""",
    passes_when="""the CloudWatch Logs group of a multi-region logging trail keeps events at least
        `log_retention_days` ({log_retention_days}) days, or never expires; no such trail fails""",
    facts=["cloudtrail.trails", "cloudtrail.statuses", "logs.trail_log_group_retention"],
    frameworks={
        "soc2": ["CC7.2", "CC7.3"],
        "iso27001": ["A.8.15", "A.5.28", "A.5.33"],
        "securityhub": ["CloudWatch.16"],
    },
)
def test_log_retention(account):
    days = account.params["log_retention_days"]
    gaps = Gaps()
    trails = logging_trails(account, [t for t in account.fact("cloudtrail.trails").multi_region if t.log_group_arn], gaps)
    reasons, elsewhere = [], []
    for trail in trails:
        holder = log_group_holder(account, trail)
        if holder is None:
            elsewhere.append(f"the log group of {trail.describe()} is in account {trail.log_group_account}")
            continue
        group = f"log group {trail.log_group_name} of {trail.describe()}{where(holder, account)}"
        retention = holder.attempt("logs.retention", region=trail.log_group_region, log_group=trail.log_group_name)
        if isinstance(retention, Unreadable):
            gaps.add(group, retention.error)
            continue
        if retention is None:
            reasons.append(f"{group} does not exist")
        elif retention.days is None or retention.days >= days:
            kept = "never expire" if retention.days is None else f"are kept {retention.days} days"
            account.passes_because(f"events in {group} {kept} (at least {days} required){gaps.note()}")
            return
        else:
            reasons.append(f"{group} keeps events {retention.days} days, under {days}")
    if gaps:
        gaps.undecided(f"whether a trail's log group keeps events {days} days")
    if not trails:
        fail("no multi-region logging trail delivers to CloudWatch Logs, so no log group keeps its events; configure one first")
    if elsewhere and not reasons:
        not_applicable("; ".join(elsewhere) + ", which this run does not include; add that account to the profile to judge it")
    fail("; ".join(reasons + elsewhere) + f"; set its retention to at least {days} days: CloudWatch > Log groups > Edit retention")
