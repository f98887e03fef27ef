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
# - what DeepLab set out to fix: a classification convnet knows *what* is in an image but
#   blurs *where*
# - atrous (dilated) convolution: the same 3x3 kernel at rates 1, 2 and 4, and how far it sees
# - ASPP (atrous spatial pyramid pooling, rates 6/12/18 plus image pooling) and the
#   DeepLabV3+ decoder, shape by shape
# - transposed convolution versus upsampling, and where the checkerboard pattern comes from
# - the pixel-wise loss and mean IoU, checked against Keras
# - how to train a DeepLabV3+ and draw its predictions over the images
#
# **Run time**: quick mode about two minutes on a 2-core CPU (generated scenes, a
# small network trained from scratch). Full mode (Oxford-IIIT Pet, a ResNet50 backbone with ImageNet weights)
# downloads 0.9 GB once, then trains 15 epochs on 3,680 photos at 384x384: keras-io's
# DeepLabV3+ example, the same network on 1,000 images at 512x512, takes about 93 s per epoch
# on its GPU, which puts this run at roughly three quarters of an hour on a similar GPU.

# %% [markdown]
# ## Setup
# The first cell makes the chapter work anywhere: in a fresh Colab runtime it fetches the
# course helpers (`course_utils`); everywhere it seeds the random generators, hides
# TensorFlow's start-up noise and tells you what it found: versions, GPU, run mode, folders.

# %%
import importlib.util, os, subprocess, sys
REPO_URL = "https://github.com/keras-cv-course/keras-cv-course"
COURSE = "/content/keras-cv-course"
if importlib.util.find_spec("course_utils") is None:  # Colab: fetch the course helpers once
    if not os.path.isdir(COURSE):
        subprocess.run(["git", "clone", "-q", "--depth=1", REPO_URL, COURSE], check=True)
    sys.path.insert(0, COURSE)
    from course_utils import extras
    extras.install_colab_extras()
from course_utils import env
ENV = env.setup()

# %% [markdown]
# The data this run uses, and what a full run reaches:

# %%
env.banner(quick_data="1,200 / 150 generated 64x64 scenes of shapes on clutter, a small DeepLabV3+ from scratch",
           full_data="Oxford-IIIT Pet: 3,680 photos at 384x384, DeepLabV3+ on an ImageNet ResNet50",
           reference="89.0% mean IoU on PASCAL VOC 2012 test for the paper's DeepLabV3+ (Chen et al., "
                     "2018); no published number for this setup on Oxford-IIIT Pet")

# %%
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
import keras
from keras import layers
from course_utils import deeplab, metrics, training
from course_utils.plots import error_map, plot_class_iou, plot_history, show_segmentations

# %% [markdown]
# ## 1. The DeepLab story
# Chen, Papandreou, Kokkinos, Murphy and Yuille, *Semantic Image Segmentation with Deep
# Convolutional Nets and Fully Connected CRFs* (ICLR 2015, arXiv:1412.7062), in five facts:
#
# 1. **The task**: label every pixel with a class ("semantic image segmentation"). Deep
#    convolutional networks (DCNNs) were already the best image classifiers and detectors.
# 2. **The problem**: the responses of a DCNN's last layer are not localised well enough for
#    accurate object boundaries. The cause is the very invariance (pooling, striding) that
#    makes the network good at recognising *what* an object is.
# 3. **The fix**: combine the last DCNN layer with a **fully connected Conditional Random
#    Field** (CRF), which pulls labels towards colour edges of the image.
# 4. **The result**: a new state of the art on PASCAL VOC 2012, **71.6% IOU** on the test set.
# 5. **The speed**: by re-purposing the network and applying the **"hole" algorithm** from the
#    wavelet community (atrous convolution, section 2), dense responses are computed at
#    **8 frames per second** on a GPU of the time.
#
# Later versions kept the idea of atrous convolution and grew around it: DeepLabv2 added atrous
# spatial pyramid pooling (ASPP), DeepLabv3 added image-level pooling to ASPP and dropped the
# CRF, and DeepLabv3+ (Chen et al., ECCV 2018) added a light decoder and reached 89.0% mIoU on
# the VOC 2012 test set without any post-processing. This chapter builds and trains the v3+
# network; chapter 11 brings back the v1 CRF and measures what it adds.

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
    ax.set_xticks(np.arange(-0.5, 11), minor=True); ax.set_yticks(np.arange(-0.5, 11), minor=True)
    ax.grid(which="minor", color="0.8"); ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(f"3x3 kernel, rate {rate}")
