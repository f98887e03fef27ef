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
# # 12 · Object detection basics: boxes, IoU, non-max suppression and average precision
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/12_object_detection_basics.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/12_object_detection_basics.ipynb)
#
# **What you will learn**
# - how to write a box (corners or centre + size) and how to score the overlap of two boxes
#   with intersection over union (IoU), written step by step
# - how to train a small convnet that finds one object, and why box regressors use smooth L1
#   instead of L2: seen in the gradients and in a controlled experiment with 5% wrong
#   training boxes
# - non-max suppression (NMS), written by hand and checked against the course's and
#   TensorFlow's
# - how detectors are scored: precision, recall and average precision (AP, mAP), written by
#   hand
#
# **Run time**: quick mode 40-240 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode (20,000 images, 40 epochs, three
# regressors) about 10-30 minutes on a 2-core CPU, a few minutes on a GPU.

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
env.banner(quick_data="3,000 generated training images, one drawn object "
                      "each, on crops of two photos",
           full_data="20,000 images of the same kind, 40 epochs",
           stand_in=False)

# %%
import cv2
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops

from course_utils import backends
from course_utils import boxes as bx
from course_utils import training
from course_utils.datasets import announce, synthetic
from course_utils.datasets.one_object import load_one_object
from course_utils.detection_plots import show_detections
from course_utils.plots import plot_history

# %% [markdown]
# ## 1. Boxes and intersection over union
# A detector answers two questions per object: *what* is it (a class) and *where* is it (a
# box). A box is four numbers, written in one of two ways:
# - **corners** `(x_min, y_min, x_max, y_max)`, handy for overlaps and drawing;
# - **centre and size** `(cx, cy, w, h)`, handy for predicting (detectors output these).
#
# $x$ runs to the right and $y$ runs *down*, as in an image array. `course_utils.boxes`
# converts between the two.

# %%
print(bx.corners_to_centers([10, 20, 50, 40]))  # centre (30, 30), 40 x 20
print(bx.centers_to_corners([30, 30, 40, 20]))

# %% [markdown]
# How good is a predicted box? The standard score is **intersection over union** (IoU): the
# area both boxes cover divided by the area either covers. It is 1 for a perfect box, 0 when
# they do not touch, and it does not depend on the image's size. We build it on two 2x2 boxes
# that overlap in a 1x1 square.
#
# **Step 1, the intersection.** The overlap of two axis-aligned boxes is itself a box: its
# min corner is the larger of the two min corners, its max corner the smaller of the two max
# corners. When the boxes do not overlap its width or height comes out negative, so we clip
# them at 0.

# %%
box_a, box_b = np.array([0.0, 0, 2, 2]), np.array([1.0, 1, 3, 3])
top_left = np.maximum(box_a[:2], box_b[:2])
bottom_right = np.minimum(box_a[2:], box_b[2:])
inter_wh = np.clip(bottom_right - top_left, 0, None)
intersection = inter_wh[0] * inter_wh[1]
print("intersection from", top_left, "to", bottom_right,
      "-> area", intersection)

# %% [markdown]
# **Step 2, the union.** Adding the two areas counts the intersection twice, so take it off
# once. IoU is the ratio of the two.

