"""Merging packs: the shards of one sweep (`--shard I/N` in N CI jobs) become one pack with one manifest.

Each input pack is verified first (a changed pack is never merged), no account may
appear in two of them, and the merged results, framework matrix, JUnit and Allure
results are rebuilt from theirs; each shard's report.html is kept under shards/.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from types import SimpleNamespace

from rootguard import __version__
from rootguard.frameworks import load_catalogs
from rootguard.reports.controls_json import CONTROLS, population_sentence
from rootguard.reports.exports import PackData, exports, write_export
from rootguard.reports.framework_matrix import framework_matrix
from rootguard.reports.population import POPULATION, merge_population
from rootguard.reports.workpaper import write_workpaper
from rootguard.vocabulary import OUTCOMES
from rootguard.evidence.pack import MANIFEST, RESULTS, PackError, sha256_file, verify, write_json_atomic, write_manifest


def merge_packs(inputs: list[Path], output: Path) -> dict:
    if len(inputs) < 2:
        raise PackError("merge needs at least two packs")
    if output.exists() and any(output.iterdir()):
        raise PackError(f"{output}: not empty; merge writes a new pack")
    loaded = []
    for pack in inputs:
        checked = verify(pack)
        if not checked.ok:
            raise PackError(f"{pack}: {len(checked.changed) + len(checked.added) + len(checked.missing)} file(s) differ from its manifest")
        loaded.append((pack, json.loads((pack / RESULTS).read_text(encoding="utf-8")), checked.manifest))
    profiles = {data["profile"] for _, data, _ in loaded}
    if len(profiles) > 1:
        raise PackError(f"the packs come from different profiles ({', '.join(sorted(profiles))}); merge shards of one sweep")
    missing = missing_shards([data.get("shard") for _, data, _ in loaded])
    owner: dict[str, Path] = {}
    for pack, data, _ in loaded:
        for account in data["accounts"]:
            if account["account_id"] in owner:
                raise PackError(f"account {account['account_id']} is in both {owner[account['account_id']]} and {pack}")
            owner[account["account_id"]] = pack

    output.mkdir(parents=True, exist_ok=True)
    moved = merge_evidence([(pack, data) for pack, data, _ in loaded], owner, output)
    for index, (pack, data, _) in enumerate(loaded, start=1):
        if (pack / "allure-results").is_dir():
            shutil.copytree(pack / "allure-results", output / "allure-results", dirs_exist_ok=True)
        if (pack / "report.html").is_file():
            (output / "shards" / f"{index}").mkdir(parents=True, exist_ok=True)
            shutil.copy2(pack / "report.html", output / "shards" / f"{index}" / "report.html")
    merge_junit([pack / "junit.xml" for pack, _, _ in loaded], output / "junit.xml")

    first = loaded[0][1]
    read = {a["account_id"]: a for _, data, _ in loaded for a in data.get("read_accounts", []) if a["account_id"] not in owner}
    results = sorted(
        (entry for _, data, _ in loaded for entry in data["results"]),
        key=lambda r: (r["account_name"], r["account_id"], r["control"], r["region"] or ""),
    )
    counts = {outcome: sum(1 for r in results if r["outcome"] == outcome) for outcome in OUTCOMES}
    document = {
        "profile": first["profile"],
        "started_at": min(data["started_at"] for _, data, _ in loaded),
        "finished_at": max(data["finished_at"] or "" for _, data, _ in loaded) or None,
        "suite_version": __version__,
        "caller": first["caller"],
        "complete": all(data.get("complete") for _, data, _ in loaded) and not missing,
        "backend": first.get("backend"),
        "endpoint_url": first.get("endpoint_url"),
        "operator": first.get("operator"),
        **({"context": merged_context(loaded, missing)} if first.get("context") else {}),
        "caller_identity": first.get("caller_identity"),
        "settings": first.get("settings"),
        "merged_from": [
            {
                "pack": str(pack),
                "shard": data.get("shard"),
                "started_at": data["started_at"],
                "complete": data.get("complete"),
                "suite_version": data.get("suite_version"),
                "manifest_sha256": sha256_file(pack / MANIFEST),
            }
            for pack, data, _ in loaded
        ],
        "accounts": sorted((a for _, data, _ in loaded for a in data["accounts"]), key=lambda a: (a["account_name"], a["account_id"])),
        **({"read_accounts": [read[key] for key in sorted(read)]} if read else {}),
        **({"missing_shards": missing} if missing else {}),
        "waivers": merge_waiver_usage([data.get("waivers") or [] for _, data, _ in loaded]),
        "counts": counts,
        "results": results,
    }
    write_json_atomic(output / RESULTS, document)
    populations = [(json.loads((pack / POPULATION).read_text(encoding="utf-8")), moved[pack])
                   for pack, _, _ in loaded if (pack / POPULATION).is_file()]
    merged_population = merge_population(populations, document["complete"])
    if merged_population is not None:
        write_json_atomic(output / POPULATION, merged_population)
    write_json_atomic(output / "framework-matrix.json", framework_matrix([as_result(r) for r in results], load_catalogs()))
    controls: dict[str, dict] = {}
    for pack, _, _ in loaded:
        if (pack / CONTROLS).is_file():
            for entry in json.loads((pack / CONTROLS).read_text(encoding="utf-8"))["controls"]:
                known = controls.setdefault(entry["id"], entry)
                if known is not entry and "api_calls" in entry.get("procedure", {}):
                    # Each shard called what its accounts needed: the sweep called all of it.
                    known["procedure"]["api_calls"] = sorted({*known["procedure"].get("api_calls", []), *entry["procedure"]["api_calls"]})
    if controls:
        judged: dict[str, set] = {}
        for entry in results:
            judged.setdefault(entry["control"], set()).add(entry["account_id"])
        for key, entry in controls.items():
            if "population" in entry.get("procedure", {}):
                entry["procedure"]["population"] = population_sentence(entry["procedure"]["scope"] != "each account", len(judged.get(key, ())))
        write_json_atomic(output / CONTROLS, {"controls": [controls[key] for key in sorted(controls)]})
    write_workpaper(output)
    data = PackData(output)
    written = {export.name: write_export(export((), None), data, output) for export in exports()}
    write_manifest(
        output,
        {
            "profile": document["profile"],
            "started_at": document["started_at"],
            "finished_at": document["finished_at"],
            "suite_version": __version__,
            "caller": document["caller"],
            "complete": document["complete"],
            "results": len(results),
            "merged_from": [entry["pack"] for entry in document["merged_from"]],
            "exports": {name: {"file": path.name, "media_type": export_media(name)} for name, path in written.items()},
        },
    )
    return document


def merged_context(loaded: list, missing: list[str]) -> dict:
    """The first shard's context, with the sweep's times and completeness, and each shard's own kept."""
    contexts = [data.get("context") or {} for _, data, _ in loaded]
    started = min(c.get("started_at") or "" for c in contexts) or None
    finished = max(c.get("finished_at") or "" for c in contexts) or None
    return {
        **contexts[0],
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": None,  # the shards ran side by side; each one's is under `shards`
        "complete": all(c.get("complete") for c in contexts) and not missing,
        "shard": None,
        "shards": [{"shard": c.get("shard"), "operator": c.get("operator"), "duration_seconds": c.get("duration_seconds"),
                    "suite": c.get("suite")} for c in contexts],
    }


