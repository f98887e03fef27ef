"""Generated stand-ins: data quick mode makes where no pip package ships the real set.

Each one has the real set's layout and goes down the same code path, is the same for the same
seed, and is announced as a stand-in by whoever uses it; none is presented as real data.

- `cifar10_standin`: ten classes of shapes and textures, 32x32x3 uint8, for CIFAR-10.
- `shapes_scenes`: discs, triangles and crosses on textured clutter with exact masks, for
  segmentation (Oxford-IIIT Pet in full mode). All three classes draw their colours from the
  same distribution, so only shape and context tell them apart.
- `clutter_scenes`: a ring, a plus, both or neither on clutter, with boxes, to check where
  Grad-CAM points.
- `detector_output`: true boxes and an imperfect detector's scored boxes, to compute AP from.
- `detection_scenes`: several discs, squares and triangles per image on smooth clutter, with
  their boxes and classes, to train a grid detector on (Oxford-IIIT Pet's head boxes in full
  mode). At most one object centre per grid cell, as YOLO v1's target allows.
"""

from __future__ import annotations

import functools

import numpy as np

from course_utils.datasets import Objects, Split

SIZE = 32  # the CIFAR-10 stand-in's image size
SHAPE_CLASSES = ("background", "disc", "triangle", "cross")
SCENE_CLASSES = ("disc", "square", "triangle")  # the classes of detection_scenes
# What each class of the CIFAR-10 stand-in draws (same index as cifar10.CIFAR10_CLASSES).
CIFAR10_STANDIN_PATTERNS: tuple[str, ...] = (
    "disc",
    "square",
    "triangle",
    "ring",
    "bars",
    "cross",
    "diagonal stripes",
    "checker patch",
    "two blobs",
    "bar pair",
)

# Mean foreground / background colour of each CIFAR-10 stand-in class. Several classes share a
# colour family on purpose, so colour alone cannot tell them apart.
_FG = np.array(
    [
        [220, 60, 50],
        [60, 110, 220],
        [230, 200, 60],
        [220, 60, 50],
        [60, 180, 80],
        [60, 110, 220],
        [230, 200, 60],
        [200, 90, 200],
        [60, 180, 80],
        [200, 90, 200],
    ],
    dtype=np.float32,
)
_BG = np.array(
    [
        [90, 130, 170],
        [120, 110, 90],
        [80, 120, 80],
        [150, 150, 150],
        [110, 90, 130],
        [100, 140, 120],
        [130, 110, 140],
        [90, 130, 170],
        [120, 110, 90],
        [80, 120, 80],
    ],
    dtype=np.float32,
)


# --- shared by the generators ----------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of a size x size image, as float32 (shared, so read-only)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    yy.flags.writeable = xx.flags.writeable = False
    return yy, xx


def smooth_noise(grid: np.ndarray, size: int) -> np.ndarray:
    """Value noise: a coarse random grid (n, cells, cells, channels), enlarged to
    (n, size, size, channels) by linear interpolation between the grid's values."""
    cells = grid.shape[1]
    pos = np.linspace(0, cells - 1, size, dtype=np.float32)
    lo = np.floor(pos).astype(int).clip(0, cells - 2)
    w = pos - lo
    up = np.zeros((size, cells), dtype=np.float32)  # linear interpolation matrix
    up[np.arange(size), lo] = 1 - w
    up[np.arange(size), lo + 1] = w
    return np.einsum("ya,nabc,xb->nyxc", up, grid, up, optimize=True)


# --- CIFAR-10 stand-in: ten classes of shapes and textures ------------------------------------


def _soft(signed: np.ndarray) -> np.ndarray:
    """Anti-aliased mask from a signed distance (positive inside), one pixel wide edge."""
    return np.clip(signed + 0.5, 0.0, 1.0)


