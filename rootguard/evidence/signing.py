"""Signed packs: an Ed25519 signature over manifest.json, so a pack edited and re-hashed is caught too.

The manifest's hashes catch a changed file; they do not catch someone who changes a
file and writes a new manifest. `rootguard sign PACK --key PRIVATE.pem` signs the
manifest's exact bytes into manifest.sig; `rootguard verify PACK --key PUBLIC.pem`
checks that signature as well as every hash.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from rootguard.evidence.pack import MANIFEST, SIGNATURE, PackError, write_json_atomic


def generate_key(private_path: Path, public_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private_path.chmod(0o600)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def load_key(path: Path, private: bool):
    """An Ed25519 key from a PEM file; anything else is a one-line PackError, so a wrong key file is a message, not a traceback."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path}: cannot read the key ({exc.strerror or exc})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None) if private else serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise PackError(f"{path}: not a PEM {'private' if private else 'public'} key ({exc})") from None
    expected = Ed25519PrivateKey if private else Ed25519PublicKey
    if not isinstance(key, expected):
        raise PackError(f"{path}: not an Ed25519 key")
    return key


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b16encode(raw).decode().lower()


def key_of_fingerprint(text: str) -> Ed25519PublicKey:
    """The public key a fingerprint names: an Ed25519 fingerprint here is the whole raw key, so a
    signed file that records it can be checked for changes without the signer's PEM file."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except (ValueError, TypeError) as exc:
        raise PackError(f"{text!r} is not an Ed25519 public key fingerprint ({exc})") from None


def sign_pack(pack: Path, private_key_path: Path) -> str:
    key = load_key(private_key_path, private=True)
    manifest = (pack / MANIFEST).read_bytes()
    document = {
        "algorithm": "ed25519",
        "signed_file": MANIFEST,
        "public_key": fingerprint(key.public_key()),
        "signature": base64.b64encode(key.sign(manifest)).decode(),
    }
    write_json_atomic(pack / SIGNATURE, document)
    return document["public_key"]


def check_signature(pack: Path, public_key_path: Path) -> str:
    """The signer's key fingerprint if manifest.sig is a valid signature by this key; else PackError."""
    key = load_key(public_key_path, private=False)
    path = pack / SIGNATURE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        signature = base64.b64decode(document["signature"], validate=True)
    except FileNotFoundError:
        raise PackError(f"{path}: the pack is not signed") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PackError(f"{path}: unreadable signature ({exc})") from None
    try:
        key.verify(signature, (pack / MANIFEST).read_bytes())
    except InvalidSignature:
        raise PackError(f"{path}: the signature does not match manifest.json for this key: the manifest was changed or signed by another key") from None
    return fingerprint(key)
