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
# # 11 · Object detection basics: boxes, YOLO, NMS, SSD and box regression
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/11_object_detection_basics.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/11_object_detection_basics.ipynb)
#
# **What you will learn**
# - how to write a box (corners or centre + size) and how to score the overlap of two boxes
#   with intersection over union (IoU)
# - what a YOLO network outputs: an S x S grid where each cell predicts B boxes
#   (x, y, w, h, confidence) and class probabilities, and class score = confidence x probability
# - non-max suppression (NMS), written by hand and checked against TensorFlow's
# - SSD's default boxes at several scales and aspect ratios, and how they are matched to objects
# - why detectors regress boxes with smooth L1 instead of L2, seen in the gradients
# - how to train a small convnet that finds one object and measure it with IoU
#
# **Run time**: quick mode about a minute on a 2-core CPU (3,000 training images, 15 epochs);
# full mode (20,000 images, 40 epochs) about 5-10 minutes on a 2-core CPU (estimated from
# shorter runs), a minute or two on a GPU.

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

# %%
import inspect
import cv2
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
import keras
from keras import layers, ops
from course_utils import boxes as bx
from course_utils.datasets import announce
from course_utils.plots import plot_history

# %% [markdown]
# ## 1. Boxes and intersection over union
# A detector answers two questions per object: *what* is it (a class) and *where* is it (a box).
# A box is four numbers, written in one of two ways:
# - **corners** `(x_min, y_min, x_max, y_max)`, handy for overlaps and drawing;
# - **centre and size** `(cx, cy, w, h)`, handy for predicting (YOLO and SSD predict these).
#
# $x$ runs to the right and $y$ runs *down*, as in an image array. `course_utils.boxes`
# converts between the two.

# %%
print(bx.corners_to_centers([10, 20, 50, 40]))   # -> centre (30, 30), size 40 x 20
print(bx.centers_to_corners([30, 30, 40, 20]))

# %% [markdown]
# How good is a predicted box? The standard score is **intersection over union**: the area both
# boxes cover divided by the area either covers. It is 1 for a perfect box, 0 when they do not
# touch, and it does not depend on the image's size. Here is the helper; read it once.

# %%
print(inspect.getsource(bx.box_iou))

# %% [markdown]
# Predict before running: two 2x2 boxes that overlap in a 1x1 square; a 4x4 box with a 2x2 box
# inside it; two boxes that only share an edge.

# %%
# NBVAL_CHECK_OUTPUT
pairs = {
    "partial overlap": ([0, 0, 2, 2], [1, 1, 3, 3]),
    "containment": ([0, 0, 4, 4], [1, 1, 3, 3]),
    "no overlap": ([0, 0, 2, 2], [5, 5, 6, 6]),
    "shared edge only": ([0, 0, 2, 2], [2, 0, 4, 2]),
    "identical": ([1, 1, 3, 3], [1, 1, 3, 3]),
}
for name, (a, b) in pairs.items():
    print(f"{name:17s} {a} vs {b}: IoU = {bx.box_iou(a, b)[0, 0]:.4f}")

# %% [markdown]
# Partial overlap: intersection 1, union 4 + 4 - 1 = 7, so 1/7. Containment: the union is the
# big box, so 4/16. A shared edge has zero area in common. The function takes whole arrays and
# returns every pair at once, which is what detectors need (thousands of boxes against a few
# objects):

# %%
a = np.array([p[0] for p in pairs.values()], dtype=float)
b = np.array([p[1] for p in pairs.values()], dtype=float)
loop = np.array([[bx.box_iou(ai, bj)[0, 0] for bj in b] for ai in a])
assert np.allclose(bx.box_iou(a, b), loop)
print("IoU matrix", bx.box_iou(a, b).shape, "== pair by pair: PASS")

# %% [markdown]
# ## 2. A scene to detect in
# For the next sections we draw a 448x448 scene (the input size of YOLO v1) with three objects
# of three classes, and keep their true boxes. Boxes are written as fractions of the image, so
# the same numbers work at any resolution.

