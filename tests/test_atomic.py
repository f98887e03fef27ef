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
    assert (
        calls[0].parent == tmp_path
        and calls[0].name.startswith("set.tmp-")
        and not calls[0].exists()
    )
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
    assert all(record == {"who": winner} and text == winner for _, record, text in results), (
        results
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]


def test_folders_left_by_ended_builds_are_cleaned_up(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / f"set.tmp-{dead}-x1").mkdir()  # a build that was killed
    (tmp_path / "set.tmp").mkdir()  # an earlier version's temporary folder
    live = tmp_path / f"set.tmp-{os.getpid()}-x2"
    live.mkdir()  # a build still running (this process): left alone
    atomic.build_folder(tmp_path / "set", lambda tmp: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["set", live.name])


def test_two_writers_of_one_file_never_share_a_part(tmp_path):
    """Each writer has a part file of its own: the one who finishes last wins, whole."""
    dest = tmp_path / "notes.json"
    with atomic.writing(dest) as first, atomic.writing(dest) as second:
        assert first != second and first.parent == second.parent == tmp_path
        assert first.name.startswith("notes.json.") and first.name.endswith(".part")
        first.write_text("first, whole")
        second.write_text("second, whole")
    assert dest.read_text() == "first, whole"  # the outer block ends last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.json"]


def test_parts_left_by_ended_processes_are_removed_by_the_next_write(tmp_path):
    dead = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    host = atomic._host()
    ended = tmp_path / f"set.zip.{host}-{dead}-0123abcd.part"  # a download killed mid-way
    running = tmp_path / f"set.zip.{host}-{os.getpid()}-0123abcd.part"  # ours: still writing
    elsewhere = tmp_path / "set.zip.abcdef-1-0123abcd.part"  # another machine, sharing the folder
    stale = tmp_path / "set.zip.abcdef-2-0123abcd.part"  # another machine, not written for a day
    legacy = tmp_path / "set.zip.part"  # the single part file of earlier versions
    other = tmp_path / f"set.zip.verified.{host}-{dead}-0123abcd.part"  # another file's part
    for part in (ended, running, elsewhere, stale, legacy, other):
        part.write_bytes(b"half")
    os.utime(stale, (time.time() - 86400, time.time() - 86400))
    atomic.write_bytes(tmp_path / "set.zip", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["set.zip", running.name, elsewhere.name, other.name]
    )


def _hold_lock(lock: str, log: str, who: str) -> None:
    with atomic.locked(Path(lock), waiting=f"{who} waits"):
        with open(log, "a") as f:
            f.write(f"{who} in\n")
        time.sleep(0.5)
        with open(log, "a") as f:
            f.write(f"{who} out\n")


def test_a_lock_makes_the_second_process_wait_and_is_gone_afterwards(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    lock, log = tmp_path / "set.zip.lock", tmp_path / "log.txt"
    workers = [ctx.Process(target=_hold_lock, args=(str(lock), str(log), who)) for who in "ab"]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    lines = log.read_text().split("\n")[:-1]
    assert sorted(lines) == ["a in", "a out", "b in", "b out"]
    assert lines[0].split()[0] == lines[1].split()[0]  # one process at a time
    assert not lock.exists()
