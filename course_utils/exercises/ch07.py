"""Checks for chapter 07's exercises: VGG16's preprocessing by hand, and a gradual-unfreezing
schedule for fine-tuning (which block trains from which epoch, at which learning rate)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .checking import as_array, call, compare, fresh_seed, run

IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
VGG16_CONVS_PER_BLOCK = (2, 2, 3, 3, 3)


def check_vgg_preprocess(fn: Callable, seed: int | None = None) -> None:
    """Exercise 7.1: RGB -> BGR and the ImageNet mean subtracted, against Keras'
    preprocess_input."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import keras

        rng = np.random.default_rng(seed)
        images = rng.uniform(0, 255, size=(int(rng.integers(2, 5)), 7, 5, 3)).astype("float32")
        expected = keras.applications.vgg16.preprocess_input(images.copy())
        given = images.copy()
        got = call(fn, given)
        if not np.array_equal(given, images):
            return False, (
                "your function changed the images it was given: return a new array "
                "(images - mean, not images -= mean)"
            )
        passed, how = compare(got, expected, rtol=1e-5, atol=1e-3)
        if passed:
            return True, f"{len(images)} random 7x5 RGB images: same as preprocess_input ({how})"
        got = as_array(got)
        if got.shape == expected.shape:
            if np.allclose(got[..., ::-1], expected, atol=1e-3):
                how += "; your channels are in the reverse order: flip RGB to BGR (or back)"
            elif np.allclose(got, images - np.array(IMAGENET_MEAN_BGR), atol=1e-3):
                how += "; you subtracted the BGR means but kept the channels in RGB order"
            elif np.allclose(
                got, images[..., ::-1] - np.array(IMAGENET_MEAN_BGR)[::-1], atol=1e-3
            ):
                how += "; the channels are BGR, but each got the mean of the wrong colour"
            elif np.abs(got).max() < 2:
                how += "; VGG16 takes pixels on the 0..255 scale: do not divide by 255"
        return False, how

    run(
        "7.1 (VGG16 preprocessing by hand)",
        body,
        seed=seed,
        repeat="ch07.check_vgg_preprocess(vgg_preprocess, seed={seed})",
    )


VGG16_NAMES = ["input_layer"] + [
    f"block{block}_{kind}"
    for block, n in enumerate(VGG16_CONVS_PER_BLOCK, start=1)
    for kind in [f"conv{i}" for i in range(1, n + 1)] + ["pool"]
]


def schedule_reference(
    layer_names: list[str],
    epochs: int,
    head_epochs: int,
    every: int,
    lowest: str,
    lr: float,
    factor: float,
    *,
    start: int = 1,
    order: str = "top down",
    floor: bool | str = True,
    compound: bool = True,
    keep_dividing: bool = False,
) -> list[tuple[str | None, float]]:
    """One (first trainable layer or None, learning rate) per epoch. The keyword arguments give
    the usual mistakes: the first unfrozen epoch one early, the blocks from the bottom up, no
    floor at `lowest`, the rate divided once instead of once per block, or divided on after the
    last block."""
    blocks = []
    for name in layer_names:
        block = name.split("_")[0]
        if block.startswith("block") and block not in blocks:
            blocks.append(block)
    top_down = blocks[::-1] if order == "top down" else list(blocks)
    if floor == "above":  # stops one block short of `lowest`
        allowed = top_down[: max(top_down.index(lowest), 1)]
    else:
        allowed = top_down[: top_down.index(lowest) + 1] if floor else top_down
    plan: list[tuple[str | None, float]] = []
    for epoch in range(1, epochs + 1):
        past = epoch - head_epochs - start  # epochs since the first block was unfrozen
        if past < 0:
            plan.append((None, lr))
            continue
        stages = past // every + 1
        n = min(stages, len(allowed))
        first = allowed[n - 1]
        divisions = stages if keep_dividing else n
        rate = lr / factor**divisions if compound else lr / factor
        plan.append((next(name for name in layer_names if name.startswith(first + "_")), rate))
    return plan


def _schedule_cases(rng: np.random.Generator) -> list[tuple[str, list[str], tuple]]:
    """(what, layer names, (epochs, head_epochs, every, lowest, lr, factor)): VGG16's names with
    a run long enough to reach the lowest block and stay there; no head epochs and one block;
    a small base without an input layer; then a random plan on VGG16."""
    small = [
        "block1_conv1",
        "block1_pool",
        "block2_conv1",
        "block2_conv2",
        "block2_pool",
        "block3_conv1",
        "block3_pool",
    ]
    lr = float(rng.choice([1e-3, 2e-4]))
    cases = [
        ("VGG16", VGG16_NAMES, (14, 2, 3, "block3", lr, 2.0)),
        ("VGG16, no head epochs", VGG16_NAMES, (4, 0, 1, "block5", lr, 10.0)),
        ("a small base", small, (9, 1, 2, "block1", lr, 3.0)),
    ]
    head, every = int(rng.integers(0, 5)), int(rng.integers(1, 5))
    lowest = f"block{int(rng.integers(1, 5))}"
    cases.append(
        (
            "VGG16, random settings",
            VGG16_NAMES,
            (
                head + 5 * every + int(rng.integers(0, 4)),
                head,
                every,
                lowest,
                lr,
                float(rng.choice([2.0, 4.0, 10.0])),
            ),
        )
    )
    return cases


