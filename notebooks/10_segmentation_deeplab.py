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
# # 10 · Semantic segmentation with DeepLab: atrous convolution, ASPP and DeepLabV3+
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/10_segmentation_deeplab.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/10_segmentation_deeplab.ipynb)
#
# **What you will learn**
# - what DeepLab set out to fix: a classification convnet knows *what* but blurs *where*
# - atrous (dilated) convolution, ASPP (atrous spatial pyramid pooling) and the DeepLabV3+
#   decoder, shape by shape
# - transposed convolution versus upsampling, and where the checkerboard pattern comes from
# - the pixel-wise loss and mean IoU, checked against Keras
# - how to train a DeepLabV3+, choose its epoch on validation images, and measure it on test
#   images that chose nothing
#
# **Run time**: quick mode 40-420 s on a 2-core CPU (idle, or busy with other work). Full
# mode downloads 0.9 GB once, then trains 10 epochs on 3,272 photos at 384x384: roughly half
# an hour on a GPU like keras-io's, whose DeepLabV3+ example (the same network, 1,000 images
# at 512x512) takes about 93 s per epoch.

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
env.banner(
    quick_data="1,200 / 150 / 300 generated 48x48 scenes of shapes on clutter "
               "(train / validation / test), a small DeepLabV3+ from scratch",
    full_data="Oxford-IIIT Pet: 3,272 / 408 / 1,000 photos at 384x384, "
              "DeepLabV3+ on an ImageNet ResNet50",
    reference="89.0% mean IoU on PASCAL VOC 2012 test for the paper's "
              "DeepLabV3+ (Chen et al., 2018); no published number for this "
              "setup on Oxford-IIIT Pet")

# %%
import numpy as np
import matplotlib.pyplot as plt
import keras
from keras import layers
from course_utils import deeplab, metrics, training
from course_utils.plots import (error_map, plot_class_iou, plot_history,
                                show_segmentations)

# %% [markdown]
# ## 1. The DeepLab story
# Chen, Papandreou, Kokkinos, Murphy and Yuille, *Semantic Image Segmentation with Deep
# Convolutional Nets and Fully Connected CRFs* (ICLR 2015, arXiv:1412.7062), set out to label
# every pixel with a class (semantic segmentation). **The problem**: the last layer of a deep
# convolutional network is not localised well enough for accurate object boundaries, because
# of the very invariance (pooling, striding) that makes it good at recognising *what* an
# object is. **The fix**: a **fully connected Conditional Random Field** (CRF) after the
# network, which pulls labels towards colour edges. **The result**: **71.6% IOU** on the
# PASCAL VOC 2012 test set, the best of its day, at **8 frames per second** on a GPU of the
# time, thanks to the **"hole" algorithm** (atrous convolution, section 2).
#
# DeepLabv2 added atrous spatial pyramid pooling (ASPP), DeepLabv3 added image-level pooling
# to ASPP and dropped the CRF, and DeepLabv3+ (Chen et al., ECCV 2018) added a light decoder
# and reached 89.0% mIoU on the VOC 2012 test set. This chapter builds and trains the v3+
# network; chapter 11 brings back the v1 CRF.

# %% [markdown]
# ## 2. Atrous convolution: the same kernel, a wider view
# A 3x3 kernel at **rate** (dilation) $r$ reads the input at positions $r$ pixels apart: it
# still has 9 weights, but it spans $k + (k-1)(r-1)$ pixels, here 3, 5 and 9 for rates 1, 2
# and 4. Stacking layers adds their spans: the receptive field of a stack of stride-1 layers is
# $1 + \sum_i (k_i^{\text{eff}} - 1)$. The picture shows where each kernel reads.

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, rate in zip(axes, (1, 2, 4)):
    taps = np.zeros((11, 11))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            taps[5 + dy * rate, 5 + dx * rate] = 1
    ax.imshow(taps, cmap="Blues", vmin=0, vmax=1.3)
    ax.set_xticks(np.arange(-0.5, 11), minor=True)
    ax.set_yticks(np.arange(-0.5, 11), minor=True)
    ax.grid(which="minor", color="0.8")
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(f"3x3 kernel, rate {rate}")
plt.tight_layout()