def _cifar10_masks(label: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """Foreground masks (n, 32, 32) in [0, 1] for one CIFAR-10 stand-in class, with random pose."""
    yy, xx = _grid(SIZE)
    cy = (15.5 + rng.normal(0, 4.0, n)).astype(np.float32)[:, None, None]
    cx = (15.5 + rng.normal(0, 4.0, n)).astype(np.float32)[:, None, None]
    r = rng.uniform(5.0, 11.0, n).astype(np.float32)[:, None, None]
    a = rng.uniform(0, np.pi, n).astype(np.float32)[:, None, None]
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(a) + dy * np.sin(a)  # coordinates in the shape's own rotated frame
    v = -dx * np.sin(a) + dy * np.cos(a)
    dist = np.sqrt(dx**2 + dy**2)
    if label == 0:  # disc
        return _soft(r - dist)
    if label == 1:  # square
        return _soft(0.85 * r - np.maximum(np.abs(u), np.abs(v)))
    if label == 2:  # triangle: three half-planes 120 degrees apart
        sides = [
            u * np.cos(t) + v * np.sin(t)
            for t in (np.pi / 2, np.pi / 2 + 2.094, np.pi / 2 + 4.189)
        ]
        return _soft(0.55 * r - np.max(np.stack(sides), axis=0))
    if label == 3:  # ring
        return _soft(0.3 * r - np.abs(dist - 0.8 * r))
    if label == 4:  # a patch of parallel bars
        period = rng.uniform(4.0, 7.0, n).astype(np.float32)[:, None, None]
        bars = np.sin(2 * np.pi * v / period) * period / 4
        return _soft(bars) * _soft(1.1 * r - np.maximum(np.abs(u), np.abs(v)))
    if label == 5:  # plus sign
        arm = np.minimum(np.abs(u), np.abs(v))
        return _soft(0.3 * r - arm) * _soft(r - np.maximum(np.abs(u), np.abs(v)))
    if label == 6:  # diagonal stripes over the whole image (a texture, no object)
        period = rng.uniform(5.0, 9.0, n).astype(np.float32)[:, None, None]
        flip = rng.random(n)[:, None, None] < 0.5  # stripes lean left or right
        phase = rng.uniform(0, 10, n).astype(np.float32)[:, None, None]
        t = np.where(flip, xx - yy, xx + yy) / np.sqrt(2) + phase
        return _soft(np.sin(2 * np.pi * t / period) * period / 4) * 0.9
    if label == 7:  # checkerboard patch
        cell = rng.uniform(2.5, 4.5, n).astype(np.float32)[:, None, None]
        check = np.sin(np.pi * u / cell) * np.sin(np.pi * v / cell) * cell
        return _soft(check) * _soft(1.1 * r - np.maximum(np.abs(u), np.abs(v)))
    if label == 8:  # two blobs side by side
        off = 0.7 * r
        d1 = np.sqrt((u - off) ** 2 + v**2)
        d2 = np.sqrt((u + off) ** 2 + v**2)
        return np.maximum(_soft(0.55 * r - d1), _soft(0.55 * r - d2))
    if label == 9:  # two long parallel bars
        return _soft(0.25 * r - np.abs(np.abs(v) - 0.5 * r)) * _soft(1.2 * r - np.abs(u))
    raise ValueError(f"label must be 0..9, got {label}")


def _cifar10_class(label: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """n float32 images (n, 32, 32, 3) of one stand-in class, values roughly 0..255."""
    mask = _cifar10_masks(label, rng, n)[..., None]
    # Colours: the class's mean, moved a lot per image (shared hue shift + brightness).
    fg = _FG[label] + rng.normal(0, 45, (n, 3)).astype(np.float32)
    fg *= rng.uniform(0.6, 1.25, (n, 1)).astype(np.float32)
    bg = 0.5 * _BG[label] + 0.5 * rng.uniform(30, 220, (n, 3)).astype(np.float32)
    # Background: a flat colour with a random gradient and smooth blotches.
    yy, xx = (coordinate / (SIZE - 1) - 0.5 for coordinate in _grid(SIZE))
    g = rng.normal(0, 40, (n, 2)).astype(np.float32)
    grad = (g[:, 0, None, None] * yy + g[:, 1, None, None] * xx)[..., None]
    blotches = smooth_noise(rng.normal(size=(n, 4, 4, 3)).astype(np.float32), SIZE)
    back = bg[:, None, None, :] + grad + 30 * blotches
    img = back * (1 - mask) + fg[:, None, None, :] * mask
    img += rng.normal(0, 18, img.shape).astype(np.float32)  # sensor-like pixel noise
    return img


def cifar10_standin(n: int, seed: int | np.random.SeedSequence = 0) -> Split:
    """n CIFAR-10 stand-in images, 32x32x3 uint8 (n // 10 per class, shuffled), and int64
    labels."""
    if n < 10 or n % 10:
        raise ValueError(
            f"n={n}: the stand-in has ten balanced classes, so n must be a multiple of 10."
        )
    rng = np.random.default_rng(seed)
    per = n // 10
    images = np.concatenate([_cifar10_class(c, rng, per) for c in range(10)])
    labels = np.repeat(np.arange(10, dtype=np.int64), per)
    order = rng.permutation(n)
    return np.clip(images[order], 0, 255).round().astype(np.uint8), labels[order]


# --- segmentation stand-in: shapes on textured clutter, exact masks ----------------------


def _texture(rng: np.random.Generator, size: int, base: np.ndarray) -> np.ndarray:
    """A size x size RGB float texture around colour `base`: blotches, or stripes."""
    if rng.random() < 0.5:
        cells = int(rng.integers(3, 9))
        pattern = smooth_noise(rng.random((1, cells, cells, 1), dtype=np.float32), size)[0, ..., 0]
    else:
        yy, xx = _grid(size)
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 12)
        pattern = 0.5 + 0.5 * np.sin(
            (xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period
        )
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
            corners = np.array(
                [[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]]
            )
            polygons.append(corners @ np.array([[c, s], [-s, c]]) + [cx, cy])
    for polygon in polygons:  # one call per polygon: a single call would XOR their overlap
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
    return mask


def _object_colour(rng: np.random.Generator) -> np.ndarray:
    """An RGB colour for an object, from one distribution for every class (any hue, fairly
    saturated), so colour says where an object is but not which one: shape and context do."""
    import colorsys

    rgb = colorsys.hsv_to_rgb(
        rng.uniform(0.0, 1.0), rng.uniform(0.45, 1.0), rng.uniform(0.35, 0.95)
    )
    return np.array(rgb, np.float32) * 255


def shapes_scene(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """One scene: textured clutter with 1-2 shapes on top, and its exact class mask."""
    import cv2

    image = _texture(rng, size, rng.uniform(40, 215, size=3).astype(np.float32))
    for _ in range(int(rng.integers(2, 6))):  # clutter: thin lines and small blobs, background
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        if rng.random() < 0.6:
            p1, p2 = rng.integers(0, size, size=(2, 2))
            cv2.line(
                image,
                tuple(int(v) for v in p1),
                tuple(int(v) for v in p2),
                colour,
                thickness=int(rng.integers(1, 3)),
            )
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
        fill = _object_colour(rng)  # the same for every class: colour does not name it
        while np.linalg.norm(fill - behind) < 90:  # objects stand out from what they cover
            fill = _object_colour(rng)
        yy, xx = _grid(size)
        slope = rng.uniform(-1.0, 1.0, size=2).astype(np.float32)
        shade = (xx[region] - size / 2) * slope[0] + (yy[region] - size / 2) * slope[1]
        image[region] = fill[None, :] + shade[:, None]
        mask[region] = kind  # later shapes occlude earlier ones, in the image and the mask
    noise = rng.standard_normal(size=image.shape, dtype=np.float32)
    image += noise * np.float32(rng.uniform(3, 12))
    return np.clip(image, 0, 255).astype(np.uint8), mask


def shapes_scenes(n: int, size: int = 64, seed: int = 0) -> Split:
    """n scenes for segmentation: images (n, size, size, 3) uint8 and class masks (n, size,
    size) uint8."""
    if n < 1 or size < 16:
        raise ValueError(f"need n >= 1 and size >= 16, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), np.uint8)
    for i in range(n):
        images[i], masks[i] = shapes_scene(rng, size)
    return images, masks


# --- localisation check: a ring and a plus on clutter, with boxes ---------------------------


RING_WIDTH = 2.6  # pixels; the plus's bars are 2 * BAR_HALF_WIDTH + 1 wide
BAR_HALF_WIDTH = 1.2


def _ring_mask(yy, xx, cy, cx, radius, start=0.0, span=2 * np.pi):
    """Pixels of a ring (or of an arc of it, from angle `start` over `span`) of RING_WIDTH."""
    r = np.hypot(yy - cy, xx - cx)
    angle = (np.arctan2(yy - cy, xx - cx) - start) % (2 * np.pi)
    return (r <= radius) & (r >= radius - RING_WIDTH) & (angle <= span)


def _bar_mask(yy, xx, y0, x0, angle, length):
    """Pixels within BAR_HALF_WIDTH of a straight segment from (y0, x0), `length` long."""
    dy, dx = np.sin(angle), np.cos(angle)
    t = np.clip((yy - y0) * dy + (xx - x0) * dx, 0, length)
    return np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx)) <= BAR_HALF_WIDTH


def clutter_scenes(
    n: int,
    image_size: int = 48,
    object_size: int = 13,
    max_clutter: int = 8,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generated scenes on clutter, each holding a ring, a plus, both or neither, at random places.

    The clutter is made of the objects' own parts (single bars, open arcs), so no local
    stroke gives the answer away. Returns images (n, size, size, 1) float32 in 0..1, which
    objects are present (n, 2) as 0/1 for (ring, plus), and their boxes (n, 2, 4) in pixels as
    corners (x_min, y_min, x_max, y_max), the max exclusive, as `course_utils.boxes` takes
    them; all zeros for an absent object.
    """
    rng = np.random.default_rng(seed)
    yy, xx = _grid(image_size)
    noise = rng.uniform(0.05, 0.3, (n, 1, 1))  # how grainy the background is varies per scene
    images = (rng.uniform(0, 1, (n, image_size, image_size)) * noise).astype("float32")
    present = (rng.uniform(size=(n, 2)) < 0.5).astype("float32")
    boxes = np.zeros((n, 2, 4), dtype="int64")
    c = (object_size - 1) / 2
    for i in range(n):
        canvas = images[i]
        for _ in range(rng.integers(0, max_clutter + 1)):
            y0, x0 = rng.uniform(0, image_size, 2)
            if rng.uniform() < 0.5:  # one bar, at most as long as a plus's arm pair
                mask = _bar_mask(yy, xx, y0, x0, rng.uniform(0, np.pi), rng.uniform(3, c + 1))
            else:  # an open arc of a ring, at most half of it
                mask = _ring_mask(
                    yy, xx, y0, x0, c, rng.uniform(0, 2 * np.pi), rng.uniform(0.5, np.pi)
                )
            canvas[mask] = rng.uniform(0.5, 0.9)
        for kind in np.flatnonzero(present[i]):
            while True:  # a place that does not overlap the other object
                top, left = rng.integers(0, image_size - object_size + 1, 2)
                other = boxes[i, 1 - kind]  # (x_min, y_min, x_max, y_max)
                apart = abs(top - other[1]) >= object_size or abs(left - other[0]) >= object_size
                if other[2] == 0 or apart:
                    break
            cy, cx = top + c, left + c
            if kind == 0:
                mask = _ring_mask(yy, xx, cy, cx, c + 0.5)
            else:
                arm = object_size - 3  # the bars' round ends add one pixel on each side
                mask = _bar_mask(yy, xx, cy, left + 1, 0.0, arm)  # across
                mask |= _bar_mask(yy, xx, top + 1, cx, np.pi / 2, arm)  # down
            canvas[mask] = 0.95
            boxes[i, kind] = (left, top, left + object_size, top + object_size)
    return images[..., None], present, boxes


def detector_output(
    n_images: int = 40, seed: int = 0, found: float = 0.85
) -> dict[str, np.ndarray]:
    """True boxes of one class on `n_images` images and an imperfect detector's output for them.

    1-3 objects per image; the detector finds each with probability `found`, more or less
    precisely (the worse the box, the lower its score on average), and now and then fires where
    nothing is. Boxes are corners as fractions of the image. Keys: truth_boxes, truth_image,
    det_boxes, det_scores, det_image.
    """
    rng = np.random.default_rng(seed)
    truth, truth_image, dets, scores, det_image = [], [], [], [], []
    for i in range(n_images):
        for _ in range(rng.integers(1, 4)):
            (x0, y0), (w, h) = rng.uniform(0, 0.6, 2), rng.uniform(0.15, 0.4, 2)
            truth.append([x0, y0, x0 + w, y0 + h])
            truth_image.append(i)
            if (
                rng.random() < found
            ):  # centre shifted, size scaled: a valid box, more or less right
                (dx, dy), (sw, sh) = rng.normal(0, 0.02, 2), np.exp(rng.normal(0, 0.08, 2))
                cx, cy = x0 + w / 2 + dx, y0 + h / 2 + dy
                dets.append([cx - w * sw / 2, cy - h * sh / 2, cx + w * sw / 2, cy + h * sh / 2])
                error = abs(dx) + abs(dy) + abs(sw - 1) / 4 + abs(sh - 1) / 4
                scores.append(0.95 - 3 * error + rng.normal(0, 0.05))
                det_image.append(i)
        for _ in range(rng.integers(0, 2)):  # a false alarm on about every second image
            (x0, y0), side = rng.uniform(0, 0.7, 2), rng.uniform(0.1, 0.3)
            dets.append([x0, y0, x0 + side, y0 + side])
            scores.append(rng.uniform(0.05, 0.7))
            det_image.append(i)
    return {
        "truth_boxes": np.array(truth),
        "truth_image": np.array(truth_image),
        "det_boxes": np.array(dets).reshape(-1, 4),
        "det_scores": np.clip(scores, 0, 1),
        "det_image": np.array(det_image),
    }


# --- detection stand-in: several shapes per scene, with boxes and classes ---------------------


def _scene_object(
    rng: np.random.Generator,
    size: int,
    grid: int,
    boxes: list[list[float]],
    cells: set[tuple[int, int]],
) -> tuple[float, float, float] | None:
    """Centre and half-size (pixels) of a new object whose centre is in a free grid cell and
    whose box overlaps no earlier box by more than IoU 0.1; None after 30 tries."""
    for _ in range(30):
        r = rng.uniform(0.08, 0.18) * size
        cx, cy = rng.uniform(r, size - r, size=2)
        cell = (int(cy * grid / size), int(cx * grid / size))
        box = np.array([cx - r, cy - r, cx + r, cy + r])
        if cell in cells:
            continue
        if boxes:
            others = np.array(boxes)
            wh = np.clip(
                np.minimum(box[2:], others[:, 2:]) - np.maximum(box[:2], others[:, :2]), 0, None
            )
            inter = wh[:, 0] * wh[:, 1]
            union = (2 * r) ** 2 + np.prod(others[:, 2:] - others[:, :2], axis=1) - inter
            if (inter / union).max() > 0.1:
                continue
        cells.add(cell)
        return cx, cy, r
    return None


def detection_scene(
    rng: np.random.Generator, background: np.ndarray, grid: int = 8, n_objects: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw up to `n_objects` shapes on `background` (size, size, 3) float32, in place.

    Each shape is a disc, square or triangle (SCENE_CLASSES) of one random colour that stands out
    from the background; all three fill the same box for the same centre and size, so the box
    does not give the class away. A pixel belongs to a shape when its centre does. Returns the
    image (uint8, with a little noise), the boxes (k, 4) as corners in fractions of the image, and
    the class ids (k,).
    """
    size = background.shape[0]
    yy, xx = (c + 0.5 for c in _grid(size))  # pixel centres
    boxes: list[list[float]] = []
    labels: list[int] = []
    cells: set[tuple[int, int]] = set()
    for _ in range(n_objects):
        placed = _scene_object(rng, size, grid, boxes, cells)
        if placed is None:
            break
        cx, cy, r = placed
        label = int(rng.integers(len(SCENE_CLASSES)))
        u, v = xx - cx, yy - cy
        if label == 0:
            inside = u**2 + v**2 <= r**2
        elif label == 1:
            inside = np.maximum(np.abs(u), np.abs(v)) <= r
        else:  # apex at the top centre, base along the bottom edge of the box
            inside = (np.abs(v) <= r) & (np.abs(u) <= (v + r) / 2)
        colour = _object_colour(rng)
        while np.linalg.norm(colour - background.mean(axis=(0, 1))) < 90:
            colour = _object_colour(rng)
        background[inside] = colour
        boxes.append([cx - r, cy - r, cx + r, cy + r])
        labels.append(label)
    background += rng.normal(0, 6, background.shape).astype(np.float32)
    image = np.clip(background, 0, 255).astype(np.uint8)
    return image, np.array(boxes, float).reshape(-1, 4) / size, np.array(labels, np.int64)


def detection_scenes(
    n: int, size: int = 64, grid: int = 8, objects: tuple[int, int] = (2, 5), seed: int = 0
) -> tuple[np.ndarray, Objects]:
    """n scenes (n, size, size, 3) uint8, each with objects[0] to objects[1] shapes, and their
    `Objects` (boxes as corners in fractions of the image, SCENE_CLASSES ids, image index)."""
    if n < 1 or size < 16 or grid < 1 or not 1 <= objects[0] <= objects[1]:
        raise ValueError(
            f"need n >= 1, size >= 16, grid >= 1 and 1 <= objects[0] <= objects[1]; "
            f"got n={n}, size={size}, grid={grid}, objects={objects}"
        )
    rng = np.random.default_rng(seed)
    images = np.empty((n, size, size, 3), np.uint8)
    boxes, labels, image_ids = [], [], []
    for start in range(0, n, 256):  # backgrounds in chunks: smooth colour fields
        count = min(256, n - start)
        base = rng.uniform(60, 200, (count, 1, 1, 3)).astype(np.float32)
        noise = smooth_noise(rng.normal(size=(count, 4, 4, 3)).astype(np.float32), size)
        for i, background in enumerate(base + 40 * noise, start=start):
            k = int(rng.integers(objects[0], objects[1] + 1))
            images[i], b, lab = detection_scene(rng, background, grid, k)
            boxes.append(b)
            labels.append(lab)
            image_ids.append(np.full(len(lab), i))
    return images, Objects(
        np.concatenate(boxes), np.concatenate(labels), np.concatenate(image_ids)
    )
