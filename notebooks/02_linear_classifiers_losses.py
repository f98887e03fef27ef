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
# # 02 · Linear classifiers and loss functions
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/02_linear_classifiers_losses.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/02_linear_classifiers_losses.ipynb)
#
# **What you will learn**
# - the linear score function $f(x) = Wx + b$, with every shape spelled out for CIFAR-10
# - the multiclass SVM (hinge) loss and the softmax cross-entropy loss, worked by hand on the
#   CS231n three-image example, and what their values should be before any training
# - L2 regularisation, and why it prefers small, spread-out weights
# - binary cross-entropy, multi-class against multi-label classification, and smooth L1
# - that each loss written in NumPy gives the same numbers as its Keras counterpart
# - how to train a linear SVM and a softmax classifier with mini-batch SGD, and what their
#   weights look like as images
#
# **Run time**: quick mode 12-90 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode (49,000 real CIFAR-10 training images)
# about a minute more, plus the one-time download.

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
env.banner(quick_data="4,000 training, 1,000 validation and 1,000 test "
                      "generated 32x32 pattern images",
           full_data="CIFAR-10: 49,000 training, 1,000 validation and "
                     "10,000 test photos",
           reference="about 38-40% validation accuracy for the linear SVM, "
                     "35-38% for softmax (CS231n assignment 1)")

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from course_utils.plots import show_images, show_predictions

# %% [markdown]
# ## 1. The score function $f(x) = Wx + b$
# kNN kept every training image. A linear classifier keeps only a weight matrix $W$ and a bias
# vector $b$. For CIFAR-10 an image $x$ is a column of 32·32·3 = 3,072 numbers; $W$ has one row
# per class, so it is 10 x 3,072, and $Wx + b$ is a column of 10 **scores**, one per class. The
# largest score wins. Each row of $W$ is a template that is compared with the image by a dot
# product.

# %% tags=["nbval-check-output"]
D, C = 32 * 32 * 3, 10
rng = np.random.default_rng(0)
x = rng.random(D)
W = rng.normal(0, 0.01, (C, D))
b = np.zeros(C)
scores = W @ x + b
print(f"x {x.shape}   W {W.shape}   b {b.shape}   ->   scores {scores.shape}")
print(f"parameters: {C} x {D} + {C} = {W.size + b.size:,}")

# %% [markdown]
# **The bias trick**: append a constant 1 to $x$ and $b$ as an extra column of $W$; then the
# score is one matrix product, $W'x'$ with $W'$ of shape 10 x 3,073. Keras' `Dense(10)` layer is
# the same function, with its kernel stored transposed (inputs first) so that a batch of row
# vectors is multiplied as $XW$.

# %% tags=["nbval-check-output"]
W_bias = np.hstack([W, b[:, None]])
x_one = np.append(x, 1.0)
assert np.allclose(W_bias @ x_one, scores)
print(f"bias trick: W' {W_bias.shape} @ x' {x_one.shape}, same scores: PASS")
dense = layers.Dense(C)
dense.build((None, D))
print(f"Dense({C}) on {D} inputs: kernel {tuple(dense.kernel.shape)}, "
      f"bias {tuple(dense.bias.shape)}, {dense.count_params():,} parameters")

# %% [markdown]
# ## 2. The multiclass SVM loss, on three images
# A loss says how unhappy we are with the scores. The multiclass SVM loss wants the correct
# class's score $s_{y_i}$ to beat every other score $s_j$ by a margin of at least 1:
#
# $$L_i = \sum_{j \ne y_i} \max(0,\; s_j - s_{y_i} + 1)$$
#
# The CS231n lecture uses three training images (a cat, a car, a frog) and three classes. First
# the loss written with loops, exactly as the formula reads:

# %%
classes = ["cat", "car", "frog"]
S = np.array([[3.2, 5.1, -1.7],    # scores of the cat image for cat, car, frog
              [1.3, 4.9, 2.0],     # the car image
              [2.2, 2.5, -3.1]])   # the frog image
