"""Sign-offs: a reviewer's signed statement, bound to one pack's manifest, that leaves what the run wrote untouched."""

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from rootguard.cli import main as rootguard
from rootguard.evidence.pack import sha256_file, write_manifest
from rootguard.evidence.signing import fingerprint, load_key

STATEMENT = "Reviewed results.json and the population against the Q3 account list; no exceptions."


def small_pack(folder: Path, profile: str = "demo") -> Path:
    """A pack of a few files under a real manifest: a sign-off reads only the manifest and the hashes."""
    (folder / "evidence" / "123456789012").mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"profile": profile, "results": []}))
    (folder / "report.html").write_text("<html><body>report</body></html>")
    (folder / "population.json").write_text(json.dumps({"accounts": [{"id": "123456789012", "in_scope": True}]}))
    (folder / "evidence" / "123456789012" / "iam.json").write_text("{}")
    write_manifest(folder, {"profile": profile, "started_at": "2026-09-30T08:00:00Z", "complete": True})
    return folder


@pytest.fixture
def keys(tmp_path):
    """keys[name] -> (private, public) PEM paths, made by `rootguard keygen` as a reviewer would."""
    made = {}
    for name in ("reviewer", "approver", "stranger"):
        private, public = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
        assert rootguard(["keygen", "--private", str(private), "--public", str(public)]) == 0
        made[name] = (private, public)
    return made


@pytest.fixture
def pack(tmp_path):
    return small_pack(tmp_path / "pack")


def sign_off(pack: Path, private: Path, reviewer: str = "Ana Diaz <ana.diaz@example.com>", *reviewed: str) -> int:
    args = ["signoff", str(pack), "--key", str(private), "--reviewer", reviewer, "--statement", STATEMENT]
    return rootguard(args + (["--reviewed", *reviewed] if reviewed else []))


