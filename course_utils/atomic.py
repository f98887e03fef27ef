"""Writing files and folders so that a crash, a kill or a disconnect never leaves half of one.

A file is written beside its destination as `<name>.part` and renamed over the destination only
once it is whole (`writing`, `write_text`, `write_bytes`). A folder is built beside its
destination in a folder of its own (`<name>.tmp-<process id>-...`), given a `.complete` record
(JSON) and swapped in (`build_folder`); a folder without that record is not finished and is built
again. Two processes may build the same folder at once (two chapters running side by side): each
builds its own copy, the first to finish wins, and a finished folder is never deleted. Every
module of the course that writes data does it through these.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PART = ".part"
COMPLETE = ".complete"


@contextmanager
def writing(dest: Path) -> Iterator[Path]:
    """Yield `<dest>.part` to write into: it becomes `dest` when the block ends, is deleted if it raises."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + PART)
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(dest)


def write_text(dest: Path, text: str) -> Path:
    """Write `text` to `dest` through `<dest>.part`, so `dest` is always whole."""
    with writing(dest) as part:
        part.write_text(text)
    return Path(dest)


def write_bytes(dest: Path, data: bytes) -> Path:
    """Write `data` to `dest` through `<dest>.part`, so `dest` is always whole."""
    with writing(dest) as part:
        part.write_bytes(data)
    return Path(dest)


def completed(folder: Path) -> dict | None:
    """The record a finished `build_folder` left in `folder`, or None when it is not finished."""
    try:
        text = (Path(folder) / COMPLETE).read_text()
    except OSError:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _remove_abandoned(dest: Path) -> None:
    """Delete temporary folders left by builds of `dest` whose process has ended."""
    shutil.rmtree(dest.with_name(dest.name + ".tmp"), ignore_errors=True)  # earlier versions' name
    for tmp in dest.parent.glob(f"{dest.name}.tmp-*"):
        pid = tmp.name[len(dest.name) + 5:].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(tmp: Path, dest: Path) -> dict | None:
    """Move the finished `tmp` to `dest`; if another build finished first, keep that one and
    return its record. An unfinished `dest` (no record) is moved aside and deleted."""
    for _ in range(2):
        try:
            tmp.replace(dest)  # a folder replaces only a missing (or empty) one
            return None
        except OSError:
            finished = completed(dest)
            if finished is not None:
                shutil.rmtree(tmp, ignore_errors=True)
                return finished
            aside = Path(tempfile.mkdtemp(prefix=f"{dest.name}.old-", dir=dest.parent))
            try:
                dest.replace(aside / "unfinished")
            except OSError:
                pass  # gone already: another build moved it
            shutil.rmtree(aside, ignore_errors=True)
    tmp.replace(dest)
    return None


def build_folder(dest: Path, build: Callable[[Path], dict | None]) -> dict:
    """Build `dest` once; return its record.

    A finished `dest` is left alone and its record returned. Otherwise `build(tmp)` fills a fresh
    temporary folder beside it and returns a record (a JSON-able dict, or None for an empty
    one), which is written into it as `.complete`; then the folder becomes `dest`. If `build`
    raises, the temporary folder is deleted and `dest` stays as it was. If another process
    finished `dest` meanwhile, its folder is kept and its record returned.
    """
    dest = Path(dest)
    record = completed(dest)
    if record is not None:
        return record
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f"{dest.name}.tmp-{os.getpid()}-", dir=dest.parent))
    try:
        record = build(tmp) or {}
        write_text(tmp / COMPLETE, json.dumps(record))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    theirs = _swap_in(tmp, dest)
    return record if theirs is None else theirs