plt.tight_layout()

# %% [markdown]
# **Predict:** how wide is the receptive field of one 3x3 layer at rate 4? Of three 3x3 layers
# at rates 1, 2, 4 stacked? The cells below measure it instead of trusting the formula: they
# send a single bright pixel (an impulse) through real Keras layers whose weights are all one,
# and count how many output pixels it reaches. By symmetry that is the receptive field.

# %%
def receptive_field(formula_layers: list[tuple[int, int]]) -> int:
    """1 + sum of (effective kernel size - 1) over stride-1 layers given as (kernel, rate)."""
    return 1 + sum((k + (k - 1) * (r - 1)) - 1 for k, r in formula_layers)


def measured_field(rates: list[int], size: int = 41) -> tuple[int, int]:
    """(span, pixels reached) along the centre row after an impulse goes through 3x3 all-ones
    layers at these rates. The span is the receptive field's width; it may have holes."""
    x = np.zeros((1, size, size, 1), "float32")
    x[0, size // 2, size // 2, 0] = 1.0
    for rate in rates:
        x = layers.Conv2D(1, 3, dilation_rate=rate, padding="same", use_bias=False, kernel_initializer="ones")(x)
    reached = np.flatnonzero(np.asarray(x)[0, size // 2, :, 0])
    return int(reached[-1] - reached[0] + 1), len(reached)

# %% tags=["nbval-check-output"]
for rates in ([1], [2], [4], [1, 1, 1], [1, 2, 4]):
    formula = receptive_field([(3, r) for r in rates])
    span, reached = measured_field(rates)
    assert formula == span, (rates, formula, span)
    print(f"3x3 layers at rates {str(rates):10s} weights {9 * len(rates):2d}  "
          f"receptive field {span:2d}x{span:<2d} (pixels read per row: {reached})")

# %% [markdown]
# **Answer:** one layer at rate 4 spans 9x9 pixels with the 9 weights of a 3x3 kernel, but it
# reads only 3 of the 9 pixels in each row: the holes ("à trous" is French for "with holes").
# Stacked at rates 1, 2, 4 the layers fill each other's holes and reach 15x15, where three
# ordinary 3x3 layers reach 7x7, with the same 27 weights and **no loss of resolution**. That
# last part is the point: a classification network shrinks its feature maps 32 times with
# pooling and strides. DeepLab removes the last strides and dilates the layers after them
# instead, so the network keeps the field of view it was trained with but produces a denser
# map (output stride 16 or 8 instead of 32).
#
# ## 3. ASPP: atrous spatial pyramid pooling
# Objects come in many sizes. ASPP looks at the same feature map with several rates in
# parallel and concatenates the answers: a 1x1 convolution, 3x3 convolutions at rates 6, 12 and
# 18, and **image pooling** (the average of the whole map, broadcast back), then a 1x1
# convolution mixes them. DeepLabv3 added image pooling after noticing that at large rates
# most of a 3x3 kernel's taps fall outside the map, into the zero padding, so the kernel
# degenerates into a 1x1 one. Count it for a 33x33 map (a 513x513 image at output stride 16):

# %%
def valid_tap_fraction(size: int, rate: int) -> float:
    """Share of a 3x3 kernel's 9 taps that land inside a size x size map, over all positions."""
    positions = np.arange(size)[:, None] + np.array([-rate, 0, rate])[None, :]
    per_axis = ((positions >= 0) & (positions < size)).sum(axis=1)  # taps inside, per row position
    return float(np.outer(per_axis, per_axis).mean() / 9)


for rate in (1, 6, 12, 18, 24, 36):
    print(f"rate {rate:2d}: {valid_tap_fraction(33, rate):.0%} of the taps read real features")

# %% [markdown]
# The ASPP module, written with the functional API, starting with the block every branch uses.
# Every layer gets an explicit name, which keeps the printed shapes below free of Keras'
# session-dependent auto-names.

# %%
def conv_bn_relu(x, filters: int, kernel: int, name: str, strides: int = 1, rate: int = 1):
    """Convolution (no bias: batch norm adds one), batch normalisation, ReLU."""
    x = layers.Conv2D(filters, kernel, strides=strides, dilation_rate=rate, padding="same",
                      use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)

# %%
def aspp(x, filters: int = 256, rates: tuple[int, ...] = (6, 12, 18), name: str = "aspp"):
    """1x1 conv + 3x3 atrous convs at `rates` + image pooling, concatenated, mixed by a 1x1 conv."""
    height, width = x.shape[1], x.shape[2]
    branches = [conv_bn_relu(x, filters, 1, name=f"{name}_1x1")]
    for rate in rates:
        branches.append(conv_bn_relu(x, filters, 3, rate=rate, name=f"{name}_rate{rate}"))
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_image_pool")(x)
    pooled = conv_bn_relu(pooled, filters, 1, name=f"{name}_pool")
    branches.append(layers.UpSampling2D((height, width), interpolation="bilinear", name=f"{name}_pool_up")(pooled))
    merged = layers.Concatenate(name=f"{name}_concat")(branches)
    return conv_bn_relu(merged, filters, 1, name=f"{name}_project"), branches, merged

# %% [markdown]
# On the map this course's full mode feeds ASPP (section 9 says why this one): ResNet50's
# layer `conv4_block6_2_relu` at output stride 16, which has 256 channels; for a 512x512
# image, keras-io's size, it is 32x32. The course prints shapes with a small helper,
# `deeplab.print_shapes`: one line per tensor.

# %% tags=["nbval-check-output"]
features = keras.Input((32, 32, 256), name="backbone_features")
aspp_out, branches, merged = aspp(features)
deeplab.print_shapes(zip(["1x1 conv", "rate 6", "rate 12", "rate 18", "image pooling"], branches))
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
def deeplab_decoder(high, low, num_classes: int, filters: int = 256, low_filters: int = 48, name: str = "decoder"):
    """DeepLabV3+ decoder: per-class scores (logits) at the low-level features' resolution."""
    low = conv_bn_relu(low, low_filters, 1, name=f"{name}_low")
    factor = low.shape[1] // high.shape[1]
    x = layers.UpSampling2D(factor, interpolation="bilinear", name=f"{name}_up")(high)
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
full_size = layers.UpSampling2D(4, interpolation="bilinear", name="to_image")(logits)
deeplab.print_shapes([("ASPP output", aspp_out), ("low-level features", low_level),
                      ("decoder logits", logits), ("upsampled to image", full_size)])
print(f"decoder parameters: {keras.Model([aspp_out, low_level], logits).count_params():,}")

# %% [markdown]
# 21 classes is PASCAL VOC (20 object classes and background). The last upsampling is plain
# bilinear interpolation: it has no weights to learn.
#
# ## 5. Transposed convolution versus upsampling
# Two ways to make a map larger. `UpSampling2D` repeats or interpolates pixels and has no
# weights (follow it with a convolution if you want learning). `Conv2DTranspose` (sometimes
# wrongly called deconvolution) learns the enlargement: each input pixel stamps a weighted copy
# of the kernel into the output, `stride` pixels apart. Both double the size here:

# %% tags=["nbval-check-output"]
x = np.ones((1, 4, 4, 1), "float32")
transposed = layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False, kernel_initializer="ones")
upsampled = keras.Sequential([layers.UpSampling2D(2, interpolation="bilinear"),
                              layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones")])
a, b = np.asarray(transposed(x))[0, :, :, 0], np.asarray(upsampled(x))[0, :, :, 0]
print("Conv2DTranspose(3, stride 2):", x.shape, "->", a.shape[:2], "\n", a.astype(int))
print("UpSampling2D + Conv2D(3):    ", x.shape, "->", b.shape[:2], "\n", b.astype(int))

# %% [markdown]
# The input is flat (all ones) and the kernel is flat too, yet the transposed convolution's
# output alternates 1, 2, 4: a 3x3 kernel stamped every 2 pixels overlaps itself unevenly
# (kernel size not divisible by the stride), so some output pixels receive one stamp, some
# two, some four. Training can learn to hide it, but it often leaves a **checkerboard
# artefact**. Upsampling followed by a convolution has no uneven overlap: only the border
# (zero padding) differs. That is one reason DeepLab upsamples bilinearly.

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.3))
big = np.ones((1, 16, 16, 1), "float32")
for ax, (name, layer) in zip(axes, [("Conv2DTranspose", transposed), ("UpSampling2D + Conv2D", upsampled)]):
    ax.imshow(np.asarray(layer(big))[0, :, :, 0], cmap="gray", vmin=0)
    ax.set_title(f"{name}: flat input"); ax.axis("off")
plt.tight_layout()

# %% [markdown]
# ## 6. Data
# Full mode uses the **Oxford-IIIT Pet** data set: photos of 37 breeds of cats and dogs with a
# pixel trimap each (pet, background, and an uncertain border that the loss and the metric
# ignore, as PASCAL VOC does with its object borders). The official trainval list (3,680
# photos) trains; the first 1,000 photos of the test list validate, which keeps the
# predictions of section 9 within a Colab runtime's memory. Quick mode cannot download it, so it
# generates a stand-in: 64x64 scenes of discs, triangles and crosses on textured clutter, with
# exact masks. Each object is a patch of one colour, softly shaded, that stands out from
# what it covers; but discs, triangles and crosses all draw their colours from the same range,
# so colour tells the network where an object is, never which one: for that it must learn the
# shapes. It is not a real data set, and its numbers are not the Pet numbers; the code path
# is the same: uint8 images, uint8 masks, 255 for "ignore". The loader's arguments are kept
# in `deeplab.DATA`, so that chapter 11 loads exactly the same images.

# %%
from course_utils.datasets.oxford_pets import IGNORE_LABEL, PET_CLASSES, load_oxford_pets
from course_utils.datasets.synthetic import SHAPE_CLASSES

(x_train, y_train), (x_val, y_val) = load_oxford_pets(**deeplab.DATA)
class_names = SHAPE_CLASSES if ENV.quick else PET_CLASSES
num_classes = len(class_names)
data_title = "generated scenes (quick)" if ENV.quick else "Oxford-IIIT Pet"  # for titles
print("images", x_train.shape, x_train.dtype, " masks", y_train.shape, y_train.dtype)
present = np.bincount(y_val[y_val != IGNORE_LABEL].ravel(), minlength=num_classes) / np.sum(y_val != IGNORE_LABEL)
print("validation pixels per class:", {name: f"{share:.1%}" for name, share in zip(class_names, present)})

# %% [markdown]
# The course's `plots.show_segmentations` draws each label map under its image, one row per set
# of maps: one solid colour per class (the legend below names them), ignored pixels in white.

# %%
show_segmentations(x_train[:6], {"image": None, "true mask": y_train}, class_names=class_names);

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
by_keras = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_LABEL)(truth, scores))
print(f"NumPy {by_hand:.6f}  Keras {by_keras:.6f}  ({keep.sum()} of {keep.size} pixels count)")
assert abs(by_hand - by_keras) < 1e-5
print("PASS: pixel-wise cross-entropy, NumPy == Keras")

