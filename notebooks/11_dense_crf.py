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
# # 11 · The dense CRF: sharper boundaries for a segmentation network
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/keras-cv-course/keras-cv-course/blob/main/notebooks/11_dense_crf.ipynb)
# [![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-black)](https://github.com/keras-cv-course/keras-cv-course/blob/main/notebooks/11_dense_crf.ipynb)
#
# **What you will learn**
# - why DeepLab put a fully connected CRF after its network: the network knows *what*, the
#   CRF pulls the boundaries onto the image's colour edges
# - the CRF's energy: a unary term from the network, a bilateral and a Gaussian pairwise term,
#   and what the bilateral kernel looks like on a real photo
# - mean-field inference written by hand in NumPy, and checked against `pydensecrf2`
# - how to choose the CRF's parameters on validation images, and what the CRF changes on test
#   images: the pixels near object edges, and mean IoU (measured, whatever the sign)
# - the CRF on a real photo, after a real trained person-segmentation network
#
# **Run time**: quick mode 20-150 s on a 2-core CPU when chapter 10's trained network is in
# the checkpoint folder, 50-210 s when the chapter trains it itself (the lower figures on an
# idle machine, the higher with other work running beside it; generated scenes, a small
# network). Full mode (Oxford-IIIT Pet) loads chapter 10's network, or trains
# it as chapter 10 does; the CRF then runs 800 times on 384x384 photos (choosing its
# parameters, then measuring), which takes 10 to 20 minutes.

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
    quick_data="chapter 10's generated scenes and its small network; "
               "one real photo",
    full_data="chapter 10's Oxford-IIIT Pet network and photos; "
              "the same real photo",
    reference="on PASCAL VOC 2012 val the dense CRF lifted DeepLab-LargeFOV "
              "from 62.25% to 67.64% mean IoU (Chen et al., ICLR 2015)")

# %%
import time
import cv2
import numpy as np
import matplotlib.pyplot as plt
import skimage.data
from course_utils import crf, deeplab, extras, metrics
from course_utils.datasets import announce
from course_utils.plots import (error_map, plot_bilateral_kernel,
                                plot_class_iou, show_segmentations)

# %% [markdown]
# ## 1. Where the CRF comes in
# The first DeepLab paper (Chen, Papandreou, Kokkinos, Murphy and Yuille, ICLR 2015,
# arXiv:1412.7062) observed that the last layer of a deep convolutional network is not
# localised well enough for accurate object boundaries: the pooling and striding that make it
# good at recognising *what* an object is also blur *where* it is. Their fix was to follow the
# network with a **fully connected Conditional Random Field** (Krähenbühl and Koltun, 2011),
# which pulls labels towards the colour edges of the image. On PASCAL VOC 2012 val the CRF
# lifted their DeepLab-LargeFOV network from 62.25% to 67.64% mean IoU; on the test set the
# pair reached 70.3%, and 71.6% with multi-scale features added. Later versions (v3, v3+)
# dropped the CRF once their decoders recovered boundaries well enough. This chapter adds the
# CRF to chapter 10's DeepLabV3+ and measures what it gives there.
#
# ## 2. A segmentation network's probabilities
# The CRF needs what a segmentation network outputs: a probability per class at every pixel.
# The chapter uses chapter 10's DeepLabV3+ on chapter 10's data: training, validation and test
# images. If chapter 10 has finished training in this checkpoint folder, its best model is
# loaded; otherwise the chapter trains the same network the same way (`deeplab.train`) and
# says so.

# %%
from course_utils.datasets.oxford_pets import IGNORE_LABEL, PET_CLASSES
from course_utils.datasets.synthetic import SHAPE_CLASSES

(x_train, y_train), (x_val, y_val), (x_test, y_test) = deeplab.load_data()
class_names = SHAPE_CLASSES if ENV.quick else PET_CLASSES
num_classes, size = len(class_names), x_val.shape[1]
model = deeplab.load_or_train((x_train, y_train), (x_val, y_val), num_classes)

# %% [markdown]
# As in chapter 10, the validation images choose (here, the CRF's parameters) and the test
# images measure. The network's probabilities for both, and its labels (the most probable
# class):

