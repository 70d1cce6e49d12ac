"""Publishing a verified pack to an S3 evidence bucket with Object Lock: the only write rootguard makes.

`rootguard publish PACK s3://BUCKET/PREFIX` verifies the pack as `rootguard verify` does, then
uploads each of its files to PREFIX/<pack folder>/ with the SHA-256 the manifest gives (S3
refuses bytes that do not match it) and, in a bucket with Object Lock, a retention mode and
date; manifest.json goes last, so a folder holding it is whole. It then lists what the bucket
holds there and reads each object's checksum and retention back against the manifest.
policy/publish-policy.json grants exactly the S3 actions this module calls.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rootguard.evidence.bucket import LIST_PAGE, USAGE, BucketError, bucket_and_prefix, call
from rootguard.evidence.bucket import s3_client as bucket_client
from rootguard.evidence.pack import MANIFEST, SIGNATURE, SIGNOFFS, PackError, is_signoff, sha256_file, verify
from rootguard.evidence.signing import check_signature
from rootguard.evidence.signoff import check_signoffs

MODES = ("governance", "compliance")
# Governance by default: it keeps every object from being deleted or its retention shortened by
# anyone without s3:BypassGovernanceRetention, yet a pack published by mistake (the wrong bucket,
# a test run, a date typed wrong) can still be removed by whoever holds that permission. Compliance
# cannot be undone by anyone, the root user included, until the date: choose it with --mode
# compliance once the bucket and the dates are right, as AWS suggests testing with governance first.
DEFAULT_MODE = "governance"
# A SOC 2 Type II or ISO/IEC 27001 period is up to twelve months, and the auditor reads its
# evidence during fieldwork after the period ends: 365 days, plus about five weeks for that, keeps
# the first pack of a period until its report is written.
DEFAULT_RETAIN_DAYS = 400
UPLOAD_WORKERS = 16

# Exit codes of `rootguard publish` besides 0 (published and read back equal to the manifest), USAGE
# (4) and AWS_FAILED (6), which rootguard.evidence.bucket defines; a pack that does not verify is 1
# and a folder that is not a pack 2, as for the other commands.
READ_BACK_DIFFERS = 7

# Why nothing, or not all, was published: one line for the user, and the exit code. The bucket's
# own type, so that a refusal from the client or a request and one of publish's are caught as one.
PublishError = BucketError


@dataclass(frozen=True)
class Destination:
    bucket: str
    prefix: str  # without a leading or trailing "/"; may be empty

    def folder(self, pack_name: str) -> str:
        """The key prefix a pack's files go under: PREFIX/<pack folder name>/."""
        return f"{self.prefix}/{pack_name}/" if self.prefix else f"{pack_name}/"


