"""rootguard.ledger.sources: packs found in folders here and in an S3 evidence bucket that `rootguard publish` wrote.

Against moto's S3 in this process (and once over HTTP), with packs made here and published by
`rootguard publish` itself; then the README's scheduled-collection workflow, checked against action.yml.
"""

import json
import re
import shlex

import pytest
import yaml

from rootguard.cli import main as rootguard
from rootguard.evidence.pack import pack_files, verify, write_manifest
from rootguard.fixtures.server import moto_server
from rootguard.ledger import sources
from rootguard.ledger.sources import FoundPack, SourceError, fetch_pack, find_packs
from tests import faults
from tests.conftest import HUB, REPO
from tests.test_publish import BUCKET, allowed, aws, credentials_for_a_server, locked_bucket, policy_grants, record_s3_calls, s3

READ_POLICY = REPO / "policy" / "evidence-read-policy.json"
WEEKS = ("20260105T041700Z", "20260112T041700Z")
# The IAM action each S3 operation the reader makes is authorized by (AWS's Service Authorization
# Reference for Amazon S3): ListObjectsV2 is s3:ListBucket on the bucket, GetObject and
# GetObjectRetention are themselves, on the object.
ACTIONS = {"ListObjectsV2": "s3:ListBucket", "GetObject": "s3:GetObject", "GetObjectRetention": "s3:GetObjectRetention"}


def make_pack(folder, started_at):
    """A pack as small as one gets: results.json, one evidence file, and the manifest over them."""
    evidence = f"evidence/{HUB}/iam.root_summary--us-east-1.json"
    (folder / "evidence" / HUB).mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"profile": "demo", "started_at": started_at, "results": [
        {"control": "root-mfa", "account_id": HUB, "outcome": "passed", "evidence": [evidence]},
    ]}, indent=2))
    (folder / evidence).write_text(json.dumps({"action": "iam:GetAccountSummary", "fetched_at": started_at}) + "\n")
    write_manifest(folder, {"profile": "demo", "started_at": started_at, "complete": True})
    return folder


@pytest.fixture
def packs(tmp_path):
    return [make_pack(tmp_path / "reports" / "demo" / week, week) for week in WEEKS]


def publish(pack, destination, *options):
    assert rootguard(["publish", str(pack), destination, *options]) == 0


def contents(folder):
    """Every file of a pack folder, manifest included, as {relative path: bytes}."""
    return {relative: (folder / relative).read_bytes() for relative in [*pack_files(folder), "manifest.json"]}


@pytest.fixture
def calls(monkeypatch):
    """Every S3 request the reader makes, in order: (operation, parameters)."""
    return record_s3_calls(monkeypatch, sources)


@pytest.fixture
def published(aws, packs, capsys):
    """The two packs in the locked bucket under weekly/: the first as publish locks by default, the second in compliance mode."""
    locked_bucket()
    publish(packs[0], f"s3://{BUCKET}/weekly")
    publish(packs[1], f"s3://{BUCKET}/weekly", "--retain-days", "30", "--mode", "compliance")
    capsys.readouterr()
    return packs


def one_line(raised) -> str:
    message = str(raised.value)
    assert "\n" not in message and message.strip() == message
    return message


# --- from S3 --------------------------------------------------------------------------------------


