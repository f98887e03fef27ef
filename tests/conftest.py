"""Shared test fixtures: a real HTTP server on 127.0.0.1 with fault injection."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class FileServer:
    """Serves files from `root`; `cut_next[name] = n` cuts the next n responses mid-body."""

    root: Path
    port: int = 0
    requests: list[str] = field(default_factory=list)
    cut_next: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture
def file_server(tmp_path):
    """A threaded http.server on a free loopback port, serving tmp_path/'served'."""
    root = tmp_path / "served"
    root.mkdir()
    state = FileServer(root=root)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            name = self.path.lstrip("/")
            state.requests.append(name)
            if state.cut_next.get(name, 0) > 0:
                state.cut_next[name] -= 1
                data = (root / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])  # promise everything, send half
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def course_dirs(tmp_path, monkeypatch):
    """Point the course's data and checkpoint folders at fresh temporary folders."""
    data, ckpt = tmp_path / "data", tmp_path / "ckpt"
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(ckpt))
    monkeypatch.delenv("COURSE_DOWNLOAD_DIR", raising=False)  # downloads go to data/downloads
    return data, ckpt


@dataclass
class ColabDrive:
    """Folders of a faked Colab runtime with Google Drive mounted."""

    drive_course: Path  # stands in for /content/drive/MyDrive/keras-cv-course
    local: Path  # stands in for the runtime's local disk folder (/content/keras-cv-course-data)

    @property
    def downloads(self) -> Path:
        return self.drive_course / "data" / "downloads"

    def disconnect(self) -> None:
        """What a Colab disconnect does: the runtime's disk is wiped, Drive keeps its files."""
        import shutil

        shutil.rmtree(self.local)


@pytest.fixture
def colab_drive(tmp_path, monkeypatch):
    """Colab with Drive mounted: one tmp folder is Drive, another the runtime's local disk."""
    from course_utils import env

    drive_root = tmp_path / "drive"
    (drive_root / "MyDrive").mkdir(parents=True)
    state = ColabDrive(drive_course=drive_root / "MyDrive" / "keras-cv-course",
                       local=tmp_path / "runtime" / "keras-cv-course-data")
    monkeypatch.setattr(env, "DRIVE_ROOT", drive_root)
    monkeypatch.setattr(env, "DRIVE_COURSE_DIR", state.drive_course)
    monkeypatch.setattr(env, "COLAB_LOCAL_DATA_DIR", state.local)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    for name in ("CI", "COURSE_DATA_DIR", "COURSE_CHECKPOINT_DIR", "COURSE_DOWNLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert env.drive_mounted() and env.where() == "colab"
    return state