# %%
n_tune, n_eval = 50, env.by_mode(quick=300, full=500)
x_tune, y_tune = x_val[:n_tune], y_val[:n_tune]
x_eval, y_eval = x_test[:n_eval], y_test[:n_eval]
tune_probs = deeplab.predict_probs(model, x_tune)
eval_probs = deeplab.predict_probs(model, x_eval)
eval_pred = deeplab.labels_from_probs(eval_probs)  # argmax, a batch at a time
network_miou = metrics.mean_iou(y_eval, eval_pred, num_classes)
print(f"{n_tune} validation images to choose, {n_eval} test images to "
      f"measure;\ntest mean IoU of the network alone: {network_miou:.4f}")

# %% [markdown]
# Look at the network's outlines, soft because its scores come from a map 4 times coarser
# than the image, interpolated, and at its mixed-up classes: in these scenes every class
# comes in every colour, so only the shape tells a disc from a triangle.

# %%
wrong_pixels = error_map(y_eval[:6], eval_pred[:6])
show_segmentations(x_eval[:6], {"image": None, "truth": y_eval,
                                "network": eval_pred,
                                "wrong pixels (black)": wrong_pixels},
                   class_names=class_names);

# %% [markdown]
# ## 3. The fully connected CRF
# The CRF treats the labels of all pixels as random variables and finds labels $x$ that make
# this energy small:
#
# $$E(x) = \sum_i \psi_u(x_i) + \sum_{i<j} \mu(x_i, x_j)\, k(\mathbf f_i, \mathbf f_j)$$
#
# - the **unary** term $\psi_u(x_i) = -\log P(x_i)$ is the network's opinion of pixel $i$;
# - the **pairwise** term charges $\mu(x_i, x_j) = 1$ when two pixels disagree (Potts model),
#   weighted by how related they are, for **every** pair of pixels (fully connected):
#
# $$k = w_1 \exp\Big(-\frac{|p_i - p_j|^2}{2\theta_\alpha^2} - \frac{|I_i - I_j|^2}{2\theta_\beta^2}\Big)
#      + w_2 \exp\Big(-\frac{|p_i - p_j|^2}{2\theta_\gamma^2}\Big)$$
#
#   The first, **bilateral** (appearance) kernel says that nearby pixels of similar colour $I$
#   should share a label; the second, **Gaussian** kernel removes small isolated specks.
#
# The bilateral kernel on a real photo: scikit-image's astronaut, and one pixel of her orange
# suit. Its weight with every other pixel, first from position $p$ alone, then with colour:

# %%
photo = skimage.data.astronaut()
announce(f"scikit-image's astronaut (Eileen Collins, NASA), a real photo, "
         f"{photo.shape}")
sxy, srgb = 80.0, 13.0  # theta_alpha (pixels), theta_beta (colour levels)
row, col = 330, 150  # a pixel of the orange suit
rows, cols = np.mgrid[:photo.shape[0], :photo.shape[1]]
position = np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / (2 * sxy ** 2))
colour = ((photo.astype(np.float32) - photo[row, col]) ** 2).sum(axis=-1)
appearance = position * np.exp(-colour / (2 * srgb ** 2))
plot_bilateral_kernel(photo, (row, col), position, appearance, sxy, srgb);

# %% [markdown]
# Position alone spreads the pixel's influence over a round patch, whatever is there. Colour
# confines it to the pixels that look like it: the orange suit, not the flag, the helmet or
# the round patch on the chest. The last panel shows why: a weight above 0.5 needs a colour
# distance below about 15 levels, however close the pixels. That is how the CRF follows edges
# it was never told about.
#
# Exact minimisation of $E$ is hopeless, so Krähenbühl and Koltun (2011) use **mean-field**
# inference: keep a distribution $Q_i$ over labels per pixel and repeat: each pixel collects
# the kernel-weighted $Q$ of all other pixels (message passing), adds it to its own unary
# score and takes a softmax. Their trick is to compute the message passing for all pixels at
# once with a fast approximate Gaussian filter (the permutohedral lattice), linear in the
# number of pixels. That is what `pydensecrf2` does; the course wraps it in `crf.dense_crf`,
# whose core is five calls (defaults from `crf.CRFParams`: 5 iterations, Gaussian kernel
# $\theta_\gamma = 3$ px with $w_2 = 3$, bilateral kernel $\theta_\alpha = 20$ px,
# $\theta_\beta = 13$ colour levels, $w_1 = 5$):
#
# ```python
# crf = dcrf.DenseCRF2D(w, h, c)                # width first: pydensecrf's order
# crf.setUnaryEnergy(unary_from_probs(probs))  # -log p as (C, H*W): unary term
# crf.addPairwiseGaussian(sxy=3.0, compat=3.0)  # smoothness kernel
# crf.addPairwiseBilateral(sxy=20.0, srgb=13.0, rgbim=image,
#                          compat=5.0)         # appearance kernel
# q = np.array(crf.inference(5))               # (C, H*W) refined probabilities
# ```
#
# In Colab, `extras.ensure("crf")` compiles `pydensecrf2` the first time (about a minute); if
# it cannot, the chapter goes on with its own mean-field and says so.

