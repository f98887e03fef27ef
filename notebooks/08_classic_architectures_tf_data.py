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
# # 08 · Classic architectures on CIFAR-10, fed by tf.data
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/08_classic_architectures_tf_data.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/08_classic_architectures_tf_data.ipynb)
#
# **What you will learn**
# - an input pipeline with `tf.data` (split, `map`, `cache`, `shuffle`, `batch`,
#   `prefetch`) and why the order matters; the same pipeline with grain, without TensorFlow
# - how much faster it is than a Python generator, and why: measured
# - a short history: LeNet, ImageNet and AlexNet, VGG, ResNet
# - AlexNet's ideas (ReLU, dropout, overlapping pooling, local response normalisation) and
#   why batch normalisation replaced the last one
# - VGG's stacks of 3x3 convolutions; both styles trained and compared on CIFAR-10
#
# **Run time**: quick mode 45-300 s on a 2-core CPU (idle machine to busy one; a generated
# stand-in, 3 epochs); full mode (CIFAR-10, 30 epochs per model) two to three hours on a
# 2-core CPU (estimated from the quick run), 10-15 minutes on a GPU.

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
env.banner(
    quick_data="1,200 generated 32x32 images of ten drawn patterns "
               "(CIFAR-10 layout)",
    full_data="CIFAR-10: 50,000 training and 10,000 test photos, 32x32",
    reference="at least 75% test accuracy for the VGG-style net after 30 "
              "epochs (the Keras cifar10_cnn example, without batch norm: "
              "75% after 25 epochs, 79% after 50)")

# %%
import os
import numpy as np
import keras
from keras import layers
from course_utils import backends, metrics, pipelines, training
from course_utils.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10
from course_utils.datasets.synthetic import CIFAR10_STANDIN_PATTERNS
from course_utils.plots import (compare_histories, plot_confusion, show_images,
                                show_predictions)

# %%
HAS_TF = backends.has("tensorflow")  # Colab's TPU runtime has none
if HAS_TF:
    import tensorflow as tf

# %% [markdown]
# ## 1. Data: CIFAR-10
# CIFAR-10 has 60,000 colour images of 32x32 pixels in ten classes (airplane, automobile,
# bird, cat, deer, dog, frog, horse, ship, truck): 50,000 for training, 10,000 for testing.
# Quick mode generates a **stand-in** with the same layout (ten classes of drawn patterns,
# as in chapters 01 and 02): its accuracies say nothing about real photos.

# %%
(x_train_all, y_train_all), (x_test, y_test) = load_cifar10(
    n_train=env.by_mode(quick=1_200, full=None),
    n_test=env.by_mode(quick=500, full=None))
print("train:", x_train_all.shape, x_train_all.dtype, " test:", x_test.shape,
      " labels:", y_train_all.dtype)
class_names = CIFAR10_STANDIN_PATTERNS if ENV.quick else CIFAR10_CLASSES
names = [class_names[k] for k in y_train_all[:16]]
show_images(x_train_all[:16], labels=names, ncols=8,
            title="the first training images");

# %% [markdown]
# ## 2. An input pipeline with `tf.data`
# Images usually reach a model as files to decode. Here every training image becomes a PNG
# file held in memory, and the pipeline starts from these bytes.

# %%
png_train = pipelines.encode_png(x_train_all)
mean_size = np.mean([len(b) for b in png_train])
print(f"{len(png_train):,} PNG files, {mean_size:.0f} bytes each on average; "
      f"first bytes: {png_train[0][:8]}")
n_val = len(png_train) // 10  # a tenth for validation

# %% [markdown]
# `tf.data.Dataset.from_tensor_slices` makes a dataset with one element per image: a pair
# (PNG bytes, label). **Split** it with `take` and `skip` after one shuffle, with
# `reshuffle_each_iteration=False`: otherwise the shuffle runs again on every pass, `take`
# and `skip` pick different images each epoch, and validation images leak into training.

# %%
if backends.installed("tensorflow", "the tf.data split"):
    files = tf.data.Dataset.from_tensor_slices(
        (tf.constant(list(png_train)), y_train_all))
    files = files.shuffle(len(png_train), seed=0,
                          reshuffle_each_iteration=False)
    val_files, train_files = files.take(n_val), files.skip(n_val)
    png, label = files.element_spec
    print(f"element: ({png.dtype.name}, {label.dtype.name}); train: "
          f"{train_files.cardinality().numpy():,} images, "
          f"validation: {val_files.cardinality().numpy():,}")

