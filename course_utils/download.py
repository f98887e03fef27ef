"""Safe downloads: a classroom mirror (COURSE_DATA_MIRROR), mirrors, retries, a progress bar, checksums, and archive extraction that
refuses members which would land outside the target folder.

A download is written to `<file>.part` and renamed only after its checksum matched, so the
cache never holds a half-written or wrong file. Once a file has been checked, a small
`<file>.verified` record (checksum, size, mtime) lets later runs skip reading it again while it
is unchanged: hashing an 825 MB archive on Google Drive takes a long time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from course_utils import atomic, env
from course_utils.registry import UNPUBLISHED, DataFile, get

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No mirror delivered the file (network down, server error, or a cut transfer)."""


class ChecksumError(DownloadError):
    """A file arrived but its checksum is not the one the registry expects."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder."""


class _WrongFile(Exception):
    """Inside download_file: the transfer was whole but its checksum is wrong (the digest it has)."""


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


def _verified_record(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _fingerprint(path: Path, checksum: str) -> dict:
    """What a `.verified` record holds: the checksum the file matched, its size and mtime."""
    stat = path.stat()
    return {"checksum": checksum, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def record_verified(path: Path, checksum: str) -> None:
    """Write `<path>.verified`: `path` matched `checksum` as it is now (size and mtime)."""
    try:
        atomic.write_text(_verified_record(path), json.dumps(_fingerprint(path, checksum)) + "\n")
    except OSError:
        pass  # a read-only folder: the file is simply hashed again next time


def is_verified(path: Path, checksum: str) -> bool:
    """True when `path` matches `checksum`, hashing it only if it changed since it last matched.

    A `<path>.verified` record with the same checksum, size and mtime as the file now skips the
    hashing. Any difference (another size, another mtime, another expected checksum) hashes the
    file again; a match writes a fresh record, a mismatch deletes the record.
    """
    record = _verified_record(path)
    try:
        saved = json.loads(record.read_text())
    except (OSError, ValueError):
        saved = None
    if saved == _fingerprint(path, checksum):
        return True
    if verify(path, checksum):
        record_verified(path, checksum)
        return True
    record.unlink(missing_ok=True)
    return False


def _progress(total: int | None, desc: str, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not show)


def _fetch_once(url: str, part: Path, timeout: float, show: bool, headers: dict[str, str]) -> None:
    """Stream one URL into `part`; raise if the body is shorter than the server promised."""
    request = urllib.request.Request(url, headers={"User-Agent": "keras-cv-course", **headers})
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
    headers: dict[str, str] | None = None,
) -> Path:
    """Download `dest` from the first mirror that delivers a file with the right checksum.

    `checksum=None` accepts any complete transfer (for files with no published checksum);
    `headers` go with every request (a login).
    """
    dest = Path(dest)
    problems: list[str] = []
    for url in urls:
        for attempt in range(1, retries + 1):
            try:
                with atomic.writing(dest) as part:  # kept only when whole and verified
                    _fetch_once(url, part, timeout, show_progress, headers or {})
                    if checksum is not None and not verify(part, checksum):
                        raise _WrongFile(file_digest(part, checksum.split(":", 1)[0]))
            except _WrongFile as wrong:
                problems.append(f"{url}: checksum mismatch (got {wrong}), file deleted")
                print(f"Checksum mismatch for {dest.name} from {url}: the file was deleted.")
                break  # a mirror that serves a wrong file will serve it again
            except (OSError, urllib.error.URLError, DownloadError, ValueError) as err:
                # OSError covers refused connections, resets and http.client.IncompleteRead's
                # relatives; ValueError a malformed URL. The partial file never stays behind.
                code = err.code if isinstance(err, urllib.error.HTTPError) else None
                refused = " (401/403: the login was refused: a wrong key, or the data's terms " \
                    "not accepted yet)" if code in (401, 403) and headers else ""
                problems.append(f"{url} (try {attempt}): {err}{refused}")
                if code in (401, 403, 404):
                    break  # refused, or this mirror does not have it: retrying will not help
                if attempt < retries:
                    time.sleep(backoff * attempt)
                continue
            return dest
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


def kaggle_credentials() -> tuple[str, str] | None:
    """KAGGLE_USERNAME and KAGGLE_KEY from the environment, or None. Never prompts."""
    user, key = os.environ.get("KAGGLE_USERNAME", ""), os.environ.get("KAGGLE_KEY", "")
    return (user, key) if user and key else None


def _login_headers(entry: DataFile) -> dict[str, str]:
    """The HTTP headers that log in for `entry` (none for a public file)."""
    if entry.login is None:
        return {}
    if entry.login != "kaggle":
        raise ValueError(f"{entry.name}: unknown login {entry.login!r}")
    credentials = kaggle_credentials()
    if credentials is None:
        raise DownloadError(
            f"'{entry.filename}' comes from Kaggle, which needs an account: set KAGGLE_USERNAME "
            "and KAGGLE_KEY in the environment (from kaggle.com > Settings > API > Create New "
            "Token), accept the rules of the competition on its Kaggle page, and run the cell again."
        )
    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def manual_instructions(entry: DataFile, dest: Path) -> str:
    """The message a student sees when a file cannot be downloaded."""
    urls = "\n    ".join(entry.urls)
    expected = ("no checksum is published for it" if entry.checksum == UNPUBLISHED
                else f"expected {entry.checksum}")
    size = f", {entry.size_text}" if entry.size else ""
    return (
        f"Could not download '{entry.filename}' (data set '{entry.name}'{size}).\n"
        f"  Get it from:\n    {urls}\n"
        f"  and place it by hand at:\n    {dest}\n"
        f"  ({expected}). Then run this cell again.\n"
        f"  No network? Run the course offline on small data with COURSE_MODE=quick."
    )


MIRROR_VARIABLE = "COURSE_DATA_MIRROR"


def mirror_url(entry: DataFile) -> str | None:
    """Where the classroom mirror keeps `entry`, or None when COURSE_DATA_MIRROR is not set.

    COURSE_DATA_MIRROR is a URL (http://, https://, file://) or a local folder holding the
    registry's files under their own names (mnist.npz, cifar-10-python.tar.gz, ...). A file
    from the mirror is checked against the registry's checksum like any other.
    """
    base = os.environ.get(MIRROR_VARIABLE, "").strip()
    if not base:
        return None
    if "://" in base:
        return f"{base.rstrip('/')}/{entry.filename}"
    folder = Path(base).expanduser()
    if not folder.is_dir():
        raise DownloadError(f"{MIRROR_VARIABLE}={base!r} is neither a URL nor an existing folder: "
                            "point it at the folder (or web address) that holds the course's files, "
                            "or unset it to download from the publishers.")
    return (folder.resolve() / entry.filename).as_uri()


def _from_mirror(entry: DataFile, dest: Path, checksum: str | None, show_progress: bool) -> str | None:
    """Try the classroom mirror once; None when it delivered, else what went wrong (for the message)."""
    url = mirror_url(entry)
    if url is None:
        return "no mirror"
    if url.startswith("file:") and not Path(urllib.request.url2pathname(url[5:])).exists():
        print(f"{entry.filename} is not in the mirror {os.environ[MIRROR_VARIABLE]}: "
              "downloading it from its publisher.")
        return f"{url}: not in the mirror"
    print(f"{entry.filename}: from the mirror {os.environ[MIRROR_VARIABLE]} ({MIRROR_VARIABLE})")
    try:  # never with a login: the publisher's credentials are not the mirror's business
        download_file((url,), dest, checksum, retries=2, show_progress=show_progress)
    except DownloadError as err:
        print(f"The mirror could not deliver {entry.filename}: downloading it from its publisher.")
        return str(err)
    return None


REHEARSAL_VARIABLE = "COURSE_REHEARSAL_CHECKSUMS"


def rehearsal_checksum(entry: DataFile) -> str | None:
    """The checksum of `entry` in the rehearsal hub's manifest, when `make rehearse-full` set one
    and the hub wrote that file (None otherwise).

    The rehearsal (tools/rehearsal_hub.py) generates files in the real formats, so their checksums
    are not the registry's: its manifest, named by COURSE_REHEARSAL_CHECKSUMS, replaces them.
    Nothing else sets that variable; a file is never accepted without a checksum.
    """
    manifest = os.environ.get(REHEARSAL_VARIABLE, "").strip()
    if not manifest:
        return None
    try:
        checksums = json.loads(Path(manifest).read_text())
    except (OSError, ValueError) as err:
        raise DownloadError(f"{REHEARSAL_VARIABLE}={manifest!r} is not a readable checksum manifest "
                            f"({err}); unset it unless you are running make rehearse-full.") from err
    return checksums.get(entry.name)  # a file the hub did not write keeps the registry's checksum


def _expected_checksum(entry: DataFile, dest: Path) -> str | None:
    """The checksum `dest` must match: the registry's, or for a file with no published checksum
    the sha256 recorded in `<dest>.sha256` when it first arrived (None before that)."""
    rehearsal = rehearsal_checksum(entry)
    if rehearsal is not None:
        return rehearsal
    if entry.checksum != UNPUBLISHED:
        return entry.checksum
    recorded = dest.with_name(dest.name + ".sha256")
    if not recorded.exists() and dest.exists():  # placed by hand: trust it on first use
        digest = f"sha256:{file_digest(dest)}"
        atomic.write_text(recorded, digest + "\n")
        record_verified(dest, digest)
    return recorded.read_text().strip() if recorded.exists() else None


def cached_file(name: str) -> Path | None:
    """The already downloaded, verified file of registry entry `name` in env.downloads_dir()
    (on Drive in Colab), or None. Never downloads."""
    entry = get(name)
    dest = env.downloads_dir() / entry.filename
    checksum = _expected_checksum(entry, dest)
    if dest.exists() and checksum is not None and is_verified(dest, checksum):
        return dest
    return None


def fetch(name: str, *, show_progress: bool = True) -> Path:
    """Return the local path of registry file `name`, downloading it once into the cache.

    Downloads go to env.downloads_dir() (on Drive in Colab). Archives marked `extract` are
    unpacked into a folder named after the file, in `downloads/` inside env.data_dir() (the
    runtime's local disk in Colab); that folder is returned. If the unpacked folder is gone (a
    Colab disconnect wipes the local disk), it is unpacked again from the archive already
    downloaded. Quick mode never downloads: it raises instead of touching the network.
    """
    entry = get(name)
    folder = env.downloads_dir()
    dest = folder / entry.filename
    downloaded = False
    if cached_file(name) is None:
        if env.is_quick():
            raise RuntimeError(
                f"Quick mode never downloads, and '{entry.filename}' is not in {folder}. "
                "Use the chapter's quick-mode data, or set COURSE_MODE=full."
            )
        if dest.exists():
            print(f"{dest} is there but its checksum is wrong: downloading it again.")
            dest.unlink()
        checksum = _expected_checksum(entry, dest)
        mirror_problem = _from_mirror(entry, dest, checksum, show_progress)
        if mirror_problem is not None:
            try:
                download_file(entry.urls, dest, checksum, show_progress=show_progress,
                              headers=_login_headers(entry))
            except DownloadError as err:
                mirror = "" if mirror_problem == "no mirror" else f"\n  mirror: {mirror_problem}"
                # Same class (ChecksumError stays ChecksumError), with the what-to-do message first.
                raise type(err)(f"{manual_instructions(entry, dest)}\n\nDetails: {err}{mirror}") from err
        downloaded = True
        if checksum is None:  # no published checksum: record what arrived the first time
            checksum = f"sha256:{file_digest(dest)}"
            atomic.write_text(dest.with_name(dest.name + ".sha256"), checksum + "\n")
            print(f"No checksum is published for {entry.filename}: recorded its sha256 in "
                  f"{dest.name}.sha256; later runs check the file against it.")
        record_verified(dest, checksum)  # download_file checked it; later runs need not re-read it
    if not entry.extract:
        return dest
    out = env.data_dir() / "downloads" / (entry.filename.split(".")[0] + "_extracted")

    def unpack(tmp: Path) -> dict:
        if not downloaded:
            print(f"{entry.filename} is already in {folder}: unpacking it into {out}, "
                  "no download needed.")
        safe_extract(dest, tmp)
        return {"archive": entry.filename}

    atomic.build_folder(out, unpack)
    return out
