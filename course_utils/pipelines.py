"""Input pipelines for chapter 08: the same decode + augment work done by a naive Python
generator, by a tuned `tf.data` pipeline and by grain (JAX's data loader, no TensorFlow needed),
and a way to measure images per second.

The images start as PNG files held in memory (as bytes), as they would after reading a folder
of files: every pipeline has to decode them, then scale them to floats in [0, 1] and augment
them (random flip, random crop after 4 pixels of padding).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

# TensorFlow and grain are imported inside the functions, so importing course_utils stays cheap,
# `env.setup()` can quiet TensorFlow before its first import, and the pipelines that need no
# TensorFlow work where it is not installed (Colab's TPU runtime).
if TYPE_CHECKING:
    import tensorflow as tf

PAD = 4  # pixels of padding before the random crop (the usual CIFAR-10 augmentation)
# The pipelines `compare_pipelines` times, by key, with the label the table shows.
PIPELINES = {
    "naive": "naive Python generator",
    "numpy": "Python generator, PIL + NumPy",
    "map": "tf.data, one call at a time",
    "tuned": "tf.data, parallel map + prefetch",
    "cached": "tf.data, + cache after decode",
    "grain": "grain, threads + prefetch",
}
GRAIN_THREADS = 4  # threads that decode and augment in the grain pipeline


def encode_png(images: np.ndarray) -> np.ndarray:
    """Encode uint8 RGB images (N, H, W, 3) as PNG files in memory: an object array of bytes."""
    import cv2

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"encode_png wants uint8 RGB images of shape (N, H, W, 3); got {images.dtype} "
            f"{images.shape}. Convert with np.clip(x, 0, 255).astype(np.uint8) first."
        )
    out = np.empty(len(images), dtype=object)
    for i, image in enumerate(images):
        ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))  # OpenCV writes BGR
        if not ok:
            raise RuntimeError(f"OpenCV could not encode image {i} as PNG")
        out[i] = buf.tobytes()
    return out


def decode_image(png: tf.Tensor, shape: tuple[int, int, int] | None = None) -> tf.Tensor:
    """PNG bytes -> uint8 RGB image; with `shape`, check it (and tell the graph the shape)."""
    import tensorflow as tf

    image = tf.io.decode_png(png, channels=3)
    return image if shape is None else tf.ensure_shape(image, shape)


def augment_image(image: tf.Tensor) -> tf.Tensor:
    """uint8 image -> float32 in [0, 1], randomly flipped left-right, randomly cropped back to
    its size from a copy padded by PAD pixels (reflected)."""
    import tensorflow as tf

    shape = tf.shape(image)
    image = tf.image.convert_image_dtype(image, tf.float32)
    image = tf.image.random_flip_left_right(image)
    padded = tf.pad(image, [[PAD, PAD], [PAD, PAD], [0, 0]], mode="REFLECT")
    return tf.ensure_shape(tf.image.random_crop(padded, shape), image.shape)


def decode_and_augment(
    png: tf.Tensor, label: tf.Tensor, shape: tuple[int, int, int] | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """The per-image work every pipeline here does: decode, then augment."""
    return augment_image(decode_image(png, shape)), label


def naive_batches(
    encoded: np.ndarray, labels: np.ndarray, batch_size: int = 128, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The naive pipeline: a Python generator that runs `decode_and_augment` one image at a
    time (eagerly, op by op), stacks a batch with NumPy, and only then lets the model have it."""
    import tensorflow as tf

    _check(encoded, labels, batch_size)
    order = np.random.default_rng(seed).permutation(len(encoded))
    for start in range(0, len(order), batch_size):
        images, batch_labels = [], []
        for i in order[start : start + batch_size]:
            image, label = decode_and_augment(tf.constant(encoded[i]), tf.constant(labels[i]))
            images.append(image.numpy())
            batch_labels.append(label.numpy())
        yield np.stack(images), np.array(batch_labels)


