"""Downloads against a real local HTTP server: checksums, cut transfers, mirrors, archives."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from course_utils import download, registry
from course_utils.download import ChecksumError, DownloadError, UnsafeArchiveError
from course_utils.registry import DataFile


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def payload(file_server):
    data = bytes(range(256)) * 4096  # 1 MiB, more than one read chunk
    (file_server.root / "blob.bin").write_bytes(data)
    return data


def test_download_verifies_and_leaves_no_part_file(file_server, payload, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    download.download_file([file_server.url("blob.bin")], dest, sha(payload), show_progress=False)
    assert dest.read_bytes() == payload
    assert not dest.with_name("blob.bin.part").exists()


def test_checksum_mismatch_deletes_the_file_and_says_so(file_server, payload, tmp_path, capsys):
    dest = tmp_path / "cache" / "blob.bin"
    wrong = sha(b"something else")
    with pytest.raises(ChecksumError, match="checksum"):
        download.download_file([file_server.url("blob.bin")], dest, wrong, show_progress=False)
    assert not dest.exists()
    assert not dest.with_name("blob.bin.part").exists()
    assert "deleted" in capsys.readouterr().out


def test_transfer_cut_mid_body_leaves_nothing_then_retry_succeeds(file_server, payload, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    file_server.cut_next["blob.bin"] = 1
    download.download_file(
        [file_server.url("blob.bin")],
        dest,
        sha(payload),
        retries=2,
        backoff=0,
        show_progress=False,
    )
    assert dest.read_bytes() == payload
    assert file_server.requests.count("blob.bin") == 2


def test_transfer_cut_every_time_fails_cleanly(file_server, payload, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    file_server.cut_next["blob.bin"] = 5
    with pytest.raises(DownloadError, match="blob.bin"):
        download.download_file(
            [file_server.url("blob.bin")],
            dest,
            sha(payload),
            retries=2,
            backoff=0,
            show_progress=False,
        )
    assert list((tmp_path / "cache").iterdir()) == []  # no partial file in the cache


def test_second_mirror_used_when_first_is_missing(file_server, payload, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    urls = [file_server.url("missing.bin"), file_server.url("blob.bin")]
    download.download_file(urls, dest, sha(payload), backoff=0, show_progress=False)
    assert dest.read_bytes() == payload
    assert file_server.requests.count("missing.bin") == 1  # a 404 is not retried


def _entry(file_server, payload, **kw) -> DataFile:
    return DataFile(
        name="blob",
        filename="blob.bin",
        urls=(file_server.url("blob.bin"),),
        checksum=sha(payload),
        size=len(payload),
        licence="test data",
        **kw,
    )


def test_fetch_downloads_once_then_uses_the_cache(file_server, payload, course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    first = download.fetch("blob", show_progress=False)
    second = download.fetch("blob", show_progress=False)
    assert first == second and first.read_bytes() == payload
    assert file_server.requests == ["blob.bin"]


def test_fetch_replaces_a_corrupted_cached_file(file_server, payload, course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    path = download.fetch("blob", show_progress=False)
    path.write_bytes(b"truncated")
    assert download.fetch("blob", show_progress=False).read_bytes() == payload


def test_fetch_in_quick_mode_never_downloads(file_server, payload, course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    with pytest.raises(RuntimeError, match="Quick mode never downloads"):
        download.fetch("blob")
    assert file_server.requests == []


def test_fetch_without_network_names_file_url_place_and_quick_mode(course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    entry = DataFile(
        name="offline",
        filename="weights.h5",
        urls=("http://127.0.0.1:9/weights.h5",),
        checksum=sha(b"x"),
        size=1,
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "offline", entry)
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    with pytest.raises(DownloadError) as err:
        download.fetch("offline", show_progress=False)
    message = str(err.value)
    for needed in (
        "weights.h5",
        "http://127.0.0.1:9/weights.h5",
        str(course_dirs[0]),
        "COURSE_MODE=quick",
    ):
        assert needed in message


def test_fetch_extracts_archives_once(file_server, course_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_MODE", "full")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("set/a.txt", "hello")
    data = buf.getvalue()
    (file_server.root / "set.zip").write_bytes(data)
    entry = DataFile(
        name="zipped",
        filename="set.zip",
        urls=(file_server.url("set.zip"),),
        checksum=sha(data),
        size=len(data),
        licence="test",
        extract=True,
    )
    monkeypatch.setitem(registry.REGISTRY, "zipped", entry)
    out = download.fetch("zipped", show_progress=False)
    assert (out / "set" / "a.txt").read_text() == "hello"
    assert download.fetch("zipped", show_progress=False) == out


def _zip_entry(file_server, monkeypatch) -> DataFile:
    """A zip with two files, served locally and registered (with `extract`) as 'zipped'."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("set/a.txt", "hello")
        zf.writestr("set/b/c.txt", "world")
    data = buf.getvalue()
    (file_server.root / "set.zip").write_bytes(data)
    entry = DataFile(
        name="zipped",
        filename="set.zip",
        urls=(file_server.url("set.zip"),),
        checksum=sha(data),
        size=len(data),
        licence="test",
        extract=True,
    )
    monkeypatch.setitem(registry.REGISTRY, "zipped", entry)
    return entry


