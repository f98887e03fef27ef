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
# # 03 · Backpropagation and optimisers
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/03_backprop_optimizers.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/03_backprop_optimizers.ipynb)
#
# **What you will learn**
# - how a computational graph turns the chain rule into a mechanical backward pass, on the
#   CS231n examples $f = (x + y)z$ and a sigmoid neuron
# - how to check an analytic gradient against a numerical one, and what "relative error" to trust
# - a two-layer network written in NumPy, forward and backward, whose gradients match automatic
#   differentiation (`tf.GradientTape`, `jax.grad` or `torch.autograd`)
# - SGD, momentum, Nesterov, AdaGrad, RMSprop and Adam written from scratch, matching
#   `keras.optimizers` step for step, and their paths on an ill-conditioned loss surface
#
# **Run time**: quick mode 15-100 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode (49,000 real CIFAR-10 images for the
# two-layer net) a few minutes on a CPU.

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
           reference="about 48-52% validation accuracy for a tuned two-layer "
                     "net (CS231n assignment 1 asks for more than 48%)")

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops
from threadpoolctl import threadpool_limits

from course_utils.plots import draw_graph, plot_history

# %% [markdown]
# ## 1. A computational graph: $f(x, y, z) = (x + y)\,z$
# Break the function into small steps (nodes): $q = x + y$, then $f = q z$. The **forward pass**
# computes the values left to right. The **backward pass** goes right to left and multiplies
# local derivatives (the chain rule): $\frac{\partial f}{\partial x} =
# \frac{\partial f}{\partial q}\frac{\partial q}{\partial x}$. Each node only needs to know its
# own local derivative and the gradient arriving from above.
#
# **Predict:** at $x = -2, y = 5, z = -4$, what are $f$ and the three gradients?

# %% tags=["nbval-check-output"]
x, y, z = -2.0, 5.0, -4.0
q = x + y          # forward: add node
f = q * z          # forward: multiply node
df_dz = q          # multiply node: one input's gradient is the other input
df_dq = z
df_dx = df_dq * 1.0  # add node: passes the gradient on unchanged to both
df_dy = df_dq * 1.0
print(f"q = {q}, f = {f}")
print(f"df/dx = {df_dx}, df/dy = {df_dy}, df/dz = {df_dz}")

# %% [markdown]
# **Answer:** $q = 3$ and $f = 3 \cdot (-4) = -12$. Going backwards, $\partial f/\partial z = q = 3$
# and $\partial f/\partial q = z = -4$; the add node hands that $-4$ unchanged to both $x$ and
# $y$, so $\partial f/\partial x = \partial f/\partial y = -4$.
#
# The whole computation on one picture: each arrow carries its value (green, above it) and
# the gradient of $f$ with respect to that value (red, below); the backward pass starts at the
# output with $\partial f/\partial f = 1$.

# %%
draw_graph(nodes={"x": (0, 2.5, "x"), "y": (0, 1.1, "y"), "z": (0, -0.2, "z"),
                  "q": (1.4, 1.8, "+"), "f": (2.8, 0.8, "*")},
           edges=[("x", "q"), ("y", "q"), ("q", "f"), ("z", "f")],
           values={"x": x, "y": y, "z": z, "q": q, "f": f},
           grads={"x": df_dx, "y": df_dy, "z": df_dz, "q": df_dq, "f": 1.0},
           title="f = (x + y) z at x = -2, y = 5, z = -4");

# %% [markdown]
# **Automatic differentiation** does this for us: the library records the graph while the
# function runs, then walks it backwards. TensorFlow's recorder is `tf.GradientTape`; JAX
# instead transforms the function: `jax.grad(f)` is a new function that returns the gradient.
# PyTorch records on the tensors: `f.backward()` fills in the `.grad` of each tensor made with
# `requires_grad=True`.

# %%
from course_utils import backends

if backends.installed("tensorflow", "the tf.GradientTape version"):
    import tensorflow as tf

    xt, yt, zt = (tf.Variable(v, dtype=tf.float64) for v in (x, y, z))
    with tf.GradientTape() as tape:  # records every operation on the variables
        ft = (xt + yt) * zt
    grads_tf = [float(g) for g in tape.gradient(ft, [xt, yt, zt])]
    assert float(ft) == f and grads_tf == [df_dx, df_dy, df_dz], grads_tf
    print("tf.GradientTape: f =", float(ft), " grads =", grads_tf, " PASS")

# %%
if backends.installed("jax", "the jax.grad version"):
    import jax

    def f_of(x, y, z):
        return (x + y) * z

    # a new function: (x, y, z) -> the 3 partial derivatives
    grad_f = jax.grad(f_of, argnums=(0, 1, 2))
    grads_jax = [float(g) for g in grad_f(x, y, z)]
    assert grads_jax == [df_dx, df_dy, df_dz], grads_jax
    print("jax.grad:        f =", float(f_of(x, y, z)),
          " grads =", grads_jax, " PASS")

