"""The one way the course executes its chapters: each chapter once per environment.

    python tools/executor.py [--out build/runs/local] [--workers 2] [notebooks/NN_*.ipynb ...]
    python tools/executor.py --backend jax --out build/runs/local-jax ...
    python tools/executor.py --no-grade --html --out build notebooks/05_convnet_basics.ipynb

A run executes the student notebook (exercises unsolved) top to bottom in a fresh kernel of a
given interpreter (a `Runtime`: the local .venv, a Colab runtime's venv, ...), with the run mode,
Keras backend and offline guard it names, and reports what the run showed:

- every cell must run; the cells tagged `nbval-check-output` must print what is stored in the
  notebook (compared through notebooks/sanitize.cfg, as nbval does); every exercise check must
  print NOT DONE;
- then, in the same kernel, each exercise's solution (from the percent file) and its check run
  again with COURSE_GRADING=1: every one must PASS. The exercises come last and nothing else
  uses a student's function (tests/test_conventions.py), so this grades the instructor's
  notebook without running the chapter a second time;
- offline (quick mode): every outward connection from the kernel and its children is refused
  and reported, and fails the chapter;
- per cell: seconds and peak memory of the kernel's process tree.

Writes <out>/<chapter>.ipynb (the executed student notebook; `metadata.course_run` says where and
how it ran), <out>/<chapter>.run.json (what the run showed), <out>/<chapter>.kernel.log (what the
kernel wrote outside cells), <out>/runs.json and a table on the terminal. Exit 1 if a chapter
failed. Chapters run on `--workers` kernels at once (default: 2, or 1 on a one-core machine);
chapter 11 runs after chapter 10 on the same worker, in the same checkpoint folder, so that it
loads the network chapter 10 trained.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import nb as nb_tool  # noqa: E402  (tools/nb.py: the student and instructor builds)

CHECK_TAG, EXERCISE_TAG = nb_tool.CHECK_TAG, nb_tool.EXERCISE_TAG
# A chapter that must run after another one, on the same worker (it uses what the other saved).
AFTER = {"11": "10"}
# Outputs nbval does not compare either: pictures and widget ids change from run to run.
SKIP_MIME = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}

GUARD = '''\
"""Installed by tools/executor.py for offline runs: outward connections fail and are logged."""
import os as _os
import socket as _socket

_LOG = _os.environ.get("COURSE_OFFLINE_LOG", "")
_connect = _socket.socket.connect


def _refuse(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6):
        if _LOG:
            with open(_LOG, "a") as _out:
                _out.write(repr(address) + "\\n")
        raise OSError("offline run: network connections are refused (quick mode never downloads)")
    return _connect(self, address)


def _refuse_ex(self, address):
    try:
        _refuse(self, address)
    except OSError:
        return 111  # ECONNREFUSED
    return 0


_socket.socket.connect = _refuse
_socket.socket.connect_ex = _refuse_ex
'''


@dataclass
class Runtime:
    """Where and how chapters run: the kernel's interpreter and what it is told."""

    name: str = "local"
    python: str = sys.executable  # the kernel's interpreter (it needs ipykernel)
    mode: str = "quick"  # COURSE_MODE
    backend: str = "tensorflow"  # KERAS_BACKEND; "auto": unset, the course chooses (env.setup)
    offline: bool = True  # refuse and report every outward connection
    course: Path = ROOT  # the checkout whose notebooks/ run
    env: dict[str, str] = field(default_factory=dict)  # more variables for the kernel
    startup: str = ""  # run in the kernel before the first cell; not part of the notebook
    record_fits: bool = True  # log every Keras fit (imports Keras before the first cell)


@dataclass
class CellRun:
    """One executed code cell: its index in the notebook, seconds and peak memory (MB)."""

    index: int
    seconds: float
    peak_mb: float


@dataclass
class ChapterRun:
    """What one chapter's run showed."""

    chapter: str
    runtime: str
    mode: str
    backend: str
    ok: bool = False
    seconds: float = 0.0
    peak_mb: float = 0.0
    peak_cell: int | None = None
    failure: str = ""  # one line: why the chapter failed ('' when it passed)
    mismatches: list[str] = field(default_factory=list)  # checked cells whose output changed
    connections: list[str] = field(default_factory=list)  # refused outward connections
    exercises: dict[str, list[str]] = field(default_factory=dict)  # number -> [student, graded]
    cells: list[CellRun] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    fits: list[dict] = field(default_factory=list)  # every Keras fit: model, epochs, seconds, last
    checks: list[dict] = field(default_factory=list)  # every env.check: what, value, bounds

    @property
    def training_seconds(self) -> float:
        return sum(f.get("seconds", 0.0) for f in self.fits)