# %% [markdown]
# Check that the split holds across passes: no PNG file may be in both sets, even when we
# iterate twice.

# %%
if backends.installed("tensorflow", "the split's check"):
    train_set = {png for png, _ in train_files.as_numpy_iterator()}
    val_pass_1 = [png for png, _ in val_files.as_numpy_iterator()]
    val_pass_2 = [png for png, _ in val_files.as_numpy_iterator()]
    assert val_pass_1 == val_pass_2 and not train_set & set(val_pass_1)
    print(f"{len(train_set):,} + {len(set(val_pass_1)):,} distinct files, "
          "no overlap, same split on every pass: PASS")

# %% [markdown]
# The per-image work lives in `course_utils.pipelines`: decode the PNG, scale to [0, 1],
# flip left-right at random, and crop a random 32x32 window out of a copy padded by 4
# pixels, the usual CIFAR-10 augmentation:
#
# ```python
# image = tf.io.decode_png(png, channels=3)               # decode_image
# image = tf.image.convert_image_dtype(image, tf.float32)  # to [0, 1]
# image = tf.image.random_flip_left_right(image)
# padded = tf.pad(image, [[4, 4], [4, 4], [0, 0]], mode="REFLECT")
# image = tf.image.random_crop(padded, tf.shape(image))    # a 32x32 window
# ```

# %%
IMAGE_SHAPE = (32, 32, 3)
if HAS_TF:
    one = pipelines.decode_image(png_train[0], IMAGE_SHAPE)
    views = [pipelines.augment_image(one).numpy() for _ in range(8)]
else:  # the same augmentation in NumPy (section 2b)
    one, rng = pipelines.decode_png(png_train[0]), np.random.default_rng(0)
    views = [pipelines.augment_numpy(one, rng) for _ in range(8)]
show_images(views, ncols=8, title="one training image, augmented eight times");


# %% [markdown]
# Now the pipelines. The order of the steps is the lesson:
# 1. `map(decode)`: the same result every epoch, so do it once...
# 2. `cache()`: ...and keep it: from the second epoch on, decoded images come from memory.
# 3. `shuffle(n)`: after the cache, so each epoch sees a new order (before it, the cache
#    would replay the first epoch's order).
# 4. `map(augment)`: after the cache, so each epoch gets new random flips and crops.
# 5. `batch(64)`, then `prefetch(AUTOTUNE)`: the pipeline prepares the next batches while
#    the model trains.
#
# Every `map` runs with `num_parallel_calls=AUTOTUNE` (all cores). These steps are the
# course's `pipelines.tuned_pipeline` with `cache=True`:
#
# ```python
# ds = files.map(decode, num_parallel_calls=AUTOTUNE).cache()
# ds = ds.shuffle(ds.cardinality(), seed=seed)
# ds = ds.map(augment, num_parallel_calls=AUTOTUNE)
# ds = ds.batch(batch_size).prefetch(AUTOTUNE)
# ```

# %% [markdown]
# Validation images are decoded and cached, not shuffled or augmented.

# %%
BATCH = 64
if backends.installed("tensorflow", "the tf.data pipeline"):
    AUTOTUNE = tf.data.AUTOTUNE

    def decode(png, label):
        return pipelines.decode_image(png, IMAGE_SHAPE), label

    def to_float(image, label):
        return tf.image.convert_image_dtype(image, tf.float32), label

    train_ds = pipelines.tuned_pipeline(train_files, IMAGE_SHAPE, BATCH,
                                        seed=1, cache=True)
    val_ds = (val_files.map(decode, num_parallel_calls=AUTOTUNE)
              .map(to_float, num_parallel_calls=AUTOTUNE).cache()
              .batch(BATCH).prefetch(AUTOTUNE))

# %% [markdown]
# ### 2b. The same pipeline with grain
# Colab's TPU runtime has no TensorFlow. There, `grain`, JAX's data loader, builds the same
# pipeline from Python functions: `pipelines.decode_png` (PIL) and `augment_numpy`, the
# NumPy twin of `augment_image`. A `MapDataset` is indexed like a list: the split is a
# slice. `shuffle` before `repeat` gives every pass a new order, `random_map` new random
# numbers; `to_iter_dataset` maps on threads and prefetches. There is no cache.

