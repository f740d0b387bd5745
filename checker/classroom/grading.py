"""Grade a whole class: discovery, safe unpacking, executors, gradebook, resumability.

``nncheck grade SUBMISSIONS_DIR --out DIR`` (see :mod:`nncheck.cli.grade`) is
a thin wrapper around :func:`grade_class`. The pieces:

* :func:`discover` turns a folder into :class:`Entry` objects, one per student
  (a ``.py`` file, a notebook, a folder or a ``.zip``).
* :func:`grade_submission` grades one of them and returns the JSON report
  (CONTRACT §3) as plain data. It is a module-level function taking plain
  arguments, so a process pool or a Dask cluster can run it; the student's
  code runs, as always, in the isolated worker process :mod:`nncheck.sandbox.session`
  starts, never in the process calling this function.
* :class:`LocalExecutor` (a process pool) and :class:`DaskExecutor`
  (``distributed.Client``) implement the small :class:`Executor` interface
  (``submit`` / ``wait`` / ``as_completed`` / ``close``).
* Every finished report is written at once, atomically, to
  ``OUT/reports/<student>.json``; the gradebook and the class summary are
  rebuilt from those files at the end of every run, including an
  interrupted one.

Resumability. Each report carries ``grading.key``: the SHA-256 of

* the submission's contents (every regular file under it, in sorted order,
  as relative path + bytes; ``__pycache__``, ``.git`` and
  ``.ipynb_checkpoints`` excluded, as the loader excludes them), and
* the settings: the config file's bytes, each ``--plugin`` file's bytes, the
  plugins registered through entry points (name and version), the nncheck
  version, ``--seed``, ``--timeout``, ``--memory`` and ``--check``.

A re-run skips every student whose report holds the key it would compute
now; ``--force`` regrades everyone.
"""
from __future__ import annotations

import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import csv
import hashlib
import io
import json
import multiprocessing
from multiprocessing.connection import wait as mp_wait
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nncheck import __version__
from nncheck.load.archives import UnsafeArchive, safe_extract
from nncheck.load.prepare import IGNORED_DIRS
from nncheck.report.text import report_from_dict

GRADE_FORMAT = 1  # bump when the meaning of a cached report changes

SUBMISSION_SUFFIXES = (".py", ".ipynb", ".zip")

# Row statuses in the gradebook.
OK, LOAD_FAILED, TIMEOUT, CRASHED, PENDING = "ok", "load-failed", "timeout", "crashed", "pending"
ROW_STATUSES = (OK, LOAD_FAILED, TIMEOUT, CRASHED, PENDING)


# ==========================================================================
# Discovery
# ==========================================================================

@dataclass
class Entry:
    """One student's submission in the class folder."""

    student: str   # the id: the entry's name without .py/.ipynb/.zip
    path: Path     # absolute path of the file or folder
    kind: str      # "py" | "ipynb" | "zip" | "folder"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Discovery:
    entries: list[Entry]
    ignored: list[str] = field(default_factory=list)  # names that are not submissions


def discover(folder: str | os.PathLike, exclude=()) -> Discovery:
    """Every entry of ``folder`` that is a submission, sorted by student id.

    Hidden entries (``.x``), ``__MACOSX``-style ones (``_x``) and the paths in
    ``exclude`` (the output folder, when it sits inside) are left out; other
    files that are not ``.py``/``.ipynb``/``.zip`` (a platform's
    ``submission_metadata.yml``, a PDF) are listed in ``ignored``. When two
    entries would get the same id (``ann.py`` and ``ann.ipynb``) both keep
    their full name as id.
    """
    root = Path(folder).resolve()
    skip = {Path(p).resolve() for p in exclude}
    found: list[Entry] = []
    ignored: list[str] = []
    for p in sorted(root.iterdir(), key=lambda q: q.name):
        if p.name.startswith((".", "_")) or p.resolve() in skip:
            continue
        if p.is_dir():
            found.append(Entry(p.name, p, "folder"))
        elif p.is_file() and p.suffix.lower() in SUBMISSION_SUFFIXES:
            found.append(Entry(p.stem, p, p.suffix.lower().lstrip(".")))
        else:
            ignored.append(p.name)
    counts: dict[str, int] = {}
    for e in found:
        counts[e.student] = counts.get(e.student, 0) + 1
    for e in found:
        if counts[e.student] > 1:
            e.student = e.path.name
    found.sort(key=lambda e: e.student)
    return Discovery(found, ignored)


# ==========================================================================
# Hashing (the resume key)
# ==========================================================================

