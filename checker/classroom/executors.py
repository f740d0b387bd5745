"""Where :func:`~nncheck.classroom.task.grade_submission` calls run: executors.

:class:`LocalExecutor` (a process pool on this machine), :class:`DaskExecutor`
(``distributed.Client``) and :class:`InlineExecutor` (this process, for
debugging) implement the small :class:`Executor` interface (``submit`` /
``wait`` / ``as_completed`` / ``close``).
"""
from __future__ import annotations

import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import multiprocessing
from multiprocessing.connection import wait as mp_wait
import os
import signal
import time

from nncheck.classroom.task import engine_for, grade_submission


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


def _pool_init(config_path, plugin_files, isolation=None, slots=None):
    if slots:  # the pool shares the processors: each grade runs this many probes at once
        from nncheck.sandbox.session import SLOTS_VAR

        os.environ.setdefault(SLOTS_VAR, str(slots))
    try:
        os.setsid()  # out of the terminal's process group (see above)
    except OSError:  # already a session or group leader: nothing to leave
        pass
    signal.signal(signal.SIGINT, _pool_ignore_sigint)
    signal.signal(_STOP_SIGNAL, _pool_stop)
    engine_for(config_path, list(plugin_files or ()), isolation)


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
        ctx.set_forkserver_preload(["nncheck.classroom.executors", "nncheck.engine", "numpy"])
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
        # the processors left to each grade's probes: one each when the pool already fills them
        slots = max(1, (os.cpu_count() or 1) // self.capacity)
        self._initargs = (config_path, tuple(plugin_files or ()), isolation, slots)
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
