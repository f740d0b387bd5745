"""Minibatch checks: ``iterate_minibatches`` keeps x/y paired, covers the data once,
keeps the order without shuffle and draws a fresh permutation with it.

The data encode their own index: row ``i`` of ``inputs`` is ``[i, 2i, -i, i + 0.5]``
and ``targets[i] = i``, so every yielded row says which sample it is and
whether its label came with it. Sizes are never multiples of the batch size
where that matters, so both accepted behaviours for the last partial batch
(keep it, as the reference does, or drop it, as the original notebook does)
are exercised; one run per check also uses a multiple of the batch size, where
nothing may be dropped.

Probes only iterate the student's generator and send the batches back;
everything is judged here. ``np.random`` is seeded by the worker per probe,
and ``tqdm_utils.tqdm_notebook_failsafe`` is provided by the worker's shims.
"""
import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Fail, Result
from nncheck.plugins.minibatches.diagnoses import DIAGNOSES
from nncheck.plugins.minibatches.sandboxed import (  # noqa: F401 - the worker-side half
    probe_minibatches,
)

WIDTH = 4


def indexed_data(n):
    """``inputs`` ``[n, 4]`` whose row ``i`` is ``[i, 2i, -i, i + 0.5]`` and ``targets = arange(n)``."""
    i = np.arange(n, dtype=np.float64)
    return np.stack([i, 2 * i, -i, i + 0.5], axis=1), np.arange(n, dtype=np.int64)


def _run(n, batchsize, shuffle, passes=1):
    X, y = indexed_data(int(n))
    return {"X": X, "y": y, "batchsize": int(batchsize), "shuffle": bool(shuffle), "passes": int(passes)}


def _sizes(rng):
    """A batch size, a size that is not a multiple of it, and one that is."""
    bs = int(rng.integers(5, 10))
    k = int(rng.integers(5, 8))
    return bs, bs * k + int(rng.integers(1, bs)), bs * (k - 1)


def pairing_inputs(rng):
    bs, n, _ = _sizes(rng)
    return {"runs": [_run(n, bs, True), _run(n, bs, False)]}


def coverage_inputs(rng):
    bs, n, m = _sizes(rng)
    return {"runs": [_run(n, bs, False), _run(n, bs, True), _run(m, bs, False), _run(m, bs, True)]}


def order_inputs(rng):
    bs, n, m = _sizes(rng)
    return {"runs": [_run(n, bs, False), _run(m, bs, False)]}


def shuffling_inputs(rng):
    # ~100 samples: a uniform permutation is the identity (or repeats) with probability ~1/100!
    n = int(rng.choice([89, 97, 99, 101, 103, 105]))
    return {"runs": [_run(n, 8, True, passes=2)]}


# --------------------------------------------------------------------------
# Probe (runs in the worker)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Verdict helpers
# --------------------------------------------------------------------------


def _call(run):
    return (f"iterate_minibatches(inputs, targets, batchsize={run['batchsize']}, "
            f"shuffle={run['shuffle']}) with {len(run['X'])} samples")


def _decode(p, run):
    """The pass as a list of ``(indices from the x rows, labels)``; malformed output fails."""
    call = _call(run)
    if "error" in p:
        raise Fail(Result.failed(f"{call} {p['error']}.",
                                 hint="Make it a generator: `yield x_batch, y_batch` inside the loop."))
    X = run["X"]
    n = len(X)
    if p.get("truncated"):
        raise Fail(Result.failed(f"{call} yielded more than {2 * n + 10} batches without stopping.",
                                 hint="One pass over the data yields about len(inputs) / batchsize batches."))
    batches = []
    for j, b in enumerate(p["batches"]):
        if "bad" in b:
            raise Fail(Result.failed(f"{call}: batch {j} is {b['bad']}, not a pair (x_batch, y_batch).",
                                     hint="yield inputs[excerpt], targets[excerpt]"))
        x, yb = b["x"], b["y"]
        if isinstance(x, str) or isinstance(yb, str):
            raise Fail(Result.failed(f"{call}: batch {j} is not a pair of arrays (got {x if isinstance(x, str) else 'an array'}"
                                     f" and {yb if isinstance(yb, str) else 'an array'}).",
                                     hint="yield inputs[excerpt], targets[excerpt]"))
        if x.ndim == 1 and yb.ndim == 2 and yb.shape[1:] == (WIDTH,):
            raise Fail(Result.failed(f"{call}: batch {j} yields the targets first and the inputs second.",
                                     hint="Yield (x_batch, y_batch) in this order: yield inputs[excerpt], "
                                          "targets[excerpt]."))
        if x.ndim != 2 or x.shape[1] != WIDTH:
            raise Fail(Result.failed(f"{call}: x of batch {j} has shape {x.shape}, expected rows of inputs "
                                     f"(shape (m, {WIDTH})).",
                                     hint="Index the rows: inputs[excerpt] with excerpt an index array or slice."))
        if yb.shape != (len(x),):
            raise Fail(Result.failed(f"{call}: batch {j} has {len(x)} x rows but y of shape {yb.shape}.",
                                     hint="Yield the targets of the same samples: targets[excerpt]."))
        idx = np.rint(x[:, 0]).astype(np.int64) if len(x) else np.zeros(0, dtype=np.int64)
        ok = (idx >= 0) & (idx < n)
        if not ok.all() or not np.allclose(x, X[np.clip(idx, 0, n - 1)], rtol=0, atol=1e-9):
            raise Fail(Result.failed(f"{call}: batch {j} contains x rows that are not rows of inputs.",
                                     hint="Yield rows of inputs unchanged: inputs[excerpt]."))
        batches.append((idx, yb))
    return batches


