"""The isolation layers, which of them this machine offers, and choosing one.

Three isolation layers, best first:

``bubblewrap``
    The worker runs under `bubblewrap <https://github.com/containers/bubblewrap>`_
    (``bwrap``, the sandbox under Flatpak) in its own user, mount, PID, network,
    IPC and UTS namespaces, with no capabilities, no new privileges and an
    environment cut down to :data:`nncheck.sandbox.handle.ENV_ALLOW`. Its file
    system is built from nothing but the list in
    :func:`nncheck.sandbox.bwrap.bwrap_command`: the interpreter and its
    libraries read-only, nncheck's worker-side modules
    (:data:`nncheck.sandbox.view.WORKER_SIDE`) and the probe modules of the
    checks being run, copied into a *view*, the data files handed to probes,
    and two private, size-limited tmpfs: ``/tmp`` and the submission's scratch
    folder, which the worker fills with the files the grader sends it. The
    reference, verdicts, config, plugin files, other submissions and results
    folders are not in that list, and where a library folder holds nncheck or
    a plugin package, it is covered by an empty read-only mount.
``user``
    No sandbox, but when the grader runs as root, the worker switches to the
    unprivileged ``nobody`` before it loads anything (Gradescope's advice to
    autograder authors): it cannot read files only root can read.
``process``
    Only a separate process with rlimits and timeouts.

Every report says which layer was in force (:class:`Isolation`);
:func:`doctor_lines` is what ``nncheck doctor`` prints about them.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from nncheck.sandbox.bwrap import bwrap_command
from nncheck.sandbox.view import PACKAGE

BWRAP_VAR = "NNCHECK_BWRAP"      # path of the bwrap binary (tests point it elsewhere)
ISOLATION_VAR = "NNCHECK_ISOLATION"  # the isolation asked for, when no option says it
LAYERS = ("bubblewrap", "user", "process")
CHOICES = ("auto", *LAYERS)

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"


class IsolationError(Exception):
    """The isolation that was asked for cannot be had here."""


@dataclass(frozen=True)
class Isolation:
    """The isolation layer in force for a run, and a sentence for reports."""

    layer: str
    summary: str
    user: tuple[int, int] | None = None   # (uid, gid) the worker switches to, layer "user"

    @property
    def sandboxed(self) -> bool:
        return self.layer == "bubblewrap"

    def to_json(self) -> dict:
        return {"layer": self.layer, "summary": self.summary}


# --------------------------------------------------------------------------
# What is available
# --------------------------------------------------------------------------
def bwrap_binary() -> str | None:
    """The bwrap to use: ``$NNCHECK_BWRAP`` if set, else ``bwrap`` on ``PATH``."""
    chosen = os.environ.get(BWRAP_VAR)
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=None)
def _bubblewrap_problem(binary: str | None) -> str | None:
    """``None`` when ``binary`` can build our sandbox here, else why not (one sentence)."""
    if not binary:
        return "bubblewrap (bwrap) is not installed"
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux, this is {sys.platform}"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nncheck-doctor-") as tmp:
        view = Path(tmp) / "view"
        view.mkdir()
        cmd = bwrap_command(binary, view=view, argv=[
            sys.executable, "-I", "-S", "-c", "print('ok')"])
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not be started ({exc})"
    if done.returncode != 0 or done.stdout.strip() != "ok":
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return f"bubblewrap cannot create the sandbox here ({why[:200]})"
    return None


_PROBING: dict = {}  # binary -> Future of _bubblewrap_problem(binary), started by probe_in_background


def probe_in_background() -> None:
    """Start finding out whether bubblewrap works here (a sandboxed ``print('ok')``, about 0.06 s)
    on a thread, so that a command's set-up (building the engine) overlaps it; the answer is the
    same, and :func:`bubblewrap_problem` waits for it."""
    import concurrent.futures
    import threading

    binary = bwrap_binary()
    if not binary or binary in _PROBING:
        return
    future: concurrent.futures.Future = concurrent.futures.Future()
    _PROBING[binary] = future

    def probe():
        try:
            future.set_result(_bubblewrap_problem(binary))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the answer
            future.set_exception(exc)

    threading.Thread(target=probe, name="nncheck-bwrap-probe", daemon=True).start()


def bubblewrap_problem() -> str | None:
    """Why the bubblewrap sandbox cannot be used here, or ``None`` when it can."""
    binary = bwrap_binary()
    if binary is None and os.environ.get(BWRAP_VAR):
        return f"{BWRAP_VAR}={os.environ[BWRAP_VAR]} is not an executable file"
    if binary in _PROBING:
        return _PROBING[binary].result()
    return _bubblewrap_problem(binary)


def _python_readable_by_others() -> bool:
    """Can an unprivileged user run this Python? (Not when it lives under a 0700 /root.)"""
    for top in {sys.executable, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                str(PACKAGE)}:
        p = Path(top).resolve()
        for d in [p, *p.parents]:
            try:
                mode = d.stat().st_mode
            except OSError:
                return False
            if d.is_dir() and not mode & 0o001:
                return False
    return True


def user_switch(name: str = "nobody") -> tuple[int, int] | None:
    """``(uid, gid)`` of ``name`` when we are root and that user can run this Python."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    if not _python_readable_by_others():
        return None
    return entry.pw_uid, entry.pw_gid


