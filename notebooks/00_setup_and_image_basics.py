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
# # 00 · Setup and image basics
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/00_setup_and_image_basics.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/00_setup_and_image_basics.ipynb)
#
# **What you will learn**
# - how every chapter starts: the setup cell, the run modes (`full` and `quick`), where data and
#   checkpoints live, and how to get a GPU and keep your work on Google Drive in Colab
# - what an image is to a program: an array of shape (height, width, channels)
# - reading, writing and resizing images with OpenCV, and what the interpolation methods do
# - image pyramids: `pyrDown` and `pyrUp`
# - the BGR-versus-RGB trap, and how Keras turns an image file into an array
#
# **Run time**: quick mode 6-40 s on a 2-core CPU (the lower figure on an idle machine, the
# higher with other work running beside it); full mode the same: both use the same photos, and
# nothing is downloaded.

# %% [markdown]
# ## Setup
# Every chapter begins with this cell. In a fresh Colab runtime it fetches the course helpers
# (`course_utils`) and installs the few packages Colab lacks; everywhere, it seeds the random
# generators, hides TensorFlow's start-up noise, and prints what it found.

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
env.banner(quick_data="photos shipped with scikit-image (nothing downloaded)",
           full_data="photos shipped with scikit-image (nothing downloaded)")

# %% [markdown]
# What those lines mean:
# - **running in**: `colab`, `local`, or `ci` (the instructors' automatic check).
# - **GPU**: the GPU (or TPU) the backend sees, or `none: CPU`. Every chapter runs on a CPU; a
#   GPU makes the full-mode training chapters (05 onwards) many times faster.
# - **mode**: `full` uses the real data sets and pretrained weights (downloaded once into the
#   data folder) and trains for the real number of epochs. `quick` never touches the network: it
#   uses small real data that ships inside Python packages, or a generated stand-in with the same
#   layout, and trains briefly. Choose with the environment variable `COURSE_MODE` before
#   starting Jupyter (`COURSE_MODE=quick jupyter lab`). Every chapter says which data it used.
# - **data folder / checkpoint folder**: where downloads and trained models go.
#
# ### Is there a GPU?
# Keras computes with one of three frameworks, its *backend*: TensorFlow (the course's default),
# JAX (what Colab's TPU runtime has) or PyTorch. The setup cell printed which one this run uses.
# Each framework lists the devices it can compute on in its own way. Ask it for accelerators
# yourself; the setup cell asked the same question. Only the cell for this run's backend runs.

# %%
from course_utils import backends

if backends.runs_on("tensorflow", "TensorFlow's device list"):
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_physical_devices()]
    accelerators = len(tf.config.list_physical_devices("GPU"))
    print("devices TensorFlow sees:", devices)

# %%
if backends.runs_on("jax", "JAX's device list"):
    import jax

    devices = [f"{d.platform}:{d.id}" for d in jax.devices()]
    accelerators = sum(d.platform != "cpu" for d in jax.devices())
    print("devices JAX sees:", devices)

# %%
if backends.runs_on("torch", "PyTorch's device list"):
    import torch

    accelerators = torch.cuda.device_count()
    print("CUDA GPUs PyTorch sees:", accelerators)

# %%
print("GPUs or TPUs:", accelerators)
setup_saw_one = ENV.gpu != "none: CPU"  # what the setup cell printed
assert (accelerators > 0) == setup_saw_one, "setup and backend disagree"
print(f"PASS: {accelerators} here, and the setup cell said GPU: {ENV.gpu}")

# %% [markdown]
# The framework places each computation on the accelerator when there is one, without being
# told. An array remembers where it was computed: on a GPU runtime this prints a GPU device.

# %%
import keras

x = keras.random.normal((1000, 1000), seed=0)
y = keras.ops.matmul(x, x)
print("x @ x was computed on", y.device)

# %% [markdown]
# No GPU? In Colab choose *Runtime → Change runtime type → T4 GPU*. The runtime restarts, so run
# the setup cell again, then this section.
#
# ### Keeping your work on Google Drive (Colab)
# A Colab runtime is wiped when it disconnects. Mounting Google Drive makes your Drive a folder
# of the runtime, `/content/drive/MyDrive`. Mounting asks you to sign in, so it never happens by
# itself: set `USE_DRIVE = True` in Colab and run the cell.

