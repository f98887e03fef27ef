"""The data hub: every file the course downloads, with its mirrors, checksum, size and licence.

A chapter never names a URL itself: it asks `download.fetch("name")` for a registry entry.
Checksums are written "sha256:<hex>"; a few upstream files (Keras' own weight files) are
published with an MD5 only, and say so as "md5:<hex>".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFile:
    """One downloadable file: where to get it and how to know it arrived intact."""

    name: str
    filename: str
    urls: tuple[str, ...]
    checksum: str
    size: int | None
    licence: str
    extract: bool = False  # unpack the archive next to the file after it is verified

    @property
    def algorithm(self) -> str:
        return self.checksum.split(":", 1)[0]

    @property
    def digest(self) -> str:
        return self.checksum.split(":", 1)[1]


_ENTRIES: list[DataFile] = [
    # --- MNIST (chapter 05) ---
    DataFile(
        name="mnist",
        filename="mnist.npz",
        urls=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",),
        checksum="sha256:731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
        size=11_490_434,
        licence="MNIST, Yann LeCun and Corinna Cortes; CC BY-SA 3.0 (as Keras distributes it)",
    ),
    # --- CIFAR-10 (chapters 01-04, 08) ---
    DataFile(
        name="cifar10",
        filename="cifar-10-python.tar.gz",
        urls=("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
        checksum="sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        size=170_498_071,
        licence="CIFAR-10, Alex Krizhevsky (2009); free for research and teaching",
        extract=True,
    ),
    # --- cats vs dogs, VGG16 weights (chapters 06-07) ---
    # The Microsoft release of the Kaggle "Dogs vs. Cats" photos (25,000 JPEGs in
    # PetImages/Cat and PetImages/Dog). sha256 as published by gomlx (examples/dogsvscats).
    # Extracted by datasets/cats_vs_dogs.py itself, which also scrubs and splits it.
    DataFile(
        name="cats_vs_dogs",
        filename="kagglecatsanddogs_5340.zip",
        urls=(
            "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
            "kagglecatsanddogs_5340.zip",
        ),
        checksum="sha256:b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9",
        size=None,
        licence="Asirra / Microsoft Research Dogs vs. Cats (Petfinder.com photos); "
        "Microsoft Research licence, for research and teaching",
    ),
    # Keras' VGG16 conv base without the classifier; Keras publishes only an MD5 for it.
    DataFile(
        name="vgg16_imagenet_notop",
        filename="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        urls=(
            "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "https://github.com/fchollet/deep-learning-models/releases/download/v0.1/"
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        checksum="md5:6d6bbae143d832006294945121d1f1fc",
        size=58_889_256,
        licence="VGG16 ImageNet weights, Simonyan & Zisserman (Oxford VGG), CC BY 4.0; "
        "ported to Keras by F. Chollet",
    ),
    # --- visualisation (chapter 09) ---
    # --- segmentation (chapter 10) ---
    # --- detection (chapter 11) ---
]

REGISTRY: dict[str, DataFile] = {entry.name: entry for entry in _ENTRIES}


def get(name: str) -> DataFile:
    """Return the registry entry called `name`, or say which names exist."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"No data set called {name!r} in the registry. Known: {known}") from None