# %%
if backends.installed("torch", "the torch.autograd version"):
    import torch

    xp, yp, zp = (torch.tensor(v, dtype=torch.float64, requires_grad=True)
                  for v in (x, y, z))
    fp = (xp + yp) * zp
    fp.backward()  # walks back from fp: each leaf tensor gets its .grad
    grads_torch = [float(v.grad) for v in (xp, yp, zp)]
    f_torch = float(fp.detach())  # the value, off the recorded graph
    assert f_torch == f and grads_torch == [df_dx, df_dy, df_dz]
    print("torch.autograd:  f =", f_torch, " grads =", grads_torch, " PASS")

# %% [markdown]
# Three patterns show up in every backward pass: an **add** gate gives its incoming gradient to
# all inputs unchanged; a **multiply** gate gives each input the gradient times the *other*
# input (a switch); a **max** gate sends the whole gradient to the input that was largest and 0
# to the rest (a router).
#
# ## 2. A sigmoid neuron, gate by gate
# The CS231n lecture's second example is a 2-input neuron with weights $w = (2, -3, -3)$ (the
# last is the bias) and input $x = (-1, -2)$:
#
# $$f(w, x) = \frac{1}{1 + e^{-(w_0 x_0 + w_1 x_1 + w_2)}}$$
#
# First as a chain of tiny gates (multiply, add, $\times -1$, exp, $+1$, $1/x$), each with its
# own local derivative:

# %%
w = np.array([2.0, -3.0, -3.0])
xs = np.array([-1.0, -2.0])
# forward, one gate at a time
dot = w[0] * xs[0] + w[1] * xs[1] + w[2]
neg = -dot
e = np.exp(neg)
den = 1.0 + e
out = 1.0 / den
# backward, in reverse: each line is local derivative * gradient from above
d_den = -1.0 / den**2 * 1.0
d_e = 1.0 * d_den
d_neg = np.exp(neg) * d_e
d_dot = -1.0 * d_neg
dw_gates = np.array([xs[0] * d_dot, xs[1] * d_dot, 1.0 * d_dot])
dx_gates = np.array([w[0] * d_dot, w[1] * d_dot])

# %% [markdown]
# The last four gates together are the sigmoid $\sigma(t) = 1/(1 + e^{-t})$, whose derivative
# has a neat form: $\frac{d\sigma}{dt} = (1 - \sigma(t))\,\sigma(t)$. So the whole backward pass
# through those gates collapses to one line. Both routes must agree:

# %% tags=["nbval-check-output"]
sig = 1.0 / (1.0 + np.exp(-dot))
d_dot_short = (1 - sig) * sig
dw = np.array([xs[0], xs[1], 1.0]) * d_dot_short
dx = w[:2] * d_dot_short
assert np.allclose(dw, dw_gates) and np.allclose(dx, dx_gates)
print(f"dot = {dot:.2f}, f = sigmoid(dot) = {sig:.2f}, "
      f"local gradient (1 - f) f = {d_dot_short:.2f}")
print("dx =", np.round(dx, 2), "  dw =", np.round(dw, 2))
print("gate-by-gate == sigmoid shortcut: PASS")

# %% [markdown]
# ## 3. Checking a gradient numerically
# A bug in a backward pass does not crash anything: the network just learns badly. The defence
# is to compare the analytic gradient with a **numerical** one, measured by nudging each input:
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}$$
#
# (the centred difference, whose error shrinks like $h^2$). Written out, one coordinate at a
# time, each put back before the next is nudged:

# %%
def numerical_gradient(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


# %% [markdown]
# The two gradients are compared with a **relative** error, since an absolute difference of 1e-4
# is tiny for a gradient of 100 and huge for one of 1e-4. The floor of 1e-8 keeps two gradients
# that are both 0 from dividing 0 by 0.

# %%
def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.maximum(1e-8, np.abs(a) + np.abs(b))
    return float(np.max(np.abs(a - b) / scale))


# %% [markdown]
# CS231n's rule of thumb for the relative error: above 1e-2 the gradient is probably wrong;
# 1e-4 to 1e-2 is suspicious; below 1e-7 you are done (with kinks such as ReLU, 1e-4 can be fine).
# The sigmoid neuron's gradient passes. From here on we use the course's copies of both
# functions (`course_utils.gradcheck`), checked against ours.

# %%
def neuron(wx: np.ndarray) -> float:
    return float(1 / (1 + np.exp(-(wx[0] * xs[0] + wx[1] * xs[1] + wx[2]))))


num_dw = numerical_gradient(neuron, w.copy())
err = relative_error(num_dw, dw)
print(f"numeric dw:  {num_dw}\nanalytic dw: {dw}")
print(f"relative error {err:.1e}")
assert err < 1e-7
from course_utils.gradcheck import numeric_gradient, rel_error

assert np.array_equal(numeric_gradient(neuron, w.copy()), num_dw)
assert rel_error(num_dw, dw) == err
print("PASS: below 1e-7; gradcheck's numeric_gradient and rel_error agree")

# %% [markdown]
# Two ways to get this wrong. A one-sided difference $(f(x + h) - f(x))/h$ has an error of order
# $h$, not $h^2$; and in `float32` the subtraction $f(x + h) - f(x - h)$ loses most of its digits
# (`numeric_gradient` refuses `float32`). Compare on $f(x) = \sin(x)\,x^2$:

# %%
def f1(v): return np.sin(v) * v**2
def df1(v): return np.cos(v) * v**2 + 2 * v * np.sin(v)


x0, h = 1.3, 1e-5
x32, h32 = np.float32(x0), np.float32(h)
estimates = {
    "centred, float64": (f1(x0 + h) - f1(x0 - h)) / (2 * h),
    "one-sided, float64": (f1(x0 + h) - f1(x0)) / h,
    "centred, float32": (f1(x32 + h32) - f1(x32 - h32)) / (2 * h32),
}
for name, value in estimates.items():
    print(f"{name:20s} relative error {rel_error(value, df1(x0)):.1e}")

# %% [markdown]
# ## 4. A two-layer network in NumPy
# Input $X$ (N x D), a hidden layer of H ReLU units, then C class scores and a softmax loss,
# with L2 regularisation on both weight matrices:
#
# $$h = \max(0, XW_1 + b_1), \qquad s = hW_2 + b_2, \qquad
# L = \frac{1}{N}\sum_i -\log \mathrm{softmax}(s_i)_{y_i} + \lambda(\|W_1\|^2 + \|W_2\|^2)$$
#
# The backward pass is the same gate-by-gate bookkeeping as above, with matrices: each line
# takes the gradient from the line before it.

# %%
def init_two_layer(D: int, H: int, C: int, std: float = 1e-2, seed: int = 0,
                   dtype=np.float64) -> dict:
    rng = np.random.default_rng(seed)
    W1 = std * rng.standard_normal((D, H))
    W2 = std * rng.standard_normal((H, C))
    return {"W1": W1.astype(dtype), "b1": np.zeros(H, dtype),
            "W2": W2.astype(dtype), "b2": np.zeros(C, dtype)}


# %% [markdown]
# The forward pass keeps what the backward pass will need: the hidden layer's input `z1`, its
# output `h`, and the class probabilities.

# %%
def two_layer_forward(p: dict, X: np.ndarray):
    z1 = X @ p["W1"] + p["b1"]
    h = np.maximum(0, z1)
    s = h @ p["W2"] + p["b2"]
    s = s - s.max(axis=1, keepdims=True)               # stable softmax
    prob = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    return z1, h, prob


# %% [markdown]
# The loss, then the backward pass, from the scores down to the first layer:

# %%
def two_layer_loss(p: dict, X: np.ndarray, y: np.ndarray, reg: float = 0.0):
    N = len(X)
    z1, h, prob = two_layer_forward(p, X)
    penalty = reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    loss = -np.log(prob[np.arange(N), y]).mean() + penalty
    ds = prob.copy()                                   # backward
    ds[np.arange(N), y] -= 1
    ds /= N                                            # d loss / d scores
    grads = {"W2": h.T @ ds + 2 * reg * p["W2"], "b2": ds.sum(axis=0)}
    dh = ds @ p["W2"].T
    dz1 = dh * (z1 > 0)                # ReLU: a router, like the max gate
    grads["W1"] = X.T @ dz1 + 2 * reg * p["W1"]
    grads["b1"] = dz1.sum(axis=0)
    return loss, grads


# %% [markdown]
# First the numerical check, on a tiny network (4 inputs, 10 hidden units, 3 classes) and a
# batch of 5 examples, every parameter one by one:

# %%
rng = np.random.default_rng(1)
X_tiny, y_tiny = rng.standard_normal((5, 4)), np.array([0, 1, 2, 2, 1])
params = init_two_layer(4, 10, 3, std=0.5)
_, grads = two_layer_loss(params, X_tiny, y_tiny, reg=0.05)
def tiny_loss(_): return two_layer_loss(params, X_tiny, y_tiny, reg=0.05)[0]
for name in ("W1", "b1", "W2", "b2"):
    err = rel_error(numeric_gradient(tiny_loss, params[name]), grads[name])
    print(f"{name}: relative error {err:.1e}")
    assert err < 1e-7, (name, err)
print("analytic == numeric gradient, every parameter: PASS")

# %% [markdown]
# Then against automatic differentiation, on a bigger network: the forward pass once more, in
# `keras.ops` (any Keras backend runs it), and the backend builds the backward pass itself.

# %%
def two_layer_loss_ops(p: dict, X, y, reg: float):
    """two_layer_loss's forward pass in keras.ops; no backward pass."""
    hidden = ops.relu(ops.matmul(X, p["W1"]) + p["b1"])
    scores = ops.matmul(hidden, p["W2"]) + p["b2"]
    data = ops.sparse_categorical_crossentropy(y, scores, from_logits=True)
    return ops.mean(data) + reg * (ops.sum(p["W1"]**2) + ops.sum(p["W2"]**2))


D, H, C, N = 3072, 50, 10, 64
rng = np.random.default_rng(2)
X_big, y_big = rng.standard_normal((N, D)), rng.integers(0, C, N)
params = init_two_layer(D, H, C, std=0.05, seed=3)
loss_np, grads_np = two_layer_loss(params, X_big, y_big, reg=0.1)

# %% [markdown]
# The backward pass comes from this run's Keras backend: with TensorFlow, `tape.gradient`
# walks the recorded forward pass backwards; with JAX, `jax.value_and_grad` turns the loss
# function into one that also returns its gradient; PyTorch's `loss.backward()` leaves each
# gradient in `.grad`.

# %%
if backends.runs_on("tensorflow", "tf.GradientTape"):
    tf_params = {k: tf.Variable(v) for k, v in params.items()}  # float64 too
    with tf.GradientTape() as tape:
        loss_auto = two_layer_loss_ops(tf_params, X_big, y_big, reg=0.1)
    grads_auto = tape.gradient(loss_auto, tf_params)

# %%
if backends.runs_on("jax", "jax.value_and_grad"):
    loss_and_grads = jax.value_and_grad(two_layer_loss_ops)  # d loss / d p
    loss_auto, grads_auto = loss_and_grads(params, X_big, y_big, 0.1)

# %%
if backends.runs_on("torch", "torch.autograd"):
    pt_params = {k: ops.convert_to_tensor(v).requires_grad_()
                 for k, v in params.items()}  # leaf tensors, recorded
    loss_auto = two_layer_loss_ops(pt_params, X_big, y_big, reg=0.1)
    loss_auto.backward()
    loss_auto = loss_auto.detach()
    grads_auto = {k: v.grad for k, v in pt_params.items()}

# %% [markdown]
# `keras.ops` keeps `float64` only on TensorFlow; on JAX and PyTorch Keras computes in
# `float32`, about 7 digits, where an entry near 0 keeps few of them. So in `float64` every
# entry must agree to 1e-6; in `float32` whole arrays, $\lVert a - b \rVert / \lVert a \rVert$,
# to 1e-5.

# %%
dtype = keras.backend.result_type("float64")  # what keras.ops computes in
if dtype == "float64":
    tol_loss, tol, gap_of = 1e-10, 1e-6, rel_error
else:
    tol_loss, tol = 1e-6, 1e-5
    def gap_of(a, b): return np.linalg.norm(a - b) / np.linalg.norm(a)
loss_auto = float(loss_auto)
print(f"in {dtype}: loss NumPy {loss_np:.10f}, autodiff {loss_auto:.10f}")
assert rel_error(loss_np, loss_auto) < tol_loss
for name in ("W1", "b1", "W2", "b2"):
    err = gap_of(grads_np[name], ops.convert_to_numpy(grads_auto[name]))
    print(f"{name} {str(params[name].shape):11s} relative error {err:.1e}")
    assert err < tol, (name, err)
print(f"NumPy backward pass == automatic differentiation (< {tol:g}): PASS")

# %% [markdown]
# ## 5. Optimisers from scratch
# All of them take the gradient $g$ and move the parameters; they differ in what they remember.
#
# - **SGD**: $w \leftarrow w - \eta g$.
# - **Momentum**: a velocity that accumulates gradients, $v \leftarrow \mu v - \eta g$,
#   $w \leftarrow w + v$: it speeds up along directions that keep the same sign and damps zig-zags.
# - **Nesterov**: the same velocity, but the step looks ahead: $w \leftarrow w + \mu v - \eta g$.
# - **AdaGrad**: divides each coordinate's step by the root of the sum of all its squared
#   gradients so far: big steps where gradients are small. The sum only grows, so steps can only
#   shrink.
# - **RMSprop**: AdaGrad with a leaky (exponential moving) average instead of the sum, so the
#   step size does not die out.
# - **Adam**: momentum (a moving average of $g$) and RMSprop (of $g^2$) together, with a
#   bias correction for the first steps, when both averages start at zero.
#
# We write them exactly as Keras does, including its small choices: AdaGrad's accumulator starts
# at 0.1, RMSprop adds $\epsilon$ inside the square root, and Adam folds the bias corrections into
# the step size. Each optimiser updates a dict of NumPy arrays in place.

# %%
class SGD:
    def __init__(self, lr: float):
        self.lr = lr

    def step(self, params: dict, grads: dict) -> None:
        for k in params:
            params[k] -= self.lr * grads[k]


# %% [markdown]
# Momentum keeps a velocity per parameter; `nesterov=True` takes the look-ahead step.

# %%
class Momentum:
    def __init__(self, lr: float, mu: float = 0.9, nesterov: bool = False):
        self.lr, self.mu, self.nesterov, self.v = lr, mu, nesterov, {}

    def step(self, params: dict, grads: dict) -> None:
        for k in params:
            v = self.v.setdefault(k, np.zeros_like(params[k]))
            v[...] = self.mu * v - self.lr * grads[k]
            if self.nesterov:
                params[k] += self.mu * v - self.lr * grads[k]
            else:
                params[k] += v


# %%
class AdaGrad:
    def __init__(self, lr: float, initial: float = 0.1, eps: float = 1e-7):
        self.lr, self.initial, self.eps, self.cache = lr, initial, eps, {}

    def step(self, params: dict, grads: dict) -> None:
        for k in params:
            first = np.full_like(params[k], self.initial)
            cache = self.cache.setdefault(k, first)
            cache += grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(cache + self.eps)


# %% [markdown]
# RMSprop differs from AdaGrad in one line: the cache forgets old gradients at the rate $\rho$.

# %%
class RMSprop:
    def __init__(self, lr: float, rho: float = 0.9, eps: float = 1e-7):
        self.lr, self.rho, self.eps, self.cache = lr, rho, eps, {}

    def step(self, params: dict, grads: dict) -> None:
        for k in params:
            cache = self.cache.setdefault(k, np.zeros_like(params[k]))
            cache[...] = self.rho * cache + (1 - self.rho) * grads[k] ** 2
            params[k] -= self.lr * grads[k] / np.sqrt(cache + self.eps)


# %%
class Adam:
    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-7):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        alpha = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        for k in params:
            m = self.m.setdefault(k, np.zeros_like(params[k]))
            v = self.v.setdefault(k, np.zeros_like(params[k]))
            m[...] = self.b1 * m + (1 - self.b1) * grads[k]
            v[...] = self.b2 * v + (1 - self.b2) * grads[k] ** 2
            params[k] -= alpha * m / (np.sqrt(v) + self.eps)