def _walk_files(folder: Path):
    """Regular files under ``folder`` as (relative posix path, path), sorted; as the loader sees it."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS
                             and not os.path.islink(os.path.join(dirpath, d)))
        for f in filenames:
            p = Path(dirpath) / f
            if not p.is_symlink() and p.is_file():
                out.append((p.relative_to(folder).as_posix(), p))
    return sorted(out)


def submission_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a submission's contents: file name(s) and bytes, folders walked in sorted order."""
    path = Path(path)
    h = hashlib.sha256(b"nncheck-submission\0")
    files = _walk_files(path) if path.is_dir() else [(path.name, path)]
    for rel, p in files:
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        with open(p, "rb") as f:
            data = f.read()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _file_sha(path) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def settings_digest(*, config_path=None, plugin_files=(), seed=0, timeout=None, memory=None,
                    only=(), plugins: list | None = None) -> str:
    """SHA-256 of everything besides the submission that decides a grade."""
    doc = {
        "format": GRADE_FORMAT, "nncheck": __version__,
        "config": _file_sha(config_path),
        "plugin_files": [[Path(p).name, _file_sha(p)] for p in plugin_files],
        "plugins": sorted(plugins or []),
        "seed": int(seed), "timeout": None if timeout is None else float(timeout),
        "memory": None if memory is None else int(memory), "only": sorted(set(only or [])),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _less_isolated(report: dict, isolation: str) -> bool:
    """A saved report graded outside the sandbox when this run insists on it: graded again
    (a grade made unsandboxed may be a classmate's doing)."""
    return isolation == "bubblewrap" and (report.get("isolation") or {}).get("layer") != "bubblewrap"


def registered_plugins(engine) -> list[str]:
    """Plugins in ``engine`` as ``name==version`` (version of the distribution for entry points)."""
    dists = {id(p): d for p, d in engine.pm.list_plugin_distinfo()}
    out = []
    for name, plugin in engine.pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        out.append(f"{name}=={dist.version}" if dist is not None else name)
    return sorted(out)


def grade_key(submission_sha: str, settings_sha: str) -> str:
    return hashlib.sha256(f"{submission_sha}:{settings_sha}".encode()).hexdigest()


# ==========================================================================
# Bundles (a submission travels to a Dask worker as plain bytes)
# ==========================================================================

def pack(path: str | os.PathLike) -> dict:
    """A submission as plain data, for a grader that does not share our file system (Dask).

    A file travels as it is; a folder as an in-memory zip of itself (its name
    kept at the top, which :func:`safe_extract` descends into).
    """
    path = Path(path)
    if path.is_file():
        return {"name": path.name, "data": path.read_bytes()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        files = _walk_files(path)
        if not files:
            zf.writestr(f"{path.name}/", b"")
        for rel, p in files:
            zf.write(p, f"{path.name}/{rel}")
    return {"name": path.name + ".zip", "data": buf.getvalue(), "folder": True}


# ==========================================================================
# Grading one submission (runs in a pool process or on a Dask worker)
# ==========================================================================

_ENGINES: dict = {}
_BUNDLES: dict = {}


def _engine_for(config_path, plugin_files, isolation=None):
    """One Engine per process and settings (building one imports every plugin).

    ``isolation`` is the layer the class is graded under (``nncheck grade``
    insists on ``bubblewrap`` unless told otherwise): passed explicitly, so a
    pool process or a Dask worker that cannot have it refuses to grade rather
    than fall back to a weaker layer.
    """
    key = (config_path, tuple(plugin_files or ()), isolation)
    engine = _ENGINES.get(key)
    if engine is None:
        from nncheck.config import load_config
        from nncheck.engine import Engine

        engine = Engine(load_config(config_path), plugin_files or (), isolation=isolation)
        _ENGINES[key] = engine
    return engine


def _materialise_bundle(bundle: dict) -> tuple[str | None, list[str]]:
    """Write a shipped config and plugin files once per process; return their paths."""
    digest = hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()[:16]
    if digest in _BUNDLES:
        return _BUNDLES[digest]
    root = Path(tempfile.gettempdir()) / f"nncheck-bundle-{digest}"

    def put(rel: str, text: str) -> str:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, p)
        return str(p)

    config = bundle.get("config")
    config_path = put(f"config/{Path(config['name']).name}", config["text"]) if config else None
    plugins = [put(f"plugins/{i}/{Path(p['name']).name}", p["text"])
               for i, p in enumerate(bundle.get("plugins") or [])]
    _BUNDLES[digest] = (config_path, plugins)
    return _BUNDLES[digest]


def make_bundle(config_path=None, plugin_files=()) -> dict:
    """The config and plugin files as plain data (see :func:`pack`)."""
    def item(p):
        return {"name": Path(p).name, "text": Path(p).read_text(encoding="utf-8")}
    return {"config": item(config_path) if config_path else None,
            "plugins": [item(p) for p in plugin_files]}


def _unloadable(engine, only, message: str, seed: int):
    """A report for a submission that never reached the loader (a refused archive)."""
    from nncheck.model import CheckRecord, Report, Status
    from nncheck.scoring import score_report

    checks = engine.select(only)
    records = [CheckRecord(id=c.id, title=c.title, section=c.section, status=Status.ERROR, score=0.0,
                           max_score=c.points, message=f"not run: {message}") for c in checks]
    report = Report(submission="", checks=records, load={"ok": False, "message": message},
                    seed=seed, version=__version__)
    return score_report(report, engine.config)


def grade_submission(source, config_path=None, plugin_files=(), seed: int = 0, timeout=None,
                     memory=None, only=(), bundle: dict | None = None, render=(),
                     isolation: str | None = None) -> dict:
    """Grade one submission and return its JSON report (CONTRACT §3) as plain data.

    :param source: a path (str) to a ``.py``, ``.ipynb``, folder or ``.zip``,
        or the output of :func:`pack` when the grader does not share the
        submissions' file system.
    :param config_path, plugin_files: as ``--config`` / ``--plugin``; or
        ``bundle`` (from :func:`make_bundle`) carrying their contents.
    :param render: more report formats to render here, where the grading
        ran (``("html",)``): they come back as ``report["rendered"][name]``
        (strings), to be popped by the caller. Formats the engine does not
        have are left out.
    :param isolation: the layer to insist on (:data:`nncheck.sandbox.CHOICES`;
        ``None``: ``auto``). Where it cannot be had this raises
        :class:`nncheck.sandbox.IsolationError`: the class run records the
        row as a grading failure, never a grade made under weaker isolation.

    Never raises for a bad submission: an archive that cannot be unpacked
    safely gives a report whose ``load.ok`` is false.
    """
    from nncheck.report.text import report_dict

    if bundle is not None:
        config_path, plugin_files = _materialise_bundle(bundle)
    engine = _engine_for(config_path, list(plugin_files or ()), isolation)
    engine.isolation  # resolved now: a missing sandbox refuses before anything is unpacked
    only = list(only or ())
    scratch = Path(tempfile.mkdtemp(prefix="nncheck-grade-"))
    try:
        if isinstance(source, dict):  # shipped: write it out first
            name = Path(source["name"]).name
            shown = name[:-4] if source.get("folder") else name
            path = scratch / "in" / name
            path.parent.mkdir()
            path.write_bytes(source["data"])
        else:
            path = Path(source)
            shown = path.name
        report = None
        if path.suffix.lower() == ".zip":
            try:
                path = safe_extract(path, scratch / "unpacked" / _safe_name(Path(shown).stem))
            except UnsafeArchive as exc:
                what = "the folder" if isinstance(source, dict) and source.get("folder") else shown
                report = _unloadable(engine, only, f"{what} was not unpacked: {exc}.", seed)
        if report is None:
            path = _descend(path)
            report = engine.grade(path, seed=seed, timeout=timeout, memory=memory, only=only or None)
        report.submission = shown
        d = report_dict(report)
        rendered = {}
        for fmt in render or ():
            fn = engine.formats.get(fmt)
            if fn is None:
                continue
            try:
                rendered[fmt] = fn(report, engine.config)
            except Exception as exc:  # noqa: BLE001 - the JSON report is the record; other formats are views
                rendered[fmt + ":error"] = f"{type(exc).__name__}: {exc}"
        if render:
            d["rendered"] = rendered
        return d
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _descend(path: Path) -> Path:
    """A folder holding nothing but one folder (nbgrader's ``submitted/<student>/<assignment>/``,
    a re-zipped download) is graded as that inner folder."""
    for _ in range(8):
        if not path.is_dir():
            break
        try:
            kids = [k for k in path.iterdir() if not k.name.startswith((".", "__MACOSX"))
                    and k.name not in IGNORED_DIRS]
        except OSError:
            break
        if len(kids) == 1 and kids[0].is_dir() and not kids[0].is_symlink():
            path = kids[0]
        else:
            break
    return path


def _safe_name(name: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return out or "submission"


# ==========================================================================
# Executors
# ==========================================================================

class Executor:
    """Where :func:`grade_submission` calls run.

    ``submit(fn, *args)`` returns a future (``done()``, ``result()``,
    ``exception()``, ``cancel()``); ``wait(futures, timeout)`` returns the
    ``(done, not_done)`` sets as soon as one is done or the timeout passes;
    ``close(cancel)`` releases the workers (cancelling what has not run).
    ``capacity`` is how many calls run at once. ``ships_files`` says whether
    submissions must travel as data (no shared file system).
    """

    capacity: int = 1
    ships_files: bool = False
    description: str = ""

    def submit(self, fn, *args):
        raise NotImplementedError

    def wait(self, futures, timeout: float | None = None):
        raise NotImplementedError

    def as_completed(self, futures):
        pending = set(futures)
        while pending:
            done, pending = self.wait(pending, timeout=None)
            yield from done

    def close(self, cancel: bool = False) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(cancel=exc[0] is not None)


# -- the local process pool -------------------------------------------------
#
# Ctrl-C is the parent's alone. A terminal sends SIGINT to its whole foreground process
# group, in no particular order. When the pool's processes were in that group and acted on
# it (each stopped its grade, and the grades queued behind it), whichever process ran first
# decided the outcome: a pool process could fail every remaining grade before the parent
# even saw its own SIGINT, and the run ended 1 with those students `crashed`. Ignoring
# SIGINT in a pool process is not enough either: a submission's worker process it is
# starting is in its group until the worker's setsid(), with SIGINT back to its default
# (subprocess resets handled signals), and dies of it. So a pool process starts its own
# session (no terminal signal reaches it or what it starts) and ignores a SIGINT sent to it
# directly; the parent, once it has decided to stop, stops the pool with _STOP_SIGNAL, and
# never records a grade that ended because of that.

_STOP_SIGNAL = signal.SIGUSR1
_IN_TASK = False
_STOP_RAISED = False
_STOPPING = False


class PoolStopped(BaseException):
    """Raised in a pool process's running grade when the parent stops the pool.

    A ``BaseException``, so no ``except Exception`` on the way (a check's
    error handling) turns the stop into a report.
    """


def _pool_ignore_sigint(signum, frame):
    """SIGINT in a pool process: nothing (the parent decides; see above).

    A Python handler rather than ``SIG_IGN``: an ignored signal stays ignored
    through ``exec``, so the submission's worker process would inherit it; it
    must see the signals it sees under ``nncheck check``.
    """


def _pool_stop(signum, frame):
    """The parent stops the pool: the running grade stops (its cleanup runs, killing the
    submission's worker), and every grade still queued to this process is refused."""
    global _STOP_RAISED, _STOPPING
    _STOPPING = True
    if _IN_TASK and not _STOP_RAISED:
        _STOP_RAISED = True  # once: a second signal must not break the cleanup
        raise PoolStopped("the class run was interrupted")


def _pool_init(config_path, plugin_files, isolation=None):
    try:
        os.setsid()  # out of the terminal's process group (see above)
    except OSError:  # already a session or group leader: nothing to leave
        pass
    signal.signal(signal.SIGINT, _pool_ignore_sigint)
    signal.signal(_STOP_SIGNAL, _pool_stop)
    _engine_for(config_path, list(plugin_files or ()), isolation)


def _pool_task(*args):
    global _IN_TASK, _STOP_RAISED
    if _STOPPING:
        raise PoolStopped("the class run was interrupted")
    _IN_TASK, _STOP_RAISED = True, False
    try:
        report = grade_submission(*args)
    finally:
        _IN_TASK = False
    if _STOPPING:  # stopped while grading: whatever came back may be the stop's doing
        raise PoolStopped("the class run was interrupted")
    return report


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["nncheck.classroom.grading", "nncheck.engine", "numpy"])
    return ctx


class LocalExecutor(Executor):
    """A pool of ``jobs`` processes on this machine, each building its Engine once.

    Processes start with ``forkserver`` (``spawn`` where that is missing), so
    no pool process inherits the caller's threads or open files. Each runs in
    its own session and ignores SIGINT (Ctrl-C is the caller's to act on);
    ``close(cancel=True)`` stops them.
    """

    stop_grace = 10.0  # seconds a stopped pool process gets to clean up before it is killed

    def __init__(self, jobs: int | None = None, config_path=None, plugin_files=(), isolation=None):
        self.capacity = max(1, int(jobs or os.cpu_count() or 1))
        self.description = f"{self.capacity} local process{'es' if self.capacity > 1 else ''}"
        self._initargs = (config_path, tuple(plugin_files or ()), isolation)
        self.pool = self._new_pool()

    def _new_pool(self):
        return cf.ProcessPoolExecutor(max_workers=self.capacity, mp_context=_mp_context(),
                                      initializer=_pool_init, initargs=self._initargs)

    def submit(self, fn, *args):
        if fn is grade_submission:
            fn = _pool_task
        try:
            return self.pool.submit(fn, *args)
        except BrokenProcessPool:
            # A pool process was killed from outside (the OOM killer, say): the calls it had
            # fail with BrokenProcessPool (their rows say so; a re-run retries them); go on
            # with a fresh pool.
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return self.pool.submit(fn, *args)

    def wait(self, futures, timeout=None):
        done, not_done = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done), set(not_done)

    def close(self, cancel: bool = False) -> None:
        pool = self.pool
        if not cancel:
            pool.shutdown(wait=True)
            return
        # Nothing queued starts; each running grade stops and cleans up its submission's worker
        # process; a pool process still there after the grace period is killed. (Waiting on the
        # processes' sentinels, never join(): the pool's own thread reaps them.)
        procs = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            try:
                os.kill(proc.pid, _STOP_SIGNAL)
            except (ProcessLookupError, PermissionError, TypeError):
                pass
        waiting = {}
        for proc in procs:
            try:
                waiting[proc.sentinel] = proc
            except (ValueError, AttributeError):  # closed: already gone
                pass
        deadline = time.monotonic() + self.stop_grace
        while waiting and time.monotonic() < deadline:
            try:
                ended = mp_wait(list(waiting), timeout=max(0.0, deadline - time.monotonic()))
            except OSError:  # a sentinel was closed under us: its process is gone (and reaped)
                ended = [s for s in waiting if not _fd_open(s)]
            for s in ended:
                waiting.pop(s, None)
        for proc in waiting.values():
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, TypeError):
                pass
        if manager is not None:
            manager.join(timeout=self.stop_grace)


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


