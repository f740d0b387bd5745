"""The plugin route is complete for an option: examples/nncheck-adagrad, pip-installed, adds AdaGrad.

nncheck and the example package are installed (regular, non-editable installs)
into a fresh virtual environment; the venv's own ``nncheck`` then finds the
option from the entry point alone, discovers a student's AdaGrad under a name of
its own, grades it in the sandbox with the package's probes, names and pins a bug
with the package's diagnoses, confirms (or refuses) a flag form with the package's
fingerprint, and leaves the core checks as they were. Nothing in ``checker/`` or
``plugins/`` knows AdaGrad.
"""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "nncheck-adagrad"
FIXTURES = REPO / "tests" / "fixtures" / "options"

# A correct, student-style core (the option fixtures' own), with the assignment's Dense.
CORE = (FIXTURES / "_core.py").read_text().replace("\n%DENSE%\n", "\n" + (FIXTURES / "_dense.py").read_text() + "\n")

OWN_NAMED = CORE + '''

class Dense_Ada(Dense):
    """AdaGrad, under a name of the student's own."""

    def __init__(self, input_units, output_units, lr=0.01, eps=1e-8):
        super().__init__(input_units, output_units, lr)
        self.eps = eps
        self.sum_sq_w = np.zeros((input_units, output_units))
        self.sum_sq_b = np.zeros(output_units)

    def backward(self, input, grad_output):
        grad_input = np.dot(grad_output, self.weights.T)
        grad_weights = np.dot(input.T, grad_output)
        grad_biases = grad_output.sum(axis=0)
        self.sum_sq_w += grad_weights ** 2
        self.sum_sq_b += grad_biases ** 2
        self.weights = self.weights - self.learning_rate * grad_weights / (np.sqrt(self.sum_sq_w) + self.eps)
        self.biases = self.biases - self.learning_rate * grad_biases / (np.sqrt(self.sum_sq_b) + self.eps)
        return grad_input
'''
BUG = "        self.weights = self.weights - self.learning_rate * grad_weights / (self.sum_sq_w + self.eps)"
MISSING_SQRT = OWN_NAMED.replace("class Dense_Ada(Dense):", "class AdagradLayer(Dense):").replace(
    "        self.weights = self.weights - self.learning_rate * grad_weights / (np.sqrt(self.sum_sq_w) + self.eps)",
    BUG)
BUG_LINE = MISSING_SQRT.split("\n").index(BUG) + 1
# A flag whose 'adagrad' branch takes plain SGD steps: the package's fingerprint refuses it in the sandbox.
SGD_FLAG = CORE.replace("def __init__(self, input_units, output_units, learning_rate=0.1):",
             "def __init__(self, input_units, output_units, learning_rate=0.1, optimizer='sgd'):\n"
             "        self.optimizer = optimizer") \
    .replace("        self.weights = self.weights - self.learning_rate * grad_weights\n",
             "        if self.optimizer == 'adagrad':\n"
             "            grad_weights = grad_weights * 1.0\n"
             "        self.weights = self.weights - self.learning_rate * grad_weights\n")


