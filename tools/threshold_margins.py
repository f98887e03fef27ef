"""Measure the margin of every threshold a chapter checks, over several seeds.

    python tools/threshold_margins.py [--seeds 42 43 44 45 46] [--workers 2] [05 11 ...]
    python tools/threshold_margins.py 07 --show "gain=fine_test - scratch_test"
    python tools/threshold_margins.py --backend jax 04 --workers 1

Each chapter runs in quick mode once per seed (COURSE_SEED, read by `env.setup`). Every
`env.check(what, value, at_least=..., at_most=...)` the chapter makes is logged (with
COURSE_THRESHOLD_LOG), so the thresholds are read from the chapters themselves, not copied
here. A threshold is safe when the lowest value over the seeds clears it with room to spare: a
different TensorFlow or Python changes the arithmetic about as much as a different seed does.
`--show NAME=EXPR` also prints an expression evaluated in the kernel after the chapter (a
number the chapter does not check). `--backend` names the Keras backend the chapters run on
(default tensorflow): a bound must hold on every backend the course supports. Prints one row per
check.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def chapter_path(chapter: str) -> Path:
    """The notebook a chapter number (or stem) names."""
    matches = sorted(ROOT.glob(f"notebooks/{chapter}.ipynb")) or sorted(
        ROOT.glob(f"notebooks/{chapter}_*.ipynb")
    )
    if len(matches) != 1:
        raise SystemExit(f"chapter {chapter!r} names {len(matches)} notebooks: give its stem")
    return matches[0]


def measure(
    chapter: str, seed: int, show: dict[str, str], backend: str = "tensorflow"
) -> dict[str, dict]:
    """Run a chapter with one seed on one Keras backend; return {check: {"value", "at_least",
    "at_most"}}."""
    import executor

    path = chapter_path(chapter)
    work = Path(tempfile.mkdtemp(prefix=f"margins-{chapter}-{seed}-"))
    log = work / "thresholds.jsonl"
    probe = (
        "import json as _j\nprint('SHOW' + _j.dumps({k: float(eval(v)) "
        f"for k, v in {show!r}.items()}}))"
    )
    runtime = executor.Runtime(
        name=f"seed {seed}",
        backend=backend,
        env={"COURSE_SEED": str(seed), "COURSE_THRESHOLD_LOG": str(log)},
    )
    # the probe makes the run go on past a failing cell: a failing check must not hide the
    # value it failed on, or the checks after it. A checkpoint folder of its own: runs side by
    # side must not load each other's weights.
    run = executor.run_one(
        path.resolve(),
        runtime,
        work / "executed",
        grade=False,
        probe=probe,
        checkpoints=work / "checkpoints",
    )
    rows = {}
    if log.is_file():
        for line in log.read_text().splitlines():
            row = json.loads(line)
            rows[row.pop("what")] = row
    for line in run.versions.get("probe", "").splitlines():
        if line.startswith("SHOW"):
            for name, value in json.loads(line[4:]).items():
                rows[f"{name} (shown, not checked)"] = {
                    "value": value,
                    "at_least": None,
                    "at_most": None,
                }
    print(
        f"chapter {chapter} seed {seed} ({backend}): "
        + ", ".join(f"{k} {v['value']:.4g}" for k, v in rows.items())
        + (f"  ({run.failure})" if run.failure else ""),
        flush=True,
    )
    return rows


def holds(row: dict) -> bool:
    low, high = row["at_least"], row["at_most"]
    return (low is None or row["value"] >= low) and (high is None or row["value"] <= high)


def bounds(row: dict) -> str:
    parts = [
        f">= {row['at_least']:g}" if row["at_least"] is not None else "",
        f"<= {row['at_most']:g}" if row["at_most"] is not None else "",
    ]
    return " ".join(p for p in parts if p) or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("chapters", nargs="*")
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44, 45, 46])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", action="append", default=[], metavar="NAME=EXPR")
    parser.add_argument(
        "--backend",
        default="tensorflow",
        choices=("tensorflow", "jax", "torch"),
        help="the Keras backend the chapters run on",
    )
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted(
        p.name[:2] for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")
    )
    show = dict(item.split("=", 1) for item in args.show)
    jobs = [(c, s) for c in chapters for s in args.seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(
            zip(
                jobs,
                pool.map(
                    measure,
                    *zip(*jobs, strict=True),
                    [show] * len(jobs),
                    [args.backend] * len(jobs),
                ),
                strict=True,
            )
        )
    print(
        f"{'ch':4s} {'check':50s} {'bounds':>14s} {'lowest':>9s} {'highest':>9s}  "
        f"values (seeds {args.seeds}, {args.backend})"
    )
    bad = 0
    for chapter in chapters:
        names = list(dict.fromkeys(n for s in args.seeds for n in results[(chapter, s)]))
        for name in names:
            rows = [results[(chapter, s)].get(name) for s in args.seeds]
            values = [r["value"] for r in rows if r]
            ok = all(r is not None and holds(r) for r in rows)
            bad += not ok
            first = next(r for r in rows if r)
            print(
                f"{chapter:4s} {name[:50]:50s} {bounds(first):>14s} {min(values):9.4g} "
                f"{max(values):9.4g}  "
                + " ".join(f"{v:.4g}" for v in values)
                + ("" if ok else "  FAILS (or not reached on every seed)")
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