class InlineExecutor(Executor):
    """Runs each call at once in this process (debugging; no parallelism)."""

    description = "inline"

    def submit(self, fn, *args):
        fut = cf.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:  # noqa: BLE001 - reported as the row's failure
            fut.set_exception(exc)
        return fut

    def wait(self, futures, timeout=None):
        return set(futures), set()


# -- Dask distributed ------------------------------------------------------

class DaskExecutor(Executor):
    """Spread the class over a Dask cluster: ``DaskExecutor("tcp://scheduler:8786")``.

    Submissions, the config and ``--plugin`` files travel with each task
    (:func:`pack`, :func:`make_bundle`), so workers need nncheck installed
    (same version, same entry-point plugins) but no shared file system.
    ``client`` may be given instead of an address (tests, notebooks).
    """

    ships_files = True

    def __init__(self, address=None, client=None, wait_for_workers: float = 60.0):
        try:
            import distributed
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError("--scheduler needs Dask: pip install 'nncheck[dask]'") from exc
        self._distributed = distributed
        self._own = client is None
        self._submitted: set = set()
        self.client = client or distributed.Client(address, timeout=30)
        if not self.client.nthreads():
            self.client.wait_for_workers(1, timeout=wait_for_workers)
        self.capacity = max(1, sum(self.client.nthreads().values()))
        n = len(self.client.nthreads())
        where = getattr(getattr(self.client, "scheduler", None), "address", None) or address
        self.description = f"Dask at {where} ({n} workers, {self.capacity} threads)"

    def submit(self, fn, *args):
        fut = self.client.submit(fn, *args, pure=False)
        self._submitted.add(fut)
        return fut

    def wait(self, futures, timeout=None):
        futures = list(futures)
        try:
            res = self._distributed.wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set(), set(futures)
        self._submitted.difference_update(res.done)
        return set(res.done), set(res.not_done)

    def close(self, cancel: bool = False) -> None:
        if cancel and self._submitted:
            try:
                self.client.cancel(list(self._submitted))
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        self._submitted.clear()
        if self._own:
            self.client.close()