# %% [markdown]
# **Predict:** how wide is the receptive field of one 3x3 layer at rate 4? Of three 3x3 layers
# at rates 1, 2, 4 stacked? The cells below also measure it: a single bright pixel (an
# impulse) through Keras layers whose weights are all one reaches, by symmetry, as many
# output pixels as the receptive field is wide.

# %%
def receptive_field(formula_layers: list[tuple[int, int]]) -> int:
    """1 + sum of (effective kernel size - 1) over stride-1 layers given as
    (kernel, rate)."""
    return 1 + sum((k + (k - 1) * (r - 1)) - 1 for k, r in formula_layers)

# %%
def measured_field(rates: list[int], size: int = 41) -> tuple[int, int]:
    """(span, pixels reached) along the centre row after an impulse goes
    through 3x3 all-ones layers at these rates. The span may have holes."""
    x = np.zeros((1, size, size, 1), "float32")
    x[0, size // 2, size // 2, 0] = 1.0
    for rate in rates:
        x = layers.Conv2D(1, 3, dilation_rate=rate, padding="same",
                          use_bias=False, kernel_initializer="ones")(x)
    reached = np.flatnonzero(np.asarray(x)[0, size // 2, :, 0])
    return int(reached[-1] - reached[0] + 1), len(reached)

# %% tags=["nbval-check-output"]
print("3x3 layers at rates  weights  receptive field  pixels read per row")
for rates in ([1], [2], [4], [1, 1, 1], [1, 2, 4]):
    formula = receptive_field([(3, r) for r in rates])
    span, reached = measured_field(rates)
    assert formula == span, (rates, formula, span)
    field = f"{span}x{span}"
    print(f"{str(rates):20s} {9 * len(rates):7d}  {field:>15s}  {reached:19d}")

# %% [markdown]
# **Answer:** one layer at rate 4 spans 9x9 pixels with the 9 weights of a 3x3 kernel, but it
# reads only 3 of the 9 pixels in each row: the holes ("à trous" is French for "with holes").
# Stacked at rates 1, 2, 4 the layers fill each other's holes and reach 15x15, where three
# ordinary 3x3 layers reach 7x7, with the same 27 weights and **no loss of resolution**. A
# classification network shrinks its maps 32 times; DeepLab removes the last strides and
# dilates the layers after them instead: the same field of view, a denser map (output stride
# 16 or 8 instead of 32).
#
# ## 3. ASPP: atrous spatial pyramid pooling
# Objects come in many sizes. ASPP looks at one feature map at several rates in parallel and
# concatenates the answers: a 1x1 convolution, 3x3 convolutions at rates 6, 12 and 18, and
# **image pooling** (the map's average, broadcast back); a 1x1 convolution mixes them.
# DeepLabv3 added image pooling because at large rates most of a 3x3 kernel's taps fall into
# the zero padding, and the kernel degenerates into a 1x1 one. On a 33x33 map (a 513x513
# image at output stride 16):

# %%
def valid_tap_fraction(size: int, rate: int) -> float:
    """Share of a 3x3 kernel's 9 taps that land inside a size x size map,
    over all positions."""
    positions = np.arange(size)[:, None] + np.array([-rate, 0, rate])[None, :]
    per_axis = ((positions >= 0) & (positions < size)).sum(axis=1)
    return float(np.outer(per_axis, per_axis).mean() / 9)


for rate in (1, 6, 12, 18, 24, 36):
    share = valid_tap_fraction(33, rate)
    print(f"rate {rate:2d}: {share:.0%} of the taps read real features")

# %% [markdown]
# The ASPP module, starting with the block every branch uses. Batch norm's `momentum=0.9`
# lets its running statistics (used at test time) follow the training batches within a few
# dozen steps; Keras' default 0.99 needs hundreds (chapter 08).

# %%
def conv_bn_relu(x, filters: int, kernel: int, name: str, strides: int = 1,
                 rate: int = 1):
    """Convolution (no bias: batch norm adds one), batch norm, ReLU."""
    x = layers.Conv2D(filters, kernel, strides=strides, dilation_rate=rate,
                      padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)

# %%
def aspp(x, filters: int = 256, rates: tuple[int, ...] = (6, 12, 18),
         name: str = "aspp"):
    """ASPP's output, its five branches and their concatenation."""
    branches = [conv_bn_relu(x, filters, 1, name=f"{name}_1x1")]
    for r in rates:
        branches.append(conv_bn_relu(x, filters, 3, f"{name}_rate{r}", rate=r))
    pooled = layers.GlobalAveragePooling2D(keepdims=True,
                                           name=f"{name}_image_pool")(x)
    pooled = conv_bn_relu(pooled, filters, 1, name=f"{name}_pool")
    up = layers.UpSampling2D(x.shape[1:3], interpolation="bilinear",
                             name=f"{name}_pool_up")
    branches.append(up(pooled))
    merged = layers.Concatenate(name=f"{name}_concat")(branches)
    out = conv_bn_relu(merged, filters, 1, name=f"{name}_project")
    return out, branches, merged

# %% [markdown]
# The map this course's full mode feeds ASPP (section 9): ResNet50's layer
# `conv4_block6_2_relu` at output stride 16, 256 channels; 32x32 for a 512x512 image.

# %% tags=["nbval-check-output"]
features = keras.Input((32, 32, 256), name="backbone_features")
aspp_out, branches, merged = aspp(features)
names = ["1x1 conv", "rate 6", "rate 12", "rate 18", "image pooling"]
deeplab.print_shapes(zip(names, branches))
deeplab.print_shapes([("concatenated", merged), ("ASPP output", aspp_out)])
print(f"ASPP parameters: {keras.Model(features, aspp_out).count_params():,}")

# %% [markdown]
# ## 4. The DeepLabV3+ decoder
# ASPP's output is 16 times smaller than the image. DeepLabv3 simply upsampled it 16 times;
# v3+ adds a small decoder: upsample by 4, concatenate low-level features from early in the
# backbone (output stride 4, which still know where edges are; reduced to 48 channels by a
# 1x1 conv so they do not drown the ASPP features), refine with two 3x3 convolutions, and
# upsample by 4 again.

# %%
def deeplab_decoder(high, low, num_classes: int, filters: int = 256,
                    low_filters: int = 48, name: str = "decoder"):
    """DeepLabV3+ decoder: class scores (logits) at low-level resolution."""
    low = conv_bn_relu(low, low_filters, 1, name=f"{name}_low")
    factor = low.shape[1] // high.shape[1]
    x = layers.UpSampling2D(factor, interpolation="bilinear",
                            name=f"{name}_up")(high)
    x = layers.Concatenate(name=f"{name}_concat")([x, low])
    x = conv_bn_relu(x, filters, 3, name=f"{name}_refine1")
    x = conv_bn_relu(x, filters, 3, name=f"{name}_refine2")
    return layers.Conv2D(num_classes, 1, name=f"{name}_classes")(x)

# %% [markdown]
# The low-level features here are those of ResNet50's `conv2_block3_2_relu` for the same
# 512x512 image: output stride 4, 64 channels.

# %% tags=["nbval-check-output"]
low_level = keras.Input((128, 128, 64), name="low_level_features")
logits = deeplab_decoder(aspp_out, low_level, num_classes=21)
full_size = layers.UpSampling2D(4, interpolation="bilinear",
                                name="to_image")(logits)
deeplab.print_shapes([("ASPP output", aspp_out),
                      ("low-level features", low_level),
                      ("decoder logits", logits),
                      ("upsampled to image", full_size)])
decoder = keras.Model([aspp_out, low_level], logits)
print(f"decoder parameters: {decoder.count_params():,}")

# %% [markdown]
# 21 classes is PASCAL VOC (20 object classes and background). The last upsampling is plain
# bilinear interpolation: it has no weights to learn.
#
# ## 5. Transposed convolution versus upsampling
# Two ways to make a map larger. `UpSampling2D` repeats or interpolates pixels and has no
# weights (a convolution after it can learn). `Conv2DTranspose` (sometimes wrongly called
# deconvolution) learns the enlargement: each input pixel stamps a weighted copy of the
# kernel into the output, `stride` pixels apart. Both double the size here:

# %% tags=["nbval-check-output"]
x = np.ones((1, 4, 4, 1), "float32")
ones = dict(use_bias=False, kernel_initializer="ones")
transposed = layers.Conv2DTranspose(1, 3, strides=2, padding="same", **ones)
upsampled = keras.Sequential([layers.UpSampling2D(2, interpolation="bilinear"),
                              layers.Conv2D(1, 3, padding="same", **ones)])
a = np.asarray(transposed(x))[0, :, :, 0]
b = np.asarray(upsampled(x))[0, :, :, 0]
print("Conv2DTranspose(3, stride 2):", x.shape, "->", a.shape[:2], "\n",
      a.astype(int))
print("UpSampling2D + Conv2D(3):    ", x.shape, "->", b.shape[:2], "\n",
      b.astype(int))

# %% [markdown]
# Input and kernel are flat (all ones), yet the transposed convolution's output alternates
# 1, 2, 4: a 3x3 kernel stamped every 2 pixels overlaps itself unevenly (the kernel size is
# not divisible by the stride). Training can learn to hide it, but it often leaves a
# **checkerboard artefact**. Upsampling then convolving overlaps evenly: only the border
# (zero padding) differs. That is one reason DeepLab upsamples bilinearly.

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.3))
big = np.ones((1, 16, 16, 1), "float32")
for ax, (name, layer) in zip(axes, [("Conv2DTranspose", transposed),
                                    ("UpSampling2D + Conv2D", upsampled)]):
    ax.imshow(np.asarray(layer(big))[0, :, :, 0], cmap="gray", vmin=0)
    ax.set_title(f"{name}: flat input")
    ax.axis("off")
plt.tight_layout()

# %% [markdown]
# ## 6. Data: training, validation and test
# Full mode uses the **Oxford-IIIT Pet** data set: photos of 37 breeds of cats and dogs with a
# pixel trimap each (pet, background, and an uncertain border that the loss and the metric
# ignore). Quick mode generates a stand-in: discs, triangles and crosses on textured
# clutter, with exact masks. All three shapes draw their colours from the same range: colour
# tells where an object is, never which one. The code path is the same: uint8 images and
# masks, 255 for "ignore".
#
# Three splits, each with one job. **Training** images fit the weights. **Validation** images
# (every 9th training image, set aside) choose the best epoch. **Test** images (in full mode
# 1,000 photos spread over the official test list) choose nothing: measured once at the end,
# they say how the network does on images that played no part in any decision.

# %%
from course_utils.datasets.oxford_pets import IGNORE_LABEL, PET_CLASSES
from course_utils.datasets.synthetic import SHAPE_CLASSES

(x_train, y_train), (x_val, y_val), (x_test, y_test) = deeplab.load_data()
class_names = SHAPE_CLASSES if ENV.quick else PET_CLASSES
num_classes = len(class_names)
data_title = "generated scenes (quick)" if ENV.quick else "Oxford-IIIT Pet"
splits = [("train", y_train), ("validation", y_val), ("test", y_test)]
print("split       images  share of the pixels per class")
for name, masks in splits:
    counted = masks[masks != IGNORE_LABEL]
    share = np.bincount(counted, minlength=num_classes) / counted.size
    print(f"{name:10s} {len(masks):7,}  "
          + ", ".join(f"{c} {s:.0%}" for c, s in zip(class_names, share)))

# %% [markdown]
# Each label map under its image: one colour per class, ignored pixels in white.

# %%
show_segmentations(x_train[:6], {"image": None, "true mask": y_train},
                   class_names=class_names);

# %% [markdown]
# ## 7. The pixel-wise loss
# Segmentation is classification at every pixel: a softmax over the classes at each position,
# cross-entropy against the true class, averaged over the pixels that count (ignored pixels
# are left out of the sum *and* the count). Checked against Keras on a small random example:

# %%
rng = np.random.default_rng(0)
scores = rng.normal(size=(2, 5, 5, num_classes)).astype("float32")
truth = rng.integers(0, num_classes, size=(2, 5, 5)).astype("int32")
truth[0, :2, :] = IGNORE_LABEL  # a band of "don't know" pixels

probs = np.exp(scores - scores.max(-1, keepdims=True))
probs /= probs.sum(-1, keepdims=True)
keep = truth != IGNORE_LABEL
by_hand = -np.log(probs[keep, truth[keep]]).mean()
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                  ignore_class=IGNORE_LABEL)
by_keras = float(loss(truth, scores))
assert abs(by_hand - by_keras) < 1e-5
print(f"PASS: pixel-wise cross-entropy, NumPy {by_hand:.6f} == Keras "
      f"{by_keras:.6f}\n({keep.sum()} of {keep.size} pixels count)")