# %%
area_a = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
area_b = (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
union = area_a + area_b - intersection
print(f"union = {area_a} + {area_b} - {intersection} = {union};"
      f" IoU = {intersection / union:.4f}")

# %% [markdown]
# A detector compares thousands of boxes with a few objects, so we write the same two steps
# for whole arrays: every box of `boxes_a` (N, 4) against every box of `boxes_b` (M, 4). The
# extra axes (`[:, None]` and `[None]`) make NumPy broadcast the steps over all N x M pairs.

# %%
def iou(boxes_a, boxes_b):
    """IoU of every box in boxes_a (N, 4) with every box in boxes_b (M, 4)."""
    a = np.asarray(boxes_a, float).reshape(-1, 4)[:, None]  # (N, 1, 4)
    b = np.asarray(boxes_b, float).reshape(-1, 4)[None]  # (1, M, 4)
    top_left = np.maximum(a[..., :2], b[..., :2])
    bottom_right = np.minimum(a[..., 2:], b[..., 2:])
    inter_wh = np.clip(bottom_right - top_left, 0, None)
    intersection = inter_wh[..., 0] * inter_wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return intersection / (area_a + area_b - intersection)


# %% [markdown]
# **Predict:** the IoU of a 4x4 box with a 2x2 box inside it; of two boxes far apart; of two
# 2x2 boxes that share only an edge; of a box with itself.

# %% tags=["nbval-check-output"]
pairs = {
    "partial overlap": ([0, 0, 2, 2], [1, 1, 3, 3]),
    "containment": ([0, 0, 4, 4], [1, 1, 3, 3]),
    "no overlap": ([0, 0, 2, 2], [5, 5, 6, 6]),
    "shared edge only": ([0, 0, 2, 2], [2, 0, 4, 2]),
    "identical": ([1, 1, 3, 3], [1, 1, 3, 3]),
}
for name, (a, b) in pairs.items():
    print(f"{name:17s} {a} vs {b}: IoU = {iou(a, b)[0, 0]:.4f}")
firsts, seconds = zip(*pairs.values())
assert np.allclose(iou(firsts, seconds), bx.box_iou(firsts, seconds))
print("PASS: iou == bx.box_iou on all 25 pairs of these boxes")

# %% [markdown]
# **Answer:** containment gives 4/16 = 0.25, since the union is the big box; boxes far apart
# and boxes that share only an edge give 0 (no area in common); a box with itself gives 1.
#
# The last line checked `iou` against the course's `bx.box_iou`, which the chapters use from
# here on. It also refuses boxes whose max corner is below their min corner (a box in
# `(cx, cy, w, h)` by mistake) and gives 0, not a division by zero, for two boxes of zero
# area.

# %% [markdown]
# ## 2. Regressing a box: smooth L1 against L2
# A network that predicts a box regresses four numbers. The box losses of Fast R-CNN and SSD
# are **smooth L1** (Girshick 2015): quadratic near zero, linear beyond 1,
# $$\text{smooth}_{L1}(x) = \begin{cases} 0.5\,x^2 & |x| < 1 \\ |x| - 0.5 &
# \text{otherwise.}\end{cases}$$
# Keras calls it `Huber` loss (with `delta=1`). We write it in NumPy and check it against
# Keras.

# %%
def smooth_l1(x):
    x = np.abs(x)
    return np.where(x < 1.0, 0.5 * x**2, x - 0.5)


def l2(x):
    return 0.5 * np.asarray(x) ** 2  # the 1/2 makes it smooth L1 near zero


err = np.linspace(-4, 4, 81, dtype="float32")
huber = keras.losses.Huber(delta=1.0, reduction=None)
keras_values = huber(err[:, None], np.zeros_like(err)[:, None])
assert np.allclose(smooth_l1(err), ops.convert_to_numpy(keras_values))
print("PASS: smooth_l1 == keras.losses.Huber(delta=1)")

# %% [markdown]
# What matters for training is the **gradient**. **Predict:** for an error of 10 pixels, what
# is the gradient of L2, and of smooth L1? And for an error of 0.01? Automatic
# differentiation answers (chapter 3): TensorFlow records the computation with
# `tf.GradientTape`; JAX turns a function into its derivative with `jax.grad`, and
# `jax.vmap` applies that to each error. Each runs where it is installed.

# %%
errors = np.array([0.01, 0.5, 1.0, 2.0, 10.0, 100.0], dtype="float32")
if backends.installed("tensorflow", "the tf.GradientTape version"):
    import tensorflow as tf

    x = tf.constant(errors)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        smooth = tf.where(tf.abs(x) < 1.0, 0.5 * x**2, tf.abs(x) - 0.5)
        losses_tf = [0.5 * x**2, tf.abs(x), smooth]  # L2, L1, smooth L1
    grads_tf = [tape.gradient(f, x).numpy() for f in losses_tf]

# %%
if backends.installed("jax", "the jax.grad version"):
    import jax
    import jax.numpy as jnp

    def smooth_l1_jax(e):
        return jnp.where(jnp.abs(e) < 1.0, 0.5 * e**2, jnp.abs(e) - 0.5)

    losses_jax = [lambda e: 0.5 * e**2, jnp.abs, smooth_l1_jax]
    grads_jax = [np.asarray(jax.vmap(jax.grad(f))(errors))
                 for f in losses_jax]

# %% tags=["nbval-check-output"]
grads = grads_jax if backends.has("jax") else grads_tf
if backends.has("jax") and backends.has("tensorflow"):
    assert np.allclose(grads_jax, grads_tf)  # both frameworks agree
print(" error |  dL2   |  dL1  | d smooth L1")
for e, a, b, c in zip(errors, *grads):
    print(f"{e:6.2f} | {a:6.2f} | {b:5.2f} | {c:5.2f}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
curves = [("L2 (0.5 x²)", l2(err), err),
          ("L1 |x|", np.abs(err), np.sign(err)),
          ("smooth L1", smooth_l1(err), np.clip(err, -1, 1))]
for name, f, grad in curves:
    ax1.plot(err, f, label=name); ax2.plot(err, grad, label=name)
ax1.set_title("loss"); ax2.set_title("gradient"); ax1.set_ylim(0, 4.5)
for ax in (ax1, ax2):
    ax.set_xlabel("error (prediction - target)"); ax.grid(alpha=0.3)
    ax.legend()

# %% [markdown]
# **Answer:** the gradient of L2 (0.5 x²) is the error itself: 10 for an error of 10, 0.01
# for 0.01. Smooth L1's is capped at 1 for an error of 10, and is 0.01 for 0.01, the same
# as L2's, since smooth L1 is 0.5 x² below 1.
#
# - **Large errors**: the L2 gradient grows with the error (100 for an error of 100), so one
#   badly placed box, or one mislabelled box in the data, dominates a whole batch. Smooth L1
#   caps the gradient at 1, like L1: it is robust to outliers.
# - **Near zero**: plain L1's gradient stays at ±1 however close the box is, so the box keeps
#   jumping around the target. Smooth L1 is quadratic there, its gradient shrinks with the
#   error and the box settles.
#
# ## 3. A box regressor trained with smooth L1
# Now a network that finds one object per image. The data is generated: a rectangle or an
# ellipse of random size, place and colour, pasted on a random crop of one of the two real
# photos that ship with scikit-learn (so the background is real clutter), with a little
# noise. Since we draw the object, we know its true box exactly. The training images and
# 1,000 held-out test images come from two separate random streams.

# %%
n_train = env.by_mode(quick=3_000, full=20_000)
(x_train, box_train), (x_test, box_test) = load_one_object(n_train, size=48)
SIZE = x_train.shape[1]
fig, axes = plt.subplots(1, 8, figsize=(14, 2))
for ax, img, box in zip(axes, x_train, box_train):
    ax.imshow(img); bx.draw_boxes(ax, box, linewidth=1.5); ax.axis("off")

# %% [markdown]
# **The model** is a small convnet whose head predicts $(c_x, c_y, w, h)$ through a sigmoid,
# scaled to pixels, and converts them to corners. Because its targets are in pixels, the
# smooth L1 loss is linear for errors above one pixel, where each coordinate's gradient is
# capped at 1, and quadratic for sub-pixel errors. Strided convolutions keep the network
# cheap on a CPU.

# %%
def make_box_regressor() -> keras.Model:
    inputs = keras.Input(shape=(SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32, 64, 64):
        x = layers.Conv2D(filters, 3, strides=2, padding="same",
                          activation="relu")(x)
    x = layers.Dense(64, activation="relu")(layers.Flatten()(x))
    out = layers.Dense(4, activation="sigmoid", dtype="float32")(x)
    cxcywh = out * SIZE  # in pixels
    half = cxcywh[:, 2:] / 2
    corners = layers.Concatenate()([cxcywh[:, :2] - half,
                                    cxcywh[:, :2] + half])
    return keras.Model(inputs, corners, name="box_regressor")


# %% tags=["nbval-check-output"]
regressor = make_box_regressor()
print("output shape:", regressor.output.shape)
print(f"parameters: {regressor.count_params():,}")

# %% [markdown]
# We also watch the mean IoU during training, written with `keras.ops` so Keras can compute
# it on each batch. It is the same formula as `iou`, for matching pairs of boxes.

# %%
def miou(y_true, y_pred):  # mean IoU
    top_left = ops.maximum(y_true[:, :2], y_pred[:, :2])
    bottom_right = ops.minimum(y_true[:, 2:], y_pred[:, 2:])
    inter = ops.prod(ops.relu(bottom_right - top_left), axis=1)
    area_true = ops.prod(y_true[:, 2:] - y_true[:, :2], axis=1)
    area_pred = ops.prod(y_pred[:, 2:] - y_pred[:, :2], axis=1)
    return ops.mean(inter / (area_true + area_pred - inter + 1e-7))


regressor.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.Huber(delta=1.0), metrics=[miou])

# %%
epochs = env.by_mode(quick=15, full=40)
history = regressor.fit(x_train, box_train, epochs=epochs, batch_size=64,
                        validation_split=0.1, verbose=0,
                        callbacks=[training.compact_log(epochs)])
plot_history(history, metrics=("loss", "miou"),
             title="box regressor, smooth L1 loss");

# %% [markdown]
# **Evaluate** on the 1,000 held-out images, one IoU per image. A PASCAL VOC detector counts
# a box as correct at IoU >= 0.5.

# %%
def test_ious(model):
    predicted = model.predict(x_test, batch_size=256, verbose=0)
    return predicted, bx.box_iou(box_test, predicted).diagonal()


pred_test, ious = test_ious(regressor)
print(f"mean IoU on {len(x_test):,} held-out images: {ious.mean():.3f}")
print(f"IoU >= 0.5: {np.mean(ious >= 0.5):.1%};"
      f" IoU >= 0.75: {np.mean(ious >= 0.75):.1%}")
env.check("mean IoU of the box regressor", ious.mean(),
          at_least=env.by_mode(quick=0.6, full=0.8))

# %%
fig, axes = plt.subplots(2, 8, figsize=(14, 4))
for ax, img, t, p, score in zip(axes.flat, x_test, box_test, pred_test, ious):
    ax.imshow(img)
    bx.draw_boxes(ax, t, color="lime", linewidth=1.5)
    bx.draw_boxes(ax, np.clip(p, 0, SIZE), color="red", linewidth=1.5,
                  linestyle="--")
    ax.set_title(f"IoU {score:.2f}", fontsize=9); ax.axis("off")
fig.suptitle("held-out images: true box (green), predicted (red, dashed)");

# %% [markdown]
# ## 4. A controlled experiment: when some labels are wrong
# Real training sets hold mistakes: a box drawn around the wrong object, a box typed in
# wrong. Section 2 showed the gradients: L2's grows with the error, smooth L1's is capped at
# 1 beyond one pixel. Here is what that does to training. Replace 5% of the training boxes
# by random boxes, then train the same regressor twice, same data, same start, same budget,
# changing only the loss; measure both on the clean test boxes.
#
# **Predict:** which loss loses more accuracy to the wrong boxes?

# %%
rng = np.random.default_rng(ENV.seed)
n_wrong = len(box_train) // 20
corrupted = rng.choice(len(box_train), size=n_wrong, replace=False)
corner = rng.uniform(0, SIZE * 0.6, (n_wrong, 2))
size = rng.uniform(4, SIZE * 0.4, (n_wrong, 2))
noisy_boxes = box_train.copy()
noisy_boxes[corrupted] = np.concatenate([corner, corner + size], axis=1)
print(f"{n_wrong} of {len(box_train):,} training boxes replaced by random"
      " boxes")

# %%
noisy_iou = {}
for name, loss in (("L2", "mse"), ("smooth L1", keras.losses.Huber(1.0))):
    keras.utils.set_random_seed(ENV.seed)  # the same start for both
    model = make_box_regressor()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    model.fit(x_train, noisy_boxes, epochs=epochs, batch_size=64, verbose=0)
    noisy_iou[name] = test_ious(model)[1]
    print(f"{name:9s} with 5% wrong boxes: mean IoU"
          f" {noisy_iou[name].mean():.3f}, IoU >= 0.5 on"
          f" {np.mean(noisy_iou[name] >= 0.5):.1%}")
print(f"smooth L1 on the clean boxes (section 3): mean IoU {ious.mean():.3f}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.hist([noisy_iou["L2"], noisy_iou["smooth L1"]], bins=20, range=(0, 1),
        label=["L2", "smooth L1"])
ax.set_xlabel("IoU with the true box, 1,000 clean test images")
ax.set_ylabel("images"); ax.legend()
ax.set_title("trained with 5% wrong boxes: L2 against smooth L1");

# %% [markdown]
# **Answer:** L2, as the mean IoUs above show. A random box is off by many pixels, and L2's
# pull grows with the error, so the wrong boxes drag every prediction towards them; smooth
# L1 pulls at most 1 per coordinate, so they count hardly more than any other box. The
# histogram shows L2's IoUs spread towards lower values.

# %%
gap = noisy_iou["smooth L1"].mean() - noisy_iou["L2"].mean()
env.check("mean IoU smooth L1 keeps over L2 with 5% wrong boxes", gap,
          at_least=0.02)

# %% [markdown]
# ## 5. Many boxes per object: non-max suppression
# One object, one box: a detector does not work that way. It scores many candidate boxes
# (chapter 13's scores one per cell of a grid), and several land on each object. On a
# 448x448 scene with three objects of three classes, we imitate that output: five boxes
# jittered around each object, with falling scores.

# %%
CLASSES = ("disc", "square", "triangle")
scene = np.full((448, 448, 3), 235, np.uint8)
cv2.circle(scene, (110, 120), 70, (220, 60, 50), -1)
cv2.rectangle(scene, (250, 200), (410, 330), (60, 110, 220), -1)
triangle = np.array([[90, 420], [200, 420], [145, 300]])
cv2.fillPoly(scene, [triangle], (60, 170, 80))
gt_px = np.array([[40, 50, 181, 191], [250, 200, 411, 331],
                  [90, 300, 201, 421]], float)
gt, gt_labels = gt_px / 448, np.array([0, 1, 2])  # fractions of the image
announce("a 448x448 scene drawn with OpenCV: a disc, a square, a triangle")

# %%
rng = np.random.default_rng(0)
jitter = rng.normal(0, 0.025, (3, 5, 4))  # five noisy copies of each box
boxes = (gt[:, None] + jitter).reshape(-1, 4)
falling = np.array([0.9, 0.8, 0.7, 0.6, 0.4])
scores = (falling - rng.uniform(0, 0.1, (3, 5))).ravel()
classes = np.repeat(gt_labels, 5)
show_detections(scene, boxes, scores, classes, CLASSES,
                "before non-max suppression");

# %% [markdown]
# **Non-max suppression** (NMS) keeps the best box and drops its near copies:
# 1. sort the boxes by score;
# 2. keep the highest-scoring box;
# 3. remove every remaining box whose IoU with it is above a threshold (0.5 is usual);
# 4. repeat with what is left.
#
# One round of it, on the fifteen boxes above:

# %%
order = np.argsort(-scores)  # step 1: best first
best, rest = order[0], order[1:]  # step 2: keep the best
overlap = bx.box_iou(boxes[best], boxes[rest])[0]
near = overlap > 0.5  # step 3: its near copies
print(f"kept box {best} ({CLASSES[classes[best]]}, score {scores[best]:.2f})")
print(f"step 3 drops boxes {rest[near]}, IoU {np.round(overlap[near], 2)}")
print(f"and leaves {np.sum(~near)}, IoU at most {overlap[~near].max():.2f}")

# %% [markdown]
# Step 4 repeats this until nothing is left. Equal scores are taken in their original order
# (`kind="stable"`), as TensorFlow does.

# %%
def nms(boxes, scores, iou_threshold=0.5):
    """Indices of the boxes greedy NMS keeps, best score first."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep = []
    while len(order) > 0:
        best, rest = order[0], order[1:]
        keep.append(best)
        overlap = bx.box_iou(boxes[best], boxes[rest])[0]
        order = rest[overlap <= iou_threshold]  # drop the near copies
    return np.array(keep, dtype=int)


# %% [markdown]
# Detectors run NMS class by class: a dog's box must not suppress an overlapping person's.
# Our three objects have different classes anyway; we do it properly all the same. The last
# lines check `nms` against the course's `bx.non_max_suppression` and, where TensorFlow is
# installed, its `tf.image.non_max_suppression`, on 40 images' worth of boxes. (TensorFlow's
# boxes are `(y_min, x_min, y_max, x_max)`, but IoU does not change when x and y swap roles.)
#
# **Predict:** how many of the fifteen boxes are left?

# %%
keep = []
for k in range(len(CLASSES)):
    of_class = np.flatnonzero(classes == k)
    keep.extend(of_class[nms(boxes[of_class], scores[of_class])])
print(f"kept {len(keep)} of {len(boxes)} boxes")
show_detections(scene, boxes[keep], scores[keep], classes[keep], CLASSES,
                "after non-max suppression");
many = synthetic.detector_output(n_images=40, seed=1)
b, s = (many[k].astype("float32") for k in ("det_boxes", "det_scores"))
assert np.array_equal(nms(b, s), bx.non_max_suppression(b, s))
if backends.has("tensorflow"):
    tf_keep = tf.image.non_max_suppression(b, s, len(b), 0.5)
    assert np.array_equal(nms(b, s), tf_keep.numpy())

# %% [markdown]
# **Answer:** 3, one per object: each object's five boxes lie almost on top of each other
# (the IoUs printed in the round above), so its best box suppresses the other four.
#
# ## 6. Scoring a detector: precision, recall, average precision
# Papers rank detectors by **mAP**, mean average precision. To compute it for one class,
# take every box the detector output on a whole test set, sorted by score, and walk down
# the list:
# - a box is a **true positive** when it overlaps a true object of its image with IoU >= 0.5
#   and no higher-scored box has claimed that object yet; otherwise a **false positive** (a
#   second box on the same object counts against the detector: that is what NMS prevents);
# - after each box, **precision** = true positives so far / boxes so far, and **recall** =
#   true positives so far / all true objects.
#
# A detector's output for one class on 40 generated images (each with 1-3 objects; it misses
# some, places others loosely and now and then fires on nothing):

# %%
out = synthetic.detector_output(n_images=40, seed=0)
print(f"{len(out['truth_boxes'])} true objects,"
      f" {len(out['det_boxes'])} detections on 40 images")


# %%
def match(out: dict, iou_min: float = 0.5) -> np.ndarray:
    """1 (true positive) or 0 for each detection, by falling score."""
    order = np.argsort(-out["det_scores"], kind="stable")
    claimed, tp = set(), np.zeros(len(order))
    for rank, d in enumerate(order):
        same = np.flatnonzero(out["truth_image"] == out["det_image"][d])
        ious = bx.box_iou(out["det_boxes"][d], out["truth_boxes"][same])[0]
        if len(ious) == 0 or ious.max() < iou_min:
            continue  # no true object overlaps enough
        if same[ious.argmax()] not in claimed:  # a true positive
            claimed.add(same[ious.argmax()])
            tp[rank] = 1
    return tp

# %%
tp = match(out)
precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
recall = np.cumsum(tp) / len(out["truth_boxes"])
for rank in (0, 9, 29, 49, len(tp) - 1):
    print(f"after {rank + 1:2d} boxes: {int(tp[:rank + 1].sum()):2d} true"
          f" positives, precision {precision[rank]:.2f},"
          f" recall {recall[rank]:.2f}")

# %% [markdown]
# Going down the list, recall can only grow and precision tends to fall: a lower threshold
# on the score finds more objects and lets in more false alarms. **Average precision**
# summarises the whole curve in one number: the area under it. PASCAL VOC (since 2010)
# first makes precision non-increasing, each point taking the best precision at any higher
# recall, then sums rectangles wherever recall grows. (COCO samples 101 recall levels
# instead, and averages over IoU thresholds from 0.5 to 0.95.)

# %%
def average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # best precision at r or beyond
    steps = np.flatnonzero(r[1:] != r[:-1])  # where recall grows
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))

# %% [markdown]
# The course's `bx.average_precision` computes the same from the boxes; the last line checks
# that both agree.

# %%
ap50 = average_precision(precision, recall)
fig, ax = plt.subplots(figsize=(5, 3.8))
ax.plot(recall, precision, ".-", label="precision after each box")
ax.step(recall, np.maximum.accumulate(precision[::-1])[::-1], where="post",
        label="made non-increasing")
ax.set_xlabel("recall"); ax.set_ylabel("precision")
ax.set_xlim(0, 1); ax.set_ylim(0, 1.05); ax.legend(loc="lower left")
ax.set_title(f"AP at IoU 0.5: {ap50:.3f} (generated detections)")
args = [out[k] for k in ("det_boxes", "det_scores", "det_image",
                         "truth_boxes", "truth_image")]
assert abs(ap50 - bx.average_precision(*args)) < 1e-12
print(f"PASS: average_precision == bx.average_precision ({ap50:.3f})")

# %% [markdown]
# Recall never reaches 1 here: the detector missed some objects altogether, and no
# threshold brings them back.
#
# **Predict:** the same detections, scored at IoU >= 0.75 instead of 0.5. Higher or lower AP?

# %%
ap75 = bx.average_precision(*args, iou_threshold=0.75)
print(f"AP at IoU 0.5: {ap50:.3f}   AP at IoU 0.75: {ap75:.3f}")

# %% [markdown]
# **Answer:** lower: loosely placed boxes that counted as hits at 0.5 become false positives
# at 0.75, and the objects they covered count as missed. **mAP** is this AP averaged over
# the classes (PASCAL VOC: 20 classes at IoU 0.5); COCO's headline number also averages over
# ten IoU thresholds, 0.5 to 0.95, which rewards precise boxes. For scale: YOLO v1 reached
# 63.4% mAP on VOC 2007 test, SSD300 74.3% (their papers).

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code,
# run the cell, then run the check below it. A check tests your function on fresh random
# inputs against the course's own answer and prints **PASS**, **FAIL** with the numbers that
# show what is wrong, or **NOT DONE** while the stub is still there. Nothing later in the
# chapter uses your functions, so you can skip one and come back. ★ warms up, ★★ needs some
# thought, ★★★ stretches.

# %%
from course_utils.exercises import ch12

# %% [markdown]
# ### Exercise 12.1 ★ Generalised IoU
# IoU is 0 for every pair of boxes that do not overlap, however far apart: as a loss it
# gives no hint which way to move. **Generalised IoU** (Rezatofighi et al. 2019) subtracts
# the part of the smallest box enclosing both that the two boxes leave empty:
# $\text{GIoU} = \text{IoU} - (|E| - |A \cup B|)/|E|$, with $E$ the enclosing box. It is 1
# for identical boxes and goes towards -1 as they move apart. Write `giou(boxes_a,
# boxes_b)`: both (N, 4) corner arrays, one GIoU per row pair, shape (N,). Hint: the
# enclosing box is built like the intersection, with min and max swapped.

# %%
def giou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Generalised IoU of boxes_a[i] with boxes_b[i], shape (N,)."""
    ### BEGIN SOLUTION
    a, b = np.asarray(boxes_a, float), np.asarray(boxes_b, float)
    inter_wh = np.clip(np.minimum(a[:, 2:], b[:, 2:])
                       - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = inter_wh[:, 0] * inter_wh[:, 1]
    area = lambda c: (c[:, 2] - c[:, 0]) * (c[:, 3] - c[:, 1])  # noqa: E731
    union = area(a) + area(b) - inter
    enclosing = np.concatenate([np.minimum(a[:, :2], b[:, :2]),
                                np.maximum(a[:, 2:], b[:, 2:])], axis=1)
    return inter / union - (area(enclosing) - union) / area(enclosing)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch12.check_giou(giou)

# %% [markdown]
# ### Exercise 12.2 ★★ Per-class NMS in one call
# Section 5 ran NMS class by class in a loop. Do it with a single call of the chapter's
# `nms` and no loop: move each class's boxes so far away that boxes of different classes
# never overlap (IoU 0, so they cannot suppress each other), while boxes of the same class
# keep their IoU. `nms_per_class(boxes, scores, classes, iou_threshold)` returns the indices
# of the kept boxes, best score first, all classes together. Boxes may lie anywhere, at
# negative coordinates too. Hint: shifting every coordinate of a box by the same amount does
# not change its IoU with boxes shifted alike; how far is far enough?

# %%
def nms_per_class(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray,
                  iou_threshold: float = 0.5) -> np.ndarray:
    """Indices NMS keeps when boxes only suppress boxes of their class."""
    ### BEGIN SOLUTION
    far = boxes.max() - boxes.min() + 1  # more than the spread of all boxes
    return nms(boxes + (far * classes)[:, None], scores, iou_threshold)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch12.check_nms_per_class(nms_per_class)

# %% [markdown]
# ### Exercise 12.3 ★★ COCO's 101-point average precision
# Section 6 took the area under the whole curve. COCO samples it instead: for each of the 101
# recall levels $r = 0, 0.01, \dots, 1$ (`np.linspace(0, 1, 101)`), take the best precision
# at any recall >= $r$, or 0 where recall never gets that far, and average the 101 values.
# Write `ap_101(precision, recall)`: the precision and recall after each detection, by
# falling score, as section 6 computes them (both may be empty: no detections, AP 0).
# Hint: a level that recall reaches exactly counts as reached.

# %%
def ap_101(precision: np.ndarray, recall: np.ndarray) -> float:
    """COCO's AP: mean interpolated precision at 101 recall levels."""
    ### BEGIN SOLUTION
    levels = np.linspace(0, 1, 101)
    best = np.zeros(len(levels))
    for i, r in enumerate(levels):
        reached = recall >= r
        best[i] = precision[reached].max() if reached.any() else 0.0
    return float(best.mean())
    ### END SOLUTION


# %% tags=["exercise-check"]
ch12.check_ap_101(ap_101)

# %% [markdown]
# ### Exercise 12.4 ★★★ Soft-NMS
# NMS deletes every box that overlaps a kept box by more than the threshold, even a box on a
# second object standing right behind the first. **Soft-NMS** (Bodla et al. 2017) lowers
# scores instead. Each round picks the box with the highest *current* score (the lower index
# on a tie), keeps it with that score, and multiplies the score of every box not picked yet
# by $\exp(-\text{IoU}^2/\sigma)$, its IoU being with the box just picked. A box whose score
# is below `score_threshold`, from the start or after a decay, is dropped and never picked.
# Write `soft_nms(boxes, scores, sigma, score_threshold)` returning `(indices, kept_scores)`
# in the order the boxes were picked. Hint: a decayed box can fall behind a box that scored
# lower at the start.

# %%
def soft_nms(boxes: np.ndarray, scores: np.ndarray, sigma: float = 0.5,
             score_threshold: float = 0.001) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian soft-NMS: the picked boxes and their scores when picked."""
    ### BEGIN SOLUTION
    scores, keep = np.array(scores, dtype=float), []
    left = np.flatnonzero(scores >= score_threshold)
    while len(left) > 0:
        best = left[np.argmax(scores[left])]
        keep.append(best)
        left = left[left != best]
        overlap = bx.box_iou(boxes[best], boxes[left])[0]
        scores[left] *= np.exp(-overlap ** 2 / sigma)
        left = left[scores[left] >= score_threshold]
    return np.array(keep, dtype=int), scores[keep]
    ### END SOLUTION


# %% tags=["exercise-check"]
ch12.check_soft_nms(soft_nms)

# %% [markdown]
# ## Recap
# - A box is corners `(x_min, y_min, x_max, y_max)` or centre and size `(cx, cy, w, h)`;
#   IoU = intersection / union scores overlap from 0 (apart, or touching at an edge) to 1.
# - Smooth L1 has L2's small gradients near zero and L1's bounded gradients for large
#   errors: trained with 5% wrong boxes, a box regressor keeps more of its IoU with it than
#   with L2.
# - Non-max suppression keeps the best box and drops those overlapping it by more than a
#   threshold, class by class; ours keeps the same boxes as the course's NumPy version
#   and, where TensorFlow is installed, as `tf.image.non_max_suppression`.
# - Average precision walks the detections by falling score, counts each object once, and
#   takes the area under the precision-recall curve; mAP averages it over classes, COCO's
#   also over IoU thresholds.
#
# **Next**: chapter 13 trains a detector that finds several objects per image, YOLO-style,
# and scores it with this chapter's NMS and AP.
