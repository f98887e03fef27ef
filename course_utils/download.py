"""Safe downloads: a classroom mirror (COURSE_DATA_MIRROR), mirrors, retries, a progress bar,
checksums, and archive extraction that
refuses members which would land outside the target folder.

A download is written to a part file of its own process (`<file>.<host>-<pid>-<random>.part`)
and renamed only after its checksum matched, so the cache never holds a half-written or wrong
file, and two processes never write into one file. A second process that asks for a file the
first is fetching waits for it (a lock file beside it) and then uses its copy: one download.
A transfer stops as soon as it goes past the data hub's size for the file. A login is sent only
to its own host: a redirect to another host goes without it. Once a file has been checked, a
small `<file>.verified` record (checksum, size, mtime, ctime) lets later runs skip reading it
again while it is unchanged: hashing an 825 MB archive on Google Drive takes a long time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from course_utils import atomic, env
from course_utils.registry import UNPUBLISHED, DataFile, get

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No mirror delivered the file (network down, server error, or a cut transfer)."""

    reasons: list[str]  # why each mirror failed, when download_file() raised it


class ChecksumError(DownloadError):
    """A file arrived but its checksum is not the one the registry expects."""


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the extraction folder."""


class TooLargeError(DownloadError):
    """A server offered or sent more bytes than the data hub allows for the file."""


class _WrongFile(Exception):
    """Inside download_file: the transfer was whole but its checksum is wrong (the digest it
    has)."""


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
    """What a `.verified` record holds: the checksum the file matched, its size, mtime and ctime.

    The ctime (inode change time) moves whenever the file is written or its mtime is set, and
    cannot be set back: content changed with size and mtime kept still changes it.
    """
    stat = path.stat()
    return {
        "checksum": checksum,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
    }


def record_verified(path: Path, checksum: str) -> None:
    """Write `<path>.verified`: `path` matched `checksum` as it is now (size, mtime, ctime)."""
    try:
        atomic.write_text(_verified_record(path), json.dumps(_fingerprint(path, checksum)) + "\n")
    except OSError:
        pass  # a read-only folder: the file is simply hashed again next time


def is_verified(path: Path, checksum: str) -> bool:
    """True when `path` matches `checksum`, hashing it only if it changed since it last matched.

    A `<path>.verified` record with the same checksum, size, mtime and ctime as the file now skips
    the hashing. Any difference (another size, mtime or ctime, another expected checksum) hashes
    the file again; a match writes a fresh record, a mismatch deletes the record.
    """
    if _record_matches(path, checksum):
        return True
    if verify(path, checksum):
        record_verified(path, checksum)
        return True
    _verified_record(path).unlink(missing_ok=True)
    return False


def _record_matches(path: Path, checksum: str) -> bool:
    """True when `<path>.verified` says `path`, as it is now, matched `checksum` (no hashing)."""
    try:
        return json.loads(_verified_record(path).read_text()) == _fingerprint(path, checksum)
    except (OSError, ValueError):
        return False


def _progress(total: int | None, desc: str, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not show)


# Headers that carry a login: never sent to another host than the one they were meant for.
LOGIN_HEADERS = ("authorization", "proxy-authorization", "cookie")


def _keeps_login(old_url: str, new_url: str) -> bool:
    """True when a redirect from `old_url` to `new_url` may carry the login along (as pip's
    requests decides): the same host, and the same scheme and port or http upgraded to https."""
    old, new = urllib.parse.urlsplit(old_url), urllib.parse.urlsplit(new_url)
    if old.hostname != new.hostname:
        return False
    default = {"http": 80, "https": 443}
    if (old.scheme, old.port or default.get(old.scheme)) == (
        new.scheme,
        new.port or default.get(new.scheme),
    ):
        return True
    return (
        (old.scheme, new.scheme) == ("http", "https")
        and old.port in (None, 80)
        and new.port in (None, 443)
    )


class _LoginStaysHome(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, minus the login when a redirect leaves its host (urllib would copy
    every header to the new host: Kaggle redirects to signed storage URLs on another host)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and not _keeps_login(req.full_url, new.full_url):
            for name in [n for n in new.headers if n.lower() in LOGIN_HEADERS]:
                del new.headers[name]
        return new


_OPENER = urllib.request.build_opener(_LoginStaysHome)


def _fetch_once(
    url: str,
    part: Path,
    timeout: float,
    show: bool,
    headers: dict[str, str],
    limit: int | None = None,
    label: str = "",
) -> None:
    """Stream one URL into `part`; raise if the body is shorter than the server promised, or if
    the server offers or sends more than `limit` bytes (the transfer stops there)."""
    request = urllib.request.Request(url, headers={"User-Agent": "keras-cv-course", **headers})
    with _OPENER.open(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length else None
        if limit is not None and expected is not None and expected > limit:
            raise TooLargeError(
                f"it offers {expected:,} bytes, more than the {limit:,} the data "
                "hub allows for this file: not downloaded"
            )
        received = 0
        with open(part, "wb") as out, _progress(expected, label or part.name, show) as bar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                received += len(block)
                if limit is not None and received > limit:
                    raise TooLargeError(
                        f"it sent more than the {limit:,} bytes the data hub "
                        "allows for this file: the transfer was stopped there"
                    )
                out.write(block)
                bar.update(len(block))
    if expected is not None and received != expected:
        raise DownloadError(f"transfer cut: got {received} of {expected} bytes from {url}")


def _timed_out(err: BaseException) -> bool:
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    return isinstance(reason, TimeoutError)


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
    limit: int | None = None,
    retry_timeouts: bool = True,
) -> Path:
    """Download `dest` from the first mirror that delivers a file with the right checksum.

    `checksum=None` accepts any complete transfer (for files with no published checksum);
    `headers` go with every request (a login), but never across a redirect to another host;
    `limit`: the most bytes the file may have (None: no limit). `retry_timeouts=False` gives up
    on a URL after its first timeout (for a mirror: the publisher is tried next).
    A raised DownloadError has `reasons`: one short line per failed attempt.
    """
    dest = Path(dest)
    problems: list[str] = []
    reasons: list[str] = []
    for url in urls:
        for attempt in range(1, retries + 1):
            try:
                with atomic.writing(dest) as part:  # kept only when whole and verified
                    _fetch_once(url, part, timeout, show_progress, headers or {}, limit, dest.name)
                    if checksum is not None and not verify(part, checksum):
                        raise _WrongFile(file_digest(part, checksum.split(":", 1)[0]))
            except _WrongFile as wrong:
                reasons.append(f"checksum mismatch (got {wrong}), file deleted")
                problems.append(f"{url}: {reasons[-1]}")
                print(f"Checksum mismatch for {dest.name} from {url}: the file was deleted.")
                break  # a mirror that serves a wrong file will serve it again
            except TooLargeError as err:
                reasons.append(str(err))
                problems.append(f"{url}: {err}")
                break  # it will send the same too-large file again
            except (OSError, urllib.error.URLError, DownloadError, ValueError) as err:
                # OSError covers refused connections, resets, timeouts and http.client's
                # IncompleteRead relatives; ValueError a malformed URL. The part file never stays.
                code = err.code if isinstance(err, urllib.error.HTTPError) else None
                refused = (
                    " (401/403: the login was refused: a wrong key, or the data's terms "
                    "not accepted yet)"
                    if code in (401, 403) and headers
                    else ""
                )
                timed_out = _timed_out(err)
                reasons.append(
                    f"no answer within {timeout:g} s" if timed_out else f"{err}{refused}"
                )
                problems.append(f"{url} (try {attempt}): {reasons[-1]}")
                if code in (401, 403, 404) or (timed_out and not retry_timeouts):
                    break  # refused, not there, or not answering: retrying will not help
                if attempt < retries:
                    time.sleep(backoff * attempt)
                continue
            return dest
    summary = "\n  ".join(problems)
    if problems and all("checksum mismatch" in p for p in problems):
        error: DownloadError = ChecksumError(
            f"{dest.name}: every mirror served a file whose checksum is not {checksum}; "
            f"nothing was kept.\n  {summary}"
        )
    else:
        error = DownloadError(f"Could not download {dest.name}.\n  {summary}")
    error.reasons = reasons
    raise error


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
            for info in zf.infolist():
                _check_member(target, info.filename)
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
            if hasattr(
                tarfile, "data_filter"
            ):  # Python >= 3.11.4 / 3.12: refuse at the source too
                tf.extractall(target, members=members, filter="data")
            else:
                tf.extractall(target, members=members)
        return target
    raise ValueError(f"{archive} is neither a zip nor a tar archive.")


def kaggle_credentials() -> tuple[str, str] | None:
    """KAGGLE_USERNAME and KAGGLE_KEY from the environment, or None. Never prompts."""
    user, key = os.environ.get("KAGGLE_USERNAME", ""), os.environ.get("KAGGLE_KEY", "")
    return (user, key) if user and key else None


LOGIN_HOSTS = {"kaggle": "www.kaggle.com"}  # the one host each login is sent to


def _login_headers(entry: DataFile) -> dict[str, str]:
    """The HTTP headers that log in for `entry` (none for a public file)."""
    if entry.login is None:
        return {}
    if entry.login not in LOGIN_HOSTS:
        raise ValueError(f"{entry.name}: unknown login {entry.login!r}")
    elsewhere = [
        u for u in entry.urls if urllib.parse.urlsplit(u).hostname != LOGIN_HOSTS[entry.login]
    ]
    if elsewhere:
        raise ValueError(
            f"{entry.name}: a {entry.login} login goes to {LOGIN_HOSTS[entry.login]} "
            f"only, not to {', '.join(elsewhere)}"
        )
    credentials = kaggle_credentials()
    if credentials is None:
        raise DownloadError(
            f"'{entry.filename}' comes from Kaggle, which needs an account: set KAGGLE_USERNAME "
            "and KAGGLE_KEY in the environment (from kaggle.com > Settings > API > Create New "
            "Token), accept the rules of the competition on its Kaggle page, and run the cell "
            "again."
        )
    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def manual_instructions(entry: DataFile, dest: Path) -> str:
    """The message a student sees when a file cannot be downloaded."""
    urls = "\n    ".join(entry.urls)
    expected = (
        "no checksum is published for it"
        if entry.checksum == UNPUBLISHED
        else f"expected {entry.checksum}"
    )
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
        raise DownloadError(
            f"{MIRROR_VARIABLE}={base!r} is neither a URL nor an existing folder: "
            "point it at the folder (or web address) that holds the course's files, "
            "or unset it to download from the publishers."
        )
    return (folder.resolve() / entry.filename).as_uri()


# A classroom mirror is a machine on the same network (or a folder): one that has not answered
# within 10 s is down or overloaded, and the publisher is tried instead. A timeout is not
# retried, so a mirror that hangs costs at most 10 s per file (it was 2 x 30 s + 1 s).
MIRROR_TIMEOUT = 10.0


def _from_mirror(
    entry: DataFile,
    dest: Path,
    checksum: str | None,
    show_progress: bool,
    limit: int | None = None,
) -> str | None:
    """Try the classroom mirror; None when it delivered, else why not (printed, with its name)."""
    url = mirror_url(entry)
    if url is None:
        return "no mirror"
    mirror = os.environ[MIRROR_VARIABLE]
    if checksum is None:
        reason = (
            "no checksum is published for it and none was recorded yet, so only its "
            "publisher's copy is trusted (its sha256 is recorded from that copy)"
        )
        print(f"The mirror {mirror} is not used for {entry.filename}: {reason}.")
        return f"{url}: not used: {reason}"
    if url.startswith("file:") and not Path(urllib.request.url2pathname(url[5:])).exists():
        print(
            f"{entry.filename} is not in the mirror {mirror}: downloading it from its publisher."
        )
        return f"{url}: not in the mirror"
    print(f"{entry.filename}: from the mirror {mirror} ({MIRROR_VARIABLE})")
    try:  # never with a login: the publisher's credentials are not the mirror's business
        download_file(
            (url,),
            dest,
            checksum,
            retries=2,
            timeout=MIRROR_TIMEOUT,
            show_progress=show_progress,
            limit=limit,
            retry_timeouts=False,
        )
    except DownloadError as err:
        reasons = getattr(err, "reasons", None) or [str(err)]
        print(
            f"The mirror {mirror} could not deliver {entry.filename} ({reasons[-1]}): "
            "downloading it from its publisher."
        )
        return str(err)
    return None


REHEARSAL_VARIABLE = "COURSE_REHEARSAL_CHECKSUMS"


def rehearsal_checksum(entry: DataFile) -> str | None:
    """The checksum of `entry` in the rehearsal hub's manifest, when a rehearsal is running
    (`make rehearse-full`: COURSE_REHEARSAL=1 with COURSE_MODE=full), COURSE_REHEARSAL_CHECKSUMS
    names the manifest and the hub wrote that file (None otherwise).

    The rehearsal (tools/rehearsal_hub.py) generates files in the real formats, so their checksums
    are not the registry's: its manifest replaces them, inside a rehearsal only. Outside one, the
    variable is ignored (with a line saying so): one environment variable never replaces the
    data hub's checksums. A file is never accepted without a checksum.
    """
    manifest = os.environ.get(REHEARSAL_VARIABLE, "").strip()
    if not manifest:
        return None
    if not env.rehearsing():  # the same test as rehearsal.active()
        if not _ignored_manifest:
            _ignored_manifest.append(manifest)
            print(
                f"{REHEARSAL_VARIABLE} is set, but no rehearsal is running (COURSE_REHEARSAL=1 "
                "with COURSE_MODE=full): it is ignored, and the data hub's checksums are used."
            )
        return None
    try:
        checksums = json.loads(Path(manifest).read_text())
    except (OSError, ValueError) as err:
        raise DownloadError(
            f"{REHEARSAL_VARIABLE}={manifest!r} is not a readable checksum manifest "
            f"({err}); unset it unless you are running make rehearse-full."
        ) from err
    return checksums.get(entry.name)  # a file the hub did not write keeps the registry's checksum


_ignored_manifest: list[str] = []  # the line above is printed once per process


def size_limit(entry: DataFile) -> int | None:
    """The most bytes a download of `entry` may have: its published size, or for a file whose
    size is not published the registry's `max_size` (its size seen, with slack). None in a
    rehearsal, whose generated files have sizes of their own."""
    if rehearsal_checksum(entry) is not None:
        return None
    return entry.size if entry.size is not None else entry.max_size


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
    Two processes fetching the same file at once: the second waits for the first and uses
    what it fetched (one download, one extraction).
    """
    entry = get(name)
    folder = env.downloads_dir()
    dest = folder / entry.filename
    out = env.data_dir() / "downloads" / (entry.filename.split(".")[0] + "_extracted")
    cached = cached_file(name) is not None
    if cached and (not entry.extract or atomic.completed(out) is not None):
        return out if entry.extract else dest
    if env.is_quick() and not cached:
        raise RuntimeError(
            f"Quick mode never downloads, and '{entry.filename}' is not in {folder}. "
            "Use the chapter's quick-mode data, or set COURSE_MODE=full."
        )
    waiting = (
        f"Another process is fetching {entry.filename} (lock file "
        f"{dest.name}.lock in {folder}): waiting for it, then using its copy."
    )
    with atomic.locked(folder / f"{entry.filename}.lock", waiting):
        downloaded = False
        # Checked again under the lock, from the record alone: a process we waited for may have
        # fetched the file meanwhile (it records that it checked it).
        fetched_meanwhile = dest.exists() and _record_matches(
            dest, _expected_checksum(entry, dest) or ""
        )
        if not cached and not fetched_meanwhile:
            _download(entry, dest, show_progress)
            downloaded = True
        if not entry.extract:
            return dest

        def unpack(tmp: Path) -> dict:
            if not downloaded:
                print(
                    f"{entry.filename} is already in {folder}: unpacking it into {out}, "
                    "no download needed."
                )
            safe_extract(dest, tmp)
            return {"archive": entry.filename}

        atomic.build_folder(out, unpack)
    return out


