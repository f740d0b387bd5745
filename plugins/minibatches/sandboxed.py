"""minibatches: the worker-side half of the family (runs in the sandbox).

Probes call the student's code and return plain data; they import only
NumPy, the standard library and nncheck's worker-side helpers, never a
reference or a verdict.
"""
import numpy as np
from nncheck.probes import call_as_assignment, reports_conventions

CONTRACT = "iterate_minibatches(inputs, targets, batchsize, shuffle=False)"


def _arr(value):
    try:
        return np.array(value, dtype=np.float64)
    except Exception:
        return f"a {type(value).__name__}"


def _batch(item):
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        what = f"a {type(item).__name__}"
        if isinstance(item, (tuple, list)):
            what += f" of length {len(item)}"
        return {"bad": what}
    return {"x": _arr(item[0]), "y": _arr(item[1])}


def _one_pass(fn, run):
    X, y = run["X"].copy(), run["y"].copy()
    gen = call_as_assignment(fn, "iterate_minibatches", CONTRACT, X, y, int(run["batchsize"]), bool(run["shuffle"]))
    if gen is None:
        return {"error": "returned None instead of a generator"}
    try:
        it = iter(gen)
    except TypeError:
        return {"error": f"returned a {type(gen).__name__}, which cannot be iterated"}
    cap = 2 * len(X) + 10
    batches, truncated = [], False
    for item in it:
        if len(batches) >= cap:
            truncated = True
            break
        batches.append(_batch(item))
    return {"batches": batches, "truncated": truncated}


@reports_conventions
def probe_minibatches(ns, inputs):
    fn = ns["iterate_minibatches"]
    return {"runs": [[_one_pass(fn, run) for _ in range(int(run["passes"]))] for run in inputs["runs"]]}
