"""Semantic segmentation data for chapter 10.

full:  the Oxford-IIIT Pet data set (Parkhi et al., 2012) through the course registry: 7,349
       photos of cats and dogs with pixel trimaps. Trimap 1 (pet) becomes class 1, 2
       (background) class 0, 3 (the uncertain border) the ignore label 255, as PASCAL VOC
       marks its object borders. The official trainval list trains, the test list validates.
quick: generated 64x64 scenes: discs, triangles and crosses (classes 1-3), flat-shaded in
       colours that lean towards a hue per class (reddish, greenish, bluish; widely varied),
       on textured clutter of any colour (class 0), with exact masks; deterministic per seed.
       Plus real photos for the CRF demonstration: scikit-image's astronaut, segmented by
       MediaPipe's person-segmentation model (`selfie_segmentation.tflite`, taken from the
       `mediapipe==0.10.21` wheel by `course_utils.extras` and run by TensorFlow's
       `tf.lite.Interpreter`).

Every loader returns uint8 arrays: images (N, H, W, 3) RGB and masks (N, H, W) of class ids.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from course_utils import env
from course_utils.datasets import Split, announce
from course_utils.download import fetch

IGNORE_LABEL = 255
SHAPE_CLASSES = ("background", "disc", "triangle", "cross")
PET_CLASSES = ("background", "pet")


# --- quick: generated shapes on clutter --------------------------------------------------


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a cells x cells random grid, bicubically enlarged."""
    import cv2

    grid = rng.random((cells, cells), dtype=np.float32)
    return np.clip(cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


@functools.lru_cache(maxsize=4)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of a size x size image, as float32."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return yy, xx


def _texture(rng: np.random.Generator, size: int, base: np.ndarray) -> np.ndarray:
    """A size x size RGB float texture around colour `base`: blotches, or stripes."""
    if rng.random() < 0.5:
        pattern = _smooth_noise(rng, size, int(rng.integers(3, 9)))
    else:
        yy, xx = _grid(size)
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 12)
        pattern = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    tint = rng.uniform(-60, 60, size=3).astype(np.float32)
    return base[None, None, :] + (pattern[..., None] - 0.5) * tint[None, None, :] * 1.5


def _shape_mask(rng: np.random.Generator, size: int, kind: int) -> np.ndarray:
    """A filled disc (1), triangle (2) or plus-shaped cross (3) at a random place and size."""
    import cv2

    mask = np.zeros((size, size), np.uint8)
    r = rng.uniform(0.15, 0.3) * size
    cx, cy = rng.uniform(r, size - r, size=2)
    if kind == 1:
        cv2.circle(mask, (int(round(cx)), int(round(cy))), int(round(r)), 1, thickness=-1)
        return mask
    tilt = rng.uniform(-0.3, 0.3)  # near upright, so the classes stay easy to tell apart
    if kind == 2:
        angles = -np.pi / 2 + tilt + np.arange(3) * 2 * np.pi / 3
        polygons = [np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], axis=1)]
    else:  # two crossing bars, each 2r long and 0.7r wide
        c, s = np.cos(tilt), np.sin(tilt)
        polygons = []
        for half_w, half_h in ((r, 0.35 * r), (0.35 * r, r)):
            corners = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
            polygons.append(corners @ np.array([[c, s], [-s, c]]) + [cx, cy])
    for polygon in polygons:  # one call per polygon: a single call would XOR their overlap
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    return mask


def _class_colour(rng: np.random.Generator, kind: int) -> np.ndarray:
    """An RGB colour whose hue leans towards the class's own (red discs, green triangles,
    blue crosses), as real classes have typical colours; the clutter takes any colour."""
    import colorsys

    hue = (kind - 1) / 3 + rng.uniform(-0.12, 0.12)
    rgb = colorsys.hsv_to_rgb(hue % 1.0, rng.uniform(0.45, 1.0), rng.uniform(0.35, 0.95))
    return np.array(rgb, np.float32) * 255