# %%
CLASSES = ("disc", "square", "triangle")
S_IMG = 448
scene = np.full((S_IMG, S_IMG, 3), 235, np.uint8)
cv2.circle(scene, (110, 120), 70, (220, 60, 50), -1)
cv2.rectangle(scene, (250, 200), (410, 330), (60, 110, 220), -1)
cv2.fillPoly(scene, [np.array([[90, 420], [200, 420], [145, 300]])], (60, 170, 80))
gt_px = np.array([[40, 50, 181, 191], [250, 200, 411, 331], [90, 300, 201, 421]], float)
gt_labels = np.array([0, 1, 2])
gt = gt_px / S_IMG  # fractions of the image

fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(scene)
bx.draw_boxes(ax, gt_px, labels=[CLASSES[k] for k in gt_labels])
ax.set_title("true boxes"); ax.axis("off");

# %% [markdown]
# ## 3. What YOLO predicts
# YOLO ("You Only Look Once", Redmon et al. 2016) cuts the image into an $S \times S$ grid.
# The cell that holds an object's centre is responsible for it. Each cell predicts
# - $B$ boxes, each as five numbers $(x, y, w, h, c)$: the centre's offset inside the cell
#   (0..1), the width and height as fractions of the image, and a **confidence** $c$, the
#   network's belief that this box holds an object (trained towards the IoU with the object);
# - one set of $C$ class probabilities $p(\text{class} \mid \text{object})$.
#
# So the output is a tensor of shape $S \times S \times (5B + C)$. The score of a class for a
# box is **confidence x class probability**: high only when the box holds something *and* that
# something is of this class. YOLO v1 on PASCAL VOC used $S = 7$, $B = 2$, $C = 20$:

# %%
# NBVAL_CHECK_OUTPUT
S, B, C = 7, 2, 20
print(f"YOLO v1 output: {S} x {S} x (5*{B} + {C}) = {S} x {S} x {5 * B + C}"
      f" = {S * S * (5 * B + C)} numbers")

# %% [markdown]
# Now encode our three boxes as a training target with $S = 7$, $B = 2$ and our $C = 3$ classes.
# Read the encoder first: it finds the cell, stores the offsets, and one-hot encodes the class.

# %%
print(inspect.getsource(bx.yolo_encode))

# %%
# NBVAL_CHECK_OUTPUT
S, B, C = 7, 2, len(CLASSES)
target = bx.yolo_encode(gt, gt_labels, grid_size=S, boxes_per_cell=B, num_classes=C)
print("target shape:", target.shape)
for row, col in zip(*np.nonzero(target[..., 4])):
    x, y, w, h, conf = target[row, col, :5]
    print(f"cell (row {row}, col {col}): x={x:.3f} y={y:.3f} w={w:.3f} h={h:.3f} c={conf:.0f}",
          "class probs", target[row, col, 5 * B:])

# %% [markdown]
# Three of the 49 cells hold an object; everything else is zero ("no object here").
# Decoding turns the grid back into boxes: cell position + offset gives the centre.

# %%
boxes, scores, classes = bx.yolo_decode(target, boxes_per_cell=B, num_classes=C)
order = np.argsort(classes)
assert np.allclose(boxes[order], gt, atol=1e-6) and (classes[order] == gt_labels).all()
print("decode(encode(boxes)) == boxes: PASS; class scores", scores)

# %% [markdown]
# A trained network does not output clean one-hot targets. Let us imitate one: the responsible
# cell is sure of its object, and the neighbouring cells are less sure but still predict boxes
# near it (their centres land in the wrong cell, yet they see the object). This is why YOLO's
# raw output holds several boxes per object: the job of the next section.

