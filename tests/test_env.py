"""Run-mode detection, folders, and the setup report."""

from __future__ import annotations

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


def test_mount_drive_outside_colab_mounts_nothing(monkeypatch, course_dirs, capsys):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert env.mount_drive() is None
    assert "Not in Colab" in capsys.readouterr().out


def test_setup_reports_versions_gpu_mode_and_folders(monkeypatch, course_dirs, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    info = env.setup(seed=7)
    out = capsys.readouterr().out
    assert info.mode == "quick" and info.quick and info.seed == 7
    for needed in ("TensorFlow", "Keras", "GPU:", "mode: quick", str(course_dirs[0]), str(course_dirs[1])):
        assert needed in out
    import numpy as np
    first = np.random.rand()
    env.setup(seed=7)
    assert np.random.rand() == first  # seeding makes runs repeatable
