"""What does pointing at the line cost? Grading with and without it, and the pointer alone.

Pointing (nncheck.point) runs in the grading process after the
last check, on failed checks only; the budget is 0.5 s per submission. For
each subject, grades --runs times with pointing and --runs times without
(interleaved, same engine), and prints the median grading time of each, their
ratio, and the time the pointer itself took (median and worst of the runs, and
of --repeat re-runs of the pointer alone on the same records, which is free of
the grading noise).

Subjects: the reference (nothing fails: pointing costs nothing), the original
notebook of the assignment (its author's bugs), a notebook with a bug in every
core family at once (many failed checks to point at), and one with a bug in
every option and bonus family (the optimizers', dropout's and batch norm's
pointers, and the fallbacks).

    python benchmarks/bench_pointing.py [--runs 3] [--repeat 20]
"""
from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import nncheck.point as pointing
from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.variants import REFERENCE_DIR, Variant, as_notebook

REPO = Path(__file__).resolve().parents[1]

# One bug per core family, as the selftest mutants make them (non-overlapping edits).
MANY_BUGS = Variant("bench-many-bugs", "mutant", "dense", edits=[
    ("layers.py", "return grad_output * (input > 0)", "return grad_output"),
    ("layers.py", "return np.dot(input.T, grad_output), grad_output.sum(axis=0)",
     "return np.dot(input.T, grad_output) / len(input), grad_output.mean(axis=0)"),
    ("layers.py", "self.weights = np.random.randn(input_units, output_units) * 0.01",
     "self.weights = np.random.randn(input_units, output_units)"),
    ("loss.py", "return (softmax - ones_for_answers) / logits.shape[0]", "return softmax - ones_for_answers"),
    ("loss.py", "return -_log_softmax(logits)[rows, reference_answers]",
     "return -_log_softmax(logits)[rows, reference_answers].mean()"),
    ("network.py", "for i in reversed(range(len(network))):", "for i in range(len(network)):"),
    ("network.py", "return forward(network, X)[-1].argmax(axis=-1)", "return forward(network, X)[-1].argmax(axis=0)"),
    ("network.py", "yield inputs[excerpt], targets[excerpt]", "yield inputs[excerpt], targets[start:start + batchsize]"),
])


# One bug per option and bonus family (the pointers of nncheck.plugins.*.diagnoses beyond the core).
OPTION_BUGS = Variant("bench-option-bugs", "mutant", "xavier", edits=[
    ("options.py", "self.weights = np.random.randn(input_units, output_units) * std", "pass"),
    ("options.py", "return grad_weights + 2.0 * self.alpha * self.weights, grad_biases", "return grad_weights, grad_biases"),
    ("options.py", "self.weights = self.weights + self.velocity_weights", "self.weights = self.weights - self.velocity_weights"),
    ("options.py", "self.cache_weights = d * self.cache_weights + (1 - d) * grad_weights ** 2",
     "self.cache_weights = self.cache_weights + (1 - d) * grad_weights ** 2"),
    ("options.py", "        c1 = 1 - b1 ** self.t\n        c2 = 1 - b2 ** self.t\n", "        c1 = 1.0\n        c2 = 1.0\n"),
    ("regularization.py", "self.mask = keep / (1.0 - self.p)", "self.mask = keep.astype(float)"),
    ("regularization.py", "self.gamma = self.gamma - self.learning_rate * grad_gamma",
     "new_gamma = self.gamma - self.learning_rate * grad_gamma"),
])


class Timed:
    """Wraps :func:`nncheck.point.point_records`: records its time and its inputs; ``enabled=False``
    grades without pointing."""

    def __init__(self):
        self.real = pointing.point_records
        self.enabled = True
        self.times: list[float] = []
        self.last = None

    def __call__(self, records, checks, plan, defs, **kw):
        if not self.enabled:
            return 0.0
        self.last = (copy.deepcopy(records), checks, plan, defs, kw)
        t = self.real(records, checks, plan, defs, **kw)
        self.times.append(t)
        return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    engine = Engine(Config(), entry_points=False)
    timed = Timed()
    pointing.point_records = timed  # the session looks it up here at each grade
    core = ["relu", "dense", "loss", "network", "minibatches"]
    options = ["xavier", "l2", "momentum", "rmsprop", "adam", "dropout", "batchnorm"]
    with tempfile.TemporaryDirectory() as scratch:
        subjects = {
            "reference (nothing fails)": (REFERENCE_DIR, None),
            "original notebook": (REPO / "examples" / "submissions" / "original_notebook.ipynb", None),
            "notebook, a bug in every core family": (as_notebook(MANY_BUGS).materialise(Path(scratch)), core),
            "notebook, a bug in every option family": (as_notebook(OPTION_BUGS).materialise(Path(scratch)), options),
        }
        engine.grade(REFERENCE_DIR, only=["relu"])  # warm up
        print(f"{'subject':<40} {'failed':>6} {'pinned':>6} {'with':>8} {'without':>8} {'ratio':>6} "
              f"{'pointer (median / worst)':>26} {'alone':>8}")
        for label, (path, only) in subjects.items():
            with_s, without_s = [], []
            timed.times = []
            report = None
            for _ in range(args.runs):
                for enabled in (True, False):
                    timed.enabled = enabled
                    t0 = time.perf_counter()
                    rep = engine.grade(path, only=only)
                    (with_s if enabled else without_s).append(time.perf_counter() - t0)
                    if enabled:
                        report = rep
            failed = [c for c in report.checks if str(c.status) == "failed"]
            pinned = sum(1 for c in failed if any(w.get("pinned") for w in c.where))
            alone = []
            if timed.last is not None:
                records, checks, plan, defs, kw = timed.last
                for _ in range(args.repeat):
                    fresh = copy.deepcopy(records)
                    alone.append(timed.real(fresh, checks, plan, defs, **{**kw, "budget_s": 1e9}))
            med_w, med_o = statistics.median(with_s), statistics.median(without_s)
            ptr = f"{statistics.median(timed.times) * 1000:.1f} / {max(timed.times) * 1000:.1f} ms" if timed.times else "-"
            solo = f"{statistics.median(alone) * 1000:.1f} ms" if alone else "-"
            print(f"{label:<40} {len(failed):>6} {pinned:>6} {med_w:>7.2f}s {med_o:>7.2f}s {med_w / med_o:>6.3f} "
                  f"{ptr:>26} {solo:>8}")
            timed.last = None
    pointing.point_records = timed.real


if __name__ == "__main__":
    main()
