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
# # 07 · Pretrained VGG16: feature extraction and fine-tuning
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/07_pretrained_vgg16.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/07_pretrained_vgg16.ipynb)
#
# **What you will learn**
# - the VGG idea: only 3x3 convolutions, stacked; why two 3x3 layers see as
#   much as one 5x5 layer with fewer parameters
# - **fast feature extraction**: run a pretrained base once, train a small
#   classifier on what it saw
# - **feature extraction with augmentation**: the frozen base inside an
#   end-to-end model
# - **fine-tuning**: unfreeze the top of the base, recompile, train slowly;
#   how deep to unfreeze, measured
# - what batch normalisation does while fine-tuning, measured
# - how the three compare with chapter 06's convnet trained from scratch
#
# **Run time**: quick mode 45-450 s on a 2-core CPU (chapter 06's stand-in
# data at 48x48, 20 training images, and a small digit network pretrained
# here instead of VGG16; the lower figure on an idle machine, the higher
# with other work beside it); full mode (2,000 photos at 150x150, ImageNet
# weights) about half an hour on a Colab T4 GPU, many hours on a CPU.

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
    quick_data="chapter 06's 4s vs 9s at 48x48, 10 training images per "
               "class; instead of VGG16 a small BN convnet the chapter "
               "pretrains on the other eight MNIST digits",
    full_data="the 2,000 cats-vs-dogs photos, VGG16 with ImageNet weights",
    reference="about 90% (fast features), 96% (augmentation), 97% test "
              "after fine-tuning (Chollet, Deep Learning with Python, "
              "1st ed., 5.3)")

# %%
import warnings
import numpy as np
import keras
import matplotlib.pyplot as plt
from keras import layers
from course_utils import backends
from course_utils.convnets import augmentation, small_convnet
from course_utils.plots import (compare_histories, plot_history,
                                show_predictions)
from course_utils.training import TrainingRun, fit_resumable
from course_utils.pretrained import load_vgg16_conv_base
from course_utils.digit_vgg import load_digit_vgg_base
from course_utils.datasets.cats_vs_dogs import (load_cats_vs_dogs_split,
                                                training_subset)

# %%
HAS_TF = backends.has("tensorflow")  # Colab's TPU runtime has none
if HAS_TF:
    import tensorflow as tf
else:  # grain data sets; Keras warns when one ends (it can't tell length)
    import grain
    warnings.filterwarnings("ignore", "Your input ran out of data")

env.mount_drive();  # Colab: checkpoints on Drive; elsewhere: says where

# %% [markdown]
# ## 1. The VGG idea: small filters, stacked
# VGG (Simonyan and Zisserman, 2014) builds a deep network from one brick: a 3x3 convolution
# with stride 1 and padding 1, now and then a 2x2 max pooling. Why not larger filters? Stack
# two 3x3 layers and a unit of the second sees a 5x5 patch of the input; three see 7x7. The
# **receptive field** grows by 2 pixels per layer: $r = 1 + L\,(3 - 1)$. Check it: push one
# bright pixel through stacked 3x3 convolutions of all-one weights and see how far it spreads.

# %% tags=["nbval-check-output"]
impulse = np.zeros((1, 15, 15, 1), dtype="float32")
impulse[0, 7, 7, 0] = 1.0
x = impulse
for depth in (1, 2, 3):
    conv = layers.Conv2D(1, 3, padding="same", use_bias=False,
                         kernel_initializer="ones")
    x = conv(x)
    rows, cols = np.nonzero(keras.ops.convert_to_numpy(x)[0, :, :, 0])
    side = rows.max() - rows.min() + 1
    print(f"{depth} stacked 3x3 layer(s): one input pixel reaches a "
          f"{side}x{side} patch (formula: {1 + depth * 2})")

# %% [markdown]
# A unit after two 3x3 layers depends on a 5x5 input patch, like a unit of one 5x5 layer, but
# the price differs. With $C$ channels in and out, two 3x3 layers hold $18C^2$ weights, one
# 5x5 layer $25C^2$; three 3x3 layers $27C^2$ against $49C^2$ for a 7x7. And each extra layer
# adds a ReLU, so the stack is also more expressive. Keras counts the same (with biases), for
# $C = 64$:

