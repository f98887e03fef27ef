"""DeepLabV3+ as chapter 10 builds it, and the short training that chapters 10 and 11 share.

Chapter 10 writes every piece in front of the student (`conv_bn_relu`, `aspp`, `decoder`, the
quick backbone, the model), asserts that its network equals `build_deeplabv3plus`'s, and trains
it under `run_name()`. Chapter 11 needs a trained network's probabilities: `load_or_train` loads
chapter 10's best model when that run has finished in the checkpoint folder, and otherwise
trains the same network on the same data with the same recipe (`train`) under a run name of
its own, so the two chapters never write into one folder.

Settings per mode (`settings()`):
  quick: a five-layer backbone trained from scratch (output strides 4 and 8), ASPP rates 1/2/3
         with 32 filters, 8 epochs on the generated 48x48 scenes.
  full:  ResNet50 with ImageNet weights (`pretrained.load_resnet50_conv_base`), tapped as
         keras-io's DeepLabV3+ example does, ASPP rates 6/12/18 with 256 filters, 10 epochs
         on Oxford-IIIT Pet at 384x384.

Data (`load_data()`): training, validation and test splits. Validation (every
VALIDATION_EVERY-th training image, set aside) chooses the best epoch in chapter 10 and the
CRF's parameters in chapter 11; the test split chooses nothing and measures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_utils import env
from course_utils.datasets import Split
from course_utils.datasets.oxford_pets import IGNORE_LABEL, hold_out, load_oxford_pets
from course_utils.training import BEST_FILE, TrainingRun, backed_up_epoch, fit_resumable

if TYPE_CHECKING:
    import keras

# ResNet50 layers the full-mode network reads (keras-io's choice): 64 channels at output
# stride 4 for the decoder, 256 channels at output stride 16 for ASPP.
RESNET50_LOW, RESNET50_HIGH = "conv2_block3_2_relu", "conv4_block6_2_relu"
# The data both chapters use: load_oxford_pets(**DATA), then every VALIDATION_EVERY-th training
# image held out for validation (quick: 1,350 -> 1,200 + 150; full: 3,680 -> 3,271 + 409).
DATA: dict[str, Any] = {
    "quick_sizes": (1350, 300),
    "quick_size": 48,
    "full_size": 384,
    "full_test_limit": 1000,
}
VALIDATION_EVERY = 9
# Batch norm's running statistics (used at test time) follow the training batches within a few
# dozen steps; Keras' default momentum of 0.99 needs hundreds, more than quick mode has.
BN_MOMENTUM = 0.9


@dataclass(frozen=True)
class Settings:
    """Everything that differs between the quick and the full DeepLabV3+."""

    backbone: str  # "small" (trained from scratch) or "resnet50" (ImageNet weights)
    filters: int
    rates: tuple[int, ...]
    low_filters: int
    learning_rate: float
    epochs: int
    batch_size: int


QUICK = Settings("small", 32, (1, 2, 3), 16, 3e-3, 8, 16)
FULL = Settings("resnet50", 256, (6, 12, 18), 48, 5e-4, 10, 8)


def settings() -> Settings:
    """QUICK or FULL, by run mode."""
    return env.by_mode(quick=QUICK, full=FULL)


def load_data() -> tuple[Split, Split, Split]:
    """(train, validation, test): the segmentation data of chapters 10 and 11 for this mode."""
    train, test = load_oxford_pets(**DATA)
    train, val = hold_out(train, VALIDATION_EVERY)
    return train, val, test


def run_name(chapter: int = 10) -> str:
    """Checkpoint folder name of the DeepLabV3+ run a chapter trains, e.g.
    'ch10_deeplabv3plus_quick'."""
    return f"ch{chapter}_deeplabv3plus_{env.mode()}"


# --- the network ---------------------------------------------------------------------------------


def conv_bn_relu(x, filters: int, kernel: int, name: str, strides: int = 1, rate: int = 1):
    """Convolution (no bias: batch norm adds one), batch normalisation, ReLU."""
    from keras import layers

    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        dilation_rate=rate,
        padding="same",
        use_bias=False,
        name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def aspp(x, filters: int = 256, rates: tuple[int, ...] = (6, 12, 18), name: str = "aspp"):
    """ASPP output, its branches and their concatenation: 1x1 conv, atrous 3x3s, image pooling."""
    from keras import layers

    branches = [conv_bn_relu(x, filters, 1, name=f"{name}_1x1")]
    branches += [conv_bn_relu(x, filters, 3, rate=r, name=f"{name}_rate{r}") for r in rates]
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_image_pool")(x)
    pooled = conv_bn_relu(pooled, filters, 1, name=f"{name}_pool")
    up = layers.UpSampling2D(
        (x.shape[1], x.shape[2]), interpolation="bilinear", name=f"{name}_pool_up"
    )
    branches.append(up(pooled))
    merged = layers.Concatenate(name=f"{name}_concat")(branches)
    return conv_bn_relu(merged, filters, 1, name=f"{name}_project"), branches, merged


def decoder(
    high, low, num_classes: int, filters: int = 256, low_filters: int = 48, name: str = "decoder"
):
    """DeepLabV3+ decoder: per-class scores (logits) at the low-level features' resolution."""
    from keras import layers

    low = conv_bn_relu(low, low_filters, 1, name=f"{name}_low")
    x = layers.UpSampling2D(
        low.shape[1] // high.shape[1], interpolation="bilinear", name=f"{name}_up"
    )(high)
    x = layers.Concatenate(name=f"{name}_concat")([x, low])
    x = conv_bn_relu(x, filters, 3, name=f"{name}_refine1")
    x = conv_bn_relu(x, filters, 3, name=f"{name}_refine2")
    return layers.Conv2D(num_classes, 1, name=f"{name}_classes")(x)


