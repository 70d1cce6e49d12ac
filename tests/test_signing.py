"""Signed packs: a pack edited and re-hashed passes the hash check but not the signature."""

import json
import shutil

import pytest

from rootguard.cli import main as rootguard
from rootguard.evidence.pack import write_manifest


@pytest.fixture
def pack(demo_pack):
    return demo_pack


def test_sign_then_verify_with_the_public_key(pack, tmp_path, capsys):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    assert rootguard(["keygen", "--private", str(private), "--public", str(public)]) == 0
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    assert rootguard(["sign", str(copy), "--key", str(private)]) == 0
    assert (copy / "manifest.sig").is_file()
    assert rootguard(["verify", str(copy), "--key", str(public)]) == 0
    assert "signature valid, by key" in capsys.readouterr().out
    # Without the key, verify says that a signature is there and that it did not check it.
    assert rootguard(["verify", str(copy)]) == 0
    assert "a signature (manifest.sig) is present but NOT checked: give --key PUBLIC.pem to check it" in capsys.readouterr().out
    assert rootguard(["verify", str(pack)]) == 0
    assert "; not signed;" in capsys.readouterr().out


def test_edited_and_rehashed_pack_fails_the_signature(pack, tmp_path, capsys):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    rootguard(["keygen", "--private", str(private), "--public", str(public)])
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    rootguard(["sign", str(copy), "--key", str(private)])
    results = copy / "results.json"
    data = json.loads(results.read_text())
    data["results"][0]["outcome"] = "passed"
    results.write_text(json.dumps(data))
    manifest = json.loads((copy / "manifest.json").read_text())
    write_manifest(copy, {k: v for k, v in manifest.items() if k not in ("files", "pack_format", "algorithm")})
    capsys.readouterr()
    assert rootguard(["verify", str(copy)]) == 0  # the hashes alone are fooled
    assert rootguard(["verify", str(copy), "--key", str(public)]) == 1
    assert "the signature does not match manifest.json" in capsys.readouterr().out


def test_wrong_key_unsigned_pack_and_bad_key_file(pack, tmp_path, capsys):
    keys = {}
    for name in ("a", "b"):
        keys[name] = (tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem")
        rootguard(["keygen", "--private", str(keys[name][0]), "--public", str(keys[name][1])])
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    assert rootguard(["verify", str(copy), "--key", str(keys["a"][1])]) == 1
    assert "the pack is not signed" in capsys.readouterr().out
    rootguard(["sign", str(copy), "--key", str(keys["a"][0])])
    assert rootguard(["verify", str(copy), "--key", str(keys["b"][1])]) == 1
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    assert rootguard(["sign", str(copy), "--key", str(junk)]) == 2
    assert "not a PEM private key" in capsys.readouterr().err
    assert rootguard(["keygen", "--private", str(keys["a"][0]), "--public", str(tmp_path / "x.pem")]) == 2