def test_published_packs_are_found_copied_byte_for_byte_with_their_retention(published, tmp_path, calls):
    client = s3()
    client.put_object(Bucket=BUCKET, Key="weekly/README.txt", Body=b"not a pack")  # beside the packs, in none
    client.put_object(Bucket=BUCKET, Key="weekly-old/x/manifest.json", Body=b"{}")  # another prefix, not below weekly/
    client.put_object(Bucket=BUCKET, Key=f"weekly/{WEEKS[0]}/evidence/", Body=b"")  # a "folder" as the S3 console makes one
    downloads = tmp_path / "downloads"

    found = find_packs([f"s3://{BUCKET}/weekly/"], downloads)

    assert [pack.source for pack in found] == [f"s3://{BUCKET}/weekly/{week}" for week in WEEKS]
    for pack, original in zip(found, published):
        assert pack.path == (downloads / BUCKET / "weekly" / original.name).resolve()
        assert contents(pack.path) == contents(original)
        assert sorted(path.name for path in pack.path.rglob("*") if path.is_file()) == sorted(
            path.name for path in original.rglob("*") if path.is_file())
        assert verify(pack.path).ok
        held = client.get_object_retention(Bucket=BUCKET, Key=f"weekly/{original.name}/manifest.json")["Retention"]
        assert pack.retention == {"locked": True, "mode": held["Mode"], "retain_until": f"{held['RetainUntilDate']:%Y-%m-%dT%H:%M:%SZ}"}
    assert [pack.retention["mode"] for pack in found] == ["GOVERNANCE", "COMPLIANCE"]

    # The retention read is that of the manifest version copied, and only the current versions are read.
    current = {params["Key"]: client.head_object(Bucket=BUCKET, Key=params["Key"])["VersionId"]
               for operation, params in calls if operation == "GetObjectRetention"}
    assert [params.get("VersionId") for operation, params in calls if operation == "GetObjectRetention"] == list(current.values())
    assert not [params for operation, params in calls if operation == "GetObject" and "VersionId" in params]
    assert {operation for operation, _ in calls} == {"ListObjectsV2", "GetObject", "GetObjectRetention"}


def test_a_manifest_written_over_is_copied_as_it_now_is_and_said_to_be_unlocked(published, tmp_path):
    # Writing over a locked key adds a version beside the locked one; the current version is what is copied.
    s3().put_object(Bucket=BUCKET, Key=f"weekly/{WEEKS[0]}/manifest.json", Body=b'{"files": {}}')
    found = find_packs([f"s3://{BUCKET}/weekly"], tmp_path / "downloads")
    assert (found[0].path / "manifest.json").read_bytes() == b'{"files": {}}'
    assert [pack.retention["locked"] for pack in found] == [False, True]


def test_a_bucket_or_an_object_without_object_lock_is_locked_false(aws, packs, tmp_path, capsys):
    s3().create_bucket(Bucket="plain")
    locked_bucket()
    publish(packs[0], "s3://plain/weekly", "--no-lock")
    publish(packs[1], f"s3://{BUCKET}/unlocked", "--no-lock")  # a locked bucket, objects without a retention
    capsys.readouterr()
    found = find_packs([f"s3://{BUCKET}/unlocked", "s3://plain"], tmp_path / "downloads")
    assert [(pack.source, pack.retention) for pack in found] == [
        (f"s3://{BUCKET}/unlocked/{WEEKS[1]}", {"locked": False}),
        (f"s3://plain/weekly/{WEEKS[0]}", {"locked": False}),
    ]
    assert contents(found[1].path) == contents(packs[0])


def test_a_pack_inside_a_published_pack_is_part_of_it(aws, tmp_path, capsys):
    outer = tmp_path / "merged" / WEEKS[0]
    make_pack(outer / "shards" / "1", WEEKS[0])
    make_pack(outer, WEEKS[0])  # written last: its manifest covers the inner pack's files, the inner manifest among them
    locked_bucket()
    publish(outer, f"s3://{BUCKET}/merged")
    found = find_packs([f"s3://{BUCKET}/merged"], tmp_path / "downloads")
    assert [pack.source for pack in found] == [f"s3://{BUCKET}/merged/{WEEKS[0]}"]
    assert contents(found[0].path) == contents(outer) and "shards/1/manifest.json" in contents(outer)


def test_a_key_that_would_land_outside_the_download_folder_is_refused_before_any_copy(aws, tmp_path):
    client = s3()
    client.create_bucket(Bucket="plain")
    client.put_object(Bucket="plain", Key="weekly/p/manifest.json", Body=b"{}")
    client.put_object(Bucket="plain", Key="weekly/p/../../../../escaped.txt", Body=b"x")
    downloads = tmp_path / "a" / "downloads"
    with pytest.raises(SourceError) as refused:
        find_packs(["s3://plain/weekly"], downloads)
    assert refused.value.exit_code == 6
    assert one_line(refused).startswith("s3://plain/weekly/p/../../../../escaped.txt: a key with an empty, '.' or '..' part")
    assert not downloads.exists() and not (tmp_path / "escaped.txt").exists()