# %% [markdown]
# ## 8. Mean IoU
# For each class, IoU is the overlap of predicted and true pixels divided by their union,
# TP / (TP + FP + FN), read off a confusion matrix; mean IoU averages it over the classes that
# occur. Accuracy would be fooled by the background, which covers most pixels; IoU is not.
# The confusion matrix counts each (true, predicted) pair of labels; one `np.bincount` over
# `true * C + predicted` does it for all pixels at once.

# %%
def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) pixel counts, row = true class, column = predicted; ignored pixels left out."""
    keep = y_true != IGNORE_LABEL
    pairs = y_true[keep].astype(np.int64) * n + y_pred[keep].astype(np.int64)
    return np.bincount(pairs, minlength=n * n).reshape(n, n)


def mean_iou_by_hand(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> float:
    cm = confusion(y_true, y_pred, n)
    tp, union = np.diag(cm), cm.sum(axis=0) + cm.sum(axis=1) - np.diag(cm)
    return float(np.mean(tp[union > 0] / union[union > 0]))  # classes that occur

# %% [markdown]
# Checked against `keras.metrics.MeanIoU` and against the course's `metrics.mean_iou`, which the
# rest of the course (chapter 11 too) uses:

# %%
predicted = rng.integers(0, num_classes, size=truth.shape)
keras_miou = keras.metrics.MeanIoU(num_classes=num_classes, ignore_class=IGNORE_LABEL)
keras_miou.update_state(truth, predicted)
ours, theirs = mean_iou_by_hand(truth, predicted, num_classes), float(keras_miou.result())
helper = metrics.mean_iou(truth, predicted, num_classes, ignore_label=IGNORE_LABEL)
print(f"ours {ours:.6f}  keras.metrics.MeanIoU {theirs:.6f}  metrics.mean_iou {helper:.6f}")
assert abs(ours - theirs) < 1e-6 and abs(ours - helper) < 1e-12
print(f"PASS: mean IoU, ours == Keras == course_utils.metrics (max |diff| {max(abs(ours - theirs), abs(ours - helper)):.1e})")

# %% [markdown]
# ## 9. A DeepLabV3+ to train
# The same ASPP and decoder functions, on a backbone that depends on the mode:
#
# - **full**: ResNet50 with ImageNet weights (`pretrained.load_resnet50_conv_base`, through the
#   course registry), ASPP rates 6/12/18 with 256 filters, low-level features reduced to 48
#   channels, as in the paper. Where the features come from follows keras-io's DeepLabV3+
#   example, not the paper: ASPP reads `conv4_block6_2_relu` (the 3x3 convolution inside the
#   last block of ResNet50's fourth stage, output stride 16, 256 channels) and the decoder
#   reads `conv2_block3_2_relu` (inside the last block of the second stage, output stride 4,
#   64 channels). The ResNet50 itself is unchanged and its fifth stage goes unused. The paper
#   (Chen et al., 2018) instead makes the last block of its backbone (ResNet-101 or Xception)
#   atrous so that it runs at output stride 16 and feeds that block's *output* to ASPP (2,048
#   channels for ResNet-101), and takes the low-level features from the output of the
#   backbone's stride-4 stage (ResNet-101's Conv2, 256 channels).
# - **quick**: a five-layer backbone trained from scratch: two stride-2 layers (output stride
#   4, the low-level features), a third (stride 8), then two atrous layers (rates 2 and 4) that
#   widen the view without shrinking the 8x8 map further. ASPP runs on an 8x8 map, where rates
#   6/12/18 would read mostly padding (section 3), so its rates shrink in proportion to 1/2/3;
#   fewer filters keep it fast on a CPU.

# %%
def small_backbone(inputs):
    """Quick mode: (low-level features at stride 4, atrous features at stride 8)."""
    x = conv_bn_relu(inputs, 16, 3, strides=2, name="stem")
    low = conv_bn_relu(x, 32, 3, strides=2, name="block1")
    x = conv_bn_relu(low, 64, 3, strides=2, name="block2")
    x = conv_bn_relu(x, 64, 3, rate=2, name="block3_atrous")
    return low, conv_bn_relu(x, 64, 3, rate=4, name="block4_atrous")


def resnet50_backbone(inputs):
    """Full mode: ResNet50 with ImageNet weights, tapped at output strides 4 and 16."""
    from course_utils.pretrained import load_resnet50_conv_base

    resnet = load_resnet50_conv_base(input_tensor=inputs)
    return resnet.get_layer("conv2_block3_2_relu").output, resnet.get_layer("conv4_block6_2_relu").output

# %%
def make_deeplabv3plus(size: int, num_classes: int, backbone, filters: int, rates, low_filters: int) -> keras.Model:
    inputs = keras.Input((size, size, 3), name="image")
    low, high = backbone(inputs)
    x, _, _ = aspp(high, filters, rates)
    x = deeplab_decoder(x, low, num_classes, filters, low_filters)
    x = layers.UpSampling2D(size // low.shape[1], interpolation="bilinear", name="to_image")(x)
    return keras.Model(inputs, layers.Softmax(name="class_probabilities")(x), name="deeplabv3plus")


size = x_train.shape[1]
if ENV.quick:
    ours = make_deeplabv3plus(size, num_classes, small_backbone, filters=32, rates=(1, 2, 3), low_filters=16)
else:
    ours = make_deeplabv3plus(size, num_classes, resnet50_backbone, filters=256, rates=(6, 12, 18), low_filters=48)
print(f"{ours.name}: {ours.count_params():,} parameters, input {ours.input_shape} -> output {ours.output_shape}")

# %% [markdown]
# Chapter 11 needs this network trained, and may run without this chapter, so the course keeps
# a copy of it: `deeplab.build_deeplabv3plus`, with the mode's settings in `deeplab.settings()`.
# The check: the copy has the same layers, and with our weights copied into it, it computes
# the same probabilities on random images. From here on the chapter trains the copy.

# %%
model = deeplab.build_deeplabv3plus(size, num_classes, backbone_weights="random")
assert [(l.name, type(l)) for l in model.layers] == [(l.name, type(l)) for l in ours.layers]
model.set_weights(ours.get_weights())
images = np.random.default_rng(1).uniform(0, 255, (4, size, size, 3)).astype("float32")
prepare = deeplab.preprocess_fn()
batch = prepare(images)  # ResNet50's preprocess_input changes a NumPy array in place: prepare once
diff = float(np.abs(np.asarray(model(batch)) - np.asarray(ours(batch))).max())
assert diff < 1e-5, diff
print(f"PASS: ours == deeplab.build_deeplabv3plus: {len(model.layers)} layers, "
      f"{model.count_params():,} parameters, 4 random images (max |diff| {diff:.1e})")

# %% [markdown]
# The whole network on one page, drawn from the model just built (the shapes are read from its
# layers): the encoder on top, the decoder below, where low-level detail meets ASPP's context.

# %%
deeplab.plot_blocks(deeplab.blocks(model), title=f"DeepLabV3+ as built for {size}x{size} images "
                    f"({'quick mode: small backbone' if ENV.quick else 'ResNet50 backbone'})");

# %% [markdown]
# The input pipeline flips images and masks left-right together (a flip never changes a
# class), batches, and prefetches. Masks stay whole numbers; only images are scaled: by 1/255
# for the small backbone, by ResNet50's own `preprocess_input` in full mode. The data set is a
# list of **indices**: `deeplab.read_by_index` turns an index into its image and mask, read from
# the NumPy arrays when the pipeline needs them. `tf.constant(x_train)` or
# `from_tensor_slices` would copy the arrays into TensorFlow, and a shuffle buffer of images
# would hold another copy: 2 GB each for 3,680 photos at 384x384, memory a Colab runtime needs
# for the network. Shuffling indices costs nothing.

# %%
def flip_both(image, mask):
    flip = tf.random.uniform(()) < 0.5
    return tf.cond(flip, lambda: (image[:, ::-1], mask[:, ::-1]), lambda: (image, mask))


batch_size, parallel = deeplab.settings().batch_size, tf.data.AUTOTUNE
to_float = lambda image, mask: (prepare(tf.cast(image, tf.float32)), mask)
train_ds = (tf.data.Dataset.range(len(x_train)).shuffle(len(x_train), seed=0)
            .map(deeplab.read_by_index(x_train, y_train), num_parallel_calls=parallel)
            .map(flip_both, num_parallel_calls=parallel).batch(batch_size)
            .map(to_float, num_parallel_calls=parallel).prefetch(parallel))
val_ds = (tf.data.Dataset.range(len(x_val)).map(deeplab.read_by_index(x_val, y_val), num_parallel_calls=parallel)
          .batch(64).map(to_float, num_parallel_calls=parallel).prefetch(parallel))

# %% [markdown]
# Training: Adam, the pixel-wise loss of section 7 and mean IoU as the metric, both ignoring
# label 255. `fit_resumable` (chapter 06) keeps a backup after every epoch and the best model,
# so a Colab disconnect costs at most one epoch: run the cell again and it continues. The run
# is saved as `deeplab.run_name()`; that is where chapter 11 looks for it. (`deeplab.train`
# repeats these two cells for chapter 11 when it finds no finished run: the assert checks that
# it would build and compile the very same model.)

# %%
learning_rate, epochs = deeplab.settings().learning_rate, deeplab.settings().epochs
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
    loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=IGNORE_LABEL),
    metrics=[keras.metrics.MeanIoU(num_classes, sparse_y_pred=False, ignore_class=IGNORE_LABEL, name="mean_iou")],
)
same = deeplab.compile_deeplab(deeplab.build_deeplabv3plus(size, num_classes, backbone_weights="random"),
                               num_classes, learning_rate)
assert training.model_fingerprint(model) == training.model_fingerprint(same)
print(f"PASS: same layers, weight shapes, optimizer and learning rate ({learning_rate}) as deeplab.train")
run = training.fit_resumable(model, train_ds, validation_data=val_ds, epochs=epochs,
                             run_name=deeplab.run_name(), monitor="val_mean_iou")

# %%
plot_history(run.history, metrics=("loss", "mean_iou"), title=f"DeepLabV3+ on {data_title}");

# %% [markdown]
# The best epoch's model (by validation mean IoU) is reloaded before anything is measured.
# `deeplab.predict_labels` runs it over the validation images a batch at a time and keeps only
# each pixel's class: all the probabilities at once would take 1.8 GB in full mode.

# %%
model = run.load_best()
val_pred = deeplab.predict_labels(model, x_val)
network_miou = metrics.mean_iou(y_val, val_pred, num_classes)
print(f"best epoch {run.best_epoch()}; validation mean IoU: {network_miou:.4f} "
      f"({len(x_val)} images, {'generated scenes' if ENV.quick else 'Oxford-IIIT Pet'}, mode {ENV.mode})")

# %% [markdown]
# What the full-size network reaches, for comparison: the DeepLabV3+ paper reports 89.0% mIoU
# on the VOC 2012 test set, with an Xception backbone pretrained on ImageNet and JFT-300M, far
# more training and more data (Chen et al., 2018). keras-io's DeepLabV3+ example, the network
# of this chapter's full mode, trains 25 epochs on 1,000 images of the CIHP human-parsing set
# (20 classes) and ends at 94% pixel accuracy on its training images and 77% on 50 validation
# images; it reports pixel accuracy, not mean IoU. Neither is a number for Oxford-IIIT Pet.
# In quick mode the number above is on the generated scenes, after 15 short epochs on a CPU: it
# says the code works, not how good DeepLabV3+ is.
#
# Predictions on validation images, under the truth, and the pixels the network gets wrong
# (black; right pixels are grey, and no class is drawn in black). Two kinds of mistake:
# outlines are soft, as DeepLab's authors observed (the scores come from a map 4 times coarser
# than the image, interpolated), and now and then the network finds an object but mixes up
# part of its class, labelling a corner of a cross as a triangle, say. Colour cannot help it there: every class comes in every colour.

# %%
show_segmentations(x_val[:6], {"image": None, "truth": y_val, "network": val_pred,
                                "wrong pixels (black)": error_map(y_val[:6], val_pred[:6])},
                   class_names=class_names);

# %% [markdown]
# Mean IoU averages the classes; class by class it shows which ones the network finds hard.
# The background is easy; the three shapes, which differ only in outline, are not:

# %%
class_iou = metrics.per_class_iou(metrics.confusion_matrix(y_val, val_pred, num_classes))
plot_class_iou({"DeepLabV3+": class_iou}, class_names, title=f"validation IoU per class, {data_title}");

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
# - DeepLab's observation: a DCNN's last layer knows *what* but not exactly *where* (71.6% IOU
#   on VOC 2012 test, 8 fps with atrous convolution, in the first paper).
# - A 3x3 kernel at rate $r$ spans $3 + 2(r-1)$ pixels with 9 weights: 3, 5, 9 for rates 1, 2,
#   4; stacked at 1, 2, 4 it sees 15x15, without shrinking the map.
# - ASPP looks at one map at several rates (6/12/18) plus image pooling; at large rates most
#   taps read padding, which is why image pooling is there. The v3+ decoder brings back
#   stride-4 features, reduced to 48 channels, to sharpen the upsampled output.
# - The course's full mode reads ResNet50 where keras-io's example does (`conv4_block6_2_relu`,
#   256 channels; `conv2_block3_2_relu`, 64 channels); the paper feeds ASPP the output of an
#   atrous last block instead.
# - Transposed convolutions with a kernel not divisible by the stride overlap unevenly: the
#   checkerboard. Bilinear upsampling (plus a convolution) does not.
# - Segmentation loss is per-pixel cross-entropy; the metric is mean IoU; both skip the
#   ignore label.
#
# **Next**: chapter 11 takes this trained network's soft outlines and sharpens them with
# DeepLab's fully connected CRF: mean-field inference by hand, checked against `pydensecrf2`,
# and measured: near the edges, and on mean IoU.
