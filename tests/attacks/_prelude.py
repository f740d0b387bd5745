# ---- nncheck sandbox attack zoo: shared helpers (tests/attacks/_prelude.py) ----
# Appended to a submission after its honest part and after `_P = {...}` (the
# test's parameters). Everything here runs through module-level assignments and
# definitions only: the loader drops bare top-level calls and loops.
import os as _os
import stat as _stat
import sys as _sys
import time as _time
import re as _re_prelude

_PROC_FILE = _re_prelude.compile(r"^/proc/(\d+|self)/(cmdline|environ|maps|status|mountinfo|comm)$")

_EMITTED = [0]


def _emit(*parts, key=False):
    """One line of evidence for the test. Output is capped at 64 KB per load or check,
    so informative lines stop after 24 KB; ``key`` lines (findings, the final
    ATTACK-DONE) are always printed."""
    line = " ".join(str(p) for p in parts).replace("\n", "\\n")[:600]
    if not key:
        if _EMITTED[0] + len(line) > 24_000:
            return
        _EMITTED[0] += len(line) + 1
    print(line, flush=True)


def _read(path, limit=1 << 20):
    """Bytes of a regular file (or of a /proc/<pid>/ status file), None when it cannot
    be read. Never opens FIFOs, sockets, devices or the rest of /proc and /sys (a read
    there could block)."""
    path = str(path)
    try:
        st = _os.stat(path)
        real = _os.path.realpath(path)
        if real.startswith(("/proc/", "/sys/", "/dev/")) and not _PROC_FILE.match(path):
            return None
        if not (_stat.S_ISREG(st.st_mode) or _PROC_FILE.match(path)):
            return None
        with open(path, "rb") as f:
            return f.read(limit)
    except (OSError, ValueError, OverflowError):
        return None


def _walk(root):
    """os.walk that never descends into /proc, /sys or /dev (however reached)."""
    for dirpath, dirnames, filenames in _os.walk(root):
        try:
            real = _os.path.realpath(dirpath)
        except OSError:
            real = dirpath
        if real.startswith(("/proc", "/sys", "/dev")):
            dirnames[:] = []
            continue
        if real == "/":
            dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev")]
        yield dirpath, dirnames, filenames


def _pids():
    try:
        return sorted(int(n) for n in _os.listdir("/proc") if n.isdigit())
    except OSError:
        return []


def _cmdline(pid):
    data = _read(f"/proc/{pid}/cmdline", 8192) or b""
    return data.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def _readlink(path):
    try:
        return _os.readlink(path)
    except OSError as exc:
        return f"<{type(exc).__name__}>"


def _in_own_pid_namespace():
    """Safety switch for destructive attacks (kill -1, ptrace, fork storm): they only
    run in a PID namespace other than the test host's, so a sandbox that silently
    fell back to a plain process cannot take the test machine down with it."""
    try:
        return _os.readlink("/proc/self/ns/pid") != _P["host_pid_ns"]
    except (OSError, KeyError):
        return False


def _hook_method(cls, name, attack):
    """Make ``cls.name`` run ``attack()`` once per process before doing its honest work."""
    original = getattr(cls, name)
    ran = set()

    def hooked(self, *args, **kwargs):
        if _os.getpid() not in ran:
            ran.add(_os.getpid())
            try:
                attack()
            except BaseException as exc:  # the attack must never cost the honest answer
                _emit("ATTACK-RAISED", type(exc).__name__, exc)
        return original(self, *args, **kwargs)

    setattr(cls, name, hooked)
    return True
