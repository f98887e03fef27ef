"""Checks for chapter 06's exercises: inverted dropout by hand (against keras.layers.Dropout),
an augmentation for digits that keeps every label true (every layer on its own, then the
whole), and early stopping by hand (against keras.callbacks.EarlyStopping)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .checking import as_array, call, fresh_seed, run, show

# ----------------------------------------------------------------------------- 6.1 dropout


def _dropout_stats(x: np.ndarray, out: np.ndarray) -> tuple[float, np.ndarray]:
    """Share of values set to 0, and the factors the kept ones were multiplied by."""
    kept = out != 0
    return 1 - kept.mean(), out[kept] / x[kept]


def check_dropout(fn: Callable, seed: int | None = None) -> None:
    """Exercise 6.1: inverted dropout, against keras.layers.Dropout: the share of zeros, the
    scale of what is kept, one draw per value from the generator given, nothing at inference."""
    import keras

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        x = rng.uniform(0.5, 2.0, size=(400, 250)) * rng.choice([-1.0, 1.0], size=(400, 250))
        x = x.astype("float32")  # no zeros: a 0 in the output was dropped
        parts = []
        for rate in (0.2, 0.7):  # not 0.5: keeping with probability rate would not show
            given = x.copy()
            out = as_array(
                call(fn, given, rate, np.random.default_rng(seed + 1), True), "your output"
            )
            if not np.array_equal(given, x):
                return (
                    False,
                    "your function changed x: return a new array (x * mask, not x *= mask)",
                )
            if out.shape != x.shape:
                return False, f"your output has shape {out.shape}, expected {x.shape} like x"
            keras_out = np.asarray(keras.layers.Dropout(rate, seed=seed)(x, training=True))
            k_dropped, k_scale = _dropout_stats(x, keras_out)
            dropped, scale = _dropout_stats(x, out)
            n = x.size
            width = 10 * np.sqrt(rate * (1 - rate) / n)  # ten binomial standard deviations
            setting = (
                f"rate {rate} on {n:,} values: keras.layers.Dropout zeroes "
                f"{k_dropped:.1%} and multiplies the rest by {show(np.median(k_scale), 5)} "
                f"(1 / (1 - rate) = {1 / (1 - rate):.5g}); yours zeroes {dropped:.1%}"
            )
            pattern = out != 0
            same_rows = np.mean([np.array_equal(pattern[0], row) for row in pattern[1:]])
            if same_rows > 0.5:
                return False, (
                    f"{setting}: every row of your output has the same zeros; each "
                    "value needs its own draw (rng.random(x.shape))"
                )
            if abs(dropped - rate) > width:
                detail = setting
                if abs(dropped - (1 - rate)) <= width:
                    detail += (
                        "; that is the share you should keep: drop a value with "
                        f"probability rate ({rate}), keep it with probability 1 - rate"
                    )
                return False, detail
            if not np.allclose(scale, 1 / (1 - rate), rtol=1e-5):
                detail = f"{setting} and multiplies the rest by {show(np.median(scale), 5)}"
                if np.allclose(scale, 1.0, rtol=1e-5):
                    detail += (
                        "; without the 1 / (1 - rate) the expected output is (1 - rate) x, "
                        "and inference would see larger values than training"
                    )
                elif np.allclose(scale, 1 - rate, rtol=1e-5):
                    detail += "; divide the kept values by 1 - rate, do not multiply"
                return False, detail
            again = as_array(call(fn, x.copy(), rate, np.random.default_rng(seed + 1), True))
            other = as_array(call(fn, x.copy(), rate, np.random.default_rng(seed + 2), True))
            if not np.array_equal(again, out):
                return False, (
                    "two generators made from the same seed gave different outputs: "
                    "draw from the generator rng you are given, not from np.random"
                )
            if np.array_equal(other, out):
                return False, (
                    f"generators made from seeds {seed + 1} and {seed + 2} gave the "
                    "same output: draw from the generator rng you are given"
                )
            parts.append(
                f"rate {rate}: zeroes {dropped:.1%} (Keras {k_dropped:.1%}), keeps x / "
                f"{1 - rate:.1f}"
            )
        for rate in (0.2, 0.7):
            at_inference = as_array(call(fn, x.copy(), rate, np.random.default_rng(seed), False))
            if not np.allclose(at_inference, x):
                changed = np.mean(~np.isclose(at_inference, x))
                return False, (
                    f"with training=False and rate {rate} your output differs from x "
                    f"in {changed:.1%} of the values: at inference dropout does "
                    "nothing (the scaling already happened in training)"
                )
        return True, "; ".join(parts) + "; x unchanged at inference, as keras.layers.Dropout"

    run(
        "6.1 (inverted dropout)",
        body,
        seed=seed,
        repeat="ch06.check_dropout(inverted_dropout, seed={seed})",
    )


# ------------------------------------------------------------------------ 6.2 augmentation


def _three_dots(n: int) -> np.ndarray:
    """n black 48x48 RGB images with a red, a green and a blue square near the middle."""
    images = np.zeros((n, 48, 48, 3), dtype="float32")
    for channel, (row, col) in enumerate([(16, 18), (31, 17), (24, 32)]):
        images[:, row - 2 : row + 3, col - 2 : col + 3, channel] = 255.0
    return images


def _orientation(image: np.ndarray) -> float | None:
    """Sign of the turn red -> green -> blue (the dots' centres), None if a dot left the image."""
    rows, cols = np.mgrid[:48, :48]
    centres = []
    for channel in range(3):
        mass = image[:, :, channel].clip(0, None)
        if mass.sum() < 0.5 * 25 * 255:
            return None
        centres.append(np.array([(rows * mass).sum(), (cols * mass).sum()]) / mass.sum())
    (a, b), (c, d) = centres[1] - centres[0], centres[2] - centres[0]
    return float(np.sign(a * d - b * c))


def _all_layers(model: Any) -> list:
    """Every layer, nested models opened."""
    found = []
    for layer in getattr(model, "layers", []):
        found += _all_layers(layer) if getattr(layer, "layers", None) else [layer]
    return found


FILLS = {
    "reflect": "mirror the image into them",
    "nearest": "repeat the nearest edge pixel",
    "wrap": "wrap the opposite side of the image around",
}


def _fill_problem(layer: Any) -> str:
    """What is wrong with a layer's fill, or ''."""
    mode, value = getattr(layer, "fill_mode", None), getattr(layer, "fill_value", 0.0)
    kind = type(layer).__name__
    if mode != "constant":
        how = FILLS.get(str(mode), "are not black")
        return (
            f"your {kind} has fill_mode={mode!r}: the pixels it uncovers {how} instead of "
            "being black; give it fill_mode='constant'"
        )
    if value != 0:
        return (
            f"your {kind} fills with fill_value={value!r}: new pixels must be black, "
            "fill_value=0.0"
        )
    return ""


def check_digit_augmentation(fn: Callable, seed: int | None = None) -> None:
    """Exercise 6.2: rotation, zoom and shift layers that each fill with black; random changes
    in training only, shapes kept, never a mirror image."""
    import keras

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        keras.utils.set_random_seed(seed)  # the layers draw their own random numbers
        augment = call(fn)
        layers = _all_layers(augment)
        kinds = {type(layer).__name__ for layer in layers}
        missing = [
            k for k in ("RandomRotation", "RandomZoom", "RandomTranslation") if k not in kinds
        ]
        if missing:
            return False, (
                f"your augmentation has the layers {sorted(kinds) or 'none'}; it needs "
                f"{', '.join(missing)} too (rotations, zooms and shifts)"
            )
        for layer in layers:  # each layer on its own: another layer's black corners hide nothing
            problem = _fill_problem(layer) if hasattr(layer, "fill_mode") else ""
            if problem:
                return False, problem
        dots = _three_dots(32)
        try:
            out = np.asarray(augment(dots, training=True))
            still = np.asarray(augment(dots, training=False))
            white = np.asarray(augment(np.full_like(dots, 255.0), training=True))
        except Exception as err:  # the model the student built fails on images
            return (
                False,
                f"applying your augmentation to 32 images raised {type(err).__name__}: {err}",
            )
        if out.shape != dots.shape or out.dtype != dots.dtype:
            return (
                False,
                f"32 images {dots.shape} {dots.dtype} came out as {out.shape} {out.dtype}",
            )
        if not np.allclose(still, dots, atol=1e-3):
            return (
                False,
                "with training=False the images changed: augmentation must leave them alone at "
                "inference",
            )
        changed = int(np.sum(np.abs(out - dots).max(axis=(1, 2, 3)) > 25))
        if changed < 16:
            return False, f"with training=True only {changed} of 32 images changed visibly"
        turns = [_orientation(image) for image in out]
        kept = [t for t in turns if t is not None]
        mirrored = sum(t != _orientation(dots[0]) for t in kept)
        if mirrored:
            return False, (
                f"{mirrored} of {len(kept)} images came out as mirror images (the red, "
                "green and blue dots turned the other way round): a mirrored digit is "
                "no digit"
            )
        if len(kept) < 16:
            return False, (
                f"the changes are so large that a dot near the middle left "
                f"{32 - len(kept)} of 32 images"
            )
        filled_black = int(np.sum(white.min(axis=(1, 2, 3)) < 128))
        return True, (
            f"{', '.join(sorted(k for k in kinds if k.startswith('Random')))} each fill "
            f"with black; unchanged at inference, {changed} of 32 images changed in "
            f"training, none of {len(kept)} mirrored, black pixels in {filled_black} of "
            "32 white images"
        )

    run(
        "6.2 (augmentation for digits)",
        body,
        seed=seed,
        repeat="ch06.check_digit_augmentation(make_digit_augmentation, seed={seed})",
    )


# ------------------------------------------------------------------------ 6.3 early stopping


class _Model:
    """What EarlyStopping touches of a model: stop_training, and weights it saves and restores
    (here the number of the epoch they are from)."""

    def __init__(self) -> None:
        self.stop_training, self.epoch = False, -1
        self.restored: int | None = None  # the epoch of the weights set last

    def get_weights(self) -> list:
        return [self.epoch]

    def set_weights(self, weights: list) -> None:
        self.restored = weights[0]


def keras_early_stopping(
    val_loss: list[float], patience: int, min_delta: float
) -> tuple[int, int]:
    """(epoch training stops at, epoch whose weights are restored), from 1, as Keras' own
    EarlyStopping(monitor='val_loss', mode='min', restore_best_weights=True) decides them."""
    import keras

    callback = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        mode="min",
        patience=patience,
        min_delta=min_delta,
        restore_best_weights=True,
    )
    model = _Model()
    callback.set_model(model)
    callback.on_train_begin()
    stopped = len(val_loss)
    for epoch, loss in enumerate(val_loss):
        model.epoch = epoch
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            stopped = epoch + 1
            break
    callback.on_train_end()
    if model.restored is None:
        raise RuntimeError("EarlyStopping restored no weights: restore_best_weights is off?")
    return stopped, model.restored + 1