# %% [markdown]
# ## 6. Step for step against `keras.optimizers`
# The test problem: an ill-conditioned bowl, $L(w) = \tfrac12(0.25\,w_0^2 + 20\,w_1^2)$, steep in one
# direction and shallow in the other, starting at $w = (-4.5, 1.5)$. Each optimiser takes 60
# steps with our code and with Keras (on a `keras.Variable`, `float64` on TensorFlow, else
# `float32`), and every point on the way must agree.
#
# Keras turns Python numbers into `float32` (a momentum of 0.9 becomes 0.89999998), so both
# sides get settings that `float32` holds exactly: learning rates such as 1/64, the others
# rounded once by `f32` below.

# %%
CURV = np.array([0.25, 20.0])  # curvature along w0 and w1: 80 times steeper


def bowl(w: np.ndarray) -> float:
    return 0.5 * float(np.sum(CURV * w**2))


def bowl_grad(w: np.ndarray) -> np.ndarray:
    return CURV * w


def f32(v: float) -> float:
    """v rounded to the nearest float32, the way Keras sees a Python number."""
    return float(np.float32(v))


# %% [markdown]
# Each entry below pairs our optimiser with the Keras one, both with the same settings:

# %%
start = np.array([-4.5, 1.5])
mu, rho, b1, b2, eps, acc0 = map(f32, (0.9, 0.9, 0.9, 0.999, 1e-7, 0.1))
kopt = keras.optimizers
setups = {  # name: (our optimiser, the Keras one with the same settings)
    "SGD": (SGD(3 / 32), kopt.SGD(3 / 32)),
    "Momentum": (Momentum(1 / 64, mu), kopt.SGD(1 / 64, momentum=mu)),
    "Nesterov": (Momentum(1 / 64, mu, nesterov=True),
                 kopt.SGD(1 / 64, momentum=mu, nesterov=True)),
    "AdaGrad": (AdaGrad(1.0, acc0, eps), kopt.Adagrad(
        1.0, initial_accumulator_value=acc0, epsilon=eps)),
    "RMSprop": (RMSprop(1 / 8, rho, eps),
                kopt.RMSprop(1 / 8, rho=rho, epsilon=eps)),
    "Adam": (Adam(1 / 4, b1, b2, eps),
             kopt.Adam(1 / 4, beta_1=b1, beta_2=b2, epsilon=eps)),
}

