"""tools/build_site.py's changes to a chapter, without running or rendering anything."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402

COLAB = "https://colab.research.google.com/github/o/r/blob/main/notebooks/05_x.ipynb"
TITLE = (
    "# 05 · A chapter\n\n"
    f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({COLAB})\n"
    "[![View on "
    "GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/o/r)\n"
    "\n**What you will learn**\n- things"
)


def chapter(banner: str) -> nbformat.NotebookNode:
    code = nbformat.v4.new_code_cell('env.banner(quick_data="a", full_data="b")')
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=banner + "\n")]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(TITLE), code])


def test_badges_become_text_links_that_load_nothing():
    first = build_site.for_site(chapter("FULL MODE   data: b")).cells[0].source
    assert "![" not in first and "shields.io" not in first and "colab-badge" not in first
    assert f"[Run this chapter in Google Colab]({COLAB})" in first
    assert "[See this chapter's notebook on GitHub](https://github.com/o/r)" in first
    assert first.startswith("# 05 · A chapter\n") and first.endswith("- things")


def test_a_quick_run_says_so_under_the_title_and_a_full_run_does_not():
    banner = "QUICK MODE  data: a\n            a stand-in for b: its numbers show the code at work"
    quick = build_site.for_site(chapter(banner)).cells[0].source
    assert quick.index("Built in quick mode") < quick.index("What you will learn")
    assert "- **QUICK MODE** data: a; a stand-in for b: its numbers show the code at work" in quick
    full = build_site.for_site(chapter("FULL MODE   data: b\nFULL RUN    99%")).cells[0].source
    assert "quick mode" not in full.lower()


def test_the_home_page_lists_every_chapter_of_the_readme():
    stems = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    about, chapters, quickstart = build_site.chapters_from_readme(
        (ROOT / "README.md").read_text(encoding="utf-8"), {stem: stem for stem in stems}
    )
    assert about.startswith("Numbered Jupyter chapters")
    for stem in stems:
        assert f"(notebooks/{stem}.ipynb)" in chapters
    assert len(chapters.splitlines()) == len(stems)
    assert "make course" in quickstart


def mathjax_tarball(folder: Path) -> Path:
    """A small stand-in for npm's mathjax tarball: what the site keeps and what it leaves out."""
    import io
    import tarfile

    path = folder / "served" / "mathjax-3.2.2.tgz"
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz") as tar:
        for name in (
            "package/es5/tex-chtml.js",
            "package/es5/input/tex/extensions/ams.js",
            "package/es5/sre/mathmaps/en.json",
            "package/package.json",
        ):
            data = f"// {name}\n".encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_mathjax_is_downloaded_once_checked_and_trimmed(tmp_path, monkeypatch):
    from course_utils.download import file_digest

    served = mathjax_tarball(tmp_path)
    monkeypatch.setattr(build_site, "MATHJAX_URL", served.as_uri())
    monkeypatch.setattr(build_site, "MATHJAX_SHA256", "sha256:" + file_digest(served))
    static, cache = tmp_path / "static", tmp_path / "cache"
    build_site.mathjax(static, cache)
    kept = sorted(str(p.relative_to(static)) for p in static.rglob("*") if p.is_file())
    assert kept == ["mathjax/input/tex/extensions/ams.js", "mathjax/tex-chtml.js"]
    served.unlink()  # a second build uses the copy in the cache, no network
    build_site.mathjax(static, cache)
    assert (static / "mathjax" / "tex-chtml.js").is_file()


def test_mathjax_with_the_wrong_checksum_is_refused_and_not_kept(tmp_path, monkeypatch):
    served = mathjax_tarball(tmp_path)
    monkeypatch.setattr(build_site, "MATHJAX_URL", served.as_uri())
    monkeypatch.setattr(build_site, "MATHJAX_SHA256", "sha256:" + "0" * 64)
    cache = tmp_path / "cache"
    try:
        build_site.mathjax(tmp_path / "static", cache)
    except SystemExit as stop:
        message = str(stop)
    else:
        raise AssertionError("a tarball with the wrong checksum was used")
    assert "checksum" in message and "put that file at" in message
    assert not any(cache.glob("*.tgz")) and not (tmp_path / "static").exists()
