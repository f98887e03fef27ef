"""Build the course's web site from the chapters' executed notebooks, with Jupyter Book.

    python tools/build_site.py notebooks/[0-9][0-9]_*.ipynb   # what `make site` runs
    python tools/build_site.py --runs build/runs/local-full ... # from full-mode runs

1. Takes each chapter's executed notebook from the run folder (`--runs`, default
   build/runs/local: what `make test` wrote). A chapter with no passing run there of its
   notebook as it is now, in this run mode, is executed first by tools/executor.py (one line
   per chapter); a chapter that fails stops the build with exit 1, before any page is rendered.
   Nothing is ever executed twice: `make test` then `make site` renders what the test ran.
2. Writes the book's source in build/book/: site/_config.yml, a _toc.yml of the chapters, the
   home page (site/intro.md filled in from README.md) and the executed chapters with
   - the Colab / GitHub badge images (from outside servers) replaced by plain text links,
   - a note at the top of every chapter run in quick mode, with the data it used,
   and MathJax 3 (npm's `mathjax` package, downloaded once) in _mathjax/ (served as
   _static/mathjax/), so
   formulas render offline.
3. Renders build/book/ with Jupyter Book without executing anything, into build/site/
   (the log in build/site-build.log).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from course_utils import download  # noqa: E402
from course_utils.env import REPO_BRANCH, REPO_URL, mode  # noqa: E402

# MathJax 3 from the npm registry (its tarball's sha256, checked before use; no npm needed).
MATHJAX = "mathjax@3.2.2"
MATHJAX_URL = "https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz"
MATHJAX_SHA256 = "sha256:1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
# What the site needs of MathJax's es5/ folder: the TeX-to-HTML component, the extensions it
# loads on demand, the menu and its fonts. Not the speech engine (sre/, 12 MB) or SVG output.
MATHJAX_KEEP = ("tex-chtml.js", "input/", "output/chtml", "ui/", "a11y/", "adaptors/")

BADGE = re.compile(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)")
BADGE_TEXT = {
    "open in colab": "Run this chapter in Google Colab",
    "view on github": "See this chapter's notebook on GitHub",
}


def current_run(path: Path, runs: Path, mode: str) -> bool:
    """True if runs/ holds a passing run, in `mode`, of chapter `path` exactly as it is now."""
    import executor

    executed = runs / path.name
    if not executed.is_file():
        return False
    run = nbformat.read(executed, as_version=4).metadata.get("course_run", {})
    return (
        run.get("ok") is True
        and run.get("mode") == mode
        and run.get("source") == executor.source_digest(nbformat.read(path, as_version=4))
    )


def execute_missing(notebooks: list[Path], runs: Path, mode: str, timeout: int) -> list[str]:
    """Run (tools/executor.py) the chapters with no current run in runs/; the names that failed."""
    import executor

    missing = [p for p in notebooks if not current_run(p, runs, mode)]
    for path in notebooks:
        if path not in missing:
            print(
                f"kept   {path.stem:40s} (run by an earlier command, in {mode} mode)", flush=True
            )
    if not missing:
        return []
    runtime = executor.Runtime(mode=mode, offline=mode == "quick")
    results = executor.run_chapters(
        [p.resolve() for p in missing],
        runtime,
        runs,
        timeout=timeout,
        report=lambda text: print(text, flush=True),
    )
    return [r.chapter for r in results if not r.ok]


def banner_of(nb: nbformat.NotebookNode) -> str:
    """The text env.banner() printed (QUICK MODE / FULL MODE lines), or ''."""
    for cell in nb.cells:
        if cell.cell_type != "code" or "env.banner(" not in cell.source:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                text = output["text"]
                start = min(
                    (i for i in (text.find("QUICK MODE"), text.find("FULL MODE")) if i >= 0),
                    default=-1,
                )
                if start >= 0:
                    return text[start:].rstrip()
    return ""


def quick_note(banner: str) -> str:
    """The note a quick-mode chapter carries at its top ('' for a full-mode run)."""
    if not banner.startswith("QUICK MODE"):
        return ""
    items = []
    for line in banner.splitlines():
        text = re.sub(r"([\\`*_$<\[\]])", r"\\\1", line.strip())  # shown as written, not Markdown
        label = re.match(r"(QUICK MODE|FULL RUN)\s+", text)
        if label:
            items.append(f"- **{label.group(1)}** {text[label.end() :]}")
        elif items:
            items[-1] += f"; {text}"
    return (
        ":::{admonition} Built in quick mode\n:class: warning\n"
        "This page was run with `COURSE_MODE=quick`: offline, on small data, for a few epochs. "
        "What it used, and what a full run reaches:\n\n" + "\n".join(items) + "\n\n"
        "Run the chapter yourself with `COURSE_MODE=full` for real results.\n:::\n"
    )


def for_site(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed chapter as the site shows it: badges as text links, the quick-mode note."""
    first = nb.cells[0]

    def text_link(match: re.Match) -> str:
        label = BADGE_TEXT.get(match.group(1).strip().lower(), match.group(1))
        return f"[{label}]({match.group(2)})"

    # The badges (one a line, under the title) become one line of links, followed by the note.
    lines = first.source.splitlines()
    at = [i for i, line in enumerate(lines) if BADGE.search(line)]
    links = " · ".join(BADGE.sub(text_link, lines[i]).strip() for i in at)
    note = quick_note(banner_of(nb))
    where = at[0] if at else 1
    lines = [line for i, line in enumerate(lines) if i not in at]
    lines[where:where] = [part for part in (links, "", note) if part or links]
    first.source = "\n".join(lines)
    return nb


