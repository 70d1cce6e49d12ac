"""The `rootguard` command: sweep (`rootguard run`), then work with evidence packs (verify, sign, merge, export, report, publish).

`rootguard run --profile NAME` judges accounts, as `pytest --profile NAME` does; the rest is for what comes after:
`rootguard verify PACK` recomputes every hash of a pack against its manifest and checks its sign-offs,
`rootguard signoff PACK` adds a reviewer's signed sign-off,
`rootguard report PACK` builds the pack's Allure HTML report,
`rootguard publish PACK s3://BUCKET/PREFIX` puts a verified pack into an S3 bucket with Object Lock and
`rootguard ledger PACKS... --from DAY --to DAY` builds the view of an audit period from many packs and
`rootguard sample LEDGER --size N --seed S` re-performs a reproducible random sample of its verdicts.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from rootguard import __version__
from rootguard.reports.allure import allure_cli
from rootguard.reports.allure_html import build_html
from rootguard.evidence.pack import MANIFEST, SIGNATURE, SIGNOFFS, PackError, read_manifest, verify, write_manifest
from rootguard.evidence.signoff import reviewer_option, statement_option
from rootguard.reports.exports import export_names, export_option

HOW_TO_SWEEP = """\
A sweep runs the controls under pytest, from any folder:

  rootguard run --profile demo                the embedded moto demo organization (needs rootguard[demo])
  rootguard run --profile prod                profiles/prod.yaml: live AWS accounts
  rootguard run --profile PATH.yaml -n auto   any profile file, on several processes (pytest-xdist)

`rootguard run ARGS` is `python -m pytest ARGS`, and in a checkout `pytest --profile NAME` is the
same sweep. Each run writes an evidence pack (reports/<profile>/<time>/ under the folder it ran
in, or --report-dir); the other commands work on packs."""

SWEEP_OPTIONS = ("--profile", "--replay")


def latest_pack(reports: Path) -> Path | None:
    manifests = sorted(reports.glob(f"*/*/{MANIFEST}"), key=lambda p: p.stat().st_mtime)
    return manifests[-1].parent if manifests else None


def missing_path(command: str, path: Path, folder: bool, fix: str) -> int | None:
    """Exit 4 with one line when a file or folder the user named is not there, as keygen does, before any work."""
    present = path.is_dir() if folder else path.is_file()
    if present:
        return None
    print(f"rootguard {command}: {path}: no such {'folder' if folder else 'file'}; {fix}", file=sys.stderr)
    return 4


def describe_signoff(check) -> list[str]:
    """Two lines per sign-off: who signed off what and when, then what they state and whether it holds."""
    if not check.content:
        return [f"sign-off {check.path}: {check.detail}"]
    content = check.content
    bound = "bound to this manifest" if check.bound else "NOT bound to this manifest"
    return [
        f"sign-off {check.path}: {content['reviewer']}, {content['signed_at']}, reviewed {', '.join(map(str, content['reviewed']))}",
        f"  statement: {content['statement']!r}; {bound}; {check.detail}",
    ]


def signoff_summary(checks, trusted: set[str]) -> str:
    """The sign-offs' part of verify's OK line; empty without sign-offs, so that line reads as it always has."""
    if not checks:
        return ""
    count = f"{len(checks)} sign-off{'s' if len(checks) > 1 else ''} bound to this manifest"
    if trusted:
        return f"; {count}, signatures valid"
    return f"; {count}, signatures not checked: give --signoff-key PUBLIC.pem to check them"


def what_was_verified(manifest: dict, state: str) -> str:
    """The end of verify's OK line: what the folder is, from its manifest."""
    if manifest.get("kind") == "ledger":
        period = manifest.get("period") or {}
        return f"a ledger of {len(manifest.get('packs') or [])} pack(s), profile {manifest.get('profile')}, {period.get('from')} to {period.get('to')}"
    if manifest.get("kind") == "sample":
        return f"a sample of {manifest.get('size')} verdict(s), seed {manifest.get('seed')}, of the ledger {str(manifest.get('ledger_manifest_sha256'))[:16]}..."
    return f"run {state}, profile {manifest.get('profile')}, started {manifest.get('started_at')}"