# %% tags=["nbval-check-output"]
C = 64
def count(*kernel_sizes: int) -> int:
    convs = [layers.Conv2D(C, k, padding="same") for k in kernel_sizes]
    model = keras.Sequential([keras.Input((32, 32, C))] + convs)
    return model.count_params()

print(f"two 3x3 layers:   {count(3, 3):>7,} parameters   "
      f"one 5x5 layer: {count(5):>7,}")
print(f"three 3x3 layers: {count(3, 3, 3):>7,} parameters   "
      f"one 7x7 layer: {count(7):>7,}")
print(f"ratio 5x5: {count(3, 3) / count(5):.2f}   "
      f"ratio 7x7: {count(3, 3, 3) / count(7):.2f}")

# %% [markdown]
# ## 2. The VGG16 convolutional base
# VGG16 has 13 such convolutions in five blocks (64, 128, 256, 512, 512 filters), each block
# ending in a pooling, plus three dense layers that classify into the 1,000 ImageNet classes.
# We keep only the convolutional part, the **conv base** (`include_top=False`): its filters
# learnt on 1.4 million photos what edges, textures, eyes and fur look like, useful far beyond
# ImageNet; the dense top only knows ImageNet's classes.
#
# **Predict before you run:** 150 halved five times, rounding down, gives what final map?

# %% tags=["nbval-check-output"]
architecture = keras.applications.VGG16(weights=None, include_top=False,
                                        input_shape=(150, 150, 3))
for layer in architecture.layers:
    if layer.name.endswith("_pool") or layer.name == "block1_conv1":
        print(f"{layer.name:13s} -> {layer.output.shape}")
print(f"conv base parameters: {architecture.count_params():,}")
block5 = [layer for layer in architecture.layers
          if layer.name.startswith("block5")]
print(f"of which block 5: {sum(b.count_params() for b in block5):,}")

# %% [markdown]
# **Answer:** 150 -> 75 -> 37 -> 18 -> 9 -> 4: a 4x4x512 map. Half of the parameters are in
# block 5.
#
# Now the trained weights. In full mode the loader downloads Keras' ImageNet weights for the
# conv base once (58.9 MB, checked against Keras' published MD5). **Quick mode cannot download
# them**, so it makes its own pretrained network, the way VGG16 was made, only small: a
# **VGG16-shaped digit network** (VGG16's blocks and layer names, 8 to 64 filters instead of 64
# to 512, a batch normalisation after every convolution), trained once to tell apart the digits
# 0-3 and 5-8 on 48x48 canvases: a related task with more data, as ImageNet is for cats and
# dogs. It never sees a 4 or a 9. **Quick mode's numbers below come from this digit network,
# not from VGG16.**

# %%
IMAGE_SIZE = env.by_mode(quick=(48, 48), full=(150, 150))
if ENV.quick:  # trained now, or read from its .keras file; then re-seeded
    conv_base = load_digit_vgg_base(seed=ENV.seed)
else:
    conv_base = load_vgg16_conv_base(input_shape=IMAGE_SIZE + (3,))
print(f"conv base at {IMAGE_SIZE}: output {conv_base.output.shape}, "
      f"{conv_base.count_params():,} parameters")
block1 = [n.name for n in conv_base.layers if n.name.startswith("block1")]
print(env.fit_page("block 1: " + ", ".join(block1), indent=9))

# %% [markdown]
# ## 3. The data, prepared the way VGG16 expects
# The same split as in chapter 06; quick mode's digit network outputs a (1, 1, 64) map where
# VGG16 gives (4, 4, 512). VGG16 was trained on images converted from RGB to BGR with the
# ImageNet mean colour subtracted (no scaling to 0..1): `keras.applications.vgg16.preprocess_input`
# does exactly that (the digit network was pretrained the same way). We call it inside the
# models, right before the base, as chapter 06 put `Rescaling` inside: a saved model then takes
# raw RGB 0..255 images.

# %%
pixel = np.array([[[[255.0, 128.0, 0.0]]]])
print("one RGB pixel (255, 128, 0) becomes BGR minus the mean:")
print("   ", keras.applications.vgg16.preprocess_input(pixel)[0, 0, 0])

# %% [markdown]
# Transfer learning pays most when the new data set is small. The 2,000 photos of full mode are
# small for cats and dogs; chapter 06's 100 digits are plenty for 4s vs 9s. So quick mode
# keeps only the first 10 training images of each class, and validates on every second
# validation image; the test set stays whole.
# As in chapter 06: `tf.data` datasets, or grain ones without TensorFlow.

