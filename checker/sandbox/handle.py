"""The worker handle: start the worker process (sandboxed or not), talk to it, kill it.

A :class:`WorkerHandle` is one worker process and the two pipes to it.
Frames are decoded without pickle (:mod:`nncheck.worker.wire`) and every
wait has a deadline; a worker that dies, hangs or talks nonsense raises
:class:`WorkerGone`, and :meth:`WorkerHandle.close` leaves nothing of it
behind: in the sandbox bubblewrap ends every process with the worker (and a
cgroup is removed), outside it the processes carrying the worker's token are
found and killed.
"""
from __future__ import annotations

import ctypes
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from nncheck.sandbox.bwrap import bwrap_command, seccomp_filter, worker_argv
from nncheck.sandbox.cgroup import Cgroup
from nncheck.sandbox.layers import bwrap_binary
from nncheck.worker import wire

TOKEN_VAR = "NNCHECK_WORKER_TOKEN"

ENV_ALLOW = ("LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables of the grader's environment the worker keeps (the rest is set by nncheck)."""


class WorkerGone(Exception):
    """The worker died, timed out beyond its grace, or sent something unreadable."""


def _become_subreaper() -> None:
    """Orphaned grandchildren of the worker get re-parented to us, so we can reap them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _worker_env(home: str, token: str | None = None) -> dict:
    """The worker's whole environment: a short allow-list of ours plus nncheck's settings."""
    keep = ENV_ALLOW + (("PATH", "SYSTEMROOT") if token else ())
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "HOME": home, "TMPDIR": home,
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg",
        "PYTHONIOENCODING": "utf-8",
    })
    if token:
        env[TOKEN_VAR] = token
    else:
        env["PATH"] = "/usr/bin:/bin"
    return env


def _kill_strays(token: str) -> int:
    """Kill every process that carries this worker's token (children it left behind,
    even those that started a new session); reap the ones re-parented to us."""
    killed = []
    me = os.getpid()
    needle = f"{TOKEN_VAR}={token}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                mine = needle in f.read()
        except OSError:
            continue
        if mine:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
    # Only reap the pids we killed: other threads may be waiting on their own workers.
    for pid in killed:
        for _ in range(50):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:  # not our child: init reaps it
                break
            time.sleep(0.01)
    return len(killed)


class WorkerHandle:
    """One worker process and the pipes to it.

    In the sandbox (``view`` given) the worker runs under bubblewrap, which
    ends every process of the sandbox when the worker ends. Outside it, the
    worker carries a random token in its environment, by which the processes
    it leaves behind are found and killed.
    """

    def __init__(self, workdir: Path, log_path: Path, view: Path | None = None,
                 data_files: dict | None = None, memory_mb: int = 0):
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        self.log = open(log_path, "wb")
        fds = [str(req_r), str(rep_w)]
        self.cgroup = None
        keep = [req_r, rep_w]
        if view is not None:
            self.token = None
            seccomp_fd = None
            program = seccomp_filter()
            if program is not None:
                seccomp_fd = os.open(view.parent / "seccomp.bpf", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
                os.write(seccomp_fd, program)
                os.lseek(seccomp_fd, 0, os.SEEK_SET)
                keep.append(seccomp_fd)
            argv = bwrap_command(
                bwrap_binary(), view=view, data_files=data_files, seccomp_fd=seccomp_fd,
                env=_worker_env("/tmp"), argv=[*worker_argv(), *fds])
            self.cgroup = Cgroup.create(f"nncheck-{secrets.token_hex(8)}", memory_mb)
            if self.cgroup is not None:
                argv = self.cgroup.enter(argv)
            env, cwd = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, None
        else:
            _become_subreaper()  # the sandbox's PID namespace needs no help; a plain process does
            self.token = secrets.token_hex(8)
            argv = [sys.executable, "-I", "-m", "nncheck.worker.loop", *fds]
            env, cwd = _worker_env(str(workdir), self.token), workdir
        self.proc = subprocess.Popen(
            argv, pass_fds=keep, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True, env=env)
        for fd in keep:
            os.close(fd)

    def send(self, obj) -> None:
        try:
            wire.write_frame(self.req_w, obj)
        except OSError as exc:
            raise WorkerGone(f"could not talk to the worker ({exc.strerror})") from None

    def receive(self, timeout: float):
        deadline = time.monotonic() + timeout

        def read(fd, n):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            return os.read(fd, n)

        try:
            return wire.read_frame(self.rep_r, read=read)
        except TimeoutError:
            raise WorkerGone("timeout") from None
        except EOFError:
            raise WorkerGone("the worker process ended") from None
        except (wire.WireError, ValueError, OSError) as exc:
            raise WorkerGone(f"the worker sent something unreadable ({exc})") from None

    def close(self) -> None:
        try:
            wire.write_frame(self.req_w, {"op": "exit"})
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        if self.token:
            _kill_strays(self.token)
        if self.cgroup is not None:
            self.cgroup.remove()
