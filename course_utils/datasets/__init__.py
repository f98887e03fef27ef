"""Data loaders, one module per data set, and what every loader promises.

- `mnist`, `cifar10`, `oxford_pets`: arrays, as ((x_train, y_train), (x_test, y_test)): two
  `Split`s (Oxford-IIIT Pet's second one is its validation set).
- `cats_vs_dogs`: a folder of class folders for `keras.utils.image_dataset_from_directory`.
- `synthetic`: the generated stand-ins quick mode uses where no package ships the real data.
- `one_object`: chapter 12's images of one object each, with its box (the same generated set
  in both modes: it stands in for nothing).
- detection sets (`oxford_pets.load_pet_heads`, `synthetic.detection_scenes`): images and their
  `Objects`, one row per object.
- `image_folders`: checks a folder of class folders before Keras reads it.

Every loader takes the run mode into account and prints which data it used (`announce`), so a
quick run never passes for a full one. Chapters call `announce` for any other data they use.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Split = tuple[np.ndarray, np.ndarray]  # (images, labels or masks)


class Objects(NamedTuple):
    """The objects of a detection set, one row each: `boxes` (M, 4) as corners (x_min, y_min,
    x_max, y_max) in fractions of the image, `labels` (M,) class ids, and `image` (M,), the index
    of the image that holds the object."""

    boxes: np.ndarray
    labels: np.ndarray
    image: np.ndarray

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The boxes and labels of image i."""
        mine = self.image == i
        return self.boxes[mine], self.labels[mine]


def announce(description: str) -> None:
    """Print the line every chapter shows about its data, wrapped to fit the page."""
    from course_utils.env import fit_page

    print(fit_page(f"data: {description}", indent=6))