def missing_shards(shards: list[str | None]) -> list[str]:
    """The shards of the sweep that are not among those merged ("3/3"); none when the packs are not shards."""
    given = [tuple(int(part) for part in shard.split("/")) for shard in shards if shard]
    if not given:
        return []
    totals = {total for _, total in given}
    if len(totals) > 1:
        raise PackError(f"the packs are shards of different splits ({', '.join(sorted(s for s in shards if s))}); merge the shards of one sweep")
    total = totals.pop()
    have = {index for index, _ in given}
    return [f"{index}/{total}" for index in range(1, total + 1) if index not in have]


def merge_evidence(loaded: list[tuple[Path, dict]], owner: dict[str, Path], output: Path) -> dict[Path, dict[str, str]]:
    """Copy every shard's evidence into the merged pack, never one shard's file over another's.

    A shard also reads accounts another shard judges (a central trail bucket, the hub's
    organization listing), so two shards can hold the same file name with different reads
    (other times, or a changed answer). The shard that judges an account keeps
    `evidence/<account>/`; a different file of the same name from another shard goes to
    `evidence/shards/<index>/`, and that shard's verdicts are pointed at it. Returns, per
    pack, the names it moved.
    """
    def judged_first(item):
        path, pack = item
        account = path.relative_to(pack / "evidence").parts[0]
        return (owner.get(account) != pack, str(path))

    files = [(path, pack) for pack, _ in loaded if (pack / "evidence").is_dir() for path in (pack / "evidence").rglob("*") if path.is_file()]
    index_of = {pack: index for index, (pack, _) in enumerate(loaded, start=1)}
    moved: dict[Path, dict[str, str]] = {pack: {} for pack, _ in loaded}
    for path, pack in sorted(files, key=judged_first):
        name = path.relative_to(pack).as_posix()
        target = output / name
        if target.exists():
            if filecmp.cmp(path, target, shallow=False):
                continue
            moved[pack][name] = name = f"evidence/shards/{index_of[pack]}/{path.relative_to(pack / 'evidence').as_posix()}"
            target = output / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for pack, data in loaded:
        if moved[pack]:
            for entry in data["results"]:
                entry["evidence"] = [moved[pack].get(name, name) for name in entry["evidence"]]
    return moved


def merge_waiver_usage(usages: list[list[dict]]) -> list[dict]:
    """One entry per waiver of the profile, with what it matched and waived summed over the shards."""
    merged: dict[tuple, dict] = {}
    for usage in usages:
        for entry in usage:
            key = (entry["control"], tuple(entry["accounts"]), entry.get("account_pattern"), entry["expires"], entry.get("line"))
            if key in merged:
                merged[key]["matched"] += entry["matched"]
                merged[key]["waived"] += entry["waived"]
            else:
                merged[key] = dict(entry)
    return list(merged.values())


def export_media(name: str) -> str:
    return next(export.media_type for export in exports() if export.name == name)


def as_result(entry: dict) -> SimpleNamespace:
    """Enough of a Result for the framework matrix, rebuilt from a results.json entry."""
    control = SimpleNamespace(
        id=entry["control"], severity=entry["severity"], frameworks={k: tuple(v) for k, v in entry["frameworks"].items()}
    )
    return SimpleNamespace(control=control, account_id=entry["account_id"], outcome=entry["outcome"])


def merge_junit(paths: list[Path], output: Path) -> None:
    merged = ElementTree.Element("testsuites", name="rootguard")
    for path in paths:
        if not path.is_file():
            continue
        root = ElementTree.parse(path).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        merged.extend(suites)
    ElementTree.ElementTree(merged).write(output, encoding="utf-8", xml_declaration=True)
