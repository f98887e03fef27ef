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
# # 04 · Activation functions and weight initialisation
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/04_activations_initialisation.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/04_activations_initialisation.ipynb)
#
# **What you will learn**
# - sigmoid, tanh, ReLU, Leaky ReLU, ELU and GELU: their shapes, their gradients, and the
#   trouble each one fixes or causes (saturation, outputs that are not zero-centred, dead units)
# - the properties used to describe activations: monotonic, unipolar or bipolar, linear or
#   non-linear, continuous or binary
# - why a deep network cannot learn from all-equal weights, and what too small and too large
#   random weights do to the activations ten layers deep
# - Xavier/Glorot and He initialisation, and that Keras' initialisers follow their formulas
# - a controlled experiment: the same network trained from five different starts
# - batch normalisation: what it computes, why it behaves differently in training and at
#   inference, and how to freeze it
#
# **Run time**: quick mode 30-190 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode the same: random inputs and
# scikit-learn's 1,797 digits, which ship with the library (nothing is downloaded).

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
env.banner(quick_data="random Gaussian inputs, scikit-learn's 1,797 digits",
           full_data="random Gaussian inputs, scikit-learn's 1,797 digits")

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops
from scipy.special import erf

from course_utils.plots import compare_histories

# %% [markdown]
# ## 1. Activation functions and their gradients
# Without a non-linearity between them, two linear layers collapse into one ($W_2(W_1x) =
# (W_2W_1)x$), so depth would buy nothing. The activation function is that non-linearity. During
# backprop each one multiplies the incoming gradient by its own derivative, so the derivative
# matters as much as the function. Each below is written in NumPy with its derivative.

# %%
def sigmoid(x):     return 1 / (1 + np.exp(-x))
def d_sigmoid(x):   return sigmoid(x) * (1 - sigmoid(x))
def tanh(x):        return np.tanh(x)
def d_tanh(x):      return 1 - np.tanh(x) ** 2
def relu(x):        return np.maximum(0, x)
def d_relu(x):      return (x > 0).astype(float)
def leaky_relu(x, a=0.1):   return np.where(x > 0, x, a * x)
def d_leaky_relu(x, a=0.1): return np.where(x > 0, 1.0, a)
def elu(x, a=1.0):   return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))
def d_elu(x, a=1.0): return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0)))
def phi(x):          return np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)  # N(0, 1)
def gelu(x):         return 0.5 * x * (1 + erf(x / np.sqrt(2)))  # x * Phi(x)
def d_gelu(x):       return 0.5 * (1 + erf(x / np.sqrt(2))) + x * phi(x)


# %% [markdown]
# Keras has each of them in `keras.activations`. Its Leaky ReLU has a slope of 0.2 for $x < 0$
# unless told otherwise, so we pass 0.1 to match ours; for GELU we ask for the exact form
# (`approximate=False`; `keras.ops.gelu` defaults to an approximation).

# %%
def keras_leaky(t): return keras.activations.leaky_relu(t, negative_slope=0.1)
def keras_gelu(t):  return keras.activations.gelu(t, approximate=False)


ACTIVATIONS = {  # name: (ours, our derivative, the Keras function)
    "sigmoid": (sigmoid, d_sigmoid, keras.activations.sigmoid),
    "tanh": (tanh, d_tanh, keras.activations.tanh),
    "ReLU": (relu, d_relu, keras.activations.relu),
    "Leaky ReLU (0.1)": (leaky_relu, d_leaky_relu, keras_leaky),
    "ELU": (elu, d_elu, keras.activations.elu),
    "GELU": (gelu, d_gelu, keras_gelu),
}

# %% [markdown]
# Each NumPy function must equal its Keras version, and each hand-written derivative the one
# automatic differentiation takes through the Keras function (chapter 03; `backends.gradient`
# uses this run's backend): to 1e-12 in `float64`, to 1e-6 where Keras computes in `float32`
# (on JAX). The grid has no point exactly at 0, where ReLU has a kink.

# %%
from course_utils import backends

