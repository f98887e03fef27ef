"""Chapters 10 and 11 in quick mode over several seeds: the network's mean IoU and the CRF's gain.

    python benchmarks/segmentation_seeds.py [--seeds 0 1 2 3 4] [--workers 1]

Seed k draws new generated scenes (train seed 10k, validation seed 10k + 1; k = 0 is the data
the chapters use) and trains with seed 42 + k (k = 0 is the chapters' own run). Each seed runs
chapter 10's training recipe (`deeplab.train`) and chapter 11's CRF procedure: parameters chosen
on the first 50 validation images from the chapter's grid, measured on the next 100. Besides
mean IoU before and after the CRF it reports what the CRF does near object boundaries (pixels
within 2 of a true class edge): how many it relabels, and how many of those it gets right.
`tools/threshold_margins.py 11` measures chapter 11 itself (its data, seeds 42-46).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def boundary_band(masks, width: int = 2):
    """Pixels within `width` of a place where the true class changes (N, H, W) bool."""
    import cv2
    import numpy as np

    band = np.zeros(masks.shape, bool)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    for i, m in enumerate(masks):
        grown = cv2.dilate(m, kernel)
        shrunk = cv2.erode(m, kernel)
        band[i] = grown != shrunk
    return band


def one_seed(k: int) -> dict[str, float]:
    os.environ.update(COURSE_MODE="quick", COURSE_CHECKPOINT_DIR=tempfile.mkdtemp(prefix=f"seg-seed-{k}-"))
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from course_utils import crf, deeplab, env, metrics
    from course_utils.datasets.synthetic import SHAPE_CLASSES, shapes_scenes

    env.setup(seed=42 + k)
    n_train, n_val = deeplab.DATA["quick_sizes"]
    train, val = shapes_scenes(n_train, 64, seed=10 * k), shapes_scenes(n_val, 64, seed=10 * k + 1)
    c = len(SHAPE_CLASSES)
    model = deeplab.train(train, val, c, f"seed{k}").load_best()
    x_val, y_val = val
    probs = deeplab.predict_probs(model, x_val)
    pred = probs.argmax(-1).astype(np.uint8)
    out = {"seed": k, "network_miou": metrics.mean_iou(y_val, pred, c)}
    grid = [crf.CRFParams(bilateral_sxy=30.0, bilateral_srgb=s, bilateral_weight=w)
            for w in (5.0, 10.0) for s in (8.0, 13.0, 20.0)]
    tune = slice(0, 50)
    scores = [metrics.mean_iou(y_val[tune], crf.refine_labels(crf.dense_crf, x_val[tune], probs[tune], p)[0], c)
              for p in grid]
    best = grid[int(np.argmax(scores))]
    held = slice(50, 150)
    y, before = y_val[held], pred[held]
    after = crf.refine_labels(crf.dense_crf, x_val[held], probs[held], best)[0]
    b = float(np.nanmean(metrics.per_class_iou(metrics.confusion_matrix(y, before, c))))
    a = float(np.nanmean(metrics.per_class_iou(metrics.confusion_matrix(y, after, c))))
    band = boundary_band(y)
    moved = after != before
    out.update(miou_before=b, miou_after=a, gain=a - b, tuned_gain=max(scores) - metrics.mean_iou(y_val[tune], pred[tune], c),
               w1=best.bilateral_weight, srgb=best.bilateral_srgb,
               relabelled=float(moved.mean()), band_relabelled=float(moved[band].mean()),
               band_acc_before=float((before == y)[band].mean()), band_acc_after=float((after == y)[band].mean()),
               inner_acc_before=float((before == y)[~band].mean()), inner_acc_after=float((after == y)[~band].mean()),
               fixed=float(((before != y) & (after == y)).sum() / max(moved.sum(), 1)),
               broken=float(((before == y) & (after != y)).sum() / max(moved.sum(), 1)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print("RESULT" + json.dumps(one_seed(args.one)), flush=True)
        return 0
    rows = []
    for k in args.seeds:  # one process per seed: a fresh TensorFlow, seeded from the start
        run = subprocess.run([sys.executable, __file__, "--one", str(k)], capture_output=True, text=True)
        line = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT")]
        if not line:
            print(run.stdout[-2000:], run.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(line[0][len("RESULT"):]))
        print(json.dumps(rows[-1]), flush=True)
    keys = ["network_miou", "miou_before", "miou_after", "gain", "band_relabelled", "band_acc_before",
            "band_acc_after", "fixed", "broken"]
    print("seed " + " ".join(f"{k:>15s}" for k in keys))
    for r in rows:
        print(f"{r['seed']:4d} " + " ".join(f"{r[k]:+15.4f}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