def _submit(bin_, tmp_path, name, text, *args):
    path = tmp_path / name
    path.write_text(text)
    proc = subprocess.run([str(bin_ / "nncheck"), "submit", str(path), "--format", "json", "-q", *args],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.xdist_group("plugin-venv")
def test_an_option_plugin_installed_from_its_entry_point(tmp_path, example_plugins_venv):
    bin_ = example_plugins_venv  # nncheck and the example plugins, installed (tests/conftest.py)
    where = subprocess.run([str(bin_ / "python"), "-c", "import nncheck, nncheck_adagrad; "
                            "print(nncheck.__file__, nncheck_adagrad.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert where.count(str(bin_.parent)) == 2  # the installed copies run, not this checkout

    # the venv's nncheck lists the plugin from its entry point, with the hooks it implements
    shown = subprocess.run([str(bin_ / "nncheck"), "plugins"], capture_output=True, text=True, cwd=tmp_path,
                           check=True).stdout
    lines = shown.splitlines()
    (i,) = [k for k, line in enumerate(lines) if "nncheck-adagrad" in line]
    assert lines[i].split()[0] == "adagrad" and "entry point (nncheck-adagrad 0.1.0)" in lines[i], shown
    assert lines[i + 1].split() == ["hooks:", "nncheck_checks,", "nncheck_diagnoses,", "nncheck_options,",
                                    "nncheck_selftest_variants"], shown

    # AdaGrad under a name of the student's own: discovered and graded, and the report says which class
    code, report = _submit(bin_, tmp_path, "own_named.py", OWN_NAMED)
    checks = {c["id"]: c for c in report["checks"]}
    assert {i: c["status"] for i, c in checks.items() if i.startswith("adagrad.")} == {
        "adagrad.trajectory": "passed", "adagrad.input_grad": "passed"}, checks["adagrad.trajectory"]["message"]
    graded = report["load"]["options"]["graded"]
    assert graded["adagrad"]["label"] == "Dense_Ada" and graded["adagrad"]["kind"] == "class"
    assert graded["adagrad"]["evidence"] == "a Dense layer named `Dense_Ada`"
    assert checks["adagrad.trajectory"]["message"].startswith(
        "graded `Dense_Ada` as option III (AdaGrad) (a Dense layer named `Dense_Ada`). Your AdaGrad layer takes "
        "AdaGrad steps (G += g**2; W -= lr * g / (sqrt(G) + eps))")
    assert report["sections"]["options"]["counted"] == ["adagrad"]
    # the core is graded exactly as without the plugin: every core check of this correct core passes
    core = [c for c in report["checks"] if c["section"] == "core"]
    assert core and all(c["status"] == "passed" for c in core), [(c["id"], c["message"]) for c in core
                                                                 if c["status"] != "passed"]
    assert report["sections"]["core"]["score"] == report["sections"]["core"]["max_score"]
    assert code == 0
    if shutil.which("bwrap"):  # the installed package's probe and fingerprint ran inside the sandbox
        assert report["isolation"]["layer"] == "bubblewrap"

    # the missing root: failed, named, and pinned on the one line that makes it
    code, report = _submit(bin_, tmp_path, "missing_sqrt.py", MISSING_SQRT, "--check", "adagrad")
    checks = {c["id"]: c for c in report["checks"]}
    rec = checks["adagrad.trajectory"]
    assert code == 1 and rec["status"] == "failed" and rec["diagnosis"] == ["adagrad-missing-sqrt"], rec
    assert report["load"]["options"]["graded"]["adagrad"]["label"] == "AdagradLayer"
    (pin,) = rec["where"]
    assert pin["pinned"] and pin["line"] == BUG_LINE and pin["snippet"] == BUG.strip(), pin
    assert pin["method"] == "AdagradLayer.backward" and pin["file"].endswith("missing_sqrt.py")
    assert checks["adagrad.input_grad"]["status"] == "passed"
    # the report shows the plugin's title for its diagnosis
    html = tmp_path / "missing_sqrt.html"
    subprocess.run([str(bin_ / "nncheck"), "submit", str(tmp_path / "missing_sqrt.py"), "--check", "adagrad",
                    "--format", "html", "-o", str(html), "-q"], capture_output=True, text=True, cwd=tmp_path)
    assert "AdaGrad divides by the summed squares, not their root" in html.read_text()

    # a flag form stepping like SGD: the package's fingerprint, run in the sandbox, says so, and it is skipped
    code, report = _submit(bin_, tmp_path, "sgd_flag.py", SGD_FLAG, "--check", "adagrad")
    rec = {c["id"]: c for c in report["checks"]}["adagrad.trajectory"]
    assert rec["status"] == "skipped", rec
    assert rec["message"].startswith("not graded: saw Dense(..., optimizer='adagrad')")
    assert "step grows with the gradient" in rec["message"] and "does not look like AdaGrad" in rec["message"]

    # selftest holds the installed option to the built-in bar: the own-named and flag forms pass, every
    # mutant is caught with its diagnosis and pinned on the line it rewrote
    selftest = subprocess.run([str(bin_ / "nncheck"), "selftest", "--variant", "adagrad"], capture_output=True,
                              text=True, cwd=tmp_path)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    for name in ("adagrad-own-name", "adagrad-flag", "adagrad-missing-sqrt", "adagrad-no-accumulation",
                 "adagrad-wrong-sign", "adagrad-flag-missing-sqrt"):
        assert name in selftest.stdout, selftest.stdout