# %%
HAVE_PYDENSECRF = crf.available() or extras.ensure("crf")
print("pydensecrf2 available:", HAVE_PYDENSECRF)

# %% [markdown]
# ## 4. Mean-field by hand
# On a 48x48 image there are 2,304 pixels, so every kernel fits in a 2,304 x 2,304 matrix:
# no clever filtering needed. First the two kernels, for all pairs of pixels at once:
# $|a - b|^2 = |a|^2 + |b|^2 - 2a \cdot b$, on features already divided by their widths
# $\theta$.

# %%
def gaussian_kernel(features: np.ndarray) -> np.ndarray:
    """exp(-|f_i - f_j|^2 / 2) for all pairs of rows of `features`."""
    sq = (features ** 2).sum(axis=1)
    dist2 = sq[:, None] + sq[None, :] - 2 * features @ features.T
    return np.exp(-0.5 * np.maximum(dist2, 0))

# %%
def pairwise_kernels(image: np.ndarray, params: crf.CRFParams):
    """The Gaussian (position) and bilateral (position + colour) kernels
    for all pixel pairs."""
    h, w, _ = image.shape
    rows, cols = np.mgrid[0:h, 0:w]
    position = np.stack([rows.ravel(), cols.ravel()], 1).astype(np.float32)
    colour = image.reshape(-1, 3).astype(np.float32)
    smooth = gaussian_kernel(position / params.gaussian_sxy)
    both = np.hstack([position / params.bilateral_sxy,
                      colour / params.bilateral_srgb])
    return smooth, gaussian_kernel(both)

# %% [markdown]
# Then the iterations. Two details make it match `pydensecrf2`: each kernel matrix $K$ is
# normalised symmetrically, $D^{-1/2} K D^{-1/2}$ with $D$ its row sums, and the Potts term is
# applied as a *reward* $+w \cdot (KQ)_i(l)$ for label $l$ rather than a penalty for the
# others: the two differ by the same amount for every label, which the softmax cancels.

