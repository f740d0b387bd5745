"""The ``bwrap`` command line: the whole list of what the sandbox sees.

:func:`bwrap_command` builds it (read it there: what is not in it is not
inside), :func:`seccomp_filter` is the filter bwrap installs (no ``ptrace``),
and :func:`worker_argv` the interpreter command that starts the worker in it.
"""
from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from nncheck.sandbox.view import VIEW, grader_paths, is_under

SCRATCH = "/submission"          # the submission's scratch copy, inside the sandbox
TMP_BYTES = 256 * 1024 * 1024    # size of the private /tmp
SCRATCH_BYTES = 256 * 1024 * 1024  # the submission's files and what it writes next to them
OUTPUT = "/run/nncheck"          # where the worker captures what the submission prints
OUTPUT_BYTES = 64 * 1024 * 1024
SHM_BYTES = 16 * 1024 * 1024     # /dev/shm (POSIX semaphores, shared memory)
NPROC = 32                       # processes (threads included) the sandbox's user may have


# --------------------------------------------------------------------------
# The interpreter's folders
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


# --------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------
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
        if is_under(path, mounted):
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
