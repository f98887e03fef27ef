"""Rehearse full mode: every chapter in COURSE_MODE=full against generated files, offline.

    python tools/rehearse_full.py                       # what `make rehearse-full` runs
    python tools/rehearse_full.py notebooks/07_*.ipynb  # some chapters only
    python tools/rehearse_full.py --keep-data ...       # reuse what earlier chapters unpacked

1. Writes the rehearsal hub (tools/rehearsal_hub.py: every registry file in its real format,
   generated content) into build/rehearsal/hub/, once.
2. Runs each chapter (tools/executor.py, one at a time) in full mode with that hub as the
   classroom mirror (COURSE_DATA_MIRROR) and its checksum manifest (COURSE_REHEARSAL_CHECKSUMS),
   a fresh data folder (build/rehearsal/data/, so every download, extraction and split happens),
   no network (the hub is a folder: any connection is refused and fails the chapter) and
   COURSE_REHEARSAL=1: before the first cell the executor caps every Keras fit to a few batches
   (course_utils/rehearsal.py), and checks of what training reached print "rehearsal: not
   checked". Everything else runs at full size, and the checked cells must print what is stored.
3. Measures per chapter: wall time, peak memory (RSS of the kernel and its children) and the cell
   running at the peak (build/rehearsal/<chapter>.memory.json: the peak during each cell), what the
   chapter added to the data folder, and estimates a full run's time on this CPU and on a
   Colab T4 (see `estimate`). Prints a table and writes build/rehearsal/report.md.

Exit 1 when a chapter fails (its executed notebook is in build/rehearsal/executed/). Exit 2,
before touching anything, when another rehearsal holds the same folder (`hold_lock`): two runs
would share and wipe each other's data folder and checkpoints.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

# What a Colab T4 sustains on a convnet, from NVIDIA's own measurement: ResNet-50 v1.5 (4.09e9
# multiply-adds per 224x224 image, torchvision's documentation of the same network) runs at about
# 430 images/s in float32 and 996 in mixed precision on one T4 at batch 128 (NVIDIA
# DeepLearningExamples, TensorFlow/Classification/ConvNets/resnet50v1.5/README.md, "Inference
# performance: NVIDIA T4 (1x T4 16G)"): 3.5 and 8.1 TFLOP/s, 43% of the T4's float32 peak (8.1
# TFLOP/s) and 12% of its tensor cores' (65 TFLOP/s, NVIDIA's T4 datasheet). Training is taken to
# run its backward passes at the same rate. On a T4 the course computes in mixed_float16
# (course_utils/precision.py).
T4_SUSTAINED_GFLOPS = {"float32": 3520.0, "mixed_float16": 8150.0}
T4_POLICY = "mixed_float16"
COLAB_RAM_GB = 12.7


LOCK_NAME = "rehearsal.lock"


class RehearsalRunning(RuntimeError):
    """Another rehearsal holds the output folder."""


def hold_lock(out: Path) -> IO[str]:
    """Take `out`/rehearsal.lock exclusively, without waiting, and write who holds it.

    Keep the returned file open for the whole run: the operating system releases the lock when
    it is closed or the process ends, however it ends (so a killed run leaves no stale lock).
    Raises RehearsalRunning, naming the run that holds it, when another process does.
    """
    out.mkdir(parents=True, exist_ok=True)
    handle = (out / LOCK_NAME).open("a+", encoding="utf-8")  # "a+": keep the holder's note
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a process that wrote no note"
        handle.close()
        raise RehearsalRunning(
            f"another rehearsal is running in {out}/ ({holder}). Two at once would share and "
            "wipe each other's data folder and checkpoints: wait for it to finish, or give this "
            "one its own folder with --out."
        ) from None
    handle.seek(0)
    handle.truncate()
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    handle.write(f"pid {os.getpid()}, started {started}: {' '.join(sys.argv)}\n")
    handle.flush()
    return handle


def cpu_gflops() -> float:
    """This machine's float32 rate on a 3x3 convolution (64 -> 64 channels, 56x56, batch 16).

    Measured before and after the chapters (`main` keeps the higher): a busy machine reads slow.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    x = tf.random.normal((16, 56, 56, 64))
    k = tf.random.normal((3, 3, 64, 64))
    conv = tf.function(lambda a: tf.nn.conv2d(a, k, 1, "SAME"))
    conv(x)  # warm up
    seconds = []
    for _ in range(10):  # the fastest of ten: other work on the machine only slows a run down
        start = time.perf_counter()
        conv(x).numpy()
        seconds.append(time.perf_counter() - start)
    seconds = min(seconds)
    flops = 2 * 16 * 56 * 56 * 64 * 64 * 9
    return flops / seconds / 1e9