# %%
TRAIN_PER_CLASS = env.by_mode(quick=10, full=1000)
base_dir = training_subset(load_cats_vs_dogs_split(), TRAIN_PER_CLASS)
class_names = sorted(d.name for d in (base_dir / "train").iterdir())
data_name = env.by_mode(quick="4s vs 9s stand-in", full="cats vs dogs")

# %%
BATCH_SIZE = 20  # as in the book
GRAIN = {} if HAS_TF else {"format": "grain"}  # Keras 3.11 or later


def image_folder(split: str, shuffle: bool):
    ds = keras.utils.image_dataset_from_directory(
        base_dir / split, image_size=IMAGE_SIZE, label_mode="binary",
        batch_size=BATCH_SIZE if shuffle else 100, shuffle=shuffle,
        seed=ENV.seed, verbose=False, **GRAIN)
    if not HAS_TF:  # grain reads ahead itself; keep evaluation batches
        return ds if shuffle else grain.MapDataset.source(list(ds))
    if not shuffle:
        ds = ds.cache()  # validation and test: decoded once (as in 06)
    return ds.prefetch(tf.data.AUTOTUNE)  # raw RGB, 0..255


# %%
train_ds = image_folder("train", True)
val_ds = image_folder("validation", False)
if ENV.quick and HAS_TF:  # every second validation image: half the cost
    val_ds = val_ds.map(lambda x, y: (x[::2], y[::2])).cache()
elif ENV.quick:  # the same with grain, whose map gets one (x, y) pair
    val_ds = val_ds.map(lambda xy: (xy[0][::2], xy[1][::2]))
test_ds = image_folder("test", False)
print("classes (label 0, label 1):", class_names)
print("images:", {name: sum(int(y.shape[0]) for _, y in ds) for name, ds
                  in (("train", train_ds), ("validation", val_ds),
                      ("test", test_ds))})

# %% [markdown]
# ## 4. Fast feature extraction
# Run every image through the conv base **once**, keep its output maps, and train a small
# dense classifier on them. Cheap, but the classifier sees each photo exactly as it is: no
# augmentation is possible. There is no model around the base yet, so we preprocess each batch
# by hand.

# %%
def as_arrays(ds) -> tuple[np.ndarray, np.ndarray]:
    batches = [(keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y))
               for x, y in ds]
    images, labels = zip(*batches)
    return np.concatenate(images), np.concatenate(labels)


def extract_features(ds) -> tuple[np.ndarray, np.ndarray]:
    images, labels = as_arrays(ds)
    preprocessed = keras.applications.vgg16.preprocess_input(images)
    return conv_base.predict(preprocessed, batch_size=200, verbose=0), labels


# %%
train_features, train_labels = extract_features(train_ds)
val_features, val_labels = extract_features(val_ds)
test_features, test_labels = extract_features(test_ds)
print("features:", train_features.shape, val_features.shape,
      test_features.shape)

# %% [markdown]
# On top: flatten the maps, one dense layer of 256 units with dropout, and a sigmoid. RMSprop
# with a small learning rate: 2e-5 in the book, where an epoch is 100 steps. Quick mode's 20
# images make one step per epoch, so it trains new classifiers at 1e-3 and fine-tunes at half
# that (the book halves too).

# %%
def make_feature_classifier(learning_rate: float) -> keras.Model:
    inputs = keras.Input(shape=train_features.shape[1:])
    x = layers.Flatten()(inputs)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="feature_classifier")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


# %%
LR_FEATURES = env.by_mode(quick=1e-3, full=2e-5)
classifier = make_feature_classifier(LR_FEATURES)
features_run = fit_resumable(
    classifier, train_features, y=train_labels,
    validation_data=(val_features, val_labels), batch_size=BATCH_SIZE,
    epochs=env.by_mode(quick=20, full=30), run_name="07_fast_features")

# %%
plot_history(features_run, title=f"fast feature extraction ({data_name})");
classifier.load_weights(features_run.best_model_path)  # the best epoch's
features_test = classifier.evaluate(test_features, test_labels,
                                    batch_size=600, verbose=0)[1]
print(f"fast feature extraction: best epoch {features_run.best_epoch()}, "
      f"test accuracy {features_test:.3f}")

