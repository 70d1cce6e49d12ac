"""rootguard publish: a verified pack into an S3 bucket with Object Lock, read back against its manifest.

Against moto's S3 in this process (and once over HTTP), with rootguard.fixtures.motoext making
Object Lock and checksums as strict as AWS documents them; the tests of those patches are here too.
"""

import ast
import base64
import datetime as dt
import hashlib
import json
import subprocess
import sys
import textwrap

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from rootguard.cli import main as rootguard
from rootguard.evidence import publish as publishing
from rootguard.evidence.pack import write_manifest
from rootguard.fixtures.server import moto_server
from tests import faults
from tests.conftest import HUB, REPO, hub, profile_for

BUCKET = "evidence-archive"
PACK_NAME = "20261122T042147Z"
PUBLISH_POLICY = REPO / "policy" / "publish-policy.json"
READONLY_POLICY = REPO / "policy" / "readonly-policy.json"


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """moto's AWS in this process, reached with credentials as a user has them, and nothing from this machine's AWS config."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    with mock_aws():
        yield


def s3(endpoint_url=None):
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint_url)


def locked_bucket(name=BUCKET, endpoint_url=None):
    s3(endpoint_url).create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


@pytest.fixture
def pack(tmp_path):
    """A small pack as a run writes one: results, evidence, a report, and the manifest over them."""
    folder = tmp_path / "reports" / "demo" / PACK_NAME
    (folder / "evidence" / HUB).mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"profile": "demo", "results": [
        {"control": "root-mfa", "account_id": HUB, "outcome": "passed", "evidence": [f"evidence/{HUB}/iam.root_summary--us-east-1.json"]},
    ]}, indent=2))
    (folder / "evidence" / HUB / "iam.root_summary--us-east-1.json").write_text('{"action": "iam:GetAccountSummary", "calls": []}\n')
    (folder / "report.html").write_text("<!doctype html><title>rootguard</title>\n")
    (folder / "results.csv").write_bytes(b"\xef\xbb\xbfaccount,control,outcome\r\n123456789012,root-mfa,passed\r\n")
    write_manifest(folder, {"profile": "demo", "started_at": "2026-11-22T04:21:47Z", "complete": True})
    return folder


def manifest_files(pack):
    return json.loads((pack / "manifest.json").read_text())["files"]


def record_s3_calls(monkeypatch, module) -> list:
    """Every S3 request made through `module.s3_client`'s clients, in order: (operation, parameters)."""
    seen = []
    real_client = module.s3_client

    def recording_client(*args, **kwargs):
        client = real_client(*args, **kwargs)

        def record(model, params, **_):  # before-parameter-build: once per request, API parameters
            seen.append((model.name, dict(params)))

        client.meta.events.register("before-parameter-build.s3", record)
        return client

    monkeypatch.setattr(module, "s3_client", recording_client)
    return seen


@pytest.fixture
def calls(monkeypatch):
    """Every S3 request publish makes."""
    return record_s3_calls(monkeypatch, publishing)


def stderr_lines(capsys):
    captured = capsys.readouterr()
    return captured.out, [line for line in captured.err.splitlines() if line]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- round trip -----------------------------------------------------------------------------


