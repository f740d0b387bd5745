"""Pointing's safe fallback and the pointing of checks that end in an error.

* The fallback (:mod:`nncheck.point.constructs`): ``only_return``, ``only_assignment``,
  ``only_loop_header``, ``placeholder``, ``never_assigned``, ``first_of``, and the automatic
  one of :func:`nncheck.point.point` (a named method whose whole body is one ``return`` line):
  each pins a line only when exactly one line fits, never one of two.
* ERR checks (:mod:`nncheck.point.errors`): the innermost frame of the stored traceback that is
  the student's own is shown (``"raised": true``), and an error that follows from a failure
  already reported says so.
"""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from nncheck.load.plan import compile_unit, unit_filename
from nncheck.load.prepare import prepare
from nncheck.model import Check, Status
from nncheck.point import Code, point, point_records, where_text
from nncheck.point.constructs import (first_of, never_assigned, only_assignment, only_loop_header, only_return,
                                      placeholder)
from nncheck.point.errors import follows_from, frames, raised_where
from nncheck.selftest import judge_pointing
from nncheck.worker.loop import describe_defs

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pointing"


def _code(tmp_path, source, names):
    path = tmp_path / "submission.py"
    path.write_text(textwrap.dedent(source))
    plan = prepare(path, tmp_path / "work")
    ns: dict = {}
    own = set()
    for m in plan.modules:
        for u in m.units:
            own.add(unit_filename(u, m.filename))
            exec(compile_unit(u, m.filename, register=False), ns)  # noqa: S102 - our own test code
    return plan, Code(plan, describe_defs({k: ns[k] for k in names}, own))


def _pins(code, requires, pointer, check_id="x.check", mode_details=None):
    record = SimpleNamespace(id=check_id, status=Status.FAILED, diagnosis=[], details=mode_details or {}, message="")
    where = point(code, check_id, requires, record, pointer=pointer)
    return [(w["line"], w["pinned"]) for w in where]


SRC = """
import numpy as np

class Dense:
    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)

    def forward(self, input):
        return np.dot(input, self.weights)

    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        self.weights = self.weights - self.learning_rate * input.T @ grad_output
        self.biases = self.biases
        return grad_input

    def scale(self, input):
        return np.abs(input) * 2

    def twice(self, input):
        if input is None:
            return 0
        return 1

    def placeholder(self, input):
        out = input * 2
        pass
        return out

def loops(network):
    for layer in network:
        layer.forward(1)
    while False:
        pass

def one_loop(network, X):
    for layer in network[1:]:
        X = layer.forward(X)
    return X
"""
NAMES = ["Dense", "loops", "one_loop"]


def test_only_return_pins_a_return_made_on_one_line(tmp_path):
    _, code = _code(tmp_path, SRC, NAMES)
    assert _pins(code, ("Dense",), only_return("{cls}.forward")) == [(11, True)]
    # backward's returned value is made on another line: nothing pinned
    assert _pins(code, ("Dense",), only_return("{cls}.backward")) == []
    # two returns: never one of two
    assert _pins(code, ("Dense",), only_return("{cls}.twice")) == []


def test_only_assignment_and_never_assigned(tmp_path):
    _, code = _code(tmp_path, SRC, NAMES)
    assert _pins(code, ("Dense",), only_assignment("weights", "{cls}.backward")) == [(15, True)]
    assert _pins(code, ("Dense",), only_assignment("missing", "{cls}.backward")) == []
    # self.biases = self.biases: the line that stands where the update should be
    assert _pins(code, ("Dense",), never_assigned(("biases",), "{cls}.backward")) == [(16, True)]
    assert _pins(code, ("Dense",), never_assigned(("weights",), "{cls}.backward")) == []


def test_loop_header_and_placeholder(tmp_path):
    _, code = _code(tmp_path, SRC, NAMES)
    assert _pins(code, ("loops",), only_loop_header("loops")) == []          # two loops
    assert _pins(code, ("one_loop",), only_loop_header("one_loop")) == [(39, True)]
    assert _pins(code, ("Dense",), placeholder("{cls}.placeholder")) == [(29, True)]
    assert _pins(code, ("Dense",), placeholder("{cls}.backward")) == []      # no pass there
    assert _pins(code, ("Dense",), first_of(only_return("{cls}.twice"), only_loop_header("one_loop"))) == [(39, True)]