def source_digest(notebook: nbformat.NotebookNode) -> str:
    """A digest of a notebook's cells (type, source, stored checked outputs): what a run ran."""
    parts = [
        [c.cell_type, c.source, c.get("outputs", []) if nb_tool.is_checked(c) else []]
        for c in notebook.cells
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def sanitize_patterns(config: Path = ROOT / "notebooks" / "sanitize.cfg") -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of an nbval sanitize file."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", config.read_text(), flags=re.M)


def comparable(outputs: list, patterns: list[tuple[str, str]]) -> dict[str, list[str]]:
    """A cell's outputs as nbval compares them: streams merged by name, data by MIME type,
    pictures left out, each text sanitised."""
    found: dict[str, list[str]] = {}
    streams: dict[str, str] = {}
    for out in outputs:
        if out.get("output_type") == "stream":
            streams[out["name"]] = streams.get(out["name"], "") + out.get("text", "")
        elif out.get("output_type") in ("execute_result", "display_data"):
            for mime, value in out.get("data", {}).items():
                if mime not in SKIP_MIME:
                    found.setdefault(mime, []).append(
                        value if isinstance(value, str) else json.dumps(value)
                    )
        elif out.get("output_type") == "error":
            found.setdefault("error", []).append(f"{out.get('ename')}: {out.get('evalue')}")
    for name, text in streams.items():
        text = re.sub(r"^.*\r(?=[^\n])", "", text, flags=re.M)  # a progress line overwritten
        found[name] = [text]
    for key, values in found.items():
        for regex, replace in patterns:
            values = [re.sub(regex, replace, v) for v in values]
        found[key] = values
    return found


def compare_checked(
    index: int, cell: nbformat.NotebookNode, stored: list, patterns: list[tuple[str, str]]
) -> str:
    """'' when a checked cell printed what is stored, else what differs, in a few lines."""
    got, want = comparable(cell.get("outputs", []), patterns), comparable(stored, patterns)
    if got == want:
        return ""
    first = (cell.source.splitlines() or [""])[0][:60]
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            import difflib

            diff = difflib.unified_diff(
                "\n".join(want.get(key, [])).splitlines(),
                "\n".join(got.get(key, [])).splitlines(),
                "stored",
                "this run",
                lineterm="",
                n=0,
            )
            lines = [line for line in diff if not line.startswith("@@")][:12]
            return f"cell {index} ({first}): {key} differs\n" + "\n".join(
                "    " + x for x in lines
            )
    return f"cell {index} ({first}): outputs differ"


class PeakMemory:
    """Polls the resident memory of a process and its children every 0.2 s; `cell` says which
    cell is running, `peaks` holds the peak during each cell."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._cell: int | None = None
        self.last = 0  # the latest reading
        self.peak, self.peak_cell = 0, None
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @property
    def cell(self) -> int | None:
        return self._cell

    @cell.setter
    def cell(self, index: int | None) -> None:
        """A cell starts: its peak is at least what the process holds now."""
        self._cell = index
        if index is not None:
            self.peaks[index] = max(self.peaks.get(index, 0), self.last)

    def _poll(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except (psutil.Error, TypeError, ValueError):
            return
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            self.last, cell = total, self._cell
            if cell is not None:
                self.peaks[cell] = max(self.peaks.get(cell, 0), total)
            if total > self.peak:
                self.peak, self.peak_cell = total, cell
            self._stop.wait(0.2)

    def start(self) -> PeakMemory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def failure_line(err: BaseException) -> str:
    """One line saying why a chapter failed: the cell's exception, or what stopped the kernel."""
    if getattr(err, "ename", ""):
        what = f"{err.ename}: {err.evalue}"
    else:
        what = f"{type(err).__name__}: {err}"
    return (what.strip().splitlines() or [type(err).__name__])[0][:300]


