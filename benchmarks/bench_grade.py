"""How long does a class take? Times `nncheck grade` with 1 and 2 jobs against nbclient.

Generates a class of --size submissions (default 40): correct ones (the
reference as a folder and as one .py, correct variants), single-bug mutants
(from the plugins' ``nncheck_selftest_variants``), copies of the original
notebook, and one submission whose ``ReLU.forward`` never returns. Then, in
one run, prints:

  * total wall time of grading the class with 1 job and with 2 jobs, and the
    speed-up ratio;
  * mean time per submission;
  * the baseline nbgrader and otter-grader use: executing each notebook of
    the class end to end with nbclient (one kernel per notebook), against
    nncheck's time on the same notebooks, as a ratio (half the notebooks are
    the original as handed in, whose broken train() stops its training cells
    at once; half have train() fixed, so their 25 + 30 training epochs run);
  * a projected time for a class of 100.

    python benchmarks/bench_grade.py [--size 40] [--notebooks 5] [--keep DIR]

The class-of-100 target (under 3 minutes on 2 cores), graded once with 2 jobs:

    python benchmarks/bench_grade.py --size 100 --two-jobs-only

Grading uses the default config (10 s per check, the training check's own
30 s); the nbclient baseline gives the notebook the 5,000-digit MNIST subset
nncheck ships (the course's own loader would download 60,000 digits), so
the baseline is if anything flattered.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.classroom.grading import grade_class
from nncheck.load.plan import SHIMS_DIR
from nncheck.variants import REFERENCE_DIR

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "submissions" / "original_notebook.ipynb"

HANG = '''

class ReLU(ReLU):
    """Forgets to advance its loop: never returns."""

    def forward(self, input):
        i = 0
        while i < 1:
            pass
'''

# The original notebook's own train() skips the last layer and goes forward (it is graded so);
# its "fixed" copy backpropagates properly, so its training cells run all their epochs.
NOTEBOOK_FIXES = [
    ("    layer_inputs = layer_inputs[:-1]\n"
     "    for input,layer in zip(layer_inputs[:-1],network[:-1]):\n"
     "        grad_output = layer.backward(input,grad_output)\n",
     "    for i in reversed(range(len(network))):\n"
     "        grad_output = network[i].backward(layer_inputs[i], grad_output)\n"),
    ("for layer_i in range(len(network))[:-1]:", "for layer_i in reversed(range(len(network))):"),
]

PREPROCESSED_MNIST = '''"""preprocessed_mnist for the benchmark: the 5,000 MNIST digits nncheck ships, split 3,500/500/1,000."""
import numpy as np

_PATH = {path!r}


def load_dataset(flatten=False):
    d = np.load(_PATH)
    X = d["images"].astype("float32") / 255.0
    y = d["labels"].astype("int64")
    order = np.random.RandomState(0).permutation(len(X))
    X, y = X[order], y[order]
    if flatten:
        X = X.reshape([len(X), -1])
    return X[:3500], y[:3500], X[3500:4000], y[3500:4000], X[4000:], y[4000:]
'''


def fixed_notebook(dest: Path) -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for old, new in NOTEBOOK_FIXES:
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        assert len(cells) == 1, f"the original notebook changed: {old!r}"
        cells[0].source = cells[0].source.replace(old, new)
    nbformat.write(nb, dest)


def build_class(dest: Path, size: int, notebooks: int, engine: Engine) -> dict:
    """Write ``size`` submissions into ``dest``; return {student: kind}."""
    variants = [v for group in engine.pm.hook.nncheck_selftest_variants(config=engine.config)
                for v in group or []]
    mutants = [v for v in variants if v.kind == "mutant" and not v.files]
    # complete submissions only: edits of the reference, or whole files meant for every family
    corrects = [v for v in variants if v.kind == "correct" and (not v.files or not v.families)]
    singles = [v for v in corrects if v.files and len(v.files) == 1 and next(iter(v.files)).endswith(".py")]
    single = next((v for v in singles if v.name == "form-single-py"), singles[0])
    n_correct = max(3, size // 5)
    n_mutants = size - n_correct - notebooks - 1
    if n_mutants < 1:
        raise SystemExit("--size is too small for that many notebooks")
    scratch = Path(tempfile.mkdtemp(prefix="bench-variants-"))
    plan: list[tuple[str, object]] = [("hang", None)]
    plan += [("notebook", None)] * (notebooks - notebooks // 2) + [("notebook-fixed", None)] * (notebooks // 2)
    plan += [("correct", v) for v in ([None, single] + corrects)[:n_correct]]
    step = max(1, len(mutants) // n_mutants)  # spread over every family's mutants
    plan += [("mutant", mutants[(i * step) % len(mutants)]) for i in range(n_mutants)]
    random.Random(0).shuffle(plan)  # the hanging one lands wherever it lands
    kinds = {}
    for i, (kind, v) in enumerate(plan, 1):
        student = f"s{i:03d}"
        kinds[student] = kind if v is None else f"{kind}:{getattr(v, 'name', 'reference')}"
        if kind == "notebook":
            shutil.copy(NOTEBOOK, dest / f"{student}.ipynb")
        elif kind == "notebook-fixed":
            fixed_notebook(dest / f"{student}.ipynb")
        elif kind == "hang":
            path = single.materialise(scratch / student)
            (dest / f"{student}.py").write_text(path.read_text() + HANG)
        elif v is None:
            shutil.copytree(REFERENCE_DIR, dest / student, ignore=shutil.ignore_patterns("__pycache__"))
            kinds[student] = "correct:reference"
        else:
            path = v.materialise(scratch / student)
            if path.is_dir():
                shutil.copytree(path, dest / student)
            else:
                shutil.copy(path, dest / f"{student}{path.suffix}")
    shutil.rmtree(scratch, ignore_errors=True)
    return kinds


def time_grading(subs: Path, out: Path, jobs: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = grade_class(subs, out, jobs=jobs, force=True, quiet=True)
    wall = time.perf_counter() - t0
    reports = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
    assert len(reports) == len(result.graded), "every submission must be graded"
    return wall, reports


def nbclient_baseline(notebooks: list[Path], work: Path) -> list[float]:
    """Execute each notebook end to end in a fresh kernel, as nbgrader/otter do."""
    import nbformat
    from nbclient import NotebookClient

    from nncheck.data import EMBEDDED

    work.mkdir(parents=True, exist_ok=True)
    for name in ("tqdm_utils.py", "download_utils.py", "util.py"):
        shutil.copy(SHIMS_DIR / name, work / name)
    (work / "preprocessed_mnist.py").write_text(PREPROCESSED_MNIST.format(path=str(EMBEDDED)))
    times = []
    for nb_path in notebooks:
        nb = nbformat.read(nb_path, as_version=4)
        client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(work)}})
        t0 = time.perf_counter()
        client.execute()
        times.append(time.perf_counter() - t0)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        print(f"    nbclient {nb_path.name}: {times[-1]:.1f} s"
              f"{f' ({len(errors)} cell(s) raised)' if errors else ''}", flush=True)
    return times


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=40, help="submissions in the class (>= 40 for the report)")
    ap.add_argument("--notebooks", type=int, default=5, help="how many of them are notebooks")
    ap.add_argument("--keep", type=Path, help="build the class and outputs here and keep them")
    ap.add_argument("--skip-nbclient", action="store_true")
    ap.add_argument("--two-jobs-only", action="store_true",
                    help="grade the class once, with 2 jobs (the class-of-100 target: --size 100)")
    args = ap.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-grade-"))
    subs = root / "class"
    if subs.exists():
        shutil.rmtree(subs)
    subs.mkdir(parents=True)
    engine = Engine(Config())
    kinds = build_class(subs, args.size, args.notebooks, engine)
    n = len(kinds)
    counts = {}
    for k in kinds.values():
        counts[k.split(":")[0]] = counts.get(k.split(":")[0], 0) + 1
    print(f"class of {n} submissions: {counts}  ({len(engine.checks)} checks each)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")

    if args.two_jobs_only:
        print("grading with 2 jobs ...", flush=True)
        t2, rep2 = time_grading(subs, root / "out-j2", 2)
        per = [r["duration_s"] for r in rep2.values()]
        hang = [s for s, k in kinds.items() if k == "hang"]
        print(f"\n=== nncheck grade, {n} submissions, 2 jobs ===")
        print(f"wall time:           {t2:7.1f} s ({t2 / 60:.1f} min; target for 100 on 2 cores: 3 min)")
        print(f"per submission:      {t2 / n:.2f} s of wall time; median grading time {statistics.median(per):.2f} s")
        if hang:
            print(f"the hanging submission alone: {rep2[hang[0]]['duration_s']:.1f} s")
        print(f"load average {os.getloadavg()[0]:.2f} at the end of grading")
        return
    print("grading with 1 job ...", flush=True)
    t1, rep1 = time_grading(subs, root / "out-j1", 1)
    print(f"    {t1:.1f} s")
    print("grading with 2 jobs ...", flush=True)
    t2, rep2 = time_grading(subs, root / "out-j2", 2)
    print(f"    {t2:.1f} s")
    same = all([(c["id"], c["status"], c["score"]) for c in rep1[s]["checks"]]
               == [(c["id"], c["status"], c["score"]) for c in rep2[s]["checks"]] for s in rep1)

    per_sub = [r["duration_s"] for r in rep1.values()]
    hang = [s for s, k in kinds.items() if k == "hang"]
    nb_students = sorted(s for s, k in kinds.items() if k.startswith("notebook"))
    nb_nncheck = [rep1[s]["duration_s"] for s in nb_students]

    print()
    print("=== nncheck grade ===")
    print(f"wall time, 1 job:   {t1:7.1f} s")
    print(f"wall time, 2 jobs:  {t2:7.1f} s")
    print(f"speed-up 1 -> 2:    {t1 / t2:7.2f}x   (same statuses and scores in both runs: {same})")
    print(f"mean per submission: {t1 / n:.2f} s of wall time with 1 job, {t2 / n:.2f} s with 2 jobs; "
          f"median grading time {statistics.median(per_sub):.2f} s")
    if hang:
        print(f"the hanging submission alone: {rep1[hang[0]]['duration_s']:.1f} s "
              f"({', '.join(c['id'] for c in rep1[hang[0]]['checks'] if c['status'] == 'timeout')} timed out)")
    proj = t2 / n * 100
    print(f"projected class of 100 on 2 cores: {proj:.0f} s ({proj / 60:.1f} min), scaling this class "
          f"linearly ({100 / n:.1f} hanging submissions)")
    if hang:
        h = rep1[hang[0]]["duration_s"]
        proj1 = (t2 - h / 2) / (n - 1) * 99 + h / 2
        print(f"projected class of 100 with one hanging submission: {proj1:.0f} s ({proj1 / 60:.1f} min)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end of grading")

    if not args.skip_nbclient and nb_students:
        print()
        print("=== baseline: nbclient executes each notebook end to end ===", flush=True)
        nb_times = nbclient_baseline([subs / f"{s}.ipynb" for s in nb_students], root / "nbclient")
        mean_nb, mean_ours = statistics.fmean(nb_times), statistics.fmean(nb_nncheck)
        print(f"nbclient, per notebook:        {mean_nb:6.1f} s")
        print(f"nncheck grade, per notebook:   {mean_ours:6.1f} s  (1 job; every check, isolated worker)")
        print(f"ratio nbclient / nncheck:      {mean_nb / mean_ours:6.2f}x")
        print(f"a class of 100 notebooks with nbclient on 2 cores: {mean_nb * 100 / 2 / 60:.1f} min "
              f"(ideal split), nncheck: {proj / 60:.1f} min")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"\nclass and outputs kept in {root}")


if __name__ == "__main__":
    sys.exit(main())