def only_signoff(pack: Path) -> Path:
    [path] = sorted((pack / "signoffs").glob("*.json"))
    return path


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_signoff_on_a_signed_demo_pack_is_listed_checked_and_changes_nothing_the_run_wrote(demo_pack, keys, tmp_path, capsys):
    copy = tmp_path / "demo"
    shutil.copytree(demo_pack, copy)
    run_private, run_public = tmp_path / "run.pem", tmp_path / "run.pub.pem"
    rootguard(["keygen", "--private", str(run_private), "--public", str(run_public)])
    assert rootguard(["sign", str(copy), "--key", str(run_private)]) == 0
    manifest, signature = (copy / "manifest.json").read_bytes(), (copy / "manifest.sig").read_bytes()
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    assert sign_off(copy, keys["reviewer"][0], "Ana Diaz <ana.diaz@example.com>", "results.json", "report.html", "population") == 0
    assert "signed off by Ana Diaz <ana.diaz@example.com>" in capsys.readouterr().out

    assert (copy / "manifest.json").read_bytes() == manifest and (copy / "manifest.sig").read_bytes() == signature
    content = json.loads(only_signoff(copy).read_text())["signoff"]
    assert content["reviewer"] == "Ana Diaz <ana.diaz@example.com>"
    assert content["reviewed"] == ["results.json", "report.html", "population"]
    assert content["statement"] == STATEMENT
    assert content["manifest_sha256"] == sha256_file(copy / "manifest.json")
    assert content["public_key"] == fingerprint(load_key(keys["reviewer"][1], private=False))
    signed_at = dt.datetime.strptime(content["signed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    assert before <= signed_at <= dt.datetime.now(dt.timezone.utc)
    assert only_signoff(copy).name == f"{signed_at:%Y%m%dT%H%M%SZ}-{content['public_key'][:16]}.json"

    assert rootguard(["verify", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "added:" not in out
    assert f"Ana Diaz <ana.diaz@example.com>, {content['signed_at']}, reviewed results.json, report.html, population" in out
    assert repr(STATEMENT) in out and "; bound to this manifest;" in out
    assert "signature not checked (no key given" in out
    assert "1 sign-off bound to this manifest, signatures not checked: give --signoff-key PUBLIC.pem" in out

    assert rootguard(["verify", str(copy), "--key", str(run_public), "--signoff-key", str(keys["reviewer"][1])]) == 0
    out = capsys.readouterr().out
    assert f"signature valid, by key {content['public_key'][:16]}..." in out
    assert "; signature valid, by key" in out.splitlines()[-1] and "1 sign-off bound to this manifest, signatures valid" in out


def test_reviewer_then_approver_both_listed_and_each_checked_against_its_key(pack, keys, capsys):
    assert sign_off(pack, keys["reviewer"][0], "Ana Diaz <ana.diaz@example.com>", "results.json") == 0
    assert sign_off(pack, keys["approver"][0], "Bo Lind <bo.lind@example.com>") == 0
    assert len(list((pack / "signoffs").glob("*.json"))) == 2
    capsys.readouterr()

    both = ["--signoff-key", str(keys["reviewer"][1]), "--signoff-key", str(keys["approver"][1])]
    assert rootguard(["verify", str(pack), *both]) == 0
    out = capsys.readouterr().out
    assert "Ana Diaz <ana.diaz@example.com>" in out and "reviewed results.json" in out
    assert "Bo Lind <bo.lind@example.com>" in out and "reviewed the whole pack" in out
    assert out.count("signature valid, by key") == 2
    assert "2 sign-offs bound to this manifest, signatures valid" in out

    # Given only the reviewer's key, the approver's sign-off is by a key the verifier does not trust.
    assert rootguard(["verify", str(pack), "--signoff-key", str(keys["reviewer"][1])]) == 1
    out = capsys.readouterr().out
    approver = fingerprint(load_key(keys["approver"][1], private=False))
    assert f"signature NOT valid: signed by key {approver[:16]}..., which is not a --signoff-key given" in out
    assert "FAILED, sign-off signoffs/" in out.splitlines()[-1]


def test_a_changed_statement_is_caught_with_or_without_a_key(pack, keys, capsys):
    sign_off(pack, keys["reviewer"][0])
    path = only_signoff(pack)
    document = json.loads(path.read_text())
    document["signoff"]["statement"] = "Reviewed everything; no exceptions at all."
    path.write_text(json.dumps(document, indent=2))
    capsys.readouterr()
    for extra in ([], ["--signoff-key", str(keys["reviewer"][1])]):
        assert rootguard(["verify", str(pack), *extra]) == 1
        out = capsys.readouterr().out
        assert "'Reviewed everything; no exceptions at all.'" in out  # listed as it now reads ...
        assert "FAILED, sign-off signoffs/" in out and "the sign-off was changed after it was signed" in out.splitlines()[-1]


def test_a_sign_off_that_is_no_longer_json_is_caught(pack, keys, capsys):
    sign_off(pack, keys["reviewer"][0])
    path = only_signoff(pack)
    path.write_text(path.read_text()[:-20])
    capsys.readouterr()
    assert rootguard(["verify", str(pack)]) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert f"FAILED, sign-off signoffs/{path.name}: unreadable sign-off" in last


def test_a_sign_off_copied_onto_another_pack_is_not_bound_to_it(pack, keys, tmp_path, capsys):
    sign_off(pack, keys["reviewer"][0])
    other = small_pack(tmp_path / "other", profile="prod")
    (other / "signoffs").mkdir()
    shutil.copy2(only_signoff(pack), other / "signoffs")
    capsys.readouterr()
    assert rootguard(["verify", str(other), "--signoff-key", str(keys["reviewer"][1])]) == 1
    out = capsys.readouterr().out
    assert "; NOT bound to this manifest; signature valid" in out
    assert "not bound to this manifest (signed for another pack" in out.splitlines()[-1]
    assert rootguard(["verify", str(pack), "--signoff-key", str(keys["reviewer"][1])]) == 0


def test_a_rewritten_manifest_unbinds_the_sign_off(pack, keys, capsys):
    sign_off(pack, keys["reviewer"][0])
    (pack / "results.json").write_text(json.dumps({"profile": "demo", "results": [{"outcome": "passed"}]}))
    manifest = json.loads((pack / "manifest.json").read_text())
    write_manifest(pack, {k: v for k, v in manifest.items() if k not in ("files", "pack_format", "algorithm")})
    capsys.readouterr()
    assert rootguard(["verify", str(pack)]) == 1  # the hashes alone are fooled; the sign-off is not
    assert "not bound to this manifest" in capsys.readouterr().out.splitlines()[-1]


def test_a_wrong_public_key_fails(pack, keys, capsys):
    sign_off(pack, keys["reviewer"][0])
    capsys.readouterr()
    assert rootguard(["verify", str(pack), "--signoff-key", str(keys["stranger"][1])]) == 1
    out = capsys.readouterr().out
    assert "signature NOT valid: signed by key" in out and "FAILED" in out.splitlines()[-1]


def test_signoff_key_with_no_sign_offs_fails(pack, keys, capsys):
    assert rootguard(["verify", str(pack), "--signoff-key", str(keys["reviewer"][1])]) == 1
    assert "FAILED, no sign-offs in signoffs/ to check with --signoff-key" in capsys.readouterr().out


def test_a_pack_that_does_not_verify_is_refused(pack, keys, capsys):
    (pack / "report.html").write_text("<html><body>edited</body></html>")
    capsys.readouterr()
    assert sign_off(pack, keys["reviewer"][0]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"{pack} does not match its manifest; run `rootguard verify {pack}`" in line
    assert not (pack / "signoffs").exists()


def test_missing_key_file_or_pack_folder_is_one_line_and_exit_4(pack, keys, tmp_path, capsys):
    capsys.readouterr()
    assert sign_off(pack, tmp_path / "nowhere.pem") == 4
    assert f"{tmp_path / 'nowhere.pem'}: no such file; give the reviewer's private key" in one_line(capsys.readouterr().err)
    assert sign_off(tmp_path / "no-pack", keys["reviewer"][0]) == 4
    assert f"{tmp_path / 'no-pack'}: no such folder; give the evidence pack's folder" in one_line(capsys.readouterr().err)
    assert rootguard(["verify", str(pack), "--signoff-key", str(tmp_path / "nowhere.pub.pem")]) == 4
    assert "nowhere.pub.pem: no such file" in one_line(capsys.readouterr().err)
    assert not (pack / "signoffs").exists()


def test_reviewer_and_reviewed_items_are_checked_before_signing(pack, keys, capsys):
    with pytest.raises(SystemExit) as exited:
        sign_off(pack, keys["reviewer"][0], "Ana")
    assert exited.value.code == 2
    assert "give 'Name <email>'" in capsys.readouterr().err
    assert sign_off(pack, keys["reviewer"][0], "Ana Diaz <ana.diaz@example.com>", "reslts.json") == 2
    assert "--reviewed reslts.json: no such file or folder in the pack's manifest" in one_line(capsys.readouterr().err)
    assert not (pack / "signoffs").exists()
    assert sign_off(pack, keys["reviewer"][0], "Ana Diaz <ana.diaz@example.com>", "evidence/", "manifest.json") == 0


def test_only_sign_off_files_are_outside_the_manifest(pack, keys, capsys):
    sign_off(pack, keys["reviewer"][0])
    (pack / "signoffs" / "notes.txt").write_text("not a sign-off")
    capsys.readouterr()
    assert rootguard(["verify", str(pack)]) == 1
    out = capsys.readouterr().out
    assert "added: signoffs/notes.txt" in out and "added: signoffs/2" not in out


def test_export_will_not_rewrite_the_manifest_of_a_signed_off_pack(pack, keys, capsys):
    sign_off(pack, keys["reviewer"][0])
    manifest = (pack / "manifest.json").read_bytes()
    capsys.readouterr()
    assert rootguard(["export", str(pack), "--export", "csv"]) == 2
    assert "is signed off" in one_line(capsys.readouterr().err)
    assert (pack / "manifest.json").read_bytes() == manifest