def small_backbone(inputs):
    """Quick mode: (low-level features at stride 4, atrous features at stride 8)."""
    x = conv_bn_relu(inputs, 16, 3, strides=2, name="stem")
    low = conv_bn_relu(x, 32, 3, strides=2, name="block1")
    x = conv_bn_relu(low, 64, 3, strides=2, name="block2")
    x = conv_bn_relu(x, 64, 3, rate=2, name="block3_atrous")
    return low, conv_bn_relu(x, 64, 3, rate=4, name="block4_atrous")


def resnet50_backbone(inputs, weights: str = "imagenet"):
    """Full mode: ResNet50's (stride-4, stride-16) features, tapped where keras-io taps them."""
    from course_utils.pretrained import load_resnet50_conv_base

    resnet = load_resnet50_conv_base(input_tensor=inputs, weights=weights, verbose=False)
    return resnet.get_layer(RESNET50_LOW).output, resnet.get_layer(RESNET50_HIGH).output


def build_deeplabv3plus(
    size: int, num_classes: int, config: Settings | None = None, backbone_weights: str = "imagenet"
) -> keras.Model:
    """The DeepLabV3+ of chapter 10 for size x size RGB images; softmax probabilities out."""
    import keras
    from keras import layers

    config = config or settings()
    inputs = keras.Input((size, size, 3), name="image")
    if config.backbone == "small":
        low, high = small_backbone(inputs)
    else:
        low, high = resnet50_backbone(inputs, backbone_weights)
    x, _, _ = aspp(high, config.filters, config.rates)
    x = decoder(x, low, num_classes, config.filters, config.low_filters)
    x = layers.UpSampling2D(size // low.shape[1], interpolation="bilinear", name="to_image")(x)
    probs = layers.Softmax(name="class_probabilities", dtype="float32")(x)  # mixed precision
    return keras.Model(inputs, probs, name="deeplabv3plus")


def gap_to_course_copy(
    model: keras.Model, num_classes: int, config: Settings | None = None, images: int = 4
) -> float:
    """Largest difference between `model`'s probabilities and `build_deeplabv3plus`'s (for this
    mode, or `config`) with the same weights, on random images. Raises ValueError when the
    layers differ."""
    size = model.input_shape[1]
    copy = build_deeplabv3plus(size, num_classes, config, backbone_weights="random")
    ours = [(layer.name, type(layer).__name__) for layer in model.layers]
    course = [(layer.name, type(layer).__name__) for layer in copy.layers]
    if ours != course:
        # the two may have different numbers of layers: compare the common part, and if it
        # matches, the first layer one of them lacks is where they differ
        first = next(
            (i for i, (a, b) in enumerate(zip(ours, course, strict=False)) if a != b),
            min(len(ours), len(course)),
        )
        raise ValueError(
            f"the networks differ from layer {first} on: {ours[first : first + 2]} "
            f"against the course's {course[first : first + 2]} ({len(ours)} vs {len(course)} "
            "layers)"
        )
    copy.set_weights(model.get_weights())
    pixels = np.random.default_rng(1).uniform(0, 255, (images, size, size, 3)).astype("float32")
    batch = preprocess_fn(config)(pixels)  # ResNet50's preprocess_input changes its input
    return float(np.abs(np.asarray(model(batch)) - np.asarray(copy(batch))).max())


SMALL_LOW, SMALL_HIGH = "block1_relu", "block4_atrous_relu"


def blocks(model: keras.Model) -> dict[str, tuple[int, ...]]:
    """The output shape (without the batch axis) of each block of a built DeepLabV3+, in data
    order."""
    small = any(layer.name == SMALL_HIGH for layer in model.layers)
    names = {
        "image": "image",
        "backbone, low level": SMALL_LOW if small else RESNET50_LOW,
        "backbone, high level": SMALL_HIGH if small else RESNET50_HIGH,
        "ASPP": "aspp_project_relu",
        "upsampled ASPP": "decoder_up",
        "low level, 1x1 conv": "decoder_low_relu",
        "concatenated": "decoder_concat",
        "two 3x3 convs": "decoder_refine2_relu",
        "class scores": "decoder_classes",
        "upsampled to image": "to_image",
    }
    return {label: tuple(model.get_layer(name).output.shape[1:]) for label, name in names.items()}


def plot_blocks(shapes: dict[str, tuple[int, ...]], title: str | None = None):
    """A DeepLabV3+ block diagram from `blocks(model)`: encoder on top (blue), decoder (orange)."""
    import matplotlib.pyplot as plt

    encoder = ["image", "backbone, low level", "backbone, high level", "ASPP"]
    where = {name: (i * 2.6, 1.6) for i, name in enumerate(encoder)}
    where.update(
        {
            "low level, 1x1 conv": (2.6, 0.8),
            "upsampled ASPP": (7.8, 0.8),
            "concatenated": (5.2, 0.0),
            "two 3x3 convs": (7.8, 0.0),
            "class scores": (10.4, 0.0),
            "upsampled to image": (13.0, 0.0),
        }
    )
    arrows = [
        ("image", "backbone, low level"),
        ("backbone, low level", "backbone, high level"),
        ("backbone, high level", "ASPP"),
        ("ASPP", "upsampled ASPP"),
        ("backbone, low level", "low level, 1x1 conv"),
        ("low level, 1x1 conv", "concatenated"),
        ("upsampled ASPP", "concatenated"),
        ("concatenated", "two 3x3 convs"),
        ("two 3x3 convs", "class scores"),
        ("class scores", "upsampled to image"),
    ]
    fig, ax = plt.subplots(figsize=(13, 4))
    boxes = {}
    for name, (x, y) in where.items():
        colour = "#dbe8f7" if name in encoder else "#f7e3cf"
        boxes[name] = ax.text(
            x,
            y,
            f"{name}\n{'x'.join(str(d) for d in shapes[name])}",
            ha="center",
            va="center",
            fontsize=9,
            bbox=dict(boxstyle="round", fc=colour, ec="grey"),
        )
    for a, b in arrows:
        ya, yb = where[a][1], where[b][1]
        start, end = ((1, 0.5), (0, 0.5)) if ya == yb else ((0.5, 0), (0.5, 1))
        ax.annotate(
            "",
            xy=end,
            xycoords=boxes[b],
            xytext=start,
            textcoords=boxes[a],
            arrowprops=dict(arrowstyle="->", color="dimgrey"),
        )
    ax.set_xlim(-1, 14)
    ax.set_ylim(-0.5, 2.1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def print_shapes(rows: Sequence[tuple[str, Any]], width: int = 19) -> None:
    """One line per (label, tensor or shape): the label, then the shape as a tuple."""
    for label, tensor in rows:
        shape = tensor if isinstance(tensor, tuple) else tuple(tensor.shape)
        print(f"{label:{width}s}{shape}")


# --- the training --------------------------------------------------------------------------------


def preprocess_fn(config: Settings | None = None) -> Callable:
    """What images go through before the network: /255 (small backbone) or ResNet50's
    preprocessing."""
    if (config or settings()).backbone == "small":
        return lambda images: images / 255.0
    import keras

    return keras.applications.resnet50.preprocess_input


def flip_both(image, mask):
    """Flip an image and its mask left-right together, half of the time."""
    import tensorflow as tf

    flip = tf.random.uniform(()) < 0.5
    return tf.cond(flip, lambda: (image[:, ::-1], mask[:, ::-1]), lambda: (image, mask))


def read_by_index(images: np.ndarray, masks: np.ndarray) -> Callable:
    """A tf.data map function: index i -> (images[i], masks[i]), read from the NumPy arrays.

    `tf.constant(images)` or `Dataset.from_tensor_slices` would copy the whole array into
    TensorFlow (2.2 GB for the full-mode training set); this reads one pair when it is needed.
    """
    import tensorflow as tf

    def pick(i):
        image, mask = tf.numpy_function(
            lambda j: (images[j], masks[j]), [i], (images.dtype, masks.dtype)
        )
        return tf.ensure_shape(image, images.shape[1:]), tf.ensure_shape(mask, masks.shape[1:])

    return pick


def make_datasets(
    train: Split,
    val: Split,
    batch_size: int,
    preprocess: Callable,
    use_tf_data: bool | None = None,
):
    """(train_ds, val_ds): shuffled, jointly flipped training batches; validation batches of 64.

    Both read the NumPy arrays by index (`read_by_index`), and the training set is shuffled as
    indices: a shuffle buffer of the images themselves would hold a second copy (2 GB at full
    size).
    With TensorFlow installed (`use_tf_data=None`: whenever it is), these are `tf.data`
    pipelines, which Keras trains from on every backend; without it (Colab's TPU runtime) they
    are `array_batches`, a `keras.utils.PyDataset` that does the same work in NumPy.
    """
    if use_tf_data is None:
        from course_utils import backends

        use_tf_data = backends.has("tensorflow")
    if not use_tf_data:
        return (
            array_batches(*train, batch_size, preprocess, shuffle=True),
            array_batches(*val, 64, preprocess),
        )
    import tensorflow as tf

    to_float = lambda image, mask: (preprocess(tf.cast(image, tf.float32)), mask)  # noqa: E731
    train_ds = (
        tf.data.Dataset.range(len(train[0]))
        .shuffle(len(train[0]), seed=0)
        .map(read_by_index(*train), num_parallel_calls=tf.data.AUTOTUNE)
        .map(flip_both, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = (
        tf.data.Dataset.range(len(val[0]))
        .map(read_by_index(*val), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(64)
        .map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    return train_ds, val_ds


def array_batches(
    images: np.ndarray,
    masks: np.ndarray,
    batch_size: int,
    preprocess: Callable,
    shuffle: bool = False,
    seed: int = 0,
    augment: Callable | None = None,
) -> keras.utils.PyDataset:
    """Batches of (preprocessed float32 images, masks) read from the arrays by index, for any
    backend and without TensorFlow: a `keras.utils.PyDataset`. With `shuffle`, a new order of the
    pairs each epoch, and each batch goes through `augment(images, masks) -> (images, masks)`
    (default: each pair flipped left-right together half of the time) before `preprocess`."""
    return _array_batches_class()(images, masks, batch_size, preprocess, shuffle, seed, augment)


@functools.cache
def _array_batches_class() -> type:
    """The PyDataset class, made on first use (Keras is imported only once the backend is set)."""
    import keras

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self, images, masks, batch_size, preprocess, shuffle, seed, augment):
            super().__init__()
            if len(images) != len(masks):
                raise ValueError(f"{len(images)} images but {len(masks)} masks")
            self.images, self.masks, self.batch_size = images, masks, batch_size
            self.preprocess, self.shuffle, self.augment = preprocess, shuffle, augment
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(images)) if shuffle else np.arange(len(images))

        def __len__(self) -> int:
            return -(-len(self.images) // self.batch_size)

        def __getitem__(self, index: int):
            picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
            images, masks = self.images[picked], self.masks[picked]
            if self.shuffle and self.augment is not None:
                images, masks = self.augment(images, masks)
            elif self.shuffle:
                flip = self.rng.random(len(picked)) < 0.5
                images[flip], masks[flip] = images[flip, :, ::-1], masks[flip, :, ::-1]
            return self.preprocess(np.asarray(images, np.float32)), np.asarray(masks)

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self.order = self.rng.permutation(len(self.images))

    return ArrayBatches


def compile_deeplab(model: keras.Model, num_classes: int, learning_rate: float) -> keras.Model:
    """Adam, pixel-wise cross-entropy and mean IoU, both skipping the ignore label.

    Adam's variables are made here: Keras on TensorFlow would otherwise make them while tracing
    the first training step, which TensorFlow then traces a second time (seconds, on a CPU).
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORE_LABEL),
        metrics=[
            keras.metrics.MeanIoU(
                num_classes, sparse_y_pred=False, ignore_class=IGNORE_LABEL, name="mean_iou"
            )
        ],
    )
    model.optimizer.build(model.trainable_variables)
    return model


def train(
    train_split: Split,
    val_split: Split,
    num_classes: int,
    name: str,
    config: Settings | None = None,
) -> TrainingRun:
    """Build, compile and fit the DeepLabV3+ (resumable, best model kept) under run `name`."""
    config = config or settings()
    model = build_deeplabv3plus(train_split[0].shape[1], num_classes, config)
    compile_deeplab(model, num_classes, config.learning_rate)
    train_ds, val_ds = make_datasets(
        train_split, val_split, config.batch_size, preprocess_fn(config)
    )
    return fit_resumable(
        model,
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        run_name=name,
        monitor="val_mean_iou",
    )


def finished_model(name: str, epochs: int, root: Path | None = None) -> Path | None:
    """The best model of run `name` if all `epochs` are backed up (the run is over), else None."""
    run_dir = Path(root or env.checkpoint_dir()) / name
    best = run_dir / BEST_FILE
    return best if best.exists() and backed_up_epoch(run_dir) >= epochs else None


def load_or_train(
    train_split: Split, val_split: Split, num_classes: int, config: Settings | None = None
) -> keras.Model:
    """Chapter 10's trained DeepLabV3+ if its run has finished here; else train it now (chapter
    11's run)."""
    import keras

    config = config or settings()
    found = finished_model(run_name(10), config.epochs)
    if found is not None:
        print(
            env.fit_page(
                f"loaded chapter 10's trained DeepLabV3+ from {env.shown(found)}", indent=4
            )
        )
        return keras.models.load_model(found)
    print(
        env.fit_page(
            f"chapter 10's DeepLabV3+ has not finished training in "
            f"{env.shown(env.checkpoint_dir())}: training the same network on the "
            f"same data here ({config.epochs} epochs)",
            indent=4,
        )
    )
    return train(train_split, val_split, num_classes, run_name(11), config).load_best()


def predict_probs(
    model: keras.Model,
    images: np.ndarray,
    config: Settings | None = None,
    batch: int | None = None,
) -> np.ndarray:
    """(N, H, W, C) class probabilities for uint8 images, preprocessed as in training.

    Filled `batch` images at a time (default: the training batch size) into one array:
    `model.predict` would hold every batch's output and then a joined copy, twice the memory
    (3.5 GB for 1,000 images at 384x384).
    """
    config = config or settings()
    batch = batch or config.batch_size
    preprocess = preprocess_fn(config)
    out = np.empty((len(images), *model.output_shape[1:]), np.float32)
    for start in range(0, len(images), batch):
        chunk = preprocess(images[start : start + batch].astype(np.float32))
        out[start : start + batch] = model.predict_on_batch(chunk)
    return out


def labels_from_probs(probs: np.ndarray, batch: int = 32) -> np.ndarray:
    """(N, H, W) uint8 classes of (N, H, W, C) probabilities, `batch` images at a time.

    `probs.argmax(-1)` over the whole array makes an int64 copy first (1.2 GB for 1,000 images
    at 384x384); this one never holds more than a batch of it.
    """
    out = np.empty(probs.shape[:-1], np.uint8)
    for start in range(0, len(probs), batch):
        out[start : start + batch] = probs[start : start + batch].argmax(-1)
    return out


def predict_labels(
    model: keras.Model,
    images: np.ndarray,
    config: Settings | None = None,
    batch: int | None = None,
) -> np.ndarray:
    """(N, H, W) uint8 predicted classes, batch by batch (no array of probabilities is kept)."""
    batch = batch or (config or settings()).batch_size
    return np.concatenate(
        [
            labels_from_probs(predict_probs(model, images[start : start + batch], config, batch))
            for start in range(0, len(images), batch)
        ]
    )