# %%
USE_DRIVE = False  # True in Colab: files go to MyDrive/keras-cv-course
if USE_DRIVE:
    from google.colab import drive
    drive.mount("/content/drive")  # opens a sign-in window
    assert env.drive_mounted(), "Drive not mounted: run again, sign in"
    print("PASS: Drive is mounted at /content/drive/MyDrive")
print("checkpoints go to:", env.checkpoint_dir())
print("downloads go to:  ", env.downloads_dir())

# %% [markdown]
# Once Drive is mounted, the course's folder functions see it: checkpoints and downloaded
# archives go to `MyDrive/keras-cv-course`, so a disconnect costs at most the epoch in progress
# and the few seconds of training before it.
# Unpacked images stay on the runtime's own disk, which is much faster than Drive for many small
# files; they are rebuilt from the archives on Drive when needed. Later chapters do the same in
# one line, `env.mount_drive()`.

# %% [markdown]
# ## 1. An image is an array
# We use real photographs that ship with scikit-image, so nothing needs downloading. First we
# write one to disk as a JPEG file, the way your own photos arrive.

# %%
import cv2
import matplotlib.pyplot as plt
import numpy as np
import skimage.data

work = env.data_dir() / "chapter00"
work.mkdir(exist_ok=True)
astronaut = skimage.data.astronaut()  # RGB, as most Python libraries give it
print(type(astronaut).__name__, astronaut.shape, astronaut.dtype,
      astronaut.min(), astronaut.max())

# %% [markdown]
# Height 512, width 512, 3 colour channels, one byte (0-255) per channel. A grey image has no
# channel axis, or one of size 1. The pixel at row 100, column 200 is three numbers:

# %%
print("pixel (100, 200):", astronaut[100, 200], " (red, green, blue)")
plt.figure(figsize=(4, 4))
plt.imshow(astronaut)
plt.title("astronaut: 512 x 512 x 3")
plt.axis("off");

# %% [markdown]
# ## 2. Reading and writing with OpenCV, and the BGR trap
# `cv2.imwrite(path, array)` writes a file and `cv2.imread(path)` reads one. OpenCV stores colour
# pixels in **BGR** order, blue first. Give it an RGB array and the file has red and blue swapped.
# **Predict:** the cell below writes the file correctly, reads it back with OpenCV, and shows the
# array once as it is and once converted. In the wrong picture, what colour will the orange
# spacesuit and the red-white-blue flag behind the astronaut come out?

# %%
path = work / "astronaut.jpg"
cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))  # to BGR
bgr = cv2.imread(str(path))  # OpenCV reads BGR
print("read back:", bgr.shape, bgr.dtype)

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
shown = {"BGR shown as if RGB (wrong)": bgr,
         "converted to RGB": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)}
for ax, (title, image) in zip(axes, shown.items()):
    ax.imshow(image); ax.set_title(title); ax.axis("off")

# %% [markdown]
# **Answer:** red and blue swap places. The orange suit comes out blue, the flag's red stripes
# blue and its blue field reddish; white stays white (its red, green and blue are equal), and the
# skin and hair turn a cold blue-grey.
#
# Converting BGR to RGB is nothing but reversing the channel axis. JPEG is lossy, so the file is
# close to the original but not equal to it:

# %%
rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
assert np.array_equal(rgb, bgr[..., ::-1]), "BGR2RGB is not a channel reversal"
print("cvtColor(BGR2RGB) == bgr[..., ::-1]: PASS")
jpeg_error = np.abs(rgb.astype(int) - astronaut).mean()
print(f"mean |JPEG - original| = {jpeg_error:.2f} grey levels")

# %% [markdown]
# ## 3. Resizing and interpolation
# `cv2.resize(img, (width, height), interpolation=...)` takes the size as **(width, height)**,
# the opposite of the array's (height, width). When enlarging, the method decides how new pixels
# are invented: `INTER_NEAREST` copies the closest pixel (blocky), `INTER_LINEAR` blends the 4
# nearest, `INTER_CUBIC` fits a curve through 16. When shrinking, `INTER_AREA` averages the
# pixels each output pixel covers, which avoids jagged edges. Enlarging by a whole factor, it
# has nothing to average and copies pixels exactly as `INTER_NEAREST` does (the cell checks it).

# %%
crop = astronaut[60:124, 190:254]  # a 64x64 crop around the face
names = ("INTER_NEAREST", "INTER_LINEAR", "INTER_CUBIC", "INTER_AREA")
big = {name: cv2.resize(crop, (256, 256), interpolation=getattr(cv2, name))
       for name in names}
fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
for ax, (name, image) in zip(axes, big.items()):
    ax.imshow(image); ax.set_title(f"64 -> 256, {name}"); ax.axis("off")
assert np.array_equal(big["INTER_AREA"], big["INTER_NEAREST"])
print("enlarging 4 times: INTER_AREA == INTER_NEAREST, pixel for pixel: PASS")

# %% tags=["nbval-check-output"]
wide = cv2.resize(astronaut, (300, 150), interpolation=cv2.INTER_AREA)
print("cv2.resize(img, (300, 150)) ->", wide.shape, " (height 150, width 300)")

# %% [markdown]
# ## 4. Image pyramids: `pyrDown` and `pyrUp`
# `cv2.pyrDown` blurs the image with a small Gaussian and drops every other row and column: half
# the width, half the height, **a quarter of the area**. `cv2.pyrUp` goes the other way, doubling
# each side. Blurring first is what makes `pyrDown` look smoother than just skipping pixels.
# Sizes that are odd round up: `(n + 1) // 2`.

# %% tags=["nbval-check-output"]
down = cv2.pyrDown(astronaut)
up = cv2.pyrUp(down)
print("original      ", astronaut.shape)
area = down.shape[0] * down.shape[1] / (512 * 512)
print("pyrDown       ", down.shape, f" area ratio {area}")
print("pyrUp(pyrDown)", up.shape)
cat = skimage.data.chelsea()
print("chelsea", cat.shape, "-> pyrDown", cv2.pyrDown(cat).shape,
      "-> pyrUp", cv2.pyrUp(cv2.pyrDown(cat)).shape)

# %% [markdown]
# Going down and back up loses detail that cannot come back: the round trip is blurrier.

# %%
faces = {"original 512": astronaut[40:168, 160:288],  # the same face in each
         "pyrDown 256": down[20:84, 80:144],
         "pyrUp(pyrDown) 512": up[40:168, 160:288]}
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
for ax, (title, face) in zip(axes, faces.items()):
    ax.imshow(face); ax.set_title(title); ax.axis("off")
round_trip = np.abs(up.astype(int) - astronaut).mean()
print(f"mean |round trip - original| = {round_trip:.2f} grey levels")

# %% [markdown]
# ## 5. From a file to a Keras input
# Keras has its own loaders, which return RGB and can resize on the way in:
# `keras.utils.load_img` opens the file (a PIL image) and `keras.utils.img_to_array` turns it
# into a float32 array of shape (height, width, channels). A model wants a **batch**, so we add
# a leading axis of size 1.

# %% tags=["nbval-check-output"]
import keras

pil_image = keras.utils.load_img(path, target_size=(150, 150))
array = keras.utils.img_to_array(pil_image)
batch = np.expand_dims(array, axis=0)
print(type(pil_image).__name__, pil_image.size, "(width, height)")
print("img_to_array:", array.shape, array.dtype)
print("batch:       ", batch.shape)

# %% [markdown]
# Keras' loader gave RGB: its array equals OpenCV's image once OpenCV's is converted from BGR
# and resized *the same way*. "Nearest neighbour" is not one rule: Keras (through Pillow) takes
# the source pixel under the centre of each new pixel, and so does OpenCV's
# `INTER_NEAREST_EXACT`; OpenCV's older `INTER_NEAREST` rounds down, so it takes a pixel up to
# one step to the left and above.

# %%
def opencv_like_keras(flag: int) -> np.ndarray:
    return cv2.resize(rgb, (150, 150), interpolation=flag).astype("float32")

apart, swapped = {}, {}
print(f"{'mean |keras - opencv(RGB)|':>46s}   channels swapped")
for name in ("INTER_NEAREST_EXACT", "INTER_NEAREST"):
    same_size = opencv_like_keras(getattr(cv2, name))
    apart[name] = np.abs(array - same_size).mean()
    swapped[name] = np.abs(array - same_size[..., ::-1]).mean()
    print(f"{name:19s} {apart[name]:26.2f}   {swapped[name]:16.2f}")
assert np.array_equal(array, opencv_like_keras(cv2.INTER_NEAREST_EXACT))
assert min(swapped.values()) > max(apart.values())
print("load_img == imread + BGR2RGB + resize(INTER_NEAREST_EXACT): PASS")