def _download(entry: DataFile, dest: Path, show_progress: bool) -> None:
    """Download `entry` to `dest` (the mirror first, then the publisher) and record that it was
    checked; for a file with no published checksum, record the sha256 of the publisher's copy."""
    if dest.exists():
        print(f"{dest} is there but its checksum is wrong: downloading it again.")
        dest.unlink()
    checksum = _expected_checksum(entry, dest)
    limit = size_limit(entry)
    mirror_problem = _from_mirror(entry, dest, checksum, show_progress, limit)
    if mirror_problem is not None:
        try:
            download_file(
                entry.urls,
                dest,
                checksum,
                show_progress=show_progress,
                headers=_login_headers(entry),
                limit=limit,
            )
        except DownloadError as err:
            mirror = "" if mirror_problem == "no mirror" else f"\n  mirror: {mirror_problem}"
            # Same class (ChecksumError stays ChecksumError), with the what-to-do message first.
            raise type(err)(
                f"{manual_instructions(entry, dest)}\n\nDetails: {err}{mirror}"
            ) from err
    if checksum is None:  # no published checksum: record what the publisher sent the first time
        checksum = f"sha256:{file_digest(dest)}"
        atomic.write_text(dest.with_name(dest.name + ".sha256"), checksum + "\n")
        print(
            f"No checksum is published for {entry.filename}: recorded its sha256 (of its "
            f"publisher's copy) in {dest.name}.sha256; later runs check the file against it."
        )
    record_verified(dest, checksum)  # download_file checked it; later runs need not re-read it