def exercises_of(student: nbformat.NotebookNode, source: Path) -> list[tuple[str, int, str, str]]:
    """(number, index of the student's check cell, solution source, check source) per exercise."""
    instructor = nb_tool.instructor_notebook(source)
    solutions = [c.source for c in instructor.cells if nb_tool.has_solution(c)]
    checks = [(i, c.source) for i, c in enumerate(student.cells) if nb_tool.is_exercise_check(c)]
    titles = [
        re.match(r"### Exercise (\d+\.\d+)", c.source).group(1)
        for c in student.cells
        if c.cell_type == "markdown" and re.match(r"### Exercise \d+\.\d+", c.source)
    ]
    if not (len(solutions) == len(checks) == len(titles)):
        raise ValueError(
            f"{source.name}: {len(titles)} exercises, {len(solutions)} solutions, "
            f"{len(checks)} checks"
        )
    return [(t, i, s, c) for t, s, (i, c) in zip(titles, solutions, checks, strict=True)]


def kernel_environment(runtime: Runtime, work: Path, checkpoints: Path) -> dict[str, str]:
    """The environment a chapter's kernel starts with."""
    environ = dict(os.environ)
    for name in ("COURSE_GRADING", "COURSE_THRESHOLD_LOG", "COURSE_OFFLINE_LOG", "COURSE_FIT_LOG"):
        environ.pop(name, None)
    environ.update(
        {
            "COURSE_MODE": runtime.mode,
            "KERAS_BACKEND": runtime.backend,
            "COURSE_CHECKPOINT_DIR": str(checkpoints.resolve()),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "COURSE_FIT_LOG": str(work / "fits.jsonl"),
            "COURSE_THRESHOLD_LOG": str(work / "thresholds.jsonl"),
        }
    )
    if runtime.backend == "auto":  # as on a fresh Colab runtime: the setup cell chooses
        del environ["KERAS_BACKEND"]
    environ.update(runtime.env)
    if runtime.offline:
        (work / "offline").mkdir(exist_ok=True)
        (work / "offline" / "sitecustomize.py").write_text(GUARD)
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in [str(work / "offline"), environ.get("PYTHONPATH", "")] if p
        )
        environ["COURSE_OFFLINE_LOG"] = str(work / "connections.log")
    return environ


def kernel_spec_dir(runtime: Runtime, work: Path) -> Path:
    """A kernel spec ('course') that starts ipykernel with the runtime's interpreter."""
    spec = work / "kernels" / "course"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [runtime.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python ({runtime.name})",
                "language": "python",
            }
        )
    )
    return spec.parent


VERSIONS = textwrap.dedent("""\
    import json as _json, platform as _platform, importlib.metadata as _md
    _v = {"python": _platform.python_version()}
    for _name in ("tensorflow", "tensorflow-cpu", "keras", "jax", "jaxlib", "grain", "numpy",
                  "torch"):
        try:
            _v[_name] = _md.version(_name)
        except _md.PackageNotFoundError:
            pass
    import sys as _sys
    if "keras" in _sys.modules:  # a chapter that never imported Keras has no accelerator to name
        try:
            from course_utils import env as _env
            _v["accelerator"] = _env.gpu_name()
        except Exception as _err:
            _v["accelerator"] = f"unknown ({type(_err).__name__})"
        _v["backend"] = _sys.modules["keras"].backend.backend()  # the backend it ran on
    print(_json.dumps(_v))""")
# Run in every kernel before the first cell: the backend the course would choose, and a record of
# every fit (course_utils/fit_log.py). Neither changes what the chapter computes.
FIT_LOG = textwrap.dedent("""\
    import os as _os
    from course_utils import env as _env, fit_log as _fit_log
    _asked = _os.environ.get("KERAS_BACKEND")
    _os.environ["KERAS_BACKEND"] = _env.choose_backend()[0]
    _fit_log.install()
    if _asked is None:  # unset as the kernel started it: the setup cell chooses and says why
        del _os.environ["KERAS_BACKEND"]""")


