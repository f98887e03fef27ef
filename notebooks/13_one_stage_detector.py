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
# # 13 · A one-stage detector: YOLO's grid, trained
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/13_one_stage_detector.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/13_one_stage_detector.ipynb)
#
# **What you will learn**
# - how YOLO turns detection into one regression: an $S \times S$ grid whose cells each
#   predict a box, a confidence and class probabilities
# - how the true boxes of an image become that grid as a training target, written by hand
# - YOLO's loss: why it regresses $\sqrt{w}$ and $\sqrt{h}$, and why the confidence is
#   trained towards the IoU of the box the cell predicts
# - how to train a small grid detector, decode its output into scored boxes, clean them with
#   chapter 12's non-max suppression and score them with its average precision
# - SSD's default boxes: several shapes per cell, matched to objects by IoU
#
# **Run time**: quick mode 30-150 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode (about 2,950 Oxford-IIIT Pet photos at
# 224x224, a frozen ResNet50, 20 epochs) about 5-10 minutes on a Colab T4 GPU, a few hours
# on a 2-core CPU, plus the one-time download of the photos (810 MB, shared with
# chapter 10).

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
env.banner(quick_data="2,000 generated 64x64 scenes, 2-5 shapes each",
           full_data="Oxford-IIIT Pet: about 2,950 photos, pet head boxes",
           reference="YOLO v1: 63.4% mAP on PASCAL VOC 2007 test "
                     "(Redmon et al. 2016)")

# %%
import matplotlib.pyplot as plt
import numpy as np
import keras
from keras import layers, ops
from course_utils import boxes as bx
from course_utils import pretrained
from course_utils.datasets import oxford_pets, synthetic
from course_utils.detection_plots import (draw_grid, highlight_cell,
                                          show_detection_grid)
from course_utils.plots import plot_history
from course_utils.training import fit_resumable

# %% [markdown]
# ## 1. Detection as one regression
# Chapter 12 scored boxes; now a network must produce them. YOLO ("You Only Look Once",
# Redmon et al. 2016) reads the image once and answers on a grid. It cuts the image into
# $S \times S$ cells; the cell that holds an object's centre is **responsible** for it.
# Each cell predicts
# - $B$ boxes of five numbers $(x, y, w, h, c)$: the centre's offset inside the cell
#   (0..1), width and height as fractions of the image, and a **confidence** $c$;
# - $C$ class probabilities $p(\text{class} \mid \text{object})$, one set per cell.
#
# A box's score for a class is $c \times p$. The output is a tensor of
# $S \times S \times (5B + C)$ numbers; YOLO v1 on PASCAL VOC used $S = 7$, $B = 2$ and
# $C = 20$:

# %% tags=["nbval-check-output"]
S, B, C = 7, 2, 20
print(f"YOLO v1: {S} x {S} x (5*{B} + {C}) = {S * S * (5 * B + C):,} numbers")

# %% [markdown]
# Our detector keeps one box per cell ($B = 1$). Quick mode trains it on generated scenes;
# full mode on the head boxes of Oxford-IIIT Pet (Parkhi et al. 2012), cat or dog. Only the
# photos of the official trainval list have head boxes, so full mode holds out a fixed fifth
# of them as its test set.

# %%
(x_train, train_objects), (x_test, test_objects) = oxford_pets.load_pet_heads()
CLASSES = env.by_mode(quick=synthetic.SCENE_CLASSES,
                      full=oxford_pets.PET_HEAD_CLASSES)
S, C, SIZE = env.by_mode(quick=8, full=7), len(CLASSES), x_train.shape[1]
fig, axes = plt.subplots(1, 6, figsize=(14, 2.6))
for i, ax in enumerate(axes):
    boxes, labels = train_objects.of(i)
    ax.imshow(x_train[i])
    bx.draw_boxes(ax, boxes * SIZE, labels=[CLASSES[k] for k in labels])
    ax.axis("off")