# %% [markdown]
# `run_both` takes the steps side by side and returns our path and Keras':

# %%
def run_both(ours, theirs, steps: int):
    p = {"w": start.copy()}
    var = keras.Variable(start.copy(), dtype=dtype)  # float32: JAX, PyTorch
    path, keras_path = [start.copy()], [start.copy()]
    for _ in range(steps):
        ours.step(p, {"w": bowl_grad(p["w"])})
        grad = bowl_grad(ops.convert_to_numpy(var))
        theirs.apply_gradients([(ops.convert_to_tensor(grad, dtype), var)])
        path.append(p["w"].copy())
        keras_path.append(ops.convert_to_numpy(var))
    return np.array(path), np.array(keras_path)


# %% [markdown]
# In `float64` every coordinate of every step must agree to 1e-10; in `float32`, to 1e-5 of
# the start's size (4.5).

# %%
steps, paths = 60, {}
for name, (ours, theirs) in setups.items():
    paths[name], keras_path = run_both(ours, theirs, steps)
    if dtype == "float64":
        gap, tol = rel_error(paths[name], keras_path), 1e-10
    else:
        gap, tol = np.abs(paths[name] - keras_path).max() / 4.5, 1e-5
    assert gap < tol, (name, gap)
    print(f"{name:9s} == keras.optimizers, {steps} steps: PASS "
          f"(largest error {gap:.1e} < {tol:g})")

