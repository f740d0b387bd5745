"""Where student code runs: a bubblewrap sandbox, or the best layer that remains.

Three isolation layers, best first:

``bubblewrap``
    The worker runs under `bubblewrap <https://github.com/containers/bubblewrap>`_
    (``bwrap``, the sandbox under Flatpak) in its own user, mount, PID, network,
    IPC and UTS namespaces, with no capabilities, no new privileges and an
    environment cut down to :data:`ENV_ALLOW`. Its file system is built from
    nothing but the list in :func:`bwrap_command`: the interpreter and its
    libraries read-only, nncheck's worker-side modules (:data:`WORKER_SIDE`)
    and the probe modules of the checks being run, copied into a *view*, the
    data files handed to probes, and two private, size-limited tmpfs: ``/tmp``
    and the submission's scratch folder, which the worker fills with the files
    the grader sends it. The reference, verdicts, config, plugin files,
    other submissions and results folders are not in that list, and where a
    library folder holds nncheck or a plugin package, it is covered by an
    empty read-only mount.
``user``
    No sandbox, but when the grader runs as root, the worker switches to the
    unprivileged ``nobody`` before it loads anything (Gradescope's advice to
    autograder authors): it cannot read files only root can read.
``process``
    Only a separate process with rlimits and timeouts.

Every report says which layer was in force (:class:`Isolation`).
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

BWRAP_VAR = "NNCHECK_BWRAP"      # path of the bwrap binary (tests point it elsewhere)
ISOLATION_VAR = "NNCHECK_ISOLATION"  # the isolation asked for, when no option says it
LAYERS = ("bubblewrap", "user", "process")
CHOICES = ("auto", *LAYERS)

VIEW = "/nncheck"                # nncheck's worker-side code, inside the sandbox
SCRATCH = "/submission"          # the submission's scratch copy, inside the sandbox
TMP_BYTES = 256 * 1024 * 1024    # size of the private /tmp
SCRATCH_BYTES = 256 * 1024 * 1024  # the submission's files and what it writes next to them
OUTPUT = "/run/nncheck"          # where the worker captures what the submission prints
OUTPUT_BYTES = 64 * 1024 * 1024
SHM_BYTES = 16 * 1024 * 1024     # /dev/shm (POSIX semaphores, shared memory)
NPROC = 32                       # processes (threads included) the sandbox's user may have

PACKAGE = Path(__file__).resolve().parents[1]
WORKER_SIDE = ("worker/loop.py", "worker/wire.py", "worker/forms.py", "load/plan.py",
               "probes.py", "gradient_check.py", "data.py")
"""The modules of ``nncheck`` that run inside the sandbox (plus ``shims/``), relative to
the package; a subpackage's ``__init__.py`` is written empty in the view."""

