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
# # 01 · Nearest neighbours and cross-validation
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/01_knn_cross_validation.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/01_knn_cross_validation.ipynb)
#
# **What you will learn**
# - the data-driven approach: instead of writing rules for "cat", collect labelled examples
#   and let an algorithm compare new images with them
# - the L1 and L2 distances between images, and three ways to compute a whole table of them
#   (two loops, one loop, no loop) that give the same numbers at very different speeds
# - the k-nearest-neighbour classifier, and how 5-fold cross-validation picks k without
#   touching the test set
# - why nobody classifies images with kNN on raw pixels: it is slow at test time, and pixel
#   distance does not measure what an image shows
#
# **Run time**: quick mode 20-120 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode (5,000 real CIFAR-10 training images, as
# in CS231n) about the same, plus a one-time 170 MB download.

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
env.banner(quick_data="5,000 training and 500 test generated 32x32 images "
                      "of ten drawn patterns",
           full_data="5,000 training and 500 test photos of CIFAR-10",
           reference="about 28% test accuracy for kNN with k near 10 "
                     "(CS231n assignment 1)")

# %%
import time
import timeit
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from course_utils.plots import show_images, show_predictions

# %% [markdown]
# ## 1. The data-driven approach
# There is no formula that turns 3,072 pixel values into the word "cat". So we do what people
# do with children: show many labelled examples. A classifier then has two steps:
# `train(images, labels)` remembers or learns from the examples, and `predict(image)` says
# which label a new image gets. The simplest possible version: **remember every training
# image, and give a new image the label of the most similar one.**
#
# "Similar" needs a distance. With images as arrays $I_1, I_2$ of pixel values:
#
# - L1 (Manhattan): $d_1(I_1, I_2) = \sum_p |I_1^p - I_2^p|$
# - L2 (Euclidean): $d_2(I_1, I_2) = \sqrt{\sum_p (I_1^p - I_2^p)^2}$
#
# The CS231n notes work one L1 distance out by hand on two 4x4 grey images; here it is.

# %% tags=["nbval-check-output"]
test_image = np.array([[56, 32, 10, 18], [90, 23, 128, 133],
                       [24, 26, 178, 200], [2, 0, 255, 220]])
train_image = np.array([[10, 20, 24, 17], [8, 10, 89, 100],
                        [12, 16, 178, 170], [4, 32, 233, 112]])
diff = np.abs(test_image - train_image)
print("pixel-wise |difference|:\n", diff)
print("L1 distance:", diff.sum())
print(f"L2 distance: {np.sqrt(np.sum((test_image - train_image) ** 2)):.2f}")

# %% [markdown]
# ## 2. Data: CIFAR-10
# CIFAR-10 has 60,000 colour images of 32x32 pixels in ten classes. Following CS231n, this
# chapter uses 5,000 training images and 500 test images, enough to see what kNN does.
#
# In **full** mode these are the first images of the real set. In **quick** mode (offline)
# the loader generates a stand-in with the same shapes: ten classes of shapes and textures
# drawn at random positions, sizes, colours and backgrounds, with noise. It is easier than real
# photos in some ways and harder in others; the loader's first line says which one you have.

# %%
from course_utils.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10
from course_utils.datasets.synthetic import CIFAR10_STANDIN_PATTERNS

(x_train, y_train), (x_test, y_test) = load_cifar10(n_train=5000, n_test=500)
class_names = CIFAR10_STANDIN_PATTERNS if ENV.quick else CIFAR10_CLASSES
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape,
      " labels:", y_train.dtype)
print("images per class in train:", np.bincount(y_train, minlength=10))

# %%
examples = np.concatenate([np.flatnonzero(y_train == c)[:2]
                           for c in range(10)])
show_images(x_train[examples], ncols=10, size=1.3,
            labels=[class_names[c] for c in y_train[examples]],
            title="two training images per class");

# %% [markdown]
# Each image becomes one row of 32·32·3 = 3,072 numbers. We keep them as `float32`; the
# distances below are sums of thousands of squares, which would overflow `uint8`.

# %%
X_train = x_train.reshape(len(x_train), -1).astype(np.float32)
X_test = x_test.reshape(len(x_test), -1).astype(np.float32)
print("X_train", X_train.shape, " X_test", X_test.shape)

# %% [markdown]
# ## 3. A table of distances, three ways
# kNN needs the distance from every test image to every training image: a matrix `D` with
# `D[i, j]` = L2 distance between test image *i* and training image *j*. Three ways to fill it:
#
# 1. **two loops** over test and training images, one vector difference at a time;
# 2. **one loop** over test images, subtracting one test image from all training images at once
#    (NumPy broadcasting);
# 3. **no loop**: expand $\|a - b\|^2 = \|a\|^2 - 2\,a\cdot b + \|b\|^2$; the middle term for all
#    pairs is a single matrix product.