def early_stopping_reference(
    val_loss: list[float],
    patience: int,
    min_delta: float,
    *,
    strict: bool = True,
    against: str = "best",
    extra: int = 0,
    restored: str = "improved",
) -> tuple[int, int]:
    """The same by hand; the keyword arguments give the usual mistakes: a tie (or an
    improvement by exactly min_delta) counted as one, comparing with the previous epoch instead
    of the best, stopping one epoch late, restoring the lowest loss instead of the last epoch
    that improved."""
    best: float | None = None
    previous: float | None = None
    best_epoch, wait = 0, 0
    for epoch, loss in enumerate(val_loss):
        reference = best if against == "best" else previous
        better = reference is None or (
            loss < reference - min_delta if strict else loss <= reference - min_delta
        )
        previous = loss
        wait += 1
        if better:
            best, best_epoch, wait = loss, epoch, 0
            if against != "best":
                best = loss
            continue
        if wait >= patience + extra and epoch > 0:
            return epoch + 1, _restored(val_loss[: epoch + 1], best_epoch, restored)
    return len(val_loss), _restored(val_loss, best_epoch, restored)


def _restored(val_loss: list[float], best_epoch: int, restored: str) -> int:
    return best_epoch + 1 if restored == "improved" else int(np.argmin(val_loss)) + 1