# %% [markdown]
# With ImageNet weights on the real photos this reaches about 90% validation accuracy within
# a few epochs, then overfits (Chollet, *Deep Learning with Python*, 1st ed., §5.3.1).
#
# ## 5. Feature extraction with data augmentation
# To augment, the conv base must sit inside the model, so every (randomly changed) image goes
# through it at every epoch: slower, but no longer limited to the fixed training images. The
# base must be **frozen** first: its updates would otherwise wreck the pretrained filters,
# because the new dense layers start random and send large gradients down at first.

# %%
FLIP = env.by_mode(quick=False, full=True)  # as in 06: never mirror a digit
inputs = keras.Input(shape=IMAGE_SIZE + (3,))
x = augmentation(flip=FLIP)(inputs)  # chapter 06's augmentation layers
x = keras.applications.vgg16.preprocess_input(x)  # raw RGB in, VGG16's out
x = conv_base(x)
x = layers.Flatten()(x)
x = layers.Dense(256, activation="relu")(x)
outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
model = keras.Model(inputs, outputs, name="vgg16_augmented")

# %% [markdown]
# Freezing is one attribute, `trainable = False`. Each of the 13 conv layers brings two
# trainable tensors (VGG16: kernel and bias; the digit network: kernel and the shift of the BN
# layer after it, which does the bias's job), and the dense layers 4 more.

# %% tags=["nbval-check-output"]
print("trainable weight tensors, base trainable:",
      len(model.trainable_weights))
conv_base.trainable = False
print("trainable weight tensors, base frozen:   ",
      len(model.trainable_weights))

# %% [markdown]
# A change to `trainable` counts once the model is **compiled**: compile after every change.

# %%
LR_FROZEN, LR_FINE = env.by_mode(quick=(1e-3, 5e-4), full=(2e-5, 1e-5))
def n_trainable(m: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in m.trainable_weights)


model.compile(optimizer=keras.optimizers.RMSprop(LR_FROZEN),
              loss="binary_crossentropy", metrics=["accuracy"])
print(f"trainable parameters now: {n_trainable(model):,}")
FROZEN_EPOCHS = env.by_mode(quick=15, full=30)
augmented_run = fit_resumable(model, train_ds, validation_data=val_ds,
                              epochs=FROZEN_EPOCHS,
                              run_name="07_augmented_frozen")

# %%
plot_history(augmented_run,
             title=f"frozen base + augmentation ({data_name})");
model.load_weights(augmented_run.best_model_path)  # the best epoch's
augmented_test = model.evaluate(test_ds, verbose=0)[1]
print(f"frozen base + augmentation: best epoch "
      f"{augmented_run.best_epoch()}, test accuracy {augmented_test:.3f}")

# %% [markdown]
# With ImageNet weights on the real photos this reaches about 96% validation accuracy after
# 30 epochs (Chollet, 1st ed., §5.3.1).
#
# ## 6. Fine-tuning
# Fine-tuning unfreezes the top of the conv base and trains it together with the new dense
# layers, so the most specialised features adapt to the new classes: first train the new
# classifier on a frozen base (done above), then unfreeze, then train both, slowly.
#
# Why only the top? Lower layers detect edges, colours and textures, useful for any photo;
# upper layers encode ImageNet-specific parts, worth adapting. VGG16's block 5 also holds half
# of the base's parameters (section 2): training all 14.7 million on 2,000 photos would
# overfit. How far down to unfreeze is a choice per base and data set, so quick mode measures
# it: from the same start it fine-tunes block 5 only, as the book does with VGG16, and then
# the whole digit network (231,624 parameters, pretrained on a few thousand digits, so its
# lower blocks may be far from generic). Full mode fine-tunes VGG16's block 5.

# %% tags=["nbval-check-output"]
def unfreeze_from(first: str) -> list[str]:
    """Make the base trainable from layer `first` up; its conv layers."""
    conv_base.trainable = True
    names = [layer.name for layer in conv_base.layers]
    for layer in conv_base.layers:
        layer.trainable = names.index(layer.name) >= names.index(first)
    return [layer.name for layer in conv_base.layers
            if layer.trainable and isinstance(layer, layers.Conv2D)]


for first in ("block5_conv1", "block1_conv1"):
    convs = unfreeze_from(first)
    tensors = len(model.trainable_weights)
    print(f"from {first}: {len(convs)} conv layers, {convs[0]} to "
          f"{convs[-1]};\n    {tensors} trainable tensors")