# %%
def softmax(energy: np.ndarray) -> np.ndarray:
    e = np.exp(energy - energy.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

# %%
def mean_field(image: np.ndarray, probs: np.ndarray,
               params: crf.CRFParams | None = None) -> np.ndarray:
    """Dense-CRF mean-field with explicit all-pairs kernels: (H, W, C) Q.
    `params` defaults to crf.CRFParams()."""
    params = params or crf.CRFParams()
    h, w, c = probs.shape
    unary = -np.log(np.clip(probs.reshape(-1, c), 1e-5, 1.0))
    weights = (params.gaussian_weight, params.bilateral_weight)
    terms = [(k, 1.0 / np.sqrt(k.sum(axis=1))[:, None], wt)
             for k, wt in zip(pairwise_kernels(image, params), weights)]
    q = softmax(-unary)
    for _ in range(params.iterations):
        messages = sum(wt * norm * (k @ (norm * q)) for k, norm, wt in terms)
        q = softmax(-unary + messages)
    return q.reshape(h, w, c)

# %% [markdown]
# ## 5. Checked against pydensecrf2
# The same images, probabilities and parameters through both, on six validation images. The
# permutohedral lattice only approximates the Gaussian kernels, so the two can differ at a few
# pixels where two labels are nearly tied. Most pixels keep the network's label either way, so
# the telling number is the share of the pixels that either method *changed* that both
# changed the same way. In full mode `crf.shrink` first resizes to 48x48: the explicit kernels
# of a 384x384 image would not fit in memory (147,456 pixels, 21.7 billion pairs).

# %%
check_params = crf.CRFParams()
agreements, changed, same_change, seconds = [], 0, 0, []
for i in range(6):
    image, probs = crf.shrink(x_val[i], tune_probs[i], 48)
    start = time.perf_counter()
    ours = mean_field(image, probs, check_params).argmax(-1)
    seconds.append(time.perf_counter() - start)
    if HAVE_PYDENSECRF:
        theirs = crf.dense_crf(image, probs, check_params).argmax(-1)
        agreements.append(float((ours == theirs).mean()))
        moved = (theirs != probs.argmax(-1)) | (ours != probs.argmax(-1))
        changed += int(moved.sum())
        same_change += int((moved & (ours == theirs)).sum())
print(f"NumPy mean-field: {np.mean(seconds):.2f} s per image, "
      f"{check_params.iterations} iterations")

# %%
if HAVE_PYDENSECRF:
    print("label agreement per image:",
          ", ".join(f"{a:.2%}" for a in agreements))
    print(f"pixels either method relabelled: {changed}; "
          f"relabelled the same way by both: {same_change}")
    env.check("pixels labelled alike by ours and pydensecrf2",
              np.mean(agreements), at_least=0.97)
    env.check("relabelled pixels relabelled alike",
              same_change / max(changed, 1), at_least=0.8)
else:
    print("pydensecrf2 is not installed here, so there is nothing to compare "
          "with: NO CHECK RUN. The rest of the chapter uses the NumPy "
          "mean-field above.")

# %% [markdown]
# ## 6. Does the CRF help? Measured
# DeepLab chose the CRF's weights and widths by cross-validation on held-out images. The same
# here, on a small grid: the validation images choose the parameters, the test images
# measure. Without `pydensecrf2` the chapter falls back to its own mean-field with the default
# parameters on 20 test images (and says so); at full-mode image sizes the all-pairs kernels
# would not fit in memory, so there is no fallback. `crf.refine_labels` runs a CRF over a
# batch of images and times it.

# %%
if HAVE_PYDENSECRF:
    refine, engine = crf.dense_crf, "pydensecrf2"
elif size <= 96:
    refine, engine = mean_field, "the NumPy mean-field (pydensecrf2 missing)"
    n_tune, n_eval = 0, 20
    y_eval, eval_pred = y_eval[:20], eval_pred[:20]
    eval_probs = eval_probs[:20]
else:
    refine, n_tune, n_eval, engine = None, 0, 0, None
    print("pydensecrf2 is not installed and these images are too big for the "
          "all-pairs mean-field: NO CRF TABLE. Install pydensecrf2 "
          "(pip install pydensecrf2) and run again.")

# %%
sxy_grid = env.by_mode(quick=22.0, full=80.0)
grid = [crf.CRFParams(bilateral_sxy=sxy_grid, bilateral_srgb=srgb,
                      bilateral_weight=w1)
        for w1 in (5.0, 10.0) for srgb in (8.0, 13.0, 20.0)]

# %%
best_params = crf.CRFParams()
if refine is not None and n_tune:
    scores = []
    for p in grid:
        labels, _ = crf.refine_labels(refine, x_tune, tune_probs, p)
        scores.append(metrics.mean_iou(y_tune, labels, num_classes))
        print(f"w1={p.bilateral_weight:4.1f} theta_alpha={p.bilateral_sxy:.0f}"
              f" theta_beta={p.bilateral_srgb:4.1f}: mIoU {scores[-1]:.4f}")
    best_params = grid[int(np.argmax(scores))]
    alone = deeplab.labels_from_probs(tune_probs)
    print(f"network alone on these {n_tune} validation images: "
          f"{metrics.mean_iou(y_tune, alone, num_classes):.4f}")
b = best_params
print(f"chosen: w1={b.bilateral_weight}, theta_alpha={b.bilateral_sxy}, "
      f"theta_beta={b.bilateral_srgb}")

# %% [markdown]
# With the parameters chosen, the test images are measured once, class by class:

# %%
if refine is not None:
    crf_eval, seconds_per_image = crf.refine_labels(
        refine, x_eval[:n_eval], eval_probs, best_params)
    cm = metrics.confusion_matrix
    before = metrics.per_class_iou(cm(y_eval, eval_pred, num_classes))
    after = metrics.per_class_iou(cm(y_eval, crf_eval, num_classes))
    miou_before = float(np.nanmean(before))
    miou_after = float(np.nanmean(after))

# %%
if refine is not None:
    print(f"{len(y_eval)} test images, {size}x{size}, CRF by {engine}, "
          f"mode {ENV.mode}\n")
    print(f"{'':22s}{'network':>10s}{'+ CRF':>10s}{'change':>10s}")
    for name, b, a in zip(class_names, before, after):
        print(f"{'IoU ' + name:22s}{b:10.4f}{a:10.4f}{a - b:+10.4f}")
    print(f"{'mean IoU':22s}{miou_before:10.4f}{miou_after:10.4f}"
          f"{miou_after - miou_before:+10.4f}")
    print(f"\nCRF time per image: {seconds_per_image * 1000:.1f} ms "
          f"({best_params.iterations} mean-field iterations)")

# %% [markdown]
# The same table as bars, class by class:

# %%
if refine is not None:
    data_title = "generated scenes (quick)" if ENV.quick else "Oxford-IIIT Pet"
    title = f"IoU per class on {len(y_eval)} test images, {data_title}"
    plot_class_iou({"network": before, "network + CRF": after}, class_names,
                   title=title);

# %% [markdown]
# What can the CRF do for these scenes? Its bilateral kernel knows colour edges, not classes.
# The generated objects are flat patches of colour with crisp edges, so where the network has
# the right class and a soft outline, the CRF can snap the outline onto the edge. But a disc,
# a triangle and a cross take their colours from the same range: where the network named the
# wrong class, no colour can correct it, and the CRF may even spread the wrong label over the
# whole patch. So look at where the CRF acts: at the pixels within 2 of a true class edge
# (dilating and eroding the true mask finds them), and at all the others.

# %%
if refine is not None:
    counted = y_eval != IGNORE_LABEL
    grow = np.ones((5, 5), np.uint8)  # 2 pixels each way
    near = np.stack([cv2.dilate(m, grow) != cv2.erode(m, grow)
                     for m in y_eval]) & counted  # dilation, erosion differ
    far, moved = counted & ~near, crf_eval != eval_pred
    wrong = (eval_pred != y_eval) & counted
    print(env.fit_page(
        f"{near.sum() / counted.sum():.1%} of the pixels lie within 2 of a "
        f"true edge, {(wrong & near).sum() / wrong.sum():.0%} of the "
        f"network's wrong ones; the CRF relabelled {moved[near].mean():.1%} "
        f"of the pixels near edges, {moved[far].mean():.1%} of the others"))

# %%
if refine is not None:
    accuracy = {}
    for name, labels in (("network", eval_pred), ("network + CRF", crf_eval)):
        right = labels == y_eval
        accuracy[name] = (float(right[near].mean()), float(right[far].mean()))
        print(f"{name:14s} pixel accuracy near edges {accuracy[name][0]:.2%}, "
              f"elsewhere {accuracy[name][1]:.2%}")

# %% [markdown]
# On the generated scenes the cell below checks three results, each against a bound: the
# tuned CRF relabels a good share of the pixels near true edges, raises the accuracy there,
# and raises mean IoU. On real photos nothing is checked: the table is the answer.

# %%
gain = miou_after - miou_before if refine is not None else float("nan")
print(f"mean IoU change from the CRF: {gain:+.4f}")
if ENV.quick and HAVE_PYDENSECRF:
    edge_gain = accuracy["network + CRF"][0] - accuracy["network"][0]
    env.check("share of the pixels near true edges relabelled by the CRF",
              moved[near].mean(), at_least=0.1)
    env.check("accuracy gain near true edges", edge_gain, at_least=0.05)
    env.check("mean IoU gain from the CRF", gain, at_least=0.04)

# %% [markdown]
# Read the table as it came out. In quick mode the network's outlines are soft (its scores
# come from a 12x12 map) and the objects' edges are crisp, which is what the CRF was designed
# for: near the edges it helps, and that is where many of the network's wrong pixels lie (the
# lines above say how many). What it cannot fix is the class: where the network took part of
# a cross for a triangle, no colour edge separates the two, so the CRF leaves the mistake, or
# spreads it over the patch.
# On real photos edges are weaker and colours vary inside objects. In the DeepLab paper the
# CRF lifted the DeepLab-LargeFOV network from 62.25% to 67.64% mean IoU on VOC 2012 val
# (Chen et al., 2015), after a network that named the classes far better than ours. Here are
# the first test images:

# %%
if refine is not None:
    truth, network = y_eval[:6], eval_pred[:6]
    rows = {"image": None, "truth": truth, "network": network,
            "wrong (black), network": error_map(truth, network),
            "network + CRF": crf_eval[:6],
            "wrong (black), + CRF": error_map(truth, crf_eval[:6])}
    show_segmentations(x_eval[:6], rows, class_names=class_names);

# %% [markdown]
# ## 7. A real photo, a real network
# Back to the astronaut photo, the same in both modes, with a network trained on far more data
# than this course can: MediaPipe's person-segmentation model. It ships as a `.tflite` file
# inside the `mediapipe` 0.10.21 package (the setup took that one file from it); TensorFlow's
# own interpreter runs it. It works at 256x256, so its mask, resized to the 512x512 photo, has
# soft edges; the CRF, with the bilateral kernel of section 3, then snaps them to the photo's
# colour edges. There is no ground truth for this photo: judge by eye.

# %%
from course_utils.pretrained import person_probability

person = person_probability(photo) if extras.person_model_ready() else None
if person is None:
    print("MediaPipe's person model is missing (the setup cell said why): "
          "no real photo here")

# %%
photo_params = crf.CRFParams(bilateral_sxy=sxy, bilateral_srgb=srgb,
                             bilateral_weight=10.0)
if HAVE_PYDENSECRF and person is not None:
    photo_probs = np.stack([1.0 - person, person], axis=-1)
    start = time.perf_counter()
    photo_crf = crf.dense_crf(photo, photo_probs, photo_params).argmax(-1)
    print(f"CRF on 512x512: {time.perf_counter() - start:.2f} s; "
          f"{np.mean(photo_crf != (person > 0.5)):.2%} of the pixels changed "
          f"label")
else:
    photo_crf = None
    if person is not None:
        print("pydensecrf2 is not installed: a 512x512 image is too big "
              "for the all-pairs mean-field, so no CRF here")

# %% [markdown]
# The outlines on the head and shoulders, where the edges are; every panel shows the same
# crop of the photo (rows 20-250, columns 130-360):

# %%
crop = (slice(20, 250), slice(130, 360))
panels = [("the photo (crop)", None)]
if person is not None:
    panels.append(("MediaPipe, threshold 0.5", person > 0.5))
if photo_crf is not None:
    panels.append(("after the CRF", photo_crf))
fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4))
for ax, (title, mask) in zip(np.atleast_1d(axes), panels):
    ax.imshow(photo[crop])
    if mask is not None:
        ax.contour(mask[crop].astype(float), levels=[0.5], colors="yellow",
                   linewidths=1.5)
    ax.set_title(title)
    ax.axis("off")