ENV_ALLOW = ("LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables of the grader's environment the worker keeps (the rest is set by nncheck)."""

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


def bubblewrap_problem() -> str | None:
    """Why the bubblewrap sandbox cannot be used here, or ``None`` when it can."""
    binary = bwrap_binary()
    if binary is None and os.environ.get(BWRAP_VAR):
        return f"{BWRAP_VAR}={os.environ[BWRAP_VAR]} is not an executable file"
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
# What the sandbox sees
# --------------------------------------------------------------------------
def site_dirs() -> list[str]:
    """The grader's library folders (``site-packages``/``dist-packages``) that exist."""
    dirs = [p for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")]
    dirs += [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return list(dict.fromkeys(str(Path(d).resolve()) for d in dirs if Path(d).is_dir()))


def python_roots() -> list[str]:
    """Folders holding the interpreter, its standard library and its libraries."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(os.path.realpath(sys.executable)).parent.parent), *site_dirs()}
    resolved = sorted({str(Path(r).resolve()) for r in roots if r and Path(r).is_dir()})
    # keep only outermost folders; the system's /usr is mounted anyway
    outer = [r for r in resolved if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in resolved)]
    return [r for r in outer if r != "/" and not r.startswith("/usr/") and r != "/usr"]


@functools.lru_cache(maxsize=None)
def grader_paths() -> tuple[str, ...]:
    """Files and folders that must never be visible inside: nncheck's own package
    folders and every installed distribution that provides nncheck plugins."""
    paths = {str(PACKAGE)}
    for name in ("nncheck.plugins", "nncheck.reference", "nncheck.student_template"):
        spec = importlib.util.find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec else []:
            paths.add(str(Path(loc).resolve()))
    for dist in importlib.metadata.distributions():
        try:
            name = (dist.metadata["Name"] or "").lower()
            plugin = bool(dist.entry_points.select(group="nncheck"))
        except Exception:  # noqa: BLE001 - a broken distribution is not ours
            continue
        if name != "nncheck" and not plugin:
            continue
        for f in dist.files or []:
            if not f.parts or f.parts[0] in ("..", "/"):
                continue
            top = f if f.parts[0] == "__pycache__" else f.parts[0]  # a shared cache: only our files
            paths.add(str(Path(dist.locate_file(top)).resolve()))
        for ep in dist.entry_points.select(group="nncheck"):
            spec = importlib.util.find_spec(ep.value.split(":")[0].split(".")[0])
            if spec and spec.submodule_search_locations:
                paths.update(str(Path(p).resolve()) for p in spec.submodule_search_locations)
            elif spec and spec.origin:
                paths.add(str(Path(spec.origin).resolve()))
    # outermost only: a folder covered hides what is inside it
    return tuple(p for p in sorted(paths) if not _is_under(p, [q for q in paths if q != p]))


def stage_view(dest: Path, probe_modules: dict[str, str], data_files: dict[str, str] | None = None) -> dict[str, str]:
    """Copy nncheck's worker side and ``probe_modules`` (``{module name: file}``) into ``dest``.

    ``dest`` is mounted read-only at :data:`VIEW`. Returns ``{module name: path
    inside}``. Every package ``__init__.py`` in the view is empty, so importing
    a probe module runs nothing but that module.
    """
    pkg = dest / "nncheck"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""nncheck, worker side: what runs in the sandbox."""\n')
    for name in WORKER_SIDE:
        target = pkg / name
        if not target.parent.exists():
            target.parent.mkdir(parents=True)
            (target.parent / "__init__.py").write_text("")
        shutil.copyfile(PACKAGE / name, target)
    shutil.copytree(PACKAGE / "load" / "shims", pkg / "load" / "shims", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (pkg / "data").mkdir(exist_ok=True)
    inside = {}
    for module, file in probe_modules.items():
        rel = Path(*module.split(".")).with_suffix(".py")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        for parent in list(rel.parents)[:-1]:
            init = dest / parent / "__init__.py"
            if not init.exists():
                init.write_text("")
        if target.exists() and module.startswith("nncheck.") and target.parent == pkg:
            raise ValueError(f"probe module {module} would replace nncheck's own {rel}")
        shutil.copyfile(file, target)
        inside[module] = f"{VIEW}/{rel.as_posix()}"
    return inside


def _is_under(path: str, folders) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _system_mounts() -> list[str]:
    """Read-only system folders (shared libraries), replicating merged-/usr symlinks."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf"):
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    return args


def bwrap_command(binary: str, *, view: Path, argv: list[str],
                  data_files: dict[str, str] | None = None, env: dict[str, str] | None = None,
                  seccomp_fd: int | None = None) -> list[str]:
    """The full ``bwrap`` command line that runs ``argv`` in the sandbox.

    This is the whole list of what the sandbox sees: read it here. The
    submission itself is not mounted: :data:`SCRATCH` is an empty, size-limited
    tmpfs that the worker fills with the files the grader sends it, so nothing
    written there reaches the host's disk.

    :param view: folder mounted read-only at :data:`VIEW` (see :func:`stage_view`).
    :param data_files: ``{host path: path inside}`` of data handed to probes (read-only).
    :param env: the environment inside (nothing else of ours gets through).
    :param seccomp_fd: an open file holding :func:`seccomp_filter`, for bwrap to install.
    """
    args = [binary,
            "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--uid", "65534", "--gid", "65534", "--hostname", "nncheck",
            # the worker is PID 1: the kernel ignores signals sent to it from inside
            "--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    for key, value in (env or {}).items():
        args += ["--setenv", key, value]
    args += _system_mounts()
    # the private /tmp first: what follows may live under the host's /tmp (a venv, --data)
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
             "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    roots = python_roots()
    for root in roots:
        args += ["--ro-bind", root, root]
    mounted = ["/usr", *roots]
    empty = view / ".empty"
    if not empty.exists():
        empty.write_text("")
    for path in grader_paths():  # cover nncheck and plugin packages that live in mounted folders
        if _is_under(path, mounted):
            if os.path.isdir(path):
                args += ["--tmpfs", path, "--remount-ro", path]
            elif os.path.exists(path):
                args += ["--ro-bind", str(empty), path]
    args += ["--ro-bind", str(view), VIEW]
    for host, inside in (data_files or {}).items():
        args += ["--ro-bind", host, inside]
    args += ["--size", str(SCRATCH_BYTES), "--tmpfs", SCRATCH,
             "--size", str(OUTPUT_BYTES), "--tmpfs", OUTPUT,
             # nothing else is writable: not the root tmpfs bwrap builds the view in, not /dev
             "--remount-ro", "/dev", "--remount-ro", "/",
             "--chdir", SCRATCH, "--", *argv]
    return args


# --------------------------------------------------------------------------
# Seccomp: no ptrace inside the sandbox
# --------------------------------------------------------------------------
# (audit arch, ptrace, process_vm_readv, process_vm_writev, x32 syscall bit or None)
_SYSCALLS = {
    "x86_64": (0xC000003E, 101, 310, 311, 0x40000000),
    "aarch64": (0xC00000B7, 117, 270, 271, None),
}


def seccomp_filter(machine: str | None = None) -> bytes | None:
    """A classic-BPF seccomp program for bwrap's ``--seccomp``, or ``None`` for an
    architecture it does not know.

    It fails ``ptrace``, ``process_vm_readv`` and ``process_vm_writev`` with
    ``EPERM`` (no process in the sandbox can trace or read another), and every
    system call made through a foreign ABI (x32, or 32-bit calls on a 64-bit
    kernel, whose numbers differ). Everything else is allowed: the namespaces,
    not this filter, are the sandbox.
    """
    import platform
    import struct

    numbers = _SYSCALLS.get(machine or platform.machine())
    if numbers is None:
        return None
    arch, *denied, x32 = numbers
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    program = [("ld", 4), ("arch", arch), ("ld", 0)]
    if x32 is not None:
        program.append(("ge", x32))
    program += [("eq", n) for n in denied]
    body = []
    for i, (op, k) in enumerate(program):
        to_deny = len(program) - i  # instructions to skip to reach the deny return
        if op == "ld":
            body.append((ld_abs, 0, 0, k))
        elif op == "arch":
            body.append((jeq, 0, to_deny, k))          # another ABI: deny
        elif op == "ge":
            body.append((jge, to_deny, 0, k))
        else:
            body.append((jeq, to_deny, 0, k))
    body += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return b"".join(struct.pack("=HBBI", *ins) for ins in body)


def worker_argv(python: str | None = None) -> list[str]:
    """The interpreter command that starts the worker inside the sandbox.

    ``-I -S``: no user site, no ``PYTHONPATH``, no ``.pth`` files run; the
    view and the library folders are put on ``sys.path`` explicitly.
    """
    path = [VIEW, *site_dirs()]
    boot = (f"import sys; sys.path[:0] = {path[:1]!r}; sys.path += {path[1:]!r}; "
            "from nncheck.worker.loop import main; main()")
    return [python or os.path.realpath(sys.executable), "-I", "-S", "-c", boot]


# --------------------------------------------------------------------------
# A cgroup per sandbox: processes and memory for the whole sandbox
# --------------------------------------------------------------------------
CGROUP_ROOT = Path("/sys/fs/cgroup")
PIDS_MAX = 64                    # processes and threads in one sandbox, all together
MEMORY_OVERHEAD_MB = 768         # the worker's own memory (Python, NumPy, MNIST) on top of --memory


def _own_v2_cgroup() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return CGROUP_ROOT / line[3:].lstrip("/")
    except OSError:
        pass
    return None


class Cgroup:
    """A cgroup holding one sandbox, with ``pids.max`` and a memory limit.

    ``RLIMIT_NPROC`` does not bind a sandbox started by root (the kernel
    exempts root's processes, and root is who they are outside their user
    namespace), so where this machine lets us, a fork storm meets a cgroup
    instead. Tried in order: a child of our own cgroup v2, then the v1
    ``pids`` and ``memory`` hierarchies. :meth:`create` returns ``None`` when
    none can be made (an ordinary user without delegation: there the rlimits
    apply).
    """

    def __init__(self, dirs: list[Path], kind: str):
        self.dirs = dirs
        self.kind = kind

    @classmethod
    def create(cls, name: str, memory_mb: int) -> "Cgroup | None":
        memory = (memory_mb + MEMORY_OVERHEAD_MB) * 1024 * 1024 if memory_mb > 0 else 0
        own = _own_v2_cgroup()
        if own is not None and (CGROUP_ROOT / "cgroup.controllers").exists():
            made = cls._make([(own / name, {"pids.max": PIDS_MAX, "memory.max": memory})], "cgroup v2")
            if made:
                return made
        return cls._make([(CGROUP_ROOT / "pids" / name, {"pids.max": PIDS_MAX}),
                          (CGROUP_ROOT / "memory" / name, {"memory.limit_in_bytes": memory})], "cgroup v1")

    @classmethod
    def _make(cls, plan, kind) -> "Cgroup | None":
        """Make each ``(folder, settings)``; the first is required, later ones optional."""
        made = []
        try:
            for i, (folder, settings) in enumerate(plan):
                if not folder.parent.is_dir():
                    if i == 0:
                        return None
                    continue
                folder.mkdir()
                made.append(folder)
                for key, value in settings.items():
                    if value:
                        (folder / key).write_text(str(value))
        except OSError:
            cls(made, kind).remove()
            return None
        return cls(made, kind)

    def enter(self, argv: list[str]) -> list[str]:
        """``argv`` prefixed so that it runs inside this cgroup from its first instruction."""
        procs = " ".join(f"'{d / 'cgroup.procs'}'" for d in self.dirs)
        script = f'for f in {procs}; do echo $$ > "$f" || exit 97; done; exec "$@"'
        return ["/bin/sh", "-c", script, "nncheck-sandbox", *argv]

    def remove(self) -> None:
        """Kill what is left in the cgroup and remove it."""
        import signal
        import time

        for folder in self.dirs:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


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
