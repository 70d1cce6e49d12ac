"""The S3 evidence bucket as rootguard reaches it: its s3:// address, the client, and one line for a request that fails.

`rootguard publish` writes there (rootguard.evidence.publish) and the ledger's reader only reads
(rootguard.ledger.sources); both go through this module, so that a profile, a region and an
endpoint are taken, and an AWS refusal told, the same way in each. Nothing here writes.
"""

from __future__ import annotations

import re

# Exit codes of the commands that reach the bucket, as for the others: a usage problem, an AWS error.
USAGE = 4
AWS_FAILED = 6
LIST_PAGE = 1000  # keys per ListObjectsV2 page, S3's own maximum
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


class BucketError(Exception):
    """A request to the bucket that failed or could not be made: one line for the user and the exit
    code; when AWS answered, the S3 action (s3:GetObject) and its error code (AccessDenied) too."""

    def __init__(self, message: str, exit_code: int, *, action: str = "", code: str = ""):
        super().__init__(message)
        self.exit_code = exit_code
        self.action = action
        self.code = code


def bucket_and_prefix(url: str) -> tuple[str, str]:
    """s3://BUCKET/PREFIX as (bucket, prefix without a leading or trailing "/", maybe empty); a
    ValueError saying what is wrong with it otherwise."""
    if not url.startswith("s3://"):
        raise ValueError(f"{url!r}: give the evidence bucket as s3://BUCKET/PREFIX")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise ValueError(f"{url!r}: {bucket!r} is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)")
    return bucket, prefix.strip("/")


def s3_client(aws_profile: str | None, region: str | None, endpoint_url: str | None, max_pool: int):
    """An S3 client with rootguard's retries and timeouts and a connection for each of `max_pool`
    threads, from the named profile (else boto3's chain), in `region` (else the profile's, else
    us-east-1), sent to `endpoint_url` when given."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from rootguard.accounts.sessions import client_config

    try:
        session = boto3.Session(profile_name=aws_profile, region_name=region)
    except BotoCoreError as exc:
        raise BucketError(f"--aws-profile {aws_profile}: {exc}", USAGE) from None
    return session.client("s3", region_name=session.region_name or "us-east-1", endpoint_url=endpoint_url,
                          config=client_config(max_pool))


def call(s3, action: str, where: str, absent: tuple[str, ...] = (), **params):
    """One S3 request. An error code in `absent` is an answer (None); any other refusal, or no
    answer at all, is a one-line BucketError naming the action and where it was aimed."""
    from botocore import xform_name
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from rootguard.errors import describe_client_error

    try:
        return getattr(s3, xform_name(action))(**params)
    except NoCredentialsError:
        raise BucketError("no AWS credentials found: give --aws-profile NAME, or set AWS_PROFILE, or run "
                          "`aws sso login` / `aws configure` first", USAGE) from None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in absent:
            return None
        failure = describe_client_error(exc, "s3:" + action)
        raise BucketError(f"{failure} ({where})", AWS_FAILED, action=failure.action, code=failure.code) from None
    except BotoCoreError as exc:
        failure = describe_client_error(exc, "s3:" + action)
        raise BucketError(f"{failure} ({where})", AWS_FAILED, action=failure.action, code=failure.code) from None