def test_with_drive_the_archive_is_kept_on_drive_and_unpacked_on_local_disk(
    file_server, colab_drive, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    _zip_entry(file_server, monkeypatch)
    out = download.fetch("zipped", show_progress=False)
    assert (colab_drive.downloads / "set.zip").is_file()
    assert (colab_drive.downloads / "set.zip.verified").is_file()
    assert colab_drive.local in out.parents and (out / "set" / "a.txt").read_text() == "hello"
    on_drive = sorted(p.name for p in colab_drive.drive_course.rglob("*") if p.is_file())
    assert on_drive == ["set.zip", "set.zip.verified"]  # no unpacked file on Drive


def test_after_a_disconnect_the_archive_on_drive_is_unpacked_again_without_a_request(
    file_server, colab_drive, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    _zip_entry(file_server, monkeypatch)
    out = download.fetch("zipped", show_progress=False)
    assert file_server.requests == ["set.zip"]
    capsys.readouterr()

    colab_drive.disconnect()
    (file_server.root / "set.zip").unlink()  # the host is gone too: any download would fail
    digests = []
    monkeypatch.setattr(download, "file_digest", lambda *a, **k: digests.append(a) or "")
    again = download.fetch("zipped", show_progress=False)
    assert again == out and (again / "set" / "b" / "c.txt").read_text() == "world"
    assert (again / ".complete").exists()
    assert file_server.requests == ["set.zip"]  # no request made
    assert digests == []  # the 787 MB case: the archive on Drive is not read to re-hash it
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1 and "set.zip is already in" in lines[0] and "no download" in lines[0]
    assert str(colab_drive.downloads) in lines[0] and str(out) in lines[0]


def test_weights_and_recorded_checksums_go_to_drive(
    file_server, payload, colab_drive, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    entry = DataFile(
        name="photo",
        filename="blob.bin",
        urls=(file_server.url("blob.bin"),),
        checksum=registry.UNPUBLISHED,
        size=None,
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "photo", entry)
    path = download.fetch("photo", show_progress=False)
    assert path == colab_drive.downloads / "blob.bin" and path.read_bytes() == payload
    assert (colab_drive.downloads / "blob.bin.sha256").read_text().strip() == sha(payload)
    colab_drive.disconnect()
    assert download.fetch("photo", show_progress=False) == path
    assert file_server.requests == ["blob.bin"]


def _count_digests(monkeypatch) -> list[str]:
    """Record the name of every file download.file_digest reads (it still does the hashing); a
    part file of this process (`blob.bin.<host>-<pid>-<random>.part`) is recorded as
    `blob.bin.part`."""
    calls: list[str] = []
    real = download.file_digest

    def counting(path, algorithm="sha256"):
        calls.append(re.sub(r"\.[0-9a-f]{6}-\d+-[0-9a-f]{8}\.part$", ".part", Path(path).name))
        return real(path, algorithm)

    monkeypatch.setattr(download, "file_digest", counting)
    return calls


def test_a_verified_file_is_not_hashed_again(file_server, payload, course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    calls = _count_digests(monkeypatch)
    path = download.fetch("blob", show_progress=False)
    assert calls == ["blob.bin.part"]  # checked once, as it arrived
    record = json.loads(path.with_name("blob.bin.verified").read_text())
    assert record == {
        "checksum": sha(payload),
        "size": len(payload),
        "mtime_ns": path.stat().st_mtime_ns,
        "ctime_ns": path.stat().st_ctime_ns,
    }
    for _ in range(3):
        assert download.fetch("blob", show_progress=False) == path
    assert calls == ["blob.bin.part"]
    assert file_server.requests == ["blob.bin"]


def test_a_file_whose_size_changed_is_verified_again_and_replaced(
    file_server, payload, course_dirs, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    path = download.fetch("blob", show_progress=False)
    calls = _count_digests(monkeypatch)
    with open(path, "ab") as f:
        f.write(b"garbage appended by a broken sync")
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert calls == ["blob.bin", "blob.bin.part"]  # re-hashed, found wrong, downloaded again
    assert "checksum is wrong: downloading it again" in capsys.readouterr().out
    assert file_server.requests == ["blob.bin", "blob.bin"]
    assert json.loads(path.with_name("blob.bin.verified").read_text())["size"] == len(payload)
    download.fetch("blob", show_progress=False)
    assert calls == ["blob.bin", "blob.bin.part"]  # the new copy is trusted by its record


def test_a_file_with_a_new_mtime_is_hashed_again_and_kept_if_intact(
    file_server, payload, course_dirs, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    path = download.fetch("blob", show_progress=False)
    calls = _count_digests(monkeypatch)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # same size, touched
    assert download.fetch("blob", show_progress=False) == path
    assert calls == ["blob.bin"] and file_server.requests == ["blob.bin"]
    download.fetch("blob", show_progress=False)
    assert calls == ["blob.bin"]  # the record now holds the new mtime


def test_same_size_corruption_with_a_new_mtime_is_caught(
    file_server, payload, course_dirs, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _entry(file_server, payload))
    path = download.fetch("blob", show_progress=False)
    stat = path.stat()
    path.write_bytes(bytes(len(payload)))  # zeros, same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert file_server.requests == ["blob.bin", "blob.bin"]


def test_a_record_for_another_checksum_is_not_trusted(tmp_path, monkeypatch):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"abc")
    download.record_verified(path, sha(b"abc"))
    calls = _count_digests(monkeypatch)
    # The registry now expects another file (a new release): the record is for the old checksum.
    assert not download.is_verified(path, sha(b"new release"))
    assert calls == ["blob.bin"] and not path.with_name("blob.bin.verified").exists()
    assert download.is_verified(path, sha(b"abc")) and calls == ["blob.bin", "blob.bin"]
    assert download.is_verified(path, sha(b"abc")) and calls == ["blob.bin", "blob.bin"]


def test_unknown_registry_name_lists_known_names():
    with pytest.raises(KeyError, match="mnist"):
        registry.get("no-such-set")


def test_fetch_records_a_checksum_on_first_use_when_none_is_published(
    file_server, payload, course_dirs, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    entry = DataFile(
        name="photo",
        filename="blob.bin",
        urls=(file_server.url("blob.bin"),),
        checksum=registry.UNPUBLISHED,
        size=None,
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "photo", entry)
    path = download.fetch("photo", show_progress=False)
    assert path.read_bytes() == payload and "recorded its sha256" in capsys.readouterr().out
    assert path.with_name("blob.bin.sha256").read_text().strip() == sha(payload)
    path.write_bytes(b"changed later")  # a damaged copy no longer matches what first arrived
    assert download.fetch("photo", show_progress=False).read_bytes() == payload
    assert file_server.requests == ["blob.bin", "blob.bin"]


def test_registry_entries_are_well_formed():
    for entry in registry.REGISTRY.values():
        assert entry.urls and all(u.startswith("https://") for u in entry.urls), entry.name
        assert entry.size or entry.max_size, f"{entry.name}: a download needs a size limit"
        if entry.checksum == registry.UNPUBLISHED:  # checked against its first download instead
            continue
        algorithm, digest = entry.checksum.split(":")
        assert (
            algorithm in ("sha256", "md5") and len(digest) == {"sha256": 64, "md5": 32}[algorithm]
        )
        assert entry.licence


# --- archives -------------------------------------------------------------------------------


def test_safe_extract_zip(tmp_path):
    archive = tmp_path / "ok.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cats/cat.1.jpg", b"jpeg bytes")
    out = download.safe_extract(archive, tmp_path / "out")
    assert (out / "cats" / "cat.1.jpg").read_bytes() == b"jpeg bytes"


@pytest.mark.parametrize("member", ["../evil.txt", "a/../../evil.txt", "/tmp/evil_abs.txt"])
def test_zip_with_escaping_member_is_refused(tmp_path, member):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.txt", "ok")
        zf.writestr(member, "escaped")
    with pytest.raises(UnsafeArchiveError, match="outside"):
        download.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "out" / "fine.txt").exists()  # nothing is extracted at all


def _tar_with(tmp_path, add) -> object:
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        add(tf)
    return archive


def test_tar_with_escaping_member_is_refused(tmp_path):
    def add(tf):
        info = tarfile.TarInfo("../evil.txt")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"evil"))

    with pytest.raises(UnsafeArchiveError):
        download.safe_extract(_tar_with(tmp_path, add), tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_tar_with_escaping_symlink_is_refused(tmp_path):
    def add(tf):
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../etc/passwd"
        tf.addfile(info)

    with pytest.raises(UnsafeArchiveError):
        download.safe_extract(_tar_with(tmp_path, add), tmp_path / "out")


def test_safe_extract_tar(tmp_path):
    def add(tf):
        info = tarfile.TarInfo("batches/data_1")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))

    out = download.safe_extract(_tar_with(tmp_path, add), tmp_path / "out")
    assert (out / "batches" / "data_1").read_bytes() == b"abc"


def test_not_an_archive_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        download.safe_extract(junk, tmp_path / "out")


# --- the classroom mirror (COURSE_DATA_MIRROR) ---------------------------------------------


def _mirrored_entry(file_server, payload, **kw) -> DataFile:
    """An entry whose publisher is the test server at up/blob.bin (so mirror and publisher
    differ)."""
    (file_server.root / "up").mkdir(exist_ok=True)
    (file_server.root / "up" / "blob.bin").write_bytes(payload)
    return DataFile(
        name="blob",
        filename="blob.bin",
        urls=(file_server.url("up/blob.bin"),),
        checksum=sha(payload),
        size=len(payload),
        licence="test data",
        **kw,
    )


def test_a_mirror_folder_is_used_before_the_publisher(
    file_server, payload, course_dirs, monkeypatch, tmp_path
):
    monkeypatch.setenv("COURSE_MODE", "full")
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "blob.bin").write_bytes(payload)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setitem(registry.REGISTRY, "blob", _mirrored_entry(file_server, payload))
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert file_server.requests == []


