"""Writing files and folders so that a crash, a kill or a disconnect never leaves half of one.

A file is written beside its destination into a temporary file of its own process
(`<name>.<host>-<process id>-<random>.part`, as pip keeps each download in a temporary folder of
its own) and renamed over the destination only once it is whole (`writing`, `write_text`,
`write_bytes`); two processes writing the same file never write into each other's, and parts
left by a killed process are deleted by the next write. `locked` makes a second process wait
while a first one produces a file (one download, not two). A folder is built beside its
destination in a folder of its own (`<name>.tmp-<process id>-...`), given a `.complete` record
(JSON) and swapped in (`build_folder`); a folder without that record is not finished and is built
again. Two processes may build the same folder at once (two chapters running side by side): each
builds its own copy, the first to finish wins, and a finished folder is never deleted. Every
module of the course that writes data does it through these.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PART = ".part"
COMPLETE = ".complete"


STALE_PART_SECONDS = 3600.0  # a part nobody wrote to for an hour is abandoned (any machine)


def _host() -> str:
    """A short tag of this machine, so a folder shared by two machines (a network share, Drive)
    never has one machine delete the other's parts by a process id that means nothing there."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def owner() -> str:
    """`<host>-<pid>`: the tag this process puts in the names of its parts and temporary
    folders."""
    return f"{_host()}-{os.getpid()}"


def abandoned(tag: str, path: Path) -> bool:
    """True when `path`, named with owner tag `tag` (`<host>-<pid>`), is left over: the process
    that wrote it ran on this machine and has ended, or nobody wrote to it for an hour."""
    host, _, pid = tag.partition("-")
    try:
        stale = time.time() - path.stat().st_mtime > STALE_PART_SECONDS
    except OSError:
        return False  # gone already
    return stale or (host == _host() and pid.isdigit() and not _alive(int(pid)))


def _remove_abandoned_parts(dest: Path) -> None:
    """Delete parts of `dest` left by a process of this machine that has ended, by an earlier
    version of the course (`<name>.part`), or by anyone if untouched for an hour."""
    legacy = dest.with_name(dest.name + PART)
    legacy.unlink(missing_ok=True)
    for part in dest.parent.glob(f"{glob.escape(dest.name)}.*{PART}"):
        tag = re.fullmatch(
            r"([0-9a-f]{6}-\d+)-[0-9a-f]{8}", part.name[len(dest.name) + 1 : -len(PART)]
        )
        if tag is not None and abandoned(tag[1], part):  # else another file's part
            part.unlink(missing_ok=True)


def _new_part(dest: Path) -> Path:
    """Create an empty part file for `dest`, owned by this process, and return its path."""
    while True:
        part = dest.with_name(f"{dest.name}.{owner()}-{secrets.token_hex(4)}{PART}")
        try:
            os.close(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return part


@contextmanager
def writing(dest: Path) -> Iterator[Path]:
    """Yield a part file of this process to write into: it becomes `dest` when the block ends,
    and is deleted if the block raises."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_parts(dest)
    part = _new_part(dest)
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(dest)


@contextmanager
def locked(path: Path, waiting: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the lock file `path` while the block runs.

    Other processes of this machine that ask for the same lock wait (printing `waiting` once);
    the lock is released when the block ends or the process dies, even by SIGKILL (flock).
    Where the file system has no locks (or on Windows), the block runs without one: writes
    stay whole through `writing`, only the work may be done twice.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    told = False
    held: int | None = None  # the lock file's descriptor while we hold its lock
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if waiting and not told:
                    print(waiting)
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks on this file system
            os.close(fd)
            break
        try:  # the holder before us deletes the lock file: then ours is stale, take the new one
            mine, now = os.fstat(fd), os.stat(path)
            if (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino):
                held = fd
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        if held is not None:
            path.unlink(missing_ok=True)  # while still holding it: see above
            os.close(held)


def write_text(dest: Path, text: str) -> Path:
    """Write `text` to `dest` through a part file, so `dest` is always whole."""
    with writing(dest) as part:
        part.write_text(text)
    return Path(dest)


def write_bytes(dest: Path, data: bytes) -> Path:
    """Write `data` to `dest` through a part file, so `dest` is always whole."""
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
        pid = tmp.name[len(dest.name) + 5 :].split("-")[0]
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
