"""Where `rootguard ledger` and `rootguard sample` find evidence packs: folders here, and an S3 evidence
bucket that `rootguard publish` wrote, copied here with the Object Lock retention of each manifest.

A pack is a folder holding manifest.json, on disk or as a key prefix in a bucket; a folder below a
pack is part of it, never a pack of its own. From S3 this reads with ListObjectsV2, GetObject and
GetObjectRetention only, what policy/evidence-read-policy.json grants.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError

from rootguard.errors import describe_client_error
from rootguard.evidence.bucket import AWS_FAILED, LIST_PAGE, USAGE, BucketError, bucket_and_prefix, call, s3_client
from rootguard.evidence.pack import MANIFEST

DOWNLOAD_WORKERS = 16
CHUNK = 1 << 20


class SourceError(Exception):
    """A pack argument that cannot be read: one line naming it (and, from S3, the action and the error
    code), and the exit code: 4 for a usage problem, 6 for an AWS error."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class FoundPack:
    """One pack: what to call it, the folder here holding its files, and, for a pack read from S3,
    the retention of its manifest.json object: {"locked": True, "mode": "COMPLIANCE", "retain_until":
    "2027-12-27T04:21:47Z"}, {"locked": False} when the bucket or the object has none, or
    {"unreadable": "s3:GetObjectRetention: AccessDenied"}; None for a pack found on disk."""

    source: str  # the absolute path of the pack's folder; or s3://BUCKET/PREFIX/<pack folder>
    path: Path
    retention: dict | None = None


def find_packs(arguments: list[str], download_to: Path, *, aws_profile: str | None = None, region: str | None = None,
               endpoint_url: str | None = None) -> list[FoundPack]:
    """Every pack the arguments name, ordered by source: a pack's folder, every pack at any depth
    below a folder, and every pack at or below s3://BUCKET/PREFIX, copied into
    download_to/BUCKET/<key> first. An argument that holds no pack is a SourceError naming it."""
    addresses = [argument for argument in arguments if argument.startswith("s3://")]
    locations = {address: s3_location(address) for address in addresses}  # a malformed one is refused before any request
    on_disk: dict[Path, FoundPack] = {}
    for argument in arguments:
        if argument not in locations:
            for pack in packs_on_disk(argument):
                on_disk.setdefault(pack.path, pack)
    copied: list[FoundPack] = []
    if locations:
        reader = BucketReader(aws_profile, region, endpoint_url, download_to)
        wanted: dict[tuple[str, str], list[str]] = {}
        for address, (bucket, prefix) in locations.items():
            for folder, keys in reader.packs_at(address, bucket, prefix).items():
                wanted.setdefault((bucket, folder), keys)
        copied = reader.copy(wanted)
    return sorted([*on_disk.values(), *copied], key=lambda pack: pack.source)


def fetch_pack(source: str, download_to: Path, *, aws_profile: str | None = None, region: str | None = None,
               endpoint_url: str | None = None) -> FoundPack:
    """The one pack a FoundPack.source names, read again: from S3, copied as find_packs copies it."""
    if not source.startswith("s3://"):
        folder = Path(source)
        if not (folder / MANIFEST).is_file():
            raise SourceError(f"{source}: not an evidence pack (no {MANIFEST} there)", USAGE)
        return FoundPack(source, folder.resolve())
    bucket, prefix = s3_location(source)
    reader = BucketReader(aws_profile, region, endpoint_url, download_to)
    folder = f"{prefix}/" if prefix else ""
    keys = reader.keys(source, bucket, folder)
    if folder + MANIFEST not in keys:
        raise SourceError(f"{source}: no evidence pack there (no key {folder}{MANIFEST} in bucket {bucket})", USAGE)
    return reader.copy({(bucket, folder): keys})[0]


def s3_location(address: str) -> tuple[str, str]:
    try:
        return bucket_and_prefix(address)
    except ValueError as exc:
        raise SourceError(str(exc), USAGE) from None


def packs_on_disk(argument: str) -> list[FoundPack]:
    """The pack `argument` is, or every pack below it, outermost only, by folder name."""
    given = Path(argument)
    if not given.exists():
        raise SourceError(f"{argument}: no such file or folder; give a pack's folder, a folder holding packs, "
                          "or s3://BUCKET/PREFIX", USAGE)
    if not given.is_dir():
        raise SourceError(f"{argument}: not a folder; give a pack's folder (the one holding {MANIFEST}) or a folder holding packs", USAGE)

    def unreadable(error: OSError):
        # os.walk would skip a folder it cannot list, and the packs in it would go missing unsaid.
        raise SourceError(f"{error.filename}: cannot list it ({error.strerror or error})", USAGE)

    found = []
    for folder, subfolders, files in os.walk(given, onerror=unreadable):
        if MANIFEST in files:
            found.append(Path(folder))
            subfolders.clear()  # a folder below a pack is part of it
        subfolders.sort()
    if not found:
        raise SourceError(f"{argument}: no evidence pack in it or below it (a folder holding {MANIFEST})", USAGE)
    # Named by absolute path: `rootguard sample` finds the pack again from wherever it is run.
    return [FoundPack(str(folder.resolve()), folder.resolve()) for folder in found]


def outermost_packs(keys: list[str]) -> list[str]:
    """The pack folders among `keys` ("" for the bucket's top, else ending in "/"): those holding
    manifest.json, leaving out any below another."""
    folders = sorted({key[: -len(MANIFEST)] for key in keys if key == MANIFEST or key.endswith("/" + MANIFEST)})
    outermost: list[str] = []
    for folder in folders:  # sorted, so a folder comes after every folder above it
        if not any(folder.startswith(outer) for outer in outermost):
            outermost.append(folder)
    return outermost


