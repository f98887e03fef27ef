"""CIFAR-10 loader: the generated quick-mode stand-in, and the full path on a real (small)
archive in the CIFAR-10 pickle layout, served over HTTP on 127.0.0.1 (conftest's file_server)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from course_utils import registry
from course_utils.datasets import cifar10, synthetic
from course_utils.download import DownloadError


# ------------------------------------------------------------------------------- quick mode
def test_quick_shapes_dtypes_and_balance():
    (xtr, ytr), (xte, yte) = cifar10.load_cifar10_quick(n_train=500, n_test=200, seed=3)
    assert xtr.shape == (500, 32, 32, 3) and xte.shape == (200, 32, 32, 3)
    assert xtr.dtype == np.uint8 and xte.dtype == np.uint8
    assert ytr.shape == (500,) and yte.shape == (200,)
    assert ytr.dtype == np.int64 and yte.dtype == np.int64
    assert np.array_equal(np.bincount(ytr, minlength=10), np.full(10, 50))
    assert np.array_equal(np.bincount(yte, minlength=10), np.full(10, 20))
    assert xtr.min() == 0 or xtr.max() == 255 or xtr.std() > 20  # real spread, not a flat grey
    assert len(set(ytr[:20].tolist())) > 3  # shuffled, not sorted by class


def test_quick_is_deterministic_and_seed_dependent():
    a = cifar10.load_cifar10_quick(100, 50, seed=7)
    b = cifar10.load_cifar10_quick(100, 50, seed=7)
    c = cifar10.load_cifar10_quick(100, 50, seed=8)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0][0])
    assert not np.array_equal(a[0][0][:50], a[1][0])  # test images are not copies of train


def test_quick_is_learnable_but_not_trivial():
    """1-NN on raw pixels must be well above chance (10%) and well below 100%."""
    (xtr, ytr), (xte, yte) = cifar10.load_cifar10_quick(2000, 300, seed=0)
    a = xtr.reshape(len(xtr), -1).astype(np.float32)
    b = xte.reshape(len(xte), -1).astype(np.float32)
    d = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
    acc = float(np.mean(ytr[d.argmin(1)] == yte))
    assert 0.25 < acc < 0.85, acc


def test_quick_rejects_unbalanced_size():
    with pytest.raises(ValueError, match="multiple of 10"):
        synthetic.cifar10_standin(55)


def test_load_in_quick_mode_announces_standin(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # empty: nothing to download from
    (xtr, ytr), (xte, yte) = cifar10.load_cifar10(n_train=100, n_test=30)
    assert xtr.shape == (100, 32, 32, 3) and xte.shape == (30, 32, 32, 3)
    out = capsys.readouterr().out.replace("\n      ", " ")  # announce() wraps at 79
    assert "data: CIFAR-10 stand-in, quick mode" in out and "not real" in out
    assert len(cifar10.CIFAR10_CLASSES) == 10 and len(synthetic.CIFAR10_STANDIN_PATTERNS) == 10
    assert not any(tmp_path.iterdir())  # quick mode downloaded nothing


# -------------------------------------------------------------------------------- full mode
def _batch_bytes(images: np.ndarray, labels: np.ndarray, name: bytes) -> bytes:
    """A batch pickled as the real files are: a dict with bytes keys, rows R|G|B, protocol 2."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    batch = {
        b"batch_label": name,
        b"labels": labels.tolist(),
        b"data": rows,
        b"filenames": [b"img_%d.png" % i for i in range(len(images))],
    }
    data = pickle.dumps(batch, protocol=2)
    # The real files were written by NumPy 1 and name numpy.core; NumPy 2 writes numpy._core.
    data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n" in data
    return data


