"""How long does a student wait? Times `nncheck submit` and the cost of isolation.

Prints, for the reference and the template:
  * wall time of the `nncheck submit` command (median of --runs runs);
  * its split into loading, each check family and the training check;
  * the cost of isolation: grading through the worker process vs running the
    same probes and verdicts in this process (the baseline), as a ratio
    measured in the same run.

    python benchmarks/bench_submit.py [--runs 5]

With ``--against REV`` it instead compares this checkout with commit REV, side
by side in one run: REV is checked out into a temporary git worktree and
installed (editable, no dependencies) into a virtual environment of its own
that sees this interpreter's packages, then ``nncheck submit`` of each
submission (every check, then ``--check core`` families) runs with this
checkout and with REV in turn, A B A B ..., and the median of the per-pair
ratios is printed (below 1: this checkout is faster).

    python benchmarks/bench_submit.py --against 22678aa [--runs 5]
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nncheck.data
from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.load.prepare import prepare
from nncheck.model import Fail
from nncheck.worker.loop import _SubmissionFinder

REPO = Path(__file__).resolve().parents[1]
SUBMISSIONS = {"reference": REPO / "reference", "template": REPO / "student_template"}


CORE = ["relu", "dense", "loss", "network", "minibatches", "training"]


def cli_runs(path: Path, runs: int, only=()) -> tuple[list[float], dict]:
    times, report = [], {}
    extra = [arg for family in only for arg in ("--check", family)]
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "nncheck", "submit", str(path), "--format", "json",
                               *extra], capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - t0)
        report = json.loads(proc.stdout)
    return times, report


def in_process(engine: Engine, path: Path) -> float:
    """The baseline: the same load plan and probes, run right here (no isolation at all).

    Starts from a cold dataset cache, as every worker does."""
    nncheck.data._embedded_split.cache_clear()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        plan = prepare(path, Path(scratch) / "sub")
        warnings: list = []
        finder = _SubmissionFinder(plan, warnings)
        sys.meta_path.insert(0, finder)
        try:
            ns: dict = {}
            for name in plan.entry:
                sys.modules.pop(name, None)
                module = importlib.import_module(name)
                ns.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
            for check in engine.checks:
                if any(n not in ns for n in check.requires):
                    continue
                inputs = check.inputs(check.rng(0))
                try:
                    output = check.probe(ns, inputs)
                    check.verdict(inputs, output)
                except (Fail, Exception):
                    pass
        finally:
            sys.meta_path.remove(finder)
            for m in plan.modules:
                sys.modules.pop(m.name, None)
    return time.perf_counter() - t0


def isolated(engine: Engine, path: Path) -> float:
    t0 = time.perf_counter()
    engine.grade(path)
    return time.perf_counter() - t0


@contextlib.contextmanager
def installed_revision(rev: str):
    """The python of a virtual environment with commit ``rev`` of this repository installed."""
    with tempfile.TemporaryDirectory(prefix="nncheck-bench-") as tmp:
        src, venv = Path(tmp) / "src", Path(tmp) / "venv"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(src), rev],
                       check=True, capture_output=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                            "-e", str(src)], check=True, capture_output=True)
            # both sides with their bytecode compiled, as a pip install leaves them (the runs set
            # PYTHONDONTWRITEBYTECODE, so without this each run would compile every module again)
            for tree in (src, REPO):
                subprocess.run([sys.executable, "-m", "compileall", "-q", "-x", r"/(tests|\.git)/", str(tree)],
                               capture_output=True)
            yield venv / "bin" / "python", src
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(src)],
                           capture_output=True)


def timed_submit(python, path: Path, only=(), cwd=REPO) -> float:
    extra = [arg for family in only for arg in ("--check", family)]
    t0 = time.perf_counter()
    proc = subprocess.run([str(python), "-m", "nncheck", "submit", str(path), "--format", "json", "--quiet",
                           *extra], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1) or not proc.stdout.startswith("{"):
        raise SystemExit(f"{python} submit {path} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def solution_notebook(folder: Path) -> Path:
    """The complete solution (every option and the bonus) as a student hands it in: the reference's
    modules, one notebook cell each (:func:`nncheck.variants.as_notebook`)."""
    from nncheck.variants import as_notebook, correct

    return as_notebook(correct("solution"), "solution.ipynb").materialise(folder)


def compare(rev: str, runs: int, only=None) -> None:
    """This checkout against commit ``rev``, interleaved, on the complete solution notebook, the
    example notebook and the reference package."""
    scratch = Path(tempfile.mkdtemp(prefix="nncheck-bench-nb-"))
    submissions = {"solution notebook": solution_notebook(scratch),
                   "example notebook": REPO / "examples" / "submissions" / "original_notebook.ipynb",
                   "reference": REPO / "reference"}
    if only:
        submissions = {k: v for k, v in submissions.items() if k in only}
    with installed_revision(rev) as (old_python, old_src):
        print(f"this checkout (A) against {rev} (B): nncheck submit, {runs} interleaved pairs each\n")
        for label, path in submissions.items():
            for what, only in (("every check", ()), ("core checks", CORE)):
                timed_submit(sys.executable, path, only), timed_submit(old_python, path, only)  # warm-up
                a, b = [], []
                for _ in range(runs):
                    a.append(timed_submit(sys.executable, path, only))
                    b.append(timed_submit(old_python, path, only, cwd=old_src))
                ratios = [x / y for x, y in zip(a, b)]
                print(f"{label:<17} {what:<12} A {statistics.median(a):6.2f} s   B {statistics.median(b):6.2f} s   "
                      f"A/B median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", metavar="REV", help="compare with this commit, installed in a venv of its own")
    parser.add_argument("--submission", action="append", choices=["solution notebook", "example notebook", "reference"],
                        help="with --against: only this submission (repeatable)")
    args = parser.parse_args()
    if args.against:
        compare(args.against, args.runs, args.submission)
        return
    engine = Engine(Config(), entry_points=False)
    print(f"nncheck submit, median of {args.runs} runs (2-core machine)\n")
    for label, path in SUBMISSIONS.items():
        times, report = cli_runs(path, args.runs)
        split: dict[str, float] = defaultdict(float)
        for c in report["checks"]:
            split[c["id"].split(".")[0]] += c["duration_s"]
        median = statistics.median(times)
        core_times, _ = cli_runs(path, args.runs, CORE)
        print(f"{label}: wall {median:.2f} s (min {min(times):.2f}, max {max(times):.2f}); "
              f"score {report['score']:g}/{report['max_score']:g}; "
              f"core checks only: {statistics.median(core_times):.2f} s")
        print(f"  loading (worker start + import)  {report['load']['duration_s']:.3f} s")
        for family, seconds in sorted(split.items(), key=lambda kv: -kv[1]):
            print(f"  {family:<32} {seconds:.3f} s")
        other = median - report["duration_s"]
        print(f"  CLI start-up + plugins + report  {other:.3f} s")
        iso = statistics.median(isolated(engine, path) for _ in range(args.runs))
        base = statistics.median(in_process(engine, path) for _ in range(args.runs))
        print(f"  isolation: {iso:.3f} s isolated vs {base:.3f} s in-process baseline "
              f"= {iso / base:.2f}x ({(iso / base - 1) * 100:+.0f} %)\n")


if __name__ == "__main__":
    main()