def _curves(rng: np.random.Generator) -> list[tuple[str, list[float], int, float]]:
    """(what, val_loss, patience, min_delta): fixed curves that tell the usual mistakes apart
    (values that are sums of powers of 2, so that best - min_delta is exact), then random ones."""
    fixed = [
        ("best at epoch 1", [0.5, 0.75, 0.625, 0.875, 0.5625, 1.0], 2, 0.0),
        ("a tie with the best", [1.0, 0.5, 0.75, 0.5, 0.625, 0.875], 2, 0.0),
        ("a gain of exactly min_delta", [1.0, 0.5, 0.375, 0.4375, 0.625, 0.75], 2, 0.125),
        ("gains smaller than min_delta", [1.0, 0.5, 0.4375, 0.375, 0.3125, 0.25, 0.625], 3, 0.125),
        ("patience 0", [1.0, 0.75, 0.5, 0.625, 0.25], 0, 0.0),
        ("a curve that never stops improving", [1.0, 0.75, 0.5, 0.25, 0.125], 1, 0.0),
        (
            "a slow slide after the best",
            [1.0, 0.25, 0.5, 0.4375, 0.375, 0.3125, 0.28125, 0.3],
            3,
            0.0,
        ),
    ]
    cases = list(fixed)
    for _ in range(4):
        n = int(rng.integers(15, 40))
        t = np.arange(n) / n
        curve = 0.3 + 1.5 * (t - rng.uniform(0.2, 0.6)) ** 2 + rng.normal(0, 0.04, n)
        cases.append(
            (
                "a random noisy curve",
                [float(v) for v in curve],
                int(rng.integers(1, 6)),
                float(rng.choice([0.0, 0.01, 0.03])),
            )
        )
    return cases


