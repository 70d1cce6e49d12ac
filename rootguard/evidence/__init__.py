"""Evidence: what a run read from AWS, and the pack that keeps it.

documents.py writes each fact's AWS calls as a JSON file (secrets redacted), pack.py the
hash manifest and its verification, signing.py the Ed25519 signature over the manifest,
signoff.py reviewers' signed sign-offs bound to it,
replay.py answers a re-run from a pack's recorded calls, merge.py joins the packs of a
sharded sweep.
"""