# %% [markdown]
# Block 5 alone means 10 trainable tensors in both networks: three kernels, three biases
# (VGG16) or BN shifts (the digit network), and the dense layers' four.
#
# One more thing for a base with **batch normalisation** (chapter 04, section 9). A BN layer in
# training mode normalises each channel with the current batch's mean and variance and moves
# its stored *moving* statistics a little toward them; in inference mode it uses the stored
# ones, here the pretraining data's. In Keras 3 a BN layer that is not trainable always runs in
# inference mode; a trainable one runs in training mode during `fit`. `unfreeze_from` made the
# unfrozen blocks' BN layers trainable. VGG16 has none (it is from 2014, batch normalisation
# from 2015); quick mode's digit network has one after each convolution.
#
# Each fine-tuning starts from the frozen stage's best weights, recompiled (for `trainable` to
# count) with half the learning rate (`LR_FINE`): we only want to nudge good filters.

# %%
start_of_fine_tuning = model.get_weights()  # BN statistics included
FINE_EPOCHS = env.by_mode(quick=15, full=100)


def fine_tune(run_name: str) -> tuple[TrainingRun, float]:
    """Fine-tune from the same start; test accuracy of the best epoch."""
    model.set_weights(start_of_fine_tuning)
    model.compile(optimizer=keras.optimizers.RMSprop(LR_FINE),
                  loss="binary_crossentropy", metrics=["accuracy"])
    print(f"{run_name}: {n_trainable(model):,} trainable parameters")
    run = fit_resumable(model, train_ds, validation_data=val_ds,
                        epochs=FINE_EPOCHS, run_name=run_name)
    model.load_weights(run.best_model_path)
    return run, model.evaluate(test_ds, verbose=0)[1]


# %%
DEPTHS = env.by_mode(quick={"block 5 only": "block5_conv1",
                            "whole base": "block1_conv1"},
                     full={"block 5": "block5_conv1"})
tuned = {}  # how deep -> (run, test accuracy)
for depth, first in DEPTHS.items():
    unfreeze_from(first)
    tuned[depth] = fine_tune(f"07_fine_tuned_from_{first}")
FINE_FROM = first  # the last one: the model below
fine_name = f"fine-tuned, {depth}"
fine_run, fine_test = tuned[depth]

# %%
compare_histories({d: run for d, (run, _) in tuned.items()},
                  title=f"fine-tuning ({data_name})");
for depth, (run, acc) in tuned.items():
    print(f"fine-tuned, {depth}: best epoch {run.best_epoch()}, "
          f"test accuracy {acc:.3f}")
if len(tuned) == 2:
    (d1, (_, a1)), (d2, (_, a2)) = tuned.items()
    print(f"on this run, {d2 if a2 > a1 else d1} won by "
          f"{abs(a2 - a1):.3f}")

# %% [markdown]
# The validation curves jump: with 20 training images an epoch is one step that changes the
# filters, and the BN statistics that validation uses trail behind. So we test the best
# checkpoint, not the last epoch. With ImageNet weights, block 5 is the usual choice: lower
# filters are generic. The digit network's lower blocks learnt from a few thousand digits; the
# lines above say whether adapting them paid here. Below, we keep the last model.
#
# The saved `best.keras` holds the whole path from raw pixels to a probability. Load it and
# give it raw test images, four of each class:

# %%
saved = keras.saving.load_model(fine_run.best_model_path)
test_images, _ = as_arrays(test_ds)
p_label1 = saved.predict(test_images, batch_size=200, verbose=0)[:, 0]
truth = test_labels[:, 0].astype(int)
pick = np.concatenate([np.flatnonzero(truth == c)[:4] for c in (0, 1)])
print(f"pixels going in: {test_images[pick].min():.0f} "
      f"to {test_images[pick].max():.0f}")
print("P(label 1):", np.round(p_label1[pick], 2))
print("labels:    ", truth[pick])

# %% [markdown]
# ### Batch normalisation while fine-tuning, measured
# Keras' transfer-learning guide advises keeping a fine-tuned base's BN layers in inference
# mode, or their updates can wreck what the network learnt. Let us test that: same starting
# weights, data, epochs and learning rate as the whole-base run, one change: the unfrozen
# blocks' BN layers frozen. (Full mode's VGG16 has no BN layer: nothing to compare there.)
#
# **Predict:** which of the two fine-tunings ends with the better test accuracy?

