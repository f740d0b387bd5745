# ---- attack 5: writes outside the scratch copy ----
# Creates marker files in /tmp, /var/tmp, $HOME, the host's home, /dev/shm, the
# original submission's folder, the repository, its reference/ and site-packages
# (a .pth file there would run in every later grading process; this one only
# holds a comment), and appends to the original submission: at load time and
# inside ReLU.backward.
import sysconfig as _sysconfig


def _write_attack(tag):
    name = f"{_P['marker']}-{tag}"
    targets = list(_P["targets"]) + [_os.environ.get("HOME", "/nonexistent"),
                                     _os.path.expanduser("~"), _os.path.dirname(_os.getcwd())]
    if _P.get("site_packages"):
        targets.append(_sysconfig.get_paths()["purelib"])
    for folder in targets:
        path = _os.path.join(folder, name + (".pth" if "site-packages" in folder else ""))
        try:
            with open(path, "w") as f:
                f.write("# " + name + "\n")
            _emit("WROTE", tag, path, key=True)
        except OSError as exc:
            _emit("WRITE-FAIL", tag, path, type(exc).__name__, key=True)
    victim = _P.get("append_to")
    if victim:
        try:
            with open(victim, "a") as f:
                f.write("\n# " + name + "\n")
            _emit("APPENDED", tag, victim, key=True)
        except OSError as exc:
            _emit("APPEND-FAIL", tag, victim, type(exc).__name__, key=True)
    _emit("ATTACK-DONE", tag, key=True)
    return True


_ATTACK_RESULT = _write_attack("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _write_attack("probe"))