def decode_png(png: bytes) -> np.ndarray:
    """PNG bytes -> uint8 RGB image (H, W, 3), with PIL: what the pipelines without TensorFlow
    use."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def augment_numpy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`augment_image` in NumPy: uint8 -> float32 in [0, 1], flipped left-right half of the time,
    cropped back to its size at a random place after PAD pixels of reflected padding."""
    image = np.asarray(image, np.float32) / 255.0
    if rng.random() < 0.5:
        image = image[:, ::-1]
    padded = np.pad(image, ((PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")
    dy, dx = rng.integers(0, 2 * PAD + 1, size=2)
    return padded[dy : dy + image.shape[0], dx : dx + image.shape[1]]


def numpy_batches(
    encoded: np.ndarray, labels: np.ndarray, batch_size: int = 128, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The first pipeline most people write: a Python generator that decodes each PNG with PIL and
    augments it with NumPy (scale to [0, 1], random flip, random crop after reflect padding)."""
    _check(encoded, labels, batch_size)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(encoded))
    for start in range(0, len(order), batch_size):
        images = [
            augment_numpy(decode_png(encoded[i]), rng) for i in order[start : start + batch_size]
        ]
        yield np.stack(images), np.asarray(labels)[order[start : start + batch_size]]


def grain_dataset(
    encoded: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 128,
    seed: int = 0,
    threads: int = GRAIN_THREADS,
):
    """The tuned pipeline written with grain: shuffle the indices, decode (PIL) and augment (NumPy)
    each image on `threads` threads, batch, and keep batches ready ahead of the model (prefetch).

    A `grain.IterDataset`: Keras' `fit` takes it on every backend. Each image gets its own random
    numbers (from `seed` and its index), so a run repeats exactly, and every iteration repeats
    the first one's order and augmentations: fine for timing; to train, shuffle before
    `repeat()` and augment after it, as chapter 08 does.
    """
    import grain

    _check(encoded, labels, batch_size)
    labels = np.asarray(labels)

    def load(i: int, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
        return augment_numpy(decode_png(encoded[i]), rng), labels[i]

    ds = grain.MapDataset.range(len(encoded)).shuffle(seed=seed).random_map(load, seed=seed)
    options = grain.ReadOptions(num_threads=threads, prefetch_buffer_size=2 * batch_size)
    return ds.to_iter_dataset(options).batch(batch_size)


def plot_throughput(results: dict[str, Throughput], title: str | None = None):
    """A horizontal bar chart of images per second, one bar per pipeline, labelled with its
    speed-up."""
    import matplotlib.pyplot as plt

    keys = list(results)
    speeds = [results[k].per_second for k in keys]
    base = results["naive"].per_second if "naive" in results else speeds[0]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(keys) + 1.2))
    bars = ax.barh([PIPELINES.get(k, k) for k in keys], speeds, color="tab:blue")
    ax.bar_label(bars, labels=[f" {v:,.0f}/s ({v / base:.1f}x)" for v in speeds], fontsize=9)
    ax.invert_yaxis()  # first pipeline on top
    ax.set_xlabel("images per second (more is better)")
    ax.set_xlim(0, max(speeds) * 1.35)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def tuned_pipeline(
    files: tf.data.Dataset,
    shape: tuple[int, int, int],
    batch_size: int = 128,
    seed: int = 0,
    parallel: bool = True,
    prefetch: bool = True,
    cache: bool = False,
) -> tf.data.Dataset:
    """The tuned pipeline on a dataset of (PNG bytes, label): decode, augment, batch, prefetch.

    With `cache=True` it decodes, caches the decoded images, then shuffles and augments: passes
    after the first skip decoding, yet each sees a new order and new random crops.
    `parallel=False, prefetch=False` gives the plain `tf.data` version.
    """
    import tensorflow as tf

    calls = tf.data.AUTOTUNE if parallel else None
    if cache:
        ds = files.map(
            lambda png, y: (decode_image(png, shape), y), num_parallel_calls=calls
        ).cache()
        ds = ds.shuffle(ds.cardinality(), seed=seed)
        ds = ds.map(lambda x, y: (augment_image(x), y), num_parallel_calls=calls)
    else:
        ds = files.shuffle(files.cardinality(), seed=seed)
        ds = ds.map(lambda png, y: decode_and_augment(png, y, shape), num_parallel_calls=calls)
    ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def tuned_dataset(
    encoded: np.ndarray, labels: np.ndarray, batch_size: int = 128, **options: Any
) -> tf.data.Dataset:
    """`tuned_pipeline` (with its `options`) on PNG files held in memory; every image must have
    the first one's shape."""
    import tensorflow as tf

    _check(encoded, labels, batch_size)
    shape = tuple(decode_image(encoded[0]).shape)
    files = tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(encoded), dtype=tf.string), labels)
    )
    return tuned_pipeline(files, shape, batch_size, **options)


def _check(encoded: np.ndarray, labels: np.ndarray, batch_size: int) -> None:
    if len(encoded) != len(labels):
        raise ValueError(f"{len(encoded)} images but {len(labels)} labels")
    if len(encoded) == 0:
        raise ValueError("no images: the pipeline needs at least one")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")


@dataclass(frozen=True)
class Throughput:
    """What one timed run delivered."""

    images: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("inf")


def measure_throughput(
    make_batches: Callable[[], Iterable], epochs: int = 1, warmup_batches: int = 1
) -> Throughput:
    """Images per second of a pipeline: `make_batches()` must return a fresh iterable of
    (images, labels) batches. A few warm-up batches are drawn first and not timed."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    warm = iter(make_batches())
    for _ in range(warmup_batches):
        next(warm, None)
    del warm
    images = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in make_batches():
            images += int(np.shape(batch[0])[0])
    return Throughput(images, time.perf_counter() - start)


def compare_pipelines(
    encoded: np.ndarray,
    labels: np.ndarray,
    batch_size: int = 128,
    repeats: int = 3,
    epochs: int = 2,
) -> dict[str, Throughput]:
    """Time each pipeline of PIPELINES `repeats` times, interleaved (so load on the machine hits
    all alike), over `epochs` passes each; keep each one's best run, by key."""
    variants = available_pipelines(encoded, labels, batch_size)
    with_tf = "tuned" in variants
    best: dict[str, Throughput] = {}

    def keep_best(key: str, run: Throughput) -> None:
        if key not in best or run.per_second > best[key].per_second:
            best[key] = run

    for _ in range(repeats):
        for key, make in variants.items():
            keep_best(key, measure_throughput(make, epochs=epochs))
    # cache: the same dataset object for every pass, so passes after the first skip decoding
    for _ in range(repeats if with_tf else 0):
        cached = tuned_dataset(encoded, labels, batch_size, cache=True)

        def same_dataset(dataset: Any = cached) -> Any:  # this pass's `cached`, bound now
            return dataset

        keep_best("cached", measure_throughput(same_dataset, epochs=epochs, warmup_batches=0))
    return {key: best[key] for key in PIPELINES if key in best}


def available_pipelines(
    encoded: np.ndarray, labels: np.ndarray, batch_size: int = 128
) -> dict[str, Callable[[], Iterable]]:
    """The pipelines of PIPELINES that can run here, by key: the `tf.data` ones (and the naive
    generator, which runs TensorFlow's ops) where TensorFlow is installed, grain's where grain
    is."""
    import importlib.util

    variants: dict[str, Callable[[], Iterable]] = {}
    with_tf = importlib.util.find_spec("tensorflow") is not None
    if with_tf:
        variants["naive"] = lambda: naive_batches(encoded, labels, batch_size)
    variants["numpy"] = lambda: numpy_batches(encoded, labels, batch_size)
    if with_tf:
        variants["map"] = lambda: tuned_dataset(
            encoded, labels, batch_size, parallel=False, prefetch=False
        )
        variants["tuned"] = lambda: tuned_dataset(encoded, labels, batch_size)
    if importlib.util.find_spec("grain") is not None:
        variants["grain"] = lambda: grain_dataset(encoded, labels, batch_size)
    return variants


def format_table(results: dict[str, Throughput], baseline: str | None = None) -> str:
    """A text table: pipeline, images, seconds, images per second, speed-up over `baseline`
    (default: the naive generator, or the first pipeline where TensorFlow is missing)."""
    baseline = baseline or ("naive" if "naive" in results else next(iter(results)))
    if baseline not in results:
        raise KeyError(f"no baseline {baseline!r} among {list(results)}")
    base = results[baseline].per_second
    labels = {key: PIPELINES.get(key, key) for key in results}
    width = max(len(label) for label in labels.values())
    lines = [
        f"{'pipeline':{width}s} {'images':>7s} {'seconds':>8s} {'images/s':>9s} "
        f"{'vs ' + baseline:>8s}"
    ]
    for key, r in results.items():
        lines.append(
            f"{labels[key]:{width}s} {r.images:7d} {r.seconds:8.2f} {r.per_second:9.0f} "
            f"{r.per_second / base:7.1f}x"
        )
    return "\n".join(lines)