# %% [markdown]
# ## 7. Their paths on the bowl
# **Predict:** which optimiser zig-zags across the narrow valley at every step, which one runs
# past the minimum along the long, shallow direction and has to turn back, and which one ends
# closest to the minimum? The table counts each one's crossings of the valley floor
# ($w_1 = 0$), its largest $|w_1|$ in the last 20 steps, and the largest $w_0$ it reaches (above
# 0: it ran past the minimum).

# %%
g0, g1 = np.meshgrid(np.linspace(-5, 1.5, 200), np.linspace(-2, 2, 200))
surface = 0.5 * (CURV[0] * g0**2 + CURV[1] * g1**2)
fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex=True, sharey=True)
for ax, (name, path) in zip(axes.flat, paths.items()):
    ax.contour(g0, g1, surface, levels=np.geomspace(0.05, 60, 14),
               colors="0.7", linewidths=0.6)
    ax.plot(path[:, 0], path[:, 1], "o-", markersize=2.5, linewidth=1)
    ax.plot(0, 0, "r*", markersize=10)
    ax.set(title=f"{name}: loss {bowl(path[-1]):.1e} after {steps} steps",
           xlabel="$w_0$", ylabel="$w_1$")
    ax.label_outer()  # axis labels on the outer panels only
fig.suptitle("L(w) = (0.25 w0^2 + 20 w1^2) / 2, same start, 60 steps each")
fig.tight_layout()
plt.show()

# %%
print(f"{'':9s} {'crossings of w1=0':>18s} {'max |w1|, last 20':>18s} "
      f"{'largest w0':>11s} {'final loss':>11s}")
cross, stray, w0_max, final = {}, {}, {}, {}
for name, path in paths.items():
    cross[name] = int(np.sum(np.diff(np.sign(path[:, 1])) != 0))
    stray[name] = np.abs(path[-20:, 1]).max()
    w0_max[name], final[name] = path[:, 0].max(), bowl(path[-1])
    print(f"{name:9s} {cross[name]:18d} {stray[name]:18.1e} "
          f"{w0_max[name]:11.2f} {final[name]:11.1e}")

# %% [markdown]
# **Answer:** **SGD** zig-zags, crossing the valley floor at all 60 steps, while it crawls along
# the shallow direction ($w_0$ still about $-1$): a learning rate small enough not to diverge
# across the valley is too small along it. **Adam** runs past the minimum: momentum carries
# $w_0$ to about $+0.7$ before it turns back. **AdaGrad** ends closest (final loss about
# $2.5 \cdot 10^{-7}$), just ahead of **RMSprop**: scaling each coordinate's step by its own
# gradient history lets both directions move at a similar pace.
#
# Momentum and Nesterov both cross the floor 11 times, but Nesterov's look-ahead damps the
# swing far sooner: in the last 20 steps it strays over a thousand times less far. RMSprop
# crosses often too, but by less than $10^{-15}$ at the end; the step sizes below show why.
# The same facts, checked on the table's numbers:

# %%
assert cross["SGD"] == steps and -1.2 < w0_max["SGD"] < -0.9
assert 0.6 < w0_max["Adam"] < 0.8 and max(w0_max, key=w0_max.get) == "Adam"
assert sorted(final, key=final.get)[:2] == ["AdaGrad", "RMSprop"]
assert cross["Momentum"] == cross["Nesterov"] == 11
assert stray["Momentum"] > 1000 * stray["Nesterov"]
assert stray["RMSprop"] < 1e-15
print("PASS: the answer above, in numbers")

# %% [markdown]
# AdaGrad's cache only grows. Record each coordinate's step size,
# $\eta / \sqrt{\text{cache} + \epsilon}$, for AdaGrad and RMSprop on the same bowl:

# %%
def step_sizes(opt, steps: int) -> np.ndarray:
    p, sizes = {"w": start.copy()}, []
    for _ in range(steps):
        opt.step(p, {"w": bowl_grad(p["w"])})
        sizes.append(opt.lr / np.sqrt(opt.cache["w"] + opt.eps))
    return np.array(sizes)


sizes = {"AdaGrad": step_sizes(AdaGrad(1.0, acc0, eps), steps),
         "RMSprop": step_sizes(RMSprop(1 / 8, rho, eps), steps)}
assert np.all(np.diff(sizes["AdaGrad"], axis=0) <= 0)  # a growing sum
print("step size (w0, w1) at steps 1, 10, 30, 60:")
for name, size in sizes.items():
    print(f"{name:8s} " + "  ".join(f"({size[i, 0]:.3f}, {size[i, 1]:.3f})"
                                    for i in (0, 9, 29, 59)))

# %%
fig, ax = plt.subplots(figsize=(7.5, 3.5), layout="constrained")
for name, size in sizes.items():
    for j, style in ((0, "-"), (1, "--")):
        ax.plot(np.arange(1, steps + 1), size[:, j], style,
                label=f"{name}, w{j}")
ax.set(yscale="log", xlabel="step", ylabel="step size",
       title="per-coordinate step size on the bowl")