plt.tight_layout()

# %% [markdown]
# ## Exercises
# Each exercise asks for one function. Replace `raise NotImplementedError()` with your code, run
# the cell, then run the check below it. A check tests your function on fresh random inputs
# against the course's own answer and prints **PASS**, **FAIL** with the numbers that show what
# is wrong, or **NOT DONE** while the stub is still there. Your functions must leave the arrays
# they are given unchanged (the checks look). Nothing later in the chapter uses your functions,
# so you can skip one and come back. ★ warms up, ★★ needs some thought, ★★★ stretches.

# %%
from course_utils.exercises import ch11

# %% [markdown]
# ### Exercise 11.1 ★ The unary term, as pydensecrf wants it
# Section 3's five calls start with `crf.setUnaryEnergy(unary_from_probs(probs))`. Write that
# conversion yourself: `unary_energy(probs, clip)` takes the network's (H, W, C) probabilities
# and returns $\psi_u = -\log p$ as a float32 array of shape (C, H*W): one row per class, the
# pixels in row-major order (pixel `i * W + j` is image pixel `(i, j)`). A network can be
# certain, so some probabilities are exactly 0: clip them to `[clip, 1]` first. The check
# compares with the course's `crf.unary_from_probs`. Hint: reshape first, transpose second; a
# transpose only changes how NumPy reads the memory, and pydensecrf reads the memory itself, so
# finish with `np.ascontiguousarray` (C-contiguous: each row stored in one piece).

