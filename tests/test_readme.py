"""The README stays true: its test command is what CI runs, and it lists every download."""

from __future__ import annotations

from pathlib import Path

from course_utils import registry

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.startswith("make ")
    ]
    assert ci[0] == "make test"  # then the Colab checks (make test-colab ...)
    missing = [command for command in ci if command not in README]
    assert not missing, f"CI runs commands the README does not show: {missing}"
    assert "make test" in README and "make course" in README


def test_readme_lists_every_download_of_the_data_hub():
    missing = [name for name in registry.REGISTRY if f"`{name}`" not in README]
    assert not missing, f"add these registry entries to README's full-mode table: {missing}"


def test_readme_download_sizes_are_the_registrys():
    """| `name` | what | size | chapters |: the size is DataFile.size, as DataFile.size_text
    writes it."""
    rows = {}
    for line in README.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].strip("`") in registry.REGISTRY:
            rows[cells[0].strip("`")] = cells[2]
    assert sorted(rows) == sorted(registry.REGISTRY)
    wrong = {
        name: (size, registry.get(name).size_text)
        for name, size in rows.items()
        if size != registry.get(name).size_text
    }
    assert not wrong, f"README size vs registry (README, registry): {wrong}"


def test_readme_links_every_chapter():
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"(notebooks/{nb.name})" in README, f"README does not link {nb.name}"