grid = np.linspace(-5, 5, 1000)  # an even count: no point lands exactly on 0
dtype = keras.backend.result_type("float64")  # float32 on JAX
tol = 1e-12 if dtype == "float64" else 1e-6
for name, (f, df, kf) in ACTIVATIONS.items():
    k_values = ops.convert_to_numpy(kf(grid))
    # d/dt sum(kf(t)) is kf' at each point; kf=kf binds this pass's kf
    _, k_grad = backends.gradient(lambda t, kf=kf: ops.sum(kf(t)), grid)
    assert np.allclose(f(grid), k_values, atol=tol), name
    assert np.allclose(df(grid), ops.convert_to_numpy(k_grad), atol=tol), name
    print(f"{name:17s} NumPy == Keras, derivative == autodiff ({dtype}): PASS")

# %%
fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
for ax, (name, (f, df, _)) in zip(axes.flat, ACTIVATIONS.items()):
    ax.plot(grid, f(grid), label="f(x)")
    ax.plot(grid, df(grid), "--", label="f'(x)")
    ax.axhline(0, color="grey", linewidth=0.5)
    ax.axvline(0, color="grey", linewidth=0.5)
    ax.set_title(name)
    ax.set_ylim(-1.5, 3)
    ax.grid(alpha=0.3)