# %%
rng = np.random.default_rng(0)
fake = np.zeros_like(target)
for (x0, y0, x1, y1), label in zip(gt, gt_labels):
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    for dr, dc, conf in [(0, 0, 0.9), (0, 1, 0.7), (1, 0, 0.6), (-1, 0, 0.55), (0, -1, 0.3)]:
        row = int(np.clip(cy * S, 0, S - 1)) + dr
        col = int(np.clip(cx * S, 0, S - 1)) + dc
        jx, jy, jw, jh = rng.normal(0, 0.02, 4)  # a little noise, as fractions of the image
        fake[row, col, :5] = ((cx + jx) * S - col, (cy + jy) * S - row, w + jw, h + jh, conf)
        probs = np.full(C, 0.1); probs[label] = 0.8
        fake[row, col, 5 * B:] = probs

# %% [markdown]
# Class score = confidence x probability: the responsible cell scores 0.9 x 0.8 = 0.72 for the
# right class; the weakest neighbour 0.3 x 0.8 = 0.24, below a threshold of 0.3, and is dropped.

# %%
boxes, scores, classes = bx.yolo_decode(fake, boxes_per_cell=B, num_classes=C, score_threshold=0.3)
print(f"{len(boxes)} boxes above the score threshold, for {len(gt)} objects")
print("scores:", np.round(np.sort(scores)[::-1], 3))


# %%
def show_detections(boxes, scores, classes, title):
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(scene)
    for k in range(S + 1):  # the YOLO grid
        ax.axhline(k * S_IMG / S - 0.5, color="gray", lw=0.5)
        ax.axvline(k * S_IMG / S - 0.5, color="gray", lw=0.5)
    bx.draw_boxes(ax, boxes * S_IMG, color="red", linewidth=1.2,
                  labels=[f"{CLASSES[c]} {s:.2f}" for c, s in zip(classes, scores)])
    ax.set_title(title); ax.axis("off")


show_detections(boxes, scores, classes, "before non-max suppression")

# %% [markdown]
# ## 4. Non-max suppression
# Many boxes, one object. **Non-max suppression** keeps the best and drops its near copies:
# 1. sort the boxes by score;
# 2. keep the highest-scoring box;
# 3. remove every remaining box whose IoU with it is above a threshold (0.5 is usual);
# 4. repeat with what is left.
#
# Here it is, in NumPy:

# %%
print(inspect.getsource(bx.non_max_suppression))

# %% [markdown]
# Detectors run NMS per class (a dog box should not suppress an overlapping person box). Our
# three objects have different classes anyway; we do it properly all the same.

# %%
keep = []
for k in range(C):
    of_class = np.flatnonzero(classes == k)
    keep.extend(of_class[bx.non_max_suppression(boxes[of_class], scores[of_class], iou_threshold=0.5)])
keep = np.array(keep)
print(f"kept {len(keep)} of {len(boxes)} boxes")
show_detections(boxes[keep], scores[keep], classes[keep], "after non-max suppression")

# %% [markdown]
# TensorFlow has the same algorithm built in, `tf.image.non_max_suppression` (its boxes are
# `(y_min, x_min, y_max, x_max)`, but IoU does not change when x and y swap roles, so our
# corners go in as they are). On random boxes, with several thresholds and score cut-offs,
# both must keep exactly the same boxes in the same order.

# %%
rng = np.random.default_rng(1)
checks = 0
for trial in range(20):
    xy = rng.uniform(0, 400, (300, 2))
    rand_boxes = np.concatenate([xy, xy + rng.uniform(10, 120, (300, 2))], axis=1).astype("float32")
    rand_scores = rng.uniform(0, 1, 300).astype("float32")
    iou_t, score_t = [0.3, 0.5, 0.7][trial % 3], [float("-inf"), 0.25][trial % 2]
    ours = bx.non_max_suppression(rand_boxes, rand_scores, iou_t, 100, score_threshold=score_t)
    theirs = tf.image.non_max_suppression(rand_boxes, rand_scores, 100, iou_t, score_t).numpy()
    assert np.array_equal(ours, theirs), (trial, ours[:10], theirs[:10])
    checks += 1
