"""What does option discovery cost a submission? Target: at most 0.3 s (discovery and fingerprinting together).

Three figures, each the median of ``--runs`` runs:

  * the static scan (grader side, every submission): on the reference as one
    file, on the notebook form of the reference, on every option fixture of
    tests/fixtures/options, and on a notebook three times the size of a real
    one (60 code cells, each with a Dense and a subclass);
  * the confirmation a discovered form gets before it is graded (worker side,
    once per option probe, only for forms found by a weak clue), measured in
    process on forms of the fixture corpus, times the number of probes of
    each family;
  * end to end: ``Engine.grade`` of the reference (canonical names, so no
    form is found) with discovery on and with the scan replaced by an empty
    one, interleaved run by run; the difference is what every submission pays.

    python benchmarks/bench_discovery.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nncheck.discover import scan as discovery  # the module: the benchmark swaps its scan out
from nncheck.worker import forms as discover_probes
from nncheck.config import Config
from nncheck.engine import Engine

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "options"
sys.path.insert(0, str(REPO / "tests"))
from test_discovery_fixtures import compose  # noqa: E402  (the fixtures as the tests compose them)
PROBES_PER_FAMILY = {"xavier": 3, "l2": 2, "momentum": 4, "rmsprop": 4, "adam": 4}  # experiment re-runs traj


def median_time(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-discovery-"))
    from nncheck.plugins.forms import _notebook, _single_file

    (tmp / "reference.py").write_text(_single_file())
    (tmp / "reference.ipynb").write_text(_notebook())
    body = (FIXTURES / "xavier_flag_initialization.py").read_text()
    cells = [{"cell_type": "code", "source": body + f"\nclass Extra{i}(Dense):\n    pass\n"} for i in range(60)]
    (tmp / "big.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                               "nbformat_minor": 5}))
    print("static scan (median of %d):" % args.runs)
    for name in ("reference.py", "reference.ipynb", "big.ipynb"):
        print(f"  {name:<28} {median_time(lambda: discovery.scan(tmp / name), args.runs) * 1000:8.2f} ms")
    worst_scan, worst_confirm = 0.0, 0.0
    confirms = []
    for fixture in sorted(FIXTURES.glob("[!_]*.py")):
        path = tmp / fixture.name
        path.write_text(compose(fixture))
        worst_scan = max(worst_scan, median_time(lambda: discovery.scan(path), args.runs))
        found = discovery.scan(path)
        ns: dict = {}
        exec(compile(path.read_text(), str(path), "exec"), ns)  # our own fixture code, in process
        for option, form in found.forms.items():
            if form.get("confirm") not in ("behaves", "fallback") or option not in PROBES_PER_FAMILY:
                continue

            def run(form=form):
                try:
                    discover_probes.confirm(ns, form)
                except discover_probes.Unconfirmed:
                    pass
            t = median_time(run, args.runs) * PROBES_PER_FAMILY[option]
            confirms.append((fixture.stem, option, t))
            worst_confirm = max(worst_confirm, t)
    print(f"  slowest fixture ({len(list(FIXTURES.glob('[!_]*.py')))} fixtures) {worst_scan * 1000:8.2f} ms")
    print("in-sandbox candidate selection per submission (every option's ranked list, once per option probe):")
    selection = []
    for fixture in sorted(FIXTURES.glob("[!_]*.py")):
        path = tmp / fixture.name
        found = discovery.scan(path)
        ns = {}
        try:
            exec(compile(path.read_text(), str(path), "exec"), ns)  # our own fixture code, in process
        except Exception:  # a notebook fixture's cells (markdown markers) run as one file may not load
            continue
        forms = {o: found.tried(o) for o in set(found.forms) | set(found.behaviour) if o in PROBES_PER_FAMILY}

        def select_all(forms=forms, ns=ns):
            total = 0.0
            for option, form in forms.items():
                discover_probes._SELECTED.clear()
                t0 = time.perf_counter()
                try:
                    discover_probes.select(ns, form)
                except Exception:  # noqa: BLE001 - unconfirmed, or the student's error
                    pass
                total += (time.perf_counter() - t0) * PROBES_PER_FAMILY[option]
            return total
        select_all()
        t = statistics.median(select_all() for _ in range(args.runs))
        selection.append((t, fixture.stem, len(forms)))
    selection.sort(reverse=True)
    for t, stem, n in selection[:8]:
        print(f"  {stem:<44} {n} options {t * 1000:8.2f} ms")
    print(f"  median over {len(selection)} fixtures {statistics.median(t for t, _, _ in selection) * 1000:8.2f} ms, "
          f"slowest {selection[0][0] * 1000:8.2f} ms (target: scan + selection <= 300 ms)")
    print("confirmation per submission (one per option probe):")
    for stem, option, t in confirms:
        print(f"  {stem:<44} {option:<9} {t * 1000:8.2f} ms")

    engine = Engine(Config(), entry_points=False)
    import nncheck.engine as engine_module

    real_scan = engine_module.scan
    on, off = [], []
    only = ["relu", "dense"]  # short checks: the difference is not lost in the experiments' noise
    for _ in range(args.runs):
        for arm in ("on", "off"):
            if arm == "off":
                engine_module.scan = lambda *a, **k: discovery.OptionsFound()
            t0 = time.perf_counter()
            engine.grade(tmp / "reference.py", only=only)
            (on if arm == "on" else off).append(time.perf_counter() - t0)
            engine_module.scan = real_scan
    d_on, d_off = statistics.median(on), statistics.median(off)
    print(f"end to end ({', '.join(only)}), reference, interleaved: discovery on {d_on:.3f} s, "
          f"off {d_off:.3f} s, added {d_on - d_off:+.3f} s")
    # a core-only submission, every option family asked for: each option's checks now run in the sandbox
    # to try the core Dense and every switch value (before, they were skipped without running)
    core_only = tmp / "core_only.py"
    core_only.write_text(compose(FIXTURES / "xavier_flag_initialization.py").split("class Dense(")[0]
                         + (FIXTURES / "_dense.py").read_text())
    fams = ["xavier", "l2", "momentum", "rmsprop", "adam"]
    on, off = [], []
    for _ in range(args.runs):
        for arm in ("on", "off"):
            if arm == "off":
                engine_module.scan = lambda *a, **k: discovery.OptionsFound()
            t0 = time.perf_counter()
            engine.grade(core_only, only=fams)
            (on if arm == "on" else off).append(time.perf_counter() - t0)
            engine_module.scan = real_scan
    c_on, c_off = statistics.median(on), statistics.median(off)
    print(f"end to end (option families), a core-only submission, interleaved: discovery on {c_on:.3f} s, "
          f"off {c_off:.3f} s, added {c_on - c_off:+.3f} s")
    worst = worst_scan + worst_confirm * 2  # at most two discovered options graded by weak clues
    print(f"worst case added per submission (slowest scan + two confirmed options): {worst:.3f} s "
          f"(target 0.3 s): {'OK' if worst <= 0.3 else 'OVER'}")


if __name__ == "__main__":
    main()
