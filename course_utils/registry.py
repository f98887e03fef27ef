"""The data hub: every file the course downloads, with its mirrors, checksum, size and licence.

No chapter and no loader names a URL itself: each asks `download.fetch("name")` for a registry
entry, so every file goes through the same mirrors, retries, checksums and messages.
Checksums are written "sha256:<hex>"; a few upstream files (Keras' own weight files) are
published with an MD5 only, and say so as "md5:<hex>". A file whose publisher gives no checksum
at all says `UNPUBLISHED`: its sha256 is recorded when it first arrives from its publisher (never
from a mirror) and checked ever after (trust on first use), and the download says so. A download
stops as soon as it goes past the file's size (or, when no size is published, its `max_size`).
"""

from __future__ import annotations

from dataclasses import dataclass

UNPUBLISHED = "unpublished"


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
    login: str | None = (
        None  # "kaggle": sent with KAGGLE_USERNAME / KAGGLE_KEY from the environment
    )
    # For a file whose size is not published: the most it may have (the size it has, with
    # slack). A transfer that offers or sends more is stopped there, and nothing is kept.
    max_size: int | None = None

    @property
    def size_text(self) -> str:
        """The size as the README and the messages show it ("170 MB", "35 kB"), or "not
        published"."""
        if self.size is None:
            return "not published"
        if self.size >= 1_000_000:
            return f"{self.size / 1e6:,.0f} MB"
        return f"{self.size / 1e3:,.0f} kB"


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
    # PetImages/Cat and PetImages/Dog). sha256 as published by gomlx (examples/dogsvscats); size
    # as Microsoft's server reports it for this file (Content-Length).
    # datasets/cats_vs_dogs.py unpacks it on local disk, scrubs it and keeps the small split.
    DataFile(
        name="cats_vs_dogs",
        filename="kagglecatsanddogs_5340.zip",
        urls=(
            "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
            "kagglecatsanddogs_5340.zip",
        ),
        checksum="sha256:b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9",
        size=824_887_076,
        licence="Asirra / Microsoft Research Dogs vs. Cats (Petfinder.com photos); terms on "
        "https://www.microsoft.com/en-us/download/details.aspx?id=54765",
    ),
    # Kaggle's copy of the same photos (the "dogs-vs-cats" competition's train.zip, with
    # train/cat.N.jpg and train/dog.N.jpg), tried only when the Microsoft download fails and a
    # Kaggle account's KAGGLE_USERNAME / KAGGLE_KEY are set. Kaggle publishes no checksum.
    DataFile(
        name="cats_vs_dogs_kaggle",
        filename="kaggle_dogs_vs_cats_train.zip",
        urls=("https://www.kaggle.com/api/v1/competitions/data/download/dogs-vs-cats/train.zip",),
        checksum=UNPUBLISHED,
        size=None,
        licence="Kaggle 'Dogs vs. Cats' competition data (Asirra / Microsoft Research); the "
        "competition's rules, accepted on its Kaggle page, apply",
        login="kaggle",
        # The same 25,000 photos as Microsoft's 825 MB release above: at most twice that.
        max_size=2 * 824_887_076,
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
        licence="VGG16 ImageNet weights, Simonyan & Zisserman (Oxford VGG), released under a "
        "Creative Commons Attribution licence; ported to Keras by F. Chollet",
    ),
    # --- visualisation (chapter 09) ---
    # Keras' full VGG16 (conv base + ImageNet classifier); Keras publishes only an MD5 for it.
    DataFile(
        name="vgg16_imagenet",
        filename="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        urls=(
            "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            "https://github.com/fchollet/deep-learning-models/releases/download/v0.1/"
            "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        ),
        checksum="md5:64373286793e3c8b2b4e3219cbf3544b",
        size=553_467_096,
        licence="VGG16 ImageNet weights, Simonyan & Zisserman (Oxford VGG), CC BY 4.0; "
        "ported to Keras by F. Chollet",
    ),
    # The 1,000 ImageNet class ids and names, in the order of VGG16's outputs (Keras' MD5).
    DataFile(
        name="imagenet_class_index",
        filename="imagenet_class_index.json",
        urls=(
            "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
        ),
        checksum="md5:c2c37ea517e94d9795004a39431a14cb",
        size=35_363,
        licence="ImageNet (ILSVRC 2012) class list, as distributed with Keras (Apache 2.0)",
    ),
    # The elephant photo of Chollet's Grad-CAM example. No checksum for it is published
    # anywhere we could find, and none is made up here: its sha256 is recorded on first download.
    DataFile(
        name="elephant",
        filename="creative_commons_elephant.jpg",
        urls=("https://img-datasets.s3.amazonaws.com/elephant.jpg",),
        checksum=UNPUBLISHED,
        size=None,
        licence="Creative Commons photo (as Chollet's 'Deep Learning with Python', 5.4.3, names "
        "it); the exact licence is not published with the file",
        # No size is published either: one JPEG photo, far below this limit of 10 MB.
        max_size=10_000_000,
    ),
    # --- segmentation (chapters 10 and 11) ---
    # Oxford-IIIT Pet: sizes and sha256 as TensorFlow Datasets records them
    # (tensorflow_datasets/datasets/oxford_iiit_pet/checksums.tsv). The ".tar.gz" files are
    # plain tar archives; safe_extract opens either kind.
    DataFile(
        name="oxford_pets_images",
        filename="images.tar.gz",
        urls=(
            "https://thor.robots.ox.ac.uk/~vgg/data/pets/images.tar.gz",
            "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz",
        ),
        checksum="sha256:67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d",
        size=791_918_971,
        licence="Oxford-IIIT Pet, Parkhi et al. (2012); CC BY-SA 4.0, image copyright stays "
        "with their owners",
        extract=True,
    ),
    DataFile(
        name="oxford_pets_annotations",
        filename="annotations.tar.gz",
        urls=(
            "https://thor.robots.ox.ac.uk/~vgg/data/pets/annotations.tar.gz",
            "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz",
        ),
        checksum="sha256:52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91",
        size=19_173_078,
        licence="Oxford-IIIT Pet, Parkhi et al. (2012); CC BY-SA 4.0",
        extract=True,
    ),
    # Keras publishes only an MD5 for its application weights (keras/src/applications/resnet.py);
    # size as Keras' own download reports it.
    DataFile(
        name="resnet50_imagenet_notop",
        filename="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        urls=(
            "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "https://github.com/keras-team/keras-applications/releases/download/resnet/"
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
        checksum="md5:4d473c1dd8becc155b73f8504c6f6626",
        size=94_765_736,
        licence="Keras Applications ResNet50 ImageNet weights (He et al., 2015); MIT licence",
    ),
    # --- detection (chapter 12) ---
]

REGISTRY: dict[str, DataFile] = {entry.name: entry for entry in _ENTRIES}


def get(name: str) -> DataFile:
    """Return the registry entry called `name`, or say which names exist."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"No data set called {name!r} in the registry. Known: {known}") from None
