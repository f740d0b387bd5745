"""An instructor's plugin declares its diagnoses like a built-in family: titles, pointers, entries.

A ``--plugin`` file grades a made-up ``Leaky`` layer; its verdict names a code the
plugin declares (hook ``nncheck_diagnoses``) with a pointer from
``nncheck.point.constructs``; the report shows the title and pins the student's
line, exactly as for a built-in code. Two plugins that declare one code
differently stop the engine when it starts.
"""
import textwrap

import pytest

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.report import diagnoses
from nncheck.report.html import fix_first, render_html

PROBES = '''
import numpy as np


def probe(ns, inputs):
    x = np.array([[-2.0, 3.0], [1.0, -1.0]])
    return {"grad": ns["Leaky"]().backward(x, np.ones_like(x))}
'''

PLUGIN = '''
import numpy as np
import nncheck
from nncheck.model import Check, Diagnosis, Result
from nncheck.point.constructs import rule_single_line_return

from leaky_probes import probe


def verdict(inputs, output):
    if np.allclose(output["grad"], [[0.1, 1.0], [1.0, 0.1]]):
        return Result.passed()
    return Result.failed("the gradient is not scaled where the input is negative",
                         diagnosis="leaky-backward-not-scaled")


def whole(inputs, output):
    return Result.failed("the network built on Leaky does not learn")


@nncheck.hookimpl
def nncheck_checks(config):
    return [Check("leaky.backward", "Leaky's gradient", probe, verdict, section="bonus",
                  requires=("Leaky",)),
            Check("leaky.experiment", "a network of Leaky layers learns", probe, whole, section="bonus",
                  requires=("Leaky",), downstream=("leaky.",))]


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return [Diagnosis("leaky-backward-not-scaled", "Leaky backward forgets the slope", "{cls}.backward",
                      rule_single_line_return("{cls}.backward"))]
'''

SUBMISSION = '''
import numpy as np


class Leaky:
    def backward(self, input, grad_output):
        return grad_output * (input > 0)
'''


@pytest.fixture()
def plugin(tmp_path):
    (tmp_path / "leaky_probes.py").write_text(textwrap.dedent(PROBES))
    path = tmp_path / "leaky_checks.py"
    path.write_text(textwrap.dedent(PLUGIN))
    return path


def test_a_plugins_diagnosis_is_titled_and_pinned(plugin, tmp_path):
    engine = Engine(Config(), plugin_files=[plugin], entry_points=False)
    submission = tmp_path / "student.py"
    submission.write_text(SUBMISSION)
    report = engine.grade(submission, only=["leaky"])
    by_id = {c.id: c for c in report.checks}
    rec = by_id["leaky.backward"]
    assert rec.diagnosis == ["leaky-backward-not-scaled"]
    (w,) = rec.where
    assert w["pinned"] and w["line"] == 7 and w["snippet"] == "return grad_output * (input > 0)"
    assert diagnoses.title("leaky-backward-not-scaled") == "Leaky backward forgets the slope"
    assert "Leaky backward forgets the slope" in render_html(report)
    # the whole-network check declares what it builds on: it shows the unit's pinned line
    (v,) = by_id["leaky.experiment"].where
    assert v["line"] == 7 and v["via"] == "leaky.backward"
    assert diagnoses.downstream("leaky.experiment") == ("leaky.",)
    # and the HTML report says to fix the unit first
    bad = [{"id": i, "section": "bonus", "max_score": 1.0, "bad": True} for i in ("leaky.experiment", "leaky.backward")]
    assert [c["id"] for c in fix_first(bad, 1)] == ["leaky.backward"]


def test_one_code_declared_twice_differently_stops_the_engine(plugin, tmp_path):
    other = tmp_path / "other_checks.py"
    other.write_text("import nncheck\nfrom nncheck.model import Diagnosis\n\n"
                     "@nncheck.hookimpl\ndef nncheck_diagnoses(config):\n"
                     "    return [Diagnosis('leaky-backward-not-scaled', 'Another title')]\n")
    with pytest.raises(diagnoses.DiagnosisConflict, match="leaky-backward-not-scaled"):
        Engine(Config(), plugin_files=[plugin, other], entry_points=False)