def _make_archive(folder: Path, n_per_batch: int = 12, n_test: int = 15):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (5 * n_per_batch + n_test, 32, 32, 3), dtype=np.uint8)
    x[:, 0, 0] = (10, 20, 30)  # a known pixel pins the channel order
    y = rng.integers(0, 10, len(x))
    members = {
        f"cifar-10-batches-py/data_batch_{i + 1}": _batch_bytes(
            x[i * n_per_batch : (i + 1) * n_per_batch],
            y[i * n_per_batch : (i + 1) * n_per_batch],
            b"training batch %d of 5" % (i + 1),
        )
        for i in range(5)
    }
    members["cifar-10-batches-py/test_batch"] = _batch_bytes(
        x[5 * n_per_batch :], y[5 * n_per_batch :], b"testing batch 1 of 1"
    )
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {b"label_names": [c.encode() for c in cifar10.CIFAR10_CLASSES]}, protocol=2
    )
    archive = folder / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    n_train = 5 * n_per_batch
    return archive, (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def _use_entry(monkeypatch, url: str, checksum: str, size: int | None):
    entry = dataclasses.replace(
        registry.REGISTRY["cifar10"], urls=(url,), checksum=checksum, size=size
    )
    monkeypatch.setitem(registry.REGISTRY, "cifar10", entry)


def test_full_mode_downloads_verifies_extracts_and_parses(
    file_server, tmp_path, monkeypatch, capsys
):
    archive, (xtr, ytr), (xte, yte) = _make_archive(file_server.root)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    _use_entry(
        monkeypatch, file_server.url(archive.name), f"sha256:{digest}", archive.stat().st_size
    )
    data = tmp_path / "data"
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))

    (a, b), (c, d) = cifar10.load_cifar10()
    assert a.shape == (60, 32, 32, 3) and c.shape == (15, 32, 32, 3)
    assert a.dtype == np.uint8 and b.dtype == np.int64 and d.dtype == np.int64
    assert np.array_equal(a, xtr) and np.array_equal(b, ytr)
    assert np.array_equal(c, xte) and np.array_equal(d, yte)
    assert tuple(a[0, 0, 0]) == (10, 20, 30)
    assert "data: CIFAR-10, full: 60 train / 15 test" in capsys.readouterr().out
    assert (data / "downloads" / "cifar-10-python.tar.gz").is_file()
    assert file_server.requests == [archive.name]

    # Second call: served from the cache, no new request, even with the server's file gone.
    archive.unlink()
    (a2, _), (c2, _) = cifar10.load_cifar10(n_train=25, n_test=5)
    assert np.array_equal(a2, xtr[:25]) and np.array_equal(c2, xte[:5])
    said = capsys.readouterr().out.replace("\n      ", " ")  # announce() wraps at 79
    assert "first images of each split" in said
    assert file_server.requests == [archive.name]


def test_full_mode_survives_a_cut_transfer(file_server, tmp_path, monkeypatch):
    archive, (xtr, _), _ = _make_archive(file_server.root)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    _use_entry(monkeypatch, file_server.url(archive.name), f"sha256:{digest}", None)
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("course_utils.download.time.sleep", lambda s: None)
    file_server.cut_next[archive.name] = 1  # the first response stops half-way
    (a, _), _ = cifar10.load_cifar10()
    assert np.array_equal(a, xtr)
    assert file_server.requests == [archive.name, archive.name]


def test_full_mode_checksum_mismatch_keeps_nothing(file_server, tmp_path, monkeypatch):
    archive, _, _ = _make_archive(file_server.root)
    _use_entry(monkeypatch, file_server.url(archive.name), "sha256:" + "0" * 64, None)
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    # fetch() wraps the ChecksumError in a DownloadError that also tells the student what to do
    with pytest.raises(DownloadError, match="checksum is not sha256:0000"):
        cifar10.load_cifar10()
    assert not list((tmp_path / "data" / "downloads").glob("cifar-10*"))


def test_full_mode_unreachable_says_what_to_do(tmp_path, monkeypatch):
    _use_entry(
        monkeypatch, "http://127.0.0.1:9/cifar-10-python.tar.gz", "sha256:" + "0" * 64, None
    )
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("course_utils.download.time.sleep", lambda s: None)
    with pytest.raises(Exception, match="COURSE_MODE=quick"):
        cifar10.load_cifar10()


def test_read_batch_refuses_code_in_pickle(tmp_path):
    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": os.system}, protocol=2))  # references posix.system
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        cifar10.read_batch(bad)


def test_read_batch_rejects_wrong_layout(tmp_path):
    odd = tmp_path / "data_batch_1"
    odd.write_bytes(
        pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2)
    )
    with pytest.raises(ValueError, match="expected"):
        cifar10.read_batch(odd)