def chapters_from_readme(readme: str, titles: dict[str, str]) -> tuple[str, str, str]:
    """(what the course is, the chapter list as Markdown, the quick-start commands) from README."""
    about = readme.split("\n\n", 2)[1].strip() if readme.startswith("# ") else ""
    rows = re.findall(
        r"^\| (\d\d) \| \[([^\]]+)\]\(notebooks/([^)]+)\.ipynb\) \| (.+?) \|$", readme, flags=re.M
    )
    lines = []
    for number, name, stem, what in rows:
        if stem in titles:
            lines.append(f"- **[{number} · {name}](notebooks/{stem}.ipynb)**: {what}")
    block = re.search(r"## Quickstart.*?```bash\n(.*?)```", readme, flags=re.S)
    return about, "\n".join(lines), block.group(1).rstrip() if block else "make course"


def mathjax(static: Path, cache: Path) -> None:
    """Copy MathJax's browser files into static/mathjax, downloading npm's tarball once."""
    tarball = cache / f"{MATHJAX.replace('@', '-')}.tgz"
    if not (tarball.is_file() and download.is_verified(tarball, MATHJAX_SHA256)):
        print(f"fetching {MATHJAX} from {MATHJAX_URL} (once, into {cache}/)", flush=True)
        try:
            download.download_file([MATHJAX_URL], tarball, MATHJAX_SHA256, show_progress=False)
        except download.DownloadError as err:
            raise SystemExit(
                f"{err}\nThe site serves its own MathJax, fetched once from npm's "
                f"registry: connect to the network, or put that file at {tarball}"
            ) from err
        download.record_verified(tarball, MATHJAX_SHA256)
    target = static / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            inner = member.name.removeprefix("package/es5/")
            if member.isfile() and inner != member.name and inner.startswith(MATHJAX_KEEP):
                dest = target / inner
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(tar.extractfile(member).read())