# %%
def decode_pair(pair):  # (PNG, label) -> (image in [0, 1], label)
    png, label = pair
    return pipelines.decode_png(png).astype("float32") / 255, label


def augment_pair(pair, rng):  # decode, then a random flip and crop
    png, label = pair
    return pipelines.augment_numpy(pipelines.decode_png(png), rng), label

# %%
if backends.installed("grain", "the grain pipeline"):
    import grain
    pairs = grain.MapDataset.source(list(zip(png_train, y_train_all)))
    pairs = pairs.shuffle(seed=0)  # one fixed order, then split it
    val_pairs, train_pairs = pairs[:n_val], pairs[n_val:]
    threads = grain.ReadOptions(num_threads=4, prefetch_buffer_size=128)
    train_grain = (train_pairs.shuffle(seed=1).repeat()
                   .random_map(augment_pair, seed=1)
                   .to_iter_dataset(threads).batch(BATCH))
    val_grain = val_pairs.map(decode_pair).to_iter_dataset().batch(BATCH)
    print(f"grain: {len(train_pairs):,} training and {len(val_pairs):,} "
          "validation files")

# %% [markdown]
# On the grain split's validation files, `tf.data` with section 2's `decode` and
# `to_float` must give the same images, labels and batch shapes:

# %%
both = ("grain", "tensorflow")
if all(backends.installed(p, "the tf.data check") for p in both):
    pngs, labels = (list(column) for column in zip(*val_pairs))
    same_files = tf.data.Dataset.from_tensor_slices((pngs, labels))
    tf_val = same_files.map(decode).map(to_float).batch(BATCH)
    for (x_tf, y_tf), (x_gr, y_gr) in zip(tf_val, val_grain, strict=True):
        assert x_tf.shape == x_gr.shape and np.array_equal(y_tf, y_gr)
        assert np.allclose(x_tf, x_gr, atol=1e-6)
    x_tf, x_gr = next(iter(train_ds))[0], next(iter(train_grain))[0]
    assert x_tf.shape == x_gr.shape and x_tf.dtype.name == x_gr.dtype.name
    print(f"grain == tf.data on {len(pngs)} validation files (images, "
          "labels, shapes): PASS")

# %% [markdown]
# The model trains from `tf.data` where TensorFlow is installed, else from grain:

# %% tags=["nbval-check-output"]
if HAS_TF:
    train_data, val_data = train_ds, val_ds
else:
    train_data, val_data = train_grain, val_grain
images, labels = (np.asarray(part) for part in next(iter(train_data)))
print("a training batch:", images.shape, images.dtype, "labels:",
      labels.shape, labels.dtype)

# %% [markdown]
# ## 3. How fast is the pipeline? Measured
# A first input pipeline is often a Python generator. `pipelines.naive_batches` does the
# work of `tuned_pipeline` without the cache (the same `decode_and_augment`):
#
# ```python
# for start in range(0, len(order), batch_size):
#     images, batch_labels = [], []
#     for i in order[start:start + batch_size]:
#         image, label = decode_and_augment(tf.constant(encoded[i]),
#                                           tf.constant(labels[i]))
#         images.append(image.numpy())
#         batch_labels.append(label.numpy())
#     yield np.stack(images), np.array(batch_labels)
# ```

# %% [markdown]
# **Predict before you run:** which is faster, and by how much? The generator runs
# TensorFlow operations eagerly, one image at a time. `tf.data` compiles the same function
# into a graph, may run it on several images at once and prepares batches ahead.
#
# `compare_pipelines` feeds the same PNG files, two passes each, to: the naive generator; a
# generator with PIL and NumPy (`pipelines.numpy_batches`); `tuned_pipeline` with one call
# at a time and no prefetch; `tuned_pipeline` as it is; with `cache` (less work: not part
# of the comparison); and grain. Without TensorFlow, only the last two without `tf.data` run.

# %%
n_bench = env.by_mode(quick=300, full=5_000)
results = pipelines.compare_pipelines(
    png_train[:n_bench], y_train_all[:n_bench], batch_size=128,
    repeats=env.by_mode(quick=1, full=3), epochs=2)
print(pipelines.format_table(results))
title = f"images per second, {n_bench} PNG files, {os.cpu_count()} cores"
pipelines.plot_throughput(results, title=title);