# %% [markdown]
# ## 8. Mean IoU
# For each class, IoU is the overlap of predicted and true pixels divided by their union,
# TP / (TP + FP + FN), read off a confusion matrix; mean IoU averages it over the classes that
# occur. Accuracy would be fooled by the background, which covers most pixels; IoU is not.
# One `np.bincount` over `true * C + predicted` counts every (true, predicted) pair at once.

# %%
def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) pixel counts, row = true class, column = predicted; ignored
    pixels left out."""
    keep = y_true != IGNORE_LABEL
    pairs = y_true[keep].astype(np.int64) * n + y_pred[keep].astype(np.int64)
    return np.bincount(pairs, minlength=n * n).reshape(n, n)


def mean_iou_by_hand(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
    cm = confusion(y_true, y_pred, n)
    tp = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    occur = union > 0  # classes that occur
    return float(np.mean(tp[occur] / union[occur]))

# %% [markdown]
# Checked against `keras.metrics.MeanIoU` and against the course's `metrics.mean_iou`, which
# the rest of the course (chapter 11 too) uses:

# %%
predicted = rng.integers(0, num_classes, size=truth.shape)
keras_miou = keras.metrics.MeanIoU(num_classes=num_classes,
                                   ignore_class=IGNORE_LABEL)
keras_miou.update_state(truth, predicted)
ours = mean_iou_by_hand(truth, predicted, num_classes)
theirs = float(keras_miou.result())
helper = metrics.mean_iou(truth, predicted, num_classes,
                          ignore_label=IGNORE_LABEL)
assert abs(ours - theirs) < 1e-6 and abs(ours - helper) < 1e-12
print(f"PASS: mean IoU, ours {ours:.6f} == keras.metrics.MeanIoU "
      f"{theirs:.6f}\n== metrics.mean_iou {helper:.6f}")

# %% [markdown]
# ## 9. A DeepLabV3+ to train
# The same ASPP and decoder functions, on a backbone that depends on the mode:
#
# - **full**: ResNet50 with ImageNet weights, ASPP rates 6/12/18 with 256 filters, low-level
#   features reduced to 48 channels, as in the paper. ASPP and the decoder read the layers of
#   sections 3 and 4 (output strides 16 and 4), as keras-io's DeepLabV3+ example does; the
#   paper makes the backbone's last block atrous instead.
# - **quick**: a five-layer backbone trained from scratch: two stride-2 layers (output stride
#   4, the low-level features), a third (stride 8), then two atrous layers (rates 2 and 4).
#   ASPP runs on a 6x6 map, where rates 6/12/18 would read mostly padding (section 3), so its
#   rates shrink to 1/2/3; fewer filters keep it fast on a CPU.

# %%
def small_backbone(inputs):
    """Quick mode: (low-level features at stride 4, atrous ones at 8)."""
    x = conv_bn_relu(inputs, 16, 3, strides=2, name="stem")
    low = conv_bn_relu(x, 32, 3, strides=2, name="block1")
    x = conv_bn_relu(low, 64, 3, strides=2, name="block2")
    x = conv_bn_relu(x, 64, 3, rate=2, name="block3_atrous")
    return low, conv_bn_relu(x, 64, 3, rate=4, name="block4_atrous")

# %%
def resnet50_backbone(inputs):
    """Full mode: ResNet50 with ImageNet weights, at strides 4 and 16."""
    from course_utils.pretrained import load_resnet50_conv_base

    resnet = load_resnet50_conv_base(input_tensor=inputs)
    return (resnet.get_layer("conv2_block3_2_relu").output,
            resnet.get_layer("conv4_block6_2_relu").output)

# %%
def make_deeplabv3plus(size: int, num_classes: int, backbone, filters: int,
                       rates, low_filters: int) -> keras.Model:
    inputs = keras.Input((size, size, 3), name="image")
    low, high = backbone(inputs)
    x, _, _ = aspp(high, filters, rates)
    x = deeplab_decoder(x, low, num_classes, filters, low_filters)
    x = layers.UpSampling2D(size // low.shape[1], interpolation="bilinear",
                            name="to_image")(x)
    probs = layers.Softmax(name="class_probabilities", dtype="float32")(x)
    return keras.Model(inputs, probs, name="deeplabv3plus")

# %% [markdown]
# Chapter 11 needs the same network: the course's copy, `deeplab.build_deeplabv3plus`, must
# compute the same with our weights.

# %%
size = x_train.shape[1]
if ENV.quick:
    model = make_deeplabv3plus(size, num_classes, small_backbone, filters=32,
                               rates=(1, 2, 3), low_filters=16)
else:
    model = make_deeplabv3plus(size, num_classes, resnet50_backbone,
                               filters=256, rates=(6, 12, 18), low_filters=48)
print(f"{model.count_params():,} parameters, input {model.input_shape} "
      f"-> output {model.output_shape}")
gap = deeplab.gap_to_course_copy(model, num_classes)
assert gap < 1e-5
print(f"PASS: ours == deeplab.build_deeplabv3plus (max |diff| {gap:.1e})")

# %% [markdown]
# The whole network, drawn from the model just built: the encoder on top, the decoder below,
# where low-level detail meets ASPP's context.

# %%
kind = "quick mode: small backbone" if ENV.quick else "ResNet50 backbone"
title = f"DeepLabV3+ as built for {size}x{size} images ({kind})"
deeplab.plot_blocks(deeplab.blocks(model), title=title);

# %% [markdown]
# Augmentation: each training image is flipped left-right half of the time, and its mask
# with it (a flip never changes a class).

# %%
coins = np.random.default_rng(ENV.seed)


def flip_both(images, masks):
    """Each image and its mask flipped left-right together, half of the
    time."""
    flip = coins.random(len(images)) < 0.5  # one coin per image
    return (np.where(flip[:, None, None, None], images[:, :, ::-1], images),
            np.where(flip[:, None, None], masks[:, :, ::-1], masks))

# %% [markdown]
# `deeplab.array_batches` (a `keras.utils.PyDataset`, which Keras trains from on any
# backend) reads shuffled batches from the arrays, flips them with `flip_both` and scales the
# images: by 1/255, or ResNet50's `preprocess_input` in full mode.

# %%
prepare, batch_size = deeplab.preprocess_fn(), deeplab.settings().batch_size
train_ds = deeplab.array_batches(x_train, y_train, batch_size, prepare,
                                 shuffle=True, seed=ENV.seed,
                                 augment=flip_both)
val_ds = deeplab.array_batches(x_val, y_val, 64, prepare)

# %% [markdown]
# `deeplab.compile_deeplab` compiles with Adam, the pixel-wise loss of section 7 and mean IoU
# as the metric, both ignoring label 255. `fit_resumable` (chapter 06) keeps a backup and the
# best epoch's model by validation mean IoU: after a disconnect, run the cell again.

# %%
settings = deeplab.settings()
deeplab.compile_deeplab(model, num_classes, settings.learning_rate)
run = training.fit_resumable(model, train_ds, validation_data=val_ds,
                             epochs=settings.epochs,
                             run_name=deeplab.run_name(),
                             monitor="val_mean_iou")

# %%
plot_history(run.history, metrics=("loss", "mean_iou"),
             title=f"DeepLabV3+ on {data_title}");

# %% [markdown]
# ## 10. Measured on the test images
# The best epoch's model, measured on the validation images, which chose it, and on the test
# images, which chose nothing. `deeplab.predict_labels` keeps only each pixel's class, a
# batch at a time (all the probabilities would take gigabytes in full mode).

# %%
model = run.load_best()
val_pred = deeplab.predict_labels(model, x_val)
test_pred = deeplab.predict_labels(model, x_test)
val_miou = metrics.mean_iou(y_val, val_pred, num_classes)
test_miou = metrics.mean_iou(y_test, test_pred, num_classes)
print(f"best epoch {run.best_epoch()} of {len(run.history['loss'])}, "
      f"{data_title}")
print(f"validation mean IoU {val_miou:.4f} "
      f"({len(x_val)} images: they chose the epoch)")
print(f"test mean IoU       {test_miou:.4f} "
      f"({len(x_test)} images: they chose nothing)")
if ENV.quick:
    env.check("test mean IoU", test_miou, at_least=0.35)

# %% [markdown]
# For comparison: the paper's 89.0% on VOC 2012 came from a backbone pretrained on ImageNet
# and JFT-300M and far more training; keras-io's example, this chapter's full-mode network,
# ends at 77% pixel accuracy on 50 validation images of a human parsing set. Neither is a
# number for Oxford-IIIT Pet.
#
# Test images, the truth, the network's answer and its wrong pixels in black (right ones
# grey; no class is drawn in black):

# %%
wrong_pixels = error_map(y_test[:6], test_pred[:6])
show_segmentations(x_test[:6], {"image": None, "truth": y_test,
                                "network": test_pred,
                                "wrong pixels (black)": wrong_pixels},
                   class_names=class_names);

# %% [markdown]
# Look for two kinds of mistake. Outlines are soft, as DeepLab's authors observed: the scores
# come from a map 4 times coarser than the image, interpolated. And the network may give part
# or all of an object another object's class: every class comes in every colour. How the
# wrong test pixels split, and IoU class by class:

# %%
counted = y_test != IGNORE_LABEL
wrong = (test_pred != y_test) & counted
mixed = wrong & (y_test > 0) & (test_pred > 0)  # another object's class
share = mixed.sum() / wrong.sum()
print(f"{wrong.sum() / counted.sum():.1%} of the test pixels are wrong:\n"
      f"{share:.0%} of them are object pixels given another object's class,\n"
      f"{1 - share:.0%} confuse object and background")
test_cm = metrics.confusion_matrix(y_test, test_pred, num_classes)
plot_class_iou({"DeepLabV3+": metrics.per_class_iou(test_cm)}, class_names,
               title=f"test IoU per class, {data_title}");

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer (or Keras') and prints **PASS**, **FAIL** with the numbers
# that show what is wrong, or **NOT DONE** while the stub is still there. Your functions must
# leave what they are given unchanged (the checks look). Nothing later in the chapter uses
# your functions, so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★
# stretches.

# %%
from course_utils.exercises import ch10

# %% [markdown]
# ### Exercise 10.1 ★ A transposed convolution by hand
# Section 5's `Conv2DTranspose` enlarges a map by stamping: each input pixel adds a copy of
# the kernel, multiplied by the pixel's value, into the output, and the copies of
# neighbouring pixels sit `stride` pixels apart. For one channel and `padding="valid"`:
# out[i·s + a, j·s + b] += x[i, j]·K[a, b] for every input pixel (i, j) and every kernel
# position (a, b), so the output has (H - 1)·s + k rows and (W - 1)·s + k columns. Write
# `transposed_conv(x, kernel, stride)` for a map `x` of shape (H, W) and a k x k kernel at
# least as wide as the stride. The check compares with Keras' `Conv2DTranspose` holding the
# same kernel, then counts the stamps a flat input gives each output pixel: section 5's
# checkerboard.

# %%
def transposed_conv(x: np.ndarray, kernel: np.ndarray,
                    stride: int) -> np.ndarray:
    """One-channel transposed convolution, "valid": each pixel stamps the
    kernel."""
    ### BEGIN SOLUTION
    h, w = x.shape
    k = len(kernel)
    out = np.zeros(((h - 1) * stride + k, (w - 1) * stride + k))
    for i in range(h):
        for j in range(w):  # pixel (i, j) stamps at (i * stride, j * stride)
            top, left = i * stride, j * stride
            out[top:top + k, left:left + k] += x[i, j] * kernel
    return out
    ### END SOLUTION


# %% tags=["exercise-check"]
ch10.check_transposed_conv(transposed_conv)

# %% [markdown]
# ### Exercise 10.2 ★★ Strides into dilation
# Section 2 ended with DeepLab's trick: a classification network shrinks its maps 32 times;
# DeepLab removes its last strides and dilates the layers after them instead, so that the
# network keeps the field of view it was trained with but gives a denser map. The rule: go
# through the layers in order, keeping the output stride so far (the product of the strides
# kept, 1 at first) and a multiplier m (1 at first). A layer's new dilation rate is its own
# rate times m, the m of the layers before it. Then, if an earlier stride has gone, or if
# keeping the layer's stride s would take the output stride above `output_stride`, its
# stride becomes 1 and m is multiplied by s (the layers after it read a map s times denser,
# so their taps must sit s times farther apart); otherwise it keeps its stride. (So if no
# layer of the network has both a stride and a rate above 1, none of the new one has: Keras'
# `Conv2D` refuses the pair.) Write `strides_to_dilation(spec, output_stride)`:
# `spec` lists the layers as (kernel, stride, rate); return the new list. For example,
# [(3, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 1)] with `output_stride=2` gives
# [(3, 2, 1), (3, 1, 1), (3, 1, 1), (3, 1, 2)]. The check also runs both networks on a
# random signal: one in every f of the new network's values must be the original's.

# %%
def strides_to_dilation(spec: list[tuple[int, int, int]],
                        output_stride: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, rate) per layer, strides past output_stride dilated."""
    ### BEGIN SOLUTION
    new, total, m = [], 1, 1
    for kernel, stride, rate in spec:
        if m > 1 or total * stride > output_stride:  # the stride goes
            new.append((kernel, 1, rate * m))
            m *= stride
        else:
            new.append((kernel, stride, rate * m))
            total *= stride
    return new
    ### END SOLUTION