def s3_address(bucket: str, folder: str) -> str:
    return f"s3://{bucket}/{folder}".rstrip("/")


def settled(futures: dict, pool: ThreadPoolExecutor) -> dict:
    """Each future's result by its name; at the first failure the rest are cancelled and it is raised."""
    try:
        return {name: future.result() for name, future in futures.items()}
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise


class BucketReader:
    """Copies packs out of evidence buckets through one S3 client; every request goes through call()."""

    def __init__(self, aws_profile: str | None, region: str | None, endpoint_url: str | None, download_to: Path):
        try:
            self.s3 = s3_client(aws_profile, region, endpoint_url, DOWNLOAD_WORKERS)
        except BucketError as exc:
            raise SourceError(str(exc), exc.exit_code) from None
        self.download_to = download_to

    def call(self, action: str, where: str, **params):
        try:
            return call(self.s3, action, where, **params)
        except BucketError as exc:
            raise SourceError(str(exc), exc.exit_code) from None

    def keys(self, where: str, bucket: str, prefix: str) -> list[str]:
        """Every key under `prefix`, page by page, but the empty "folder" objects consoles make."""
        keys, token = [], None
        while True:
            params = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": LIST_PAGE}
            if token:
                params["ContinuationToken"] = token
            page = self.call("ListObjectsV2", where, **params)
            keys += [entry["Key"] for entry in page.get("Contents", []) if not entry["Key"].endswith("/")]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return keys

    def packs_at(self, address: str, bucket: str, prefix: str) -> dict[str, list[str]]:
        """Each pack folder at or below s3://bucket/prefix, with its keys."""
        keys = self.keys(address, bucket, f"{prefix}/" if prefix else "")
        folders = outermost_packs(keys)
        if not folders:
            raise SourceError(f"{address}: no evidence pack there (no {MANIFEST} at or below it); `rootguard publish` "
                              f"puts each pack in PREFIX/<pack folder>/", USAGE)
        return {folder: [key for key in keys if key.startswith(folder)] for folder in folders}

    def local(self, bucket: str, key: str) -> Path:
        """Where a key's copy goes: download_to/bucket/key, refused for a key that would not land there."""
        if any(part in ("", ".", "..") for part in key.split("/")):
            raise SourceError(f"s3://{bucket}/{key}: a key with an empty, '.' or '..' part cannot be copied to a file "
                              "below the download folder; `rootguard publish` never writes one", AWS_FAILED)
        return self.download_to / bucket / key

    def download(self, bucket: str, key: str) -> str | None:
        """Copy the current version of one object; returns its version id (None without versioning)."""
        target, where = self.local(bucket, key), f"s3://{bucket}/{key}"
        answer = self.call("GetObject", where, Bucket=bucket, Key=key)
        target.parent.mkdir(parents=True, exist_ok=True)
        body = answer["Body"]
        try:
            with open(target, "wb") as handle:
                shutil.copyfileobj(body, handle, CHUNK)
        except BotoCoreError as exc:  # the connection failed while the body was read
            raise SourceError(f"{describe_client_error(exc, 's3:GetObject')} ({where})", AWS_FAILED) from None
        finally:
            body.close()
        return answer.get("VersionId")

    def retention(self, bucket: str, key: str, version: str | None) -> dict:
        """The Object Lock retention of the version copied: locked with a mode and date, not locked, or unreadable and why."""
        params = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        try:
            answer = call(self.s3, "GetObjectRetention", f"s3://{bucket}/{key}", absent=("NoSuchObjectLockConfiguration",), **params)
        except BucketError as exc:
            # S3 answers InvalidRequest, "Bucket is missing Object Lock Configuration", in a bucket without Object Lock.
            if exc.code == "InvalidRequest" and "objectlock" in str(exc).lower().replace(" ", ""):
                return {"locked": False}
            if exc.exit_code != AWS_FAILED:
                raise SourceError(str(exc), exc.exit_code) from None
            return {"unreadable": f"{exc.action}: {exc.code}"}
        held = (answer or {}).get("Retention", {})
        mode, until = held.get("Mode"), held.get("RetainUntilDate")
        if not mode or until is None:
            return {"locked": False}
        return {"locked": True, "mode": mode, "retain_until": until.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def copy(self, wanted: dict[tuple[str, str], list[str]]) -> list[FoundPack]:
        """Copy each (bucket, pack folder)'s keys over whatever an earlier copy left there, then read each manifest's retention."""
        for (bucket, folder), keys in wanted.items():
            for key in keys:
                self.local(bucket, key)  # every key checked before any is copied
            earlier = self.download_to / bucket / folder
            if earlier.is_dir():
                shutil.rmtree(earlier)  # a file the bucket no longer holds must not stay in the copy
        with ThreadPoolExecutor(DOWNLOAD_WORKERS, thread_name_prefix="rootguard-sources") as pool:
            downloads: dict[tuple[str, str], Future] = {
                (bucket, key): pool.submit(self.download, bucket, key) for (bucket, _), keys in wanted.items() for key in keys
            }
            versions = settled(downloads, pool)
            retentions = settled({
                (bucket, folder): pool.submit(self.retention, bucket, folder + MANIFEST, versions[(bucket, folder + MANIFEST)])
                for bucket, folder in wanted
            }, pool)
        return [FoundPack(s3_address(bucket, folder), (self.download_to / bucket / folder).resolve(), retentions[(bucket, folder)])
                for bucket, folder in wanted]