# %%
def moving_means(bns: list) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(bn.moving_mean) for bn in bns]


names = [layer.name for layer in conv_base.layers]
tuned_bn = [layer for layer in conv_base.layers
            if isinstance(layer, layers.BatchNormalization)
            and names.index(layer.name) > names.index(FINE_FROM)]
after = moving_means(tuned_bn)  # the whole-base run's best epoch
model.set_weights(start_of_fine_tuning)
moved = [np.abs(a - b).mean() / np.abs(b).mean()  # relative change
         for a, b in zip(after, moving_means(tuned_bn), strict=True)]

# %%
frozen_bn_test = None
if tuned_bn:
    unfreeze_from(FINE_FROM)
    for layer in tuned_bn:
        layer.trainable = False  # inference mode: pretraining's statistics
    _, frozen_bn_test = fine_tune("07_fine_tuned_bn_frozen")

# %%
print(f"BN layers trainable (the run above): test accuracy {fine_test:.3f}")
print("BN layers frozen (inference mode):   test accuracy",
      "no BN layer" if frozen_bn_test is None else f"{frozen_bn_test:.3f}")
for layer, change in zip(tuned_bn, moved, strict=True):
    print(f"  {layer.name}: moving mean moved by {change:.0%} of its size")
if frozen_bn_test is not None:
    gap = fine_test - frozen_bn_test
    print(f"on this run, BN layers {'trainable' if gap > 0 else 'frozen'} "
          f"won by {abs(gap):.3f}")

# %% [markdown]
# **Answer:** it depends on the run: the last line says which won here. Two
# dangers pull against each other. A frozen BN layer keeps the means and variances that the
# *pretrained* convolutions produced; once the filters under it change (here every one was
# retrained), those numbers no longer describe what flows through it. The trainable ones
# follow (their means moved by the amounts printed), but from small batches, whose statistics
# are noisy. The advice guards against the second danger, the common case of a large base with
# only its top unfrozen. With batch normalisation, try both, as here.
#
# You will also read the advice to call the base as `conv_base(x, training=False)`, so that
# its BN layers stay in inference mode however they are set. This cell asks your Keras:

# %%
probe_base = keras.Sequential([keras.Input((4,)),
                               layers.BatchNormalization()])
probe_in = keras.Input((4,))
probe_out = layers.Dense(1)(probe_base(probe_in, training=False))
probe = keras.Model(probe_in, probe_out)
probe.compile(optimizer="sgd", loss="mse")
probe.fit(np.random.normal(5.0, 3.0, (32, 4)), np.zeros(32), verbose=0)
mean = keras.ops.convert_to_numpy(probe_base.layers[0].moving_mean)
moved_probe = not np.allclose(mean, 0.0)
print(f"Keras {keras.__version__}: after fit, the moving mean of a base\n"
      "called with training=False "
      + ("MOVED: fit's training=True won, the flag was ignored"
         if moved_probe else "stayed at 0: the flag held"))

# %% [markdown]
# Setting `trainable = False` on the BN layers, as in the experiment above, puts them in
# inference mode in every Keras 3 version, whatever the cell above prints for yours.

# %% [markdown]
# ## 7. All three, against training from scratch
# Is borrowing a network worth it? The fair comparison is chapter 06's best model trained from
# scratch (augmentation + dropout) on the same images, trained again here. In quick mode it
# gets as many epochs as the frozen stage and one fine-tuning together, at twice the
# fine-tuning rate: from random weights it has further to go. Full mode uses chapter 06's 1e-4.

# %%
scratch = small_convnet(IMAGE_SIZE, augment=True, flip=FLIP, dropout=True)
LR_SCRATCH = env.by_mode(quick=1e-3, full=1e-4)
scratch.compile(optimizer=keras.optimizers.RMSprop(LR_SCRATCH),
                loss="binary_crossentropy", metrics=["accuracy"])
scratch_run = fit_resumable(
    scratch, train_ds, validation_data=val_ds, run_name="07_scratch",
    epochs=env.by_mode(quick=FROZEN_EPOCHS + FINE_EPOCHS, full=100))
