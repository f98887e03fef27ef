"""Checks for chapter 07's exercises: VGG16's preprocessing by hand, unfreezing a conv base from
a given block on, and the receptive field of a stack of convolutions and poolings."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .checking import call, compare, fresh_seed, run

IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)
VGG16_CONVS_PER_BLOCK = (2, 2, 3, 3, 3)


def check_vgg_preprocess(fn: Callable, seed: int | None = None) -> None:
    """Exercise 7.1: RGB -> BGR and the ImageNet mean subtracted, against Keras' preprocess_input."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        import keras

        rng = np.random.default_rng(seed)
        images = rng.uniform(0, 255, size=(int(rng.integers(2, 5)), 7, 5, 3)).astype("float32")
        expected = keras.applications.vgg16.preprocess_input(images.copy())
        got = call(fn, images.copy())
        passed, how = compare(got, expected, rtol=1e-5, atol=1e-3)
        if passed:
            return True, f"{len(images)} random 7x5 RGB images: same as preprocess_input ({how})"
        got = np.asarray(got, dtype=np.float64)
        if got.shape == expected.shape:
            if np.allclose(got[..., ::-1], expected, atol=1e-3):
                how += "; your channels are in the reverse order: flip RGB to BGR (or back)"
            elif np.allclose(got, images - np.array(IMAGENET_MEAN_BGR), atol=1e-3):
                how += "; you subtracted the BGR means but kept the channels in RGB order"
            elif np.allclose(got, images[..., ::-1] - np.array(IMAGENET_MEAN_BGR)[::-1], atol=1e-3):
                how += "; the channels are BGR, but each got the mean of the wrong colour"
            elif np.abs(got).max() < 2:
                how += "; VGG16 takes pixels on the 0..255 scale: do not divide by 255"
        return False, how

    run("7.1 (VGG16 preprocessing by hand)", body, seed=seed,
        repeat="ch07.check_vgg_preprocess(vgg_preprocess, seed={seed})")


def vgg_like_base(filters: tuple[int, ...] = (2, 2, 4, 4, 4), size: int = 32) -> Any:
    """A tiny stand-in for VGG16's conv base: the same 18 layers and names, few filters."""
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3))
    x = inputs
    for block, (n_convs, width) in enumerate(zip(VGG16_CONVS_PER_BLOCK, filters, strict=True), start=1):
        for i in range(1, n_convs + 1):
            x = layers.Conv2D(width, 3, padding="same", activation="relu",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="vgg16_like")


def _block_number(name: str) -> int:
    found = re.match(r"block(\d+)_", name)
    return int(found.group(1)) if found else 0


def _trainable_params(model: Any) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def check_unfreeze_from(fn: Callable, seed: int | None = None) -> None:
    """Exercise 7.2: after fn(base, "blockK") exactly the layers of blocks K and up train."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        base = vgg_like_base()
        first, second = (int(k) for k in rng.choice(np.arange(2, 6), size=2, replace=False))
        cases = [(first, False), (second, True), (first, True), (second, False)]
        for k, start_trainable in cases:
            base.trainable = start_trainable  # as the chapter leaves it: all frozen, or all trainable
            start = "a frozen base" if not start_trainable else "a fully trainable base"
            call(fn, base, f"block{k}")
            want = [ly.name for ly in base.layers if _block_number(ly.name) >= k]
            got = [ly.name for ly in base.layers if ly.trainable and _block_number(ly.name) > 0]
            n_want = sum(2 * n for n in VGG16_CONVS_PER_BLOCK[k - 1:])
            n_got = len(base.trainable_weights)
            if got != want:
                missing = [n for n in want if n not in got][:3]
                extra = [n for n in got if n not in want][:3]
                return False, (f"unfreezing from block{k}, starting from {start}: "
                               f"{len(got)} layers trainable, expected {len(want)} "
                               f"(not trainable but should be: {missing}; "
                               f"trainable but should not be: {extra})")
            if n_got != n_want:
                hint = (" (the layers say trainable, but the base itself is still frozen: set "
                        "base.trainable = True first)" if n_got == 0 and not base.trainable else "")
                return False, (f"unfreezing from block{k}, starting from {start}: the base has "
                               f"{n_got} trainable weight tensors, expected {n_want}{hint}")
        return True, (f"block{first} and block{second}, each from a frozen and from a trainable "
                      f"base: the right layers train (block{second}: {n_want} weight tensors, "
                      f"{_trainable_params(base):,} parameters in this small stand-in)")

    run("7.2 (unfreeze from a block on)", body, seed=seed,
        repeat="ch07.check_unfreeze_from(unfreeze_from, seed={seed})")


def receptive_field_reference(stack: list[tuple[int, int]]) -> int:
    """Receptive field of one unit after a stack of (kernel, stride) layers, on the input."""
    field, jump = 1, 1  # jump: input pixels between two neighbouring units of the current layer
    for kernel, stride in stack:
        field += (kernel - 1) * jump
        jump *= stride
    return field


VGG16_STACK = [(3, 1)] * 2 + [(2, 2)] + [(3, 1)] * 2 + [(2, 2)] + ([(3, 1)] * 3 + [(2, 2)]) * 3


def check_receptive_field(fn: Callable, seed: int | None = None) -> None:
    """Exercise 7.3: the receptive field of random conv/pool stacks and of VGG16's base."""
    seed = fresh_seed(seed)

    def body() -> tuple[bool, str]:
        rng = np.random.default_rng(seed)
        stacks = [[(3, 1)] * int(rng.integers(1, 6))]  # section 1's case: r = 1 + 2L
        for _ in range(6):  # a strided layer, then a larger kernel after it, shows the jumps
            stack = [(int(rng.choice([1, 3, 5, 7])), int(rng.integers(1, 3)))
                     for _ in range(int(rng.integers(1, 4)))]
            stack += [(int(rng.choice([2, 3])), 2), (int(rng.choice([3, 5])), 1)]
            stacks.append(stack + [(int(rng.choice([2, 3])), int(rng.integers(1, 4)))])
        stacks.append(list(VGG16_STACK))
        for stack in stacks:
            got, expected = call(fn, list(stack)), receptive_field_reference(stack)
            passed, how = compare(got, expected, atol=0, rtol=0,
                                  what=f"your receptive field for (kernel, stride) = {stack}")
            if not passed:
                if int(np.asarray(got)) == 1 + sum(k - 1 for k, _ in stack):
                    how += ("; that is 1 + the sum of (kernel - 1): after a stride-s layer, one "
                            "step on the next layer is s input pixels")
                return False, how
        return True, (f"{len(stacks)} stacks right, among them VGG16's base: a unit of "
                      f"block5_pool sees {receptive_field_reference(VGG16_STACK)}x"
                      f"{receptive_field_reference(VGG16_STACK)} input pixels")

    run("7.3 (receptive field)", body, seed=seed,
        repeat="ch07.check_receptive_field(receptive_field, seed={seed})")