def choose(requested: str = "auto") -> Isolation:
    """The isolation for ``requested`` (one of :data:`CHOICES`).

    ``auto`` takes the best layer available; naming a layer insists on it
    (:class:`IsolationError` when it cannot be had), except that ``process``
    is always available.
    """
    if requested not in CHOICES:
        raise IsolationError(f"unknown isolation {requested!r}: choose one of {', '.join(CHOICES)}")
    problem = bubblewrap_problem() if requested in ("auto", "bubblewrap") else None
    if requested in ("auto", "bubblewrap") and problem is None:
        return Isolation("bubblewrap", "sandboxed by bubblewrap: own file system view, processes and "
                                       "network; no access to the grader, the reference or other submissions")
    if requested == "bubblewrap":
        raise IsolationError(f"the bubblewrap sandbox is not available: {problem}; {INSTALL_HINT}")
    ids = user_switch() if requested in ("auto", "user") else None
    if ids:
        return Isolation("user", f"NOT sandboxed ({problem or 'by request'}): the submission ran in a "
                                 "separate process as the unprivileged user 'nobody'", user=ids)
    if requested == "user":
        raise IsolationError("running the submission as 'nobody' needs root and a Python that "
                             "others can read")
    return Isolation("process", f"NOT sandboxed ({problem or 'by request'}): the submission ran in a "
                                "separate process with time and memory limits only, and could read "
                                "whatever this user can read")


# --------------------------------------------------------------------------
# nncheck doctor
# --------------------------------------------------------------------------
def doctor_lines() -> list[str]:
    """What ``nncheck doctor`` prints: every layer, whether it can be had, and how to get it."""
    binary = bwrap_binary()
    problem = bubblewrap_problem()
    lines = []
    if problem is None:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
        lines.append(f"bubblewrap  available  ({version or binary}): submissions run in a sandbox")
    else:
        lines.append(f"bubblewrap  MISSING    {problem}; {INSTALL_HINT}")
    ids = user_switch()
    if ids:
        lines.append(f"user        available  (worker runs as 'nobody', uid {ids[0]})")
    elif hasattr(os, "geteuid") and os.geteuid() == 0:
        lines.append("user        missing    Python lives where 'nobody' cannot read it (e.g. under /root)")
    else:
        lines.append("user        missing    only root can switch the worker to another user")
    lines.append("process     available  (separate process, time and memory limits)")
    best = choose("auto")
    lines.append(f"in force by default: {best.layer}")
    if not best.sandboxed:
        lines.append("nncheck grade refuses to grade a class without the sandbox unless given "
                     "--isolation user or --isolation process")
    return lines