axes[0, 0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. What each one is like
# Activation functions are often compared by a few properties: **monotonic** (never goes down),
# **unipolar** (outputs of one sign, like $[0, 1]$) or **bipolar** (both signs, like $[-1, 1]$),
# **linear** or **non-linear**, and **continuous** or **binary** (only two output values, like the
# step function of the original perceptron). `describe` measures each property on the grid,
# for our six and, for contrast, the step and the identity:

# %%
def describe(f) -> dict:
    y = f(grid)
    a, b = np.array([1.3, -0.4]), np.array([-2.1, 0.7])
    additive = np.allclose(f(a + b), f(a) + f(b))
    scales = np.allclose(f(3 * a), 3 * f(a))
    return {
        "monotonic": "yes" if np.all(np.diff(y) >= 0) else "no",
        "polarity": "bipolar" if y.min() < 0 < y.max() else "unipolar",
        "linear": "linear" if additive and scales else "non-linear",
        "values": "binary" if len(np.unique(y)) == 2 else "continuous",
        "range on [-5, 5]": f"[{y.min():.2f}, {y.max():.2f}]",
    }


# %% [markdown]
# One row per function:

# %% tags=["nbval-check-output"]
def step(x): return (x > 0).astype(float)
def identity(x): return x


funcs = {"step": step, "identity": identity}
funcs.update({name: fs[0] for name, fs in ACTIVATIONS.items()})
widths = (10, 10, 11, 11, 18)
header = zip(describe(step), widths)
print(f"{'':17s}" + "".join(f"{k:>{w}s}" for k, w in header))
for name, f in funcs.items():
    cells = zip(describe(f).values(), widths)
    print(f"{name:17s}" + "".join(f"{v:>{w}s}" for v, w in cells))

# %% [markdown]
# GELU is the odd one: not monotonic, it dips slightly below 0 around $x \approx -0.75$. It is
# the activation of Transformers and of recent convnets such as ConvNeXt.
#
# ## 3. The trouble with sigmoid
# Three problems:
# 1. **Saturation kills gradients.** The derivative is at most 0.25 (at $x = 0$) and almost 0
#    for large $|x|$. Backprop multiplies one such factor per layer.
# 2. **Outputs are not zero-centred.** They are always positive, so for the next layer all
#    inputs $x_i > 0$ and the gradients of its weights, $\partial L/\partial w_i = x_i \cdot
#    \partial L/\partial s$, all share one sign: the weights can only all grow or all shrink
#    together in one step, so reaching weights of mixed signs takes a zig-zag path (CS231n
#    notes, "Neural Networks Part 1").
# 3. `exp` is more expensive than ReLU's comparison (a minor point next to the convolutions).

# %% tags=["nbval-check-output"]
print(f"sigmoid'(0)   = {d_sigmoid(0.0):.4f}   (its largest value)")
print(f"sigmoid'(5)   = {d_sigmoid(5.0):.2e}")
print(f"sigmoid'(10)  = {d_sigmoid(10.0):.2e}")
print(f"best case through 10 sigmoid layers: 0.25**10 = {0.25**10:.2e}")
print(f"tanh'(0)      = {d_tanh(0.0):.4f}")
print(f"tanh'(5)      = {d_tanh(5.0):.2e}   (zero-centred, but saturates too)")

# %% [markdown]
# ## 4. Dead ReLUs
# ReLU does not saturate for $x > 0$ and costs nothing to compute, which is why it became the
# default. Its weak spot: a unit whose input is negative for **every** example outputs 0 and
# passes back a gradient of 0, so its weights never change again. A large update or a bad
# initialisation can push a unit's bias there. Leaky ReLU and ELU keep a small gradient for
# $x < 0$ so such a unit can come back.

# %%
rng = np.random.default_rng(0)
X = rng.standard_normal((1000, 20))
w = rng.standard_normal(20) / np.sqrt(20)
for bias in (0.0, -2.0, -6.0):
    z = X @ w + bias
    print(f"bias {bias:4.1f}: ReLU active on {np.mean(z > 0):6.1%}; mean "
          f"gradient ReLU {d_relu(z).mean():.3f}, "
          f"Leaky ReLU {d_leaky_relu(z).mean():.3f}")

# %% [markdown]
# ## 5. Initialisation: all weights equal
# Suppose every weight starts at the same value (zero is the common mistake). Then every hidden
# unit in a layer computes the same output, receives the same gradient and makes the same
# update: the units stay copies of each other for ever, and the layer behaves like one unit.
# Random initial values **break the symmetry**. A small Keras network shows it:

# %%
x_small = rng.standard_normal((32, 8)).astype("float32")
y_small = rng.integers(0, 3, 32)
all_01 = keras.initializers.Constant(0.1)
same = keras.Sequential([
    keras.Input((8,)),
    layers.Dense(6, activation="tanh", kernel_initializer=all_01),
    layers.Dense(3, kernel_initializer=all_01)])
same.compile(optimizer=keras.optimizers.SGD(0.5),
             loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
same.fit(x_small, y_small, epochs=20, batch_size=32, verbose=0)
W1 = ops.convert_to_numpy(same.layers[0].kernel)
print("first layer after 20 SGD steps, one column per hidden unit:\n",
      np.round(W1[:3], 4), "...")
assert np.allclose(W1, W1[:, :1]), "units should still be identical"
print("all 6 hidden units still identical after training: PASS")

# %% [markdown]
# The weights did change (they are no longer 0.1), but all six columns changed alike: the
# symmetry never broke.
#
# ## 6. Initialisation: how large should random weights be?
# The CS231n experiment: a 10-layer network with 500 units per layer, fed 1,000 random inputs,
# and the distribution of each layer's activations recorded. The only thing that changes is the
# scale of the random weights. A unit sums 500 inputs, so with weights of standard deviation
# $\sigma$ and inputs of variance $v$, its input has variance about $500\,\sigma^2 v$: whether that
# factor is below, at or above 1 decides everything, layer after layer.

# %%
from course_utils.datasets import announce

announce("no data set: 1,000 random Gaussian vectors of 500 numbers")
x_in = np.random.default_rng(1).standard_normal((1000, 500))
fan = 500
inits = {  # name: (weight std, activation)
    "small (0.01), tanh": (0.01, np.tanh),
    "large (1.0), tanh": (1.0, np.tanh),
    "Xavier, tanh": (1 / np.sqrt(fan), np.tanh),  # 1 / sqrt(fan_in)
    "Xavier, ReLU": (1 / np.sqrt(fan), relu),
    "He, ReLU": (np.sqrt(2 / fan), relu),  # sqrt(2 / fan_in)
}

# %% [markdown]
# `forward_layers` keeps every layer's activations; we print their standard deviations.

# %%
def forward_layers(std: float, act, n_layers: int = 10) -> list[np.ndarray]:
    rng, h, outs = np.random.default_rng(2), x_in, []
    for _ in range(n_layers):
        h = act(h @ (std * rng.standard_normal((fan, fan))))
        outs.append(h)
    return outs


activations = {name: forward_layers(*init) for name, init in inits.items()}
print("standard deviation of the activations, layers 1 to 10:")
for name, outs in activations.items():
    print(f"{name:19s}" + " ".join(f"{o.std():.0e}" for o in outs))

# %%
fig, axes = plt.subplots(1, len(activations), figsize=(17, 4.5), sharey=True)
for ax, (name, outs) in zip(axes, activations.items()):
    relu_net = min(o.min() for o in outs) >= 0
    lim = max(np.quantile(np.abs(o), 0.999) for o in outs)
    for i, o in enumerate(outs):  # one histogram per layer, stacked upwards
        values = o[o > 0] if relu_net else o  # ReLU: leave out the zeros
        low = 0 if relu_net else -lim
        counts, edges = np.histogram(values, bins=50, range=(low, lim))
        ax.stairs(i + 0.9 * counts / max(1, counts.max()), edges, baseline=i,
                  fill=True, alpha=0.8)
    ax.set_title(name + (" (zeros left out)" if relu_net else ""), fontsize=9)
    ax.set_xlabel("activation value")
axes[0].set_yticks(np.arange(10) + 0.4, [f"layer {i}" for i in range(1, 11)])
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the panels (each x axis spans that network's own range), from layer 1 at the bottom to
# layer 10 at the top:
# - **small random**: each layer shrinks the spread by about $0.01\sqrt{500} \approx 0.22$;
#   ten layers deep the activations are nearly 0, and so are the weights' gradients
#   (proportional to these inputs). Nothing learns.
# - **large random**: every unit's input is huge: tanh saturates at $\pm 1$, where its
#   derivative is 0. Again no gradient.
# - **Xavier/Glorot** ($\sigma = 1/\sqrt{\text{fan\_in}}$: the CS231n notes' simple form of the
#   rule of Glorot & Bengio, 2010) keeps tanh layers in a useful range: the spread shrinks
#   only slowly with depth.
# - With **ReLU**, half of the units output 0, which halves the variance per layer, so Xavier
#   slowly collapses; **He** ($\sigma = \sqrt{2/\text{fan\_in}}$, He et al., 2015) doubles the
#   variance to make up for it and keeps the distribution steady.

# %%
last = {name: outs[-1].std() for name, outs in activations.items()}
saturated = np.mean(np.abs(activations["large (1.0), tanh"][-1]) > 0.95)
assert last["small (0.01), tanh"] < 1e-4 and saturated > 0.9
assert 0.1 < last["Xavier, tanh"] < 1.0
assert last["Xavier, ReLU"] < 0.1 * last["He, ReLU"]
small = last["small (0.01), tanh"]
print(f"PASS: small collapses (layer 10 std {small:.0e}),\n"
      f"large saturates ({saturated:.0%} at |a| > 0.95),\n"
      "Xavier + tanh and He + ReLU stay alive, Xavier + ReLU fades")

# %% [markdown]
# ## 7. Keras' initialisers follow the formulas
# Keras names them after the papers. Glorot uniform draws from $U(-l, l)$ with
# $l = \sqrt{6/(\text{fan\_in} + \text{fan\_out})}$, which has variance $2/(\text{fan\_in} +
# \text{fan\_out})$; He normal draws from a normal truncated at two standard deviations, scaled
# so that the result has standard deviation $\sqrt{2/\text{fan\_in}}$. The formulas for a
# 500 -> 300 layer:

# %% tags=["nbval-check-output"]
fan_in, fan_out = 500, 300
glorot_limit = np.sqrt(6 / (fan_in + fan_out))
glorot_std = np.sqrt(2 / (fan_in + fan_out))
he_std, he_limit = np.sqrt(2 / fan_in), np.sqrt(6 / fan_in)
print(f"Glorot uniform: limit sqrt(6/(fan_in+fan_out)) = {glorot_limit:.4f}")
print(f"                std sqrt(2/(fan_in+fan_out)) = {glorot_std:.4f}")
print(f"He normal:      std sqrt(2/fan_in) = {he_std:.4f}")
print(f"He uniform:     limit sqrt(6/fan_in) = {he_limit:.4f}")

# %% [markdown]
# Now draw real kernels from Keras and measure them (150,000 weights each, so the measured
# standard deviation is within a fraction of a percent of the true one):

# %%
def draw(initializer) -> np.ndarray:
    return ops.convert_to_numpy(initializer((fan_in, fan_out)))


glorot = draw(keras.initializers.GlorotUniform(seed=0))
he = draw(keras.initializers.HeNormal(seed=0))
he_uniform = draw(keras.initializers.HeUniform(seed=0))
print(f"GlorotUniform: max |w| {np.abs(glorot).max():.4f} "
      f"(limit {glorot_limit:.4f}), std {glorot.std():.4f}")
print(f"HeNormal:      std {he.std():.4f} (formula {he_std:.4f}), "
      f"max |w| {np.abs(he).max():.4f}")
print(f"HeUniform:     max |w| {np.abs(he_uniform).max():.4f} "
      f"(limit {he_limit:.4f})")

# %% [markdown]
# The checks: each limit holds (and Glorot's is reached), each standard deviation is within 1%
# of its formula, and He normal never goes past two standard deviations of the normal it
# truncates (0.8796 is the standard deviation left after the cut). On PyTorch, Keras lets about one
# weight in 230,000 past the cut.

# %%
assert 0.999 * glorot_limit < np.abs(glorot).max() <= glorot_limit
assert abs(glorot.std() / glorot_std - 1) < 0.01
assert abs(he.std() / he_std - 1) < 0.01
cut = 2 * he_std / 0.87962566103423978
past = int(np.sum(np.abs(he) > cut + 1e-6))
if backends.backend() == "torch":  # 4 tries a weight, see above
    print(f"PyTorch: {past} of {he.size:,} He weights past the cut")
    assert past <= 10  # about 0.6 expected
else:
    assert past == 0
assert np.abs(he_uniform).max() <= he_limit
print("Keras initialisers match their formulas: PASS")

# %% [markdown]
# The same 10-layer experiment with Keras layers gives the same picture as our NumPy version
# (standard deviations of layers 1 to 10; `glorot_uniform` is Keras' default):

# %%
def keras_stack(activation: str, initializer: str) -> keras.Model:
    inputs = keras.Input((fan,))
    h, outs = inputs, []
    for _ in range(10):
        h = layers.Dense(fan, activation=activation, use_bias=False,
                         kernel_initializer=initializer)(h)
        outs.append(h)
    return keras.Model(inputs, outs)


for act, init in (("tanh", "glorot_uniform"), ("relu", "he_normal"),
                  ("relu", "glorot_uniform")):
    outs = keras_stack(act, init)(x_in.astype("float32"))
    stds = [float(np.std(ops.convert_to_numpy(o))) for o in outs]
    print(f"{act} + {init:14s} " + " ".join(f"{s:.2f}" for s in stds))

# %% [markdown]
# (For a square 500 x 500 layer Glorot's variance $2/(\text{fan\_in} + \text{fan\_out})$ is our
# $1/\text{fan\_in}$. With `relu`, Glorot again fades layer by layer and He does not.)

# %% [markdown]
# ## 8. A controlled experiment: the same network, five starts
# Statistics of one forward pass are a hint; training is the test. One network, one data set,
# one optimiser, one budget; the **only** change is how the weights start. The network: 10
# hidden layers of 64 ReLU units. The data: scikit-learn's 1,797 real 8x8 handwritten digits,
# 70% to train, 30% to test. Plain SGD, learning rate 0.05, 15 epochs of batches of 32.
#
# **Predict:** which of zero / small (0.01) / Glorot / He will not learn at all?

# %%
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

X_digits, y_digits = load_digits(return_X_y=True)
X_digits = (X_digits / 16.0).astype("float32")  # pixel values 0..16 -> 0..1
xd_train, xd_test, yd_train, yd_test = train_test_split(
    X_digits, y_digits, test_size=0.3, random_state=0, stratify=y_digits)
announce(f"scikit-learn's real 8x8 digits: {len(xd_train)} train / "
         f"{len(xd_test)} test, 10 classes")

# %%
def deep_net(initializer, batch_norm: bool = False) -> keras.Model:
    """10 hidden layers of 64 ReLU units (batch norm before ReLU if asked)."""
    keras.utils.set_random_seed(ENV.seed)  # each variant: same random state
    inputs = keras.Input((64,))
    h = inputs
    for _ in range(10):
        h = layers.Dense(64, kernel_initializer=initializer,
                         use_bias=not batch_norm)(h)
        h = layers.BatchNormalization()(h) if batch_norm else h
        h = layers.Activation("relu")(h)
    outputs = layers.Dense(10, kernel_initializer=initializer)(h)
    model = keras.Model(inputs, outputs)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.SGD(0.05), loss=loss, metrics=["accuracy"])
    return model

# %%
starts = {"zero": ("zeros", False),
          "small (0.01)": (keras.initializers.RandomNormal(0, 0.01), False),
          "Glorot": ("glorot_uniform", False), "He": ("he_normal", False),
          "He + batch norm": ("he_normal", True)}
runs, final_loss, test_acc = {}, {}, {}
for name, (initializer, batch_norm) in starts.items():
    net = deep_net(initializer, batch_norm)
    runs[name] = net.fit(xd_train, yd_train, epochs=15, batch_size=32,
                         verbose=0)
    losses = runs[name].history["loss"]
    final_loss[name] = losses[-1]
    test_acc[name] = net.evaluate(xd_test, yd_test, verbose=0)[1]
    print(f"{name:16s} training loss {losses[0]:.3f} -> {losses[-1]:.3f}   "
          f"test accuracy {test_acc[name]:.3f}")

# %%
compare_histories(runs, metrics=("loss", "accuracy"), legend_below=True,
                  ylabels={"loss": "training loss",
                           "accuracy": "training accuracy"},
                  title="10 ReLU layers on scikit-learn's digits: "
                        "only the start differs");

# %% [markdown]
# **Answer:** zero and small. With zero weights every unit is a copy of its neighbours and,
# worse, every ReLU input is 0, so no gradient flows at all; with weights of 0.01 and 64
# inputs per unit the signal shrinks about 18 times per ReLU layer ($0.01\sqrt{64/2} \approx
# 0.057$, section 6) and after 10 layers nothing is left of it, nor of the gradient. Both stay
# at $\ln 10 \approx 2.303$, the loss of a uniform guess (their two curves lie on top of each
# other). Glorot and He both learn; section 6 showed why He, made for ReLU, keeps the signal's
# scale through ten layers where Glorot lets it fade. Plain SGD at this rate can wobble with ten
# layers; batch normalisation (next section) keeps each layer's input in scale. The checks:

# %%
for name in ("zero", "small (0.01)"):
    env.check(f"{name} start: final training loss", final_loss[name],
              at_least=2.25)
for name, bound in (("Glorot", 2.0), ("He", 2.0),
                    ("He + batch norm", 0.4)):
    env.check(f"{name} start: final training loss", final_loss[name],
              at_most=bound)

# %% [markdown]
# A lower training loss is not a better model (chapter 06). This run's ranking on both:

# %%
lowest = min(final_loss, key=final_loss.get)
best = max(test_acc, key=test_acc.get)
print(f"lowest final training loss: {lowest} ({final_loss[lowest]:.3f})")
print(f"best test accuracy:         {best} ({test_acc[best]:.3f})")
print("the same start" if lowest == best else
      "two different starts: the lowest training loss did not score best")

# %% [markdown]
# ## 9. Batch normalisation
# He initialisation makes the *first* forward pass well scaled. Training then changes every
# layer's weights, and with them the scale of what reaches the next layer. **Batch
# normalisation** (Ioffe and Szegedy, 2015) re-scales during training: for each feature $j$, over
# the $m$ examples of the batch,
#
# $$\mu_j = \frac{1}{m}\sum_i x_{ij}, \quad \sigma_j^2 = \frac{1}{m}\sum_i (x_{ij} - \mu_j)^2,
# \quad \hat x_{ij} = \frac{x_{ij} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}}, \quad
# y_{ij} = \gamma_j \hat x_{ij} + \beta_j.$$
#
# $\gamma$ and $\beta$ are learnt, so the layer can undo the normalisation where that helps (a
# conv layer normalises per channel, over the batch and all positions). Built by hand, and
# checked against Keras' layer in training mode:

# %%
batch = rng.normal(3.0, 2.0, size=(16, 5)).astype("float32")  # 16 x 5 features
bn = layers.BatchNormalization(epsilon=1e-3)
train_mode = ops.convert_to_numpy(bn(batch, training=True))
mu, var = batch.mean(axis=0), batch.var(axis=0)
gamma, beta = ops.convert_to_numpy(bn.gamma), ops.convert_to_numpy(bn.beta)
ours = gamma * (batch - mu) / np.sqrt(var + 1e-3) + beta
gap = np.abs(ours - train_mode).max()
assert gap < 1e-4, gap
print(f"PASS: our batch norm == BatchNormalization(training=True), "
      f"max |diff| {gap:.1e}")
print("per-feature mean after:", np.round(ours.mean(axis=0), 4))
print("per-feature std after: ", np.round(ours.std(axis=0), 3))

# %% [markdown]
# At inference there may be one example, not a batch, and the answer for an image must not
# depend on which other images share its batch. So the layer keeps **moving averages** of the
# batch means and variances while it trains, and uses those instead when `training=False`.
#
# **Predict:** the layer above has seen one training batch. Will `training=False` give the same
# output as `training=True` on that very batch?

# %%
def mode_gap() -> float:  # largest |training - inference output| on `batch`
    inference = ops.convert_to_numpy(bn(batch, training=False))
    return float(np.abs(train_mode - inference).max())

def moving_mean() -> np.ndarray:
    return ops.convert_to_numpy(bn.moving_mean)

print("moving mean after one batch:", np.round(moving_mean(), 3))
print("the batch's own mean:       ", np.round(mu, 3))
print(f"largest difference, training vs inference mode: {mode_gap():.2f}")
for _ in range(500):
    bn(rng.normal(3.0, 2.0, size=(16, 5)).astype("float32"), training=True)
print("moving mean after 500 more batches:", np.round(moving_mean(), 2))
print(f"largest difference now: {mode_gap():.2f}")

# %% [markdown]
# **Answer:** no. After one batch the moving mean is only 1% of the way to the batch mean (Keras'
# momentum is 0.99: each batch moves the averages 1% towards its own statistics), so inference
# mode barely normalises and its output is far from training mode's. After a few hundred
# batches the averages have settled near the data's mean (3); what difference is left is this
# one batch's own mean and spread lying off the data's, which inference mode should ignore.
#
# Two practical consequences. A model must predict in inference mode; Keras' `fit`, `evaluate`
# and `predict` switch for you. And fine-tuning a pretrained network often freezes its
# batch-norm layers, so that a few small batches cannot overwrite statistics learnt on millions
# of images (chapter 07 measures both ways). Freeze one with `trainable = False`: in Keras 3 a
# `BatchNormalization` layer that is not trainable runs in inference mode, even inside `fit`
# and even when called with `training=True`. Calling the base with `training=False`, also
# often advised, does not hold inside `fit` in Keras 3.13 and 3.15 (chapter 07 tests yours).
# Our layer, frozen, goes through a `fit` on data of another mean:

# %%
bn.trainable = False  # frozen, as for fine-tuning
stored = moving_mean().copy()
frozen = keras.Sequential([keras.Input((5,)), bn, layers.Dense(1)])
frozen.compile(optimizer="sgd", loss="mse")
frozen.fit(rng.normal(8.0, 2.0, (64, 5)), np.zeros(64), verbose=0)
assert np.array_equal(moving_mean(), stored), "fit moved the statistics"
asked = ops.convert_to_numpy(bn(batch, training=True))
assert np.allclose(asked, ops.convert_to_numpy(bn(batch, training=False)))
print("PASS: with trainable = False the moving mean survived fit, and "
      "training=True\ngives inference mode's output")

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then the check below it: it tests your function on fresh random inputs against the
# course's own answer (or Keras') and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE**. Leave the arrays you are given unchanged (the checks look). Nothing
# later uses your functions, so you can skip one and come back. ★ warms up, ★★ needs some
# thought, ★★★ stretches.

# %%
from course_utils.exercises import ch04

# %% [markdown]
# ### Exercise 4.1 ★ He initialisation for dense and conv kernels
# Write `he_normal(shape, rng)`: a kernel of the given shape drawn from a normal distribution with
# mean 0 and standard deviation $\sqrt{2/\text{fan\_in}}$, using the NumPy generator `rng`. A
# dense kernel has shape (fan_in, units). A conv kernel, which chapter 05 introduces, has shape
# (kh, kw, c_in, c_out): each output value sums a kh x kw window over all c_in input channels,
# so its fan_in is kh·kw·c_in. One rule covers both: fan_in is the product of all sizes but the
# last. Draw every number from `rng`, so that the same seed gives the same kernel. The check
# draws a dense and two conv kernels of over 100,000 weights each and measures their mean and
# standard deviation.

# %%
def he_normal(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Normal weights, mean 0, std sqrt(2 / fan_in), fan_in = product of
    all sizes but the last."""
    ### BEGIN SOLUTION
    fan_in = np.prod(shape[:-1])
    return rng.normal(0.0, np.sqrt(2 / fan_in), size=shape)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch04.check_he_normal(he_normal)

# %% [markdown]
# ### Exercise 4.2 ★★ Unit variance, layer by layer (LSUV)
# Section 6 took the weights' scale from a formula. Mishkin and Matas (2016) measure it
# instead: start from any random weights, send one batch of real inputs through the network,
# and rescale the layers one at a time, first to last, so that each layer's output has
# standard deviation 1 on that batch ("layer-sequential unit-variance", LSUV). Write
# `lsuv(kernels, x)` for a stack of dense layers without biases, each followed by a ReLU:
# with $h_0 = x$, layer $l$ computes $z_l = h_{l-1} W_l$ and $h_l = \max(z_l, 0)$. For each
# layer in turn, compute $z_l$ from the output $h_{l-1}$ of the layers below *as already
# rescaled*, and divide $W_l$ by `z.std()` (one number: the standard deviation of all the
# values of $z_l$). Return the list of new kernels; leave the ones you are given unchanged.
# Why is one division per layer enough? Hint: $\max(cz, 0) = c\max(z, 0)$ for $c > 0$.

# %%
def lsuv(kernels: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """New kernels, each scaled so that its layer's output z has std 1 on x."""
    ### BEGIN SOLUTION
    h, scaled = x, []
    for kernel in kernels:
        z = h @ kernel
        scaled.append(kernel / z.std())
        h = np.maximum(z / z.std(), 0)  # what the rescaled layer outputs
    return scaled
    ### END SOLUTION


# %% tags=["exercise-check"]
ch04.check_lsuv(lsuv)

# %% [markdown]
# ### Exercise 4.3 ★★★ Batch normalisation on feature maps, one training step
# Section 9 normalised a (batch, features) array. After a conv layer the input is
# (N, H, W, C) and batch norm works per channel, over the batch **and** all positions. Write
# `batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum, eps)`, one call of
# `BatchNormalization(momentum=momentum, epsilon=eps)` in training mode: return the output `y`
# and the two moving statistics as the layer updates them,
# $\text{moving} \leftarrow \text{momentum}\cdot\text{moving} + (1 - \text{momentum})\cdot\text{batch statistic}$.
# `gamma`, `beta` and the moving statistics have shape (C,). The check sets a Keras layer to the
# same weights and compares all three arrays.

# %%
def batch_norm_train(x, gamma, beta, moving_mean, moving_var,
                     momentum: float, eps: float):
    """(y, new_moving_mean, new_moving_var) of batch norm in training mode
    on (N, H, W, C) maps."""
    ### BEGIN SOLUTION
    mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    y = gamma * (x - mu) / np.sqrt(var + eps) + beta
    return (y, momentum * moving_mean + (1 - momentum) * mu,
            momentum * moving_var + (1 - momentum) * var)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch04.check_batch_norm_train(batch_norm_train)

# %% [markdown]
# ## Recap
# - Activations make depth worth having; their derivatives multiply the gradient in backprop.
# - Sigmoid saturates (largest derivative 0.25; $0.25^{10} \approx 10^{-6}$ through ten layers)
#   and is not zero-centred; tanh is zero-centred but saturates; ReLU is cheap and does not
#   saturate for $x > 0$ but can die.
# - Equal initial weights never break symmetry. Too small: activations and gradients vanish; too
#   large: units saturate. Xavier/Glorot suits tanh, He suits ReLU.
# - Zero and tiny starts never leave
#   $\ln 10$; Glorot and He learn. A lower training loss is not a better model.
# - Batch normalisation: per feature, over the batch, with learnt $\gamma, \beta$; moving
#   averages at inference. Frozen (`trainable = False`), it runs in
#   inference mode, even inside `fit`.
#
# **Next**: chapter 05 replaces the dense layers with convolutions.
