"""Oxford-IIIT Pet, chapters 10 and 11's data: the quick loader announces its generated stand-in;
the Pet
trimaps come through the registry, served by a real local HTTP server."""

from __future__ import annotations

import hashlib
import io
import tarfile

import cv2
import numpy as np
import pytest

from course_utils import registry
from course_utils.datasets import oxford_pets as pets
from course_utils.datasets.synthetic import SCENE_CLASSES, SHAPE_CLASSES
from course_utils.download import DownloadError
from course_utils.registry import DataFile


def test_quick_loader_says_it_is_generated(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    (xtr, ytr), (xte, yte) = pets.load_oxford_pets(quick_sizes=(12, 5))
    assert len(xtr) == 12 and len(xte) == 5 and ytr.max() < len(SHAPE_CLASSES)
    assert xtr.shape[1:] == (64, 64, 3) and yte.shape[1:] == (64, 64)
    assert not np.array_equal(xtr[:5], xte)  # train and test come from different seeds
    assert "NOT a real data set" in capsys.readouterr().out
    (xtr, _), (xte, _) = pets.load_oxford_pets(quick_sizes=(3, 2), quick_size=48)
    assert xtr.shape == (3, 48, 48, 3) and xte.shape == (2, 48, 48, 3)
    assert "48x48" in capsys.readouterr().out


def test_hold_out_sets_every_kth_image_aside_and_keeps_the_pairs():
    images = np.arange(10)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    masks = np.arange(10)[:, None, None] * np.ones((1, 2, 2), np.uint8)
    (kept_x, kept_y), (held_x, held_y) = pets.hold_out((images, masks), 3)
    assert held_x[:, 0, 0, 0].tolist() == [2, 5, 8]  # spread over the whole split
    assert kept_x[:, 0, 0, 0].tolist() == [0, 1, 3, 4, 6, 7, 9]
    np.testing.assert_array_equal(kept_y[:, 0, 0], kept_x[:, 0, 0, 0])  # still paired
    np.testing.assert_array_equal(held_y[:, 0, 0], held_x[:, 0, 0, 0])
    with pytest.raises(ValueError, match="every"):
        pets.hold_out((images, masks), 1)
    with pytest.raises(ValueError, match="at least"):
        pets.hold_out((images[:2], masks[:2]), 3)


# --- the Pet layout and the registry path --------------------------------------------------


def test_trimap_mapping():
    trimap = np.array([[1, 2], [3, 1]], np.uint8)
    np.testing.assert_array_equal(pets.trimap_to_mask(trimap), [[1, 0], [255, 1]])
    with pytest.raises(ValueError, match="only 1, 2 and 3"):
        pets.trimap_to_mask(np.array([[1, 4]], np.uint8))


def pet_archives(n: int = 3) -> tuple[bytes, bytes]:
    """Small images.tar.gz / annotations.tar.gz in the real Pet layout: real photo crops as JPEG
    (one of them PNG bytes under a .jpg name, as a few real Pet files are), PNG trimaps, lists."""
    from skimage import data

    photo = data.astronaut()
    names = [f"Abyssinian_{i + 1}" for i in range(n)] + ["beagle_1"]
    images, annotations = io.BytesIO(), io.BytesIO()
    with (
        tarfile.open(fileobj=images, mode="w:gz") as img_tar,
        tarfile.open(fileobj=annotations, mode="w:gz") as ann_tar,
    ):

        def add(tar, name, payload):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        for i, name in enumerate(names):
            crop = photo[i * 40 : i * 40 + 120, i * 30 : i * 30 + 90]  # 120 x 90, not square
            ext = ".png" if name == "beagle_1" else ".jpg"
            add(img_tar, f"images/{name}.jpg", cv2.imencode(ext, crop[:, :, ::-1])[1].tobytes())
            trimap = np.full(crop.shape[:2], 2, np.uint8)
            trimap[30:90, 20:70] = 3
            trimap[35:85, 25:65] = 1
            add(
                ann_tar,
                f"annotations/trimaps/{name}.png",
                cv2.imencode(".png", trimap)[1].tobytes(),
            )
        add(
            ann_tar,
            "annotations/trainval.txt",
            "".join(f"{n} 1 1 1\n" for n in names[:2]).encode(),
        )
        add(ann_tar, "annotations/test.txt", "".join(f"{n} 1 1 1\n" for n in names[2:]).encode())
    return images.getvalue(), annotations.getvalue()


@pytest.fixture
def served_pets(file_server, course_dirs, monkeypatch):
    """The two Pet archives on a local HTTP server, registered under the real entry names,
    behind a first mirror that answers 404 (as a moved host does)."""
    images, annotations = pet_archives()
    for filename, payload in (("images.tar.gz", images), ("annotations.tar.gz", annotations)):
        (file_server.root / filename).write_bytes(payload)
    for name, filename, payload in (
        ("oxford_pets_images", "images.tar.gz", images),
        ("oxford_pets_annotations", "annotations.tar.gz", annotations),
    ):
        real = registry.get(name)
        monkeypatch.setitem(
            registry.REGISTRY,
            name,
            DataFile(
                name=name,
                filename=real.filename,
                urls=(file_server.url(f"moved/{filename}"), file_server.url(filename)),
                checksum="sha256:" + hashlib.sha256(payload).hexdigest(),
                size=len(payload),
                licence=real.licence,
                extract=True,
            ),
        )
    monkeypatch.setenv("COURSE_MODE", "full")
    return file_server


def test_full_mode_downloads_extracts_and_reads_the_pet_layout(served_pets, capsys):
    served_pets.cut_next["images.tar.gz"] = 1  # the first transfer is cut mid-body: retried
    (xtr, ytr), (xva, yva) = pets.load_oxford_pets(full_size=48)
    assert ytr[ytr != pets.IGNORE_LABEL].max() < len(pets.PET_CLASSES)
    assert xtr.shape == (2, 48, 48, 3) and xva.shape == (2, 48, 48, 3) and xtr.dtype == np.uint8
    assert set(np.unique(ytr)) == {0, 1, 255}  # nearest-neighbour resize: no blended labels
    assert "Oxford-IIIT Pet, full: 2 trainval / 2 test" in capsys.readouterr().out
    assert served_pets.requests.count("images.tar.gz") == 2
    assert "moved/images.tar.gz" in served_pets.requests
    # the pet is in the middle of every crop
    assert (ytr[:, 20:28, 20:28] == 1).all() and (ytr[:, :3, :3] == 0).all()
    # a second call uses the cache: no new requests
    before = len(served_pets.requests)
    pets.load_oxford_pets(full_size=48)
    assert len(served_pets.requests) == before


def test_with_drive_pet_archives_stay_on_drive_and_are_unpacked_again_after_a_disconnect(
    served_pets, colab_drive, capsys
):
    (xtr, ytr), (xva, yva) = pets.load_oxford_pets(full_size=48)
    for filename in ("images.tar.gz", "annotations.tar.gz"):
        assert (colab_drive.downloads / filename).is_file()
    assert not list(colab_drive.drive_course.rglob("*.jpg"))  # the photos are unpacked locally
    assert list(colab_drive.local.rglob("*.jpg"))
    before = list(served_pets.requests)
    capsys.readouterr()

    colab_drive.disconnect()
    (xtr2, ytr2), (xva2, yva2) = pets.load_oxford_pets(full_size=48)
    np.testing.assert_array_equal(xtr2, xtr)
    np.testing.assert_array_equal(yva2, yva)
    assert served_pets.requests == before  # nothing downloaded again
    said = [line for line in capsys.readouterr().out.splitlines() if "no download needed" in line]
    assert len(said) == 2  # one line per archive unpacked again


def test_full_mode_refuses_a_corrupted_archive(served_pets, course_dirs):
    (served_pets.root / "annotations.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(DownloadError, match="checksum mismatch"):
        pets.load_oxford_pets(full_size=48)
    downloads = course_dirs[0] / "downloads"
    assert not (downloads / "annotations.tar.gz").exists()
    assert not list(downloads.glob("*.part"))


def test_quick_mode_never_downloads(served_pets, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    with pytest.raises(RuntimeError, match="Quick mode never downloads"):
        pets.load_oxford_pets_full(size=48)
    assert served_pets.requests == []


def test_unreachable_host_gives_manual_instructions(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    real = registry.get("oxford_pets_annotations")
    monkeypatch.setitem(
        registry.REGISTRY,
        real.name,
        DataFile(
            name=real.name,
            filename=real.filename,
            urls=("http://127.0.0.1:9/annotations.tar.gz",),
            checksum=real.checksum,
            size=real.size,
            licence=real.licence,
            extract=True,
        ),
    )
    monkeypatch.setitem(
        registry.REGISTRY,
        "oxford_pets_images",
        DataFile(
            name="oxford_pets_images",
            filename="images.tar.gz",
            urls=("http://127.0.0.1:9/images.tar.gz",),
            checksum=registry.get("oxford_pets_images").checksum,
            size=None,
            licence="",
            extract=True,
        ),
    )
    with pytest.raises(DownloadError, match="place it by hand"):
        pets.load_oxford_pets_full(size=48)


def test_a_limit_reads_photos_spread_over_the_list(tmp_path):
    """The lists are sorted by breed: a limit must not keep the first breeds only."""
    from skimage import data

    (tmp_path / "annotations" / "trimaps").mkdir(parents=True)
    (tmp_path / "images").mkdir()
    names = [f"breed{b}_{i}" for b in range(4) for i in range(3)]  # 12 photos, 4 breeds
    for k, name in enumerate(names):
        cv2.imwrite(str(tmp_path / "images" / f"{name}.jpg"), data.astronaut()[:32, :32, ::-1])
        trimap = np.full((32, 32), 2, np.uint8)
        trimap[: k + 1] = 1  # the photo's index, readable in its mask: k + 1 pet rows
        cv2.imwrite(str(tmp_path / "annotations" / "trimaps" / f"{name}.png"), trimap)
    (tmp_path / "annotations" / "test.txt").write_text("".join(f"{n} 1 1 1\n" for n in names))
    _, masks = pets.read_pets_split(
        tmp_path / "images", tmp_path / "annotations", "test", 32, limit=4
    )
    read = [int((m == 1).any(axis=1).sum()) - 1 for m in masks]
    assert read == [0, 4, 7, 11]  # the first and the last, evenly spaced: every breed
    _, every = pets.read_pets_split(tmp_path / "images", tmp_path / "annotations", "test", 32)
    assert len(every) == 12


def test_missing_trimap_is_named(tmp_path):
    (tmp_path / "annotations" / "trimaps").mkdir(parents=True)
    (tmp_path / "images").mkdir()
    from skimage import data

    cv2.imwrite(str(tmp_path / "images" / "pug_1.jpg"), data.astronaut()[:64, :64, ::-1])
    (tmp_path / "annotations" / "test.txt").write_text("pug_1 1 2 1\n")
    with pytest.raises(FileNotFoundError, match="pug_1"):
        pets.read_pets_split(tmp_path / "images", tmp_path / "annotations", "test", 32)


# --- head boxes (chapter 13) --------------------------------------------------------------------

HEAD_XML = (
    "<annotation><filename>{name}.jpg</filename><size><width>{w}</width><height>{h}</height>"
    "<depth>3</depth></size><object><name>{species}</name><bndbox><xmin>{x0}</xmin>"
    "<ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object></annotation>"
)


def head_archives() -> tuple[bytes, bytes]:
    """Pet archives with head boxes: three trainval photos (two with an xml, a cat and a dog,
    one without, as TFDS allows for) and a test photo with none."""
    from skimage import data

    photo = data.astronaut()
    shapes = {"Bengal_1": (120, 90), "pug_1": (100, 160), "pug_2": (80, 80), "Bengal_2": (90, 90)}
    heads = {"Bengal_1": (1, 11, 45, 60), "pug_1": (81, 1, 160, 50)}  # VOC: 1-based, inclusive
    images, annotations = io.BytesIO(), io.BytesIO()
    with (
        tarfile.open(fileobj=images, mode="w:gz") as img_tar,
        tarfile.open(fileobj=annotations, mode="w:gz") as ann_tar,
    ):

        def add(tar, name, payload):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        for name, (h, w) in shapes.items():
            add(
                img_tar,
                f"images/{name}.jpg",
                cv2.imencode(".jpg", photo[:h, :w, ::-1])[1].tobytes(),
            )
        for name, (x0, y0, x1, y1) in heads.items():
            h, w = shapes[name]
            species = "cat" if name[0].isupper() else "dog"
            add(
                ann_tar,
                f"annotations/xmls/{name}.xml",
                HEAD_XML.format(
                    name=name, w=w, h=h, species=species, x0=x0, y0=y0, x1=x1, y1=y1
                ).encode(),
            )
        add(ann_tar, "annotations/trainval.txt", b"Bengal_1 6 1 1\npug_1 26 2 1\npug_2 26 2 2\n")
        add(ann_tar, "annotations/test.txt", b"Bengal_2 6 1 2\n")
    return images.getvalue(), annotations.getvalue()


def test_voc_boxes_become_corners_counted_from_0(tmp_path):
    """VOC's xmin=1, xmax=10 covers pixels 1..10 (1-based): corners 0 and 10."""
    path = tmp_path / "a.xml"
    path.write_text(HEAD_XML.format(name="a", w=20, h=30, species="cat", x0=1, y0=5, x1=10, y1=30))
    boxes, size = pets.read_head_boxes(path)
    np.testing.assert_array_equal(boxes, [[0, 4, 10, 30]])
    assert size == (20, 30)
    path.write_text(HEAD_XML.format(name="a", w=20, h=30, species="cat", x0=9, y0=5, x1=3, y1=30))
    with pytest.raises(ValueError, match="max below its min"):
        pets.read_head_boxes(path)


def test_split_objects_keeps_each_box_with_its_image():
    images = np.arange(5)[:, None, None, None] * np.ones((5, 2, 2, 3), np.uint8)
    objects = pets.Objects(
        np.arange(24, dtype=float).reshape(6, 4) / 24,
        np.array([0, 1, 1, 0, 1, 0]),
        np.array([0, 1, 1, 2, 4, 4]),
    )
    (x_tr, o_tr), (x_te, o_te) = pets.split_objects(
        images, objects, np.array([0, 1, 0, 0, 1], bool)
    )
    assert x_tr[:, 0, 0, 0].tolist() == [0, 2, 3] and x_te[:, 0, 0, 0].tolist() == [1, 4]
    assert o_tr.image.tolist() == [0, 1] and o_te.image.tolist() == [0, 0, 1, 1]
    np.testing.assert_array_equal(o_te.boxes, objects.boxes[[1, 2, 4, 5]])
    np.testing.assert_array_equal(o_tr.labels, [0, 0])


@pytest.fixture
def served_heads(file_server, course_dirs, monkeypatch):
    """head_archives() on a local HTTP server under the real registry names."""
    images, annotations = head_archives()
    for name, filename, payload in (
        ("oxford_pets_images", "images.tar.gz", images),
        ("oxford_pets_annotations", "annotations.tar.gz", annotations),
    ):
        (file_server.root / filename).write_bytes(payload)
        real = registry.get(name)
        monkeypatch.setitem(
            registry.REGISTRY,
            name,
            DataFile(
                name=name,
                filename=real.filename,
                urls=(file_server.url(filename),),
                checksum="sha256:" + hashlib.sha256(payload).hexdigest(),
                size=len(payload),
                licence=real.licence,
                extract=True,
            ),
        )
    monkeypatch.setenv("COURSE_MODE", "full")
    return file_server


def test_full_mode_reads_head_boxes_as_fractions_of_the_photo(served_heads, capsys):
    (x_tr, o_tr), (x_te, o_te) = pets.load_pet_heads(full_size=40, test_fraction=0.0)
    assert x_tr.shape == (2, 40, 40, 3) and len(x_te) == 0 and len(o_te.boxes) == 0
    # Bengal_1 is 90 wide and 120 high; pug_1 160 wide and 100 high
    np.testing.assert_allclose(
        o_tr.boxes, [[0, 10 / 120, 45 / 90, 60 / 120], [80 / 160, 0, 1, 50 / 100]]
    )
    assert o_tr.labels.tolist() == [0, 1] and o_tr.image.tolist() == [0, 1]  # cat, dog
    said = capsys.readouterr().out
    assert "Oxford-IIIT Pet head boxes: 2 train / 0 test photos, 40x40" in said
    assert "1 trainval photos have no head box file" in said


def test_quick_head_loader_says_it_is_generated(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    (x_tr, o_tr), (x_te, o_te) = pets.load_pet_heads(quick_sizes=(6, 4))
    assert x_tr.shape == (6, 64, 64, 3) and len(x_te) == 4
    assert o_tr.image.max() == 5 and o_tr.labels.max() < len(SCENE_CLASSES)
    assert "NOT a real data set" in capsys.readouterr().out
