"""The one place a check meets the reference: its answers, computed or looked up.

A :class:`~nncheck.model.Check` may declare ``answers(inputs) -> dict``: the
expected outputs for its inputs and the alternative values its verdict
diagnoses from (the forward without bias, the step with a mean bias
gradient, ...), as plain values and arrays. It is the only code of the
check that calls a reference. The verdict then runs as
``verdict(inputs, output, answers)`` and compares the student's output with
those answers, so it runs the same in both editions:

* the **full edition** (the instructor's install) calls ``check.answers``;
* the **student edition** (``nncheck release``) ships no reference: it looks
  the answers up in a table built at release time for the public inputs
  (seed 0), keyed by the check id and a hash of the inputs. A run on other
  inputs (another ``--seed``, another data set) cannot be graded there: its
  checks are skipped, saying the course's grader grades hidden inputs.

A check marked ``full_edition_only`` needs the reference on values the
student's own code produced; the student edition skips it, saying the course
grades it. The table is plain data: ``index.json`` and ``arrays.npz``, read
with ``allow_pickle=False``.
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from nncheck.model import Fail, Result

TABLE_DIR = Path(__file__).parent / "data" / "answers"
FORM_KEY = "_form"  # a discovered option form in the inputs: the student's, not the grader's
PUBLIC_SEED = 0
HIDDEN = ("not graded here: these inputs are not the public ones (seed 0), and the student edition of "
          "nncheck holds no reference to grade hidden inputs; your course's grader checks them.")
COURSE_ONLY = ("not graded here: this check needs the course's reference, which the student edition does "
               "not contain; it is checked when your course grades it.")


def _canonical(value, embedded: str):
    """``value`` as JSON-able data for hashing: arrays by dtype, shape and bytes; forms left out."""
    if isinstance(value, dict):
        return {str(k): _canonical(v, embedded) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
                if k != FORM_KEY}
    if isinstance(value, (list, tuple)):
        return [_canonical(v, embedded) for v in value]
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        return {"dtype": arr.dtype.str, "shape": list(arr.shape),
                "sha": hashlib.sha256(arr.tobytes()).hexdigest()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, float):
        return {"float": value.hex()}
    if isinstance(value, str) and value == embedded:
        return "<embedded MNIST>"  # its path differs from one install to another, its content does not
    return value


def inputs_key(inputs: dict) -> str:
    """A hash of a check's inputs, the same in every install (the embedded data's path left out)."""
    from nncheck.data import EMBEDDED

    text = json.dumps(_canonical(inputs, str(EMBEDDED)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- plain data in and out -----------------------------------------------------

def encode(value, arrays: dict, prefix: str):
    """``value`` as JSON with every array moved into ``arrays`` (name -> array)."""
    if isinstance(value, dict):
        return {"__dict__": [[str(k), encode(v, arrays, f"{prefix}.{i}")]
                             for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, (list, tuple)):
        return [encode(v, arrays, f"{prefix}.{i}") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"answers must be plain arrays, not object arrays ({prefix})")
        arrays[prefix] = value
        return {"__array__": prefix}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"answers must be plain data, not {type(value).__name__} ({prefix})")


def decode(value, arrays):
    if isinstance(value, dict):
        if "__array__" in value:
            return np.array(arrays[value["__array__"]])
        return {k: decode(v, arrays) for k, v in value["__dict__"]}
    if isinstance(value, list):
        return [decode(v, arrays) for v in value]
    return value


def plain(answers: dict) -> dict:
    """``answers`` as the table gives them back (tuples become lists, NumPy scalars numbers)."""
    arrays: dict = {}
    return decode(json.loads(json.dumps(encode(answers, arrays, "a"))), arrays)


# -- the table -------------------------------------------------------------------

_table: dict | None = None


def edition() -> str:
    """``"student"`` when this install carries an answers table instead of a reference, else ``"full"``."""
    return "student" if (TABLE_DIR / "index.json").is_file() else "full"


def _load_table() -> dict:
    global _table
    if _table is None:
        index = json.loads((TABLE_DIR / "index.json").read_text(encoding="utf-8"))
        with np.load(TABLE_DIR / "arrays.npz", allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        _table = {"index": index, "arrays": arrays}
    return _table


def lookup(check_id: str, inputs: dict):
    """The table's answers for these inputs, or ``None`` when they are not the public ones."""
    table = _load_table()
    entry = table["index"]["answers"].get(check_id, {}).get(inputs_key(inputs))
    return None if entry is None else decode(entry, table["arrays"])