# %%
def unary_energy(probs: np.ndarray, clip: float = 1e-5) -> np.ndarray:
    """-log of the clipped probabilities, float32, shape (C, H*W)."""
    ### BEGIN SOLUTION
    h, w, c = probs.shape
    energy = -np.log(np.clip(probs, clip, 1.0)).astype(np.float32)
    return np.ascontiguousarray(energy.reshape(h * w, c).T)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch11.check_unary(unary_energy)

# %% [markdown]
# ### Exercise 11.2 ★★ The energy of a labelling
# Mean-field looks for labels with a small energy $E(x)$ (section 3). Compute it: write
# `crf_energy(unary, labels, kernel)` for $N$ pixels, where `unary` is $(N, C)$ with
# $\psi_u(x_i = l)$ at `[i, l]`, `labels` holds one label $x_i$ per pixel, and `kernel` is the
# symmetric $(N, N)$ matrix of the pairwise weights $k(\mathbf f_i, \mathbf f_j)$ (the two
# kernels, weights included). With the Potts model a pair costs $k_{ij}$ when its two labels
# differ, and each pair $i < j$ counts once. No Python loop is needed: compare `labels` with
# itself by broadcasting, as section 4 compares features.

# %%
def crf_energy(unary: np.ndarray, labels: np.ndarray,
               kernel: np.ndarray) -> float:
    """E(x): sum_i unary[i, x_i] + kernel[i, j] for each pair i < j that
    disagrees (x_i != x_j)."""
    ### BEGIN SOLUTION
    own = unary[np.arange(len(labels)), labels].sum()
    disagree = labels[:, None] != labels[None, :]
    # the sum over all (i, j) counts each pair twice
    return float(own + (kernel * disagree).sum() / 2)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch11.check_energy(crf_energy)