def test_a_method_of_one_return_line_is_pinned_without_a_pointer(tmp_path):
    _, code = _code(tmp_path, SRC, NAMES)
    record = SimpleNamespace(id="x.forward", status=Status.FAILED, diagnosis=[], details={}, message="")
    (w,) = point(code, "x.scale", ("Dense",), record, entry="{cls}.scale")
    assert w["pinned"] and w["line"] == 20
    # one that reads the layer's state (made elsewhere), or a longer one, is named, not pinned
    (w,) = point(code, "x.forward", ("Dense",), record, entry="{cls}.forward")
    assert not w["pinned"] and w["line"] == 10
    (w,) = point(code, "x.backward", ("Dense",), record, entry="{cls}.backward")
    assert not w["pinned"] and w["method"] == "Dense.backward"


# --------------------------------------------------------------------------
# ERR checks


TB = """Traceback (most recent call last):
  File "submission.py", line 14, in backward
    grad_input = grad_output @ self.weights.T
ValueError: matmul: Input operand 1 has a mismatch
"""


def test_raised_where_is_the_innermost_student_frame(tmp_path):
    plan, _ = _code(tmp_path, SRC, NAMES)
    tb = ('Traceback (most recent call last):\n  File "/usr/lib/python3.11/x.py", line 3, in f\n'
          + TB.split("\n", 1)[1].replace("ValueError", '  File "/usr/lib/numpy/core.py", line 9, in dot\n'
                                         '    pass\nValueError'))
    assert [f[0] for f in frames(tb)] == ["/usr/lib/python3.11/x.py", "submission.py", "/usr/lib/numpy/core.py"]
    (w,) = raised_where(plan, tb)
    assert w["pinned"] and w["raised"] and w["line"] == 14 and w["method"] == "Dense.backward"
    assert w["snippet"] == "grad_input = grad_output @ self.weights.T"
    assert where_text(w) == "raised at submission.py, line 14: `grad_input = grad_output @ self.weights.T`"
    assert raised_where(plan, "Traceback:\n  File \"/elsewhere.py\", line 1, in f\n") == []
    # the selftest does not judge a raise line
    assert judge_pointing([{"where": [w]}], {("submission.py", None, 99)})[0] == "not-pinned"


def _rec(id_, status, where=(), traceback="", message="m"):
    return SimpleNamespace(id=id_, status=status, where=list(where), traceback=traceback, message=message,
                           diagnosis=[], details={})


def test_an_error_that_follows_from_a_failure_says_so(tmp_path):
    plan, code = _code(tmp_path, SRC, NAMES)
    probe = verdict = (lambda *a: None)
    checks = [Check("dense.backward.params", "t", probe, verdict, requires=("Dense",)),
              Check("network.train", "t", probe, verdict, requires=("train",)),
              Check("training.accuracy", "t", probe, verdict, requires=("Dense",),
                    downstream=("dense.", "network."))]
    unit = _rec("dense.backward.params", Status.FAILED, [{"method": "Dense.backward", "pinned": False,
                                                           "file": "submission.py", "cell": None, "line": 13}])
    train = _rec("network.train", Status.FAILED, [{"method": "train", "pinned": False}])
    err = _rec("training.accuracy", Status.ERROR, traceback=TB, message="your code raised ValueError: matmul")
    records = [unit, train, err]
    assert follows_from(err, records, checks[2]) == "dense.backward.params"
    point_records(records, checks, plan, code.defs)
    assert err.message == "your code raised ValueError: matmul. This follows from dense.backward.params above."
    assert err.where[0]["raised"] and err.where[0]["line"] == 14
    # said once, and not without a failure upstream
    point_records(records, checks, plan, code.defs)
    assert err.message.count("This follows from") == 1
    alone = _rec("training.accuracy", Status.ERROR, traceback=TB)
    assert follows_from(alone, [alone], checks[2]) == ""


def test_an_error_in_the_students_code_points_at_its_line(engine, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_pointing import families_of, fixture_notebook

    fixture = FIXTURES / "errors" / "dense_backward_raises.py"
    nb, header, _ = fixture_notebook(fixture)
    lines = fixture.read_text().splitlines()
    path = tmp_path / "homework.ipynb"
    path.write_text(json.dumps(nb))
    report = engine.grade(path, only=families_of(header), seed=1)
    errored = [c for c in report.checks if c.status is Status.ERROR]
    assert errored, [(c.id, c.status) for c in report.checks]
    for c in errored:
        (w,) = c.where
        assert w["raised"] and w["pinned"] and w["method"] == "Dense.backward"
        assert w["snippet"] == "grad_weights = np.dot(input, grad_output)  # raises"
        assert w["label"].startswith("cell ") and w["file"] == "homework.ipynb"
        cell = nb["cells"][w["cell"]]["source"].splitlines()
        assert cell[w["line"] - 1].strip() == w["snippet"]
    assert any("# raises" in line for line in lines)