# %% tags=["exercise-check"]
ch10.check_strides_to_dilation(strides_to_dilation)

# %% [markdown]
# ### Exercise 10.3 ★★★ Mean IoU over a whole dataset
# A validation set is predicted batch by batch, and `keras.metrics.MeanIoU` keeps a running
# confusion matrix across batches: the IoU of a class counts all of its pixels in the dataset.
# Averaging each batch's mean IoU gives a different (wrong) number, as small batches with few
# pixels of a class weigh as much as big ones. Write `dataset_iou(batches, n)`: `batches` is a
# list of `(y_true, y_pred)` label maps (ignore label 255 in `y_true`), `n` the number of
# classes; return the per-class IoU (NaN for a class that is in no true and no predicted
# pixel; a class that is only predicted has IoU 0) and the mean over the classes whose IoU is
# a number. Section 8's `confusion` helps.

# %%
def dataset_iou(batches: list[tuple[np.ndarray, np.ndarray]],
                n: int) -> tuple[np.ndarray, float]:
    """(per-class IoU, NaN for absent classes; mean IoU) over all batches'
    pixels together."""
    ### BEGIN SOLUTION
    cm = sum(confusion(y_true, y_pred, n) for y_true, y_pred in batches)
    tp, union = np.diag(cm), cm.sum(axis=0) + cm.sum(axis=1) - np.diag(cm)
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return iou, float(np.nanmean(iou))
    ### END SOLUTION


# %% tags=["exercise-check"]
ch10.check_dataset_iou(dataset_iou)

# %% [markdown]
# ## Recap
# - DeepLab's observation: a DCNN's last layer knows *what* but not exactly *where*.
# - A 3x3 kernel at rate $r$ spans $3 + 2(r-1)$ pixels with 9 weights; stacked at rates 1, 2,
#   4 it sees 15x15, without shrinking the map.
# - ASPP looks at one map at several rates plus image pooling; the v3+ decoder brings back
#   stride-4 features to sharpen the output.
# - A transposed convolution whose kernel the stride does not divide overlaps unevenly: the
#   checkerboard. Bilinear upsampling (plus a convolution) does not.
# - The loss is per-pixel cross-entropy, the metric mean IoU; both skip the ignore label.
# - Validation images choose (here, the epoch); test images, which chose nothing, measure.
#
# **Next**: chapter 11 sharpens this network's soft outlines with DeepLab's fully connected
# CRF, and measures what it gives.