def test_the_listing_is_read_page_by_page(published, tmp_path, calls, monkeypatch):
    monkeypatch.setattr(sources, "LIST_PAGE", 2)
    assert len(find_packs([f"s3://{BUCKET}/weekly"], tmp_path / "downloads")) == 2
    listings = [params for operation, params in calls if operation == "ListObjectsV2"]
    assert len(listings) == 3  # six objects, two a page
    assert all(params["Prefix"] == "weekly/" and params["MaxKeys"] == 2 for params in listings)
    assert sum(1 for params in listings if "ContinuationToken" in params) == 2


def test_fetch_pack_reads_again_exactly_the_pack_a_source_names(published, tmp_path, calls):
    found = find_packs([f"s3://{BUCKET}/weekly"], tmp_path / "ledger-copy")
    calls.clear()
    again = fetch_pack(found[1].source, tmp_path / "sample-copy")
    assert again.source == found[1].source and again.retention == found[1].retention
    assert again.path == (tmp_path / "sample-copy" / BUCKET / "weekly" / WEEKS[1]).resolve()
    assert contents(again.path) == contents(published[1])
    assert {params["Key"] for operation, params in calls if operation == "GetObject"} == {
        f"weekly/{WEEKS[1]}/{relative}" for relative in contents(published[1])}

    assert fetch_pack(str(published[0]), tmp_path / "unused") == FoundPack(str(published[0]), published[0].resolve(), None)
    with pytest.raises(SourceError) as not_a_pack:
        fetch_pack(f"s3://{BUCKET}/weekly", tmp_path / "unused")
    assert not_a_pack.value.exit_code == 4
    assert one_line(not_a_pack) == f"s3://{BUCKET}/weekly: no evidence pack there (no key weekly/manifest.json in bucket {BUCKET})"


def test_a_second_copy_replaces_the_first_and_drops_what_the_bucket_does_not_hold(published, tmp_path):
    downloads = tmp_path / "downloads"
    first = find_packs([f"s3://{BUCKET}/weekly/{WEEKS[0]}"], downloads)
    assert [pack.source for pack in first] == [f"s3://{BUCKET}/weekly/{WEEKS[0]}"]  # a pack's own folder is a prefix too
    (first[0].path / "stray.txt").write_text("left by hand")
    (first[0].path / "results.json").write_text("{}")
    again = find_packs([f"s3://{BUCKET}/weekly"], downloads)
    assert contents(again[0].path) == contents(published[0]) and not (again[0].path / "stray.txt").exists()


def test_a_location_without_packs_is_a_usage_error_naming_it(published, tmp_path):
    s3().put_object(Bucket=BUCKET, Key="empty/notes.txt", Body=b"x")
    for address in (f"s3://{BUCKET}/empty", f"s3://{BUCKET}/week"):  # "week" is not the folder weekly/
        with pytest.raises(SourceError) as nothing:
            find_packs([address], tmp_path / "downloads")
        assert nothing.value.exit_code == 4
        assert one_line(nothing).startswith(f"{address}: no evidence pack there")


@pytest.mark.parametrize("address, says", [
    ("s3://", "'s3://': '' is not an S3 bucket name"),
    ("s3:///weekly", "'s3:///weekly': '' is not an S3 bucket name"),
    ("s3://Evidence_Archive/weekly", "'s3://Evidence_Archive/weekly': 'Evidence_Archive' is not an S3 bucket name"),
])
def test_a_malformed_address_is_a_usage_error_before_any_request(aws, tmp_path, calls, address, says):
    with pytest.raises(SourceError) as malformed:
        find_packs([f"s3://{BUCKET}/weekly", address], tmp_path / "downloads")
    assert malformed.value.exit_code == 4 and one_line(malformed).startswith(says)
    assert calls == []
    with pytest.raises(SourceError) as again:
        fetch_pack(address, tmp_path / "downloads")
    assert again.value.exit_code == 4


def test_an_aws_profile_that_does_not_exist_is_a_usage_error(aws, tmp_path):
    with pytest.raises(SourceError) as unknown:
        find_packs([f"s3://{BUCKET}/weekly"], tmp_path / "downloads", aws_profile="no-such-profile")
    assert unknown.value.exit_code == 4 and one_line(unknown).startswith("--aws-profile no-such-profile: ")


