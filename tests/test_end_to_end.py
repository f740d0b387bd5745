"""The whole pipeline on the three submissions everyone looks at first."""
import json
import subprocess
import sys

import pytest

from conftest import REPO


def submit(path, *args):
    proc = subprocess.run([sys.executable, "-m", "nncheck", "submit", str(path), "--format", "json", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def reference():
    return submit(REPO / "reference")


@pytest.fixture(scope="module")
def template():
    return submit(REPO / "student_template")


def test_reference_passes_every_check(reference):
    code, report = reference
    assert code == 0
    assert [c["id"] for c in report["checks"] if c["status"] != "passed"] == []
    assert {c["section"] for c in report["checks"]} == {"core", "options", "bonus"}
    assert report["score"] >= report["max_score"] > 0


def test_template_earns_nothing_and_says_not_implemented(template):
    code, report = template
    assert code == 1 and report["score"] == 0
    core = [c for c in report["checks"] if c["section"] == "core"]
    assert len(core) >= 16
    for c in core:
        assert c["status"] == "failed" and "not implemented" in c["message"], c
    for c in report["checks"]:
        if c["section"] != "core":
            assert c["status"] == "skipped", c
            assert "not attempted" in c["message"] or "did not pass" in c["message"], c


def test_real_notebook_gets_its_real_bugs_named():
    """The original assignment notebook: its train() walks the layers forward and skips
    the last one, and its Dense_reg divides by the batch (its 0.5*reg convention is accepted by default)."""
    code, report = submit(REPO / "examples" / "submissions" / "original_notebook.ipynb")
    assert code == 1
    checks = {c["id"]: c for c in report["checks"]}
    assert {"backprop-skips-layer", "backprop-wrong-order"} <= set(checks["network.train"]["diagnosis"])
    # its reg*W (the half convention) passes by default ([options] l2_convention = "strict" fails it)
    assert "l2-divided-by-batch" in checks["l2.grad"]["diagnosis"]
    assert "l2-half-convention" not in checks["l2.grad"]["diagnosis"]
    assert "half convention, accepted" in checks["l2.grad"]["message"]
    for cid in ("relu.forward", "relu.backward", "dense.forward", "dense.backward.input",
                "dense.backward.params", "loss.value", "loss.grad", "network.forward", "network.predict"):
        assert checks[cid]["status"] == "passed", checks[cid]
    assert report["load"]["kind"] == "notebook"
    assert report["load"]["aliased"] == {"L2Dense": "Dense_reg"}
    assert any(d["name"] == "Dense_reg" for d in report["load"]["used"])
    assert checks["xavier.init"]["status"] == "skipped"
