"""What does the feedback cost? Size of the HTML report and rendering time against grading.

For the reference and a buggy submission (the reference with dW divided by
the batch), grades once, then renders each format --runs times and prints
the median render time as a ratio to the grading time measured in the same
run, and the size of each output.

    python benchmarks/bench_report.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.variants import REFERENCE_DIR, mutant

BUGGY = mutant("bench-dw-mean", "dense", None, "layers.py",
               "return np.dot(input.T, grad_output), grad_output.sum(axis=0)",
               "return np.dot(input.T, grad_output) / len(input), grad_output.sum(axis=0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = Engine(Config(), entry_points=False)
    with tempfile.TemporaryDirectory() as scratch:
        subjects = {"reference": REFERENCE_DIR, "buggy (dW / batch)": BUGGY.materialise(Path(scratch))}
        engine.formats["html"](engine.grade(REFERENCE_DIR, only=["relu"]))  # warm: matplotlib, jinja2
        for label, path in subjects.items():
            t0 = time.perf_counter()
            report = engine.grade(path)
            grade_s = time.perf_counter() - t0
            print(f"{label}: graded in {grade_s:.2f} s, score {report.score:g}/{report.max_score:g}")
            for fmt in ("html", "json", "gradescope", "junit"):
                times, text = [], ""
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    text = engine.formats[fmt](report, engine.config)
                    times.append(time.perf_counter() - t0)
                med = statistics.median(times)
                print(f"  {fmt:<10} {len(text.encode()) / 1024:7.0f} KiB  render {med:.3f} s "
                      f"= {med / grade_s:.3f} x grading")


if __name__ == "__main__":
    main()