def command_verify(args) -> int:
    from rootguard.evidence.signoff import check_signoffs, trusted_fingerprints

    pack = Path(args.pack)
    for key in args.signoff_key:
        code = missing_path("verify", Path(key), False, "give the reviewer's public key (the .pub.pem from `rootguard keygen`)")
        if code:
            return code
    trusted = trusted_fingerprints([Path(key) for key in args.signoff_key])
    checked = verify(pack)
    signer = None
    if args.key:
        from rootguard.evidence.signing import check_signature

        try:
            signer = check_signature(pack, Path(args.key))
        except PackError as exc:
            print(f"signature: {exc}")
            print(f"rootguard verify: {pack}: FAILED, signature not valid")
            return 1
    for kind in ("changed", "added", "missing"):
        for path in getattr(checked, kind):
            print(f"{kind}: {path}")
    signoffs = check_signoffs(pack, trusted)
    for check in signoffs:
        print("\n".join(describe_signoff(check)))
    manifest = checked.manifest
    state = "complete" if manifest.get("complete") else "INCOMPLETE (the run did not finish)"
    if not checked.ok:
        problems = len(checked.changed) + len(checked.added) + len(checked.missing)
        print(f"rootguard verify: {pack}: FAILED, {problems} file(s) differ from the manifest")
        return 1
    failing = [check.problem for check in signoffs if check.problem]
    if failing:
        more = f" (and {len(failing) - 1} more sign-off(s) listed above)" if len(failing) > 1 else ""
        print(f"rootguard verify: {pack}: FAILED, sign-off {failing[0]}{more}")
        return 1
    if trusted and not signoffs:
        print(f"rootguard verify: {pack}: FAILED, no sign-offs in {SIGNOFFS}/ to check with --signoff-key")
        return 1
    if signer:
        signed = f"; signature valid, by key {signer[:16]}..."
    elif (pack / SIGNATURE).exists():
        signed = "; a signature (manifest.sig) is present but NOT checked: give --key PUBLIC.pem to check it"
    else:
        signed = "; not signed"
    print(f"rootguard verify: {pack}: OK, {len(manifest['files'])} files match the manifest{signed}"
          f"{signoff_summary(signoffs, trusted)}; {what_was_verified(manifest, state)}")
    return 0


def command_sign(args) -> int:
    from rootguard.evidence.signing import sign_pack

    pack = Path(args.pack)
    checked = verify(pack)
    if not checked.ok:
        print(f"rootguard sign: {pack} does not match its manifest; run `rootguard verify {pack}`", file=sys.stderr)
        return 1
    key = sign_pack(pack, Path(args.key))
    print(f"rootguard sign: {pack / 'manifest.sig'}: signed by key {key[:16]}...")
    return 0


def command_signoff(args) -> int:
    from rootguard.evidence.signoff import sign_off

    pack, key = Path(args.pack), Path(args.key)
    code = missing_path("signoff", pack, True, "give the evidence pack's folder (reports/<profile>/<UTC time>/)") or missing_path(
        "signoff", key, False, "give the reviewer's private key (make a pair with `rootguard keygen`)"
    )
    if code:
        return code
    checked = verify(pack)
    if not checked.ok:
        # A sign-off vouches for what the run wrote; it must not vouch for a pack changed since.
        print(f"rootguard signoff: {pack} does not match its manifest; run `rootguard verify {pack}` and sign off an intact pack",
              file=sys.stderr)
        return 1
    path = sign_off(pack, key, args.reviewer, args.statement, args.reviewed)
    print(f"rootguard signoff: {path}: signed off by {args.reviewer}, bound to {pack / MANIFEST}; "
          f"`rootguard verify {pack} --signoff-key PUBLIC.pem` checks it")
    return 0


def command_keygen(args) -> int:
    from rootguard.evidence.signing import generate_key

    private, public = Path(args.private), Path(args.public)
    for path in (private, public):
        if path.exists():
            print(f"rootguard keygen: {path} exists; not overwriting a key", file=sys.stderr)
            return 2
        if not path.parent.is_dir():
            print(f"rootguard keygen: {path}: folder {path.parent} does not exist; make it first or choose another path", file=sys.stderr)
            return 4
    generate_key(private, public)
    print(f"rootguard keygen: private key {private} (keep it secret), public key {public} (give it to auditors)")
    return 0