@pytest.mark.parametrize("action, where", [
    ("s3:ListObjectsV2", f"(s3://{BUCKET}/weekly)"),
    ("s3:GetObject", f"(s3://{BUCKET}/weekly/"),
])
def test_access_denied_is_one_line_naming_the_action_the_code_and_where(published, tmp_path, monkeypatch, action, where):
    faults.install(monkeypatch, faults.FaultPlan(faults={(HUB, action): faults.Fault("access-denied")}))
    with pytest.raises(SourceError) as denied:
        find_packs([f"s3://{BUCKET}/weekly"], tmp_path / "downloads")
    assert denied.value.exit_code == 6
    assert one_line(denied).startswith(f"{action} failed: AccessDenied: ") and where in str(denied.value)


def test_a_retention_that_cannot_be_read_is_said_and_the_pack_still_copied(published, tmp_path, monkeypatch):
    faults.install(monkeypatch, faults.FaultPlan(faults={(HUB, "s3:GetObjectRetention"): faults.Fault("access-denied")}))
    found = find_packs([f"s3://{BUCKET}/weekly"], tmp_path / "downloads")
    assert [pack.retention for pack in found] == [{"unreadable": "s3:GetObjectRetention: AccessDenied"}] * 2
    assert contents(found[0].path) == contents(published[0])


def test_a_missing_bucket_is_an_aws_error(aws, tmp_path):
    with pytest.raises(SourceError) as missing:
        find_packs(["s3://no-such-evidence/weekly"], tmp_path / "downloads")
    assert missing.value.exit_code == 6
    assert one_line(missing).startswith("s3:ListObjectsV2 failed: NoSuchBucket") and "(s3://no-such-evidence/weekly)" in str(missing.value)


def test_over_http_with_endpoint_url(packs, tmp_path, monkeypatch, capsys):
    credentials_for_a_server(monkeypatch, tmp_path)
    with moto_server() as endpoint:
        locked_bucket(endpoint_url=endpoint)
        publish(packs[0], f"s3://{BUCKET}/http", "--endpoint-url", endpoint, "--region", "us-east-1", "--mode", "compliance")
        found = find_packs([f"s3://{BUCKET}/http"], tmp_path / "downloads", endpoint_url=endpoint, region="us-east-1")
    assert [pack.source for pack in found] == [f"s3://{BUCKET}/http/{WEEKS[0]}"]
    assert found[0].retention["mode"] == "COMPLIANCE"
    assert contents(found[0].path) == contents(packs[0])


# --- on disk ------------------------------------------------------------------------------------------


def test_folders_are_searched_at_any_depth_but_never_inside_a_pack(tmp_path, monkeypatch):
    root = tmp_path / "evidence"
    first = make_pack(root / "prod" / "2026" / WEEKS[0], WEEKS[0])
    second = make_pack(root / "staging" / WEEKS[1], WEEKS[1])
    make_pack(first / "shards" / "1", WEEKS[0])  # inside a pack: part of it, not a pack of its own
    (root / "empty" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)

    found = find_packs(["evidence/"], tmp_path / "unused")
    # Relative arguments, absolute sources: a sample run from elsewhere finds the pack again.
    assert found == [FoundPack(str(first.resolve()), first.resolve(), None),
                     FoundPack(str(second.resolve()), second.resolve(), None)]
    # A pack found twice (in a folder given, and named itself) is found once, as the first argument found it.
    assert find_packs(["evidence", str(second)], tmp_path / "unused") == found
    assert find_packs([f"evidence/prod/2026/{WEEKS[0]}"], tmp_path / "unused") == found[:1]
    assert not (tmp_path / "unused").exists()


@pytest.mark.parametrize("make, says", [
    (lambda path: None, "no such file or folder"),
    (lambda path: path.mkdir(), "no evidence pack in it or below it"),
    (lambda path: (path / "a" / "b").mkdir(parents=True), "no evidence pack in it or below it"),
    (lambda path: path.write_text("{}"), "not a folder"),
])
def test_a_missing_path_or_a_folder_without_packs_is_a_usage_error_naming_it(tmp_path, packs, make, says):
    given = tmp_path / "given"
    make(given)
    with pytest.raises(SourceError) as refused:
        find_packs([str(tmp_path / "reports"), str(given)], tmp_path / "unused")
    assert refused.value.exit_code == 4
    assert one_line(refused).startswith(f"{given}: {says}")


