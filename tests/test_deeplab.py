"""The DeepLabV3+ chapters 10 and 11 share: shapes per mode, the ResNet50 taps, the training
recipe on a few generated scenes, and chapter 11 finding (or not) chapter 10's finished run."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

from course_utils import deeplab  # noqa: E402
from course_utils.datasets.synthetic import shapes_scenes  # noqa: E402

TINY = dataclasses.replace(deeplab.QUICK, epochs=2, batch_size=8)


def test_quick_network_shapes_and_outputs_are_probabilities():
    model = deeplab.build_deeplabv3plus(64, 4, deeplab.QUICK)
    assert model.input_shape == (None, 64, 64, 3) and model.output_shape == (None, 64, 64, 4)
    assert model.get_layer("block1_relu").output.shape == (None, 16, 16, 32)  # output stride 4
    assert model.get_layer("block4_atrous_relu").output.shape == (None, 8, 8, 64)  # stride 8
    assert model.get_layer("aspp_concat").output.shape == (
        None,
        8,
        8,
        5 * 32,
    )  # 1x1, 3 rates, pool
    probs = np.asarray(model(np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 3))))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_full_network_reads_resnet50_where_keras_io_does():
    model = deeplab.build_deeplabv3plus(128, 2, deeplab.FULL, backbone_weights="random")
    assert model.get_layer(deeplab.RESNET50_LOW).output.shape == (None, 32, 32, 64)
    assert model.get_layer(deeplab.RESNET50_HIGH).output.shape == (None, 8, 8, 256)
    assert model.get_layer("decoder_low_relu").output.shape == (None, 32, 32, 48)
    assert model.get_layer("aspp_rate18_conv").dilation_rate == (18, 18)
    assert model.output_shape == (None, 128, 128, 2)


def test_print_shapes_prints_one_row_per_tensor(capsys):
    deeplab.print_shapes([("input", keras.Input((8, 8, 3))), ("a shape", (1, 2))])
    assert capsys.readouterr().out.splitlines() == [
        f"{'input':19s}(None, 8, 8, 3)",
        f"{'a shape':19s}(1, 2)",
    ]


def test_flip_both_flips_image_and_mask_together():
    image = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1).repeat(3, -1)
    mask = np.arange(6, dtype=np.uint8).reshape(2, 3)
    seen = set()
    for _ in range(20):
        im, m = (np.asarray(t) for t in deeplab.flip_both(image, mask))
        flipped = bool((m == mask[:, ::-1]).all() and (m != mask).any())
        assert flipped or (m == mask).all()
        np.testing.assert_array_equal(im[..., 0], np.asarray(m, np.float32))  # still paired
        seen.add(flipped)
    assert seen == {True, False}


def test_train_then_load_or_train_finds_the_finished_run(course_dirs, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(deeplab, "QUICK", TINY)
    train, val = shapes_scenes(32, 64, seed=0), shapes_scenes(16, 64, seed=1)
    # Nothing trained yet: chapter 11 trains under its own run name, never in chapter 10's folder.
    model = deeplab.load_or_train(train, val, 4)
    assert "training the same network" in capsys.readouterr().out
    _, ckpt = course_dirs
    assert (ckpt / "ch11_deeplabv3plus_quick" / "best.keras").exists()
    assert not (ckpt / "ch10_deeplabv3plus_quick").exists()
    # Chapter 10's finished run is loaded as it is, with the same predictions.
    run = deeplab.train(train, val, 4, deeplab.run_name(10))
    assert deeplab.finished_model(deeplab.run_name(10), TINY.epochs) == run.best_model_path
    loaded = deeplab.load_or_train(train, val, 4)
    assert "loaded chapter 10's trained DeepLabV3+" in capsys.readouterr().out
    np.testing.assert_allclose(
        deeplab.predict_probs(loaded, val[0]),
        deeplab.predict_probs(run.load_best(), val[0]),
        atol=1e-6,
    )
    assert model.count_params() == loaded.count_params()


def test_an_unfinished_run_is_not_loaded(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(deeplab, "QUICK", TINY)
    train, val = shapes_scenes(16, 64, seed=0), shapes_scenes(8, 64, seed=1)
    deeplab.train(train, val, 4, deeplab.run_name(10), dataclasses.replace(TINY, epochs=1))
    assert deeplab.finished_model(deeplab.run_name(10), TINY.epochs) is None
    assert deeplab.finished_model(deeplab.run_name(10), 1) is not None


def test_preprocessing_follows_the_backbone():
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    np.testing.assert_allclose(np.asarray(deeplab.preprocess_fn(deeplab.QUICK)(x)), 1.0)
    bgr_minus_mean = np.asarray(deeplab.preprocess_fn(deeplab.FULL)(x.copy()))
    np.testing.assert_allclose(
        bgr_minus_mean[0, 0, 0], [255 - 103.939, 255 - 116.779, 255 - 123.68], rtol=1e-5
    )


def test_settings_follow_the_mode(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert deeplab.settings() is deeplab.QUICK and deeplab.run_name() == "ch10_deeplabv3plus_quick"
    monkeypatch.setenv("COURSE_MODE", "full")
    assert deeplab.settings().backbone == "resnet50" and deeplab.run_name(11).startswith("ch11_")
    with pytest.raises(ValueError, match="random"):
        deeplab.build_deeplabv3plus(64, 2, deeplab.FULL, backbone_weights="hed")


def test_blocks_reads_each_block_shape_from_the_built_model_and_the_diagram_shows_them():
    import matplotlib

    matplotlib.use("Agg")
    quick = deeplab.blocks(deeplab.build_deeplabv3plus(64, 4, deeplab.QUICK))
    assert quick["image"] == (64, 64, 3) and quick["upsampled to image"] == (64, 64, 4)
    assert (
        quick["backbone, high level"][:2] == (8, 8)
        and quick["upsampled ASPP"][:2] == quick["backbone, low level"][:2]
    )
    full = deeplab.blocks(
        deeplab.build_deeplabv3plus(128, 2, deeplab.FULL, backbone_weights="random")
    )
    assert full["backbone, low level"] == (32, 32, 64) and full["backbone, high level"] == (
        8,
        8,
        256,
    )
    fig = deeplab.plot_blocks(quick)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # the arrows are empty texts
    assert len(texts) == 10 and "ASPP\n8x8x32" in texts and "class scores\n16x16x4" in texts


def test_predictions_batch_by_batch_equal_one_predict_call():
    model = deeplab.build_deeplabv3plus(64, 4, deeplab.QUICK)
    images = shapes_scenes(5, 64, seed=3)[0]
    prepared = deeplab.preprocess_fn(deeplab.QUICK)(images.astype("float32"))
    whole = model.predict(prepared, verbose=0)
    probs = deeplab.predict_probs(model, images, deeplab.QUICK, batch=2)  # batches of 2, 2, 1
    assert probs.shape == whole.shape and probs.dtype == np.float32
    np.testing.assert_allclose(probs, whole, atol=1e-5)
    labels = deeplab.predict_labels(model, images, deeplab.QUICK, batch=2)
    assert labels.dtype == np.uint8 and np.array_equal(labels, whole.argmax(-1))


def test_training_batches_shuffle_indices_but_hold_the_right_pairs():
    images, masks = shapes_scenes(12, 64, seed=4)
    train_ds, _ = deeplab.make_datasets((images, masks), (images[:2], masks[:2]), 4, lambda x: x)
    seen = []
    for x, y in train_ds:
        for image, mask in zip(x.numpy().astype(np.uint8), y.numpy(), strict=True):
            # each pair is one of ours, possibly flipped left-right together
            match = [
                i
                for i in range(12)
                if (np.array_equal(image, images[i]) and np.array_equal(mask, masks[i]))
                or (
                    np.array_equal(image, images[i][:, ::-1])
                    and np.array_equal(mask, masks[i][:, ::-1])
                )
            ]
            assert match, "an image came with another image's mask"
            seen.append(match[0])
    assert sorted(seen) == list(range(12)) and seen != list(range(12))  # all of them, shuffled


def test_datasets_read_the_arrays_without_copying_them():
    import psutil

    images = np.full((400, 256, 256, 3), 7, np.uint8)  # 79 MB
    masks = np.full((400, 256, 256), 1, np.uint8)
    rss = psutil.Process().memory_info().rss
    train_ds, val_ds = deeplab.make_datasets(
        (images, masks), (images[:100], masks[:100]), 8, lambda x: x
    )
    grown = psutil.Process().memory_info().rss - rss
    assert grown < 40e6, (
        f"making the datasets took {grown / 1e6:.0f} MB (a copy would take 100 MB)"
    )
    x, y = next(iter(val_ds))
    assert x.shape == (64, 256, 256, 3) and y.shape == (64, 256, 256)


def test_load_data_gives_training_validation_and_test_splits(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(deeplab, "DATA", {**deeplab.DATA, "quick_sizes": (18, 4)})
    (xtr, ytr), (xva, yva), (xte, yte) = deeplab.load_data()
    size = deeplab.DATA["quick_size"]
    assert xtr.shape == (16, size, size, 3) and xva.shape == (2, size, size, 3)
    assert len(ytr) == 16 and len(yva) == 2 and xte.shape == (4, size, size, 3) and len(yte) == 4
    # validation is held out of the training split; the test split is generated apart
    both = {x.tobytes() for x in xtr} | {x.tobytes() for x in xva}
    assert len(both) == 18 and not {x.tobytes() for x in xte} & both


def test_the_course_copy_matches_a_network_built_from_the_same_pieces_and_names_a_difference():
    model = deeplab.build_deeplabv3plus(48, 4, deeplab.QUICK)
    assert deeplab.gap_to_course_copy(model, 4, deeplab.QUICK) < 1e-6
    other = deeplab.build_deeplabv3plus(48, 4, dataclasses.replace(deeplab.QUICK, rates=(1, 2)))
    with pytest.raises(ValueError, match="differ from layer"):
        deeplab.gap_to_course_copy(other, 4, deeplab.QUICK)


def test_compile_makes_the_optimizer_variables_before_the_first_step():
    model = deeplab.compile_deeplab(deeplab.build_deeplabv3plus(48, 4, deeplab.QUICK), 4, 1e-3)
    assert model.optimizer.built and len(model.optimizer.variables) > len(
        model.trainable_variables
    )
    assert (
        deeplab.conv_bn_relu.__doc__ and model.get_layer("stem_bn").momentum == deeplab.BN_MOMENTUM
    )


def test_labels_from_probs_is_argmax_in_uint8():
    probs = np.random.default_rng(5).random((7, 9, 9, 4)).astype(np.float32)
    labels = deeplab.labels_from_probs(probs, batch=3)  # batches of 3, 3, 1
    assert labels.dtype == np.uint8 and np.array_equal(labels, probs.argmax(-1))


def test_without_tf_data_the_batches_hold_the_same_pairs_and_keras_trains_from_them():
    """Colab's TPU runtime has no TensorFlow: make_datasets falls back to a PyDataset."""
    images, masks = shapes_scenes(12, 64, seed=4)
    train_ds, val_ds = deeplab.make_datasets(
        (images, masks), (images[:5], masks[:5]), 4, lambda x: x / 255.0, use_tf_data=False
    )
    assert len(train_ds) == 3 and len(val_ds) == 1
    for _epoch in range(2):
        seen, flipped = [], 0
        for index in range(len(train_ds)):
            x, y = train_ds[index]
            assert x.dtype == np.float32 and x.max() <= 1.0
            for image, mask in zip(np.rint(x * 255).astype(np.uint8), y, strict=True):
                same = [
                    i
                    for i in range(12)
                    if np.array_equal(image, images[i]) and np.array_equal(mask, masks[i])
                ]
                mirrored = [
                    i
                    for i in range(12)
                    if np.array_equal(image, images[i][:, ::-1])
                    and np.array_equal(mask, masks[i][:, ::-1])
                ]
                assert same or mirrored, "an image came with another image's mask"
                seen.append((same or mirrored)[0])
                flipped += not same
        assert sorted(seen) == list(range(12)) and seen != list(range(12))  # all, shuffled
        train_ds.on_epoch_end()
    assert 0 < flipped < 12
    x, y = val_ds[0]
    np.testing.assert_array_equal(y, masks[:5])  # validation: in order, never flipped
    model = deeplab.build_deeplabv3plus(64, 4, deeplab.QUICK)
    deeplab.compile_deeplab(model, 4, 1e-3)
    history = model.fit(train_ds, validation_data=val_ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


def test_array_batches_put_each_training_batch_through_the_given_augment():
    """Chapter 10 passes its own flip: it sees every training batch (uint8, as read) and never
    the validation ones; what it returns is what the network gets, scaled."""
    images, masks = shapes_scenes(10, 32, seed=6)
    kept = images.copy(), masks.copy()
    seen = []

    def mirror_all(batch_images, batch_masks):
        seen.append(len(batch_images))
        assert batch_images.dtype == np.uint8
        return batch_images[:, :, ::-1], batch_masks[:, :, ::-1]

    train = deeplab.array_batches(
        images, masks, 4, lambda x: x / 255.0, shuffle=True, seed=1, augment=mirror_all
    )
    val = deeplab.array_batches(images, masks, 4, lambda x: x / 255.0, augment=mirror_all)
    for index in range(len(train)):
        x, y = train[index]
        for image, mask in zip(np.rint(x * 255).astype(np.uint8), y, strict=True):
            assert any(
                np.array_equal(image, images[i][:, ::-1])
                and np.array_equal(mask, masks[i][:, ::-1])
                for i in range(10)
            )
    x, y = val[0]
    np.testing.assert_array_equal(y, masks[:4])  # validation: as it is
    assert seen == [4, 4, 2]
    assert np.array_equal(images, kept[0]) and np.array_equal(masks, kept[1])