def _passes(output, inputs):
    """``[(run, [decoded pass, ...]), ...]``."""
    runs = output.get("runs") or []
    if len(runs) != len(inputs["runs"]):
        raise Fail(Result.error("the probe's answer does not match its runs"))
    return [(run, [_decode(p, run) for p in passes]) for run, passes in zip(inputs["runs"], runs)]


def _seq(batches):
    return np.concatenate([idx for idx, _ in batches]) if batches else np.zeros(0, dtype=np.int64)


def _show(values, limit=12):
    values = [int(v) for v in values]
    text = ", ".join(map(str, values[:limit]))
    return f"[{text}{', ...' if len(values) > limit else ''}]"


# --------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------


def verdict_pairing(inputs, output):
    for run, passes in _passes(output, inputs):
        for batches in passes:
            wrong = [(j, i, int(lab)) for j, (idx, yb) in enumerate(batches)
                     for i, lab in zip(idx, yb) if lab != i]
            if not wrong:
                continue
            total = sum(len(idx) for idx, _ in batches)
            j, i, lab = wrong[0]
            labels_in_order = np.array_equal(np.concatenate([yb for _, yb in batches]), np.arange(total))
            how = (" The labels come out in their original order while the inputs are shuffled: only "
                   "inputs are permuted." if labels_in_order and run["shuffle"] else "")
            return Result.failed(
                f"{_call(run)} breaks the pairing of inputs and targets: in batch {j} the input row of sample "
                f"{i} comes with the label of sample {lab} ({len(wrong)} of {total} samples got another "
                f"sample's label).{how}",
                hint="Draw one permutation and index both arrays with it: excerpt = indices[start:start + "
                     "batchsize]; yield inputs[excerpt], targets[excerpt].",
                diagnosis="minibatch-labels-misaligned")
    return Result.passed()


def verdict_coverage(inputs, output):
    for run, passes in _passes(output, inputs):
        n, bs = len(run["X"]), run["batchsize"]
        r = n % bs
        for batches in passes:
            seq = _seq(batches)
            counts = np.bincount(seq, minlength=n)
            repeated = np.flatnonzero(counts > 1)
            if len(repeated):
                return Result.failed(
                    f"{_call(run)} yields some samples more than once in one pass: sample {repeated[0]} appears "
                    f"{counts[repeated[0]]} times ({len(repeated)} samples repeated, {int(np.sum(counts == 0))} "
                    "never seen). Drawing indices with replacement (np.random.choice(n, n), randint) does this.",
                    hint="Each sample at most once per pass: shuffle with a permutation, "
                         "indices = np.random.permutation(len(inputs)), and slice it.",
                    diagnosis="minibatch-repeats-samples", repeated=repeated[:20])
            missing = np.flatnonzero(counts == 0)
            sizes = [len(idx) for idx, _ in batches]
            if not len(missing):
                continue
            if r and len(missing) == r and all(s == bs for s in sizes):
                continue  # the last partial batch was dropped: accepted
            what = "yielded no batch at all" if not batches else \
                f"never yields {len(missing)} of the {n} samples (e.g. samples {_show(missing, 8)})"
            allowed = (f"; only the last partial batch ({r} samples) may be left out" if r
                       else f"; {n} is a multiple of {bs}, so every sample must appear")
            return Result.failed(
                f"{_call(run)} {what}{allowed}.",
                hint="Loop over batch starts with range(0, len(inputs), batchsize) (keeps the partial batch) "
                     "or range(0, len(inputs) - batchsize + 1, batchsize) (drops it); "
                     "range(0, len(inputs) - batchsize, batchsize) loses the last full batch.",
                diagnosis="minibatch-drops-samples", batch_sizes=sizes)
    return Result.passed()


