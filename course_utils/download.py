"""Safe downloads: mirrors, retries, a progress bar, checksums, and archive extraction that
refuses members which would land outside the target folder.

A download is written to `<file>.part` and renamed only after its checksum matched, so the
cache never holds a half-written or wrong file.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from course_utils import env
from course_utils.registry import UNPUBLISHED, DataFile, get

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No mirror delivered the file (network down, server error, or a cut transfer)."""


class ChecksumError(DownloadError):
    """A file arrived but its checksum is not the one the registry expects."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder."""


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, checksum: str) -> bool:
    """True when `path` matches a checksum written 'sha256:<hex>' or 'md5:<hex>'."""
    algorithm, digest = checksum.split(":", 1)
    return file_digest(path, algorithm) == digest.lower()


def _progress(total: int | None, desc: str, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not show)


def _fetch_once(url: str, part: Path, timeout: float, show: bool) -> None:
    """Stream one URL into `part`; raise if the body is shorter than the server promised."""
    request = urllib.request.Request(url, headers={"User-Agent": "keras-cv-course"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length else None
        received = 0
        with open(part, "wb") as out, _progress(expected, part.name[:-5], show) as bar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                received += len(block)
                bar.update(len(block))
    if expected is not None and received != expected:
        raise DownloadError(f"transfer cut: got {received} of {expected} bytes from {url}")


def download_file(
    urls: tuple[str, ...] | list[str],
    dest: Path,
    checksum: str | None,
    *,
    retries: int = 3,
    timeout: float = 30.0,
    backoff: float = 1.0,
    show_progress: bool = True,
) -> Path:
    """Download `dest` from the first mirror that delivers a file with the right checksum.

    `checksum=None` accepts any complete transfer (for files with no published checksum).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    problems: list[str] = []
    for url in urls:
        for attempt in range(1, retries + 1):
            try:
                _fetch_once(url, part, timeout, show_progress)
            except (OSError, urllib.error.URLError, DownloadError, ValueError) as err:
                # OSError covers refused connections, resets and http.client.IncompleteRead's
                # relatives; ValueError a malformed URL. The partial file never stays behind.
                part.unlink(missing_ok=True)
                problems.append(f"{url} (try {attempt}): {err}")
                if isinstance(err, urllib.error.HTTPError) and err.code == 404:
                    break  # this mirror does not have it: retrying will not help
                if attempt < retries:
                    time.sleep(backoff * attempt)
                continue
            if checksum is None or verify(part, checksum):
                part.replace(dest)
                return dest
            actual = file_digest(part, checksum.split(":", 1)[0])
            part.unlink(missing_ok=True)
            problems.append(f"{url}: checksum mismatch (got {actual}), file deleted")
            print(f"Checksum mismatch for {dest.name} from {url}: the file was deleted.")
            break  # a mirror that serves a wrong file will serve it again
    summary = "\n  ".join(problems)
    if problems and all("checksum mismatch" in p for p in problems):
        raise ChecksumError(
            f"{dest.name}: every mirror served a file whose checksum is not {checksum}; "
            f"nothing was kept.\n  {summary}"
        )
    raise DownloadError(f"Could not download {dest.name}.\n  {summary}")


def _check_member(target: Path, name: str) -> Path:
    resolved = (target / name).resolve()
    if resolved != target and target not in resolved.parents:
        raise UnsafeArchiveError(
            f"Refusing to extract {name!r}: it would be written outside {target}."
        )
    return resolved


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract a .zip or .tar(.gz/.bz2/.xz) into `target`, refusing escaping members and links."""
    archive, target = Path(archive), Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                _check_member(target, member.filename)
            zf.extractall(target)
        return target
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                _check_member(target, member.name)
                if member.issym() or member.islnk():
                    _check_member(target, str(Path(member.name).parent / member.linkname))
                if member.isdev():
                    raise UnsafeArchiveError(f"Refusing device file {member.name!r} in {archive}")
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: refuse at the source too
                tf.extractall(target, members=members, filter="data")
            else:
                tf.extractall(target, members=members)
        return target
    raise ValueError(f"{archive} is neither a zip nor a tar archive.")


def manual_instructions(entry: DataFile, dest: Path) -> str:
    """The message a student sees when a file cannot be downloaded."""
    urls = "\n    ".join(entry.urls)
    expected = ("no checksum is published for it" if entry.checksum == UNPUBLISHED
                else f"expected {entry.checksum}")
    return (
        f"Could not download '{entry.filename}' (data set '{entry.name}').\n"
        f"  Get it from:\n    {urls}\n"
        f"  and place it by hand at:\n    {dest}\n"
        f"  ({expected}). Then run this cell again.\n"
        f"  No network? Run the course offline on small data with COURSE_MODE=quick."
    )


def fetch(name: str, *, cache_dir: Path | None = None, show_progress: bool = True) -> Path:
    """Return the local path of registry file `name`, downloading it once into the cache.

    Archives marked `extract` are unpacked into a folder named after the file; that folder
    is returned. Quick mode never downloads: it raises instead of touching the network.
    """
    entry = get(name)
    folder = Path(cache_dir) if cache_dir else env.data_dir() / "downloads"
    dest = folder / entry.filename
    checksum: str | None = entry.checksum
    recorded = dest.with_name(dest.name + ".sha256")
    if checksum == UNPUBLISHED:  # trust on first use: check against what arrived the first time
        checksum = recorded.read_text().strip() if recorded.exists() else None
        if checksum is None and dest.exists():
            recorded.write_text(f"sha256:{file_digest(dest)}\n")
            checksum = recorded.read_text().strip()
    if not (dest.exists() and (checksum is None or verify(dest, checksum))):
        if env.is_quick():
            raise RuntimeError(
                f"Quick mode never downloads, and '{entry.filename}' is not in {folder}. "
                "Use the chapter's quick-mode data, or set COURSE_MODE=full."
            )
        if dest.exists():
            print(f"{dest} is there but its checksum is wrong: downloading it again.")
            dest.unlink()
        try:
            download_file(entry.urls, dest, checksum, show_progress=show_progress)
        except DownloadError as err:
            # Same class (ChecksumError stays ChecksumError), with the what-to-do message first.
            raise type(err)(f"{manual_instructions(entry, dest)}\n\nDetails: {err}") from err
        if entry.checksum == UNPUBLISHED and not recorded.exists():
            recorded.write_text(f"sha256:{file_digest(dest)}\n")
            print(f"No checksum is published for {entry.filename}: recorded its sha256 in "
                  f"{recorded.name}; later runs check the file against it.")
    if not entry.extract:
        return dest
    out = folder / (entry.filename.split(".")[0] + "_extracted")
    done = out / ".complete"
    if not done.exists():
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        safe_extract(dest, tmp)
        shutil.rmtree(out, ignore_errors=True)
        tmp.replace(out)
        done.touch()
    return out