# %% [markdown]
# ## 2. The target grid
# Training needs the true boxes in the shape of the output. For each object: find its
# centre, the cell that holds it (column from $x$, row from $y$) and the centre's offset
# inside that cell, in cells; width and height stay fractions of the image. The cell gets
# $(x, y, w, h)$, a 1 in the confidence slot and a 1 at the object's class. Every other
# number is 0. A centre on the right or bottom edge of the image stays in the last cell.

# %%
def encode_grid(boxes, labels, S, C):
    """Target (S, S, 5 + C) of one image; corner boxes as fractions of it."""
    target = np.zeros((S, S, 5 + C), np.float32)
    for (x0, y0, x1, y1), label in zip(boxes, labels):
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        col, row = min(int(cx * S), S - 1), min(int(cy * S), S - 1)
        target[row, col, :5] = (cx * S - col, cy * S - row, w, h, 1.0)
        target[row, col, 5 + label] = 1.0
    return target


# %% [markdown]
# The 1 in the confidence slot is a flag, "an object's centre is here"; section 4 explains
# why it is not the number the confidence learns. YOLO v1 has one set of class
# probabilities per cell, so two centres in one cell cannot both be encoded (a second one
# overwrites the first); the generated scenes never put two centres in a cell.
# `bx.yolo_encode` is the course's version (it refuses that case); both must agree on every
# training image:

# %%
y_train = np.stack([encode_grid(*train_objects.of(i), S, C)
                    for i in range(len(x_train))])
helper = np.stack([bx.yolo_encode(*train_objects.of(i), S, 1, C)
                   for i in range(len(x_train))])
assert np.array_equal(y_train, helper)
print(f"PASS: encode_grid == bx.yolo_encode on {len(x_train):,} images;"
      f" target shape {y_train.shape[1:]}")

# %% [markdown]
# On the first training image: the grid, each centre (star) and the cell responsible for it.

# %%
fig, ax = plt.subplots(figsize=(4.5, 4.5))
boxes, labels = train_objects.of(0)
ax.imshow(x_train[0])
draw_grid(ax, SIZE, S)
bx.draw_boxes(ax, boxes * SIZE, labels=[CLASSES[k] for k in labels])
for row, col in zip(*np.nonzero(y_train[0, ..., 4])):
    highlight_cell(ax, row, col, image_size=SIZE, grid_size=S, color="white")
    x, y = (np.array([col, row]) + y_train[0, row, col, :2]) * SIZE / S - 0.5
    ax.plot(x, y, "*", color="yellow", markeredgecolor="black", markersize=14)
ax.set_title(f"{S}x{S} grid: responsible cells"); ax.axis("off");

# %% [markdown]
# ## 3. The network
# A convolutional network keeps the image's layout, so its last feature map is already a
# grid: each position sees one region of the image. A 1x1 convolution on it gives every cell
# its $5 + C$ numbers. The **backbone** depends on the mode:
# - quick mode: a small convnet trained from scratch; three stride-2 layers take 64 pixels
#   to 8 cells;
# - full mode: ResNet50's convolutional base with its ImageNet weights (chapter 10's
#   backbone), frozen; five halvings take 224 pixels to 7 cells. Only the head trains. A
#   frozen base keeps training short (no gradient flows through it), and its ImageNet
#   features already tell cats from dogs.

