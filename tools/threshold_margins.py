"""Measure the margin of every threshold a chapter asserts, over several seeds.

    python tools/threshold_margins.py [--seeds 42 43 44 45 46] [--workers 2] [05 11 ...]

Each chapter runs in quick mode once per seed (COURSE_SEED, read by `env.setup`); afterwards
the value behind each asserted threshold is read from the kernel. A threshold is safe when the
lowest value over the seeds clears it with room to spare: a different TensorFlow or Python
changes the arithmetic about as much as a different seed does. Prints one row per check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

# chapter -> (check, the expression the chapter asserts on, "ge"/"le", quick-mode threshold)
CHECKS: dict[str, list[tuple[str, str, str, float]]] = {
    "01": [("kNN test accuracy", "test_acc", "ge", 0.25)],
    "02": [("linear SVM val accuracy", "val['linear SVM']", "ge", 0.3),
           ("softmax val accuracy", "val['softmax']", "ge", 0.3)],
    "03": [("two-layer net val accuracy", "val_acc", "ge", 0.4)],
    "04": [("std, small init, last tanh layer", "std_last['small random (0.01), tanh']", "le", 1e-4),
           ("saturated share, large init", "saturated", "ge", 0.9),
           ("std, Xavier tanh (upper bound 1.0)", "std_last['Xavier 1/sqrt(fan_in), tanh']", "ge", 0.1),
           ("Xavier/He std ratio, ReLU", "std_last['Xavier 1/sqrt(fan_in), ReLU'] / std_last['He sqrt(2/fan_in), ReLU']", "le", 0.1),
           ("final loss, zero and small starts", "min(final_loss['zero'], final_loss['small (0.01)'])", "ge", 2.25),
           ("final loss, worst of Glorot / He / He + BN", "max(final_loss[k] for k in ('Glorot', 'He', 'He + batch norm'))", "le", 2.0),
           ("final loss, He + batch norm", "final_loss['He + batch norm']", "le", 0.1)],
    "05": [("MNIST convnet test accuracy", "results['mnist_convnet']", "ge", 0.95),
           ("pooled - unpooled accuracy, digits moved 2 px", "shift_accuracy['with pooling'][2] - shift_accuracy['no pooling'][2]", "ge", 0.03)],
    "06": [("baseline: epochs after its lowest validation loss", "EPOCHS_BASELINE - lowest - 1", "ge", 15),
           ("baseline: validation loss rise after its minimum", "rise", "ge", 0.05),
           ("test accuracy, both cures - baseline", "regularised_test - baseline_test", "ge", 0.03),
           ("baseline test acc. (not asserted)", "baseline_test", "ge", 0.0),
           ("augmentation only - baseline (not asserted)", "test_accuracy['augmentation only'] - baseline_test", "ge", -1.0),
           ("dropout only - baseline (not asserted)", "test_accuracy['dropout only'] - baseline_test", "ge", -1.0),
           ("average-pooling head - baseline (not asserted)", "test_accuracy['both, average-pooling head'] - baseline_test", "ge", -1.0)],
    "07": [("fine-tuned - scratch, test acc.", "fine_test - scratch_test", "ge", 0.10),
           ("scratch test acc. (not asserted)", "scratch_test", "ge", 0.0),
           ("fast features test acc. (not asserted)", "features_test", "ge", 0.0),
           ("frozen + aug. test acc. (not asserted)", "augmented_test", "ge", 0.0),
           ("fine-tuned test acc. (not asserted)", "fine_test", "ge", 0.0),
           ("BN trainable - BN frozen (not asserted)", "fine_test - frozen_bn_test", "ge", -1.0)],
    "08": [("tuned / naive pipeline speed-up", "speedup", "ge", 3.0),
           ("VGG-style test accuracy", "test_accuracy['vgg_style']", "ge", 0.3)],
    "09": [("Grad-CAM peak inside the box", "rate", "ge", 0.9)],
    "11": [("mean-field vs pydensecrf2 agreement", "float(np.mean(agreements))", "ge", 0.95),
           ("same relabelling, share of relabelled pixels", "alike", "ge", 0.7),
           ("CRF, share relabelled near true edges", "relabelled", "ge", 0.08),
           ("CRF, accuracy gain near true edges", "accuracy['network + CRF'][0] - accuracy['network'][0]", "ge", 0.05),
           ("CRF mean IoU gain, generated scenes", "miou_after - miou_before", "ge", 0.05)],
    "12": [("box regressor mean IoU", "float(ious.mean())", "ge", 0.6),
           ("smooth L1 - L2 mean IoU, 5% wrong boxes", "float(noisy_iou['smooth L1'].mean() - noisy_iou['L2'].mean())", "ge", 0.02)],
}


def measure(chapter: str, seed: int) -> dict[str, float]:
    # a chapter is named by its number, or by its file's stem where two share a number
    matches = sorted(ROOT.glob(f"notebooks/{chapter}.ipynb")) or sorted(ROOT.glob(f"notebooks/{chapter}_*.ipynb"))
    if len(matches) != 1:
        raise ValueError(f"chapter {chapter!r} names {len(matches)} notebooks {[m.name for m in matches]}: "
                         "key CHECKS by the notebook's stem instead")
    path = matches[0]
    nb = nbformat.read(path, as_version=4)
    exprs = {name: expr for name, expr, _, _ in CHECKS[chapter]}
    probe = "import json as _j\nprint('MARGINS' + _j.dumps({k: float(eval(v)) for k, v in %r.items()}))" % exprs
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    # a checkpoint folder of its own: runs side by side must not load each other's weights
    os.environ.update(COURSE_MODE="quick", COURSE_SEED=str(seed),
                      COURSE_CHECKPOINT_DIR=tempfile.mkdtemp(prefix=f"margins-{chapter}-{seed}-"))
    # allow_errors: a failing assert must not hide the value it failed on
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [i for i, c in enumerate(nb.cells[:-1]) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    for output in nb.cells[-1].outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith("MARGINS"):
                print(f"chapter {chapter} seed {seed}: {line[len('MARGINS'):]}"
                      + (f"  (cells {errors} raised)" if errors else ""), flush=True)
                return json.loads(line[len("MARGINS"):])
    raise RuntimeError(f"chapter {chapter}, seed {seed}: no values printed (cells {errors} raised)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", default=sorted(CHECKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44, 45, 46])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    jobs = [(c, s) for c in args.chapters for s in args.seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(measure, *zip(*jobs))))
    w = max(3, *(len(c) for c in args.chapters))
    print(f"{'ch':{w}s} {'check':42s} {'threshold':>12s} {'lowest':>9s} {'highest':>9s}  values (seeds {args.seeds})")
    bad = 0
    for chapter in args.chapters:
        for name, _, sense, limit in CHECKS[chapter]:
            values = [results[(chapter, s)][name] for s in args.seeds]
            holds = all(v >= limit for v in values) if sense == "ge" else all(v <= limit for v in values)
            bad += not holds
            print(f"{chapter:{w}s} {name:42s} {('>= ' if sense == 'ge' else '<= ') + f'{limit:g}':>12s} "
                  f"{min(values):9.4g} {max(values):9.4g}  {' '.join(f'{v:.4g}' for v in values)}"
                  + ("" if holds else "  FAILS"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
