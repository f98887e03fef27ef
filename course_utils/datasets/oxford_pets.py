"""Oxford-IIIT Pet (Parkhi et al., 2012): photos of cats and dogs with pixel trimaps, the
segmentation data of chapters 10 and 11, and head boxes, the detection data of chapter 13.

full:  the real set through the course registry: 7,349 photos. Trimap 1 (pet) becomes class 1,
       2 (background) class 0, 3 (the uncertain border) the ignore label 255, as PASCAL VOC
       marks its object borders. The official trainval list is the training split, the test
       list (or photos spread evenly over it: the list is sorted by breed) the test split.
quick: no package ships it, so a generated stand-in (`synthetic.shapes_scenes`): scenes of
       discs, triangles and crosses (classes 1-3) on textured clutter (class 0), with exact
       masks; deterministic per seed. Its class names are `synthetic.SHAPE_CLASSES`.

Both return ((x_train, y_train), (x_test, y_test)) as uint8 arrays: images (N, H, W, 3) RGB and
masks (N, H, W) of class ids. `hold_out` sets every k-th training image aside for validation.

Head boxes (`load_pet_heads`, chapter 13):
full:  annotations/xmls/<image>.xml, one PASCAL VOC file per trainval photo (the test photos
       have none), each with the pet's head box; cat or dog from trainval.txt's species column.
       The trainval photos that have a box are split into train and a held-out test part.
quick: a generated stand-in (`synthetic.detection_scenes`): discs, squares and triangles, 2-5 per
       64x64 scene, classes `synthetic.SCENE_CLASSES`.
Both return images (N, size, size, 3) uint8 and `datasets.Objects` (corners as fractions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course_utils import env
from course_utils.datasets import Objects, Split, announce
from course_utils.datasets.synthetic import SHAPE_CLASSES, detection_scenes, shapes_scenes
from course_utils.download import fetch

IGNORE_LABEL = 255
PET_CLASSES = ("background", "pet")
PET_HEAD_CLASSES = ("cat", "dog")  # trainval.txt's species 1 and 2


# --- full: Oxford-IIIT Pet trimaps --------------------------------------------------------


def trimap_to_mask(trimap: np.ndarray) -> np.ndarray:
    """Pet trimap (1 pet, 2 background, 3 border) -> class mask (1 pet, 0 background, 255
    ignore)."""
    trimap = np.asarray(trimap)
    unknown = set(np.unique(trimap).tolist()) - {1, 2, 3}
    if unknown:
        raise ValueError(
            f"a Pet trimap holds only 1, 2 and 3; this one also holds {sorted(unknown)}"
        )
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


def read_pets_split(
    images_dir: Path, annotations_dir: Path, list_name: str, size: int, limit: int | None = None
) -> Split:
    """Read one official Pet split list ('trainval' or 'test'), resized to size x size.

    With `limit`, that many photos spread evenly over the list (it is sorted by breed, so its
    first photos would be a few breeds only).
    """
    import cv2

    list_file = Path(annotations_dir) / f"{list_name}.txt"
    if not list_file.exists():
        raise FileNotFoundError(
            f"{list_file} is missing: is this an unpacked Pet annotations.tar.gz?"
        )
    names = [line.split()[0] for line in list_file.read_text().splitlines() if line.strip()]
    if limit and limit < len(names):
        names = [names[i] for i in np.linspace(0, len(names) - 1, limit).round().astype(int)]
    images = np.empty((len(names), size, size, 3), np.uint8)
    masks = np.empty((len(names), size, size), np.uint8)
    for i, name in enumerate(names):
        images[i] = cv2.resize(
            _read_rgb(Path(images_dir) / f"{name}.jpg"), (size, size), interpolation=cv2.INTER_AREA
        )
        trimap = cv2.imread(
            str(Path(annotations_dir) / "trimaps" / f"{name}.png"), cv2.IMREAD_UNCHANGED
        )
        if trimap is None:
            raise FileNotFoundError(f"trimap for {name} is missing in {annotations_dir}/trimaps")
        # nearest neighbour: a resized mask must hold class ids, never blends of them
        masks[i] = trimap_to_mask(
            cv2.resize(trimap, (size, size), interpolation=cv2.INTER_NEAREST)
        )
    return images, masks


def load_oxford_pets_full(size: int = 384, test_limit: int | None = None) -> tuple[Split, Split]:
    """The real Pet set through the registry: (trainval, test) at size x size."""
    images_root = fetch("oxford_pets_images")
    annotations_root = fetch("oxford_pets_annotations")
    images_dir, annotations_dir = images_root / "images", annotations_root / "annotations"
    train = read_pets_split(images_dir, annotations_dir, "trainval", size)
    test = read_pets_split(images_dir, annotations_dir, "test", size, limit=test_limit)
    return train, test


def load_oxford_pets(
    quick_sizes: tuple[int, int] = (1200, 150),
    quick_size: int = 64,
    full_size: int = 384,
    full_test_limit: int | None = None,
) -> tuple[Split, Split]:
    """Segmentation data for the current mode: ((x_train, y_train), (x_test, y_test)).

    Quick: `quick_sizes` generated scenes of `quick_size` pixels; full: the trainval list and
    (at most `full_test_limit` photos of) the test list at `full_size` pixels.
    Class names: PET_CLASSES in full mode, synthetic.SHAPE_CLASSES for the quick stand-in.
    """
    if env.is_quick():
        n_train, n_test = quick_sizes
        train = shapes_scenes(n_train, quick_size, seed=0)
        test = shapes_scenes(n_test, quick_size, seed=1)
        announce(
            f"generated shapes on textured clutter (quick mode, NOT a real data set): "
            f"{n_train} train / {n_test} test scenes, {quick_size}x{quick_size}, exact masks, "
            f"classes {', '.join(SHAPE_CLASSES)}"
        )
        return train, test
    train, test = load_oxford_pets_full(full_size, full_test_limit)
    announce(
        f"Oxford-IIIT Pet, full: {len(train[0]):,} trainval / {len(test[0]):,} test photos at "
        f"{full_size}x{full_size}; trimap borders are ignored (label {IGNORE_LABEL})"
    )
    return train, test


def hold_out(split: Split, every: int) -> tuple[Split, Split]:
    """(kept, held out): every `every`-th image (and its mask) of `split` is held out.

    For a validation set taken from the training data: spread over the whole split, so over
    every breed of the Pet lists, which are sorted by breed.
    """
    images, masks = split
    if every < 2 or len(images) < every:
        raise ValueError(
            f"hold_out needs every >= 2 and at least that many images; got every={every} "
            f"for {len(images)} images"
        )
    out = np.arange(len(images)) % every == every - 1
    return (images[~out], masks[~out]), (images[out], masks[out])


# --- head boxes (chapter 13) ------------------------------------------------------------------


def read_head_boxes(xml_path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """The head boxes of one Pet annotation (PASCAL VOC XML) as pixel corners (k, 4), and the
    (width, height) the file states.

    VOC numbers pixels from 1 and includes both ends, so `xmin=1, xmax=10` covers the first ten
    pixels: as corners that is (0, ..., 10, ...).
    """
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.parse(xml_path).getroot()
    size = root.find("size")
    if size is None:
        raise ValueError(f"{xml_path} has no <size>: is it a PASCAL VOC annotation?")
    width, height = (int(float(size.findtext(key, "0"))) for key in ("width", "height"))
    boxes = []
    for box in root.iter("bndbox"):
        x0, y0, x1, y1 = (
            float(box.findtext(key, "nan")) for key in ("xmin", "ymin", "xmax", "ymax")
        )
        if not (np.isfinite([x0, y0, x1, y1]).all() and x1 >= x0 and y1 >= y0):
            raise ValueError(f"{xml_path}: a <bndbox> is incomplete or has a max below its min")
        boxes.append([x0 - 1, y0 - 1, x1, y1])
    return np.array(boxes, float).reshape(-1, 4), (width, height)


def read_pet_heads(
    images_dir: Path, annotations_dir: Path, size: int, limit: int | None = None
) -> tuple[np.ndarray, Objects, int]:
    """The trainval photos that have a head box, resized to size x size, their `Objects` (cat 0,
    dog 1) and how many trainval photos had no box file."""
    import cv2

    list_file = Path(annotations_dir) / "trainval.txt"
    if not list_file.exists():
        raise FileNotFoundError(
            f"{list_file} is missing: is this an unpacked Pet annotations.tar.gz?"
        )
    rows = [
        line.split()
        for line in list_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    xmls = Path(annotations_dir) / "xmls"
    with_box = [
        (name, int(species)) for name, _, species, *_ in rows if (xmls / f"{name}.xml").is_file()
    ]
    missing = len(rows) - len(with_box)
    with_box = with_box[:limit] if limit else with_box
    images = np.empty((len(with_box), size, size, 3), np.uint8)
    boxes, labels, image_ids = [], [], []
    for i, (name, species) in enumerate(with_box):
        photo = _read_rgb(Path(images_dir) / f"{name}.jpg")
        images[i] = cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA)
        heads, _ = read_head_boxes(xmls / f"{name}.xml")
        height, width = photo.shape[:2]  # the photo's own size: the boxes were drawn on it
        boxes.append(np.clip(heads / [width, height, width, height], 0.0, 1.0))
        labels.append(np.full(len(heads), species - 1))
        image_ids.append(np.full(len(heads), i))
    objects = Objects(
        np.concatenate(boxes) if boxes else np.zeros((0, 4)),
        np.concatenate(labels).astype(np.int64) if labels else np.zeros(0, np.int64),
        np.concatenate(image_ids) if image_ids else np.zeros(0, np.int64),
    )
    return images, objects, missing


def split_objects(
    images: np.ndarray, objects: Objects, test: np.ndarray
) -> tuple[tuple[np.ndarray, Objects], tuple[np.ndarray, Objects]]:
    """Split a detection set by image: `test` is a boolean mask over the images."""
    parts = []
    for keep in (~test, test):
        new_index = np.cumsum(keep) - 1  # old image index -> index among the kept images
        mine = keep[objects.image]
        parts.append(
            (
                images[keep],
                Objects(objects.boxes[mine], objects.labels[mine], new_index[objects.image[mine]]),
            )
        )
    return parts[0], parts[1]


def load_pet_heads(
    quick_sizes: tuple[int, int] = (2000, 300), full_size: int = 224, test_fraction: float = 0.2
) -> tuple[tuple[np.ndarray, Objects], tuple[np.ndarray, Objects]]:
    """Detection data for the current mode: ((x_train, objects_train), (x_test, objects_test)).

    Class names: PET_HEAD_CLASSES in full mode, synthetic.SCENE_CLASSES for the quick stand-in.
    Full mode holds out `test_fraction` of the boxed trainval photos (a fixed draw) as its test
    set: the official test photos have no head boxes.
    """
    if env.is_quick():
        n_train, n_test = quick_sizes
        train = detection_scenes(n_train, 64, grid=8, seed=1)
        test = detection_scenes(n_test, 64, grid=8, seed=2)
        announce(f"generated scenes, NOT a real data set: {n_train:,} train / {n_test:,} test")
        return train, test
    images_root = fetch("oxford_pets_images")
    annotations_root = fetch("oxford_pets_annotations")
    images, objects, missing = read_pet_heads(
        images_root / "images", annotations_root / "annotations", full_size
    )
    in_test = np.random.default_rng(0).random(len(images)) < test_fraction
    train, held_out = split_objects(images, objects, in_test)
    announce(
        f"Oxford-IIIT Pet head boxes: {len(train[0]):,} train / {len(held_out[0]):,} test "
        f"photos, {full_size}x{full_size}"
    )
    if missing:
        announce(f"{missing} trainval photos have no head box file: left out")
    return train, held_out
