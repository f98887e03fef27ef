"""Checks for chapter 05's exercises: image gradients with the Sobel kernels, output sizes the
way Keras computes them, what a ResNet bottleneck block costs, and a receptive field measured
with a gradient.

Each check runs fixed inputs that tell the usual mistakes from the right answer (a flipped
kernel, uint8 pixels, an even kernel with "same" padding, an odd map halved by a stride), then
random ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from .checking import call, compare, fresh_seed, number, run

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def sobel_reference(
    img: np.ndarray, kernel_x: np.ndarray = SOBEL_X
) -> tuple[np.ndarray, np.ndarray]:
    """(gx, gy) over the positions where the 3x3 kernel fits, the kernel slid unflipped, as a
    Conv2D slides its filters: gx[i, j] = sum over a, b of K[a, b] * img[i + a, j + b]."""
    img = np.asarray(img, dtype=np.float64)
    h, w = img.shape
    gx, gy = np.zeros((h - 2, w - 2)), np.zeros((h - 2, w - 2))
    for a in range(3):
        for b in range(3):
            window = img[a : a + h - 2, b : b + w - 2]
            gx += kernel_x[a, b] * window
            gy += kernel_x.T[a, b] * window
    return gx, gy


def _sobel_images(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """A vertical and a horizontal edge (uint8, as images are read), then random images."""
    step = np.zeros((7, 9), dtype=np.uint8)
    step[:, 4:] = 200  # dark left, bright right: gx > 0 on the edge, gy = 0
    ramp = np.repeat(np.arange(0, 240, 30, dtype=np.uint8)[:, None], 6, axis=1)  # brighter down
    noisy = rng.integers(0, 256, size=(int(rng.integers(8, 14)), int(rng.integers(15, 22))))
    return [
        ("a vertical edge (uint8)", step),
        ("a ramp getting brighter downwards (uint8)", ramp),
        ("random uint8 pixels", noisy.astype(np.uint8)),
        ("a random float image", rng.normal(0, 50, size=(int(rng.integers(10, 16)), 12))),
    ]


def _angle_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differences of angles in radians, wrapped into [0, pi] (pi and -pi are one direction)."""
    return np.abs(np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b)))))


