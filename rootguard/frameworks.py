"""Framework catalogs: the requirement ids and titles of SOC 2, ISO/IEC 27001:2022, CIS and Security Hub.

Each control names requirement ids; every one must exist in its catalog under
frameworks/, or the control fails to collect. rootguard.reports.framework_matrix
lays the verdicts out by requirement.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from rootguard import resources

CATALOG_DIR = resources.folder("frameworks")


@dataclass(frozen=True)
class Catalog:
    key: str
    title: str
    version: str
    requirements: dict[str, str]  # id -> title
    file: str = ""

    @property
    def label(self) -> str:
        """The framework and its version, as a reader names it: "CIS Amazon Web Services Foundations Benchmark 3.0.0"."""
        return f"{self.title} {self.version}".strip()


@functools.lru_cache(maxsize=4)
def load_catalogs(directory: Path = CATALOG_DIR) -> dict[str, Catalog]:
    """Every catalog in frameworks/, keyed by its own `framework:` key, in the order its `order:` key gives."""
    found = []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(directory.glob("*.yaml")):
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=loader)
        if not isinstance(data, dict) or "framework" not in data or "requirements" not in data:
            continue  # not a catalog (proposed mappings, notes)
        key = str(data["framework"])
        requirements = {str(r["id"]): str(r.get("title", "")) for r in data["requirements"]}
        found.append((data.get("order", 99), key, Catalog(key, str(data.get("title", key)), str(data.get("version", "")), requirements, path.name)))
    return {key: catalog for _, key, catalog in sorted(found)}


def framework_keys() -> tuple[str, ...]:
    return tuple(load_catalogs())


def unknown_ids(frameworks: dict[str, tuple[str, ...]], catalogs: dict[str, Catalog]) -> list[str]:
    problems = []
    for key, ids in frameworks.items():
        catalog = catalogs.get(key)
        if catalog is None:
            problems.append(f"no catalog for framework {key!r}")
            continue
        problems.extend(f"{key} id {rid!r} is not in frameworks/{catalog.file}" for rid in ids if rid not in catalog.requirements)
    return problems