# %%
speed = {key: r.per_second for key, r in results.items()}
fastest = max(speed.keys() - {"cached"}, key=speed.get)
print(f"fastest without the cache: {pipelines.PIPELINES[fastest]}")
if "grain" in speed:
    print(f"grain: {speed['grain'] / speed['numpy']:.1f}x the PIL + NumPy "
          f"generator (same functions, {pipelines.GRAIN_THREADS} threads)")

# %%
if backends.installed("tensorflow", "the tf.data timing"):
    graph = speed["map"] / speed["naive"]
    print(f"one-call tf.data map (a graph, not eager Python): {graph:.1f}x "
          "the naive generator")
    print(f"parallel map + prefetch: {speed['tuned'] / speed['map']:.2f}x "
          f"the one-call map, on {os.cpu_count()} cores")
    print(f"PIL + NumPy generator: {speed['numpy'] / speed['naive']:.1f}x "
          f"the naive one, {speed['numpy'] / speed['tuned']:.2f}x the tuned")
    env.check("tuned tf.data / naive generator",
              speed["tuned"] / speed["naive"], at_least=3)
    env.check("one-call tf.data map / naive generator", graph, at_least=3)

# %% [markdown]
# **Answer** (where TensorFlow runs): `tf.data` beats the naive generator by the factors
# printed above, the one-call map included: a graph leaves eager TensorFlow's Python
# overhead on every small operation behind. The PIL + NumPy generator
# has no such overhead, so it is the fair baseline; compare it with the tuned pipeline
# above. Parallel calls add at most what idle cores allow, and `prefetch` pays off when a
# model trains between batches, which this leaves out.

# %% [markdown]
# ## 4. A short history, then AlexNet's ideas
# The architectures of this course in the order they appeared:
#
# | year | network | what it brought | result |
# |---|---|---|---|
# | 1989, 1998 | LeNet (LeCun et al.) | convolutions and pooling, trained end to end by backpropagation, on handwritten digits | LeNet-5: 0.95% test error on MNIST with about 60,000 weights (LeCun et al., 1998) |
# | 2009 | ImageNet (Deng et al.) | the data: its ILSVRC challenge (from 2010) has 1.2 million training images in 1,000 classes | |
# | 2012 | AlexNet (Krizhevsky et al.) | a deep convnet trained on GPUs, ReLU, dropout | ILSVRC-2012: 15.3% top-5 test error, against 26.2% for the second entry |
# | 2014 | VGG (Simonyan and Zisserman) | depth from stacks of 3x3 convolutions, 16-19 layers (VGG16: chapters 07, 09) | ILSVRC-2014: 7.3% top-5 test error, second in classification (GoogLeNet won with 6.7%) |
# | 2015 | ResNet (He et al.) | residual connections, which make 152 layers trainable (ResNet50: chapter 10) | ILSVRC-2015: 3.57% top-5 test error, first in classification |
#
# AlexNet (60 million parameters, trained on two GPUs) made several ideas standard:
# - **ReLU** instead of tanh: a four-layer convnet with ReLUs reached 25% training error on
#   CIFAR-10 six times faster than the same network with tanh units (chapter 04 shows why:
#   no saturation for positive inputs).
# - **Dropout** (p = 0.5) in the first two fully connected layers, which hold most of the
#   parameters.
# - **Overlapping pooling**: 3x3 windows with stride 2, so neighbouring windows share a row
#   or column; it lowered top-1 / top-5 error by 0.4% / 0.3% compared with 2x2, stride 2.
# - **Local response normalisation** (LRN), below.
# - Heavy **data augmentation** (random crops and flips, colour changes), as in our pipeline.
#
# Overlapping pooling in numbers, on a 32x32 map:

# %% tags=["nbval-check-output"]
x = np.zeros((1, 32, 32, 1), "float32")
for size, stride in [(2, 2), (3, 2)]:
    out = layers.MaxPooling2D(size, strides=stride)(x)
    side, windows = out.shape[1], int(np.ceil(size / stride)) ** 2
    print(f"pool {size}x{size}, stride {stride}: 32x32 -> {side}x{side}; "
          f"windows per pixel: up to {windows}")