def destination_option(value: str) -> Destination:
    """The destination argument, checked when parsed: s3://BUCKET/PREFIX."""
    try:
        return Destination(*bucket_and_prefix(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def retain_days_option(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of days, 1 or more")
    return days


def retain_until_option(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a date as YYYY-MM-DD") from None


@dataclass(frozen=True)
class Retention:
    """What every object is locked with: an S3 Object Lock mode and the moment the lock ends (UTC)."""

    mode: str  # GOVERNANCE | COMPLIANCE
    until: dt.datetime

    def __str__(self) -> str:
        return f"{self.mode} until {self.until:%Y-%m-%dT%H:%M:%SZ}"


def retention_asked(no_lock: bool, days: int | None, until: dt.date | None, mode: str | None, now: dt.datetime) -> Retention | None:
    """The retention the options ask for, or None with --no-lock; a contradiction or a date past is a PublishError (usage)."""
    if no_lock:
        given = [name for name, value in (("--retain-days", days), ("--retain-until", until), ("--mode", mode)) if value is not None]
        if given:
            raise PublishError(f"--no-lock uploads without a retention; leave out {', '.join(given)}, or drop --no-lock", USAGE)
        return None
    if days is not None and until is not None:
        raise PublishError("give --retain-days or --retain-until, not both", USAGE)
    now = now.astimezone(dt.timezone.utc).replace(microsecond=0)
    if until is not None:
        # The lock holds until the start of that day, UTC: the day named is the first one it is free.
        moment = dt.datetime(until.year, until.month, until.day, tzinfo=dt.timezone.utc)
        if moment <= now:
            raise PublishError(f"--retain-until {until.isoformat()} is not in the future (now {now:%Y-%m-%dT%H:%M:%SZ}); give a later date", USAGE)
    else:
        moment = now + dt.timedelta(days=days if days is not None else DEFAULT_RETAIN_DAYS)
    return Retention((mode or DEFAULT_MODE).upper(), moment)


def pack_refusal(pack: Path, public_key: Path | None) -> str | None:
    """Why the pack must not be published, in one line, as `rootguard verify` would judge it (hashes,
    the signature with a key, the sign-offs); None when it verifies."""
    checked = verify(pack)
    if not checked.ok:
        named = [f"{kind} {path}" for kind in ("changed", "added", "missing") for path in getattr(checked, kind)]
        more = f" and {len(named) - 3} more" if len(named) > 3 else ""
        return f"does not match its manifest ({', '.join(named[:3])}{more}); `rootguard verify {pack}` lists every difference"
    if public_key is not None:
        try:
            check_signature(pack, public_key)
        except PackError as exc:
            return f"signature not valid: {exc}"
    for check in check_signoffs(pack, set()):
        if check.problem:
            return f"sign-off {check.problem}"
    return None


def files_to_publish(pack: Path, manifest: dict) -> list[tuple[str, str]]:
    """(path in the pack, SHA-256 hex) of every file to upload, manifest.json last: the files the
    manifest lists with the hashes it gives, then the signature and the sign-offs, which vouch
    for it from outside it."""
    files = sorted(manifest["files"].items())
    beside = [SIGNATURE] if (pack / SIGNATURE).is_file() else []
    beside += sorted(f"{SIGNOFFS}/{path.name}" for path in (pack / SIGNOFFS).glob("*.json") if is_signoff(f"{SIGNOFFS}/{path.name}"))
    files += [(relative, sha256_file(pack / relative)) for relative in beside]
    files.append((MANIFEST, sha256_file(pack / MANIFEST)))
    return files


def s3_checksum(hex_digest: str) -> str:
    """A SHA-256 as S3 writes it (ChecksumSHA256): the digest's bytes in base64."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def s3_client(aws_profile: str | None, region: str | None, endpoint_url: str | None):
    """The S3 client publish works through, with rootguard's retries and timeouts and a connection per upload worker."""
    return bucket_client(aws_profile, region, endpoint_url, UPLOAD_WORKERS)


@dataclass
class Published:
    """What was written and read back: the objects, where, and under which retention."""

    objects: int
    folder: str
    retention: Retention | None
    problems: list[str]


class Publisher:
    """Uploads one verified pack to one destination and reads it back; every S3 request goes through call()."""

    def __init__(self, s3, destination: Destination, pack: Path, retention: Retention | None):
        self.s3 = s3
        self.destination = destination
        self.pack = pack
        self.retention = retention
        self.folder = destination.folder(pack.resolve().name)

    def call(self, action: str, where: str, absent: tuple[str, ...] = (), **params):
        """One S3 request. An error code in `absent` is an answer (None); any other refusal, or no
        answer at all, is a one-line PublishError naming the action and where it was aimed."""
        return call(self.s3, action, where, absent, **params)

    def object_lock_enabled(self) -> bool:
        bucket = self.destination.bucket
        answer = self.call("GetObjectLockConfiguration", f"bucket {bucket}", absent=("ObjectLockConfigurationNotFoundError",), Bucket=bucket)
        return bool(answer) and answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"

    def keys_present(self) -> set[str]:
        """Every key under the pack's folder, page by page."""
        keys, token = set(), None
        while True:
            params = {"Bucket": self.destination.bucket, "Prefix": self.folder, "MaxKeys": LIST_PAGE}
            if token:
                params["ContinuationToken"] = token
            page = self.call("ListObjectsV2", f"bucket {self.destination.bucket}, prefix {self.folder}", **params)
            keys.update(entry["Key"] for entry in page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return keys

    def uri(self, relative: str) -> str:
        return f"s3://{self.destination.bucket}/{self.folder}{relative}"

    def upload(self, relative: str, sha256: str) -> str | None:
        """Put one file; returns the version id S3 gave it (None in a bucket without versioning)."""
        params = {
            "Bucket": self.destination.bucket,
            "Key": self.folder + relative,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": s3_checksum(sha256),
            "ContentType": mimetypes.guess_type(relative)[0] or "application/octet-stream",
        }
        if self.retention is not None:
            params["ObjectLockMode"] = self.retention.mode
            params["ObjectLockRetainUntilDate"] = self.retention.until
        with open(self.pack / relative, "rb") as body:
            answer = self.call("PutObject", self.uri(relative), Body=body, **params)
        return answer.get("VersionId")

    def read_back(self, relative: str, sha256: str, version: str | None) -> list[str]:
        """What differs between the object S3 holds now and the file the manifest names; empty when nothing does."""
        key, where = self.folder + relative, self.uri(relative)
        head = self.call("HeadObject", where, Bucket=self.destination.bucket, Key=key, ChecksumMode="ENABLED")
        problems = []
        held = head.get("ChecksumSHA256")
        if held != s3_checksum(sha256):
            shown = base64.b64decode(held).hex() if held else "none"
            problems.append(f"{where}: SHA-256 in the bucket {shown}, in the manifest {sha256}")
        if version and head.get("VersionId") != version:
            problems.append(f"{where}: the current version is {head.get('VersionId')}, not {version}, the one publish uploaded")
        if self.retention is not None:
            answer = self.call("GetObjectRetention", where, absent=("NoSuchObjectLockConfiguration",), Bucket=self.destination.bucket, Key=key)
            held_retention = (answer or {}).get("Retention", {})
            mode, until = held_retention.get("Mode"), held_retention.get("RetainUntilDate")
            if mode != self.retention.mode or until is None or until.replace(microsecond=0) != self.retention.until:
                shown = f"{mode} until {until:%Y-%m-%dT%H:%M:%SZ}" if until else "none"
                problems.append(f"{where}: retention {shown}, asked {self.retention}")
        return problems

    def upload_all(self, files: list[tuple[str, str]]) -> dict[str, str | None]:
        """Upload every file but the last in parallel, then the last (manifest.json): a folder that
        holds manifest.json holds the whole pack. Returns each file's version id."""
        *body, last = files
        versions: dict[str, str | None] = {}
        with ThreadPoolExecutor(UPLOAD_WORKERS, thread_name_prefix="rootguard-publish") as pool:
            futures = {relative: pool.submit(self.upload, relative, sha256) for relative, sha256 in body}
            try:
                for relative, future in futures.items():
                    versions[relative] = future.result()
            except BaseException as exc:
                pool.shutdown(cancel_futures=True)
                failure = exc
            else:
                failure = None
        if isinstance(failure, PublishError):
            done = sum(1 for future in futures.values() if not future.cancelled() and future.exception() is None)
            raise self.stopped(failure, done, len(files))
        if failure is not None:
            raise failure
        try:
            versions[last[0]] = self.upload(*last)
        except PublishError as exc:
            raise self.stopped(exc, len(body), len(files)) from None
        return versions

    @staticmethod
    def stopped(failure: PublishError, done: int, total: int) -> PublishError:
        """An upload that failed, with how far publishing got: without manifest.json the folder is not a whole pack."""
        return PublishError(f"{failure}; {done} of {total} files were uploaded before it stopped, {MANIFEST} not among them",
                            failure.exit_code)

    def publish(self, files: list[tuple[str, str]]) -> Published:
        present = self.keys_present()
        if present:
            # A published pack is never written over: its locked versions would stay beside the new ones.
            raise PublishError(f"s3://{self.destination.bucket}/{self.folder} already holds {len(present)} object(s) "
                               f"({min(present)}, ...); a pack is published once: publish it under another PREFIX", USAGE)
        versions = self.upload_all(files)
        listed = self.keys_present()
        expected = {self.folder + relative for relative, _ in files}
        problems = [f"s3://{self.destination.bucket}/{key}: in the bucket, not in the pack" for key in sorted(listed - expected)]
        problems += [f"{self.uri(relative)}: not in the bucket" for relative, _ in files if self.folder + relative not in listed]
        with ThreadPoolExecutor(UPLOAD_WORKERS, thread_name_prefix="rootguard-publish") as pool:
            checks = [pool.submit(self.read_back, relative, sha256, versions[relative])
                      for relative, sha256 in files if self.folder + relative in listed]
            try:
                for check in checks:
                    problems += check.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        return Published(len(files), f"s3://{self.destination.bucket}/{self.folder}", self.retention, problems)