print(f"hand-written NMS == tf.image.non_max_suppression on {checks} random sets of 300 boxes: PASS")

# %% [markdown]
# ## 5. SSD: default boxes at several scales
# SSD ("Single Shot MultiBox Detector", Liu et al. 2016) also predicts everything in one pass,
# but from *several* feature maps of decreasing size. Every cell of every map carries a fixed
# set of **default boxes** (anchors) of different shapes, and the network predicts, for each
# default box, class scores and a small correction (offset) to that box. Large maps with small
# default boxes catch small objects; small maps with large default boxes catch large ones.
#
# For map $k$ of $m$ the box scale is $s_k = s_{min} + \frac{s_{max} - s_{min}}{m - 1}(k - 1)$
# with $s_{min} = 0.2$, $s_{max} = 0.9$; an aspect ratio $a$ gives $w = s_k\sqrt{a}$,
# $h = s_k/\sqrt{a}$, and ratio 1 gets an extra box of scale $\sqrt{s_k s_{k+1}}$.

# %%
print(inspect.getsource(bx.ssd_default_boxes))

# %% [markdown]
# SSD300 uses six maps (38, 19, 10, 5, 3, 1 cells a side), with 4 default boxes per cell on
# three of them (ratios 1, 2, 1/2 and the extra one) and 6 on the others (adding 3 and 1/3).
# Predict the total before running.

# %%
# NBVAL_CHECK_OUTPUT
four, six = (1.0, 2.0, 0.5), (1.0, 2.0, 3.0, 0.5, 1 / 3)
maps, ratios = (38, 19, 10, 5, 3, 1), [four, six, six, six, four, four]
ssd300 = bx.ssd_default_boxes(maps, ratios)
for f, r, s in zip(maps, ratios, bx.ssd_scales(len(maps))):
    print(f"map {f:2d}x{f:<2d} scale {s:.2f}: {len(r) + 1} boxes per cell -> {f * f * (len(r) + 1):5d}")
print("default boxes in SSD300:", len(ssd300))

# %% [markdown]
# A smaller set of four maps (8x8, 4x4, 2x2, 1x1 cells) on our scene is easier to look at.
# Each panel shows the default boxes of one cell near the middle of one map:

# %%
small_maps = (8, 4, 2, 1)
defaults = bx.ssd_default_boxes(small_maps, four)  # (cx, cy, w, h), fractions
per_cell = len(four) + 1
fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
start = 0
for ax, f in zip(axes, small_maps):
    cell = f * (f // 2) + f // 2 if f > 1 else 0  # row f//2, column f//2
    ax.imshow(scene)
    first = start + cell * per_cell
    bx.draw_boxes(ax, bx.centers_to_corners(defaults[first:first + per_cell]) * S_IMG,
                  color="orange", linewidth=1.5)
    ax.set_title(f"{f}x{f} map: {per_cell} boxes per cell"); ax.axis("off")
    start += f * f * per_cell

# %% [markdown]
# **Matching.** To train SSD, each default box is told which object (if any) it must predict:
# first every object takes the default box it overlaps most, so none is left out; then every
# default box whose IoU with some object is above 0.5 takes that object. Everything else is
# background.

# %%
print(inspect.getsource(bx.match_default_boxes))

# %%
default_corners = bx.centers_to_corners(defaults)
matches = bx.match_default_boxes(default_corners, gt, iou_threshold=0.5)
best_iou = bx.box_iou(default_corners, gt)  # (default boxes, objects)
for k, name in enumerate(CLASSES):
    print(f"{name:8s}: {np.sum(matches == k)} default boxes, best IoU {best_iou[:, k].max():.2f}")
print(f"background: {np.sum(matches == -1)} of {len(defaults)} default boxes")

fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(scene)
bx.draw_boxes(ax, default_corners[matches >= 0] * S_IMG, color="orange", linewidth=1.2)
bx.draw_boxes(ax, gt_px, color="lime")
ax.set_title("matched default boxes (orange)"); ax.axis("off");

# %% [markdown]
# Most default boxes are background, which is why SSD keeps only the hardest negatives (at
# most 3 per positive) in its loss. For each matched default box the network learns the
# **offsets** that turn it into the true box: the centre shift in units of the default box's
# size and the log of the size ratio. These are the numbers a box-regression loss sees.

# %%
pos = np.flatnonzero(matches >= 0)
gt_centres = bx.corners_to_centers(gt[matches[pos]])
offsets = bx.encode_offsets(gt_centres, defaults[pos])
print("offsets of the first matched default box:", np.round(offsets[0], 3))
assert np.allclose(bx.decode_offsets(offsets, defaults[pos]), gt_centres)
print("decode(encode(box)) == box for all", len(pos), "matches: PASS")

# %% [markdown]
# ## 6. Smooth L1 against L2 for box regression
# The box losses of Fast R-CNN and SSD are **smooth L1** (Girshick 2015): quadratic near zero,
# linear beyond 1,
# $$\text{smooth}_{L1}(x) = \begin{cases} 0.5\,x^2 & |x| < 1 \\ |x| - 0.5 & \text{otherwise.}\end{cases}$$
# Keras calls it `Huber` loss (with `delta=1`). We write it in NumPy and check it against Keras.

# %%
def smooth_l1(x):
    x = np.abs(x)
    return np.where(x < 1.0, 0.5 * x**2, x - 0.5)


def l2(x):
    return 0.5 * np.asarray(x) ** 2  # the 1/2 makes it equal to smooth L1 near zero


err = np.linspace(-4, 4, 81, dtype="float32")
keras_huber = keras.losses.Huber(delta=1.0, reduction=None)(err[:, None], np.zeros_like(err)[:, None])
assert np.allclose(smooth_l1(err), keras.ops.convert_to_numpy(keras_huber), atol=1e-6)
print("NumPy smooth L1 == keras.losses.Huber(delta=1): PASS")

# %% [markdown]
# What matters for training is the **gradient**. Predict first: for an error of 10 pixels, what
# is the gradient of L2, and of smooth L1? And for an error of 0.01? `tf.GradientTape` answers.

# %%
# NBVAL_CHECK_OUTPUT
x = tf.constant([0.01, 0.5, 1.0, 2.0, 10.0, 100.0])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    loss_l2 = 0.5 * x**2
    loss_l1 = tf.abs(x)
    loss_smooth = tf.where(tf.abs(x) < 1.0, 0.5 * x**2, tf.abs(x) - 0.5)
g2, g1, gs = (tape.gradient(l, x).numpy() for l in (loss_l2, loss_l1, loss_smooth))
print(" error |  dL2   |  dL1  | d smooth L1")
for e, a, b, c in zip(x.numpy(), g2, g1, gs):
    print(f"{e:6.2f} | {a:6.2f} | {b:5.2f} | {c:5.2f}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, f, grad in [("L2 (0.5 x²)", l2(err), err), ("L1 |x|", np.abs(err), np.sign(err)),
                      ("smooth L1", smooth_l1(err), np.clip(err, -1, 1))]:
    ax1.plot(err, f, label=name); ax2.plot(err, grad, label=name)
ax1.set_title("loss"); ax2.set_title("gradient"); ax1.set_ylim(0, 4.5)
for ax in (ax1, ax2):
    ax.set_xlabel("error (prediction - target)"); ax.grid(alpha=0.3); ax.legend()

# %% [markdown]
# - **Large errors**: the L2 gradient grows with the error (100 for an error of 100), so one
#   badly placed box, or one mislabelled box in the data, dominates a whole batch and can make
#   early training unstable. Smooth L1 caps the gradient at 1, like L1: it is robust to outliers.
# - **Near zero**: plain L1's gradient stays at ±1 however close the box is, so the box keeps
#   jumping around the target. Smooth L1 is quadratic there, its gradient shrinks with the
#   error and the box settles.
#
# ## 7. A box regressor trained with smooth L1
# Now a network that finds one object per image. The data is generated: a rectangle or an
# ellipse of random size, place and colour, pasted on a random crop of one of the two real
# photos that ship with scikit-learn (so the background is real clutter), with a little noise.
# Since we draw the object, we know its true box exactly.

# %%
from sklearn.datasets import load_sample_images

SIZE = 48
PHOTOS = [np.asarray(p) for p in load_sample_images().images]  # china.jpg, flower.jpg


def make_box_set(n: int, seed: int):
    """n images (n, SIZE, SIZE, 3) uint8 with one object each, and its box in pixel corners."""
    rng = np.random.default_rng(seed)
    images, boxes = np.empty((n, SIZE, SIZE, 3), np.uint8), np.empty((n, 4), np.float32)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5  # pixel centres
    for i in range(n):
        photo = PHOTOS[rng.integers(len(PHOTOS))]
        y0, x0 = rng.integers(0, photo.shape[0] - 2 * SIZE), rng.integers(0, photo.shape[1] - 2 * SIZE)
        background = photo[y0:y0 + 2 * SIZE:2, x0:x0 + 2 * SIZE:2].astype(np.float32)
        w, h = rng.uniform(0.25, 0.9, 2) * SIZE
        cx, cy = rng.uniform(w / 2, SIZE - w / 2), rng.uniform(h / 2, SIZE - h / 2)
        u, v = (xx - cx) / (w / 2), (yy - cy) / (h / 2)
        inside = np.maximum(abs(u), abs(v)) <= 1 if rng.random() < 0.5 else u**2 + v**2 <= 1
        image = np.where(inside[..., None], rng.uniform(0, 255, 3), background)
        images[i] = np.clip(image + rng.normal(0, 8, image.shape), 0, 255)
        boxes[i] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return images, boxes


# %%
n_train = env.by_mode(quick=3_000, full=20_000)
x_train, box_train = make_box_set(n_train, seed=1)
x_test, box_test = make_box_set(1_000, seed=2)  # a separate stream: never seen in training
announce(f"generated, one rectangle or ellipse on crops of 2 real photos (scikit-learn), "
         f"{SIZE}x{SIZE}, {len(x_train):,} train / {len(x_test):,} held-out test")

fig, axes = plt.subplots(1, 8, figsize=(14, 2))
for ax, img, box in zip(axes, x_train, box_train):
    ax.imshow(img); bx.draw_boxes(ax, box, linewidth=1.5); ax.axis("off")

# %% [markdown]
# **The model** is a small convnet whose head predicts $(c_x, c_y, w, h)$ through a sigmoid,
# scaled to pixels, and converts them to corners. Because its targets are in pixels, the
# smooth L1 loss is linear for errors above one pixel (early in training) and quadratic for
# sub-pixel errors (late in training). Strided convolutions keep it cheap on a CPU.

# %%
def make_box_regressor() -> keras.Model:
    inputs = keras.Input(shape=(SIZE, SIZE, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32, 64, 64):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    cxcywh = layers.Dense(4, activation="sigmoid")(x) * SIZE  # centre and size, in pixels
    half = cxcywh[:, 2:] / 2
    corners = layers.Concatenate()([cxcywh[:, :2] - half, cxcywh[:, :2] + half])
    return keras.Model(inputs, corners, name="box_regressor")


# %%
# NBVAL_CHECK_OUTPUT
regressor = make_box_regressor()
print("output shape:", regressor.output.shape)
print(f"parameters: {regressor.count_params():,}")

# %% [markdown]
# We also watch the mean IoU during training, written with `keras.ops` so Keras can compute it
# on each batch. It is the same formula as `box_iou`, for matching pairs of boxes.

# %%
def mean_iou(y_true, y_pred):
    top_left = ops.maximum(y_true[:, :2], y_pred[:, :2])
    bottom_right = ops.minimum(y_true[:, 2:], y_pred[:, 2:])
    inter = ops.prod(ops.relu(bottom_right - top_left), axis=1)
    area_true = ops.prod(y_true[:, 2:] - y_true[:, :2], axis=1)
    area_pred = ops.prod(y_pred[:, 2:] - y_pred[:, :2], axis=1)
    return ops.mean(inter / (area_true + area_pred - inter + 1e-7))


regressor.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.Huber(delta=1.0),
                  metrics=[mean_iou])

# %%
epochs = env.by_mode(quick=15, full=40)
history = regressor.fit(x_train, box_train, epochs=epochs, batch_size=64,
                        validation_split=0.1, verbose=2)

# %%
plot_history(history, metrics=("loss", "mean_iou"), title="box regressor, smooth L1 loss");

# %% [markdown]
# **Evaluate** on the 1,000 held-out images, with the NumPy `box_iou` (one IoU per image):

# %%
pred_test = regressor.predict(x_test, batch_size=256, verbose=0)
ious = np.array([bx.box_iou(t, p)[0, 0] for t, p in zip(box_test, pred_test)])
print(f"mean IoU on {len(x_test):,} held-out images: {ious.mean():.3f}")
print(f"boxes with IoU >= 0.5 (the PASCAL VOC 'correct' rule): {np.mean(ious >= 0.5):.1%}")
print(f"boxes with IoU >= 0.75: {np.mean(ious >= 0.75):.1%}   mode: {ENV.mode}")

# %%
fig, axes = plt.subplots(2, 8, figsize=(14, 4))
for ax, img, t, p, iou in zip(axes.flat, x_test, box_test, pred_test, ious):
    ax.imshow(img)
    bx.draw_boxes(ax, t, color="lime", linewidth=1.5)
    bx.draw_boxes(ax, np.clip(p, 0, SIZE), color="red", linewidth=1.5, linestyle="--")
    ax.set_title(f"IoU {iou:.2f}", fontsize=9); ax.axis("off")
fig.suptitle("held-out images: true box (green), predicted (red, dashed)");

# %% [markdown]
# This is one object per image, so there is nothing to suppress and no class to predict: a
# real detector adds both, and predicts offsets from many default boxes instead of one box.
# The numbers above are what this run measured on the generated set (the same kind of data in
# both modes; full mode trains on 20,000 images for 40 epochs). A PASCAL VOC detector counts a
# box as correct at IoU >= 0.5; YOLO v1 reached 63.4% mAP on VOC 2007 test, SSD300 74.3%
# (their papers), on real photos with many objects and classes.

# %%
assert ious.mean() >= env.by_mode(quick=0.6, full=0.8), ious.mean()

# %% [markdown]
# ## Recap
# - A box is corners `(x_min, y_min, x_max, y_max)` or centre and size `(cx, cy, w, h)`; IoU =
#   intersection / union scores overlap from 0 (apart, or touching at an edge) to 1.
# - YOLO outputs an $S \times S \times (5B + C)$ tensor: per cell, B boxes (x, y, w, h,
#   confidence) and C class probabilities; class score = confidence x class probability.
# - Non-max suppression keeps the best box and drops those overlapping it by more than a
#   threshold, class by class; ours matches `tf.image.non_max_suppression` exactly.
# - SSD places default boxes of several scales and shapes on several feature maps (8,732 in
#   SSD300), matches them to objects by IoU and regresses offsets from them.
# - Smooth L1 has L2's small gradients near zero and L1's bounded gradients for large errors,
#   which is why detectors use it for boxes.
#
# **Next**: with boxes, IoU, NMS and anchors in hand you can read the code of a real one-stage
# detector: KerasHub's `RetinaNetObjectDetector` (preset `retinanet_resnet50_fpn_coco`, trained
# on COCO) uses the same anchors, matching, smooth L1 box loss and NMS.