ax.grid(alpha=0.3)
ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # clear of the curves
plt.show()

# %% [markdown]
# AdaGrad's step sizes fall in the first ten steps, then stay: near the minimum the gradients
# are tiny and the sum hardly grows. In a long training run, where mini-batch gradients stay
# large, the sum keeps growing and the steps keep shrinking, roughly like $1/\sqrt{t}$: in deep
# learning it "usually proves too aggressive and stops learning too early" (CS231n notes).
# RMSprop's leaky average forgets: as the gradients shrink, its step sizes grow again (about
# sevenfold for $w_0$ between steps 10 and 60), so it ends hopping across the valley floor.
#
# ## 8. Putting it together: the two-layer net on CIFAR-10
# Our NumPy network, trained with our Adam. Inputs are centred and scaled to about unit
# variance.

# %%
from course_utils.datasets.cifar10 import load_cifar10

(x_all, y_all), (x_test, y_test) = load_cifar10()
X = x_all.reshape(len(x_all), -1).astype(np.float32)
n_val = 1000
mean, scale = X[:-n_val].mean(axis=0), X[:-n_val].std()
X_train, y_train = (X[:-n_val] - mean) / scale, y_all[:-n_val]
X_val, y_val = (X[-n_val:] - mean) / scale, y_all[-n_val:]
X_test = (x_test.reshape(len(x_test), -1).astype(np.float32) - mean) / scale
print("train", X_train.shape, " val", X_val.shape, " test", X_test.shape)

# %% [markdown]
# `train_epoch` makes one pass over the training set in shuffled mini-batches of 200: for each,
# our loss and gradients, then one step of our Adam.