def test_a_verified_pack_round_trips_with_checksums_and_retention(aws, pack, calls, capsys):
    locked_bucket()
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/quarterly/", "--retain-days", "30", "--mode", "compliance"]) == 0
    after = dt.datetime.now(dt.timezone.utc)
    out, errors = stderr_lines(capsys)
    assert errors == []
    folder = f"quarterly/{PACK_NAME}/"
    files = manifest_files(pack)
    summary = out.strip()
    assert "\n" not in summary
    assert f"{len(files) + 1} objects in s3://{BUCKET}/{folder}" in summary
    assert "locked COMPLIANCE until " in summary

    # Read independently of publish: every file of the pack, byte for byte, and nothing else.
    client = s3()
    listed = {entry["Key"] for entry in client.list_objects_v2(Bucket=BUCKET, Prefix="quarterly/")["Contents"]}
    assert listed == {folder + relative for relative in [*files, "manifest.json"]}
    for relative, digest in {**files, "manifest.json": sha256((pack / "manifest.json").read_bytes())}.items():
        key = folder + relative
        assert sha256(client.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == digest, key
        head = client.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert base64.b64decode(head["ChecksumSHA256"]).hex() == digest, key
        retention = client.get_object_retention(Bucket=BUCKET, Key=key)["Retention"]
        assert retention["Mode"] == "COMPLIANCE"
        assert before + dt.timedelta(days=30) <= retention["RetainUntilDate"] <= after + dt.timedelta(days=30), key
        assert retention["RetainUntilDate"].strftime("%Y-%m-%dT%H:%M:%SZ") in summary

    # Each upload carried the manifest's SHA-256 for S3 to check, and the lock; manifest.json came last.
    puts = [params for operation, params in calls if operation == "PutObject"]
    assert [params["Key"] for params in puts][-1] == folder + "manifest.json"
    for params in puts:
        relative = params["Key"][len(folder):]
        expected = files.get(relative) or sha256((pack / relative).read_bytes())
        assert params["ChecksumAlgorithm"] == "SHA256"
        assert base64.b64decode(params["ChecksumSHA256"]).hex() == expected
        assert params["ObjectLockMode"] == "COMPLIANCE"


def test_signature_and_signoffs_travel_with_the_pack_and_the_default_lock_is_governance_for_400_days(aws, pack, tmp_path, capsys):
    locked_bucket()
    private, public = tmp_path / "run.pem", tmp_path / "run.pub.pem"
    assert rootguard(["keygen", "--private", str(private), "--public", str(public)]) == 0
    assert rootguard(["sign", str(pack), "--key", str(private)]) == 0
    assert rootguard(["signoff", str(pack), "--key", str(private), "--reviewer", "Ana Diaz <ana@example.com>",
                      "--statement", "Reviewed the results."]) == 0
    capsys.readouterr()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}", "--key", str(public)]) == 0
    out, errors = stderr_lines(capsys)
    assert errors == []
    assert "locked GOVERNANCE until " in out
    client = s3()
    keys = {entry["Key"] for entry in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    signoffs = [path.name for path in (pack / "signoffs").glob("*.json")]
    assert len(signoffs) == 1
    assert {f"{PACK_NAME}/manifest.sig", f"{PACK_NAME}/signoffs/{signoffs[0]}", f"{PACK_NAME}/manifest.json"} <= keys
    retention = client.get_object_retention(Bucket=BUCKET, Key=f"{PACK_NAME}/manifest.sig")["Retention"]
    assert retention["Mode"] == "GOVERNANCE"
    assert dt.timedelta(days=400) <= retention["RetainUntilDate"] - now < dt.timedelta(days=400, seconds=60)


def test_retain_until_locks_until_the_start_of_that_day_utc(aws, pack, capsys):
    locked_bucket()
    day = dt.date.today() + dt.timedelta(days=90)
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q4", "--retain-until", day.isoformat()]) == 0
    assert f"locked GOVERNANCE until {day.isoformat()}T00:00:00Z" in capsys.readouterr().out
    retention = s3().get_object_retention(Bucket=BUCKET, Key=f"q4/{PACK_NAME}/results.json")["Retention"]
    assert retention["RetainUntilDate"] == dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def test_listing_is_read_page_by_page(aws, pack, calls, monkeypatch, capsys):
    locked_bucket()
    monkeypatch.setattr(publishing, "LIST_PAGE", 2)
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/paged"]) == 0
    listings = [params for operation, params in calls if operation == "ListObjectsV2"]
    # One empty listing before uploading, then the five objects in pages of two.
    assert len(manifest_files(pack)) + 1 == 5
    assert len(listings) == 1 + 3
    assert sum(1 for params in listings if "ContinuationToken" in params) == 2
    assert "5 objects in" in capsys.readouterr().out


def credentials_for_a_server(monkeypatch, tmp_path) -> None:
    """Fake keys and no AWS configuration of this machine's: what a moto server over HTTP is reached with."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def test_over_http_with_endpoint_url(pack, tmp_path, monkeypatch, capsys):
    credentials_for_a_server(monkeypatch, tmp_path)
    with moto_server() as endpoint:
        locked_bucket(endpoint_url=endpoint)
        code = rootguard(["publish", str(pack), f"s3://{BUCKET}/http", "--endpoint-url", endpoint, "--region", "us-east-1"])
        assert code == 0, capsys.readouterr().err
        retention = s3(endpoint).get_object_retention(Bucket=BUCKET, Key=f"http/{PACK_NAME}/manifest.json")["Retention"]
    assert retention["Mode"] == "GOVERNANCE"


# --- what Object Lock then holds ---------------------------------------------------------------


def test_a_compliance_locked_pack_cannot_be_deleted_shortened_or_replaced(aws, pack, capsys):
    locked_bucket()
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/locked", "--retain-days", "30", "--mode", "compliance"]) == 0
    client = s3()
    key = f"locked/{PACK_NAME}/results.json"
    original = client.head_object(Bucket=BUCKET, Key=key)
    version, until = original["VersionId"], original["ObjectLockRetainUntilDate"]

    with pytest.raises(ClientError) as deleted:
        client.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert deleted.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as bypassed:
        client.delete_object(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True)
    assert bypassed.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as shortened:
        client.put_object_retention(Bucket=BUCKET, Key=key, VersionId=version,
                                    Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until - dt.timedelta(days=1)})
    assert shortened.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as relaxed:
        client.put_object_retention(Bucket=BUCKET, Key=key, VersionId=version, BypassGovernanceRetention=True,
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    assert relaxed.value.response["Error"]["Code"] == "AccessDenied"

    # Writing over the key adds a version; deleting it adds a delete marker. The locked one stays as it was.
    client.put_object(Bucket=BUCKET, Key=key, Body=b'{"results": []}', ChecksumAlgorithm="SHA256")
    client.delete_object(Bucket=BUCKET, Key=key)
    versions = client.list_object_versions(Bucket=BUCKET, Prefix=key)
    assert len(versions["Versions"]) == 2 and len(versions["DeleteMarkers"]) == 1
    kept = client.get_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert sha256(kept["Body"].read()) == manifest_files(pack)["results.json"]
    assert client.get_object_retention(Bucket=BUCKET, Key=key, VersionId=version)["Retention"] == {"Mode": "COMPLIANCE", "RetainUntilDate": until}

    # Extending is what AWS allows anyone who may set a retention to do.
    later = until + dt.timedelta(days=10)
    client.put_object_retention(Bucket=BUCKET, Key=key, VersionId=version, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert client.get_object_retention(Bucket=BUCKET, Key=key, VersionId=version)["Retention"]["RetainUntilDate"] == later


def test_governance_gives_way_only_to_an_explicit_bypass(aws):
    client = s3()
    locked_bucket()
    until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)).replace(microsecond=0)
    version = client.put_object(Bucket=BUCKET, Key="k", Body=b"x", ChecksumAlgorithm="SHA256",
                                ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)["VersionId"]
    earlier = {"Mode": "GOVERNANCE", "RetainUntilDate": until - dt.timedelta(days=1)}
    with pytest.raises(ClientError) as shortened:
        client.put_object_retention(Bucket=BUCKET, Key="k", VersionId=version, Retention=earlier)
    assert shortened.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as deleted:
        client.delete_object(Bucket=BUCKET, Key="k", VersionId=version)
    assert deleted.value.response["Error"]["Code"] == "AccessDenied"
    client.put_object_retention(Bucket=BUCKET, Key="k", VersionId=version, Retention=earlier, BypassGovernanceRetention=True)
    assert client.get_object_retention(Bucket=BUCKET, Key="k", VersionId=version)["Retention"] == earlier
    client.delete_object(Bucket=BUCKET, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert "Versions" not in client.list_object_versions(Bucket=BUCKET, Prefix="k")


def test_moto_refuses_bytes_that_do_not_match_the_checksum_sent(aws):
    client = s3()
    client.create_bucket(Bucket="plain")
    right = base64.b64encode(hashlib.sha256(b"evidence").digest()).decode()
    with pytest.raises(ClientError) as refused:
        client.put_object(Bucket="plain", Key="k", Body=b"evidencE", ChecksumAlgorithm="SHA256", ChecksumSHA256=right)
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    assert "Contents" not in client.list_objects_v2(Bucket="plain")
    client.put_object(Bucket="plain", Key="k", Body=b"evidence", ChecksumAlgorithm="SHA256", ChecksumSHA256=right)
    assert client.head_object(Bucket="plain", Key="k", ChecksumMode="ENABLED")["ChecksumSHA256"] == right


def test_get_object_retention_answers_as_aws(aws):
    client = s3()
    locked_bucket()
    client.put_object(Bucket=BUCKET, Key="unlocked", Body=b"x", ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as none:
        client.get_object_retention(Bucket=BUCKET, Key="unlocked")
    assert none.value.response["Error"]["Code"] == "NoSuchObjectLockConfiguration"
    client.create_bucket(Bucket="plain")
    client.put_object(Bucket="plain", Key="k", Body=b"x")
    with pytest.raises(ClientError) as no_lock:
        client.get_object_retention(Bucket="plain", Key="k")
    assert no_lock.value.response["Error"]["Code"] == "InvalidRequest"


# --- refusals ------------------------------------------------------------------------------------


def test_a_bucket_without_object_lock_is_refused_unless_no_lock(aws, pack, capsys):
    client = s3()
    client.create_bucket(Bucket="plain")
    assert rootguard(["publish", str(pack), "s3://plain/q"]) == 4
    out, errors = stderr_lines(capsys)
    assert out == "" and len(errors) == 1
    assert "bucket plain does not have Object Lock enabled" in errors[0] and "--no-lock" in errors[0]
    assert "Contents" not in client.list_objects_v2(Bucket="plain")

    assert rootguard(["publish", str(pack), "s3://plain/q", "--no-lock"]) == 0
    out, errors = stderr_lines(capsys)
    assert errors == [] and "not locked (--no-lock)" in out
    keys = {entry["Key"] for entry in client.list_objects_v2(Bucket="plain")["Contents"]}
    assert keys == {f"q/{PACK_NAME}/{relative}" for relative in [*manifest_files(pack), "manifest.json"]}


def test_a_tampered_pack_is_refused_before_any_upload(aws, pack, calls, capsys):
    locked_bucket()
    (pack / "results.json").write_text('{"results": []}')
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q"]) == 1
    out, errors = stderr_lines(capsys)
    assert out == "" and len(errors) == 1
    assert "does not match its manifest (changed results.json)" in errors[0] and "nothing uploaded" in errors[0]
    assert calls == []
    assert "Contents" not in s3().list_objects_v2(Bucket=BUCKET)


def test_a_signature_by_another_key_is_refused_before_any_upload(aws, pack, tmp_path, calls, capsys):
    locked_bucket()
    for name in ("run", "other"):
        rootguard(["keygen", "--private", str(tmp_path / f"{name}.pem"), "--public", str(tmp_path / f"{name}.pub.pem")])
    rootguard(["sign", str(pack), "--key", str(tmp_path / "run.pem")])
    capsys.readouterr()
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q", "--key", str(tmp_path / "other.pub.pem")]) == 1
    out, errors = stderr_lines(capsys)
    assert len(errors) == 1 and "signature not valid" in errors[0]
    assert calls == []


def test_a_file_changed_after_verification_is_refused_by_s3_itself(aws, pack, monkeypatch, capsys):
    # The checksum sent is the manifest's, not one computed from what is read at upload time.
    locked_bucket()
    monkeypatch.setattr(publishing, "pack_refusal", lambda pack, key: None)
    (pack / "report.html").write_text("<!doctype html><title>changed</title>\n")
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q"]) == 6
    out, errors = stderr_lines(capsys)
    assert len(errors) == 1
    assert "s3:PutObject failed: BadDigest" in errors[0] and f"s3://{BUCKET}/q/{PACK_NAME}/report.html" in errors[0]
    assert "manifest.json not among them" in errors[0]
    keys = {entry["Key"] for entry in s3().list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert f"q/{PACK_NAME}/report.html" not in keys and f"q/{PACK_NAME}/manifest.json" not in keys


@pytest.mark.parametrize("options, says", [
    (["--retain-days", "30", "--retain-until", "2099-01-01"], "give --retain-days or --retain-until, not both"),
    (["--retain-until", "2020-01-01"], "--retain-until 2020-01-01 is not in the future"),
    (["--no-lock", "--mode", "compliance"], "--no-lock uploads without a retention; leave out --mode"),
])
def test_contradictory_or_past_retention_is_a_one_line_usage_error(aws, pack, calls, capsys, options, says):
    locked_bucket()
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q", *options]) == 4
    out, errors = stderr_lines(capsys)
    assert out == "" and len(errors) == 1 and says in errors[0]
    assert calls == []


def test_a_destination_that_is_not_an_s3_url_is_refused_when_parsed(pack, capsys):
    with pytest.raises(SystemExit) as stopped:
        rootguard(["publish", str(pack), f"{BUCKET}/q"])
    assert stopped.value.code == 2
    assert "give the evidence bucket as s3://BUCKET/PREFIX" in capsys.readouterr().err


def test_a_pack_already_published_there_is_not_written_over(aws, pack, calls, capsys):
    locked_bucket()
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q"]) == 0
    capsys.readouterr()
    calls.clear()
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q"]) == 4
    out, errors = stderr_lines(capsys)
    assert len(errors) == 1 and f"s3://{BUCKET}/q/{PACK_NAME}/ already holds {len(manifest_files(pack)) + 1} object(s)" in errors[0]
    assert "PutObject" not in [operation for operation, _ in calls]


def test_a_missing_bucket_is_one_line_naming_the_action_and_the_bucket(aws, pack, capsys):
    assert rootguard(["publish", str(pack), "s3://no-such-evidence/q"]) == 6
    out, errors = stderr_lines(capsys)
    assert out == "" and len(errors) == 1
    assert errors[0].startswith("rootguard publish: s3:GetObjectLockConfiguration failed: NoSuchBucket")
    assert "bucket no-such-evidence" in errors[0]


def test_access_denied_is_one_line_naming_the_action_and_the_bucket(aws, pack, monkeypatch, capsys):
    locked_bucket()
    faults.install(monkeypatch, faults.FaultPlan(faults={(HUB, "s3:PutObject"): faults.Fault("access-denied")}))
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q"]) == 6
    out, errors = stderr_lines(capsys)
    assert out == "" and len(errors) == 1
    assert "s3:PutObject failed: AccessDenied" in errors[0] and f"s3://{BUCKET}/q/{PACK_NAME}/" in errors[0]
    assert f"0 of {len(manifest_files(pack)) + 1} files were uploaded before it stopped, manifest.json not among them" in errors[0]
    assert "Contents" not in s3().list_objects_v2(Bucket=BUCKET)


def test_a_bucket_that_differs_from_the_manifest_after_upload_is_one_line_per_problem(aws, pack, monkeypatch, capsys):
    locked_bucket()
    folder = f"q/{PACK_NAME}/"
    upload_all = publishing.Publisher.upload_all
    meddling = {}

    def meddled(self, files):
        # Another writer, between the uploads and the read-back.
        versions = upload_all(self, files)
        client = s3()
        client.put_object(Bucket=BUCKET, Key=folder + "extra.txt", Body=b"x")
        meddling["report"] = client.put_object(Bucket=BUCKET, Key=folder + "report.html", Body=b"other")["VersionId"]
        meddling["uploaded"] = versions["report.html"]
        meddling["asked"], meddling["later"] = self.retention, self.retention.until + dt.timedelta(days=1)
        client.put_object_retention(Bucket=BUCKET, Key=folder + "results.csv",
                                    Retention={"Mode": "GOVERNANCE", "RetainUntilDate": meddling["later"]})
        return versions

    monkeypatch.setattr(publishing.Publisher, "upload_all", meddled)
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q"]) == 7
    out, errors = stderr_lines(capsys)
    assert out == ""
    where = f"rootguard publish: s3://{BUCKET}/{folder}"
    assert sorted(errors) == sorted([
        f"{where}extra.txt: in the bucket, not in the pack",
        f"{where}report.html: SHA-256 in the bucket none, in the manifest {manifest_files(pack)['report.html']}",
        f"{where}report.html: the current version is {meddling['report']}, not {meddling['uploaded']}, the one publish uploaded",
        f"{where}report.html: retention none, asked {meddling['asked']}",
        f"{where}results.csv: retention GOVERNANCE until {meddling['later']:%Y-%m-%dT%H:%M:%SZ}, asked {meddling['asked']}",
    ])


# --- permissions: the policy file, and nothing else writes -------------------------------------

# The IAM actions each S3 operation publish makes is authorized by (AWS's Service Authorization
# Reference, Amazon S3: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html,
# and each operation's API reference): HeadObject is s3:GetObject, ListObjectsV2 is s3:ListBucket,
# GetObjectLockConfiguration is s3:GetBucketObjectLockConfiguration, and a PutObject that sets a
# retention also needs s3:PutObjectRetention.
BUCKET_LEVEL = {"GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration", "ListObjectsV2": "s3:ListBucket"}
OBJECT_LEVEL = {"HeadObject": "s3:GetObject", "GetObjectRetention": "s3:GetObjectRetention", "PutObject": "s3:PutObject"}


def permissions(operation: str, params: dict) -> set[tuple[str, str]]:
    """(IAM action, resource ARN) pairs one request needs."""
    if operation in BUCKET_LEVEL:
        return {(BUCKET_LEVEL[operation], f"arn:aws:s3:::{params['Bucket']}")}
    resource = f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"
    needed = {(OBJECT_LEVEL[operation], resource)}
    if operation == "PutObject" and "ObjectLockMode" in params:
        needed.add(("s3:PutObjectRetention", resource))
    return needed


def policy_grants(path, bucket: str) -> set[tuple[str, str]]:
    """(action, resource pattern) pairs the policy allows, with its EVIDENCE-BUCKET placeholder filled in."""
    document = json.loads(path.read_text().replace("EVIDENCE-BUCKET", bucket))
    grants = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        grants.update((action, resource) for action in actions for resource in resources)
    return grants


def allowed(needed: tuple[str, str], grants) -> bool:
    action, resource = needed
    return any(action == granted and (resource == pattern or (pattern.endswith("/*") and resource.startswith(pattern[:-1])))
               for granted, pattern in grants)


def test_publish_calls_exactly_what_its_policy_allows(aws, pack, calls, tmp_path, capsys):
    locked_bucket()
    s3().create_bucket(Bucket="plain")
    assert rootguard(["publish", str(pack), f"s3://{BUCKET}/q", "--mode", "compliance"]) == 0
    assert rootguard(["publish", str(pack), "s3://plain/q", "--no-lock"]) == 0
    capsys.readouterr()
    assert calls, "no S3 call was recorded"
    assert {params["Bucket"] for _, params in calls} == {BUCKET, "plain"}  # the destination bucket, and nothing else
    used = set()
    for bucket in (BUCKET, "plain"):
        grants = policy_grants(PUBLISH_POLICY, bucket)
        for operation, params in calls:
            if params["Bucket"] != bucket:
                continue
            for needed in permissions(operation, params):
                assert allowed(needed, grants), f"{operation} needs {needed}, which publish-policy.json does not allow"
                used.add(needed[0])
    listed = {action for action, _ in policy_grants(PUBLISH_POLICY, BUCKET)}
    assert used == listed, f"in the policy but never needed: {sorted(listed - used)}"


def read_only_actions() -> set[str]:
    document = json.loads(READONLY_POLICY.read_text())
    return {action for statement in document["Statement"]
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}


def test_the_writes_are_granted_by_the_publish_policy_alone():
    publish_actions = {action for action, _ in policy_grants(PUBLISH_POLICY, BUCKET)}
    writes = {action for action in publish_actions if not action.split(":", 1)[1].startswith(("Get", "List"))}
    assert writes == {"s3:PutObject", "s3:PutObjectRetention"}
    assert not writes & read_only_actions()
    # Nothing in it can delete or undo a lock: not s3:DeleteObject*, not s3:BypassGovernanceRetention.
    assert not {action for action in publish_actions if "Delete" in action or "Bypass" in action}


def module_imports(path, module: str) -> set[str]:
    """Every rootguard module `path` imports, at its top or inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "rootguard" or name.startswith("rootguard.")}


