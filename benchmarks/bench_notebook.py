"""What does checking from a notebook cost? ``%nncheck`` in a live kernel vs ``nncheck submit``.

One kernel (ipykernel in this interpreter, started by nbclient) runs the
student's code (the reference with the bias gradient averaged), then, run
after run, ``%nncheck SCOPE`` timed from inside the kernel (history to a
notebook, the separate ``nncheck submit`` process, the inline HTML). The
baseline is ``nncheck submit`` on the same code, saved as the notebook the
magic writes, started as a command (as a student would from a terminal),
interleaved run by run so a busy machine slows both alike. Prints the
median of each and the difference, for the dense family and for every check.

    python benchmarks/bench_notebook.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nncheck.selftest.conventions import reference_source
from nncheck.classroom.jupyter import session_notebook

SCOPES = {"dense": "dense", "everything": ""}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    code = reference_source().replace("grad_output.sum(axis=0)", "grad_output.mean(axis=0)", 1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = tmp / "kernels" / "bench"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "bench", "language": "python"}))
        os.environ["JUPYTER_PATH"] = str(tmp)
        saved = tmp / "same_code.ipynb"
        saved.write_text(json.dumps(session_notebook([(1, "import numpy as np"), (2, code)])))
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("import numpy as np"), nbformat.v4.new_code_cell(code),
                    nbformat.v4.new_code_cell("%load_ext nncheck")]
        client = NotebookClient(nb, kernel_name="bench", timeout=600, resources={"metadata": {"path": str(tmp)}})
        times: dict[str, dict[str, list[float]]] = {s: {"magic": [], "submit": []} for s in SCOPES}
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                client.execute_cell(cell, i)
            for _ in range(args.runs):
                for scope, only in SCOPES.items():
                    cell = nbformat.v4.new_code_cell(
                        f"import time as _t\n_t0 = _t.perf_counter()\n%nncheck {only}\n"
                        "print('ELAPSED', _t.perf_counter() - _t0)")
                    nb.cells.append(cell)
                    client.execute_cell(cell, len(nb.cells) - 1)
                    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
                    html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
                    assert "nncheck-nb" in html and "dense-bias-grad-mean" in html, html[:500]
                    times[scope]["magic"].append(float(text.split("ELAPSED")[1].split()[0]))
                    cmd = ["nncheck", "submit", str(saved), "--format", "text", "--quiet"]
                    if only:
                        cmd += ["--check", only]
                    t0 = time.perf_counter()
                    subprocess.run(cmd, capture_output=True, check=False)
                    times[scope]["submit"].append(time.perf_counter() - t0)
    print(f"median of {args.runs} runs, same code, interleaved")
    print(f"{'scope':<12}{'%nncheck':>10}{'submit':>10}{'added':>9}")
    for scope, t in times.items():
        m, s = statistics.median(t["magic"]), statistics.median(t["submit"])
        print(f"{scope:<12}{m:>9.2f}s{s:>9.2f}s{m - s:>+8.2f}s")


if __name__ == "__main__":
    main()
