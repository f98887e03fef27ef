"""The training chapters' quick-mode epochs on TensorFlow, on JAX and on TensorFlow with XLA
(`jit_compile=True`), timed in one run, one chapter after another on the same machine.

    .venv/bin/python benchmarks/backend_epochs.py [05 06 07 10] [--rounds 1]

Each chapter runs in quick mode (tools/executor.py, offline, not graded) once per setting, the
settings one after the other for each chapter (and `--rounds` times), so that load from other
work on the machine hits all settings alike. Every Keras `fit` of the chapter is timed epoch by
epoch (a callback installed before the first cell); nothing else about the chapter changes,
except that the XLA setting compiles every model with `jit_compile=True`. Prints, per chapter and
setting, the seconds of all epochs, of the first epoch of each fit (tracing and compiling
included) and of the others, and each setting's ratio to TensorFlow's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

SETTINGS = {  # name: (Keras backend, compile every model with jit_compile=True)
    "tensorflow": ("tensorflow", False),
    "jax": ("jax", False),
    "tensorflow + XLA": ("tensorflow", True),
}

TIMER = """\
import json as _json, os as _os, time as _time
from course_utils import env as _env
_os.environ["KERAS_BACKEND"] = _env.choose_backend()[0]
import keras as _keras


class _EpochTimer(_keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self._began = _time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        with open(%(log)r, "a") as _out:
            _out.write(_json.dumps({"model": self.model.name, "epoch": epoch,
                                    "seconds": _time.perf_counter() - self._began}) + "\\n")


_fit, _compile = _keras.Model.fit, _keras.Model.compile


def _timed_fit(self, *args, **kwargs):
    kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [_EpochTimer()]
    return _fit(self, *args, **kwargs)


def _compile_xla(self, *args, **kwargs):
    kwargs["jit_compile"] = True
    return _compile(self, *args, **kwargs)


_keras.Model.fit = _timed_fit
if %(xla)r:
    _keras.Model.compile = _compile_xla
"""


def time_chapter(chapter: Path, setting: str) -> dict:
    """Run one chapter with one setting; its epochs' seconds and whether every cell ran."""
    import executor

    backend, xla = SETTINGS[setting]
    work = Path(tempfile.mkdtemp(prefix=f"epochs-{chapter.name[:2]}-"))
    log = work / "epochs.jsonl"
    runtime = executor.Runtime(
        name=setting,
        backend=backend,
        record_fits=False,
        startup=TIMER % {"log": str(log), "xla": xla},
    )
    run = executor.run_one(
        chapter,
        runtime,
        work / "out",
        grade=False,
        compare=False,
        checkpoints=work / "checkpoints",
        probe="print('done')",
    )
    epochs = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    first = sum(e["seconds"] for e in epochs if e["epoch"] == 0)
    rest = sum(e["seconds"] for e in epochs if e["epoch"] > 0)
    return {
        "chapter": chapter.stem,
        "setting": setting,
        "epochs": len(epochs),
        "first": first,
        "rest": rest,
        "all": first + rest,
        "chapter_seconds": run.seconds,
        "failure": run.failure,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("chapters", nargs="*", default=["05", "06", "07", "10"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    import executor

    rows = []
    for path in executor.chapters(args.chapters):
        for _ in range(args.rounds):
            for setting in SETTINGS:
                row = time_chapter(path, setting)
                rows.append(row)
                print(
                    f"{row['chapter'][:24]:24s} {setting:17s} {row['epochs']:3d} epochs "
                    f"{row['all']:7.1f} s (first epochs {row['first']:6.1f} s, others "
                    f"{row['rest']:6.1f} s)"
                    + (f"  [{row['failure'][:80]}]" if row["failure"] else ""),
                    flush=True,
                )
    print(
        "\n| chapter | setting | epochs | all epochs (s) | first epochs (s) | other epochs (s) "
        "| ratio to TensorFlow, all | ratio, other epochs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for chapter in dict.fromkeys(r["chapter"] for r in rows):
        mine = [r for r in rows if r["chapter"] == chapter]
        base = [r for r in mine if r["setting"] == "tensorflow"]
        for setting in SETTINGS:
            these = [r for r in mine if r["setting"] == setting]
            total = sum(r["all"] for r in these)
            rest = sum(r["rest"] for r in these)
            ratio = total / max(1e-9, sum(r["all"] for r in base))
            ratio_rest = rest / max(1e-9, sum(r["rest"] for r in base))
            print(
                f"| {chapter[:2]} | {setting} | {these[0]['epochs']} | {total:.1f} | "
                f"{sum(r['first'] for r in these):.1f} | {rest:.1f} | {ratio:.2f} | "
                f"{ratio_rest:.2f} |"
            )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