# %% [markdown]
# **Local response normalisation.** Each activation is divided by a term that grows with the
# squared activations of its $n$ neighbouring channels at the same pixel, a form of
# "lateral inhibition":
# $$b^i_{x,y} = a^i_{x,y} \Big/ \Big(k + \alpha \sum_{j=\max(0, i-n/2)}^{\min(N-1, i+n/2)} (a^j_{x,y})^2\Big)^{\beta}$$
# with $k = 2$, $n = 5$, $\alpha = 10^{-4}$, $\beta = 0.75$ in AlexNet (it lowered their top-1 /
# top-5 error by 1.4% / 1.2%). Written in NumPy:

# %%
def lrn_numpy(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """LRN across the last (channel) axis of a (..., N) array, as AlexNet."""
    N = a.shape[-1]
    out = np.empty_like(a)
    for i in range(N):
        lo, hi = max(0, i - n // 2), min(N - 1, i + n // 2)
        squares = np.sum(a[..., lo:hi + 1] ** 2, axis=-1)
        out[..., i] = a[..., i] / (k + alpha * squares) ** beta
    return out

# %% [markdown]
# Keras has no LRN layer any more. A small layer written with `keras.ops` runs on every
# backend: pad the channel axis by $n/2$ on each side, and the sum over a channel's
# neighbours is the sum of $n$ shifted slices.

# %%
class LocalResponseNorm(layers.Layer):  # across channels; no weights
    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kw):
        super().__init__(**kw)
        self.depth_radius, self.bias = depth_radius, bias
        self.alpha, self.beta = alpha, beta

    def call(self, x):
        r, channels = self.depth_radius, x.shape[-1]
        padded = keras.ops.pad(keras.ops.square(x), [[0, 0]] * 3 + [[r, r]])
        sums = sum(padded[..., i:i + channels] for i in range(2 * r + 1))
        return x / (self.bias + self.alpha * sums) ** self.beta

    def get_config(self):
        return {**super().get_config(), "depth_radius": self.depth_radius,
                "bias": self.bias, "alpha": self.alpha, "beta": self.beta}

# %% [markdown]
# Checked against the NumPy version, and against TensorFlow's
# `tf.nn.local_response_normalization` (whose `depth_radius` is $n/2$):

# %%
a = np.random.default_rng(0).uniform(0, 60, (2, 4, 4, 16)).astype("float32")
ours = keras.ops.convert_to_numpy(LocalResponseNorm()(a))
assert np.allclose(lrn_numpy(a), ours, rtol=1e-5)
gap = np.abs(lrn_numpy(a) - ours).max()
print(f"layer == NumPy LRN (max |diff| {gap:.1e})")
if backends.installed("tensorflow", "the check against tf.nn"):
    tf_lrn = tf.nn.local_response_normalization(
        a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75).numpy()
    assert np.allclose(tf_lrn, ours, rtol=1e-5)
    print(f"layer == tf.nn.local_response_normalization "
          f"(max |diff| {np.abs(tf_lrn - ours).max():.1e})")


# %% [markdown]
# **Why batch normalisation replaced it.** LRN's constants are fixed for AlexNet's
# activation scale; the VGG paper found it did not help while costing memory and time.
# Batch normalisation (Ioffe and Szegedy, 2015) normalises each channel with the batch's
# statistics, then learns a scale and shift: stable inputs for every layer, higher
# learning rates.
#
# ## 5. Two classic-style networks for 32x32 images
# **AlexNet-style**: large first filters (5x5 here, 11x11 on 224x224 in AlexNet), ReLU, LRN
# after the first two convolutions, overlapping 3x3 / stride 2 pooling, three 3x3 convolutions,
# then two wide dense layers with dropout 0.5. The widths are cut to fit 32x32 images and a CPU.

# %%
def make_alexnet_style() -> keras.Model:
    inputs = keras.Input(shape=IMAGE_SHAPE)
    x = inputs
    for filters in (32, 64):  # large filters, LRN, overlapping pooling
        x = layers.Conv2D(filters, 5, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(3, strides=2)(LocalResponseNorm()(x))
    for filters in (96, 96, 64):  # then three 3x3 convolutions
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = layers.Flatten()(x)
    for _ in range(2):  # two wide dense layers, each followed by dropout
        x = layers.Dropout(0.5)(layers.Dense(256, activation="relu")(x))
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="alexnet_style")


# %% [markdown]
# A short table shows each layer's output shape and parameter count:

# %%
def summarize(model: keras.Model) -> None:
    for layer in model.layers[1:]:
        print(f"{type(layer).__name__:18s} {str(layer.output.shape):20s} "
              f"{layer.count_params():>8,}")
    print(f"total parameters: {model.count_params():,}")


# %% tags=["nbval-check-output"]
alexnet = make_alexnet_style()
summarize(alexnet)

# %% [markdown]
# Check the counts by hand: the first layer has 5·5·3·32 + 32 = 2,432 parameters, the second
# 5·5·32·64 + 64 = 51,264. Overlapping pooling takes 32 to 15, 15 to 7, 7 to 3; the first dense
# layer sees 3·3·64 = 576 numbers: 576·256 + 256 = 147,712 parameters.

# %%
assert alexnet.layers[1].count_params() == 5 * 5 * 3 * 32 + 32
assert alexnet.layers[4].count_params() == 5 * 5 * 32 * 64 + 64
assert alexnet.layers[12].count_params() == 3 * 3 * 64 * 256 + 256
print("hand counts == Keras counts: PASS")

# %% [markdown]
# How much does LRN change the first layer's activations at initialisation, on our images?

# %%
first_conv = keras.Model(alexnet.input, alexnet.layers[1].output)
acts = keras.ops.convert_to_numpy(first_conv(images))
lrn = keras.ops.convert_to_numpy(LocalResponseNorm()(acts))
ratio = lrn[acts > 0] / acts[acts > 0]
print(f"LRN output / input on {ratio.size:,} positive activations:")
print(f"min {ratio.min():.4f}, max {ratio.max():.4f} "
      f"(2 ** -0.75 = {2 ** -0.75:.4f})")

# %% [markdown]
# With activations of this size, $\alpha \sum a^2$ is tiny next to $k = 2$, and LRN is almost a
# constant scaling by $2^{-0.75}$. AlexNet's constants suited its raw pixel values (0-255),
# far larger. Batch norm adapts to the data instead.
#
# **VGG-style**: only 3x3 convolutions, in blocks of two, the number of filters doubling
# after each 2x2 pooling (32, 64, 128). Two stacked 3x3 convolutions see a 5x5 window, like
# one 5x5 convolution, with fewer parameters and one more non-linearity:

# %% tags=["nbval-check-output"]
C = 64
no_bias = dict(use_bias=False)
two_3x3 = keras.Sequential([keras.Input((16, 16, C)),
                            layers.Conv2D(C, 3, **no_bias),
                            layers.Conv2D(C, 3, **no_bias)])
one_5x5 = keras.Sequential([keras.Input((16, 16, C)),
                            layers.Conv2D(C, 5, **no_bias)])
x = np.zeros((1, 16, 16, C), "float32")
for name, net in [("two 3x3 convs,", two_3x3), ("one 5x5 conv,", one_5x5)]:
    print(f"{name:14s} {C} channels: {net.count_params():,} weights, "
          f"16x16 -> {tuple(net(x).shape[1:])}")

# %% [markdown]
# Our VGG-style net uses batch normalisation after every convolution (so the convolutions need
# no bias: BN's learned shift replaces it). BN's `momentum=0.9` makes its running statistics,
# used at test time, follow the data within a few dozen steps; Keras' default 0.99 needs a few
# hundred, more than a short run has.

# %%
def make_vgg_style() -> keras.Model:
    inputs = keras.Input(shape=IMAGE_SHAPE)
    x = inputs
    for filters in (32, 64, 128):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="vgg_style")