def write_book(executed: list[Path], book: Path, cache: Path) -> None:
    """Lay out the Jupyter Book source in book/ from the executed chapters."""
    shutil.rmtree(book, ignore_errors=True)
    (book / "notebooks").mkdir(parents=True)
    config = (ROOT / "site" / "_config.yml").read_text(encoding="utf-8")
    config = re.sub(r"(?m)^(  url: )\S+", rf"\g<1>{REPO_URL}", config)
    config = re.sub(r"(?m)^(  branch: )\S+", rf"\g<1>{REPO_BRANCH}", config)
    (book / "_config.yml").write_text(config, encoding="utf-8")
    shutil.copytree(ROOT / "site" / "_css", book / "_css")  # the course's own style sheet
    titles, modes = {}, set()
    for path in executed:
        nb = for_site(nbformat.read(path, as_version=4))
        modes.add("quick" if banner_of(nb).startswith("QUICK") else "full")
        titles[path.stem] = nb.cells[0].source.splitlines()[0].lstrip("# ").strip()
        nbformat.write(nb, book / "notebooks" / path.name)
    toc = ["format: jb-book", "root: intro", "chapters:"]
    toc += [f"- file: notebooks/{stem}" for stem in titles]
    (book / "_toc.yml").write_text("\n".join(toc) + "\n", encoding="utf-8")
    about, chapters, quickstart = chapters_from_readme(
        (ROOT / "README.md").read_text(encoding="utf-8"), titles
    )
    mode_note = (
        "These pages were run in **quick mode**: offline, on small data and few epochs, "
        "so their numbers show the code at work, not real results; each chapter says "
        "what it used and what a full run reaches."
        if "quick" in modes
        else ""
    )
    intro = (ROOT / "site" / "intro.md").read_text(encoding="utf-8")
    for key, value in {
        "about": about,
        "chapters": chapters,
        "quickstart": quickstart,
        "mode_note": mode_note,
        "repo": REPO_URL,
    }.items():
        intro = intro.replace("{{" + key + "}}", value)
    (book / "intro.md").write_text(intro, encoding="utf-8")
    mathjax(book / "_mathjax", cache)


def render(book: Path, site: Path, log: Path, jb: Path) -> int:
    """Run Jupyter Book (the program jb) on book/, nothing executed; move its HTML to site/.

    Returns the number of warnings in its log.
    """
    if not jb.is_file():
        raise SystemExit(f"no Jupyter Book at {jb}: `make site` installs it (into .venv-site/)")
    with open(log, "w") as out:
        done = subprocess.run(
            [str(jb), "build", str(book), "--builder", "html"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = log.read_text(encoding="utf-8", errors="replace")
    if done.returncode != 0:
        print(text[-3000:])
        raise SystemExit(f"jupyter-book failed (exit {done.returncode}); full log in {log}")
    shutil.rmtree(site, ignore_errors=True)
    shutil.move(str(book / "_build" / "html"), str(site))
    (site / ".nojekyll").touch()
    return len(re.findall(r"WARNING", text))


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="the executed chapters (default: build/runs/local, or "
        "build/runs/local-full in full mode)",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument(
        "--jupyter-book",
        type=Path,
        default=ROOT / ".venv-site" / "bin" / "jupyter-book",
        help="the jupyter-book program (default: the one `make site` installs)",
    )
    args = parser.parse_args()
    run_mode = mode()
    runs = args.runs or args.build / "runs" / ("local" if run_mode == "quick" else "local-full")
    start = time.perf_counter()
    failed = execute_missing(args.notebooks, runs, run_mode, args.timeout)
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}; no site built")
        return 1
    executed = [runs / p.name for p in args.notebooks]
    site, log = args.build / "site", args.build / "site-build.log"
    rendering = time.perf_counter()
    write_book(executed, args.build / "book", args.build / "cache")
    warnings = render(args.build / "book", site, log, args.jupyter_book)
    print(
        f"rendered {len(executed)} chapters + home page with Jupyter Book "
        f"{time.perf_counter() - rendering:6.1f} s ({warnings} warning(s), log in {log})"
    )
    print(
        f"site: {site}/index.html, {size_mb(site):.1f} MB; total "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