def estimate(fits: list[dict], wall_s: float, speedup: float) -> tuple[float | None, float | None]:
    """(full run on this CPU, full run on a T4), in seconds, from a chapter's capped fits, by
    step time: each fit's full training time is its median step time x the steps and epochs the
    full run asks for. The rest of the chapter (data, predict, plots: what the rehearsal ran at
    full size) is taken as measured on the CPU and, as an upper bound, the same on the T4.
    Training runs `speedup` times faster on the T4. None when a fit's full length is unknown.
    """
    training_run = sum(f["wall_s"] for f in fits)
    training_full = 0.0
    for fit in fits:
        if fit["planned_epochs"] <= 0:  # a finished run, resumed: nothing to train
            continue
        if fit["planned_steps"] is None or fit["median_step_s"] is None:
            return None, None
        training_full += fit["median_step_s"] * fit["planned_steps"] * fit["planned_epochs"]
    rest = max(wall_s - training_run, 0.0)
    return rest + training_full, rest + training_full / speedup


def fit_flops(fit: dict) -> float | None:
    """Floating-point operations of one fit's full run: its training examples through forward and
    backward passes, its validation examples forward, over its epochs (course_utils/flops.py)."""
    if fit["planned_epochs"] <= 0:
        return 0.0
    needed = ("planned_steps", "batch", "train_macs", "forward_macs")
    if any(fit.get(key) is None for key in needed):
        return None
    per_epoch = (
        fit["planned_steps"] * fit["batch"] * fit["train_macs"]
        + fit.get("validation_examples", 0) * fit["forward_macs"]
    )
    return 2.0 * per_epoch * fit["planned_epochs"]


def flop_estimate(fits: list[dict], wall_s: float, policy: str = T4_POLICY) -> float | None:
    """A full run on a T4, in seconds, by counting: every fit's arithmetic at the T4's sustained
    rate for `policy`, plus the rest of the chapter as it ran here (an upper bound)."""
    counts = [fit_flops(fit) for fit in fits]
    if any(count is None for count in counts):
        return None
    rest = max(wall_s - sum(f["wall_s"] for f in fits), 0.0)
    return rest + sum(counts) / (T4_SUSTAINED_GFLOPS[policy] * 1e9)


def pipeline_margin(fits: list[dict], policy: str = T4_POLICY) -> float | None:
    """The lowest ratio over a chapter's fits of what its input pipeline delivered here (examples
    per second, first pass) to what a T4 trains per second: below 1, the T4 waits for data."""
    ratios = []
    for fit in fits:
        delivered, macs = fit.get("pipeline_examples_per_s"), fit.get("train_macs")
        if delivered and macs and fit["planned_epochs"] > 0:
            needed = T4_SUSTAINED_GFLOPS[policy] * 1e9 / (2.0 * macs)
            ratios.append(delivered / needed)
    return min(ratios) if ratios else None


def cell_label(notebook: Path, index: int | None) -> str:
    """'cell 12: first line of its code', for the report (index counts all cells from 0)."""
    if index is None:
        return "?"
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    if index >= len(cells):
        return f"cell {index}"
    first = next(
        (
            line
            for line in cells[index].source.splitlines()
            if line.strip() and not line.startswith("#")
        ),
        "",
    )
    return f"cell {index}: {first.strip()[:60]}"


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def minutes(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 60:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "rehearsal")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the data folder of an earlier rehearsal (default: start empty)",
    )
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    try:
        lock = hold_lock(args.out)  # noqa: F841 (kept open: the lock lasts until the end)
    except RehearsalRunning as error:
        print(error, file=sys.stderr)
        return 2
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    hub, data, executed = args.out / "hub", args.out / "data", args.out / "executed"
    manifest = hub / "rehearsal-checksums.json"
    if not manifest.is_file():
        print(f"writing the rehearsal hub into {hub}/ (once, several minutes)", flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "rehearsal_hub.py"), str(hub)], check=True
        )
    if not args.keep_data:
        shutil.rmtree(data, ignore_errors=True)
    checkpoints = args.out / "checkpoints"
    shutil.rmtree(checkpoints, ignore_errors=True)
    for folder in (data, executed, checkpoints):
        folder.mkdir(parents=True, exist_ok=True)
    os.environ.pop("COURSE_DOWNLOAD_DIR", None)  # downloads go to the fresh data folder
    import executor

    environ = {
        "COURSE_REHEARSAL": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "COURSE_DATA_MIRROR": str(hub.resolve()),
        "COURSE_REHEARSAL_CHECKSUMS": str(manifest.resolve()),
        "COURSE_DATA_DIR": str(data.resolve()),
    }
    # The hub is a folder, so a rehearsal needs no network: every connection is refused and
    # reported, which proves that full mode reaches its files through the mirror alone.
    runtime = executor.Runtime(
        name="rehearsal",
        mode="full",
        offline=True,
        env=environ,
        startup="from course_utils import rehearsal\nrehearsal.install()",
    )
    speedup = T4_SUSTAINED_GFLOPS["float32"] / cpu_gflops()
    print(
        f"rehearsing {len(notebooks)} chapters in full mode; mirror {hub}/; data in {data}/",
        flush=True,
    )
    rows, failed, all_fits = [], [], []
    for path in notebooks:
        log = args.out / f"{path.stem}.fits.jsonl"
        log.unlink(missing_ok=True)
        environ["COURSE_REHEARSAL_LOG"] = str(log.resolve())
        disk_before = folder_bytes(data)
        run = executor.run_one(
            path.resolve(),
            runtime,
            executed,
            checkpoints=checkpoints.resolve(),
            grade=False,
            timeout=args.timeout,
        )
        status = "ok" if run.ok else "FAILED"
        if not run.ok:
            failed.append(path.stem)
            print(f"FAILED {path.stem}: {run.failure}", flush=True)
        fits = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
        all_fits.append(fits)
        cpu_full, t4 = estimate(fits, run.seconds, speedup)
        counted = flop_estimate(fits, run.seconds)
        margin = pipeline_margin(fits)
        row = {
            "chapter": path.stem,
            "status": status,
            "wall_s": run.seconds,
            "t4_counted_s": counted,
            "pipeline_margin": margin,
            "peak_rss_gb": run.peak_mb / 1e3,
            "data_added_gb": (folder_bytes(data) - disk_before) / 1e9,
            "data_total_gb": folder_bytes(data) / 1e9,
            "fits": len(fits),
            "full_cpu_s": cpu_full,
            "full_t4_s": t4,
            "peak_cell": cell_label(path, run.peak_cell),
        }
        (args.out / f"{path.stem}.memory.json").write_text(
            json.dumps({str(c.index): round(c.peak_mb / 1e3, 3) for c in run.cells}, indent=0)
        )
        rows.append(row)
        print(
            f"{status:6s} {path.stem:36s} {run.seconds:6.0f} s  peak {row['peak_rss_gb']:5.2f} GB "
            " "
            f"data +{row['data_added_gb']:.2f} GB  full run on a T4: ~{minutes(counted)} min "
            f"counted, ~{minutes(t4)} min by step time (~{minutes(cpu_full)} min on this CPU); "
            f"input pipeline {'-' if margin is None else f'{margin:.1f}x'} what a T4 needs; "
            f"peak in {row['peak_cell']}",
            flush=True,
        )
    # Measured again now, to keep the faster reading (another job may have shared the CPU).
    speedup = min(speedup, T4_SUSTAINED_GFLOPS["float32"] / cpu_gflops())
    for row, fits in zip(rows, all_fits, strict=True):
        row["full_cpu_s"], row["full_t4_s"] = estimate(fits, row["wall_s"], speedup)
    report = write_report(rows, args.out / "report.md", speedup)
    print(report)
    return 1 if failed else 0