scratch.load_weights(scratch_run.best_model_path)
scratch_test = scratch.evaluate(test_ds, verbose=0)[1]

# %%
base_used = env.by_mode(
    quick="a small digit network pretrained on the other eight digits",
    full="VGG16 with ImageNet weights")
results = {"from scratch (chapter 06)": scratch_test,
           "fast feature extraction": features_test,
           "frozen base + augmentation": augmented_test}
results |= {f"fine-tuned, {d}": acc for d, (_, acc) in tuned.items()}
print(f"{data_name}, {len(train_labels)} training images, "
      f"{len(test_labels)} test images;\n{base_used}")
for name, acc in results.items():
    print(f"  {name:28s} test accuracy {acc:.3f}"
          f" ({acc - scratch_test:+.3f} vs scratch)")
print("best on this run:", max(results, key=results.get))

# %% [markdown]
# In quick mode every way of reusing the pretrained network beats training from scratch for
# the same number of epochs: the checks below assert it. Which reuse wins varies from run to
# run with 20 training images; the table says which won here. Features learnt on eight other digits already separate 4s from 9s fairly well,
# but they were learnt to tell a 3 from an 8; fine-tuning adapts them to the new task.

# %%
gain = fine_test - scratch_test
if ENV.quick:
    env.check("fine-tuning minus scratch, test accuracy", gain,
              at_least=0.15)
    env.check("fast features minus scratch, test accuracy",
              features_test - scratch_test, at_least=0.10)
    env.check("frozen base + augmentation minus scratch, test accuracy",
              augmented_test - scratch_test, at_least=0.08)
    env.check("fine-tuning block 5 only minus scratch, test accuracy",
              tuned["block 5 only"][1] - scratch_test, at_least=0.15)
else:
    env.expect(gain > 0, f"fine-tuning above training from scratch: {results}",
               passed=f"PASS: fine-tuning beat training from scratch by "
                      f"{gain:+.3f}")

# %%
fig, ax = plt.subplots(figsize=(7, 0.5 + 0.5 * len(results)))
colours = ["tab:grey"] + ["tab:blue"] * (len(results) - 1)
ax.barh(list(results), list(results.values()), color=colours)
for i, acc in enumerate(results.values()):
    ax.text(acc, i, f" {acc:.3f}", va="center")
ax.set_xlim(0.5, 1.0)  # 0.5: chance for two classes
ax.invert_yaxis()
ax.set_xlabel("test accuracy (best checkpoint)")
ax.set_title(f"{data_name}, {len(train_labels)} training images: "
             f"{base_used}", fontsize=9);

# %% [markdown]
# Epoch by epoch (the pretrained network's curve joins its frozen and fine-tuned stages):

# %%
pretrained_curve = {k: augmented_run.history[k] + fine_run.history[k]
                    for k in ("val_loss", "val_accuracy")}
compare_histories({"from scratch": scratch_run,
                   "pretrained: frozen, then fine-tuned": pretrained_curve},
                  title=f"validation curves ({data_name})");

# %% [markdown]
# Read quick mode's result for what it is: a head start with a fixed budget and little data.
# On a hard task borrowed features also end further ahead: in full mode, with ImageNet weights
# on the 2,000 real photos, the book reports about 90% validation accuracy for fast extraction,
# about 96% with augmentation, and about 97% **test** accuracy after fine-tuning, against 82%
# for the model trained from scratch (Chollet, *Deep Learning with Python*, 1st ed., §5.3).
#
# The fine-tuned model's mistakes first (in red, with the true class), then right answers
# (green) to fill the grid:

# %%
predicted = (p_label1 > 0.5).astype(int)
wrong = np.flatnonzero(predicted != truth)
right = np.flatnonzero(predicted == truth)
shown = np.concatenate([wrong[:8], right[:16 - len(wrong[:8])]])
print(f"{len(wrong)} of {len(truth)} test images wrong")
show_predictions(test_images[shown].astype("uint8"), truth[shown],
                 predicted[shown], class_names=class_names,
                 title=f"{fine_name} on test images ({data_name})");

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave what they
# are given unchanged (the checks look). Nothing later in the chapter uses your functions, so
# you can skip one and come back. ★ warms up, ★★ needs some thought.

# %%
from course_utils.exercises import ch07