def check_sobel(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.1: gradient magnitude and direction from the Sobel kernels, against the
    kernels slid the way Conv2D slides a filter (and cv2.Sobel)."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        for what, img in _sobel_images(rng):
            given = img.copy()
            got = call(fn, given)
            if not np.array_equal(given, img):
                return False, "your function changed the image it was given: work on a copy"
            try:
                magnitude, direction = (np.asarray(v, dtype=np.float64) for v in got)
            except (TypeError, ValueError):
                return False, f"{fn.__name__} should return two arrays, (magnitude, direction)"
            gx, gy = sobel_reference(img)
            want = np.hypot(gx, gy)
            h, w = img.shape
            if magnitude.shape != want.shape or direction.shape != want.shape:
                detail = (
                    f"{what} of {h}x{w}: your arrays have shapes {magnitude.shape} and "
                    f"{direction.shape}, expected {want.shape}"
                )
                if magnitude.shape == img.shape:
                    detail += (
                        ": only the positions where the whole 3x3 kernel fits, as a "
                        "Conv2D with padding='valid' gives (one row and column fewer on "
                        "each side)"
                    )
                return False, detail
            passed, how = compare(magnitude, want, rtol=1e-9, atol=1e-9, what="your magnitude")
            detail = f"{what} of {h}x{w}: "
            if not passed:
                if np.allclose(magnitude, np.abs(gx) + np.abs(gy)):
                    how += "; that is |gx| + |gy|: the magnitude is sqrt(gx**2 + gy**2)"
                elif img.dtype == np.uint8 and any(
                    np.allclose(magnitude, np.hypot(f(gx), f(gy))) for f in UINT8_RESULTS
                ):
                    how += (
                        "; in uint8 a negative gradient cannot exist: it wraps around "
                        "(0 - 200 gives 56) or is cut to 0. Convert the image to float first"
                    )
                return False, detail + how
            where = want > 1e-9  # where both gradients are 0 the direction means nothing
            gap = _angle_gap(direction, np.arctan2(gy, gx))
            if np.all(gap[where] < 1e-9):
                continue
            at = np.unravel_index(np.argmax(np.where(where, gap, 0)), gap.shape)
            detail += (
                f"your direction at {tuple(int(i) for i in at)} is {direction[at]:.4f}, "
                f"expected arctan2(gy, gx) = arctan2({gy[at]:.4g}, {gx[at]:.4g}) = "
                f"{np.arctan2(gy[at], gx[at]):.4f}"
            )
            if np.all(np.abs(gap[where] - np.pi) < 1e-9):
                detail += (
                    "; every direction points the opposite way: you flipped the kernel (a "
                    "textbook convolution does; a Conv2D, and this exercise, slide it as "
                    "it is, so gx > 0 where the image gets brighter to the right)"
                )
            elif np.all(_angle_gap(direction, np.arctan2(gx, gy))[where] < 1e-9):
                detail += "; gx and gy are swapped: gx uses the kernel whose columns differ"
            elif np.all(
                _angle_gap(direction, np.arctan(gy / np.where(gx == 0, 1e-300, gx)))[where] < 1e-6
            ):
                detail += (
                    "; np.arctan(gy / gx) loses the quadrant (and divides by 0): use "
                    "np.arctan2(gy, gx)"
                )
            return False, detail
        return True, (
            "a vertical edge, a ramp, random uint8 and float images: magnitude and "
            "direction as the Sobel kernels, slid as a Conv2D slides them, give them"
        )

    run(
        "5.1 (Sobel gradients)",
        body,
        seed=seed,
        repeat="ch05.check_sobel(sobel_gradients, seed={seed})",
    )


UINT8_RESULTS = (lambda g: g % 256, lambda g: np.clip(g, 0, 255))  # wrapped, saturated


def _output_size_cases(rng: np.random.Generator) -> list[tuple[int, int, int, str, int]]:
    """(W, F, S, padding, dilation): fixed cases that tell the usual formulas apart, then random.

    'same' with an even kernel and stride 1 (a padding of (F - 1) // 2 a side gives W - 1); an
    even kernel, stride 2 and an even W (a padding of F // 2 a side gives W / 2 + 1); an odd W
    with stride 2 (floor instead of ceiling); 'valid' where the last step does not fit (rounding
    up); a dilated kernel (its span); the kernel as wide as the input (one output)."""
    fixed = [
        (21, 2, 1, "same", 1),
        (20, 4, 2, "same", 1),
        (21, 3, 2, "same", 1),
        (20, 3, 3, "valid", 1),
        (17, 3, 1, "valid", 2),
        (15, 2, 1, "same", 3),
        (9, 9, 1, "valid", 1),
        (21, 3, 2, "valid", 1),
    ]
    cases = list(fixed)
    for padding in ("valid", "same"):
        for _ in range(4):  # strides, often not fitting the chapter's formula
            cases.append(
                (
                    int(rng.integers(9, 40)),
                    int(rng.choice([2, 3, 4, 5])),
                    int(rng.integers(2, 5)),
                    padding,
                    1,
                )
            )
        for _ in range(2):  # dilated filters, stride 1 (Keras allows no stride with dilation)
            cases.append(
                (
                    int(rng.integers(15, 40)),
                    int(rng.choice([2, 3, 5])),
                    1,
                    padding,
                    int(rng.integers(2, 4)),
                )
            )
    return cases


def check_keras_output_size(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.2: output size along one axis for valid and same padding, stride and dilation,
    against the shape a Keras Conv2D computes."""
    from keras import layers

    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cases = _output_size_cases(rng)
        for W, F, S, padding, d in cases:
            conv = layers.Conv2D(1, F, strides=S, padding=padding, dilation_rate=d)
            expected = int(conv.compute_output_shape((None, W, W, 1))[1])
            answer = call(fn, W, F, S, padding, d)
            got = number(answer)
            if got == expected:
                continue
            span = d * (F - 1) + 1
            detail = (
                f"keras_output_size(W={W}, F={F}, S={S}, padding={padding!r}, "
                f"dilation={d}) gave {answer!r:.40}, a Keras Conv2D outputs {expected}"
            )
            if padding == "same" and S > 1 and got == W:
                detail += (
                    " ('same' keeps the size only with stride 1; with stride S it divides it)"
                )
            elif (
                padding == "same"
                and span % 2 == 0
                and got
                in (
                    (W + 2 * ((span - 1) // 2) - span) // S + 1,
                    (W + 2 * (span // 2) - span) // S + 1,
                )
            ):
                detail += (
                    f" ('same' pads just enough that every S-th pixel gets an output, "
                    f"ceil(W / S) of them whatever the kernel; {F - 1 if d == 1 else span - 1}"
                    " pixels of padding do not split evenly between the two sides for "
                    "an even kernel)"
                )
            elif padding == "same" and got == W // S:
                detail += (
                    f" ('same' rounds up: a last, partial step still gives an output, "
                    f"ceil({W} / {S}) = {expected})"
                )
            elif padding == "valid" and d > 1 and got == W - F + 1:
                detail += f" (a dilated filter spans {span} pixels, not {F})"
            elif padding == "valid" and got == expected + 1:
                detail += " (a position counts only if the whole filter fits: round down)"
            return False, detail
        return True, (
            f"{len(cases)} layers (even and odd kernels, strides 1 to 4, dilations 1 "
            "to 3, valid and same), as Keras computes them"
        )

    run(
        "5.2 (output size as Keras computes it)",
        body,
        seed=seed,
        repeat="ch05.check_keras_output_size(keras_output_size, seed={seed})",
    )


def bottleneck_block(height: int, width: int, c_in: int, m: int, stride: int):
    """ResNet's bottleneck block in Keras, as exercise 5.3 describes it (biases left out)."""
    import keras
    from keras import layers

    inputs = keras.Input((height, width, c_in))
    x = layers.Conv2D(m, 1, use_bias=False)(inputs)
    x = layers.Conv2D(m, 3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.Conv2D(4 * m, 1, use_bias=False)(x)
    if stride > 1 or c_in != 4 * m:
        shortcut = layers.Conv2D(4 * m, 1, strides=stride, use_bias=False)(inputs)
    else:
        shortcut = inputs
    return keras.Model(inputs, layers.Add()([x, shortcut]))


def bottleneck_reference(
    height: int,
    width: int,
    c_in: int,
    m: int,
    stride: int,
    *,
    stride_ignored: bool = False,
    shortcut: str = "rule",
    rounding: str = "up",
) -> int:
    """Multiply-adds of one image through the block; the keyword arguments give the usual
    mistakes (the stride forgotten, the shortcut always or never counted, sizes rounded down)."""
    s = 1 if stride_ignored else stride
    if rounding == "up":
        h2, w2 = -(-height // s), -(-width // s)
    else:
        h2, w2 = height // s, width // s
    macs = height * width * c_in * m + h2 * w2 * 9 * m * m + h2 * w2 * m * 4 * m
    projected = {"rule": stride > 1 or c_in != 4 * m, "always": True, "never": False}[shortcut]
    return macs + (h2 * w2 * c_in * 4 * m if projected else 0)


BOTTLENECK_MISTAKES = (
    (
        {"stride_ignored": True},
        "the 3x3 convolution's stride makes the map smaller: it and the "
        "layers after it work on ceil(H / stride) x ceil(W / stride)",
    ),
    (
        {"rounding": "down"},
        "with padding 'same' a stride-2 layer on an odd size rounds up: 7 rows give 4",
    ),
    (
        {"shortcut": "never"},
        "the shortcut needs its own 1x1 convolution (stride s, c_in to 4m "
        "channels) whenever the stride is above 1 or c_in is not 4m",
    ),
    (
        {"shortcut": "always"},
        "when the stride is 1 and c_in is already 4m the shortcut is the "
        "identity and costs nothing",
    ),
)


def _bottleneck_cases(rng: np.random.Generator) -> list[tuple[int, int, int, int, int]]:
    """(height, width, c_in, m, stride): an identity shortcut (stride 1, c_in = 4m), a projected
    one at stride 1 (c_in != 4m), a stride 2 on odd sizes, then random blocks."""
    m = int(rng.integers(4, 17))
    cases = [
        (int(rng.integers(6, 15)), int(rng.integers(6, 15)), 4 * m, m, 1),
        (int(rng.integers(6, 15)), int(rng.integers(6, 15)), 2 * m, m, 1),
        (2 * int(rng.integers(3, 8)) + 1, 2 * int(rng.integers(3, 8)) + 1, 2 * m, m, 2),
    ]
    for _ in range(2):
        cases.append(
            (
                int(rng.integers(5, 20)),
                int(rng.integers(5, 20)),
                int(rng.integers(8, 64)),
                int(rng.integers(4, 24)),
                int(rng.choice([1, 2])),
            )
        )
    return cases


def check_bottleneck(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.3: multiply-adds of a bottleneck block, counted layer by layer (the count
    course_utils.flops makes of the block built in Keras: tests/test_exercises_ch05.py)."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        cases = _bottleneck_cases(rng)
        for case in cases:
            expected = bottleneck_reference(*case)
            got = call(fn, *case)
            passed, how = compare(got, expected, rtol=0, atol=0, what="your count")
            if passed:
                continue
            h, w, c_in, m, s = case
            h2, w2 = -(-h // s), -(-w // s)
            parts = [
                f"1x1 {c_in}->{m} on {h}x{w}: {h * w * c_in * m:,}",
                f"3x3 {m}->{m}, stride {s}, out {h2}x{w2}: {h2 * w2 * 9 * m * m:,}",
                f"1x1 {m}->{4 * m}: {h2 * w2 * m * 4 * m:,}",
            ]
            if s > 1 or c_in != 4 * m:
                parts.append(
                    f"shortcut 1x1 {c_in}->{4 * m}, stride {s}: {h2 * w2 * c_in * 4 * m:,}"
                )
            else:
                parts.append("shortcut: identity, 0")
            detail = (
                f"bottleneck_macs(height={h}, width={w}, c_in={c_in}, m={m}, stride={s}): "
                f"{how}. Layer by layer: " + "; ".join(parts)
            )
            value = number(got)
            for told, words in BOTTLENECK_MISTAKES:
                if value == bottleneck_reference(*case, **told):
                    detail += f"; {words}"
                    break
            return False, detail
        direct = 2 * 56 * 56 * 9 * 256 * 256
        bottleneck = bottleneck_reference(56, 56, 256, 64, 1)
        return True, (
            f"{len(cases)} blocks (identity and projected shortcuts, stride 2 on odd "
            f"sizes), counted right. On 56x56x256: bottleneck m=64 "
            f"{bottleneck / 1e6:.0f} M multiply-adds, two 3x3 convolutions of 256 "
            f"channels {direct / 1e6:.0f} M ({direct / bottleneck:.1f} times more)"
        )

    run(
        "5.3 (a bottleneck's cost)",
        body,
        seed=seed,
        repeat="ch05.check_bottleneck(bottleneck_macs, seed={seed})",
    )


def _random_stack(rng: np.random.Generator, spec: list | None = None):
    """A small linear network of Conv2D and AveragePooling2D layers (positive weights, so every
    pixel in a unit's receptive field has a non-zero gradient), and its receptive field (h, w).
    Without `spec`, random layers."""
    import keras
    from keras import layers

    while spec is None:
        candidate = []
        for i in range(int(rng.integers(2, 5))):
            if i and rng.random() < 0.3:
                k = int(rng.integers(2, 4))
                candidate.append(("pool", (k, k), k))
            else:
                s = int(rng.choice([1, 2]))
                kh, kw = (int(v) for v in rng.integers(s, 6, size=2))
                candidate.append(("conv", (kh, kw), s))
        field, size = _field(candidate)
        if field[0] != field[1] and size.min() >= 3:  # a map of several units, a non-square field
            spec = candidate
    field, _ = _field(spec)
    inputs = keras.Input(shape=(64, 56, 1))
    x = inputs
    init = keras.initializers.RandomUniform(0.1, 1.0, seed=int(rng.integers(1 << 30)))
    for kind, kernel, stride in spec:
        x = (
            layers.Conv2D(2, kernel, strides=stride, kernel_initializer=init)(x)
            if kind == "conv"
            else layers.AveragePooling2D(kernel, strides=stride)(x)
        )
    return keras.Model(inputs, x), (int(field[0]), int(field[1])), spec


def _field(spec: list) -> tuple[np.ndarray, np.ndarray]:
    field, jump, size = np.ones(2, int), 1, np.array([64, 56])
    for _, kernel, stride in spec:
        field, jump = field + (np.array(kernel) - 1) * jump, jump * stride
        size = (size - np.array(kernel)) // stride + 1
    return field, size


FIXED_STACK = [("conv", (3, 5), 2), ("pool", (2, 2), 2), ("conv", (5, 3), 1)]  # jumps matter


POOL = 12  # random stacks to choose from: models are slow to build, so a seed picks two


@lru_cache(maxsize=POOL + 1)
def _stack(index: int):
    """Stack 0 is FIXED_STACK, whose later kernels sit on jumps of 2 and 4; stacks 1..POOL are
    random ones, the same in every session (built once: a test runs many answers on them)."""
    rng = np.random.default_rng(1000 + index)
    return _random_stack(rng, FIXED_STACK if index == 0 else None)


def _stacks(seed: int) -> list:
    """The check's models for a seed: the fixed stack, then two of the random ones."""
    rng = np.random.default_rng(seed)
    return [_stack(0)] + [
        _stack(int(i)) for i in rng.choice(np.arange(1, POOL + 1), 2, replace=False)
    ]


def check_receptive_field(fn: Callable, seed: int | None = None) -> None:
    """Exercise 5.4: the measured receptive field of stacks of convolutions and poolings,
    against the formula of section 11."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        found = []
        for model, expected, spec in _stacks(seed):
            got = call(fn, model)
            try:
                got = tuple(int(v) for v in got)
            except (TypeError, ValueError):
                return False, f"{fn.__name__} returned {got!r}, expected a pair (height, width)"
            if got != expected:
                layers_text = ", ".join(f"{kind} {k[0]}x{k[1]} stride {s}" for kind, k, s in spec)
                detail = (
                    f"for [{layers_text}] on a 64x56 input you measured {got}, the field is "
                    f"{expected} (height, width)"
                )
                if got == expected[::-1]:
                    detail += ": height and width swapped (rows are axis 1 of the input)"
                elif got == (expected[0] - 1, expected[1] - 1):
                    detail += ": one too few (rows 3 to 5 are 3 rows)"
                elif got[0] >= expected[0] and got[1] >= expected[1]:
                    detail += ": too large; differentiate one output unit, not the whole output"
                return False, detail
            found.append(f"{got[0]}x{got[1]}")
        return True, (
            f"3 stacks of convolutions and poolings, fields {', '.join(found)}, as the "
            "formula says"
        )

    run(
        "5.4 (receptive field, measured)",
        body,
        seed=seed,
        repeat="ch05.check_receptive_field(measured_receptive_field, seed={seed})",
    )