async def run_chapter(
    path: Path,
    runtime: Runtime,
    out: Path,
    *,
    checkpoints: Path,
    grade: bool = True,
    timeout: int = 900,
    probe: str = "",
    compare: bool = True,
) -> ChapterRun:
    """Execute one chapter in `runtime`; write its executed notebook and record into `out`.

    `probe`, when given, runs last in the kernel (tools/threshold_margins.py reads values with
    it); the chapter's cells then run on after a failing one (allow errors) so that every check
    is reached. `compare=False` (tools/nb.py record: new outputs to store) does not compare the
    checked cells' outputs with the stored ones.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    out.mkdir(parents=True, exist_ok=True)
    student = nbformat.read(path, as_version=4)
    stored = {
        i: list(c.get("outputs", [])) for i, c in enumerate(student.cells) if nb_tool.is_checked(c)
    }
    digest = source_digest(student)
    run = ChapterRun(
        chapter=path.stem, runtime=runtime.name, mode=runtime.mode, backend=runtime.backend
    )
    nb = nbformat.from_dict(student)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    patterns = sanitize_patterns(runtime.course / "notebooks" / "sanitize.cfg")
    work = Path(tempfile.mkdtemp(prefix=f"run-{path.stem[:2]}-"))
    environ = kernel_environment(runtime, work, checkpoints)
    exercises = exercises_of(student, path.with_suffix(".py")) if grade else []
    km = AsyncKernelManager(
        kernel_name="course",
        transport="ipc",
        ip=str(work / "k"),
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_spec_dir(runtime, work))]),
    )
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        kernel_name="course",
        allow_errors=bool(probe),
        resources={"metadata": {"path": str(path.parent)}},
    )
    memory = PeakMemory(None)
    start = time.perf_counter()
    log = open(out / f"{path.stem}.kernel.log", "w")

    async def hidden_cell(source: str) -> nbformat.NotebookNode:
        """Run code in the kernel without adding it to the notebook."""
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)  # nbclient stores the executed cell back at its index
        try:
            await client.async_execute_cell(cell, len(nb.cells) - 1, store_history=False)
        finally:
            nb.cells.pop()
        return cell

    def text_of(cell: nbformat.NotebookNode) -> str:
        return "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"
        )

    try:
        client.reset_execution_trackers()
        async with client.async_setup_kernel(env=environ, stdout=log, stderr=log):
            provisioner = getattr(km, "provisioner", None)
            memory.pid = getattr(provisioner, "pid", None)
            memory.start()
            info = await client.async_wait_for_reply(await _ensure(client.kc.kernel_info()))
            nb.metadata["language_info"] = info["content"].get("language_info", {})
            if runtime.startup:
                await hidden_cell(runtime.startup)
            if runtime.record_fits:
                await hidden_cell(FIT_LOG)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                memory.cell, began = index, time.perf_counter()
                try:
                    await client.async_execute_cell(
                        cell, index, execution_count=client.code_cells_executed + 1
                    )
                finally:
                    run.cells.append(
                        CellRun(
                            index,
                            round(time.perf_counter() - began, 3),
                            round(memory.peaks.get(index, 0) / 1e6, 1),
                        )
                    )
            memory.cell = None
            run.versions = json.loads(
                text_of(await hidden_cell(VERSIONS)).strip().splitlines()[-1]
            )
            for number, check_index, _, _ in exercises:
                lines = text_of(nb.cells[check_index]).splitlines()
                run.exercises[number] = [lines[0].split("  ")[0].strip() if lines else "(nothing)"]
            if probe:
                run.exercises.clear()
                errors = [
                    (i, o)
                    for i, c in enumerate(nb.cells)
                    for o in c.get("outputs", [])
                    if o.get("output_type") == "error"
                ]
                if errors:
                    run.failure = (
                        f"cell {errors[0][0]}: {errors[0][1].get('ename')}: "
                        f"{errors[0][1].get('evalue', '')}"[:300]
                    )
                run.versions["probe"] = text_of(await hidden_cell(probe))
            elif exercises:
                await hidden_cell("import os\nos.environ['COURSE_GRADING'] = '1'")
                for number, _, solution, check in exercises:
                    await hidden_cell(solution)
                    result = await hidden_cell(check)
                    run.exercises[number].append(text_of(result).strip()[:300])
    except Exception as err:  # a cell that failed, a kernel that died or never started
        run.failure = failure_line(err)
        if getattr(err, "ename", "") == "CheckFailed" or "Exercise" in run.failure[:40]:
            run.failure = "graded solution did not pass: " + run.failure
    finally:
        # When the kernel cannot start, nbclient leaves its exit hook registered, and that hook
        # hangs the process at exit: take it off (it only stops a kernel we stop here).
        atexit.unregister(client._cleanup_kernel)
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
        memory.stop()
        log.close()
    run.seconds = round(time.perf_counter() - start, 1)
    run.peak_mb, run.peak_cell = round(memory.peak / 1e6, 1), memory.peak_cell
    if not probe and compare:
        for index, outputs in stored.items():
            if not run.failure or index < (run.cells[-1].index if run.cells else 0):
                mismatch = compare_checked(index, nb.cells[index], outputs, patterns)
                if mismatch:
                    run.mismatches.append(mismatch)
    if not probe:
        not_done = [n for n, results in run.exercises.items() if results[0] != "NOT DONE"]
        if not_done and not run.failure:
            run.failure = (
                f"exercise check(s) {', '.join(not_done)} did not print NOT DONE for the stub"
            )
    for name, into in (
        (environ["COURSE_FIT_LOG"], run.fits),
        (environ["COURSE_THRESHOLD_LOG"], run.checks),
    ):
        if Path(name).is_file():
            into += [json.loads(line) for line in Path(name).read_text().splitlines() if line]
    connections = work / "connections.log"
    if connections.is_file():
        run.connections = sorted(set(connections.read_text().splitlines()))
    ran_on = run.versions.get("backend")
    if runtime.backend == "auto" and ran_on:
        run.backend = ran_on
    elif ran_on and ran_on != runtime.backend and not run.failure:
        run.failure = f"the chapter ran on the {ran_on} backend, not on {runtime.backend}"
    if run.connections and not run.failure:
        run.failure = (
            f"the chapter tried to connect to {', '.join(run.connections[:3])} in an offline run"
        )
    if run.mismatches and not run.failure:
        run.failure = (
            f"{len(run.mismatches)} checked cell(s) printed something else: "
            + run.mismatches[0].splitlines()[0]
        )
    run.ok = not run.failure
    nb.metadata["course_run"] = {
        "runtime": runtime.name,
        "mode": runtime.mode,
        "backend": run.backend,
        "source": digest,
        "ok": run.ok,
        "seconds": run.seconds,
        "versions": run.versions,
    }
    nbformat.write(nb, out / path.name)
    (out / f"{path.stem}.run.json").write_text(json.dumps(asdict(run), indent=1))
    return run


def run_one(
    path: Path,
    runtime: Runtime,
    out: Path,
    *,
    checkpoints: Path,
    grade: bool = True,
    timeout: int = 900,
    probe: str = "",
    compare: bool = True,
) -> ChapterRun:
    """`run_chapter` for a caller without an event loop: one chapter, then return."""
    return asyncio.run(
        run_chapter(
            path,
            runtime,
            out,
            checkpoints=checkpoints,
            grade=grade,
            timeout=timeout,
            probe=probe,
            compare=compare,
        )
    )


async def _ensure(value):
    return (
        await value if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future) else value
    )


RUN_TIME = re.compile(
    r"\*\*Run time\*\*.*?quick mode\D{0,40}?(\d+(?:\.\d+)?)(?:\s*(?:-|–|to)\s*"
    r"(\d+(?:\.\d+)?))?\s*(s|seconds|min|minutes)\b",
    re.S,
)


def stated_run_time(notebook: nbformat.NotebookNode) -> tuple[float, float] | None:
    """The quick-mode run time a chapter's header states, as (low, high) seconds, or None."""
    head = notebook.cells[0].source if notebook.cells else ""
    found = RUN_TIME.search(head)
    if not found:
        return None
    scale = 60.0 if found.group(3).startswith("min") else 1.0
    low = float(found.group(1)) * scale
    return low, float(found.group(2) or found.group(1)) * scale


