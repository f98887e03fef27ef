"""Oxford-IIIT Pet (Parkhi et al., 2012): photos of cats and dogs with pixel trimaps, the
segmentation data of chapters 10 and 11.

full:  the real set through the course registry: 7,349 photos. Trimap 1 (pet) becomes class 1,
       2 (background) class 0, 3 (the uncertain border) the ignore label 255, as PASCAL VOC
       marks its object borders. The official trainval list trains, the test list validates.
quick: no package ships it, so a generated stand-in (`synthetic.shapes_scenes`): 64x64 scenes
       of discs, triangles and crosses (classes 1-3) on textured clutter (class 0), with exact
       masks; deterministic per seed. Its class names are `synthetic.SHAPE_CLASSES`.

Both return uint8 arrays: images (N, H, W, 3) RGB and masks (N, H, W) of class ids.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from course_utils import env
from course_utils.datasets import Split, announce
from course_utils.datasets.synthetic import SHAPE_CLASSES, shapes_scenes
from course_utils.download import fetch

IGNORE_LABEL = 255
PET_CLASSES = ("background", "pet")


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


def load_oxford_pets_full(size: int = 384, val_limit: int | None = None) -> tuple[Split, Split]:
    """The real Pet set through the registry: (trainval, test) at size x size."""
    images_root = fetch("oxford_pets_images")
    annotations_root = fetch("oxford_pets_annotations")
    images_dir, annotations_dir = images_root / "images", annotations_root / "annotations"
    train = read_pets_split(images_dir, annotations_dir, "trainval", size)
    val = read_pets_split(images_dir, annotations_dir, "test", size, limit=val_limit)
    return train, val


def load_oxford_pets(
    quick_sizes: tuple[int, int] = (1200, 150), full_size: int = 384, full_val_limit: int | None = None
) -> tuple[Split, Split]:
    """Segmentation data for the current mode: ((x_train, y_train), (x_val, y_val)).

    Class names: PET_CLASSES in full mode, synthetic.SHAPE_CLASSES for the quick stand-in.
    """
    if env.is_quick():
        n_train, n_val = quick_sizes
        train = shapes_scenes(n_train, 64, seed=0)
        val = shapes_scenes(n_val, 64, seed=1)
        announce(
            f"generated shapes on textured clutter (quick mode, NOT a real data set): "
            f"{n_train} train / {n_val} validation scenes, 64x64, exact masks, "
            f"classes {', '.join(SHAPE_CLASSES)}"
        )
        return train, val
    train, val = load_oxford_pets_full(full_size, full_val_limit)
    announce(
        f"Oxford-IIIT Pet, full: {len(train[0]):,} trainval / {len(val[0]):,} test photos at "
        f"{full_size}x{full_size}; trimap borders are ignored (label {IGNORE_LABEL})"
    )
    return train, val