# %%
def accuracy(p: dict, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows of X whose highest score is their label in y."""
    hidden = np.maximum(0, X @ p["W1"] + p["b1"])
    scores = hidden @ p["W2"] + p["b2"]
    return float(np.mean(scores.argmax(axis=1) == y))


def train_epoch(net: dict, opt, X, y, rng, batch: int = 200) -> float:
    """One pass over (X, y) in shuffled mini-batches; the mean batch loss."""
    losses = []
    for idx in np.array_split(rng.permutation(len(X)), len(X) // batch):
        loss, grads = two_layer_loss(net, X[idx], y[idx], reg=1e-4)
        opt.step(net, grads)
        losses.append(loss)
    return float(np.mean(losses))


# %% [markdown]
# As in chapter 02, the loop multiplies small matrices, so it runs on one BLAS thread.

# %%
hidden = env.by_mode(quick=100, full=200)
epochs = env.by_mode(quick=8, full=15)
D = X_train.shape[1]
net = init_two_layer(D, hidden, 10, std=np.sqrt(2 / D), seed=ENV.seed,
                     dtype=np.float32)
adam, rng = Adam(1e-3), np.random.default_rng(ENV.seed)
history = {"loss": [], "accuracy": [], "val_accuracy": []}
with threadpool_limits(limits=1, user_api="blas"):
    for epoch in range(epochs):
        history["loss"].append(train_epoch(net, adam, X_train, y_train, rng))
        history["accuracy"].append(accuracy(net, X_train, y_train))
        history["val_accuracy"].append(accuracy(net, X_val, y_val))
        print(f"epoch {epoch + 1:2d}: " + "  ".join(
            f"{key} {values[-1]:.3f}" for key, values in history.items()))

# %%
data = env.by_mode(quick="generated patterns", full="CIFAR-10")
plot_history(history, title=f"two-layer net, NumPy + our Adam, on {data}");

# %% [markdown]
# Watch the gap between the two accuracy curves: when the training accuracy keeps climbing and
# the validation accuracy stalls, the network is memorising its training images (overfitting,
# the topic of chapter 06). Quick mode's 4,000 training images show it within eight epochs:

# %%
val_acc = history["val_accuracy"][-1]
test_acc = accuracy(net, X_test, y_test)
print(f"two-layer net ({hidden} hidden units), mode: {ENV.mode}")
print(f"val accuracy {val_acc:.3f}, test accuracy {test_acc:.3f}")
if ENV.quick:
    gap = history["accuracy"][-1] - val_acc
    env.check("training minus validation accuracy, last epoch", gap,
              at_least=0.2)
env.check("validation accuracy", val_acc,
          at_least=env.by_mode(quick=0.5, full=0.45))

# %% [markdown]
# On the real CIFAR-10 a well-tuned net of this kind reaches about 48-52% validation accuracy
# (the banner's figure), well above chapter 02's linear classifiers (about 38%).

# %% [markdown]
# ## Exercises
# Each exercise asks for one function or method. Replace `raise NotImplementedError()` with your
# code, run the cell, then the check below it: it tests your code on fresh random inputs against
# the course's own answer (a numerical gradient, or `keras.optimizers`) and prints **PASS**,
# **FAIL** with the numbers that show what is wrong, or **NOT DONE**. Leave the arrays you are
# given unchanged (the checks look). Nothing later uses your code, so you can skip one and come
# back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch03

# %% [markdown]
# ### Exercise 3.1 ★ A layer of sigmoid neurons, backward
# Section 2 took one sigmoid neuron apart; a layer is $H$ of them side by side, applied to a
# batch: $s = \sigma(XW + b)$ with $X$ (N x D), $W$ (D x H), $b$ (H,). Given the gradient of the
# loss with respect to the layer's output, `dout` (N x H), return `(dX, dW, db)`, each shaped like
# what it is the gradient of. Hint: the sigmoid shortcut $(1 - s)s$ first (elementwise), then the
# multiply gate with matrices, as `two_layer_loss` does for `W2` and `h`. The check compares your
# three arrays with `numeric_gradient` (section 3).

# %%
def sigmoid_layer_backward(X: np.ndarray, W: np.ndarray, b: np.ndarray,
                           dout: np.ndarray):
    """Gradients (dX, dW, db) of sigmoid(X @ W + b), given dout, the
    gradient of its output."""
    ### BEGIN SOLUTION
    s = 1.0 / (1.0 + np.exp(-(X @ W + b)))
    dz = dout * (1 - s) * s                 # through the sigmoid
    return dz @ W.T, X.T @ dz, dz.sum(axis=0)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch03.check_sigmoid_layer_backward(sigmoid_layer_backward)

# %% [markdown]
# ### Exercise 3.2 ★★ AdamW: weight decay outside the gradient
# An L2 penalty $\tfrac{\lambda}{2}\|w\|^2$ in the loss adds $\lambda w$ to the gradient, and Adam then
# divides that by $\sqrt{v}$ like everything else: weights with large gradients are barely regularised.
# **AdamW** (Loshchilov and Hutter, 2019) decouples the two. Keras' `AdamW` first shrinks every
# parameter, $w \leftarrow w - \eta\,\lambda\,w$ (with the plain learning rate $\eta$, not Adam's
# bias-corrected step), and then takes an ordinary Adam step with the gradient it was given.
# Complete `step` below; `super().step(params, grads)` runs our `Adam`'s step. The check runs
# your class and `keras.optimizers.AdamW` side by side on a random problem for 12 steps.

# %%
class AdamW(Adam):
    def __init__(self, lr: float, weight_decay: float = 0.004,
                 **adam_settings):
        super().__init__(lr, **adam_settings)
        self.weight_decay = weight_decay

    def step(self, params: dict, grads: dict) -> None:
        """Shrink each parameter by lr * weight_decay * itself, then take
        Adam's step."""
        ### BEGIN SOLUTION
        for k in params:
            params[k] -= self.lr * self.weight_decay * params[k]
        super().step(params, grads)
        ### END SOLUTION


# %% tags=["exercise-check"]
ch03.check_adamw(AdamW)

# %% [markdown]
# ### Exercise 3.3 ★★★ Nesterov's look-ahead, as first written
# Nesterov momentum is usually explained as "take the gradient where momentum is about to carry
# you": $v \leftarrow \mu v - \eta \nabla L(w + \mu v)$, then $w \leftarrow w + v$. Section 5's
# rule (and Keras') takes the gradient at the current parameters, no look-ahead in sight, yet we
# called it Nesterov. Write the original rule: `nesterov_lookahead(grad, w0, lr, mu, steps)`
# starts at `w0` with $v = 0$, takes `steps` steps with `grad(w)` the gradient at `w`, and returns
# the path of $w$ and the path of $v$, two arrays of shape (steps + 1, len(w0)) that start at
# `w0` and at 0. The check then verifies something about Keras: step after step, the point
# $w + \mu v$ of your paths is exactly where `keras.optimizers.SGD(momentum=mu, nesterov=True)`
# keeps its variable. Can you show why with two lines of algebra?

# %%
def nesterov_lookahead(grad, w0: np.ndarray, lr: float, mu: float, steps: int):
    """Paths (w, v), each (steps + 1, d), of v <- mu v - lr grad(w + mu v),
    w <- w + v."""
    ### BEGIN SOLUTION
    w, v = w0.copy(), np.zeros_like(w0)
    ws, vs = [w], [v]
    for _ in range(steps):
        v = mu * v - lr * grad(w + mu * v)
        w = w + v
        ws.append(w)
        vs.append(v)
    return np.array(ws), np.array(vs)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch03.check_nesterov_lookahead(nesterov_lookahead)

# %% [markdown]
# ## Recap
# - Backprop is the chain rule applied node by node, each gate passing on its local derivative
#   times the gradient from above; through a sigmoid that is the one-line $(1 - \sigma)\sigma$.
# - Check every hand-written gradient numerically (centred differences, `float64`, relative
#   error); our two-layer net also matches automatic differentiation.
# - SGD, momentum, Nesterov, AdaGrad, RMSprop and Adam fit in a few lines each and match
#   `keras.optimizers` step for step; on an ill-conditioned bowl, SGD zig-zags and the others
#   fix it with memory (momentum) or per-coordinate scaling (AdaGrad, RMSprop) or both (Adam).
#
# **Next**: chapter 04 looks at the pieces inside the network: activation functions, and how
# the initial weights decide whether a deep network can learn at all.