def run_time_claim(path: Path, seconds: float) -> str:
    """'' when the header's quick-mode run time is within a factor of two of `seconds`, else why
    not (a chapter's header is checked against the time CI measured for it)."""
    stated = stated_run_time(nbformat.read(path, as_version=4))
    if stated is None:
        return "its header states no quick-mode run time ('**Run time**: quick mode 30-50 s ...')"
    low, high = stated
    if seconds < low / 2 or seconds > high * 2:
        return (
            f"its header says quick mode {low:g}-{high:g} s, this run took {seconds:.0f} s "
            "(more than a factor of two off): measure again and correct the header"
        )
    return ""


def expected_seconds(paths: list[Path], history: dict[str, float]) -> dict[str, float]:
    """Each chapter's seconds for the schedule: from an earlier run in the same folder, else the
    middle of its header's stated quick-mode range (a fresh clone has no earlier run)."""
    expected = dict(history)
    for path in paths:
        stated = stated_run_time(nbformat.read(path, as_version=4))
        if path.stem not in expected and stated is not None:
            expected[path.stem] = sum(stated) / 2
    return expected


def schedule(paths: list[Path], history: dict[str, float]) -> list[list[Path]]:
    """Chains of chapters to run one after another (a chapter after the one it needs), longest
    first by the seconds of an earlier run (`history`), so that two workers finish together."""
    by_number = {p.name[:2]: p for p in paths}
    chains, placed = [], set()
    for path in paths:
        if path.name[:2] in placed:
            continue
        chain = [path]
        before = AFTER.get(path.name[:2])
        if before in by_number:
            chain = [by_number[before], path]
        chain += [by_number[n] for n, b in AFTER.items() if b == path.name[:2] and n in by_number]
        chain = [p for p in dict.fromkeys(chain) if p.name[:2] not in placed]
        placed.update(p.name[:2] for p in chain)
        chains.append(chain)
    return sorted(chains, key=lambda c: -sum(history.get(p.stem, 60.0) for p in c))


