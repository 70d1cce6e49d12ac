"""Where the suite's own files are: the controls, catalogs, example profiles, read-only policy, demo fixtures.

In a checkout they sit beside the package (tests_compliance/, frameworks/, profiles/,
policy/, fixtures/). The wheel carries them inside the package, under the same names
(frameworks/ as rootguard/catalogs/, since rootguard.frameworks is a module), so an
installed rootguard finds them wherever it runs from.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
INSTALLED_NAMES = {"frameworks": "catalogs"}


def installed() -> bool:
    """True when running from a wheel: the controls travel inside the package."""
    return (PACKAGE / "tests_compliance").is_dir()


def home() -> Path:
    """The folder that holds profiles/ and the other folders: the checkout, or the installed package."""
    return PACKAGE if installed() else PACKAGE.parent


def folder(name: str) -> Path:
    """One of the suite's folders, by its name in a checkout."""
    if installed():
        return PACKAGE / INSTALLED_NAMES.get(name, name)
    return PACKAGE.parent / name


def project(rootpath: Path, invocation_dir: Path) -> Path:
    """Where a run keeps reports/ (and finds node_modules/): its root, unless that is the installed package."""
    if Path(rootpath).resolve() == PACKAGE:
        return Path(invocation_dir)
    return Path(rootpath)