# --- permissions: the policy file ------------------------------------------------------------------


def test_the_reader_calls_exactly_what_its_policy_allows(published, tmp_path, calls, capsys):
    s3().create_bucket(Bucket="plain")
    publish(published[0], "s3://plain/weekly", "--no-lock")
    found = find_packs([f"s3://{BUCKET}/weekly", "s3://plain"], tmp_path / "downloads")
    fetch_pack(found[0].source, tmp_path / "again")
    assert calls, "no S3 call was recorded"
    assert {params["Bucket"] for _, params in calls} == {BUCKET, "plain"}
    used = set()
    for bucket in (BUCKET, "plain"):
        grants = policy_grants(READ_POLICY, bucket)
        for operation, params in calls:
            if params["Bucket"] == bucket:
                resource = f"arn:aws:s3:::{bucket}" + (f"/{params['Key']}" if "Key" in params else "")
                assert allowed((ACTIONS[operation], resource), grants), f"{operation} needs {ACTIONS[operation]} on {resource}"
                used.add(ACTIONS[operation])
    listed = {action for action, _ in policy_grants(READ_POLICY, BUCKET)}
    assert used == listed, f"in the policy but never needed: {sorted(listed - used)}"
    assert all(action.split(":", 1)[1].startswith(("Get", "List")) for action in listed)  # it reads, nothing else


# --- the README's scheduled collection ------------------------------------------------------------


def readme_section(title):
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n### {title}\n") + 1
    end = re.compile(r"^#{1,3} ", re.M).search(text, start + 1)
    return text[start:end.start() if end else len(text)]


def test_the_scheduled_collection_workflow_runs_the_action_then_publishes_its_pack(tmp_path, capsys):
    section = readme_section("Scheduled collection")
    blocks = re.findall(r"^```yaml\n(.*?)^```", section, re.S | re.M)
    assert len(blocks) == 1
    workflow = yaml.safe_load(blocks[0])
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    minute, hour, day, month, weekday = triggers["schedule"][0]["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit()  # weekly
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"]["id-token"] == "write"
    (job,) = workflow["jobs"].values()
    steps = job["steps"]

    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    (sweep,) = [step for step in steps if step.get("uses", "").split("@")[0].endswith("/rootguard")]
    assert set(sweep["with"]) <= set(action["inputs"])
    assert {name for name, spec in action["inputs"].items() if spec.get("required")} <= set(sweep["with"])
    outputs_read = re.findall(rf"steps\.{sweep['id']}\.outputs\.([\w-]+)", blocks[0])
    assert "pack" in outputs_read and set(outputs_read) <= set(action["outputs"])

    (publish_step,) = [step for step in steps if "rootguard publish" in step.get("run", "")]
    (artifact,) = [step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@")]
    credentials = [step for step in steps if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert len(credentials) == 2 and credentials[0]["with"]["role-to-assume"] != credentials[1]["with"]["role-to-assume"]
    order = [steps.index(step) for step in (credentials[0], sweep, credentials[1], publish_step)]
    assert order == sorted(order)  # the publishing role is taken after the sweep, for the publish alone
    pack = f"steps.{sweep['id']}.outputs.pack"
    for step in (credentials[1], publish_step, artifact):
        assert "!cancelled()" in step["if"] and pack in step["if"]  # a failing gate still publishes its pack
    assert pack in json.dumps(publish_step) and pack in artifact["with"]["path"]

    # The command's options are publish's own: parsed by rootguard, which stops at the missing pack before any request.
    command = shlex.split(publish_step["run"])
    arguments = command[command.index("publish"):]
    assert arguments[1] == "$PACK" and publish_step["env"]["PACK"] == f"${{{{ {pack} }}}}"
    assert rootguard([*arguments[:1], str(tmp_path / "no-pack"), *arguments[2:]]) == 4
    assert "no such folder" in capsys.readouterr().err