def write_table(folder: Path, engine, seed: int = PUBLIC_SEED) -> dict:
    """Compute every check's answers for the public inputs with the reference; write ``folder``.

    Returns ``{"checks": n, "entries": n, "full_edition_only": [ids]}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict = {}
    index: dict = {"seed": seed, "answers": {}, "full_edition_only": []}
    for n, check in enumerate(engine.checks):
        if check.full_edition_only:
            index["full_edition_only"].append(check.id)
        if check.answers is None:
            continue
        inputs = check.inputs(check.rng(seed))
        index["answers"][check.id] = {inputs_key(inputs): encode(check.answers(inputs), arrays, f"c{n}")}
    np.savez_compressed(folder / "arrays.npz", **arrays)
    (folder / "index.json").write_text(json.dumps(index, sort_keys=True), encoding="utf-8")
    return {"checks": len(index["answers"]), "arrays": len(arrays),
            "full_edition_only": index["full_edition_only"]}


# -- what the session calls --------------------------------------------------------

def prepare(check, inputs: dict):
    """The answers a verdict gets (``None`` when the check declares none), or a skip ``Result``."""
    student = edition() == "student"
    if student and check.full_edition_only:
        return Result.skipped(COURSE_ONLY)
    if check.answers is None:
        return None
    if student:
        found = lookup(check.id, inputs)
        return Result.skipped(HIDDEN) if found is None else found
    return computed(check, inputs)


# The reference's answers are a function of the check and its inputs (the student edition's table is
# keyed so), and one process often grades many submissions on the same inputs: selftest's variants,
# a class graded on the public inputs, the test suite. The training check's reference run takes about
# 0.5 s of every such grade, so costly answers are kept, for the same check object and inputs only.
_KEPT: OrderedDict = OrderedDict()  # (check.answers, inputs key) -> (encoded answers, arrays)
_KEPT_LOCK = threading.Lock()
KEEP_AT_MOST = 64          # entries; other inputs (a class's hidden ones) only cycle through
WORTH_KEEPING_S = 0.02     # answers computed faster than this are computed again


def computed(check, inputs: dict) -> dict:
    """``check.answers(inputs)`` as plain data (:func:`plain`), from the reference or, for the same
    check and inputs as before in this process, from what it answered then (a fresh copy)."""
    key = (check.answers, inputs_key(inputs))
    try:
        hash(key)
    except TypeError:  # a plugin's answers callable that cannot be a key: computed every time
        return plain(check.answers(inputs))
    with _KEPT_LOCK:
        kept = _KEPT.get(key)
        if kept is not None:
            _KEPT.move_to_end(key)
    if kept is None:
        t0 = time.perf_counter()
        answers = check.answers(inputs)
        if time.perf_counter() - t0 < WORTH_KEEPING_S:
            return plain(answers)
        arrays: dict = {}
        kept = (json.dumps(encode(answers, arrays, "a")), {k: np.array(v) for k, v in arrays.items()})
        with _KEPT_LOCK:
            _KEPT[key] = kept
            while len(_KEPT) > KEEP_AT_MOST:
                _KEPT.popitem(last=False)
    text, arrays = kept
    return decode(json.loads(text), arrays)


def judge(check, inputs: dict, output, answers) -> Result:
    """``check.verdict`` on the probe's output, with the answers when the check declares them."""
    try:
        if check.answers is None:
            return check.verdict(inputs, output)  # an instructor's plugin of the old kind
        return check.verdict(inputs, output, answers)
    except Fail as fail:
        return fail.result