FROZEN_FOR = (
    "the base stays frozen for head_epochs epochs: the first block trains from epoch "
    "head_epochs + 1 (epochs count from 1)"
)
SCHEDULE_MISTAKES = (
    ({"start": 0}, FROZEN_FOR),
    ({"start": 2}, FROZEN_FOR),
    (
        {"order": "bottom up"},
        "unfreeze from the top: block5 first, the most specialised, then down",
    ),
    ({"floor": False}, "never unfreeze below the block `lowest`"),
    ({"floor": "above"}, "unfreeze down to the block `lowest` itself"),
    ({"compound": False}, "divide by factor once more for every block unfrozen, not once in all"),
    (
        {"keep_dividing": True},
        "once the lowest block is unfrozen nothing changes any more, the learning rate included",
    ),
)


def check_unfreeze_schedule(fn: Callable, seed: int | None = None) -> None:
    """Exercise 7.2: a gradual-unfreezing plan, epoch by epoch: the first trainable layer of
    the base (or None) and the learning rate."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cases = _schedule_cases(rng)
        for what, names, settings in cases:
            expected = schedule_reference(names, *settings)
            given = list(names)
            got = call(fn, given, *settings)
            if given != names:
                return False, "your function changed the list of layer names it was given"
            args = "epochs={}, head_epochs={}, every={}, lowest={!r}, lr={}, factor={}".format(
                *settings
            )
            try:
                got = [(first, float(rate)) for first, rate in got]
            except (TypeError, ValueError):
                return False, (
                    f"{fn.__name__} should return a list of (layer name or None, "
                    f"learning rate) pairs, one per epoch; got {got!r:.80}"
                )
            if len(got) != len(expected):
                return False, (
                    f"{what}, {args}: your plan has {len(got)} entries, expected "
                    f"{len(expected)}, one per epoch (epochs 1 to {settings[0]})"
                )
            wrong = [
                i
                for i, (g, e) in enumerate(zip(got, expected, strict=True))
                if g[0] != e[0] or not np.isclose(g[1], e[1], rtol=1e-9, atol=0)
            ]
            if not wrong:
                continue
            i = wrong[0]
            detail = (
                f"{what}, {args}: at epoch {i + 1} yours is {got[i][0]!r} at learning rate "
                f"{got[i][1]:.4g}, expected {expected[i][0]!r} at {expected[i][1]:.4g} "
                f"(expected plan: {_describe(expected)})"
            )
            mine, right = got[i][0], expected[i][0]
            if (
                mine is not None
                and right is not None
                and mine.split("_")[0] == right.split("_")[0]
                and mine != right
            ):
                detail += "; name the block's first layer, as section 6's FINE_FROM does"
            else:
                for told, words in SCHEDULE_MISTAKES:
                    other = schedule_reference(names, *settings, **told)
                    if all(
                        g[0] == o[0] and np.isclose(g[1], o[1], rtol=1e-9, atol=0)
                        for g, o in zip(got, other, strict=True)
                    ):
                        detail += f"; {words}"
                        break
            return False, detail
        plan = schedule_reference(*cases[0][1:2], *cases[0][2])
        return True, (
            f"{len(cases)} plans right, among them VGG16 over 14 epochs: {_describe(plan)}"
        )

    run(
        "7.2 (a fine-tuning schedule)",
        body,
        seed=seed,
        repeat="ch07.check_unfreeze_schedule(unfreeze_schedule, seed={seed})",
    )


def _describe(plan: list[tuple[str | None, float]]) -> str:
    """'epochs 1-2 frozen at 0.001, 3-5 from block5_conv1 at 0.0005, ...'."""
    parts, start = [], 0
    for i in range(1, len(plan) + 1):
        if i == len(plan) or plan[i] != plan[start]:
            first, rate = plan[start]
            span = f"{start + 1}" if i - 1 == start else f"{start + 1}-{i}"
            parts.append(f"{span} {'frozen' if first is None else 'from ' + first} at {rate:.4g}")
            start = i
    return "epochs " + ", ".join(parts)