# %% [markdown]
# Equal, pixel for pixel, with the same resampling rule. With OpenCV's older rule they differ
# (the second row): on a detailed photo, the pixel one step away is often quite another colour.
# With the channels swapped they are further apart still, whatever the rule: a BGR/RGB mix-up
# is never a small error.

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer (here mostly OpenCV's) and prints **PASS**, **FAIL** with the
# numbers that show what is wrong, or **NOT DONE** while the stub is still there. Your
# functions must leave the arrays they are given unchanged (the checks look). Nothing later
# in the chapter uses your functions, so you can skip one and come back. ★ warms up, ★★ needs
# some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch00

# %% [markdown]
# ### Exercise 0.1 ★ Grey levels from a BGR image
# A grey level weighs the three colours by how bright they look to us:
# $0.299\,R + 0.587\,G + 0.114\,B$ (green looks brightest, blue darkest). Write
# `bgr_to_grey(bgr)`: it takes a uint8 image of shape (height, width, 3) as `cv2.imread` returns
# it and gives the uint8 grey image of shape (height, width), rounded to the nearest level, as
# `cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)` does. Hint: a matrix product of the image with a vector
# of 3 weights sums over the channel axis; mind which channel comes first.

# %%
def bgr_to_grey(bgr: np.ndarray) -> np.ndarray:
    """Grey (height, width) uint8 image of a BGR uint8 image:
    0.299 R + 0.587 G + 0.114 B."""
    ### BEGIN SOLUTION
    weights = np.array([0.114, 0.587, 0.299])  # in B, G, R order
    grey = bgr.astype(np.float64) @ weights
    return np.rint(grey).astype(np.uint8)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch00.check_bgr_to_grey(bgr_to_grey)

# %% [markdown]
# ### Exercise 0.2 ★★ Halve an image by averaging 2x2 blocks
# `pyrDown` blurs, then keeps every other pixel. A plainer way to halve each side is to replace
# every 2x2 block of pixels by its mean; that is what `cv2.resize` with `INTER_AREA` does at
# exactly half size. Write `halve(img)` for a float image of shape (height, width, channels) with
# even height and width, without loops; it returns (height / 2, width / 2, channels). Hint:
# `reshape` can split the height axis into (height / 2, 2) and the width axis likewise; then
# average over the two new axes of size 2.

# %%
def halve(img: np.ndarray) -> np.ndarray:
    """Mean of every 2x2 block of a (height, width, channels) image,
    height and width even."""
    ### BEGIN SOLUTION
    h, w, c = img.shape
    return img.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))
    ### END SOLUTION


# %% tags=["exercise-check"]
ch00.check_halve(halve)

# %% [markdown]
# ### Exercise 0.3 ★★★ Photos of any size, one batch for Keras
# A model takes a batch of equal-sized RGB float images. Write `to_keras_batch(images, size)`:
# `images` is a list of BGR uint8 photos as `cv2.imread` gives them, each of its own height and
# width. For each photo, cut out the largest square in its centre (for a wide photo of width
# $w$ and height $h$, the columns from $(w - h) // 2$ on, which rounds down when $w - h$ is
# odd; likewise rows for a tall one), resize the square to `size` x `size` with `INTER_AREA`,
# and convert it to RGB. Return one float32 array of shape (number of photos, `size`, `size`,
# 3); converting to float before or after the resize are both fine. Hint: `np.stack` turns a
# list of equal-shaped arrays into one array with a new first axis.

# %%
def to_keras_batch(images: list, size: int) -> np.ndarray:
    """Centre squares of BGR photos, resized to size x size, as one RGB
    float32 batch."""
    ### BEGIN SOLUTION
    batch = []
    for bgr in images:
        h, w = bgr.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = bgr[top:top + side, left:left + side]
        small = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
        batch.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    return np.stack(batch).astype(np.float32)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch00.check_keras_batch(to_keras_batch)

# %% [markdown]
# ## Recap
# - Run the setup cell first in every chapter; it tells you the mode, GPU and folders. In Colab,
#   pick a GPU runtime and set `USE_DRIVE = True` so your work survives a disconnect.
# - An image is an array (height, width, channels) of 0-255 values; models want float batches.
# - OpenCV reads and writes **BGR**; convert with `cv2.cvtColor` (or reverse the last axis).
# - `cv2.resize` takes (width, height); `INTER_AREA` to shrink, `INTER_LINEAR`/`INTER_CUBIC`
#   to enlarge. `pyrDown` halves each side (a quarter of the area), `pyrUp` doubles it.
# - `keras.utils.load_img` + `keras.utils.img_to_array` give RGB float32 arrays.
#
# **Next**: chapter 01 classifies images with the simplest possible idea: find the most similar
# picture you have already seen.