STOPPING_MISTAKES = (
    (
        {"strict": False},
        "an epoch improves only if its loss is below best - min_delta: a tie, or "
        "a gain of exactly min_delta, is no improvement",
    ),
    (
        {"against": "previous"},
        "compare each epoch with the best loss so far, not with the epoch before",
    ),
    (
        {"extra": 1},
        "you stop one epoch late: with patience p, training stops at the p-th epoch "
        "in a row without improvement",
    ),
    (
        {"extra": -1},
        "you stop one epoch early: with patience p, training stops at the p-th "
        "epoch in a row without improvement",
    ),
    (
        {"restored": "lowest"},
        "the weights restored are those of the last epoch that improved, "
        "which with min_delta > 0 need not be the lowest loss",
    ),
)


def check_early_stopping(fn: Callable, seed: int | None = None) -> None:
    """Exercise 6.3: the epoch EarlyStopping stops at and the epoch it restores, against the
    callback itself fed the same validation losses."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cases, passed = _curves(rng), []
        for what, curve, patience, min_delta in cases:
            expected = keras_early_stopping(curve, patience, min_delta)
            given = list(curve)
            got = call(fn, given, patience, min_delta)
            if given != curve:
                return False, "your function changed the list of losses it was given"
            try:
                got = tuple(int(v) for v in got)
            except (TypeError, ValueError):
                return False, f"{fn.__name__} should return two epoch numbers; got {got!r}"
            if got == expected:
                passed.append((curve, patience, min_delta, expected))
                continue
            detail = (
                f"{what}, patience {patience}, min_delta {min_delta}: "
                f"val_loss {show(np.array(curve), 4)}; Keras stops at epoch {expected[0]} "
                f"and restores epoch {expected[1]}; yours {got[0]} and {got[1]}"
            )
            if got == (expected[0] - 1, expected[1] - 1):
                detail += "; epochs count from 1, as in the training log"
            else:
                for told, words in STOPPING_MISTAKES:  # one that fits this case and the passed
                    if got == early_stopping_reference(curve, patience, min_delta, **told) and all(
                        early_stopping_reference(*case[:3], **told) == case[3] for case in passed
                    ):
                        detail += f"; {words}"
                        break
            return False, detail
        return True, (
            f"{len(cases)} curves (a tie, gains of exactly and of less than min_delta, "
            "patience 0, no stop, random ones): stop and restored epochs as "
            "keras.callbacks.EarlyStopping decides them"
        )

    run(
        "6.3 (early stopping)",
        body,
        seed=seed,
        repeat="ch06.check_early_stopping(early_stopping, seed={seed})",
    )
