"""Sign-offs: a reviewer's signed statement about an evidence pack, kept in it without changing what the run wrote.

`rootguard signoff PACK --key PRIVATE.pem --reviewer "Name <email>" --statement TEXT` writes
signoffs/<UTC time>-<key fingerprint prefix>.json: who, when, what they reviewed, what they
state, the SHA-256 of manifest.json (binding it to exactly that pack content) and their public
key, with an Ed25519 signature over all of it in the same file. signoffs/ is outside the
manifest, as manifest.sig is, so a reviewer and then an approver can each add one and the run's
files, manifest and signature stay byte for byte as they were.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from rootguard.evidence.pack import MANIFEST, SIGNOFFS, PackError, read_manifest, sha256_file, write_json_atomic
from rootguard.evidence.signing import fingerprint, key_of_fingerprint, load_key

SIGNOFF_FORMAT = 1
WHOLE_PACK = "the whole pack"
REVIEWER = re.compile(r"[^<>]*[^<>\s] <[^<>\s@]+@[^<>\s@]+>")
SIGNED_FIELDS = {"reviewer": str, "signed_at": str, "reviewed": list, "statement": str, "manifest_sha256": str, "public_key": str}


def reviewer_option(value: str) -> str:
    """--reviewer's value, checked when parsed: a sign-off must say who, in a form a reader can reach."""
    if not REVIEWER.fullmatch(value.strip()):
        raise argparse.ArgumentTypeError(f"{value!r}: give 'Name <email>', e.g. 'Ana Diaz <ana.diaz@example.com>'")
    return value.strip()


def statement_option(value: str) -> str:
    """--statement's value, checked when parsed: an empty statement signs off nothing."""
    if not value.strip():
        raise argparse.ArgumentTypeError("empty; say what you reviewed and what you conclude")
    return value.strip()


def signed_bytes(content: dict) -> bytes:
    """The bytes a sign-off's signature covers: its `signoff` object as canonical JSON (sorted keys,
    no spaces, ASCII only), which any JSON library reproduces, so the file stays readable and checkable."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def reviewed_items(items: list[str], manifest: dict) -> list[str]:
    """The reviewed items to record. One with a "." or "/" is a path and must be a file or folder the
    manifest lists, so a sign-off never names a file the pack does not hold; others (population,
    waivers) are topics. None given means the whole pack."""
    files = set(manifest["files"]) | {MANIFEST}
    for item in items:
        folder = item.rstrip("/") + "/"
        if ("." in item or "/" in item) and item not in files and not any(path.startswith(folder) for path in files):
            raise PackError(f"--reviewed {item}: no such file or folder in the pack's manifest; name one it lists, or a topic such as population")
    return list(dict.fromkeys(items)) or [WHOLE_PACK]


def sign_off(pack: Path, private_key_path: Path, reviewer: str, statement: str, reviewed: list[str]) -> Path:
    """Write a signed sign-off into a pack the caller has verified, and return its path.

    It never writes over a sign-off: each is a separate act by its reviewer.
    """
    key = load_key(private_key_path, private=True)
    manifest = read_manifest(pack)
    now = dt.datetime.now(dt.timezone.utc)
    public_key = fingerprint(key.public_key())
    content = {
        "signoff_format": SIGNOFF_FORMAT,
        "reviewer": reviewer,
        "signed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reviewed": reviewed_items(reviewed, manifest),
        "statement": statement,
        "manifest_sha256": sha256_file(pack / MANIFEST),
        "run": {"profile": manifest.get("profile"), "started_at": manifest.get("started_at")},
        "algorithm": "ed25519",
        "public_key": public_key,
    }
    path = pack / SIGNOFFS / f"{now:%Y%m%dT%H%M%SZ}-{public_key[:16]}.json"
    if path.exists():
        raise PackError(f"{path} exists: this key signed off this pack a moment ago; wait a second and sign off again")
    path.parent.mkdir(exist_ok=True)
    signature = base64.b64encode(key.sign(signed_bytes(content))).decode()
    write_json_atomic(path, {"signoff": content, "signature": signature})
    return path


def trusted_fingerprints(public_key_paths: list[Path]) -> set[str]:
    """The fingerprints of the public keys a verifier trusts for sign-offs (--signoff-key)."""
    return {fingerprint(load_key(path, private=False)) for path in public_key_paths}


def has_signoffs(pack: Path) -> bool:
    return any((pack / SIGNOFFS).glob("*.json"))


@dataclass(frozen=True)
class SignoffCheck:
    """One sign-off as verify reports it. `signature` is "valid", "NOT valid" or "not checked";
    `problem` is the one-line reason it does not hold, None when it does."""

    path: str
    content: dict
    bound: bool
    signature: str
    detail: str
    problem: str | None


def read_signoff(path: Path) -> tuple[dict, bytes]:
    """A sign-off file's signed content and signature; PackError when it is not one, as an edited file may not be."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        content, signature = document["signoff"], base64.b64decode(document["signature"], validate=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PackError(f"unreadable sign-off ({exc})") from None
    wrong = [name for name, kind in SIGNED_FIELDS.items() if not isinstance(content, dict) or not isinstance(content.get(name), kind)]
    if wrong:
        raise PackError(f"unreadable sign-off (missing or malformed: {', '.join(wrong)})")
    return content, signature


def signature_state(content: dict, signature: bytes, trusted: set[str]) -> tuple[str, str, str]:
    """The signature's verdict, what to print about it, and the fix when it fails. The key a sign-off
    names shows, with no key given, whether the file was changed since it was signed; only a key
    the verifier trusts shows who signed it."""
    key = content["public_key"]
    try:
        key_of_fingerprint(key).verify(signature, signed_bytes(content))
    except (InvalidSignature, PackError):
        return ("NOT valid", "signature NOT valid: the sign-off was changed after it was signed",
                "restore the reviewer's file, or have them sign off again")
    if not trusted:
        return "not checked", f"signature not checked (no key given: --signoff-key PUBLIC.pem); intact under the key it names, {key[:16]}...", ""
    if key not in trusted:
        return ("NOT valid", f"signature NOT valid: signed by key {key[:16]}..., which is not a --signoff-key given",
                "give that reviewer's public key with --signoff-key if you trust it, or remove the sign-off")
    return "valid", f"signature valid, by key {key[:16]}...", ""


def check_signoff(pack: Path, relative: str, manifest_sha256: str, trusted: set[str]) -> SignoffCheck:
    try:
        content, signature = read_signoff(pack / relative)
    except PackError as exc:
        return SignoffCheck(relative, {}, False, "NOT valid", str(exc), f"{relative}: {exc}; restore the reviewer's file, or remove it")
    bound = content["manifest_sha256"] == manifest_sha256
    verdict, detail, fix = signature_state(content, signature, trusted)
    problem = None
    if verdict == "NOT valid":
        problem = f"{relative}: {detail}; {fix}"
    elif not bound:
        problem = (f"{relative}: not bound to this manifest (signed for another pack, or before manifest.json was "
                   "rewritten); have the reviewer sign off this pack again")
    return SignoffCheck(relative, content, bound, verdict, detail, problem)


def check_signoffs(pack: Path, trusted: set[str]) -> list[SignoffCheck]:
    """Every sign-off of the pack, in time order (their names start with the UTC time), checked against its manifest and the trusted keys."""
    manifest_sha256 = sha256_file(pack / MANIFEST)
    paths = sorted(path for path in (pack / SIGNOFFS).glob("*.json") if path.is_file())
    return [check_signoff(pack, f"{SIGNOFFS}/{path.name}", manifest_sha256, trusted) for path in paths]