# %% [markdown]
# ### Exercise 11.3 ★★★ A mean-field step with any compatibility
# Section 4's mean-field uses the Potts model, where every disagreement costs the same. A
# compatibility matrix $\mu$ (C x C) can charge some label pairs more than others (a cat pixel
# next to a dog pixel is less likely than a cat next to the background). One mean-field step
# then computes, for pixel $i$ and label $l$,
#
# $$\text{energy}_i(l) = \psi_u(l) + \sum_m w_m \sum_{l'} \mu(l, l')\,(\tilde K_m Q)_i(l'),
#   \qquad Q_i^{\text{new}} = \operatorname{softmax}(-\text{energy}_i),$$
#
# with $\tilde K_m = D^{-1/2} K_m D^{-1/2}$ normalised as in section 4. Write
# `mean_field_step(unary, q, kernels, weights, compat)`: `unary` and `q` are (N, C), `kernels`
# a list of (N, N) kernel matrices with their `weights`, `compat` is $\mu$; return the new
# (N, C) $Q$. The check runs it with the Potts $\mu = 1 - I$, where it must agree with
# section 4's reward form (why? the softmax), and with an asymmetric $\mu$. Hint: for all
# pixels at once the inner sum over $l'$ is one matrix product with `compat`; mind which side.

# %%
def mean_field_step(unary: np.ndarray, q: np.ndarray,
                    kernels: list[np.ndarray], weights: list[float],
                    compat: np.ndarray) -> np.ndarray:
    """One update: softmax(-(unary + sum_m w_m (K~_m Q) mu^T)), (N, C)."""
    ### BEGIN SOLUTION
    energy = unary.copy()
    for kernel, weight in zip(kernels, weights):
        norm = 1.0 / np.sqrt(kernel.sum(axis=1))[:, None]
        energy += weight * (norm * (kernel @ (norm * q))) @ compat.T
    return softmax(-energy)
    ### END SOLUTION


# %% tags=["exercise-check"]
ch11.check_mean_field_step(mean_field_step)

# %% [markdown]
# ## Recap
# - DeepLab v1 followed its network with a fully connected CRF: a unary term from the network
#   and a bilateral + Gaussian pairwise term over every pair of pixels (62.25% -> 67.64% mean
#   IoU on VOC 2012 val in the paper).
# - The bilateral kernel weighs a pair of pixels by their distance *and* their colour
#   difference, so a pixel's influence stops at colour edges.
# - Mean-field inference is a few lines of NumPy with explicit kernels; `pydensecrf2` does
#   the same in milliseconds with an approximate filter, and the two agree (checked above).
# - The CRF's widths and weights are chosen on validation images, then measured on test
#   images. Whether the CRF helps is a measurement, not a promise: the table above says how
#   much.
# - The CRF works with colour edges, not classes: on the generated scenes it moves outlines
#   near the edges, but it cannot correct a wrong class where colour does not give it away.
# - A network trained elsewhere (MediaPipe's) can be refined the same way: the CRF needs only
#   probabilities and the image.
#
# **Next**: chapter 12 moves from labelling pixels to finding objects: boxes, IoU, YOLO, SSD
# and non-max suppression.
