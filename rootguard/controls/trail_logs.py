"""Where a trail's logs are kept, as the control judging one account sees it.

An organization trail, or a trail that delivers to a central account, keeps its
CloudWatch Logs group or S3 bucket in another account. A control judges that log
store in the account that holds it when the run includes that account; otherwise it
names the account to add, instead of failing on what it cannot read from here.
"""

from __future__ import annotations

from rootguard.controls import Target
from rootguard.facts.cloudtrail import Trail
from rootguard.controls.partial import Gaps


def logging_trails(account: Target, trails: list[Trail], gaps: Gaps) -> list[Trail]:
    """The trails among `trails` that are logging; one whose status could not be read goes to `gaps`."""
    found = []
    for trail in trails:
        status = gaps.read(account.attempt("cloudtrail.status", trail=trail.arn), f"the status of {trail.describe()}")
        if status is not None and status.logging:
            found.append(trail)
    return found


def where(holder: Target, account: Target) -> str:
    """' (in account X)' when the log store was judged in another account than the one judged."""
    return "" if holder is account else f" (in account {holder.label})"


def log_group_holder(account: Target, trail: Trail) -> Target | None:
    """The account holding the trail's CloudWatch Logs group, or None when the run does not include it."""
    if trail.log_group_account == account.id:
        return account
    return account.other_account(trail.log_group_account)


def bucket_holder(account: Target, trail: Trail, gaps: Gaps) -> tuple[Target | None, str]:
    """The account holding the trail's S3 bucket, or None and why it cannot be judged here.

    A bucket name does not say which account owns it, so look in the account judged (its
    ListBuckets), then in the trail's owner (an organization trail's management account).
    When the owner's listing cannot be read, that goes to `gaps` and the reason is empty.
    """
    bucket = trail.s3_bucket
    if bucket in account.fact("s3.bucket_names"):
        return account, ""
    if trail.owner_account == account.id:
        return None, (
            f"S3 bucket {bucket} of {trail.describe()} is not in this account, and a bucket name does not say "
            "which account holds it"
        )
    owner = account.other_account(trail.owner_account)
    if owner is None:
        return None, (
            f"S3 bucket {bucket} of {trail.describe()} is not in this account; the trail belongs to "
            f"account {trail.owner_account}, which this run does not include"
        )
    held = gaps.read(owner.attempt("s3.bucket_names"), f"the buckets of account {owner.label}")
    if held is None:
        return None, ""
    if bucket in held:
        return owner, ""
    return None, f"S3 bucket {bucket} of {trail.describe()} is in neither this account nor the trail's account {owner.label}"