def verdict_order(inputs, output):
    for run, passes in _passes(output, inputs):
        n, bs = len(run["X"]), run["batchsize"]
        batches = passes[0]
        seq = _seq(batches)
        sizes = [len(idx) for idx, _ in batches]
        if len(seq) > 1 and not np.all(np.diff(seq) > 0):
            if len(np.unique(seq)) == len(seq):
                return Result.failed(
                    f"{_call(run)} changes the order of the samples: they come out as {_show(seq)}.",
                    hint="Shuffle only when shuffle=True; otherwise take the samples in their order "
                         "(indices = np.arange(len(inputs)) or slices).",
                    diagnosis="minibatch-shuffled-when-not-asked")
            return Result.failed(
                f"{_call(run)} does not keep the order of the samples: they come out as {_show(seq)}.",
                hint="Without shuffle, batch k is inputs[k * batchsize:(k + 1) * batchsize].")
        # How many batches there are is minibatches.coverage's business; here every batch
        # but the last has batchsize samples, and the last one 1..batchsize.
        if sizes and not (all(s == bs for s in sizes[:-1]) and 1 <= sizes[-1] <= bs):
            keep = [bs] * (n // bs) + ([n % bs] if n % bs else [])
            expected = _show(keep, 16) + (" (or without the last, partial batch)" if n % bs else "")
            return Result.failed(
                f"{_call(run)} yields batches of sizes {_show(sizes, 16)}, expected {expected}.",
                hint="Every batch has batchsize samples except possibly the last one; slice "
                     "indices[start:start + batchsize] for start in range(0, len(inputs), batchsize).",
                diagnosis="minibatch-wrong-batch-size", batch_sizes=sizes)
    return Result.passed()


def verdict_shuffling(inputs, output):
    for run, passes in _passes(output, inputs):
        bs = run["batchsize"]
        seqs = [_seq(b) for b in passes]
        for batches, seq in zip(passes, seqs):
            if len(seq) < 2:
                return Result.failed(f"{_call(run)} yielded {len(seq)} samples; cannot judge the shuffle.",
                                     hint="It should yield every sample once per pass.")
            if np.array_equal(seq, np.arange(len(seq))):
                return Result.failed(
                    f"{_call(run)} does not shuffle: the samples come out in their original order.",
                    hint="With shuffle=True draw indices = np.random.permutation(len(inputs)) and take the "
                         "batches from it.", diagnosis="minibatch-not-shuffled")
            blocks = all(len(idx) and np.array_equal(np.sort(idx), np.arange(idx.min(), idx.min() + len(idx)))
                         and idx.min() % bs == 0 for idx, _ in batches)
            if blocks:
                return Result.failed(
                    f"{_call(run)} only reorders fixed batches: each batch always holds the same consecutive "
                    "samples, only their order changes.",
                    hint="Permute the samples, not the batches: indices = np.random.permutation(len(inputs)), "
                         "then slice the batches from indices.", diagnosis="minibatch-not-shuffled")
        if len(seqs) > 1 and np.array_equal(seqs[0], seqs[1]):
            return Result.failed(
                f"{_call(run)} gives the same order on two passes: every epoch sees the same batches.",
                hint="Draw a fresh permutation on every call; do not reseed np.random or reuse a fixed "
                     "permutation inside iterate_minibatches.", diagnosis="minibatch-not-shuffled")
    return Result.passed()


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------

_REQ = ("iterate_minibatches",)


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    return guard([
        Check("minibatches.pairing", "iterate_minibatches keeps every input with its own label",
              probe_minibatches, verdict_pairing, pairing_inputs, points=3, requires=_REQ, entry=_REQ[0],
              hint="Index inputs and targets with the same indices."),
        Check("minibatches.coverage", "iterate_minibatches yields each sample once per pass",
              probe_minibatches, verdict_coverage, coverage_inputs, points=3, requires=_REQ, entry=_REQ[0],
              hint="Slice one permutation (or arange) into consecutive batches."),
        Check("minibatches.order", "without shuffle, iterate_minibatches keeps the order and the batch size",
              probe_minibatches, verdict_order, order_inputs, points=2, requires=_REQ, entry=_REQ[0],
              hint="Without shuffle, batch k is inputs[k * batchsize:(k + 1) * batchsize]."),
        Check("minibatches.shuffling", "with shuffle, iterate_minibatches draws a fresh permutation each pass",
              probe_minibatches, verdict_shuffling, shuffling_inputs, points=2, requires=_REQ, entry=_REQ[0],
              hint="indices = np.random.permutation(len(inputs)) on every call."),
    ])


_INDICES = "indices = np.random.permutation(n) if shuffle else np.arange(n)"
_LOOP = """    for start in range(0, n, batchsize):
        excerpt = indices[start:start + batchsize]
        yield inputs[excerpt], targets[excerpt]
"""
_BODY = "    indices = np.random.permutation(n) if shuffle else np.arange(n)\n" + _LOOP


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    return [
        mutant("minibatch-two-permutations", "minibatches", "minibatch-labels-misaligned", "network.py", _BODY,
               "    indices = np.random.permutation(n) if shuffle else np.arange(n)\n"
               "    target_indices = np.random.permutation(n) if shuffle else np.arange(n)\n"
               "    for start in range(0, n, batchsize):\n"
               "        yield inputs[indices[start:start + batchsize]], targets[target_indices[start:start + batchsize]]\n",
               "inputs and targets shuffled with different permutations"),
        mutant("minibatch-targets-unshuffled", "minibatches", "minibatch-labels-misaligned", "network.py",
               "yield inputs[excerpt], targets[excerpt]", "yield inputs[excerpt], targets[start:start + batchsize]",
               "only the inputs are shuffled"),
        mutant("minibatch-never-shuffles", "minibatches", "minibatch-not-shuffled", "network.py",
               _INDICES, "indices = np.arange(n)", "shuffle is ignored"),
        mutant("minibatch-fixed-permutation", "minibatches", "minibatch-not-shuffled", "network.py",
               _INDICES, "indices = np.random.RandomState(0).permutation(n) if shuffle else np.arange(n)",
               "the same permutation on every pass"),
        mutant("minibatch-shuffles-batches-only", "minibatches", "minibatch-not-shuffled", "network.py",
               "    indices = np.random.permutation(n) if shuffle else np.arange(n)\n"
               "    for start in range(0, n, batchsize):\n",
               "    indices = np.arange(n)\n"
               "    starts = np.arange(0, n, batchsize)\n"
               "    if shuffle:\n"
               "        np.random.shuffle(starts)\n"
               "    for start in starts:\n",
               "the order of fixed batches is shuffled, not the samples"),
        mutant("minibatch-with-replacement", "minibatches", "minibatch-repeats-samples", "network.py",
               "np.random.permutation(n)", "np.random.choice(n, n)", "indices drawn with replacement"),
        mutant("minibatch-drops-last-full-batch", "minibatches", "minibatch-drops-samples", "network.py",
               "for start in range(0, n, batchsize):", "for start in range(0, n - batchsize, batchsize):",
               "off-by-one range end"),
        mutant("minibatch-always-shuffles", "minibatches", "minibatch-shuffled-when-not-asked", "network.py",
               _INDICES, "indices = np.random.permutation(n)", "shuffles even with shuffle=False"),
        mutant("minibatch-array-split", "minibatches", "minibatch-wrong-batch-size", "network.py",
               "    for start in range(0, n, batchsize):\n        excerpt = indices[start:start + batchsize]\n",
               "    for excerpt in np.array_split(indices, max(1, n // batchsize)):\n",
               "n // batchsize batches of uneven sizes"),
        correct("minibatch-notebook", edits=[
            ("network.py", "import numpy as np\n", "import numpy as np\nimport tqdm_utils\n"),
            ("network.py", _BODY,
             "    if shuffle:\n"
             "        indices = np.random.permutation(len(inputs))\n"
             "    for start_idx in tqdm_utils.tqdm_notebook_failsafe(range(0, len(inputs) - batchsize + 1, batchsize)):\n"
             "        if shuffle:\n"
             "            excerpt = indices[start_idx:start_idx + batchsize]\n"
             "        else:\n"
             "            excerpt = slice(start_idx, start_idx + batchsize)\n"
             "        yield inputs[excerpt], targets[excerpt]\n")],
                description="the original notebook's version: drops the last partial batch, uses tqdm_utils",
                families=("minibatches",)),
        correct("minibatch-shuffle-index-array", edits=[("network.py", _BODY,
                "    indices = np.arange(n)\n"
                "    if shuffle:\n"
                "        np.random.shuffle(indices)\n"
                "    batches = []\n"
                "    for start in range(0, n, batchsize):\n"
                "        batches.append((inputs[indices[start:start + batchsize]], targets[indices[start:start + batchsize]]))\n"
                "    yield from batches\n")],
                description="np.random.shuffle on an index array", families=("minibatches",)),
        correct("minibatch-inplace-shuffle", edits=[("network.py", _BODY,
                "    if shuffle:\n"
                "        state = np.random.get_state()\n"
                "        np.random.shuffle(inputs)\n"
                "        np.random.set_state(state)\n"
                "        np.random.shuffle(targets)\n"
                "    start = 0\n"
                "    while start < n:\n"
                "        yield inputs[start:start + batchsize], targets[start:start + batchsize]\n"
                "        start += batchsize\n")],
                description="shuffles both arrays in place with the same RNG state, then slices",
                families=("minibatches",)),
    ]