def in_ci() -> bool:
    """True on CI (CI=true): a machine of its own, where run times can be held to the headers."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def default_workers() -> int:
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def run_chapters(
    paths: list[Path],
    runtime: Runtime,
    out: Path,
    *,
    workers: int | None = None,
    grade: bool = True,
    timeout: int = 900,
    checkpoints: Path | None = None,
    check_run_times: bool = False,
    report=print,
) -> list[ChapterRun]:
    """Run chapters on `workers` kernels at once; one line per chapter as it ends.

    With `check_run_times` (CI: a quiet machine of its own), a quick-mode chapter whose header
    states a run time more than a factor of two from the measured one fails.
    """
    out.mkdir(parents=True, exist_ok=True)
    previous = out / "runs.json"
    history = {}
    if previous.is_file():
        try:
            history = {r["chapter"]: r["seconds"] for r in json.loads(previous.read_text())}
        except (ValueError, KeyError, TypeError):
            history = {}
    if checkpoints is None:  # a fresh one per pass, inside the course: the chapters print it
        # absolute: the kernel runs in notebooks/, where a relative folder would be another one
        checkpoints = out.resolve() / "checkpoints"
        shutil.rmtree(checkpoints, ignore_errors=True)
        checkpoints.mkdir(parents=True)
    chains = schedule(paths, expected_seconds(paths, history))
    results: dict[str, ChapterRun] = {}

    async def worker(queue: asyncio.Queue) -> None:
        while not queue.empty():
            chain = queue.get_nowait()
            for path in chain:
                run = await run_chapter(
                    path, runtime, out, checkpoints=checkpoints, grade=grade, timeout=timeout
                )
                claim = run_time_claim(path, run.seconds) if check_run_times and run.ok else ""
                if claim and runtime.mode == "quick":
                    run.ok, run.failure = False, claim
                results[path.stem] = run
                report(line(run))

    async def main() -> None:
        queue: asyncio.Queue = asyncio.Queue()
        for chain in chains:
            queue.put_nowait(chain)
        await asyncio.gather(*(worker(queue) for _ in range(max(1, workers or default_workers()))))

    asyncio.run(main())
    runs = [results[p.stem] for p in paths]
    kept = {}
    if history:  # the chapters of an earlier run that this one did not repeat
        kept = {r["chapter"]: r for r in json.loads(previous.read_text())}
    kept.update({r.chapter: asdict(r) for r in runs})
    previous.write_text(json.dumps(sorted(kept.values(), key=lambda r: r["chapter"]), indent=1))
    (out / "measured.md").write_text(measured(runs))
    return runs


def measured(runs: list[ChapterRun]) -> str:
    """What each chapter took and reached, on which machine: the table the docs cite for a run on
    a GPU (make check-full), where it replaces the rehearsal's estimates."""
    rows = [
        "| chapter | mode | backend | accelerator | training (min) | whole chapter (min) | "
        "checked results |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        checks = "; ".join(f"{c['what']}: {c['value']:.4g}" for c in r.checks) or "-"
        rows.append(
            f"| {r.chapter} | {r.mode} | {r.backend} | "
            f"{r.versions.get('accelerator', '?')} | {r.training_seconds / 60:.1f} | "
            f"{r.seconds / 60:.1f} | {checks.replace('|', '/')} |"
        )
    return "\n".join(rows) + "\n"


def line(run: ChapterRun) -> str:
    """One line for a chapter's run."""
    graded = [r[1].split()[0] if len(r) > 1 and r[1] else "-" for r in run.exercises.values()]
    exercises = f"{graded.count('PASS')}/{len(graded)} solutions PASS" if graded else "no grading"
    status = "ok    " if run.ok else "FAILED"
    text = (
        f"{status} {run.chapter:38s} {run.seconds:6.1f} s  peak {run.peak_mb / 1000:4.1f} GB  "
        f"{exercises}"
    )
    if not run.ok:
        text += f"\n       {run.failure}"
        for mismatch in run.mismatches[:3]:
            text += "\n       " + mismatch.replace("\n", "\n       ")
    return text


def table(runs: list[ChapterRun]) -> str:
    """The runs as a Markdown table."""
    rows = [
        "| chapter | result | seconds | peak memory (GB) | slowest cell (s) | exercises |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        slow = max(r.cells, key=lambda c: c.seconds, default=None)
        graded = " ".join(v[-1].split()[0] if v and v[-1] else "-" for v in r.exercises.values())
        rows.append(
            f"| {r.chapter} | {'ok' if r.ok else 'FAILED'} | {r.seconds:.1f} | "
            f"{r.peak_mb / 1000:.2f} | "
            f"{f'{slow.seconds:.1f} (cell {slow.index})' if slow else '-'} | "
            f"{graded or '-'} |"
        )
    return "\n".join(rows)


def write_html(runs: list[ChapterRun], out: Path) -> None:
    """An HTML page beside each executed notebook (what `make course` gives students)."""
    from nbconvert import HTMLExporter

    for run in runs:
        executed = nbformat.read(out / f"{run.chapter}.ipynb", as_version=4)
        body, _ = HTMLExporter().from_notebook_node(executed)
        (out / f"{run.chapter}.html").write_text(body, encoding="utf-8")


def chapters(args: list[str], course: Path = ROOT) -> list[Path]:
    """The notebooks named (numbers, stems or paths), or every chapter."""
    if not args:
        return sorted((course / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    found = []
    for arg in args:
        path = Path(arg)
        if path.suffix == ".ipynb" and (path.is_file() or (course / path).is_file()):
            found.append((course / path) if not path.is_absolute() else path)
            continue
        matches = sorted((course / "notebooks").glob(f"{arg}*.ipynb"))
        if len(matches) != 1:
            raise SystemExit(f"{arg!r} names {len(matches)} chapters")
        found.append(matches[0])
    return [p.resolve() for p in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", help="chapters (paths, numbers or stems); default all"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "runs" / "local")
    parser.add_argument("--mode", default=os.environ.get("COURSE_MODE", "quick") or "quick")
    parser.add_argument(
        "--backend",
        default=os.environ.get("KERAS_BACKEND", "tensorflow"),
        choices=("tensorflow", "jax", "torch", "auto"),
        help="the Keras backend (auto: KERAS_BACKEND unset, the setup cell chooses)",
    )
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--no-grade", action="store_true", help="do not run the solutions")
    parser.add_argument("--html", action="store_true", help="also write an HTML page per chapter")
    parser.add_argument("--online", action="store_true", help="allow connections in quick mode")
    parser.add_argument(
        "--check-run-times",
        action=argparse.BooleanOptionalAction,
        default=in_ci(),
        help="fail a chapter whose header's run time is off by more than 2x (default: on in CI)",
    )
    args = parser.parse_args(argv)
    paths = chapters(args.notebooks)
    runtime = Runtime(
        name="local" if args.backend == "tensorflow" else f"local-{args.backend}",
        mode=args.mode,
        backend=args.backend,
        offline=args.mode == "quick" and not args.online,
    )
    print(
        f"running {len(paths)} chapter(s) in {runtime.mode} mode, {runtime.backend} backend, "
        f"{args.workers} at a time, {'offline' if runtime.offline else 'online'}, into "
        f"{args.out}/",
        flush=True,
    )
    start = time.perf_counter()
    runs = run_chapters(
        paths,
        runtime,
        args.out,
        workers=args.workers,
        grade=not args.no_grade,
        timeout=args.timeout,
        check_run_times=args.check_run_times,
        report=lambda text: print(text, flush=True),
    )
    if args.html:
        write_html(runs, args.out)
    failed = [r.chapter for r in runs if not r.ok]
    print(table(runs))
    print(
        f"{len(runs) - len(failed)} of {len(runs)} chapters ok in "
        f"{time.perf_counter() - start:.0f} s"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