def command_report(args) -> int:
    pack = Path(args.pack) if args.pack else latest_pack(Path(args.reports))
    if pack is None:
        print(f"rootguard report: no evidence pack under {args.reports}", file=sys.stderr)
        return 2
    checked = verify(pack)
    if not checked.ok:
        # Re-hashing a pack that was changed would launder the change.
        print(f"rootguard report: {pack} does not match its manifest; run `rootguard verify {pack}`", file=sys.stderr)
        return 1
    from rootguard.evidence.signoff import has_signoffs

    if not args.output and ((pack / SIGNATURE).exists() or has_signoffs(pack)):
        # The report would join the manifest, which the signature and any sign-off are bound to.
        print(f"rootguard report: {pack} is signed or signed off; adding the report would change its manifest and void them: "
              f"build it outside the pack with --output DIR, or build it and sign again (`rootguard sign {pack} --key PRIVATE.pem`)",
              file=sys.stderr)
        return 4
    command = allure_cli(Path(args.root))
    if command is None:
        print("rootguard report: the Allure command line is not installed; run `make report` (npm ci) first", file=sys.stderr)
        return 2
    if args.output:
        status = build_html(command, pack, into=Path(args.output))
        if not status["html_built"]:
            print(f"rootguard report: {status['reason']}", file=sys.stderr)
            return 1
        print(f"rootguard report: {Path(args.output) / status['html']} (outside the pack; its manifest is unchanged)")
        return 0
    status = build_html(command, pack)
    manifest = checked.manifest
    metadata = {k: v for k, v in manifest.items() if k not in ("files", "pack_format", "algorithm")}
    # Keep what the run recorded about allure-results; replace what an earlier build said.
    earlier = {k: v for k, v in (manifest.get("allure_report") or {}).items() if k in ("results",)}
    metadata["allure_report"] = {**earlier, **status}
    write_manifest(pack, metadata)
    if not status["html_built"]:
        print(f"rootguard report: {status['reason']}", file=sys.stderr)
        return 1
    print(f"rootguard report: {pack / status['html']}")
    return 0


def command_export(args) -> int:
    from rootguard.evidence.pack import sha256_file
    from rootguard.reports.exports import export_pack

    pack = Path(args.pack)
    written = export_pack(pack, args.export, Path(args.output) if args.output else None)
    for path in written:
        print(f"{path}  sha256 {sha256_file(path)}")
    where = f"into {args.output}" if args.output else f"into {pack}, and its manifest covers them"
    print(f"rootguard export: {len(written)} export(s) written {where}")
    return 0


def command_merge(args) -> int:
    from rootguard.evidence.merge import merge_packs

    document = merge_packs([Path(p) for p in args.packs], Path(args.output))
    missing = document.get("missing_shards")
    if missing:
        state = f"INCOMPLETE: shard(s) {', '.join(missing)} not among the packs"
    else:
        state = "complete" if document["complete"] else "INCOMPLETE (a shard did not finish)"
    print(
        f"rootguard merge: {args.output}: {len(document['results'])} results from {len(args.packs)} packs, "
        f"{len(document['accounts'])} accounts; {state}"
    )
    # An incomplete sweep is exit 2, as for a run that did not finish: a pipeline must not read it as a pass.
    return 0 if document["complete"] else 2


def command_publish(args) -> int:
    import datetime as dt

    from rootguard.evidence.publish import (
        READ_BACK_DIFFERS, USAGE, PublishError, Publisher, files_to_publish, pack_refusal, retention_asked, s3_client,
    )

    pack = Path(args.pack)
    code = missing_path("publish", pack, True, "give the evidence pack's folder (reports/<profile>/<UTC time>/)")
    if args.key and not code:
        code = missing_path("publish", Path(args.key), False, "give the run signer's public key (the .pub.pem from `rootguard keygen`)")
    if code:
        return code
    try:
        retention = retention_asked(args.no_lock, args.retain_days, args.retain_until, args.mode, dt.datetime.now(dt.timezone.utc))
    except PublishError as exc:
        print(f"rootguard publish: {exc}", file=sys.stderr)
        return exc.exit_code
    refusal = pack_refusal(pack, Path(args.key) if args.key else None)
    if refusal:
        # What goes into the bucket is kept for years and cannot be taken back: only a pack as its run wrote it.
        print(f"rootguard publish: {pack}: {refusal}; nothing uploaded", file=sys.stderr)
        return 1
    files = files_to_publish(pack, read_manifest(pack))
    try:
        publisher = Publisher(s3_client(args.aws_profile, args.region, args.endpoint_url), args.destination, pack, retention)
        if retention is not None and not publisher.object_lock_enabled():
            print(f"rootguard publish: bucket {args.destination.bucket} does not have Object Lock enabled, so the pack could be "
                  "deleted or written over there; publish to a bucket created with Object Lock, or give --no-lock to upload "
                  "without it; nothing uploaded", file=sys.stderr)
            return USAGE
        published = publisher.publish(files)
    except PublishError as exc:
        print(f"rootguard publish: {exc}", file=sys.stderr)
        return exc.exit_code
    for problem in published.problems:
        print(f"rootguard publish: {problem}", file=sys.stderr)
    if published.problems:
        return READ_BACK_DIFFERS
    lock = f"locked {published.retention}" if published.retention else "not locked (--no-lock)"
    print(f"rootguard publish: {pack}: {published.objects} objects in {published.folder}, each read back with the "
          f"manifest's SHA-256; {lock}")
    return 0


