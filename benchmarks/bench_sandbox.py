"""What does the sandbox cost? `nncheck submit` under bubblewrap vs a plain worker process.

The baseline is the same grading with ``--isolation process`` (the worker as a
plain separate process), measured in the same run, interleaved run by run so
that a busy machine slows both alike. Prints, per submission and scope (the
core checks a student waits for, and every check):

  * median wall time under each layer, the difference (seconds added per
    submission) and the ratio sandbox / process;
  * the start-up alone: a worker that loads an empty submission.

The targets (issue 9): at most 0.3 s added per submission, at most 10 % on
full grading.

    python benchmarks/bench_sandbox.py [--runs 7]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.sandbox import bubblewrap_problem

REPO = Path(__file__).resolve().parents[1]
CORE = ["relu", "dense", "loss", "network", "minibatches", "training"]


def timed(engine: Engine, path: Path, only) -> float:
    t0 = time.perf_counter()
    report = engine.grade(path, only=only)
    elapsed = time.perf_counter() - t0
    assert report.isolation["layer"] == engine.isolation.layer
    return elapsed


def compare(engines: dict, path: Path, only, runs: int) -> dict:
    times = {layer: [] for layer in engines}
    for _ in range(runs):
        for layer, engine in engines.items():  # interleaved: noise hits both
            times[layer].append(timed(engine, path, only))
    return {layer: statistics.median(t) for layer, t in times.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="runs per layer and case (median reported)")
    args = ap.parse_args(argv)
    problem = bubblewrap_problem()
    if problem:
        raise SystemExit(f"no sandbox to measure: {problem}")
    engines = {layer: Engine(Config(), entry_points=False, isolation=layer)
               for layer in ("process", "bubblewrap")}
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.py"
        empty.write_text("x = 1\n")
        cases = [
            ("start-up only (empty submission, one check)", empty, ["relu.forward"]),
            ("reference, core checks", REPO / "reference", CORE),
            ("reference, every check", REPO / "reference", None),
            ("template (stubs), every check", REPO / "student_template", None),
        ]
        for engine in engines.values():  # warm the OS caches and our imports once
            engine.grade(REPO / "reference", only=["relu"])
        print(f"{'case':<46} {'process':>9} {'sandbox':>9} {'added':>8} {'ratio':>7}")
        for name, path, only in cases:
            m = compare(engines, path, only, args.runs)
            added = m["bubblewrap"] - m["process"]
            print(f"{name:<46} {m['process']:>8.3f}s {m['bubblewrap']:>8.3f}s {added:>+7.3f}s "
                  f"{m['bubblewrap'] / m['process']:>6.3f}x")
    print("\ntargets: added <= 0.300 s per submission; ratio <= 1.10 on full grading")


if __name__ == "__main__":
    main()
