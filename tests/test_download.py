"""Downloads against a real local HTTP server: checksums, cut transfers, mirrors, archives."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

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
    download.download_file([file_server.url("blob.bin")], dest, sha(payload),
                           retries=2, backoff=0, show_progress=False)
    assert dest.read_bytes() == payload
    assert file_server.requests.count("blob.bin") == 2


def test_transfer_cut_every_time_fails_cleanly(file_server, payload, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    file_server.cut_next["blob.bin"] = 5
    with pytest.raises(DownloadError, match="blob.bin"):
        download.download_file([file_server.url("blob.bin")], dest, sha(payload),
                               retries=2, backoff=0, show_progress=False)
    assert list((tmp_path / "cache").iterdir()) == []  # no partial file in the cache


def test_second_mirror_used_when_first_is_missing(file_server, payload, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    urls = [file_server.url("missing.bin"), file_server.url("blob.bin")]
    download.download_file(urls, dest, sha(payload), backoff=0, show_progress=False)
    assert dest.read_bytes() == payload
    assert file_server.requests.count("missing.bin") == 1  # a 404 is not retried


def _entry(file_server, payload, **kw) -> DataFile:
    return DataFile(name="blob", filename="blob.bin", urls=(file_server.url("blob.bin"),),
                    checksum=sha(payload), size=len(payload), licence="test data", **kw)


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
    entry = DataFile(name="offline", filename="weights.h5", urls=("http://127.0.0.1:9/weights.h5",),
                     checksum=sha(b"x"), size=1, licence="test")
    monkeypatch.setitem(registry.REGISTRY, "offline", entry)
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    with pytest.raises(DownloadError) as err:
        download.fetch("offline", show_progress=False)
    message = str(err.value)
    for needed in ("weights.h5", "http://127.0.0.1:9/weights.h5", str(course_dirs[0]), "COURSE_MODE=quick"):
        assert needed in message


def test_fetch_extracts_archives_once(file_server, course_dirs, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_MODE", "full")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("set/a.txt", "hello")
    data = buf.getvalue()
    (file_server.root / "set.zip").write_bytes(data)
    entry = DataFile(name="zipped", filename="set.zip", urls=(file_server.url("set.zip"),),
                     checksum=sha(data), size=len(data), licence="test", extract=True)
    monkeypatch.setitem(registry.REGISTRY, "zipped", entry)
    out = download.fetch("zipped", show_progress=False)
    assert (out / "set" / "a.txt").read_text() == "hello"
    assert download.fetch("zipped", show_progress=False) == out


def test_unknown_registry_name_lists_known_names():
    with pytest.raises(KeyError, match="mnist"):
        registry.get("no-such-set")


def test_fetch_records_a_checksum_on_first_use_when_none_is_published(
        file_server, payload, course_dirs, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_MODE", "full")
    entry = DataFile(name="photo", filename="blob.bin", urls=(file_server.url("blob.bin"),),
                     checksum=registry.UNPUBLISHED, size=None, licence="test")
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
        if entry.checksum == registry.UNPUBLISHED:  # checked against its first download instead
            continue
        algorithm, digest = entry.checksum.split(":")
        assert algorithm in ("sha256", "md5") and len(digest) == {"sha256": 64, "md5": 32}[algorithm]
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