def day_option(value: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a day as YYYY-MM-DD") from None


def cadence_option(value: str) -> str:
    from rootguard.ledger.build import cadence_days

    try:
        cadence_days(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def command_ledger(args) -> int:
    import tempfile

    from rootguard.ledger.build import LedgerError, Period, build_ledger, prepare_output
    from rootguard.ledger.sources import SourceError, find_packs

    for option, value in (("--key", args.key), ("--sign-key", args.sign_key)):
        code = value and missing_path("ledger", Path(value), False, f"give the {option} file (made by `rootguard keygen`)")
        if code:
            return code
    if importlib.util.find_spec("matplotlib") is None:
        print("rootguard ledger: the ledger's trend charts need matplotlib: pip install 'rootguard[ledger]'", file=sys.stderr)
        return 4
    output = Path(args.output)
    try:
        period = Period(args.from_day, args.to_day, args.cadence)
        prepare_output(output)
        with tempfile.TemporaryDirectory(prefix="rootguard-ledger-") as downloads:
            found = find_packs(args.sources, Path(downloads), aws_profile=args.aws_profile, region=args.region,
                               endpoint_url=args.endpoint_url)
            built = build_ledger(found, period, output, key=Path(args.key) if args.key else None,
                                 sign_key=Path(args.sign_key) if args.sign_key else None, profile=args.profile)
    except (LedgerError, SourceError) as exc:
        if output.is_dir() and not any(output.iterdir()):
            output.rmdir()
        print(f"rootguard ledger: {exc}", file=sys.stderr)
        return exc.exit_code
    document = built.document
    for entry in built.rejected:
        print(f"rejected: {entry['source']}: {entry['reason']}")
    cadence = document["period"]["cadence"]
    gaps = f"{len(built.long_gaps)} gap(s) between runs longer than the cadence {cadence}" if cadence else "gaps not judged (no --cadence)"
    signed = f"; signed by key {built.signed_by[:16]}..." if built.signed_by else ""
    print(f"rootguard ledger: {output}: {len(document['runs'])} run(s) of profile {document['profile']} from "
          f"{document['period']['from']} to {document['period']['to']}; {len(built.rejected)} pack(s) rejected; {gaps}; "
          f"{len(document['open_failures'])} failure(s) open at the end; {len(built.files)} files in its manifest{signed}")
    # 1: the ledger is written, but the evidence itself falls short: a pack that failed verification, or a missed run.
    return 1 if built.rejected or built.long_gaps else 0


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a number of 1 or more")
    return number


def seed_option(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number, recorded so the draw can be repeated") from None


def command_sample(args) -> int:
    from rootguard.ledger.build import LedgerError
    from rootguard.ledger.sample import take_sample
    from rootguard.ledger.sources import fetch_pack

    for option, value in (("--key", args.key), ("--sign-key", args.sign_key)):
        code = value and missing_path("sample", Path(value), False, f"give the {option} file (made by `rootguard keygen`)")
        if code:
            return code

    def fetch(source: str, into: Path) -> Path:
        return fetch_pack(source, into, aws_profile=args.aws_profile, region=args.region, endpoint_url=args.endpoint_url).path

    output = Path(args.output)
    try:
        sample = take_sample(Path(args.ledger), args.size, args.seed, output, fetch,
                             key=Path(args.key) if args.key else None, sign_key=Path(args.sign_key) if args.sign_key else None)
    except LedgerError as exc:
        print(f"rootguard sample: {exc}", file=sys.stderr)
        return exc.exit_code
    for record in sample["verdicts"]:
        if not record["agreed"]:
            print(f"not agreed: {record['started_at']} {record['control']} {record['account_id']}"
                  f"{' ' + record['region'] if record['region'] else ''}: {record['problem']}")
    print(f"rootguard sample: {output}: {sample['draw']['size']} of {sample['population']['size']} verdicts drawn with seed "
          f"{sample['draw']['seed']}; {sample['agreed']} re-performed and agreed, {sample['disagreed_or_not_reperformed']} not")
    return 0 if sample["disagreed_or_not_reperformed"] == 0 else 1


def command_run(pytest_args: list[str]) -> int:
    """Sweep: pytest with rootguard's controls and these arguments (the plugin supplies the controls)."""
    import pytest

    if not any(arg == option or arg.startswith(option + "=") for arg in pytest_args for option in SWEEP_OPTIONS):
        print("rootguard run: give --profile NAME|PATH (or --replay PACK); `rootguard run --profile demo` "
              "sweeps the demo organization", file=sys.stderr)
        return 4
    return int(pytest.main(pytest_args))


def bucket_reader_options(command: argparse.ArgumentParser) -> None:
    """How ledger and sample reach packs in an evidence bucket (s3://BUCKET/PREFIX)."""
    command.add_argument("--aws-profile", metavar="NAME", help="the named AWS profile that reads packs from s3://")
    command.add_argument("--region", metavar="R", help="the evidence bucket's region")
    command.add_argument("--endpoint-url", metavar="URL", help="send the S3 calls here instead of AWS (a moto server)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"] and argv[1:2] not in (["-h"], ["--help"]):
        # Everything after `run` is pytest's, so argparse does not see it.
        return command_run(argv[1:])
    # Imported past `run`: a sweep never loads the code that writes to AWS.
    from rootguard.evidence.publish import DEFAULT_RETAIN_DAYS, MODES, destination_option, retain_days_option, retain_until_option

    parser = argparse.ArgumentParser(prog="rootguard", description=HOW_TO_SWEEP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rootguard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="sweep: run the controls with pytest (rootguard run --profile NAME|PATH [pytest options])",
        description=HOW_TO_SWEEP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check = commands.add_parser("verify", help="recompute a pack's hashes and list changed, added and missing files, then list and check its sign-offs")
    check.add_argument("pack")
    check.add_argument("--key", metavar="PUBLIC.pem", help="also check manifest.sig against this Ed25519 public key")
    check.add_argument(
        "--signoff-key", metavar="PUBLIC.pem", action="append", default=[],
        help="check the sign-offs' signatures: each must be by one of these reviewers' public keys (repeat for several)",
    )
    check.set_defaults(handler=command_verify)
    sign = commands.add_parser("sign", help="sign a verified pack's manifest with an Ed25519 private key")
    sign.add_argument("pack")
    sign.add_argument("--key", metavar="PRIVATE.pem", required=True)
    sign.set_defaults(handler=command_sign)
    signoff = commands.add_parser("signoff", help="attach a reviewer's signed sign-off to a verified pack (the run's files stay as they are)")
    signoff.add_argument("pack")
    signoff.add_argument("--key", metavar="PRIVATE.pem", required=True, help="the reviewer's Ed25519 private key")
    signoff.add_argument("--reviewer", required=True, type=reviewer_option, metavar='"NAME <EMAIL>"')
    signoff.add_argument("--statement", required=True, type=statement_option, metavar="TEXT", help="what was reviewed and concluded")
    signoff.add_argument(
        "--reviewed", nargs="+", action="extend", default=[], metavar="ITEM",
        help="what was reviewed: files or folders of the pack (results.json, evidence/) or topics (population); default: the whole pack",
    )
    signoff.set_defaults(handler=command_signoff)
    keygen = commands.add_parser("keygen", help="make an Ed25519 key pair for signing packs")
    keygen.add_argument("--private", default="rootguard-signing.pem")
    keygen.add_argument("--public", default="rootguard-signing.pub.pem")
    keygen.set_defaults(handler=command_keygen)
    report = commands.add_parser("report", help="build the Allure HTML report of a pack (default: the newest)")
    report.add_argument("pack", nargs="?")
    report.add_argument("--reports", default="reports", help="where to look for the newest pack (default: reports)")
    report.add_argument("--root", default=".", help="the folder holding node_modules/ (default: .)")
    report.add_argument("--output", "-o", metavar="DIR", help="write the report here and leave the pack as it is (needed for a signed pack)")
    report.set_defaults(handler=command_report)
    export = commands.add_parser("export", help="write a pack's exchange formats (CSV, Excel, OSCAL, OCSF) from its results")
    export.add_argument("pack")
    export.add_argument(
        "--export", type=export_option, default=tuple(export_names()), metavar="LIST",
        help=f"which: {', '.join(export_names())}, comma-separated, or all (default)",
    )
    export.add_argument("--output", "-o", metavar="DIR", help="write them here, leaving the pack as it is (needed for a signed pack)")
    export.set_defaults(handler=command_export)
    merge = commands.add_parser("merge", help="combine the packs of one sharded sweep into one pack")
    merge.add_argument("packs", nargs="+")
    merge.add_argument("--output", "-o", required=True, help="the new pack's folder (must be empty or missing)")
    merge.set_defaults(handler=command_merge)
    publish = commands.add_parser(
        "publish", help="upload a verified pack to an S3 bucket with Object Lock, then read it back against the manifest",
    )
    publish.add_argument("pack")
    publish.add_argument("destination", type=destination_option, metavar="s3://BUCKET/PREFIX",
                         help="the evidence bucket and the prefix the pack's folder goes under")
    publish.add_argument("--retain-days", type=retain_days_option, metavar="N",
                         help=f"lock every object for N days from now (default: {DEFAULT_RETAIN_DAYS})")
    publish.add_argument("--retain-until", type=retain_until_option, metavar="YYYY-MM-DD",
                         help="lock every object until the start of this day, UTC")
    publish.add_argument("--mode", type=str.lower, choices=MODES,
                         help="the Object Lock mode (default: governance; compliance cannot be shortened or removed by anyone, root included)")
    publish.add_argument("--no-lock", action="store_true", help="upload to a bucket without Object Lock: no retention at all")
    publish.add_argument("--aws-profile", metavar="NAME", help="the named AWS profile to publish with (default: the standard boto3 chain)")
    publish.add_argument("--region", metavar="R", help="the bucket's region (default: the profile's or the environment's)")
    publish.add_argument("--endpoint-url", metavar="URL", help="send the S3 calls here instead of AWS (a moto server, LocalStack)")
    publish.add_argument("--key", metavar="PUBLIC.pem", help="also check manifest.sig against this Ed25519 public key first")
    publish.set_defaults(handler=command_publish)
    ledger = commands.add_parser(
        "ledger", help="verify many packs and build the audit period's view: timelines, coverage, waivers, frameworks, trends",
    )
    ledger.add_argument("sources", nargs="+", metavar="PACK_OR_FOLDER",
                        help="packs, folders holding packs at any depth, or s3://BUCKET/PREFIX where `rootguard publish` put them")
    ledger.add_argument("--from", dest="from_day", required=True, type=day_option, metavar="YYYY-MM-DD", help="the period's first day (UTC)")
    ledger.add_argument("--to", dest="to_day", required=True, type=day_option, metavar="YYYY-MM-DD", help="the period's last day (UTC)")
    ledger.add_argument("--cadence", type=cadence_option, metavar="DURATION",
                        help="how often runs are due (7d, 2w, 24h, P7D): longer gaps are flagged; without it gaps are listed, not judged")
    ledger.add_argument("--key", metavar="PUBLIC.pem", help="also check every pack's manifest.sig against this public key; unsigned packs are rejected")
    ledger.add_argument("--sign-key", metavar="PRIVATE.pem", help="sign the ledger's manifest with this Ed25519 private key")
    ledger.add_argument("--profile", metavar="NAME", help="use only the packs of this profile (needed when the packs come from several)")
    ledger.add_argument("--output", "-o", required=True, metavar="DIR", help="the ledger's folder (must be empty or missing)")
    bucket_reader_options(ledger)
    ledger.set_defaults(handler=command_ledger)
    sample = commands.add_parser("sample", help="draw verdicts from a ledger at random, reproducibly, and re-perform each from its pack")
    sample.add_argument("ledger", metavar="LEDGER", help="the folder `rootguard ledger` wrote")
    sample.add_argument("--size", required=True, type=positive_int, metavar="N", help="how many verdicts to draw")
    sample.add_argument("--seed", required=True, type=seed_option, metavar="S", help="the random seed; the same seed draws the same sample")
    sample.add_argument("--output", "-o", required=True, metavar="DIR", help="the sample's folder (must be empty or missing)")
    sample.add_argument("--key", metavar="PUBLIC.pem", help="check the ledger's manifest.sig against this public key first")
    sample.add_argument("--sign-key", metavar="PRIVATE.pem", help="sign the sample's manifest with this Ed25519 private key")
    bucket_reader_options(sample)
    sample.set_defaults(handler=command_sample)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except PackError as exc:
        print(f"rootguard {args.command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file that cannot be read or written here: one line, not a traceback.
        print(f"rootguard {args.command}: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