# %% [markdown]
# ### Exercise 7.1 ★ VGG16's preprocessing by hand
# Section 3 let `keras.applications.vgg16.preprocess_input` prepare the images. Do its work
# yourself: `images` is a float array of shape (n, height, width, 3), RGB on the 0..255 scale.
# Reverse the channel order to BGR, then subtract the ImageNet mean colour, which in BGR order
# is (103.939, 116.779, 123.68). No scaling. The check compares your result with Keras'.
# Hint: `images[..., ::-1]` reverses the last axis.

# %%
def vgg_preprocess(images: np.ndarray) -> np.ndarray:
    """RGB images on 0..255 -> BGR with the ImageNet mean colour
    subtracted, same shape."""
    ### BEGIN SOLUTION
    return images[..., ::-1] - np.array([103.939, 116.779, 123.68])
    ### END SOLUTION


# %% tags=["exercise-check"]
ch07.check_vgg_preprocess(vgg_preprocess)

# %% [markdown]
# ### Exercise 7.2 ★★ A fine-tuning schedule
# Section 6 unfroze the top of the base in one go. *Gradual unfreezing* (Howard and Ruder,
# 2018) goes one block at a time: train the new classifier alone for `head_epochs` epochs,
# the base frozen; then unfreeze the base's top block, and one more block every `every`
# epochs, from the top down, never below the block `lowest`; and each time a block is
# unfrozen, divide the learning rate by `factor`, so that the pretrained filters move gently.
# Write `unfreeze_schedule(layer_names, epochs, head_epochs, every, lowest, lr, factor)`.
# `layer_names` are the base's layer names in order (`[l.name for l in conv_base.layers]`);
# a layer belongs to the block its name starts with (`block4_conv2` to `block4`), and a
# layer named otherwise, such as the input, to none. Return one pair per epoch, epochs 1 to
# `epochs`: the name of the base's first trainable layer, that is the first layer of the
# lowest block unfrozen so far (section 6's `FINE_FROM`), or None while the base is frozen;
# and the epoch's learning rate. For VGG16 with `epochs=14, head_epochs=2, every=3,
# lowest="block3", lr=1e-3, factor=2`: epochs 1-2 frozen at 0.001, 3-5 from `block5_conv1`
# at 0.0005, 6-8 from `block4_conv1` at 0.00025, 9-14 from `block3_conv1` at 0.000125.

# %%
def unfreeze_schedule(layer_names, epochs, head_epochs, every, lowest, lr,
                      factor) -> list[tuple[str | None, float]]:
    """(first trainable layer of the base or None, learning rate) per epoch."""
    ### BEGIN SOLUTION
    blocks = list(dict.fromkeys(  # the blocks, first to last
        x.split("_")[0] for x in layer_names if x.startswith("block")))
    top_down = blocks[::-1][:blocks[::-1].index(lowest) + 1]  # top ... lowest
    plan = [(None, lr)] * min(head_epochs, epochs)
    for epoch in range(epochs - head_epochs):  # counted after the head's
        n = min(epoch // every + 1, len(top_down))  # blocks unfrozen
        first = next(x for x in layer_names
                     if x.startswith(top_down[n - 1] + "_"))
        plan.append((first, lr / factor ** n))  # divided once per block
    return plan
    ### END SOLUTION


# %% tags=["exercise-check"]
ch07.check_unfreeze_schedule(unfreeze_schedule)

# %% [markdown]
# ## Recap
# - VGG stacks 3x3 convolutions: two see a 5x5 patch with 18C² weights instead of 25C², with
#   one more non-linearity on the way.
# - Fast feature extraction runs the pretrained base once and trains a small classifier on its
#   output: cheap, but no augmentation (about 90% with VGG16 on cats and dogs).
# - With augmentation the frozen base (`trainable = False`, then compile) sits inside the
#   model, with `preprocess_input`, so the saved `.keras` file takes raw images (about 96%).
# - Fine-tuning unfreezes the top of the base and trains it slowly with the new classifier
#   (about 97% test accuracy); how far down: measure, as section 6 did.
# - A BN layer with `trainable = False` runs in inference mode; `training=False` in the call
#   may not hold in `fit`. Whether to freeze BN while fine-tuning: measure, do not assume.
# - With little data, every way of reusing a pretrained network beat the
#   same convnet trained from scratch.
#
# **Next**: chapter 08 trains classic architectures on CIFAR-10 with a `tf.data` pipeline.
