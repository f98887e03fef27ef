"""Chapter 06's small convnet for two classes, for the chapters after it (07 compares with it).

Chapter 06 builds it layer by layer (`make_baseline`, `make_regularised`, `make_variant`) and
checks that this function builds the same models.
"""

from __future__ import annotations

import keras
from keras import layers

HEADS = ("dense", "average")


def augmentation(flip: bool) -> keras.Sequential:
    """Random rotations (+-36 degrees), zooms (+-20%) and shifts (+-20%); left-right flips
    only when `flip` (a mirrored cat is a cat, a mirrored 4 is no digit)."""
    flips = [layers.RandomFlip("horizontal")] if flip else []
    return keras.Sequential(
        flips
        + [
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.2),
            layers.RandomTranslation(0.2, 0.2),
        ],
        name="augmentation",
    )


def small_convnet(
    image_size: tuple[int, int],
    augment: bool = False,
    flip: bool = True,
    dropout: bool = False,
    head: str = "dense",
) -> keras.Model:
    """Four 3x3 conv + 2x2 max-pool blocks (32, 64, 128, 128 filters), then a `Flatten` +
    `Dense(512)` head ("dense") or `GlobalAveragePooling2D` ("average"), and one sigmoid unit.

    Takes raw RGB images (0..255): a `Rescaling` layer is inside. Not compiled.
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    if min(image_size) < 46:
        raise ValueError(
            f"images of {image_size} are too small for four conv/pool blocks: use 46x46 or more"
        )
    inputs = keras.Input(shape=tuple(image_size) + (3,))
    x = augmentation(flip)(inputs) if augment else inputs
    x = layers.Rescaling(1.0 / 255)(x)
    for filters in (32, 64, 128, 128):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x) if head == "average" else layers.Flatten()(x)
    if dropout:
        x = layers.Dropout(0.5)(x)
    if head == "dense":
        x = layers.Dense(512, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"small_convnet_{head}")