# %%
def l2_two_loops(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    D = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        for j in range(len(B)):
            D[i, j] = np.sqrt(np.sum((A[i] - B[j]) ** 2))
    return D


def l2_one_loop(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    D = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        D[i] = np.sqrt(np.sum((B - A[i]) ** 2, axis=1))  # row per train image
    return D


# %% [markdown]
# The no-loop version computes the three terms of the expansion for all pairs at once: the
# squared lengths of the test rows (a column), of the training rows (a row), and the dot
# products `A @ B.T`; broadcasting adds them into the full table.

# %%
def l2_no_loop(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    sq = (A**2).sum(1)[:, None] - 2 * A @ B.T + (B**2).sum(1)[None, :]
    return np.sqrt(np.maximum(sq, 0))  # rounding can push a 0 below 0


# %% [markdown]
# **Predict:** which of the three is fastest, and by roughly how much? We time them on a small
# slice (20 test x 500 training images) in `float64`, on one CPU core each (the loops could not
# use more), and check that the three tables agree.

# %%
A, B = X_test[:20].astype(np.float64), X_train[:500].astype(np.float64)
tables, seconds = {}, {}
with threadpool_limits(limits=1, user_api="blas"):  # one core for NumPy
    for fn in (l2_two_loops, l2_one_loop, l2_no_loop):
        tables[fn.__name__] = fn(A, B)
        # best of 3 runs of fn(A, B): the least disturbed by other work
        runs = timeit.repeat(partial(fn, A, B), number=1, repeat=3)
        seconds[fn.__name__] = min(runs)
for name, t in seconds.items():
    print(f"{name:13s} {t * 1000:7.1f} ms  "
          f"({seconds['l2_two_loops'] / t:5.1f}x as fast as two loops)")
for name in ("l2_one_loop", "l2_no_loop"):
    gap = np.abs(tables[name] - tables["l2_two_loops"]).max()
    assert np.allclose(tables[name], tables["l2_two_loops"], 1e-9, 1e-6)
    print(f"{name} == l2_two_loops: PASS (largest difference {gap:.2e})")

# %% [markdown]
# **Answer:** the no-loop version, by a wide margin (the checks below ask for it). The one-loop
# version gains much less than you might expect, because every step builds a 500 x 3,072
# temporary array and spends its time moving memory. Same numbers, very different speed: the
# matrix product runs in optimised compiled code. From here on we use the no-loop version.

# %%
no_loop = seconds["l2_no_loop"]
env.check("no loop: times as fast as two loops",
          seconds["l2_two_loops"] / no_loop, at_least=5)
env.check("no loop: times as fast as one loop",
          seconds["l2_one_loop"] / no_loop, at_least=2)

# %% [markdown]
# L1 has no such matrix trick. Its one-loop form is easy to write, but on the whole training set
# each step builds a 5,000 x 3,072 temporary array; SciPy's `cdist` computes the same table in
# compiled code without it. Check that the two agree, then use `cdist`.

# %%
from scipy.spatial.distance import cdist


def l1_one_loop(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    D = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        D[i] = np.abs(B - A[i]).sum(axis=1)
    return D


gap = np.abs(l1_one_loop(A, B) - cdist(A, B, metric="cityblock")).max()
assert gap < 1e-6, gap
print(f"l1_one_loop == scipy cdist(cityblock): PASS (largest difference "
      f"{gap:.2e})")

# %% [markdown]
# ## 4. Nearest neighbour with L1 and with L2
# The nearest-neighbour classifier: each test image gets the label of the single closest
# training image. We compare the two distances on the first 200 test images.

# %%
n_eval = 200
D1 = cdist(X_test[:n_eval], X_train, metric="cityblock")
D2 = l2_no_loop(X_test[:n_eval], X_train)
for name, D in (("L1", D1), ("L2", D2)):
    pred = y_train[D.argmin(axis=1)]
    accuracy = np.mean(pred == y_test[:n_eval])
    print(f"nearest neighbour, {name}: accuracy {accuracy:.3f} "
          f"on {n_eval} test images (chance: 0.100)")

# %% [markdown]
# What does "closest" look like? Two test images, each followed by its 7 nearest training
# images by L2 distance, with their labels. Nearest neighbour gives the first one's label.

# %%
for i in (0, 1):
    nearest = np.argsort(D2[i])[:7]
    labels = [f"TEST: {class_names[y_test[i]]}"]
    labels += [class_names[y_train[j]] for j in nearest]
    show_images(np.concatenate([x_test[i:i + 1], x_train[nearest]]),
                labels=labels, ncols=8, size=1.5)

# %% [markdown]
# On real CIFAR-10 both land far above chance and far below what a person does; CS231n reports
# about 38.6% for L1 nearest neighbour on the full 50,000-image training set. The numbers above
# are this run's, on the data the loader announced.
#
# ## 5. k nearest neighbours
# One neighbour is noisy: an odd training image close to the test image decides alone. kNN takes
# the **k** closest training images and lets them vote. Ties go to the smaller label (that is
# what `argmax` does).

# %%
def knn_predict(D: np.ndarray | None, y_train: np.ndarray, k: int,
                order: np.ndarray | None = None) -> np.ndarray:
    """Majority label among the k nearest in each row of D (or its argsort)."""
    if order is None:
        order = np.argsort(D, axis=1)
    votes = y_train[order[:, :k]]                         # (n_test, k) labels
    counts = (votes[:, :, None] == np.arange(10)).sum(1)  # (n_test, 10) votes
    return counts.argmax(axis=1)


# %% tags=["nbval-check-output"]
toy_D = np.array([[0.1, 0.5, 0.2, 0.25, 0.6]])
toy_y = np.array([7, 7, 4, 4, 7])
for k in (1, 3, 5):
    neighbours = toy_y[np.argsort(toy_D[0])[:k]]
    print(f"k={k}: neighbours' labels {neighbours} -> "
          f"vote {knn_predict(toy_D, toy_y, k)[0]}")

# %% [markdown]
# The answer depends on k: the single nearest neighbour says 7, the three nearest outvote it
# (two 4s against one 7), and all five say 7 again (three 7s against two 4s).
#
# On a 2-D toy set we can colour every point of the plane by its kNN answer. Three overlapping
# clouds of 40 training points each; the background is what kNN would answer there:

# %%
rng = np.random.default_rng(0)
centres = ([0, 0], [2, 0.5], [1, 2])
points = np.concatenate([c + rng.normal(0, 0.8, (40, 2)) for c in centres])
point_labels = np.repeat([0, 1, 2], 40)
xx, yy = np.meshgrid(np.linspace(-2.5, 4.5, 150), np.linspace(-2.5, 4.5, 150))
plane = np.c_[xx.ravel(), yy.ravel()]
dots = np.array(["red", "green", "blue"])[point_labels]
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
for ax, k in zip(axes, (1, 5, 20)):
    regions = knn_predict(l2_no_loop(plane, points), point_labels, k)
    ax.contourf(xx, yy, regions.reshape(xx.shape),
                levels=[-0.5, 0.5, 1.5, 2.5],
                colors=["#f6b8b8", "#b8e6b8", "#b8c8f6"])
    ax.scatter(*points.T, c=dots, s=14, edgecolors="k", linewidths=0.4)
    ax.set_title(f"k = {k}"); ax.set_xticks([]); ax.set_yticks([])

# %% [markdown]
# With k = 1 every training point owns the region around it, strays included: islands of one
# colour inside another, a classifier that has learnt the noise. As k grows the borders get
# smoother and the islands vanish; at k = 20 a few training points sit on the wrong side of
# their own border. That is the price of a smoother answer, and why k is worth choosing well.

# %% [markdown]
# ## 6. Choosing k with 5-fold cross-validation
# k is a **hyper-parameter**: a choice we make, not something `train` learns. Choosing it on the
# test set would make the test score a lie. Instead, split the training set into 5 folds; for
# each fold, train on the other 4 and measure accuracy on it. Every training image serves once as
# validation, and the average over folds is a steadier estimate than one split gives.

# %%
num_folds = 5
k_choices = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]
X_folds = np.array_split(X_train, num_folds)
y_folds = np.array_split(y_train, num_folds)

accuracies = {k: [] for k in k_choices}
for f in range(num_folds):
    X_tr = np.concatenate(X_folds[:f] + X_folds[f + 1:])
    y_tr = np.concatenate(y_folds[:f] + y_folds[f + 1:])
    order = np.argsort(l2_no_loop(X_folds[f], X_tr), axis=1)  # once for all k
    for k in k_choices:
        right = knn_predict(None, y_tr, k, order) == y_folds[f]
        accuracies[k].append(np.mean(right))
for k, acc in accuracies.items():
    print(f"k={k:3d}: folds {np.round(acc, 3)}  mean {np.mean(acc):.3f}")

# %%
means = np.array([np.mean(accuracies[k]) for k in k_choices])
stds = np.array([np.std(accuracies[k]) for k in k_choices])
fig, ax = plt.subplots(figsize=(6, 3.5))
for k in k_choices:
    ax.scatter([k] * num_folds, accuracies[k], color="grey", s=12)
ax.errorbar(k_choices, means, yerr=stds, marker="o", capsize=3)
ax.set(xscale="log", xlabel="k (log scale)", ylabel="validation accuracy",
       title="5-fold cross-validation: accuracy against k")
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## 7. The test score, once
# Pick the k with the best mean validation accuracy, train on all 5,000 images, and look at the
# test set for the first and only time.

# %%
best_k = k_choices[int(np.argmax(means))]
start = time.perf_counter()
with threadpool_limits(limits=1, user_api="blas"):  # one core, as in section 3
    D_test = l2_no_loop(X_test, X_train)
seconds_per_test_image = (time.perf_counter() - start) / len(X_test)
test_acc = np.mean(knn_predict(D_test, y_train, best_k) == y_test)
print(f"chosen k = {best_k} (mean validation accuracy {means.max():.3f})")
print(f"kNN test accuracy at k={best_k}: {test_acc:.3f} on {len(y_test)} "
      f"test images, mode: {ENV.mode}")

# %% [markdown]
# With these 5,000 / 500 real CIFAR-10 images, CS231n's kNN assignment reaches about 28% test
# accuracy (k = 10 is typical); full mode here should print a number in that range. Quick mode's
# number is for the generated stand-in and says nothing about real photos.

# %%
env.check("kNN test accuracy", test_acc,
          at_least=env.by_mode(quick=0.25, full=0.26))

# %% [markdown]
# The first 16 test images with kNN's answers: green when right, red (with the truth) when wrong.

# %%
knn_answers = knn_predict(D_test[:16], y_train, best_k)
data = "the generated stand-in" if ENV.quick else "CIFAR-10"
show_predictions(x_test[:16], y_test[:16], knn_answers,
                 class_names=class_names,
                 title=f"kNN, k = {best_k}, on {data}");

# %% [markdown]
# ## 8. Why kNN is slow at test time
# "Training" copied 5,000 images; it cost nothing. Every prediction, though, compares the test
# image with **every** training image. That is backwards from what we want: training can be slow,
# prediction should be fast (on a phone, in a car). The test cell above timed the distance table:

# %%
per_image = seconds_per_test_image
print(f"{per_image * 1e3:.3f} ms per test image against {len(X_train):,} "
      "training images")
full_set = per_image * 10 * 10_000  # 10 x the training images, 10,000 tests
print("estimated for the full set (10,000 test x 50,000 train): "
      f"{full_set:.0f} s,\nand it grows with every image added to the "
      "training set")

# %% [markdown]
# Approximate nearest-neighbour libraries (such as FAISS) make the search faster, but they do
# nothing about the second problem, which the next section shows.
#
# ## 9. Why pixel distance is brittle
# Take one test image and change it in ways a person would hardly notice: shift it by 3 pixels,
# tint it blue, darken it, cover a small patch. How far does each copy move in L2, compared with
# the distance from the original to its nearest *other* image in the training set?

# %%
original = x_test[0].astype(np.float32)
copies = {
    "original": original,
    "shifted 3 px": np.roll(original, 3, axis=1),
    "tinted blue": np.clip(original + np.float32([0, 0, 40]), 0, 255),
    "darker": original * 0.7,
    "covered patch": original.copy(),
}
copies["covered patch"][10:20, 10:20] = 128.0

# %% [markdown]
# For each copy: its L2 distance from the original, and the label its nearest training image
# gives it.

# %%
nearest = l2_no_loop(original.reshape(1, -1), X_train).min()
moved, label = {}, {}
for name, img in copies.items():
    moved[name] = np.sqrt(np.sum((img - original) ** 2))
    label[name] = y_train[l2_no_loop(img.reshape(1, -1), X_train).argmin()]
    print(f"{name:14s} L2 from original {moved[name]:5.0f}   "
          f"1-NN label: {class_names[label[name]]}")
print(f"{'':14s} nearest training image to the original: L2 {nearest:.0f}")
far = [n for n in copies if moved[n] >= nearest / 2]
relabelled = [n for n in copies if label[n] != label["original"]]
print(f"copies at least half as far as that: {len(far)} of {len(copies) - 1}")
print(f"copies whose label changed: {len(relabelled)} "
      f"({', '.join(relabelled) or 'none'})")

# %%
images = [np.clip(c, 0, 255).astype(np.uint8) for c in copies.values()]
show_images(np.stack(images), ncols=5, size=2.0,
            labels=[f"{name}\nL2 {moved[name]:.0f}" for name in copies]);

# %% [markdown]
# The copies look like the same picture to you. In L2, though, a shift, a tint or a darker copy
# can move a good part of the way to a *different* image, and then its nearest neighbour, and
# with it the label, can change: the last printed line counts how often that happened here.
# Pixel distance measures colour and position, not content. That is why the rest of the course
# learns features instead of comparing pixels.

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave the arrays
# they are given unchanged (the checks look). Nothing later in the chapter uses your functions,
# so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch01

# %% [markdown]
# ### Exercise 1.1 ★ L1 distances without a loop
# Section 3 found no matrix trick for L1. Broadcasting still removes every Python loop: give `A`
# a new middle axis and `B` a new first axis, and `A - B` becomes a (len(A), len(B), d) array of
# all pairwise differences. Write `l1_no_loop(A, B)` without `for`, `while` or comprehensions
# (the check looks). `A` and `B` may also come as the loader gives pixels, in `uint8`, where
# 3 - 5 is 254: convert them first. It is fine for small inputs; for 5,000 training images
# that middle array would need 5,000 x 3,072 numbers per test image, which is why section 3
# used `cdist`.

# %%
def l1_no_loop(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """L1 distance from every row of A to every row of B:
    (len(A), len(B))."""
    ### BEGIN SOLUTION
    # uint8 pixels would wrap around
    A, B = A.astype(np.float64), B.astype(np.float64)
    return np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch01.check_l1_no_loop(l1_no_loop)

# %% [markdown]
# ### Exercise 1.2 ★★ Closer neighbours count more
# In `knn_predict` each of the k neighbours has one vote, however far away it is. Give each
# neighbour the weight `1 / (distance + 1e-8)` instead (the `1e-8` keeps a zero distance from
# dividing by zero), add the weights per class, and answer the class with the largest total;
# if two classes tie, the smaller label, as `np.argmax` gives it. `D` has one row of distances
# per test point, `y_train` one label (0 to `n_classes` - 1) per column; return one label per
# row.

# %%
def knn_predict_weighted(D: np.ndarray, y_train: np.ndarray, k: int,
                         n_classes: int) -> np.ndarray:
    """Label per row of D: the class with the largest sum of 1 / distance
    among the k nearest."""
    ### BEGIN SOLUTION
    nearest = np.argsort(D, axis=1)[:, :k]  # (n_test, k) indices
    weights = 1.0 / (np.take_along_axis(D, nearest, axis=1) + 1e-8)
    # (n_test, k, n_classes)
    onehot = y_train[nearest][:, :, None] == np.arange(n_classes)
    return (weights[:, :, None] * onehot).sum(axis=1).argmax(axis=1)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch01.check_knn_weighted(knn_predict_weighted)

# %% [markdown]
# ### Exercise 1.3 ★★★ Leave-one-out accuracy
# Cross-validation with as many folds as points: each training point is classified by kNN on
# all the *other* points. Write `leave_one_out_accuracy(X, y, k)`, the fraction of points whose
# label kNN gets right, with section 5's rules: L2 distances, a majority vote of the k nearest,
# ties to the smaller label. One distance table of the training set with itself does it (L2,
# as `l2_no_loop` computes it): what must happen to its diagonal first? Two training points
# may sit at the same place. The check catches the classic mistake, so run it before you read
# on.

# %%
def leave_one_out_accuracy(X: np.ndarray, y: np.ndarray, k: int) -> float:
    """Fraction of points whose k nearest *other* points vote for their
    own label."""
    ### BEGIN SOLUTION
    D = l2_no_loop(X, X)
    np.fill_diagonal(D, np.inf)  # a point may not vote for itself
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    votes = (y[order][:, :, None] == np.arange(y.max() + 1)).sum(axis=1)
    return float(np.mean(votes.argmax(axis=1) == y))
    ### END SOLUTION


# %% tags=["exercise-check"]
ch01.check_leave_one_out(leave_one_out_accuracy)

# %% [markdown]
# ## Recap
# - Data-driven: remember labelled examples, compare new images with them.
# - L1 and L2 distances; a whole distance table is one matrix product (no loop), and it agrees
#   with the loop versions to rounding.
# - kNN votes among the k closest images; k is a hyper-parameter, chosen by 5-fold
#   cross-validation on the training set, and the test set is used once at the end.
# - kNN is free to train and slow to test, and pixel distance is fooled by shifts and tints.
#
# **Next**: chapter 02 replaces the memorised images with a few thousand learned weights: a
# linear classifier and the losses that train it.
