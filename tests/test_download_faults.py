"""The data hub under faults and hostile servers (issue 31): logins stay on their host, nothing
unverifiable is pinned, two processes share one download, sizes and timeouts are bounded,
and the rehearsal's checksums and the `.verified` record cannot be fooled."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest

from course_utils import download, registry
from course_utils.download import DownloadError
from course_utils.registry import DataFile

REPO = Path(__file__).resolve().parent.parent


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def payload(file_server):
    data = bytes(range(256)) * 4096  # 1 MiB, more than one read chunk
    (file_server.root / "blob.bin").write_bytes(data)
    (file_server.root / "up").mkdir()
    (file_server.root / "up" / "blob.bin").write_bytes(data)  # the publisher's copy
    return data


def _no_sleep(monkeypatch) -> None:
    monkeypatch.setattr(download.time, "sleep", lambda s: None)


# --- 1. a login never leaves its host ---------------------------------------------------------


def test_a_login_is_not_sent_across_a_redirect_to_another_host(file_server, payload, tmp_path):
    # 127.0.0.1 and localhost are the same server under two host names: a redirect from one to
    # the other leaves the host, as Kaggle's redirect to its signed storage URLs does.
    file_server.redirect["up/start"] = file_server.url("blob.bin", host="localhost")
    login = {"Authorization": "Basic c3R1ZGVudDpzZWNyZXQ="}
    download.download_file(
        [file_server.url("up/start")],
        tmp_path / "a.bin",
        sha(payload),
        show_progress=False,
        headers=login,
    )
    sent = [(path, seen.get("authorization")) for path, seen in file_server.headers]
    assert sent == [("up/start", login["Authorization"]), ("blob.bin", None)]


def test_a_login_follows_a_redirect_on_its_own_host(file_server, payload, tmp_path):
    file_server.redirect["up/start"] = file_server.url("up/blob.bin")
    login = {"Authorization": "Basic c3R1ZGVudDpzZWNyZXQ="}
    download.download_file(
        [file_server.url("up/start")],
        tmp_path / "a.bin",
        sha(payload),
        show_progress=False,
        headers=login,
    )
    assert [seen.get("authorization") for _, seen in file_server.headers] == [
        login["Authorization"]
    ] * 2


def test_a_login_goes_only_to_its_own_host(monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "student")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    entry = registry.get("cats_vs_dogs_kaggle")
    assert "Authorization" in download._login_headers(entry)
    moved = DataFile(
        name="k",
        filename="k.zip",
        urls=("https://example.org/train.zip",),
        checksum=registry.UNPUBLISHED,
        size=None,
        licence="test",
        login="kaggle",
    )
    with pytest.raises(ValueError, match="www.kaggle.com only"):
        download._login_headers(moved)


# --- 2. a file with no published checksum is pinned from its publisher only -------------------


def _unpublished(file_server, **kw) -> DataFile:
    return DataFile(
        name="photo",
        filename="blob.bin",
        urls=(file_server.url("up/blob.bin"),),
        checksum=registry.UNPUBLISHED,
        size=None,
        licence="test",
        **kw,
    )


def test_a_damaged_mirror_copy_of_an_unpublished_file_is_never_pinned(
    file_server, payload, course_dirs, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    (mirror / "blob.bin").write_bytes(payload[: len(payload) // 2])  # half of it
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setitem(registry.REGISTRY, "photo", _unpublished(file_server))
    path = download.fetch("photo", show_progress=False)
    assert path.read_bytes() == payload
    assert path.with_name("blob.bin.sha256").read_text().strip() == sha(payload)
    assert file_server.requests == ["up/blob.bin"]
    out = capsys.readouterr().out
    assert f"The mirror {mirror} is not used for blob.bin: no checksum is published" in out


def test_once_pinned_a_mirror_copy_is_used_if_it_matches_and_deleted_if_not(
    file_server, payload, course_dirs, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "photo", _unpublished(file_server))
    path = download.fetch("photo", show_progress=False)  # pinned from the publisher
    mirror = tmp_path / "classroom"
    mirror.mkdir()
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    (mirror / "blob.bin").write_bytes(payload)  # the same file: used, no request
    path.write_bytes(b"damaged")
    assert download.fetch("photo", show_progress=False).read_bytes() == payload
    assert file_server.requests == ["up/blob.bin"]
    (mirror / "blob.bin").write_bytes(payload[:-1] + b"X")  # another file: refused
    path.write_bytes(b"damaged")
    capsys.readouterr()
    assert download.fetch("photo", show_progress=False).read_bytes() == payload
    assert file_server.requests == ["up/blob.bin", "up/blob.bin"]
    assert "Checksum mismatch for blob.bin from file:" in capsys.readouterr().out


# --- 3. two processes, one download -------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys
    from course_utils import download, registry
    from course_utils.registry import DataFile

    url, checksum, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    registry.REGISTRY["zipped"] = DataFile(name="zipped", filename="set.zip", urls=(url,),
                                           checksum=checksum, size=size, licence="test",
                                           extract=True)
    out = download.fetch("zipped", show_progress=False)
    print("RESULT " + json.dumps({"out": str(out), "text": (out / "set" / "a.txt").read_text()}))
    """
)


