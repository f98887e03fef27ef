"""Shared test fixtures: a real HTTP server on 127.0.0.1 with fault injection."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class FileServer:
    """Serves files from `root`, with faults on demand:

    - `cut_next[name] = n`: the next n responses promise the whole file and send half;
    - `redirect[name] = url`: answer 302 to `url`;
    - `status[name] = code`: answer with that HTTP error;
    - `hang[name] = s`: wait s seconds before answering;
    - `slow[name] = s`: send the body in 16 pieces over about s seconds;
    - `no_length`: names sent without a Content-Length (the end is the closed connection);
    - `hold[name] = event`: send half the body, then wait until `event` is set (at most 60 s);
      another request for the same name sets it.

    `requests` lists the paths asked for, `headers` (path, {lower-case name: value}) per request.
    """

    root: Path
    port: int = 0
    requests: list[str] = field(default_factory=list)
    headers: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    cut_next: dict[str, int] = field(default_factory=dict)
    redirect: dict[str, str] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    hang: dict[str, float] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)
    no_length: set[str] = field(default_factory=set)
    hold: dict[str, threading.Event] = field(default_factory=dict)

    def url(self, name: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{name}"


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
            state.headers.append((name, {k.lower(): v for k, v in self.headers.items()}))
            if name in state.hang:
                time.sleep(state.hang[name])
            if name in state.hold:
                gate = state.hold[name]
                if state.requests.count(name) > 1:
                    gate.set()  # a second request for it: the first one may finish
                else:
                    data = (root / name).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    gate.wait(60)
                    self.wfile.write(data[len(data) // 2 :])
                    self.close_connection = True
                    return
            if name in state.redirect:
                self.send_response(302)
                self.send_header("Location", state.redirect[name])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if name in state.status:
                self.send_error(state.status[name])
                return
            if name in state.slow or name in state.no_length:
                data = (root / name).read_bytes()
                self.send_response(200)
                if name not in state.no_length:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                step = max(1, len(data) // 16)
                self.close_connection = True
                try:
                    for start in range(0, len(data), step):
                        self.wfile.write(data[start : start + step])
                        self.wfile.flush()
                        time.sleep(state.slow.get(name, 0.0) / 16)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (a size limit) or was killed
                return
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
            try:
                super().do_GET()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client refused the file after its headers (too large)

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
    state = ColabDrive(
        drive_course=drive_root / "MyDrive" / "keras-cv-course",
        local=tmp_path / "runtime" / "keras-cv-course-data",
    )
    monkeypatch.setattr(env, "DRIVE_ROOT", drive_root)
    monkeypatch.setattr(env, "DRIVE_COURSE_DIR", state.drive_course)
    monkeypatch.setattr(env, "COLAB_LOCAL_DATA_DIR", state.local)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    for name in ("CI", "COURSE_DATA_DIR", "COURSE_CHECKPOINT_DIR", "COURSE_DOWNLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert env.drive_mounted() and env.where() == "colab"
    return state