# %%
def backbone() -> keras.Model:
    inputs = keras.Input((SIZE, SIZE, 3))
    if not ENV.quick:
        base = pretrained.load_resnet50_conv_base(input_shape=(SIZE, SIZE, 3))
        base.trainable = False
        x = keras.applications.resnet50.preprocess_input(inputs)
        return keras.Model(inputs, base(x), name="resnet50_frozen")
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32, 64):
        x = layers.Conv2D(filters, 3, strides=2, padding="same",
                          use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
    return keras.Model(inputs, x, name="small_convnet")


# %%
features = backbone()
x = layers.Conv2D(env.by_mode(quick=64, full=256), 3, padding="same",
                  activation="relu")(features.output)
raw = layers.Conv2D(5 + C, 1, dtype="float32")(x)  # 5 + C per cell
detector = keras.Model(features.input, raw, name="grid_detector")
assert detector.output.shape[1:] == (S, S, 5 + C)
print("detector output:", detector.output.shape)

# %% [markdown]
# The raw numbers can be anything; `activate` squashes them into what the target holds.
# A sigmoid keeps the centre inside its cell and the sizes between 0 and 1; a softmax turns
# the class numbers into probabilities. The network predicts $\sqrt{w}$ and $\sqrt{h}$,
# squared when a box is drawn: section 4 says why.

# %%
def activate(raw):
    """Raw output (..., 5 + C) -> xy, sqrt_wh (..., 2), confidence, probs."""
    xy = ops.sigmoid(raw[..., 0:2])  # centre offset inside the cell
    sqrt_wh = ops.sigmoid(raw[..., 2:4])  # square roots of width, height
    confidence = ops.sigmoid(raw[..., 4])
    probs = ops.softmax(raw[..., 5:])
    return xy, sqrt_wh, confidence, probs


# %% [markdown]
# ## 4. YOLO's loss
# YOLO v1 sums squared errors over the cells. With $\mathbb{1}_{obj}$ = 1 in the cells that
# hold a centre (the flag of the target) and 0 elsewhere:
#
# $$\lambda_{coord} \sum \mathbb{1}_{obj}\big[(x - \hat x)^2 + (y - \hat y)^2 +
# (\sqrt{w} - \sqrt{\hat w})^2 + (\sqrt{h} - \sqrt{\hat h})^2\big] +
# \sum \mathbb{1}_{obj}(\text{IoU} - \hat c)^2 +
# \lambda_{noobj} \sum (1 - \mathbb{1}_{obj})\,\hat c^2 +
# \sum \mathbb{1}_{obj} \sum_k (p_k - \hat p_k)^2$$
#
# with $\lambda_{coord} = 5$ (boxes matter) and $\lambda_{noobj} = 0.5$ (most cells are
# empty, and would otherwise drown the few that are not).
#
# **Why $\sqrt{w}$.** A box 0.05 too wide is a small mistake on a large object and a large
# one on a small object. Squared error on $w$ counts both the same; on $\sqrt{w}$ the small
# box's error counts more, closer to what IoU says:

# %% tags=["nbval-check-output"]
print("true w  predicted   IoU  (w - w')^2  (sqrt w - sqrt w')^2")
for w in (0.8, 0.1):
    v = w + 0.05  # the predicted width
    print(f"{w:6.2f}  {v:9.2f}  {w / v:4.2f}  {(w - v) ** 2:10.4f}"
          f"  {(w ** 0.5 - v ** 0.5) ** 2:20.4f}")

# %% [markdown]
# **The confidence target is the IoU**, between the box the cell predicts *now* and its true
# box, so that $\hat c$ says how good the box is, not only that there is one; chapter 12's
# average precision rewards exactly that ranking. That IoU changes as the network learns,
# so it cannot sit in the target tensor: the encoder writes the flag, and the loss computes
# the IoU at every step and holds it fixed (`stop_gradient`: the confidence follows the box,
# it does not pull it).
#
# Two changes from v1: it predicted the numbers directly; our sigmoids bound them, and a
# sigmoid trained with squared error barely moves once it sits near 0 (its gradient has a
# factor $\hat c(1 - \hat c)$), which is where the empty cells push the confidence. So the
# confidence and the classes get cross-entropy, as later YOLOs use; the boxes keep squared
# error.

# %%
def cell_iou(y_true, xy, sqrt_wh):
    """IoU of each cell's predicted box with the true box it holds."""
    true_wh, pred_wh = y_true[..., 2:4] * S, sqrt_wh ** 2 * S  # in cells
    low = ops.maximum(y_true[..., :2] - true_wh / 2, xy - pred_wh / 2)
    high = ops.minimum(y_true[..., :2] + true_wh / 2, xy + pred_wh / 2)
    inter = ops.prod(ops.relu(high - low), axis=-1)
    union = ops.prod(true_wh, -1) + ops.prod(pred_wh, -1) - inter
    return inter / (union + 1e-9)


# %%
def yolo_loss(y_true, raw):
    xy, sqrt_wh, _, _ = activate(raw)
    obj = y_true[..., 4]  # the flag: 1 where a centre is
    box = (ops.sum((y_true[..., :2] - xy) ** 2, axis=-1)
           + ops.sum((ops.sqrt(y_true[..., 2:4]) - sqrt_wh) ** 2, axis=-1))
    iou = ops.stop_gradient(cell_iou(y_true, xy, sqrt_wh))
    confidence = ops.binary_crossentropy(obj * iou, raw[..., 4],
                                         from_logits=True)
    classes = ops.categorical_crossentropy(y_true[..., 5:], raw[..., 5:],
                                           from_logits=True)
    per_cell = (5.0 * obj * box + (obj + 0.5 * (1 - obj)) * confidence
                + obj * classes)
    return ops.sum(per_cell, axis=(1, 2))  # one number per image


# %% [markdown]
# ## 5. Training

# %%
detector.compile(optimizer=keras.optimizers.Adam(env.by_mode(5e-3, 1e-3)),
                 loss=yolo_loss)
epochs = env.by_mode(quick=12, full=20)
run = fit_resumable(detector, x_train, y=y_train, epochs=epochs,
                    batch_size=32, validation_split=0.1,
                    run_name=f"grid_detector_{ENV.mode}")
plot_history(run.history, metrics=("loss",), title="YOLO loss per image");

# %% [markdown]
# In quick mode the validation loss can jump from one epoch to the next while the training
# loss falls smoothly. The backbone's BatchNormalization layers cause it: in training they
# normalise with each batch's own statistics, in evaluation with running averages gathered
# while the weights were still moving, so the network evaluated is not quite the one
# trained (evaluated with batch statistics, the same validation loss barely wobbles).

# %% [markdown]
# ## 6. From the grid to scored boxes
# To detect, `activate` the network's output and read every cell as a box: centre = (cell +
# offset) / $S$, size = the square of what the network predicts, score = confidence x best
# class probability (`bx.yolo_decode`). Boxes below a small score threshold are dropped;
# the rest go through chapter 12's non-max suppression, class by class.

# %%
def detect(raw, nms=True, score_threshold=0.05):
    """Scored boxes of every image's raw output, after per-class NMS."""
    xy, root_wh, conf, probs = map(ops.convert_to_numpy, activate(raw))
    grids = np.concatenate([xy, root_wh**2, conf[..., None], probs], -1)
    found = []
    for i, grid in enumerate(grids):
        boxes, scores, classes = bx.yolo_decode(grid, 1, C, score_threshold)
        for k in range(C):
            mine = np.flatnonzero(classes == k)
            if nms:
                mine = mine[bx.non_max_suppression(boxes[mine], scores[mine])]
            found += [(*boxes[j], scores[j], k, i) for j in mine]
    rows = np.array(found).reshape(-1, 7)
    return bx.Detections(rows[:, :4], rows[:, 4], *rows[:, 5:].T.astype(int))


# %% [markdown]
# ## 7. Average precision on the test images
# Each class's AP (chapter 12) over all test images, and their mean, the mAP.
#
# **Predict:** without non-max suppression, every cell near an object adds its own box.
# Does AP go up or down?

# %%
raw_test = detector.predict(x_test, batch_size=32, verbose=0)
results = {"with NMS": detect(raw_test),
           "without NMS": detect(raw_test, nms=False)}
m_ap = {}
for name, boxes in results.items():
    aps = bx.average_precision_per_class(boxes, test_objects, C)
    m_ap[name] = aps.mean()
    per_class = ", ".join(f"{c} {ap:.3f}" for c, ap in zip(CLASSES, aps))
    print(f"{name}: {len(boxes.scores):,} boxes, mAP {m_ap[name]:.3f}"
          f" ({per_class})")
found = results["with NMS"]

# %% [markdown]
# **Answer:** down, by the difference printed above. Only the first box to claim an object
# counts as a true positive; its near copies become false positives. What they cost depends
# on where they rank: the loss teaches the cells next to an object a low confidence, so most
# copies come after most true positives. YOLO v1's authors found that NMS adds 2-3% mAP to
# YOLO, where it is critical for detectors such as R-CNN (Redmon et al. 2016).
#
# In quick mode these are generated scenes, far easier than photos; YOLO v1 reached 63.4%
# mAP on the 20 classes of PASCAL VOC 2007 test.

# %%
if ENV.quick:
    env.check("mAP at IoU 0.5 on the test scenes", m_ap["with NMS"],
              at_least=0.75)
env.check("mAP gained by NMS", m_ap["with NMS"] - m_ap["without NMS"],
          at_least=env.by_mode(quick=0.002, full=0.0))

# %% [markdown]
# The first test images, with their true boxes in green and the detections that score 0.3 or
# more (AP counted all of them, down to 0.05):

# %%
shown = (found.image < 8) & (found.scores >= 0.3)
show_detection_grid(x_test[:8], bx.Detections(*(a[shown] for a in found)),
                    test_objects, CLASSES, title="scores of 0.3 or more");

# %% [markdown]
# ## 8. Beyond one box per cell: SSD's default boxes
# YOLO v1's cells each predict a box from scratch, one object per cell. SSD ("Single Shot
# MultiBox Detector", Liu et al. 2016) instead places fixed **default boxes** (anchors) of
# several scales and aspect ratios on every cell of several feature maps, and predicts for
# each a class (or background) and a small **offset** that corrects it. Large maps with small
# boxes catch small objects; small maps with large boxes, large ones. Map $k$ of $m$ has
# scale $s_k = 0.2 + 0.7 (k - 1)/(m - 1)$; aspect ratio $a$ gives
# $w = s_k\sqrt{a}$, $h = s_k/\sqrt{a}$, and ratio 1 gets one more box of scale
# $\sqrt{s_k s_{k+1}}$.
#
# **Predict:** SSD300 uses six maps (38, 19, 10, 5, 3 and 1 cells a side), with 4 default
# boxes per cell on three of them and 6 on the others. How many default boxes in all?

# %% tags=["nbval-check-output"]
four, six = (1.0, 2.0, 0.5), (1.0, 2.0, 3.0, 0.5, 1 / 3)
maps, ratios = (38, 19, 10, 5, 3, 1), [four, six, six, six, four, four]
ssd300 = bx.ssd_default_boxes(maps, ratios)  # (cx, cy, w, h), fractions
for f, r in zip(maps, ratios):
    per_cell = len(r) + 1
    print(f"{f:2d}x{f:<2d} map, {per_cell} per cell: {f * f * per_cell:5,d}")
print(f"default boxes in SSD300: {len(ssd300):,}")

# %% [markdown]
# **Answer:** 8,732, two thirds of them on the 38x38 map. To train SSD, each default box is
# **matched**: first every object takes the default box it overlaps most (so none is left
# without one), then every default box left whose IoU with some object reaches 0.5 takes
# the object it overlaps most. All others are background.

# %%
def match(default_corners, gt_corners, iou_threshold=0.5):
    """Object index each default box must predict, or -1 (background)."""
    overlaps = bx.box_iou(default_corners, gt_corners)
    matches = np.full(len(default_corners), -1)
    matches[overlaps.argmax(axis=0)] = np.arange(len(gt_corners))  # step 1
    best = overlaps.argmax(axis=1)
    step2 = (matches == -1) & (overlaps.max(axis=1) >= iou_threshold)
    matches[step2] = best[step2]  # step 2
    return matches


# %% [markdown]
# On the first test image, with the SSD300 default boxes, checked against
# `bx.match_default_boxes`:

# %%
corners = bx.centers_to_corners(ssd300)
boxes, labels = test_objects.of(0)
matches = match(corners, boxes)
assert np.array_equal(matches, bx.match_default_boxes(corners, boxes))
print(f"{np.sum(matches >= 0)} of {len(matches):,} default boxes matched"
      f" to {len(boxes)} objects")
fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(x_test[0])
bx.draw_boxes(ax, corners[matches >= 0] * SIZE, color="orange", linewidth=1)
bx.draw_boxes(ax, boxes * SIZE, color="lime")
ax.set_title("matched default boxes (orange)"); ax.axis("off");

# %% [markdown]
# Each matched default box learns the offsets that turn it into its object's box (exercise
# 13.1), with chapter 12's smooth L1 loss; the background boxes, far more numerous, learn
# "background", and SSD keeps only the hardest of them in its loss (exercise 13.3), where
# YOLO weighs all empty cells down with $\lambda_{noobj}$.

# %% [markdown]
# ## Exercises
# Each exercise asks for one function (the first asks for two). Replace
# `raise NotImplementedError()` with your code, run the cell, then run the check below it. A
# check tests your function on fresh random inputs against the course's own answer and
# prints **PASS**, **FAIL** with the numbers that show what is wrong, or **NOT DONE** while
# the stub is still there. Nothing later in the chapter uses your functions. ★ warms up, ★★
# needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch13

# %% [markdown]
# ### Exercise 13.1 ★ Box offsets by hand
# Section 8's matched default boxes learn offsets; write the two conversions. For a true box
# $(g_x, g_y, g_w, g_h)$ and its default box $(d_x, d_y, d_w, d_h)$, both centre and size,
# the offsets are $\big((g_x - d_x)/d_w,\ (g_y - d_y)/d_h,\ \log(g_w/d_w),\
# \log(g_h/d_h)\big)$. `encode_offsets` takes two (N, 4) arrays and returns the (N, 4)
# offsets; `decode_offsets` goes back from offsets and default boxes to boxes in centre and
# size. Hint: solve each formula for $g$; `np.exp` undoes `np.log`.

# %%
def encode_offsets(gt: np.ndarray, defaults: np.ndarray) -> np.ndarray:
    """Offsets (N, 4) turning each default box (cx, cy, w, h) into its box."""
    ### BEGIN SOLUTION
    shift = (gt[:, :2] - defaults[:, :2]) / defaults[:, 2:]
    return np.concatenate([shift, np.log(gt[:, 2:] / defaults[:, 2:])], 1)
    ### END SOLUTION


def decode_offsets(offsets: np.ndarray, defaults: np.ndarray) -> np.ndarray:
    """Boxes (cx, cy, w, h), shape (N, 4), from offsets and default boxes."""
    ### BEGIN SOLUTION
    centre = defaults[:, :2] + offsets[:, :2] * defaults[:, 2:]
    size = defaults[:, 2:] * np.exp(offsets[:, 2:])
    return np.concatenate([centre, size], axis=1)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch13.check_offsets(encode_offsets, decode_offsets)

# %% [markdown]
# ### Exercise 13.2 ★★ Decode a grid detector's raw output
# Section 6 decoded with `activate` and `bx.yolo_decode`, which keeps each cell's best class.
# Write the whole decoding from the raw numbers, keeping **every** class whose score
# reaches the threshold (YOLO v1 scores each class this way). `decode_grid(raw,
# score_threshold)` takes one image's raw output (S, S, 5 + C), as the detector of this
# chapter gives it, and returns `(boxes, scores, classes)`: corners (N, 4) as fractions of
# the image, class scores (N,) and class ids (N,), for every (cell, class) with
# confidence x class probability >= `score_threshold`, ordered by row, then column, then
# class; shapes (0, 4), (0,), (0,) when nothing is kept. Apply the sigmoids and the
# softmax of `activate` in NumPy. Hint: `np.nonzero` on an (S, S, C) array of scores gives
# rows, columns and classes in that order.

# %%
def decode_grid(raw: np.ndarray, score_threshold: float = 0.3
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (corners), scores and classes of every (cell, class) kept."""
    ### BEGIN SOLUTION
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    e = np.exp(raw[..., 5:] - raw[..., 5:].max(axis=-1, keepdims=True))
    scores = sigmoid(raw[..., 4:5]) * e / e.sum(axis=-1, keepdims=True)
    rows, cols, classes = np.nonzero(scores >= score_threshold)
    xy = sigmoid(raw[rows, cols, 0:2])
    wh = sigmoid(raw[rows, cols, 2:4]) ** 2
    centre = (np.stack([cols, rows], axis=1) + xy) / raw.shape[0]
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1)
    return boxes, scores[rows, cols, classes], classes
    ### END SOLUTION


# %% tags=["exercise-check"]
ch13.check_decode_grid(decode_grid)

# %% [markdown]
# ### Exercise 13.3 ★★ Hard negative mining
# Most of SSD's default boxes are background (`matches == -1`); only the `neg_pos_ratio` x
# (number of positives) with the largest background loss count in its class loss, or all of
# them if there are fewer. Write `hard_negatives(matches, background_loss, neg_pos_ratio)`:
# a boolean mask, one entry per default box, True for the negatives that count. Positives
# (`matches >= 0`, object 0 included) are counted anyway, so they are False here; with no
# positive at all, no negative counts. Equal losses at the cut may go either way. Hint: a
# positive box must never win the ranking, even when its loss is high.

# %%
def hard_negatives(matches: np.ndarray, background_loss: np.ndarray,
                   neg_pos_ratio: int = 3) -> np.ndarray:
    """True for the negatives with the largest loss, ratio per positive."""
    ### BEGIN SOLUTION
    negative = matches == -1
    n_keep = min(neg_pos_ratio * np.sum(~negative), np.sum(negative))
    ranked = np.argsort(-np.where(negative, background_loss, -np.inf))
    mask = np.zeros(len(matches), dtype=bool)
    mask[ranked[:n_keep]] = True  # positives rank last
    return mask
    ### END SOLUTION


# %% tags=["exercise-check"]
ch13.check_hard_negatives(hard_negatives)

# %% [markdown]
# ## Recap
# - YOLO answers on an $S \times S$ grid: the cell that holds an object's centre predicts
#   its box (offset in the cell, size as a fraction of the image), a confidence and class
#   probabilities; a box's class score is confidence x probability.
# - The target grid holds each object's box, a flag and its class; the loss trains the
#   confidence towards the IoU of the predicted box, which it computes at every step.
# - Regressing $\sqrt{w}$, $\sqrt{h}$ makes a small box's error count more; $\lambda_{coord}$
#   and $\lambda_{noobj}$ balance boxes against the many empty cells.
# - A trained grid detector's output is decoded into scored boxes, cleaned with NMS and
#   scored with AP; without NMS the near copies turn into false positives.
# - SSD matches default boxes of several shapes and scales to objects and regresses offsets
#   from them: 8,732 of them in SSD300.
#
# **Next**: KerasHub's `RetinaNetObjectDetector` (preset `retinanet_resnet50_fpn_coco`) is a
# one-stage detector built from these parts: 9 anchors per location on five levels of a
# feature pyramid, offsets regressed with smooth L1, NMS at the end, and the **focal loss**
# (Lin et al. 2017), which scales down the loss of easy background anchors instead of
# keeping only the hardest.