def test_a_mirror_url_is_used_before_the_publisher(file_server, payload, course_dirs, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_MIRROR", file_server.url("").rstrip("/"))
    monkeypatch.setitem(registry.REGISTRY, "blob", _mirrored_entry(file_server, payload))
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert file_server.requests == ["blob.bin"]


def test_a_wrong_file_from_the_mirror_is_refused_and_the_publisher_used(
    file_server, payload, course_dirs, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "blob.bin").write_bytes(payload[:-1] + b"X")  # same size, one byte wrong
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setitem(registry.REGISTRY, "blob", _mirrored_entry(file_server, payload))
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert "Checksum mismatch" in capsys.readouterr().out
    assert file_server.requests == ["up/blob.bin"]


def test_a_wrong_file_from_the_mirror_is_never_kept_when_the_publisher_is_down(
    payload, course_dirs, monkeypatch, tmp_path
):
    monkeypatch.setenv("COURSE_MODE", "full")
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "blob.bin").write_bytes(b"not the file")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    entry = DataFile(
        name="blob",
        filename="blob.bin",
        urls=("http://127.0.0.1:9/blob.bin",),
        checksum=sha(payload),
        size=len(payload),
        licence="test",
    )
    monkeypatch.setitem(registry.REGISTRY, "blob", entry)
    with pytest.raises(DownloadError) as err:
        download.fetch("blob", show_progress=False)
    assert "mirror:" in str(err.value) and "checksum mismatch" in str(err.value)
    downloads = course_dirs[0] / "downloads"
    assert (
        downloads.is_dir()
        and [p.name for p in downloads.iterdir() if p.name.startswith("blob")] == []
    )


