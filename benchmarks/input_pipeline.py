"""Images per second: a naive Python-generator input pipeline against a tuned tf.data one.

Both do the same work per image (decode a PNG, scale to [0, 1], random flip, random crop after
padding); see course_utils/pipelines.py. Run from the repository root:

    .venv/bin/python benchmarks/input_pipeline.py                  # offline: CIFAR-10 stand-in
    COURSE_MODE=full .venv/bin/python benchmarks/input_pipeline.py # the real CIFAR-10 images

It prints a table and the ratio tuned / naive. With --min-ratio R it exits with status 1 when
the ratio is below R (the course's target on a 2-core machine is 3).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="images per pass (default 2000)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2, help="passes per timed run (default 2)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per pipeline; the best is kept"
    )
    parser.add_argument(
        "--min-ratio", type=float, default=None, help="exit 1 if tuned/naive is below this"
    )
    args = parser.parse_args(argv)
    if args.images < args.batch_size:
        parser.error("--images must be at least --batch-size")

    import tensorflow as tf

    from course_utils import env
    from course_utils import pipelines as pl
    from course_utils.datasets.cifar10 import load_cifar10

    if env.is_quick():  # the stand-in is generated in multiples of ten images
        (x, y), _ = load_cifar10(n_train=-(-args.images // 10) * 10, n_test=10)
    else:
        (x, y), _ = load_cifar10()
    x, y = x[: args.images], y[: args.images]
    encoded = pl.encode_png(x)
    print(
        f"{len(x):,} images of {x.shape[1]}x{x.shape[2]} as PNG "
        f"({np.mean([len(b) for b in encoded]):.0f} "
        f"bytes each); batch {args.batch_size}; best of {args.repeats} runs of {args.epochs} "
        "passes"
    )
    print(f"TensorFlow {tf.__version__}; CPU cores visible: {os.cpu_count()}")
    results = pl.compare_pipelines(
        encoded, y, args.batch_size, repeats=args.repeats, epochs=args.epochs
    )
    print(pl.format_table(results))
    ratio = results["tuned"].per_second / results["naive"].per_second
    print(f"ratio tuned / naive (same decode + augment work): {ratio:.1f}x")
    if args.min_ratio is not None and ratio < args.min_ratio:
        print(f"FAIL: below the target of {args.min_ratio}x")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
