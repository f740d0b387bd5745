# ---- attack 6: symbolic and hard links in the submission folder ----
# The folder handed in holds links to files outside it (/etc/passwd, the
# repository's reference, a host file, the reference folder) and a hard link to
# a host file. The attack lists what it got, reads every entry it can, and
# writes through each link, at load time and inside ReLU.backward.


def _link_attack(tag):
    for name in sorted(_os.listdir(".")):
        try:
            st = _os.lstat(name)
        except OSError as exc:
            _emit("ENTRY", tag, name, "lstat", type(exc).__name__, key=True)
            continue
        kind = "link" if _stat.S_ISLNK(st.st_mode) else "dir" if _stat.S_ISDIR(st.st_mode) else "file"
        _emit("ENTRY", tag, name, kind, st.st_nlink, _readlink(name) if kind == "link" else "", key=True)
    for name in _P["read_names"]:
        for path in (name, _os.path.join(name, "loss.py")):
            try:
                with open(path, "rb") as f:
                    data = f.read(4000)
                _emit("READ", tag, path, repr(data.decode("utf-8", "replace")), key=True)
            except OSError as exc:
                _emit("READ-FAIL", tag, path, type(exc).__name__, key=True)
    # Writing goes only through links to the test's own copies (never /etc/passwd
    # or the repository, should a link ever reach the worker).
    for name in _P["write_names"]:
        for path in (name, _os.path.join(name, "loss.py")):
            try:  # append without creating: only an existing link or file is written through
                fd = _os.open(path, _os.O_WRONLY | _os.O_APPEND)
                try:
                    _os.write(fd, f"\n{_P['marker']}-{tag}\n".encode())
                finally:
                    _os.close(fd)
                _emit("WROTE-THROUGH", tag, path, key=True)
            except OSError as exc:
                _emit("WRITE-FAIL", tag, path, type(exc).__name__, key=True)
    # The same files by their host paths, as given in the links.
    for path in _P["host_paths"]:
        data = _read(path, 4000)
        _emit("HOST-READ", tag, path, repr(data.decode("utf-8", "replace")) if data else None, key=True)
    _emit("ATTACK-DONE", tag, key=True)
    return True


_ATTACK_RESULT = _link_attack("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _link_attack("probe"))