y = np.array([0, 1, 2])            # each image's correct class


def svm_loss_loops(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    losses = np.zeros(len(S))
    for i in range(len(S)):
        for j in range(S.shape[1]):
            if j != y[i]:
                losses[i] += max(0.0, S[i, j] - S[i, y[i]] + 1.0)
    return losses


# %% [markdown]
# The same loss without loops: compute every margin at once, then zero the correct class's.

# %%
def svm_loss(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    margins = np.maximum(0, S - S[np.arange(len(S)), y][:, None] + 1.0)
    margins[np.arange(len(S)), y] = 0  # the correct class is not compared
    return margins.sum(axis=1)


# %% [markdown]
# **Predict:** work out the cat image's loss by hand. Its scores are cat 3.2, car 5.1, frog -1.7.

# %% tags=["nbval-check-output"]
losses = svm_loss(S, y)
assert np.allclose(losses, svm_loss_loops(S, y))
for name, L in zip(classes, losses):
    print(f"{name:5s} image: hinge loss {L:.1f}")
print(f"mean over the three images: {losses.mean():.2f}")

# %% [markdown]
# **Answer:** 2.9. The car class beats the cat class by 1.9, which with the margin of 1 costs
# $\max(0, 5.1 - 3.2 + 1) = 2.9$; the frog class is far below, $\max(0, -1.7 - 3.2 + 1) = 0$.
#
# The car image scores its own class highest by more than the margin, so its loss is 0; the frog
# image is badly wrong and pays 12.9. Two facts worth a moment: the loss is never below 0 and has
# no upper limit. And if all scores are nearly equal, as they are for small random weights, each
# of the $C - 1$ wrong classes contributes about 1, so the loss is about $C - 1$: **2** here,
# **9** for CIFAR-10. That is a check we will use on real data.
#
# ## 3. The softmax classifier and cross-entropy
# Softmax reads the scores as unnormalised log-probabilities: exponentiate, then normalise so
# they sum to 1. The loss is the negative log of the probability given to the correct class:
#
# $$P(k \mid x_i) = \frac{e^{s_k}}{\sum_j e^{s_j}}, \qquad L_i = -\log P(y_i \mid x_i)$$
#
# Subtracting the largest score before exponentiating changes nothing mathematically but keeps
# `exp` from overflowing.

# %%
def softmax(S: np.ndarray) -> np.ndarray:
    E = np.exp(S - S.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def softmax_loss(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -np.log(softmax(S)[np.arange(len(S)), y])


# %% tags=["nbval-check-output"]
cat = S[0]
print("cat image scores:        ", cat)
print("exp(scores):             ", np.round(np.exp(cat), 2))
print("probabilities:           ", np.round(softmax(cat), 2))
print(f"loss -ln P(cat):          {softmax_loss(S, y)[0]:.2f}")
print(f"initial-loss check: -ln(1/C) = ln C = {np.log(3):.2f} for C=3, "
      f"{np.log(10):.2f} for C=10")

# %% [markdown]
# The softmax loss is never exactly 0 (it always wants the correct class's probability to grow),
# whereas the SVM is satisfied once the margin is met. With nearly equal scores every class gets
# probability $1/C$, so the initial loss should be about $\ln C$: 2.30 for CIFAR-10.
#
# ## 4. L2 regularisation
# Many weight matrices give the same training loss; regularisation states which one we prefer.
# The total loss adds a penalty: $L = \frac{1}{N}\sum_i L_i + \lambda R(W)$ with
# $R(W) = \sum_k\sum_l W_{k,l}^2$. The CS231n example: an input of four ones and two weight
# vectors that give exactly the same score.

# %% tags=["nbval-check-output"]
x4 = np.array([1.0, 1.0, 1.0, 1.0])
w1 = np.array([1.0, 0.0, 0.0, 0.0])
w2 = np.array([0.25, 0.25, 0.25, 0.25])
for name, w in (("w1", w1), ("w2", w2)):
    print(f"{name} = {w}: score w.x = {w @ x4:.2f}, "
          f"L2 penalty sum(w^2) = {np.sum(w**2):.4f}")

# %% [markdown]
# Same score, but L2 prefers `w2`: it spreads the decision over all inputs instead of relying on
# one pixel, which tends to generalise better.
#
# ## 5. Binary cross-entropy
# With one yes/no output $\hat y = \sigma(s) \in (0, 1)$ and a label $y \in \{0, 1\}$:
#
# $$L = -\big[y \log \hat y + (1 - y)\log(1 - \hat y)\big]$$
#
# Only one term survives: for $y = 1$ the loss is $-\log \hat y$ (push $\hat y$ up to 1), for
# $y = 0$ it is $-\log(1 - \hat y)$ (push $\hat y$ down to 0). Over a batch, average.

# %%
def binary_crossentropy(y_true: np.ndarray, p: np.ndarray) -> np.ndarray:
    return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))


# %% tags=["nbval-check-output"]
for p in (0.9, 0.5, 0.1):
    print(f"p = {p}:  y=1 -> -log p = {binary_crossentropy(1, p):.3f}   "
          f"y=0 -> -log(1-p) = {binary_crossentropy(0, p):.3f}")

# %%
p = np.linspace(0.001, 0.999, 300)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(p, binary_crossentropy(1, p), label="y = 1: -log p")
ax.plot(p, binary_crossentropy(0, p), label="y = 0: -log(1 - p)")
ax.set(xlabel="predicted probability p", ylabel="loss", ylim=(0, 5),
       title="binary cross-entropy")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## 6. Multi-class against multi-label
# **Multi-class**: each image has exactly one label (a cat *or* a dog). Use softmax, so the
# probabilities compete and sum to 1, and categorical cross-entropy.
# **Multi-label**: an image can have several labels at once (a street photo with a person *and*
# a car). Use one sigmoid per class, each an independent yes/no, and binary cross-entropy
# averaged over the classes. Same scores, two readings:

# %% tags=["nbval-check-output"]
labels4 = ["person", "car", "dog", "tree"]
logits = np.array([[2.0, 1.0, -1.0, 0.5],    # image A
                   [1.5, 1.8, -2.0, -1.0]])  # image B
p_soft = softmax(logits)
p_sig = 1 / (1 + np.exp(-logits))
print(f"{'':10s}" + "".join(f"{c:>8s}" for c in labels4 + ["sum"]))
for name, P in (("softmax", p_soft), ("sigmoid", p_sig)):
    for image, row in zip("AB", P):
        values = [*row, row.sum()]
        print(f"{name} {image}" + "".join(f"{v:8.3f}" for v in values))

# %% [markdown]
# The targets: multi-class gives each image one class (A a person, B a car); multi-label marks
# every class present (A a person and a tree, B a person and a car). Each loss compares its
# probabilities with its targets:

# %% tags=["nbval-check-output"]
one_label = np.array([[1, 0, 0, 0], [0, 1, 0, 0]])
multi_hot = np.array([[1, 0, 0, 1], [1, 1, 0, 0]])
cce = -np.sum(one_label * np.log(p_soft), axis=1)
bce = binary_crossentropy(multi_hot, p_sig).mean(axis=1)
print("categorical CE (multi-class):", np.round(cce, 4).tolist())
print("binary CE      (multi-label):", np.round(bce, 4).tolist())

# %% [markdown]
# Keras gives the same numbers. Both losses can take raw scores (`from_logits=True`), which is
# more accurate numerically than taking a log of a softmax that has rounded to 0.

# %%
losses = keras.losses
k_cce = losses.CategoricalCrossentropy(from_logits=True, reduction=None)
k_bce = losses.BinaryCrossentropy(from_logits=True, reduction=None)
k_cce = keras.ops.convert_to_numpy(k_cce(one_label, logits))
k_bce = keras.ops.convert_to_numpy(k_bce(multi_hot, logits))
assert np.allclose(k_cce, cce, rtol=1e-5)
assert np.allclose(k_bce, bce, rtol=1e-5)
print("Keras CategoricalCrossentropy ==", np.round(k_cce, 4), "PASS")
print("Keras BinaryCrossentropy      ==", np.round(k_bce, 4), "PASS")

# %% [markdown]
# ## 7. Smooth L1 against L1 and L2
# For regression (box coordinates in detection, chapter 12) the usual losses on an error $e$ are
# L2 ($e^2$) and L1 ($|e|$). L2's gradient grows with the error, so one outlier can dominate
# training; L1's gradient has the same size everywhere and jumps at 0. **Smooth L1** (Fast
# R-CNN) uses $0.5e^2$ for $|e| < 1$ and $|e| - 0.5$ outside: quadratic near 0, linear far away.
# Keras calls it `Huber` (with `delta=1`).

# %%
def smooth_l1(e: np.ndarray) -> np.ndarray:
    a = np.abs(e)
    return np.where(a < 1, 0.5 * e**2, a - 0.5)


# %% [markdown]
# The three losses and their gradients side by side:

# %%
e = np.linspace(-3, 3, 601)
curves = {"L2: e^2": (e**2, 2 * e), "L1: |e|": (np.abs(e), np.sign(e)),
          "smooth L1": (smooth_l1(e), np.clip(e, -1, 1))}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, (loss, grad) in curves.items():
    axes[0].plot(e, loss, label=name)
    axes[1].plot(e, grad, label=name)
axes[0].set(xlabel="error e", ylabel="loss", ylim=(0, 4), title="loss")
axes[1].set(xlabel="error e", ylabel="d loss / d e", title="gradient")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend()
plt.show()

# %% [markdown]
# ## 8. Every NumPy loss against its Keras loss
# Random inputs (64 samples), one assertion per loss. Keras computes in `float32`, so we allow a
# relative difference of 1e-5. One detail: Keras' `categorical_hinge` is the *Crammer-Singer*
# hinge, $\max(0, 1 + \max_{j \ne y} s_j - s_y)$, which compares with the single strongest wrong
# class rather than summing over all of them as the SVM loss above does; and it finds that
# strongest wrong score as $\max((1 - y)\,s)$, which counts the true class as scoring 0. The two
# agree whenever scores are non-negative, such as probabilities, which is what we pass it.

# %%
def crammer_singer_hinge(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    wrong = np.where(np.eye(S.shape[1], dtype=bool)[y], -np.inf, S)
    return np.maximum(0, 1 + wrong.max(axis=1) - S[np.arange(len(S)), y])


rng = np.random.default_rng(1)
n, c = 64, 10
logits_r = rng.normal(0, 3, (n, c)).astype("float32")
y_int = rng.integers(0, c, n)
y_hot = np.eye(c, dtype="float32")[y_int]
probs = softmax(logits_r.astype(np.float64))
y_bin = rng.integers(0, 2, (n, c)).astype("float32")
pred, target = rng.normal(0, 2, (n, 4)), rng.normal(0, 2, (n, 4))

# %% [markdown]
# `check_against_keras` takes pairs (ours, Keras') and asserts that each pair agrees, printing
# the largest relative difference.

# %%
def check_against_keras(checks: dict) -> None:
    for name, (ours, theirs) in checks.items():
        theirs = np.asarray(theirs, dtype=np.float64)
        gap = np.max(np.abs(ours - theirs) / np.maximum(1e-8, np.abs(ours)))
        assert ours.shape == theirs.shape and gap < 1e-5, (name, gap)
        print(f"{name:37s} NumPy == Keras: PASS, rel. diff {gap:.1e}")


# %% [markdown]
# First the classification losses:

# %%
s64, p32 = logits_r.astype(np.float64), probs.astype("float32")
sig64 = 1 / (1 + np.exp(-s64))
check_against_keras({
    "sparse categorical CE (logits)": (softmax_loss(s64, y_int),
        losses.sparse_categorical_crossentropy(y_int, logits_r,
                                               from_logits=True)),
    "categorical CE (probabilities)": (-np.sum(y_hot * np.log(probs), axis=1),
        losses.categorical_crossentropy(y_hot, p32)),
    "binary CE (logits)": (binary_crossentropy(y_bin, sig64).mean(1),
        losses.binary_crossentropy(y_bin, logits_r, from_logits=True)),
    "Crammer-Singer hinge (probabilities)": (
        crammer_singer_hinge(probs, y_int),
        losses.categorical_hinge(y_hot, p32)),
})

# %% [markdown]
# Then the regression losses, on four coordinates per sample:

# %%
check_against_keras({
    "L2 / mean squared error": (np.mean((pred - target) ** 2, axis=1),
        keras.losses.mean_squared_error(target, pred)),
    "L1 / mean absolute error": (np.mean(np.abs(pred - target), axis=1),
        keras.losses.mean_absolute_error(target, pred)),
    "smooth L1 / Huber(delta=1)": (smooth_l1(pred - target).mean(axis=1),
        keras.losses.huber(target, pred, delta=1.0)),
})

# %% [markdown]
# ## 9. Data for training
# Now train both classifiers on CIFAR-10. Full mode holds out the last 1,000 of the 50,000
# training images for validation (as CS231n does); quick mode uses the generated stand-in and
# holds out 1,000 of its 5,000. Following CS231n, we subtract the mean training image and append
# the constant 1 for the bias trick. `float32` halves the memory and the time of every product.

# %%
from course_utils.datasets.cifar10 import CIFAR10_CLASSES, load_cifar10
from course_utils.datasets.synthetic import CIFAR10_STANDIN_PATTERNS

(x_all, y_all), (x_test, y_test) = load_cifar10()
class_names = CIFAR10_STANDIN_PATTERNS if ENV.quick else CIFAR10_CLASSES
n_val = 1000
X = x_all.reshape(len(x_all), -1).astype(np.float32)
X_train, y_train = X[:-n_val], y_all[:-n_val]
X_val, y_val = X[-n_val:], y_all[-n_val:]
mean_image = X_train.mean(axis=0)

# %% [markdown]
# `prepare` does both, to the training, validation and test images alike, with the mean of
# the training images only.

# %%
def prepare(X: np.ndarray) -> np.ndarray:
    """Centre, then append the bias trick's column of ones."""
    return np.hstack([X - mean_image, np.ones((len(X), 1), np.float32)])


X_train, X_val = prepare(X_train), prepare(X_val)
X_test = prepare(x_test.reshape(len(x_test), -1).astype(np.float32))
assert X_train.dtype == np.float32
print("train", X_train.shape, " val", X_val.shape, " test", X_test.shape)

# %% [markdown]
# ## 10. Loss and gradient for a whole batch
# Training needs the gradient of the loss with respect to $W$ (here 3,073 x 10, images as rows,
# so the scores are $XW$). For the SVM, every positive margin adds $x_i$ to its wrong class's
# column and subtracts it from the correct one; for softmax, the gradient of $L_i$ with respect
# to the scores is $P - \mathbb{1}_{y_i}$. The regularisation term adds $2\lambda W$.

# %%
def svm_loss_grad(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float):
    n = len(y)
    S = X @ W
    margins = np.maximum(0, S - S[np.arange(n), y][:, None] + 1.0)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    G = (margins > 0).astype(float)          # d loss_i / d scores
    G[np.arange(n), y] = -G.sum(axis=1)
    return loss, X.T @ G / n + 2 * reg * W


# %% [markdown]
# The softmax version is shorter: the gradient with respect to the scores is the probabilities
# with 1 subtracted at the correct class.

# %%
def softmax_loss_grad(W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float):
    n = len(y)
    P = softmax(X @ W)
    loss = -np.log(P[np.arange(n), y]).mean() + reg * np.sum(W * W)
    P[np.arange(n), y] -= 1          # d loss_i / d scores = P - one_hot(y)
    return loss, X.T @ P / n + 2 * reg * W


# %% [markdown]
# Two checks before training. The vectorised SVM gradient must equal a slow version that loops
# over images and classes, and the initial losses with tiny random weights must be near $C - 1 = 9$
# and $\ln C = 2.30$ (sections 2 and 3). Chapter 03 adds the strongest check of all: comparing an
# analytic gradient with a numerically measured one.

# %%
def svm_grad_loops(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    dW = np.zeros_like(W)
    for i in range(len(X)):
        s = X[i] @ W
        for j in range(W.shape[1]):
            if j != y[i] and s[j] - s[y[i]] + 1 > 0:
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return dW / len(X)


# %% [markdown]
# Both checks on tiny random weights:

# %%
rng = np.random.default_rng(ENV.seed)
W0 = 1e-5 * rng.standard_normal((X_train.shape[1], 10))
X_small = X_train[:100].astype(np.float64)  # the sums agree to rounding
_, dW_fast = svm_loss_grad(W0, X_small, y_train[:100], reg=0.0)
dW_loops = svm_grad_loops(W0, X_small, y_train[:100])
assert np.allclose(dW_fast, dW_loops)
print("vectorised SVM gradient == loop version: PASS (largest difference "
      f"{np.abs(dW_fast - dW_loops).max():.1e})")
X_1000, y_1000 = X_train[:1000], y_train[:1000]
env.check("initial SVM loss (about 9)",
          svm_loss_grad(W0, X_1000, y_1000, 0.0)[0], at_least=8.7, at_most=9.3)
env.check("initial softmax loss (about 2.303)",
          softmax_loss_grad(W0, X_1000, y_1000, 0.0)[0],
          at_least=2.25, at_most=2.35)

# %% [markdown]
# ## 11. Mini-batch SGD
# Each step takes a random batch of 200 images, computes the loss and gradient on it, and moves
# $W$ a small step downhill: $W \leftarrow W - \eta\,\nabla_W L$. The learning rate and
# regularisation strength are CS231n's starting values for this preprocessing (pixel values
# 0..255, centred).
#
# A practical note: each step multiplies small matrices (200 x 3,073 by 3,073 x 10). Splitting
# such small products across CPU threads costs more than it saves, badly so on a busy machine,
# so the training runs with one BLAS thread (`threadpoolctl`, installed along with scikit-learn).
# The initial weights and the batches drawn come from the run's seed.

# %%
def train_linear(loss_grad, X, y, learning_rate=1e-7, reg=2.5e4, iters=1500,
                 batch=200):
    rng = np.random.default_rng(ENV.seed)
    W = 1e-4 * rng.standard_normal((X.shape[1], 10), dtype=np.float32)
    history = []
    for _ in range(iters):
        idx = rng.choice(len(X), batch)
        loss, grad = loss_grad(W, X[idx], y[idx], reg)
        W -= learning_rate * grad
        history.append(loss)
    return W, history


def accuracy(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((X @ W).argmax(axis=1) == y))


# %%
from threadpoolctl import threadpool_limits

iters = env.by_mode(quick=500, full=1500)
models, histories = {}, {}
for name, fn in (("linear SVM", svm_loss_grad),
                 ("softmax", softmax_loss_grad)):
    with threadpool_limits(limits=1, user_api="blas"):
        W_, histories[name] = train_linear(fn, X_train, y_train, iters=iters)
    models[name] = W_
    print(f"{name:10s} after {iters} steps: "
          f"train {accuracy(W_, X_train, y_train):.3f}  "
          f"val {accuracy(W_, X_val, y_val):.3f}  "
          f"test {accuracy(W_, X_test, y_test):.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, h in histories.items():
    ax.plot(h, alpha=0.8, label=name)
ax.set(xlabel="iteration", ylabel="mini-batch loss (data + regularisation)",
       title="SGD training")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %% [markdown]
# In full mode, on the real CIFAR-10, CS231n's assignment reaches about 38-40% validation
# accuracy for the linear SVM and about 35-38% for softmax with these settings (a small search
# over learning rate and regularisation adds a point or two). Quick mode's numbers are the
# stand-in's, printed as they came out.

# %%
bars = {"linear SVM": env.by_mode(quick=0.45, full=0.35),
        "softmax": env.by_mode(quick=0.4, full=0.32)}
for name, W_ in models.items():
    env.check(f"{name} validation accuracy", accuracy(W_, X_val, y_val),
              at_least=bars[name])

# %% [markdown]
# The softmax classifier's answers on the first 16 test images: green when right, red (with the
# truth) when wrong.

# %%
test_answers = (X_test[:16] @ models["softmax"]).argmax(axis=1)
data = "the generated stand-in" if ENV.quick else "CIFAR-10"
show_predictions(x_test[:16], y_test[:16], test_answers,
                 class_names=class_names,
                 title=f"softmax classifier on {data}");

# %% [markdown]
# ## 12. The weights as images
# Each column of $W$ (without the bias row) has 3,072 numbers: reshape it to 32x32x3 and
# stretch it to 0..255 to see the template the classifier learnt for that class. On real
# CIFAR-10 the car template is red-ish and the ship and plane templates blue. On the stand-in
# each template is mostly a blurred patch of its class's usual colour: the shapes turn up at
# many positions and sizes, so their outlines average away (the diagonal stripes keep some of
# their texture).

# %%
for name, W_ in models.items():
    templates = W_[:-1].T.reshape(10, 32, 32, 3)
    lo, hi = templates.min(), templates.max()
    images = ((templates - lo) / (hi - lo) * 255).astype(np.uint8)
    show_images(images, labels=class_names, ncols=10, size=1.3,
                title=f"{name} weights");

# %% [markdown]
# One template per class is a strong limit: a linear classifier cannot represent "a horse facing
# left *or* right" except by blending both into one blurry image. Chapter 03 stacks two such
# layers with a non-linearity in between.

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave the arrays
# they are given unchanged (the checks look). Nothing later in the chapter uses your functions,
# so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch02

# %% [markdown]
# ### Exercise 2.1 ★ Cross-entropy that survives any score
# Section 3's `softmax_loss` shifts the scores, so `exp` cannot overflow, but it still takes the
# log of a probability. When the correct class scores 1000 below the best one, that probability
# is $e^{-1000}$, which rounds to 0, and the loss comes out as `inf` instead of about 1000. Take
# the log by hand first: with $m = \max_j s_j$,
# $L_i = m + \log \sum_j e^{s_j - m} - s_{y_i}$, in which nothing overflows or becomes 0. Write
# `cross_entropy(S, y)` that way: scores `S` of shape (n, C), correct classes `y` of shape (n,),
# one loss per image. The check includes scores of 1000 and -1000.

# %%
def cross_entropy(S: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Softmax cross-entropy of each row of S (n, C) for correct classes y,
    finite for any scores."""
    ### BEGIN SOLUTION
    shifted = S - S.max(axis=1, keepdims=True)
    # at least log(1) = 0: the largest term is e^0
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    return log_sum - shifted[np.arange(len(S)), y]
    ### END SOLUTION


# %% tags=["exercise-check"]
ch02.check_cross_entropy(cross_entropy)

# %% [markdown]
# ### Exercise 2.2 ★★ Binary cross-entropy from raw scores
# Section 5's `binary_crossentropy` takes probabilities $p = \sigma(s)$. For a score $s = 40$,
# $\sigma(s)$ rounds to exactly 1, so a label of 0 costs $-\log(1 - 1) = \infty$; Keras'
# `from_logits=True` avoids this by never forming $p$. Do the same: since
# $-\log \sigma(s) = \log(1 + e^{-s})$ and $-\log(1 - \sigma(s)) = \log(1 + e^{s})$, the loss is
# $\log(1 + e^{s}) - y\,s$. Write `bce_from_logits(y_true, s)`, elementwise for arrays of the same
# shape, finite and exact for scores of $\pm 1000$. Hint:
# $\log(1 + e^{t}) = \max(t, 0) + \log(1 + e^{-|t|})$, and `np.log1p(x)` computes
# $\log(1 + x)$ accurately for small $x$.

# %%
def bce_from_logits(y_true: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of labels y_true (0 or 1) for raw scores s,
    elementwise."""
    ### BEGIN SOLUTION
    return np.maximum(s, 0) - y_true * s + np.log1p(np.exp(-np.abs(s)))
    ### END SOLUTION


# %% tags=["exercise-check"]
ch02.check_bce_from_logits(bce_from_logits)

# %% [markdown]
# ### Exercise 2.3 ★★★ The Crammer-Singer hinge: loss and gradient
# Section 8's Crammer-Singer hinge compares the correct class only with the **strongest** wrong
# class: $L_i = \max(0,\; 1 + \max_{j \ne y_i} s_j - s_{y_i})$. Write
# `crammer_singer_loss_grad(W, X, y, reg)` in the style of section 10's `svm_loss_grad`: images
# as rows of `X`, scores `X @ W`, and return the mean loss plus `reg * np.sum(W * W)` and its
# gradient with respect to `W`, without loops or comprehensions (the check looks). Hint: set the
# correct class's score to `-np.inf` in a copy of the scores, and `argmax` finds each image's
# strongest wrong class $j$; an image with a positive margin then adds $x_i$ to column $j$ of
# the gradient and subtracts it from column $y_i$.

# %%
def crammer_singer_loss_grad(W: np.ndarray, X: np.ndarray, y: np.ndarray,
                             reg: float):
    """Mean Crammer-Singer hinge of X @ W + reg * sum(W**2); its gradient."""
    ### BEGIN SOLUTION
    rows = np.arange(len(y))
    S = X @ W
    wrong = S.copy()
    wrong[rows, y] = -np.inf
    j = wrong.argmax(axis=1)  # each image's strongest wrong class
    margins = np.maximum(0, 1 + S[rows, j] - S[rows, y])
    positive = (margins > 0).astype(float)
    G = np.zeros_like(S)  # d loss_i / d scores
    G[rows, j], G[rows, y] = positive, -positive
    return margins.mean() + reg * np.sum(W * W), X.T @ G / len(y) + 2 * reg * W
    ### END SOLUTION


# %% tags=["exercise-check"]
ch02.check_crammer_singer(crammer_singer_loss_grad)

# %% [markdown]
# ## Recap
# - $f(x) = Wx + b$: for CIFAR-10, $W$ is 10 x 3,072 (30,730 parameters with the bias); the
#   bias trick folds $b$ into $W$.
# - SVM hinge loss: the correct class must win by a margin (cat 2.9, car 0, frog 12.9, mean 5.27);
#   softmax cross-entropy: $-\log$ of the correct class's probability (cat 2.04).
# - Sanity checks at initialisation: about $C - 1$ for the SVM, $\ln C$ for softmax.
# - L2 regularisation prefers spread-out weights; binary cross-entropy has one term per label value;
#   softmax + categorical CE for one label, sigmoid + binary CE for several; smooth L1 is
#   quadratic near zero and linear far away.
# - Our NumPy losses equal Keras' losses; mini-batch SGD trains both linear classifiers.
#
# **Next**: chapter 03 computes gradients for any network by backpropagation, checks them
# numerically, and compares optimisers beyond plain SGD.