def make_shapes_scene(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """One scene: textured clutter with 1-2 shapes on top, and its exact class mask."""
    import cv2

    image = _texture(rng, size, rng.uniform(40, 215, size=3).astype(np.float32))
    for _ in range(int(rng.integers(2, 6))):  # clutter: thin lines and small blobs, background
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        if rng.random() < 0.6:
            p1, p2 = rng.integers(0, size, size=(2, 2))
            cv2.line(image, tuple(int(v) for v in p1), tuple(int(v) for v in p2), colour,
                     thickness=int(rng.integers(1, 3)))
        else:
            centre = tuple(int(v) for v in rng.integers(0, size, size=2))
            axes = tuple(int(v) for v in rng.integers(1, 4, size=2))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    mask = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        kind = int(rng.integers(1, 4))
        region = _shape_mask(rng, size, kind).astype(bool)
        # a flat colour with soft shading: the object is one region, the clutter is not
        behind = image[region].mean(axis=0)
        colour = _class_colour(rng, kind)
        while np.linalg.norm(colour - behind) < 90:  # objects stand out from what they cover
            colour = _class_colour(rng, kind)
        yy, xx = _grid(size)
        slope = rng.uniform(-1.0, 1.0, size=2).astype(np.float32)
        shade = (xx[region] - size / 2) * slope[0] + (yy[region] - size / 2) * slope[1]
        image[region] = colour[None, :] + shade[:, None]
        mask[region] = kind  # later shapes occlude earlier ones, in the image and the mask
    noise = rng.standard_normal(size=image.shape, dtype=np.float32)
    image += noise * np.float32(rng.uniform(3, 12))
    return np.clip(image, 0, 255).astype(np.uint8), mask


def make_shapes_dataset(n: int, size: int = 64, seed: int = 0) -> Split:
    """`n` generated scenes as (images (n, size, size, 3) uint8, masks (n, size, size) uint8)."""
    if n < 1 or size < 16:
        raise ValueError(f"need n >= 1 and size >= 16, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), np.uint8)
    for i in range(n):
        images[i], masks[i] = make_shapes_scene(rng, size)
    return images, masks


# --- full: Oxford-IIIT Pet trimaps --------------------------------------------------------


def trimap_to_mask(trimap: np.ndarray) -> np.ndarray:
    """Pet trimap (1 pet, 2 background, 3 border) -> class mask (1 pet, 0 background, 255 ignore)."""
    trimap = np.asarray(trimap)
    unknown = set(np.unique(trimap).tolist()) - {1, 2, 3}
    if unknown:
        raise ValueError(f"a Pet trimap holds only 1, 2 and 3; this one also holds {sorted(unknown)}")
    mask = np.full(trimap.shape, IGNORE_LABEL, np.uint8)
    mask[trimap == 1] = 1
    mask[trimap == 2] = 0
    return mask


def _read_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 (a few Pet 'jpg' files are really PNG or have alpha)."""
    import cv2

    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path} is not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_pets_split(images_dir: Path, annotations_dir: Path, list_name: str, size: int,
                    limit: int | None = None) -> Split:
    """Read one official Pet split list ('trainval' or 'test'), resized to size x size."""
    import cv2

    list_file = Path(annotations_dir) / f"{list_name}.txt"
    if not list_file.exists():
        raise FileNotFoundError(f"{list_file} is missing: is this an unpacked Pet annotations.tar.gz?")
    names = [line.split()[0] for line in list_file.read_text().splitlines() if line.strip()]
    names = names[:limit] if limit else names
    images = np.empty((len(names), size, size, 3), np.uint8)
    masks = np.empty((len(names), size, size), np.uint8)
    for i, name in enumerate(names):
        images[i] = cv2.resize(_read_rgb(Path(images_dir) / f"{name}.jpg"), (size, size),
                               interpolation=cv2.INTER_AREA)
        trimap = cv2.imread(str(Path(annotations_dir) / "trimaps" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        if trimap is None:
            raise FileNotFoundError(f"trimap for {name} is missing in {annotations_dir}/trimaps")
        # nearest neighbour: a resized mask must hold class ids, never blends of them
        masks[i] = trimap_to_mask(cv2.resize(trimap, (size, size), interpolation=cv2.INTER_NEAREST))
    return images, masks


def load_pets_full(size: int = 384, val_limit: int | None = None) -> tuple[Split, Split]:
    """The real Pet set through the registry: (trainval, test) at size x size."""
    images_root = fetch("oxford_pets_images")
    annotations_root = fetch("oxford_pets_annotations")
    images_dir, annotations_dir = images_root / "images", annotations_root / "annotations"
    train = read_pets_split(images_dir, annotations_dir, "trainval", size)
    val = read_pets_split(images_dir, annotations_dir, "test", size, limit=val_limit)
    return train, val


def load_segmentation(
    quick_sizes: tuple[int, int] = (1200, 150), full_size: int = 384, full_val_limit: int | None = None
) -> tuple[Split, Split, tuple[str, ...]]:
    """Segmentation data for the current mode: ((x_train, y_train), (x_val, y_val), class names)."""
    if env.is_quick():
        n_train, n_val = quick_sizes
        train = make_shapes_dataset(n_train, 64, seed=0)
        val = make_shapes_dataset(n_val, 64, seed=1)
        announce(
            f"generated shapes on textured clutter (quick mode, NOT a real data set): "
            f"{n_train} train / {n_val} validation scenes, 64x64, exact masks, "
            f"classes {', '.join(SHAPE_CLASSES)}"
        )
        return train, val, SHAPE_CLASSES
    train, val = load_pets_full(full_size, full_val_limit)
    announce(
        f"Oxford-IIIT Pet, full: {len(train[0]):,} trainval / {len(val[0]):,} test photos at "
        f"{full_size}x{full_size}; trimap borders are ignored (label {IGNORE_LABEL})"
    )
    return train, val, PET_CLASSES


# --- real photos for the CRF demonstration ------------------------------------------------


def load_astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (Eileen Collins, NASA, public domain), 512x512 RGB."""
    from skimage import data

    return data.astronaut()


def selfie_segmentation_model_path() -> Path:
    """Path of MediaPipe's person-segmentation model, checked against its sha256."""
    from course_utils import extras

    path = extras.person_model_path()
    if not extras.person_model_ready(path):
        raise FileNotFoundError(
            f"MediaPipe's person-segmentation model is not at {path} (or is damaged). Fetch it "
            "with `python -m course_utils.extras person_model` (needs a network; tools/install.sh "
            "and the Colab setup cell do it for you)."
        )
    return path


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what C++ code writes to file descriptor 2, for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def person_probability(image: np.ndarray) -> np.ndarray:
    """P(person) per pixel for an RGB uint8 image, from MediaPipe's model at 256x256, resized back."""
    import cv2
    import tensorflow as tf

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    with warnings.catch_warnings():  # TF announces the interpreter's move to LiteRT
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_path=str(selfie_segmentation_model_path()))
    with _quiet_native_stderr():  # the XNNPACK delegate (it runs the model's custom op) says hello
        interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    _, h, w, _ = inp["shape"]
    x = cv2.resize(image, (int(w), int(h)), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    interpreter.set_tensor(inp["index"], x[None])
    interpreter.invoke()
    prob = interpreter.get_tensor(out["index"])[0, :, :, 0]
    prob = cv2.resize(prob, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(prob, 0.0, 1.0).astype(np.float32)