def rootguard_modules() -> dict[str, object]:
    """rootguard's modules by name, as a checkout lays them out (fixtures/ is rootguard.fixtures)."""
    modules = {}
    for folder, name in ((REPO / "rootguard", "rootguard"), (REPO / "fixtures", "rootguard.fixtures")):
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([name, *parts])] = path
    return modules


def test_a_sweep_cannot_reach_the_code_that_writes():
    modules = rootguard_modules()
    imports = {name: module_imports(path, name) for name, path in modules.items()}
    importers = {name for name, found in imports.items() if "rootguard.evidence.publish" in found}
    assert importers == {"rootguard.cli"}

    # Everything a sweep loads: the pytest plugin and the controls, and all they import, at any depth.
    reached, todo = set(), {"rootguard.plugin"}
    for path in (REPO / "tests_compliance").glob("*.py"):
        todo |= module_imports(path, f"rootguard.tests_compliance.{path.stem}")
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo |= imports.get(name, set())
    assert "rootguard.controls" in reached and "rootguard.facts.iam" in reached  # the walk does walk
    assert "rootguard.evidence.publish" not in reached
    assert "rootguard.cli" not in reached


def test_rootguard_run_never_loads_publish(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(hub())
    profile = tmp_path / "profile.yaml"
    profile.write_text(profile_for(scenario, scenario.read_text()))
    probe = textwrap.dedent("""\
        import sys
        from rootguard.cli import main
        code = main(sys.argv[1:])
        print("publish loaded:", "rootguard.evidence.publish" in sys.modules)
        sys.exit(code)
    """)
    completed = subprocess.run(
        [sys.executable, "-c", probe, "run", "--profile", str(profile), "--report-dir", str(tmp_path / "pack"),
         "-k", "test_root_mfa", "--export", "none", "-p", "no:html", "-p", "no:allure_pytest", "-q"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stdout[-2000:] + completed.stderr[-2000:]
    assert (tmp_path / "pack" / "results.json").is_file()
    assert "publish loaded: False" in completed.stdout