def _zip_payload() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("set/a.txt", "hello")
        zf.writestr("set/noise.bin", os.urandom(2_000_000))  # 2 MB, sent over about 2 s
    return buf.getvalue()


def _child_env(data: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COURSE_DOWNLOAD_DIR", "COURSE_DATA_MIRROR")
    }
    return {**env, "PYTHONPATH": str(REPO), "COURSE_MODE": "full", "COURSE_DATA_DIR": str(data)}


def test_two_processes_fetching_one_archive_both_succeed_with_one_download(file_server, tmp_path):
    """The second starts while the first is half-way through its transfer, which is held there
    until the second asks the server for the file too, or says that it waits for the first."""
    data = _zip_payload()
    (file_server.root / "set.zip").write_bytes(data)
    gate = file_server.hold["set.zip"] = threading.Event()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    cmd = [sys.executable, str(script), file_server.url("set.zip"), sha(data), str(len(data))]
    env = _child_env(tmp_path / "data")
    downloads = tmp_path / "data" / "downloads"
    first = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not list(downloads.glob("set.zip*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    second = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    said = []
    for line in second.stdout:  # until it waits for the first, or it has finished
        said.append(line)
        if "waiting for it" in line:
            gate.set()
    gate.set()
    results = [first.communicate(timeout=120), ("".join(said), second.communicate(timeout=120)[1])]
    assert [p.returncode for p in (first, second)] == [0, 0], results
    outs = [json.loads(r[0].split("RESULT ", 1)[1]) for r in results]
    assert outs[0] == outs[1] and outs[0]["text"] == "hello"
    assert file_server.requests == ["set.zip"]  # one download
    assert "Another process is fetching set.zip" in results[1][0]
    assert sorted(p.name for p in downloads.iterdir()) == [
        "set.zip",
        "set.zip.verified",
        "set_extracted",
    ]  # no part, no lock file left
    assert (downloads / "set.zip").read_bytes() == data


def test_a_download_killed_mid_transfer_leaves_nothing_and_the_next_one_cleans_up(
    file_server, tmp_path, monkeypatch
):
    data = _zip_payload()
    (file_server.root / "set.zip").write_bytes(data)
    file_server.slow["set.zip"] = 10.0  # long enough to be killed in the middle
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    downloads = tmp_path / "data" / "downloads"
    child = subprocess.Popen(
        [sys.executable, str(script), file_server.url("set.zip"), sha(data), str(len(data))],
        env=_child_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = list(downloads.glob("set.zip*.part"))
        if parts and parts[0].stat().st_size > 0:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert not (downloads / "set.zip").exists()  # nothing half-written under the final name
    assert len(list(downloads.glob("set.zip*.part"))) == 1  # the killed process's part

    del file_server.slow["set.zip"]
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COURSE_DOWNLOAD_DIR", raising=False)
    monkeypatch.setitem(
        registry.REGISTRY,
        "zipped",
        DataFile(
            name="zipped",
            filename="set.zip",
            urls=(file_server.url("set.zip"),),
            checksum=sha(data),
            size=len(data),
            licence="test",
            extract=True,
        ),
    )
    out = download.fetch("zipped", show_progress=False)
    assert (out / "set" / "a.txt").read_text() == "hello"
    assert sorted(p.name for p in downloads.iterdir()) == [
        "set.zip",
        "set.zip.verified",
        "set_extracted",
    ]


# --- sizes, skipped mirrors, timeouts ----------------------------------------------------------


def _published(file_server, payload) -> DataFile:
    return DataFile(
        name="blob",
        filename="blob.bin",
        urls=(file_server.url("up/blob.bin"),),
        checksum=sha(payload),
        size=len(payload),
        licence="test",
    )


def test_a_transfer_stops_at_the_recorded_size(
    file_server, payload, course_dirs, monkeypatch, capsys
):
    """A mirror that sends 16 MB for a 1 MB file, with no Content-Length to refuse it by, slowly:
    the transfer is stopped as soon as it passes 1 MB, and the publisher's copy is used."""
    monkeypatch.setenv("COURSE_MODE", "full")
    (file_server.root / "mirror").mkdir()
    (file_server.root / "mirror" / "blob.bin").write_bytes(os.urandom(16 * len(payload)))
    file_server.no_length.add("mirror/blob.bin")
    file_server.slow["mirror/blob.bin"] = 8.0  # 16 pieces of 1 MB, one every 0.5 s
    monkeypatch.setenv("COURSE_DATA_MIRROR", file_server.url("mirror"))
    monkeypatch.setitem(registry.REGISTRY, "blob", _published(file_server, payload))
    started = time.monotonic()
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert time.monotonic() - started < 4.0  # reading all 16 MB takes 8 s
    out = capsys.readouterr().out
    assert "sent more than the 1,048,576 bytes the data hub allows" in out


def test_a_file_offered_larger_than_its_size_is_not_downloaded(file_server, payload, tmp_path):
    (file_server.root / "big.bin").write_bytes(bytes(3 * len(payload)))
    with pytest.raises(DownloadError, match="offers 3,145,728 bytes, more than the 1,048,576"):
        download.download_file(
            [file_server.url("big.bin")],
            tmp_path / "cache" / "big.bin",
            None,
            show_progress=False,
            limit=len(payload),
        )
    assert file_server.requests == ["big.bin"]  # not retried
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_file_with_no_published_size_stops_at_its_limit(
    file_server, payload, course_dirs, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    _no_sleep(monkeypatch)
    file_server.no_length.add("up/blob.bin")
    monkeypatch.setitem(registry.REGISTRY, "photo", _unpublished(file_server, max_size=100_000))
    with pytest.raises(DownloadError, match="more than the 100,000 bytes"):
        download.fetch("photo", show_progress=False)
    downloads = course_dirs[0] / "downloads"
    assert [p.name for p in downloads.iterdir()] == []  # nothing kept, no checksum pinned


def test_a_skipped_mirror_is_named_with_the_reason(
    file_server, payload, course_dirs, monkeypatch, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    _no_sleep(monkeypatch)
    file_server.status["mirror/blob.bin"] = 500
    monkeypatch.setenv("COURSE_DATA_MIRROR", file_server.url("mirror"))
    monkeypatch.setitem(registry.REGISTRY, "blob", _published(file_server, payload))
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    out = capsys.readouterr().out
    assert (
        f"The mirror {file_server.url('mirror')} could not deliver blob.bin "
        "(HTTP Error 500: Internal Server Error): downloading it from its publisher."
    ) in out


def test_a_mirror_that_does_not_answer_costs_one_timeout(
    file_server, payload, course_dirs, monkeypatch, capsys
):
    limit = getattr(download, "MIRROR_TIMEOUT", None)
    monkeypatch.setattr(download, "MIRROR_TIMEOUT", 1.0, raising=False)  # the same rule, faster
    monkeypatch.setenv("COURSE_MODE", "full")
    file_server.hang["mirror/blob.bin"] = 20.0
    monkeypatch.setenv("COURSE_DATA_MIRROR", file_server.url("mirror"))
    monkeypatch.setitem(registry.REGISTRY, "blob", _published(file_server, payload))
    started = time.monotonic()
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert time.monotonic() - started < 8.0  # one timeout of 1 s, not two of 30 s
    assert file_server.requests.count("mirror/blob.bin") == 1
    assert "(no answer within 1 s)" in capsys.readouterr().out
    assert limit is not None and limit <= 10  # a mirror that hangs costs at most 10 s per file


# --- the rehearsal's checksums, the .verified record -------------------------------------------


def test_the_rehearsal_manifest_is_ignored_outside_a_rehearsal(
    payload, course_dirs, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.delenv("COURSE_REHEARSAL", raising=False)
    _no_sleep(monkeypatch)
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "blob.bin").write_bytes(payload)
    manifest = hub / "rehearsal-checksums.json"
    manifest.write_text(json.dumps({"blob": sha(payload)}))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(hub))
    monkeypatch.setenv("COURSE_REHEARSAL_CHECKSUMS", str(manifest))
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
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download.fetch("blob", show_progress=False)
    assert (
        "COURSE_REHEARSAL_CHECKSUMS is set, but no rehearsal is running" in capsys.readouterr().out
    )
    assert not (course_dirs[0] / "downloads" / "blob.bin").exists()


def test_content_changed_with_size_and_mtime_kept_is_caught(
    file_server, payload, course_dirs, monkeypatch
):
    monkeypatch.setenv("COURSE_MODE", "full")
    monkeypatch.setitem(registry.REGISTRY, "blob", _published(file_server, payload))
    path = download.fetch("blob", show_progress=False)
    stat = path.stat()
    with open(path, "r+b") as f:  # same size, then the old mtime set back
        f.write(b"\0" * 4096)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert download.fetch("blob", show_progress=False).read_bytes() == payload
    assert file_server.requests == ["up/blob.bin", "up/blob.bin"]