# %% tags=["nbval-check-output"]
vgg = make_vgg_style()
summarize(vgg)

# %% [markdown]
# ## 6. Train both
# Same pipeline, optimiser and epochs for both. A `ModelCheckpoint` keeps the weights of the
# epoch with the best validation accuracy (in the checkpoint folder: Drive in Colab), and we
# reload them before measuring the test accuracy.

# %%
def train(model: keras.Model, epochs: int) -> keras.callbacks.History:
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    best = ENV.checkpoint_dir / f"08_{model.name}.weights.h5"
    keep_best = keras.callbacks.ModelCheckpoint(
        str(best), monitor="val_accuracy", save_best_only=True,
        save_weights_only=True)
    log = training.compact_log(epochs, monitor="val_accuracy")
    history = model.fit(train_data, validation_data=val_data, epochs=epochs,
                        steps_per_epoch=steps, shuffle=False, verbose=0,
                        callbacks=[keep_best, log])
    model.load_weights(best)
    return history

# %%
epochs = env.by_mode(quick=3, full=30)
# grain's stream never ends: an epoch is one pass of batches
steps = None if HAS_TF else -(-len(train_pairs) // BATCH)
if not HAS_TF:  # Keras can't tell a grain set's length: validate on arrays
    val_data = tuple(map(np.stack, zip(*val_pairs.map(decode_pair))))
histories = {model.name: train(model, epochs) for model in (alexnet, vgg)}

# %%
data_title = "generated stand-in, not CIFAR-10" if ENV.quick else "CIFAR-10"
compare_histories(histories, metrics=("loss", "val_loss", "val_accuracy"),
                  title=f"both models ({data_title})");

# %% [markdown]
# A network with batch norm can sit near or below chance (0.10) on validation images in its
# first epochs while its training accuracy rises. Training normalises with each batch's own
# statistics; validation uses running averages of them, which still lag behind the
# fast-changing weights, so the network may answer one class for nearly every image.

# %%
x_test_float = x_test.astype("float32") / 255  # the arrays, scaled to [0, 1]
test_accuracy = {m.name: m.evaluate(x_test_float, y_test, batch_size=256,
                                    verbose=0)[1]
                 for m in (alexnet, vgg)}
data_name = "the stand-in" if ENV.quick else "CIFAR-10"
for name, acc in test_accuracy.items():
    print(f"{name:14s} test accuracy on {len(x_test):,} images of "
          f"{data_name}: {acc:.4f}")
print(f"mode: {ENV.mode}, {epochs} epochs, "
      f"{len(x_train_all) - n_val:,} training images")

# %% [markdown]
# Where does the VGG-style network go wrong? Its answers on the first test images (green when
# right; red, with the truth, when wrong), and the confusion matrix over the whole test set:
# row = true class, column = the network's answer.

# %%
predicted = vgg.predict(x_test_float, verbose=0).argmax(axis=1)
show_predictions(x_test[:16], y_test[:16], predicted[:16],
                 class_names=class_names,
                 title=f"VGG-style answers on the first 16 test images "
                       f"({data_title})")
confusion = metrics.confusion_matrix(y_test, predicted, num_classes=10,
                                     ignore_label=None)
plot_confusion(confusion, class_names=class_names,
               title=f"VGG-style, {data_title}");

# %% [markdown]
# **Run short, show full.** Quick mode's numbers (a few epochs on a stand-in) show that the
# code trains. Full mode (CIFAR-10, 30 epochs) checks at least 75% test accuracy for the
# VGG-style net: the Keras example `cifar10_cnn.py` (no batch norm) reported 75% after 25
# epochs and 79% after 50.

# %%
env.check("VGG-style test accuracy", test_accuracy["vgg_style"],
          at_least=env.by_mode(quick=0.25, full=0.75))

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave the arrays
# they are given unchanged (the checks look). Nothing later in the chapter uses your functions,
# so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch08

# %% [markdown]
# ### Exercise 8.1 ★ AlexNet's ten crops
# AlexNet trained on random crops and their mirror images; to classify a test image it averaged
# its predictions over ten fixed crops: the four corners and the centre, and the same five
# mirrored left to right. Write `ten_crops(image, size)` for an image of shape
# (height, width, channels), larger than `size` on both sides. Return an array of shape
# (10, `size`, `size`, channels): top-left, top-right, bottom-left, bottom-right, centre, then
# those five mirrored, in the same order. The centre crop starts at row
# (height - size) // 2 and column (width - size) // 2, rounded down when the margin is odd.
# Hint: a slice with step -1 reverses an axis; which axis of a crop is left to right?

# %%
def ten_crops(image: np.ndarray, size: int) -> np.ndarray:
    """Four corner crops and the centre crop of size x size, then the five
    mirrored: (10, size, size, C)."""
    ### BEGIN SOLUTION
    h, w = image.shape[:2]
    starts = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size),
              ((h - size) // 2, (w - size) // 2)]
    crops = np.stack([image[y:y + size, x:x + size] for y, x in starts])
    # axis 2 of the stack: each crop's width
    return np.concatenate([crops, crops[:, :, ::-1]])
    ### END SOLUTION


# %% tags=["exercise-check"]
ch08.check_ten_crops(ten_crops)

# %% [markdown]
# ### Exercise 8.2 ★★ One function for both pipelines
# Write `make_pipeline(files, decode, augment, batch_size, training, seed=0)`. `files` is a
# dataset of (file, label) pairs like `train_files`; `decode` turns such a pair into an (image,
# label) pair, like `decode` in section 2, and `augment` takes and returns an (image, label)
# pair. With `training=True` it builds the training pipeline of section 2 (decode, cache,
# shuffle every pass, augment, batch, prefetch); with `training=False` the validation one:
# decoded once and cached, in the files' own order, never augmented, batched and prefetched.
# The check runs both twice with a `decode` that counts its calls and an `augment` that shifts
# the brightness at random; it tells you how many times each file was decoded and whether
# order and augmentations changed between the passes.
# Hint: build the common start once, add the training-only steps under an `if`.

# %%
def make_pipeline(files: "tf.data.Dataset", decode, augment, batch_size: int,
                  training: bool, seed: int = 0) -> "tf.data.Dataset":
    """Batches of (image, label): decoded once, and for training
    reshuffled and augmented."""
    ### BEGIN SOLUTION
    ds = files.map(decode, num_parallel_calls=AUTOTUNE).cache()
    if training:
        ds = ds.shuffle(ds.cardinality(), seed=seed)
        ds = ds.map(augment, num_parallel_calls=AUTOTUNE)
    return ds.batch(batch_size).prefetch(AUTOTUNE)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch08.check_make_pipeline(make_pipeline)

# %% [markdown]
# ### Exercise 8.3 ★★★ AlexNet's colour augmentation
# Besides crops and flips, AlexNet changed the colours of each training image along the
# directions in which the colours of its photos vary most. Treat every pixel of every
# training image as a point (R, G, B); compute the 3x3 covariance of all these points with
# `np.cov(..., rowvar=False)` (which divides by N - 1), and its eigenvalues
# $\lambda_1 \le \lambda_2 \le \lambda_3$ and eigenvectors $p_1, p_2, p_3$ with
# `np.linalg.eigh` (eigenvalues ascending; the eigenvectors are the *columns* of its second
# result). Then add the same offset $\sum_i \alpha_{n,i} \lambda_i p_i$ to every pixel of
# image n. Write `pca_colour_shift(images, alphas)`: `images` is the training set, (n,
# height, width, 3) floats; `alphas`, (n, 3), holds the $\alpha$ of each image, drawn for you
# from $N(0, 0.1)$ (AlexNet's choice) so that the check can repeat them. Return the shifted
# images, not clipped. An eigenvector's sign is arbitrary ($-p$ is one too): the check
# accepts either. Hint: reshape the images to (number of pixels, 3).

# %%
def pca_colour_shift(images: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Each image plus sum_i alpha_i lambda_i p_i (p_i: the colours'
    principal axes)."""
    ### BEGIN SOLUTION
    pixels = images.reshape(-1, 3)  # every pixel of every image: (N, 3)
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    # row n: sum_i alpha_ni lambda_i p_i
    offsets = (alphas * values) @ vectors.T
    return images + offsets[:, None, None, :]
    ### END SOLUTION


# %% tags=["exercise-check"]
ch08.check_pca_colour(pca_colour_shift)

# %% [markdown]
# ## Recap
# - `from_tensor_slices` -> split (`take` / `skip` after one shuffle) -> `map(decode)` ->
#   `cache` -> `shuffle` -> `map(augment)` -> `batch` -> `prefetch`. Cache what is the same
#   every epoch, randomise after the cache.
# - Measured: `tf.data` delivers several times the images per second of a generator
#   running the same TensorFlow operations eagerly, because its `map` runs as a graph.
# - grain builds the same pipeline from Python functions, without TensorFlow: `shuffle`
#   before `repeat`, `random_map`, threads and prefetch.
# - LeNet (1989-1998), ImageNet (2009), AlexNet (2012), VGG (2014), ResNet (2015).
# - AlexNet: ReLU, dropout, overlapping pooling, LRN, augmentation. LRN's fixed constants do
#   almost nothing at our scale; batch normalisation, which adapts and learns, replaced it.
# - VGG: stacks of 3x3 convolutions see as far as larger filters with fewer weights.
#
# **Next**: chapter 09 opens a trained convnet and shows what its filters and layers respond to.
