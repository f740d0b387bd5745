# ---- attack 7: a fork storm ----
# Inside ReLU.backward (once per run), every process forks as fast as it can for
# a few seconds; then every child names itself with the marker (prctl, and a few
# re-exec a Python that carries the marker in its argv) and lingers, each in a
# session of its own, so that anything left behind is visible afterwards. Safety
# for the test host: only inside a PID namespace of its own, at most MAX_PROCS
# processes in all (a shared counter), and every child exits by itself after 45 s.
import ctypes as _ctypes
import mmap as _mmap


def _fork_storm():
    flag = ".stormed"
    if _os.path.exists(flag):
        return 0
    open(flag, "w").close()
    if not _in_own_pid_namespace():
        _emit("REFUSED", "not in a PID namespace of its own: would hit the test host", key=True)
        return 0
    shared = _mmap.mmap(-1, 16)          # [made, refused] shared by every process of the storm
    counts = memoryview(shared).cast("i")
    deadline = _time.monotonic() + _P["storm_s"]
    root = _os.getpid()
    try:
        libc = _ctypes.CDLL(None, use_errno=True)
    except OSError:
        libc = None
    index = 0
    while _time.monotonic() < deadline and counts[0] < _P["max_procs"]:
        try:
            pid = _os.fork()
        except OSError:
            counts[1] += 1
            _time.sleep(0.005)
            continue
        if pid == 0:
            counts[0] += 1
            index = counts[0]
            continue
    if _os.getpid() == root:
        made, refused = counts[0], counts[1]
        _emit("STORM", "made=%d" % made, "refused=%d" % refused, "seconds=%.1f" % _P["storm_s"], key=True)
        _emit("ATTACK-DONE", "probe", key=True)
        return made
    # A child of the storm: hide in a session of its own, carry the marker, linger.
    try:
        _os.setsid()
    except OSError:
        pass
    if libc is not None:
        libc.prctl(15, _P["marker"][:15].encode(), 0, 0, 0)  # PR_SET_NAME
    if index % 10 == 1:
        try:
            _os.execv(_sys.executable, [_sys.executable, "-S", "-c", "import time; time.sleep(45)", _P["marker"]])
        except OSError:
            pass
    _time.sleep(45)
    _os._exit(0)


_HOOKED = _hook_method(ReLU, "backward", _fork_storm)
