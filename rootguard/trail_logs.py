"""Where a trail's logs are kept, as the control judging one account sees it.

An organization trail, or a trail that delivers to a central account, keeps its
CloudWatch Logs group or S3 bucket in another account. A control judges that log
store in the account that holds it when the run includes that account; otherwise it
names the account to add, instead of failing on what it cannot read from here.
"""

from __future__ import annotations

from typing import Any

from rootguard.controls import Target
from rootguard.facts.cloudtrail import Trail


def where(holder: Target, account: Target) -> str:
    """' (in account X)' when the log store was judged in another account than the one judged."""
    return "" if holder is account else f" (in account {holder.label})"


def log_group_holder(account: Target, trail: Trail) -> Target | None:
    """The account holding the trail's CloudWatch Logs group, or None when the run does not include it."""
    if trail.log_group_account == account.id:
        return account
    return account.other_account(trail.log_group_account)


def bucket_holder(account: Target, trail: Trail, fact: str) -> tuple[Target | None, Any, str]:
    """Find the trail's S3 bucket among the buckets `fact` describes (bucket name -> what it says).

    A bucket name does not say which account owns it, so look in the account judged,
    then in the trail's owner (an organization trail's management account). Returns
    (holder, what `fact` says there, "") or (None, None, why it cannot be judged here).
    """
    bucket = trail.s3_bucket
    held = account.fact(fact)
    if bucket in held:
        return account, held[bucket], ""
    if trail.owner_account == account.id:
        return None, None, (
            f"S3 bucket {bucket} of {trail.describe()} is not in this account, and a bucket name does not say "
            "which account holds it"
        )
    owner = account.other_account(trail.owner_account)
    if owner is None:
        return None, None, (
            f"S3 bucket {bucket} of {trail.describe()} is not in this account; the trail belongs to "
            f"account {trail.owner_account}, which this run does not include"
        )
    held = owner.fact(fact)
    if bucket in held:
        return owner, held[bucket], ""
    return None, None, (
        f"S3 bucket {bucket} of {trail.describe()} is in neither this account nor the trail's "
        f"account {owner.label}"
    )
