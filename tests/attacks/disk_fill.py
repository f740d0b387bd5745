# ---- attack 8: fill the disk ----
# At load time, writes 16 MB files into each of _P["places"] ("." is the scratch
# folder, "$HOME" the home) until a write fails (at most cap_bytes per place, so
# that an unprotected run cannot really fill the test host), then frees one file
# per place (so that its own report can still be written) and leaves the rest
# where it is (or, with free_all, frees everything: a measurement of the limits).
import errno as _errno

_CHUNK = b"\xa5" * 16_000_000   # just under the worker's 16 MB RLIMIT_FSIZE


def _fill(folder):
    written, files, error = 0, [], None
    index = 0
    while written < _P["cap_bytes"]:
        path = _os.path.join(folder, f"fill-{_P['marker']}-{index}.bin")
        index += 1
        try:
            with open(path, "wb") as f:
                f.write(_CHUNK)
            files.append(path)
            written += len(_CHUNK)
        except OSError as exc:
            files.append(path)
            error = _errno.errorcode.get(exc.errno, str(exc.errno))
            if exc.errno != _errno.EFBIG:
                break
    return written, files, error


def _disk_attack():
    places = [_os.getcwd() if p == "." else _os.environ.get("HOME", "/tmp") if p == "$HOME" else p
              for p in _P["places"]]
    seen = set()
    results = []
    for folder in places:
        real = _os.path.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        t0 = _time.monotonic()
        written, files, error = _fill(folder)
        results.append((folder, written, error, files, _time.monotonic() - t0))
    for folder, written, error, files, secs in results:
        for path in files if _P.get("free_all") else files[-2:]:
            try:
                _os.remove(path)
            except OSError:
                pass
        _emit("FILLED", folder, "bytes=%d" % written, "error=%s" % error,
              "capped=%s" % (written >= _P["cap_bytes"]), "seconds=%.1f" % secs, key=True)
    _emit("ATTACK-DONE", "load", key=True)
    return True


_ATTACK_RESULT = _disk_attack()