# ==========================================================================
# Output folder: per-student reports, rows, gradebook
# ==========================================================================

def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def report_path(out: Path, student: str) -> Path:
    return out / "reports" / f"{student}.json"


def read_report(out: Path, student: str) -> dict | None:
    try:
        d = json.loads(report_path(out, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def row_status(report: dict) -> str:
    """``ok``, ``load-failed``, ``timeout`` or ``crashed`` for one report.

    ``timeout``: loading or a check ran out of time. ``crashed``: the
    process running the student's code died (segfault, ``os._exit``, killed),
    or grading itself failed. ``load-failed``: nothing could be loaded (not
    Python, a refused archive, an exception at import that left no names...).
    A graded submission is ``ok`` whatever its score.
    """
    g = report.get("grading") or {}
    if g.get("error"):
        return CRASHED
    load = report.get("load") or {}
    if not load.get("ok", True):
        return {"timeout": TIMEOUT, "crash": CRASHED}.get(load.get("incident", ""), LOAD_FAILED)
    incidents = {c.get("incident") or "" for c in report.get("checks") or []}
    if "timeout" in incidents:
        return TIMEOUT
    if incidents & {"crash", "memory", "worker-lost"}:
        return CRASHED
    return OK


def _cell(value) -> str:
    """A CSV text cell that a spreadsheet will not run as a formula."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def gradebook_rows(rows: list[dict], check_ids: list[str]) -> tuple[list[str], list[list]]:
    header = ["student", "status", "total", "max", "core", "options", "bonus", *check_ids,
              "duration_s", "entry", "message"]
    table = []
    for r in rows:
        rep = r.get("report")
        secs = (rep or {}).get("sections") or {}
        by_id = {c["id"]: c for c in (rep or {}).get("checks", [])}
        line = [_cell(r["student"]), r["status"]]
        if rep is not None and r["status"] != PENDING:
            line += [rep.get("score"), rep.get("max_score"),
                     *[(secs.get(s) or {}).get("score", "") for s in ("core", "options", "bonus")],
                     *[by_id[c]["score"] if c in by_id else "" for c in check_ids],
                     rep.get("duration_s", "")]
        else:
            line += [""] * (4 + len(check_ids) + 1)
        line += [_cell(r["entry"]), _cell(r.get("message", ""))]
        table.append(line)
    return header, table


def _row_message(report: dict | None, status: str) -> str:
    if report is None:
        return ""
    g = report.get("grading") or {}
    if g.get("error"):
        return str(g["error"])[:300]
    load = report.get("load") or {}
    if not load.get("ok", True):
        return str(load.get("message", ""))[:300]
    for c in report.get("checks", []):
        if status == TIMEOUT and c.get("status") == "timeout":
            return f"{c['id']}: {c.get('message', '')}"[:300]
        if status == CRASHED and c.get("status") == "error":
            return f"{c['id']}: {c.get('message', '')}"[:300]
    return ""


def collect_rows(out: Path, entries: list[Entry], keys: dict[str, str]) -> list[dict]:
    """One row per student from the reports on disk; a missing or stale report is ``pending``."""
    rows = []
    for e in entries:
        rep = read_report(out, e.student)
        current = rep is not None and (rep.get("grading") or {}).get("key") == keys.get(e.student)
        if rep is not None and (rep.get("grading") or {}).get("error"):
            current = True  # a failed grading is shown (and retried next run)
        status = row_status(rep) if current else PENDING
        rows.append({"student": e.student, "entry": e.path.name, "status": status,
                     "report": rep if current else None,
                     "message": _row_message(rep, status) if current else
                     ("not graded yet" if rep is None else "not regraded with the current settings yet")})
    return rows


def write_outputs(out: Path, rows: list[dict], check_ids: list[str], meta: dict) -> dict:
    """Write ``gradebook.csv``, ``summary.json`` and ``summary.html``; return the summary."""
    from nncheck.classroom.summary import build_summary, render_summary_html

    header, table = gradebook_rows(rows, check_ids)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(table)
    write_atomic(out / "gradebook.csv", buf.getvalue())
    summary = build_summary(rows, check_ids, meta)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    write_atomic(out / "summary.html", render_summary_html(summary))
    return summary


def _check_order(engine, only, rows) -> list[str]:
    ids = [c.id for c in engine.select(only)]
    extra = sorted({c["id"] for r in rows if r.get("report") for c in r["report"].get("checks", [])} - set(ids))
    return ids + extra


# ==========================================================================
# Progress
# ==========================================================================

class Progress:
    """``[ 12/40]  30%  1.9/s  ETA 0:15  alice  ok 85/85`` lines on a stream (stderr)."""

    def __init__(self, total: int, stream=None, enabled: bool = True):
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def step(self, student: str, status: str, score=None, max_score=None) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0
        width = len(str(self.total))
        pts = f" {score:g}/{max_score:g}" if isinstance(score, (int, float)) and max_score else ""
        pct = 100 * self.done // max(self.total, 1)
        self.say(f"[{self.done:>{width}}/{self.total}] {pct:3d}%  {rate:5.2f}/s  "
                 f"ETA {_clock(left)}  {student}  {status}{pts}")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ==========================================================================
# The class run
# ==========================================================================

@dataclass
class ClassResult:
    out: Path
    graded: list[str]        # graded in this run
    skipped: list[str]       # unchanged since a previous run
    failed: list[str]        # grading itself failed (retried next run)
    interrupted: bool
    summary: dict
    wall_s: float


def grade_class(submissions_dir, out_dir, *, executor: Executor | None = None, jobs: int | None = None,
                config_path=None, plugin_files=(), seed: int = 0, timeout=None, memory=None, only=(),
                force: bool = False, progress: Progress | None = None, quiet: bool = True,
                engine=None, html_reports: bool = True, isolation: str | None = None) -> ClassResult:
    """Grade every submission in ``submissions_dir`` into ``out_dir`` (see the module docstring).

    ``executor`` defaults to a :class:`LocalExecutor` of ``jobs`` processes
    (closed at the end; an executor passed in is left open). Per-student
    HTML reports are written when the ``html`` format is installed, unless
    ``html_reports`` is false (they take about half a second each).

    ``isolation`` is the layer every submission must run under, wherever it
    is graded (the default: ``engine``'s choice, else ``auto``). It travels
    with each task, so a Dask worker without bubblewrap fails that row
    (retried next run) instead of grading it less isolated.

    Ctrl-C (SIGINT, when called from the main thread): no more grades start,
    the running ones are stopped (never recorded: they are ``pending`` and a
    re-run grades them), every finished report is kept, the gradebook and
    summary are rebuilt, and ``KeyboardInterrupt`` is raised. The signal only
    sets a flag the loop reads between results, so the outcome is the same
    whichever process a terminal's SIGINT reaches first.
    """
    t0 = time.monotonic()
    from nncheck.config import load_config
    from nncheck.engine import Engine

    config_path = str(Path(config_path).resolve()) if config_path else None
    plugin_files = [str(Path(p).resolve()) for p in plugin_files]
    only = list(only or ())
    out = Path(out_dir).resolve()
    src = Path(submissions_dir).resolve()
    engine = engine or Engine(load_config(config_path), plugin_files, isolation=isolation)
    isolation = isolation or engine.isolation_choice
    found = discover(src, exclude=[out])
    entries = found.entries
    (out / "reports").mkdir(parents=True, exist_ok=True)

    settings_sha = settings_digest(config_path=config_path, plugin_files=plugin_files, seed=seed,
                                   timeout=timeout, memory=memory, only=only,
                                   plugins=registered_plugins(engine))
    subs_sha = {e.student: submission_digest(e.path) for e in entries}
    keys = {s: grade_key(h, settings_sha) for s, h in subs_sha.items()}
    todo, skipped = [], []
    for e in entries:
        rep = None if force else read_report(out, e.student)
        if (rep is not None and (rep.get("grading") or {}).get("key") == keys[e.student]
                and not _less_isolated(rep, isolation)):
            skipped.append(e.student)
        else:
            todo.append(e)
    progress = progress or Progress(len(todo), enabled=not quiet)
    progress.total = len(todo)
    html = engine.formats.get("html") if html_reports else None
    if found.ignored:
        n = len(found.ignored)
        progress.say(f"ignored {n} entr{'y that is not a submission' if n == 1 else 'ies that are not submissions'}"
                     f": {', '.join(found.ignored[:5])}{' ...' if n > 5 else ''}")
    if skipped:
        progress.say(f"{len(skipped)} unchanged since the last run, skipped (--force regrades them)")
    # Reports whose HTML is missing (e.g. the html format was installed since) get it now.
    if html is not None:
        for s in skipped:
            if not (out / "reports" / f"{s}.html").exists():
                _write_html(out, s, read_report(out, s), html, engine.config)

    graded, failed = [], []
    completed = False
    own_executor = executor is None
    meta = {"submissions_dir": str(src), "out": str(out), "nncheck_version": __version__,
            "config": config_path, "plugin_files": plugin_files, "seed": seed, "timeout": timeout,
            "memory": memory, "only": only, "settings_sha256": settings_sha, "ignored": found.ignored,
            "html_reports": html is not None, "isolation": isolation}
    inflight: dict = {}
    started: dict = {}

    def record(e: Entry, outcome) -> None:
        rep = _finish(outcome, e, keys[e.student], subs_sha[e.student], settings_sha,
                      time.monotonic() - started[e.student])
        rendered = rep.pop("rendered", None) or {}
        # HTML first: once the JSON (with its key) is there, the student counts as done.
        if "html" in rendered:
            write_atomic(out / "reports" / f"{e.student}.html", rendered["html"])
        elif "html:error" in rendered:
            progress.say(f"warning: no HTML report for {e.student}: {rendered['html:error']}")
        elif html is not None:
            _write_html(out, e.student, rep, html, engine.config)
        write_atomic(report_path(out, e.student), json.dumps(rep, indent=2, allow_nan=False) + "\n")
        (failed if (rep.get("grading") or {}).get("error") else graded).append(e.student)
        progress.step(e.student, row_status(rep), rep.get("score"), rep.get("max_score"))

    with _CtrlC() as ctrl_c:
        try:
            if todo:
                if executor is None:
                    executor = LocalExecutor(jobs, config_path, plugin_files, isolation)
                meta["executor"] = executor.description
                progress.say(f"grading {len(todo)} submission{'s' if len(todo) != 1 else ''} "
                             f"on {executor.description}")
                bundle = make_bundle(config_path, plugin_files) if executor.ships_files else None
                render = ("html",) if html is not None else ()
                queue = list(todo)
                window = max(2, 2 * executor.capacity)

                def launch():
                    while queue and len(inflight) < window and not ctrl_c.requested:
                        e = queue.pop(0)
                        if executor.ships_files:
                            args = (pack(e.path), None, (), seed, timeout, memory, only, bundle, render,
                                    isolation)
                        else:
                            args = (str(e.path), config_path, plugin_files, seed, timeout, memory, only,
                                    None, render, isolation)
                        inflight[executor.submit(grade_submission, *args)] = e
                        started[e.student] = time.monotonic()

                launch()
                while inflight and not ctrl_c.requested:
                    done, _ = executor.wait(list(inflight), timeout=_POLL_S)
                    ended = [(inflight.pop(fut), _outcome(fut)) for fut in done]
                    if any(kind == INTERRUPTED for _, (kind, _) in ended):
                        ctrl_c.requested = True  # an interrupt is an interrupt, whoever saw it first
                    for e, outcome in ended:
                        # Once interrupted, a failure may be the interrupt's doing: not recorded
                        # (the row stays pending). A report is genuine: kept.
                        if outcome[0] == REPORT or (outcome[0] == FAILED and not ctrl_c.requested):
                            record(e, outcome)
                    launch()
            completed = not ctrl_c.requested
        except KeyboardInterrupt:  # raised before our handler was in place, or by a caller's
            ctrl_c.requested = True
            raise
        finally:
            if own_executor and executor is not None:
                executor.close(cancel=not completed)
            if ctrl_c.requested:
                # Grades that came back while the pool stopped are finished rows too.
                for fut, e in list(inflight.items()):
                    if fut.done():
                        outcome = _outcome(fut)
                        if outcome[0] == REPORT:
                            del inflight[fut]
                            record(e, outcome)
            rows = collect_rows(out, entries, keys)
            meta["wall_s"] = round(time.monotonic() - t0, 3)
            meta["interrupted"] = ctrl_c.requested
            summary = write_outputs(out, rows, _check_order(engine, only, rows), meta)
            if ctrl_c.requested:
                progress.say(f"interrupted: {len(graded)} graded in this run are saved; "
                             f"run the same command again to grade the rest")
    if ctrl_c.requested:
        raise KeyboardInterrupt
    return ClassResult(out, graded, skipped, failed, False, summary, time.monotonic() - t0)


_POLL_S = 0.2  # how often the loop looks at the Ctrl-C flag while it waits for results

REPORT, FAILED, INTERRUPTED = "report", "failed", "interrupted"


class _CtrlC:
    """While a class is graded, SIGINT only sets ``requested``; the loop acts on it.

    A ``KeyboardInterrupt`` raised wherever the main thread happens to be
    could land in code that records a result (or holds a future's lock); a
    flag cannot. Installed only in the main thread (the only one signals
    reach); the previous handler comes back on exit.
    """

    def __init__(self):
        self.requested = False
        self._installed = False
        self._previous = None

    def _note(self, signum, frame):
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._note)
                self._installed = True
            except ValueError:  # not the main interpreter
                pass
        return self

    def __exit__(self, *exc):
        if self._installed:
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
        return False


def _outcome(fut) -> tuple[str, object]:
    """How a finished task ended: ``(REPORT, report)``, ``(FAILED, exception)`` or
    ``(INTERRUPTED, exception)`` (stopped, or interrupted where it ran).

    Never raises the task's exception: a ``KeyboardInterrupt`` that ended a
    task must not pass for the caller's own.
    """
    try:
        if fut.cancelled():
            return FAILED, cf.CancelledError("the task was cancelled")
        exc = fut.exception()
        if exc is None:
            return REPORT, fut.result()
    except Exception as err:  # noqa: BLE001 - e.g. a Dask future whose result was lost
        return FAILED, err
    if isinstance(exc, (KeyboardInterrupt, PoolStopped)):
        return INTERRUPTED, exc
    return FAILED, exc


def _finish(outcome, entry: Entry, key: str, sub_sha: str, settings_sha: str, wall: float) -> dict:
    """The report of a finished task, stamped with its resume key (or a stub if grading failed)."""
    kind, value = outcome
    if kind == REPORT and isinstance(value, dict):
        rep, error = value, None
    else:
        error = (f"grading failed: {type(value).__name__}: {value}" if kind == FAILED
                 else f"grading failed: the task returned {type(value).__name__}")
        rep = {"submission": entry.path.name, "score": 0.0, "max_score": 0.0, "sections": {},
               "checks": [], "load": {"ok": False, "message": error}, "nncheck_version": __version__}
    rep["submission"] = entry.path.name
    rep["grading"] = {"student": entry.student, "entry": entry.path.name, "key": None if error else key,
                      "submission_sha256": sub_sha, "settings_sha256": settings_sha,
                      "wall_s": round(wall, 3), "error": error}
    return rep


def _write_html(out: Path, student: str, rep: dict | None, render, config) -> None:
    if rep is None or (rep.get("grading") or {}).get("error"):
        return
    try:
        text = render(report_from_dict(rep), config)
    except Exception as exc:  # noqa: BLE001 - the JSON report is the record; HTML is a view of it
        print(f"warning: could not render the HTML report of {student}: {exc!r}", file=sys.stderr)
        return
    write_atomic(out / "reports" / f"{student}.html", text)
