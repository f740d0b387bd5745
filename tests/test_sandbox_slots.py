"""Several probes of one submission at once (``Session(slots=...)``, ``$NNCHECK_SLOTS``): the
grade is the plain loop's, whatever runs beside what.

Each case grades the same submission with one slot and with two and compares every record
(status, score, message, diagnosis); durations aside, they must be the same.
"""
import shutil

import pytest

from nncheck.sandbox.session import SLOTS_VAR
from nncheck.variants import REFERENCE_DIR

from conftest import by_id


def records(engine, path, monkeypatch, slots, **kw):
    monkeypatch.setenv(SLOTS_VAR, str(slots))
    report = engine.grade(path, **kw)
    return [(c.id, str(c.status), c.score, c.message, tuple(c.diagnosis), c.incident) for c in report.checks]


def same_either_way(engine, path, monkeypatch, **kw):
    one = records(engine, path, monkeypatch, 1, **kw)
    two = records(engine, path, monkeypatch, 2, **kw)
    assert two == one
    return dict((r[0], r) for r in one)


def reference_with(tmp_path, extra: str):
    folder = tmp_path / "sub"
    shutil.copytree(REFERENCE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    with open(folder / "layers.py", "a", encoding="utf-8") as f:
        f.write(extra)
    return folder


@pytest.mark.slow
def test_every_check_grades_the_same_with_two_slots(engine, monkeypatch):
    """Every family, the training check's large request sent while an experiment's result comes back."""
    got = same_either_way(engine, REFERENCE_DIR, monkeypatch)
    assert all(r[1] == "passed" for r in got.values())


@pytest.mark.slow
def test_hung_code_shortens_later_checks_as_the_plain_loop_does(engine, tmp_path, monkeypatch):
    """ReLU.forward never returns: relu.forward and relu.backward time out with their full time, every
    later check that calls it gets the shortened time, the training check included, although with two
    slots it was sent first (with its full time) and is cut short only once two timeouts are known."""
    path = reference_with(tmp_path, "\n\nclass ReLU(ReLU):\n    def forward(self, input):\n"
                                    "        while True:\n            pass\n")
    got = same_either_way(engine, path, monkeypatch, only=["relu", "dense", "training"], timeout=3.0)
    assert got["relu.forward"][1] == "timeout" and "shortened" not in got["relu.forward"][3]
    assert got["training.accuracy"][1] == "timeout" and "shortened" in got["training.accuracy"][3]
    assert got["dense.forward"][1] == "passed"


@pytest.mark.slow
def test_a_crash_beside_another_probe_is_judged_alone(engine, tmp_path, monkeypatch):
    """A probe that dies of a signal while another runs is run again alone: its record is the plain loop's."""
    path = reference_with(tmp_path, "\n\nimport os, signal\n\nclass ReLU(ReLU):\n"
                                    "    def backward(self, input, grad_output):\n"
                                    "        os.kill(os.getpid(), signal.SIGSEGV)\n")
    got = same_either_way(engine, path, monkeypatch, only=["relu", "dense", "xavier"])
    assert got["relu.backward"][1] == "error" and "segmentation fault" in got["relu.backward"][3]
    assert got["relu.forward"][1] == "passed"
