"""Tests for course_utils.pipelines: real PNG files, both pipelines doing the same work image by
image, cache semantics, and the throughput measurement."""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np
import pytest
from PIL import Image

from course_utils import pipelines as pl


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    """24 small RGB images with structure in every channel (so a flip or shift is visible)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (24, 12, 10, 3), dtype=np.uint8)


def test_png_files_round_trip_through_opencv_pillow_and_tensorflow(images, tmp_path):
    encoded = pl.encode_png(images)
    assert encoded.dtype == object and len(encoded) == len(images)
    for i, png in enumerate(encoded[:5]):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), images[i])
        np.testing.assert_array_equal(
            cv2.imread(str(path))[..., ::-1], images[i]
        )  # BGR on disk read
        np.testing.assert_array_equal(pl.decode_image(png).numpy(), images[i])


def test_encode_png_refuses_floats_and_grey(images):
    with pytest.raises(ValueError, match="uint8 RGB"):
        pl.encode_png(images.astype(np.float32))
    with pytest.raises(ValueError, match="uint8 RGB"):
        pl.encode_png(images[..., 0])


def _padded_views(src: np.ndarray) -> list[np.ndarray]:
    """Every image `augment_image` may produce from `src`: each crop of the padded original or
    of its mirror image, as floats in [0, 1]."""
    h, w = src.shape[:2]
    out = []
    for candidate in (src, src[:, ::-1]):
        padded = np.pad(candidate, ((pl.PAD, pl.PAD), (pl.PAD, pl.PAD), (0, 0)), mode="reflect")
        out += [
            padded[y : y + h, x : x + w] / 255.0
            for y in range(2 * pl.PAD + 1)
            for x in range(2 * pl.PAD + 1)
        ]
    return out


def _is_augmentation_of(image: np.ndarray, src: np.ndarray) -> bool:
    return any(np.allclose(image, v, atol=1e-6) for v in _padded_views(src))


def test_augment_gives_a_flipped_or_plain_crop_of_the_padded_image(images):
    seen = set()
    for _ in range(40):
        out = pl.augment_image(images[0]).numpy()
        assert out.shape == images[0].shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
        assert _is_augmentation_of(out, images[0])
        seen.add(out.tobytes())
    assert len(seen) > 5  # it really is random


def test_naive_and_tuned_pipelines_do_the_same_work(images):
    encoded, labels = pl.encode_png(images), np.arange(len(images))  # label = index of the source
    naive = list(pl.naive_batches(encoded, labels, batch_size=10))
    tuned = [(x.numpy(), y.numpy()) for x, y in pl.tuned_dataset(encoded, labels, batch_size=10)]
    for batches in (naive, tuned):
        assert [len(y) for _, y in batches] == [10, 10, 4]
        all_labels = np.concatenate([y for _, y in batches])
        assert sorted(all_labels) == list(range(len(images)))  # each image exactly once
        assert not np.array_equal(all_labels, labels)  # shuffled
        for x, y in batches:
            assert x.dtype == np.float32 and x.shape[1:] == images.shape[1:]
            for image, label in zip(x, y, strict=True):
                assert _is_augmentation_of(image, images[label])


@pytest.mark.parametrize("parallel, prefetch", [(False, False), (True, False), (True, True)])
def test_tuned_variants_deliver_every_image(images, parallel, prefetch):
    encoded, labels = pl.encode_png(images), np.arange(len(images))
    ds = pl.tuned_dataset(encoded, labels, 7, parallel=parallel, prefetch=prefetch)
    assert sorted(np.concatenate([y.numpy() for _, y in ds])) == list(range(len(images)))


def test_cache_keeps_decoding_once_but_reshuffles_and_reaugments(images):
    encoded, labels = pl.encode_png(images), np.arange(len(images))
    ds = pl.tuned_dataset(encoded, labels, batch_size=len(images), cache=True)
    ((x1, y1),) = [(x.numpy(), y.numpy()) for x, y in ds]
    ((x2, y2),) = [(x.numpy(), y.numpy()) for x, y in ds]
    assert sorted(y1) == sorted(y2) == list(range(len(images)))
    assert not np.array_equal(y1, y2), "the order must change between passes (shuffle after cache)"
    x2_in_order_1 = x2[np.argsort(y2)][y1]
    assert not np.allclose(x1, x2_in_order_1), "augmentation must be drawn afresh on each pass"
    for image, label in zip(x2, y2, strict=True):
        assert _is_augmentation_of(image, images[label])


def test_bad_inputs_get_clear_errors(images):
    encoded = pl.encode_png(images)
    with pytest.raises(ValueError, match="24 images but 3 labels"):
        pl.tuned_dataset(encoded, np.arange(3))
    with pytest.raises(ValueError, match="batch_size"):
        next(pl.naive_batches(encoded, np.arange(24), batch_size=0))
    with pytest.raises(ValueError, match="epochs"):
        pl.measure_throughput(lambda: [], epochs=0)


def test_an_image_of_another_size_is_refused(images):
    import tensorflow as tf

    odd = pl.encode_png(np.zeros((1, 5, 10, 3), np.uint8))
    encoded = np.concatenate([pl.encode_png(images), odd])
    with pytest.raises(tf.errors.InvalidArgumentError, match="not compatible with expected shape"):
        list(pl.tuned_dataset(encoded, np.arange(len(encoded)), batch_size=8))


def test_measure_throughput_counts_images_and_time_but_not_warmup():
    calls = []

    def make():
        calls.append(1)
        for _ in range(4):
            time.sleep(0.05)
            yield np.zeros((10, 2)), np.zeros(10)

    run = pl.measure_throughput(make, epochs=2, warmup_batches=1)
    assert len(calls) == 3  # one warm-up iterator, then one per epoch
    assert run.images == 80
    assert 0.4 <= run.seconds < 2.0
    assert run.per_second == pytest.approx(80 / run.seconds)


def test_compare_pipelines_table_and_the_tuned_pipeline_is_faster(images):
    rng = np.random.default_rng(1)
    encoded = pl.encode_png(rng.integers(0, 256, (384, 32, 32, 3), dtype=np.uint8))
    results = pl.compare_pipelines(
        encoded, rng.integers(0, 10, 384), batch_size=64, repeats=1, epochs=1
    )
    assert len(results) == 6 and all(r.images == 384 for r in results.values())
    table = pl.format_table(results)
    assert table.splitlines()[1].startswith("naive Python generator") and "1.0x" in table
    assert list(results) == list(pl.PIPELINES)
    speedup = results["tuned"].per_second / results["naive"].per_second
    assert speedup > 1.5, table  # eager op-by-op Python against a tf.data graph
    with pytest.raises(KeyError, match="no baseline"):
        pl.format_table(results, baseline="nothing")


def test_numpy_batches_decode_augment_and_keep_every_label_once():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(20)
    batches = list(pl.numpy_batches(pl.encode_png(images), labels, batch_size=8))
    assert [b[0].shape for b in batches] == [(8, 32, 32, 3), (8, 32, 32, 3), (4, 32, 32, 3)]
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(20))
    first, label = batches[0][0][0], batches[0][1][0]
    assert first.dtype == np.float32 and 0.0 <= first.min() and first.max() <= 1.0
    original = images[label] / 255.0
    padded = [
        np.pad(o, ((4, 4), (4, 4), (0, 0)), mode="reflect") for o in (original, original[:, ::-1])
    ]
    windows = [p[dy : dy + 32, dx : dx + 32] for p in padded for dy in range(9) for dx in range(9)]
    assert any(np.allclose(first, w, atol=1e-6) for w in windows)  # a flipped or not, shifted copy


def test_plot_throughput_draws_one_bar_per_pipeline_with_its_speedup():
    results = {"naive": pl.Throughput(100, 1.0), "tuned": pl.Throughput(100, 0.25)}
    fig = pl.plot_throughput(results, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        pl.PIPELINES["naive"],
        pl.PIPELINES["tuned"],
    ]
    assert [t.get_text() for t in ax.texts] == [" 100/s (1.0x)", " 400/s (4.0x)"]


def test_grain_does_the_same_work_as_tf_data_on_the_same_files(images):
    """grain (no TensorFlow) against tf.data: every image once per pass, each with its own
    label, decoded to the same pixels and augmented the same way (a flip and a crop of the
    reflect-padded image); a given seed repeats the pass exactly."""
    pytest.importorskip("grain")
    encoded, labels = pl.encode_png(images), np.arange(len(images))
    for png in encoded:
        np.testing.assert_array_equal(pl.decode_png(png), pl.decode_image(png).numpy())
    batches = [(np.asarray(x), np.asarray(y)) for x, y in pl.grain_dataset(encoded, labels, 10)]
    tuned = [(x.numpy(), y.numpy()) for x, y in pl.tuned_dataset(encoded, labels, batch_size=10)]
    for run in (batches, tuned):
        assert [len(y) for _, y in run] == [10, 10, 4]
        assert sorted(np.concatenate([y for _, y in run])) == list(range(len(images)))
        for x, y in run:
            assert x.dtype == np.float32 and x.shape[1:] == images.shape[1:]
            assert all(
                _is_augmentation_of(image, images[label])
                for image, label in zip(x, y, strict=True)
            )
    again = [np.asarray(x) for x, _ in pl.grain_dataset(encoded, labels, 10)]
    assert all(np.array_equal(a, b) for a, (b, _) in zip(again, batches, strict=True))
    flipped = sum(
        not any(np.allclose(img, v, atol=1e-6) for v in _padded_views(images[lab])[:81])
        for x, y in batches
        for img, lab in zip(x, y, strict=True)
    )
    assert 0 < flipped < len(images)  # some flipped, some not


def test_without_tensorflow_the_table_compares_what_runs_here(images, monkeypatch):
    """Colab's TPU runtime: no tf.data rows; the PIL + NumPy generator is the baseline."""
    pytest.importorskip("grain")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorflow" else real(name, *a),
    )
    encoded, labels = pl.encode_png(images), np.arange(len(images))
    assert list(pl.available_pipelines(encoded, labels, 8)) == ["numpy", "grain"]
    results = pl.compare_pipelines(encoded, labels, batch_size=8, repeats=1, epochs=1)
    assert list(results) == ["numpy", "grain"]
    table = pl.format_table(results)
    assert "vs numpy" in table and "grain" in table and "tf.data" not in table