def write_report(rows: list[dict], path: Path, speedup: float) -> str:
    """The per-chapter table as Markdown (also written to `path`)."""
    lines = [
        "| chapter | result | rehearsal (min) | peak RAM (GB) | data added (GB) | "
        "full run, T4, counted (min) | full run, T4, by step time (min) | full run, this CPU "
        "(min) | "
        "input pipeline / T4 need | peak while running |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    disagree = []
    for r in rows:
        margin = "-" if r.get("pipeline_margin") is None else f"{r['pipeline_margin']:.1f}x"
        lines.append(
            f"| {r['chapter']} | {r['status']} | {r['wall_s'] / 60:.1f} | "
            f"{r['peak_rss_gb']:.2f} | {r['data_added_gb']:.2f} | "
            f"{minutes(r.get('t4_counted_s'))} | {minutes(r['full_t4_s'])} | "
            f"{minutes(r['full_cpu_s'])} | {margin} | {r['peak_cell'].replace('|', '/')} |"
        )
        counted, timed = r.get("t4_counted_s"), r["full_t4_s"]
        if (
            counted
            and timed
            and max(counted, timed) > 2 * min(counted, timed)
            and max(counted, timed) > 120
        ):
            disagree.append(r["chapter"])
    worst = max((r["peak_rss_gb"] for r in rows), default=0.0)
    total = sum(r["wall_s"] for r in rows) / 60
    rate = T4_SUSTAINED_GFLOPS[T4_POLICY] / 1000
    lines += [
        "",
        f"Rehearsal: {total:.0f} min in all. Peak memory {worst:.2f} GB at most "
        f"(a standard Colab runtime has {COLAB_RAM_GB} GB). Data folder at the end: "
        f"{rows[-1]['data_total_gb'] if rows else 0:.2f} GB.",
        "Counted: every full-mode fit's multiply-adds (course_utils/flops.py) at a T4's "
        "sustained "
        f"{rate:.1f} TFLOP/s in {T4_POLICY} (NVIDIA's ResNet-50 measurement on a T4, see "
        "tools/rehearse_full.py), plus the rest of the chapter as it ran here. By step time: the "
        f"median training step here x the full run's steps, {speedup:.0f}x faster on a T4 (its "
        f"float32 {T4_SUSTAINED_GFLOPS['float32'] / 1000:.1f} TFLOP/s against "
        f"{T4_SUSTAINED_GFLOPS['float32'] / speedup:.0f} GFLOP/s measured here on a 3x3 "
        "convolution). "
        "Input pipeline: examples per second its first pass delivered here (2 cores, as Colab "
        "gives "
        "a T4), over what a T4 trains per second. Estimates, not measurements."
        + (
            f" The two estimates differ by more than 2x for: {', '.join(disagree)}."
            if disagree
            else ""
        ),
    ]
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    sys.exit(main())
