"""Writing files and folders so that a crash, a kill or a disconnect never leaves half of one.

A file is written beside its destination as `<name>.part` and renamed over the destination only
once it is whole (`writing`, `write_text`, `write_bytes`). A folder is built beside its
destination as `<name>.tmp`, given a `.complete` record (JSON) and swapped in (`build_folder`);
a folder without that record is not finished and is built again. Every module of the course
that writes data does it through these.
"""

from __future__ import annotations

import json
import shutil
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


def build_folder(dest: Path, build: Callable[[Path], dict | None]) -> dict:
    """Build `dest` once; return its record.

    A finished `dest` is left alone and its record returned. Otherwise `build(tmp)` fills a fresh
    `<dest>.tmp` and returns a record (a JSON-able dict, or None for an empty one), which is
    written into it as `.complete`; then the folder replaces `dest`. If `build` raises, the
    temporary folder is deleted and `dest` stays as it was.
    """
    dest = Path(dest)
    record = completed(dest)
    if record is not None:
        return record
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        record = build(tmp) or {}
        write_text(tmp / COMPLETE, json.dumps(record))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)
    return record
