"""Writing files and folders whole or not at all: an error (or a kill) mid-write leaves the old
file or folder as it was and nothing half-written beside it."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_utils import atomic


def test_a_file_is_replaced_only_when_its_writing_finished(tmp_path):
    dest = tmp_path / "sub" / "notes.json"
    atomic.write_text(dest, "old")
    with pytest.raises(RuntimeError):
        with atomic.writing(dest) as part:
            part.write_text("half of the new")
            raise RuntimeError("killed mid-write")
    assert dest.read_text() == "old"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["notes.json"]
    atomic.write_bytes(dest, b"new")
    assert dest.read_bytes() == b"new" and not dest.with_name("notes.json.part").exists()


def test_a_folder_is_built_once_and_its_record_kept(tmp_path):
    calls = []

    def build(tmp):
        calls.append(tmp)
        (tmp / "a.txt").write_text("hello")
        return {"files": 1}

    out = tmp_path / "set"
    assert atomic.build_folder(out, build) == {"files": 1}
    assert (out / "a.txt").read_text() == "hello"
    assert json.loads((out / atomic.COMPLETE).read_text()) == {"files": 1}
    assert atomic.build_folder(out, build) == {"files": 1} and len(calls) == 1
    assert calls[0].parent == tmp_path and calls[0].name.startswith("set.tmp-") and not calls[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_a_failed_build_leaves_the_old_folder_and_no_leftovers(tmp_path):
    out = tmp_path / "set"
    out.mkdir()
    (out / "old.txt").write_text("unfinished earlier run")  # no record: not complete

    def broken(tmp):
        (tmp / "partial.txt").write_text("...")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic.build_folder(out, broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]
    assert (out / "old.txt").exists() and atomic.completed(out) is None
    assert atomic.build_folder(out, lambda tmp: None) == {}  # rebuilt: the old files are gone
    assert sorted(p.name for p in out.iterdir()) == [atomic.COMPLETE]


def test_a_damaged_record_means_not_complete(tmp_path):
    (tmp_path / atomic.COMPLETE).write_text("{trunc")
    assert atomic.completed(tmp_path) is None
    assert atomic.completed(tmp_path / "missing") is None


def _slow_build(dest: str, who: str, queue) -> None:
    def build(tmp):
        (tmp / "who.txt").write_text(who)
        time.sleep(0.5)  # both processes are building at the same time
        return {"who": who}

    record = atomic.build_folder(Path(dest), build)
    queue.put((who, record, (Path(dest) / "who.txt").read_text()))


def test_two_processes_building_one_folder_both_get_the_finished_one(tmp_path):
    """Two chapters running side by side build the same data folder: no error, one winner."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    dest = tmp_path / "set"
    workers = [ctx.Process(target=_slow_build, args=(str(dest), who, queue)) for who in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    results = [queue.get(timeout=5) for _ in workers]
    winner = atomic.completed(dest)["who"]
    assert all(record == {"who": winner} and text == winner for _, record, text in results), results
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_folders_left_by_ended_builds_are_cleaned_up(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f"set.tmp-{dead}-x1").mkdir()  # a build that was killed
    (tmp_path / "set.tmp").mkdir()  # an earlier version's temporary folder
    live = tmp_path / f"set.tmp-{os.getpid()}-x2"
    live.mkdir()  # a build still running (this process): left alone
    atomic.build_folder(tmp_path / "set", lambda tmp: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["set", live.name])