def test_a_file_missing_from_the_mirror_folder_comes_from_the_publisher(
    file_server, payload, course_dirs, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path))
    monkeypatch.setitem(registry.REGISTRY, "blob", _mirrored_entry(file_server, payload))
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert "is not in the mirror" in capsys.readouterr().out


def test_a_mirror_that_is_neither_url_nor_folder_is_a_clear_error(
    payload, course_dirs, monkeypatch, tmp_path
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "no-such-folder"))
    monkeypatch.setitem(
        registry.REGISTRY,
        "blob",
        DataFile(
            name="blob",
            filename="blob.bin",
            urls=("http://127.0.0.1:9/blob.bin",),
            checksum=sha(payload),
            size=len(payload),
            licence="test",
        ),
    )
    with pytest.raises(DownloadError, match="neither a URL nor an existing folder"):
        download.fetch("blob", show_progress=False)


def test_kaggle_credentials_are_never_sent_to_the_mirror(
    file_server, payload, course_dirs, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("KAGGLE_USERNAME", "student")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    monkeypatch.setenv("COURSE_DATA_MIRROR", file_server.url("").rstrip("/"))
    entry = _mirrored_entry(file_server, payload, login="kaggle")
    monkeypatch.setitem(registry.REGISTRY, "blob", entry)
    monkeypatch.setitem(download.LOGIN_HOSTS, "kaggle", "127.0.0.1")  # the test server is "Kaggle"
    download.fetch("blob", show_progress=False)
    assert [(path, "authorization" in seen) for path, seen in file_server.headers] == [
        ("blob.bin", False)
    ]


def test_the_rehearsal_manifest_replaces_checksums_and_still_refuses_a_wrong_file(
    payload, course_dirs, monkeypatch, tmp_path
):
    monkeypatch.setenv("COURSE_MODE", "full")
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "blob.bin").write_bytes(payload)
    manifest = hub / "rehearsal-checksums.json"
    manifest.write_text(json.dumps({"blob": sha(payload)}))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(hub))
    monkeypatch.setitem(
        registry.REGISTRY,
        "blob",
        DataFile(
            name="blob",
            filename="blob.bin",
            urls=("http://127.0.0.1:9/blob.bin",),
            checksum=sha(b"the published file"),
            size=len(payload),
            licence="test",
        ),
    )
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    with pytest.raises(DownloadError, match="checksum mismatch"):  # without the manifest: refused
        download.fetch("blob", show_progress=False)
    monkeypatch.setenv("COURSE_REHEARSAL_CHECKSUMS", str(manifest))
    monkeypatch.setenv("COURSE_REHEARSAL", "1")  # a rehearsal is running (make rehearse-full)
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    manifest.write_text(json.dumps({"blob": sha(b"another file")}))
    (course_dirs[0] / "downloads" / "blob.bin").unlink()
    with pytest.raises(DownloadError, match="checksum mismatch"):  # with it: still checked
        download.fetch("blob", show_progress=False)
    manifest.write_text(json.dumps({}))  # a file the hub did not write: the registry's checksum
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download.fetch("blob", show_progress=False)
