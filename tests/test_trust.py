"""Trust the grader: what the worker returns cannot fool a verdict, results are
deterministic, and the same code gets the same grade in every submission form."""
import os
import textwrap
from pathlib import Path

import pytest

from conftest import LAYER_BASE, by_id
from nncheck.variants import correct

DENSE = LAYER_BASE + textwrap.dedent("""
    class Dense(Layer):
        def __init__(self, input_units, output_units, learning_rate=0.1):
            self.learning_rate = learning_rate
            self.weights = np.random.randn(input_units, output_units) * 0.01
            self.biases = np.zeros(output_units)
        def forward(self, input):
            {forward}
        def backward(self, input, grad_output):
            grad_input = grad_output @ self.weights.T
            self.weights = self.weights - self.learning_rate * input.T @ grad_output
            self.biases = self.biases - self.learning_rate * grad_output.sum(0)
            return grad_input
""")


def dense_with(forward: str, top: str = "") -> str:
    return top + DENSE.replace("{forward}", forward)


@pytest.mark.parametrize("forward, words", [
    ("return (input @ self.weights + self.biases).tolist()", None),  # a list of lists is fine
    ("return 'x @ W + b'", "str"),
    ("return None", "None"),
    ("return np.full((len(input), self.weights.shape[1]), np.nan)", "NaN"),
    ("return (input @ self.weights + self.biases).T", "shape"),
])
def test_wrong_types_and_values_fail_clearly(engine, write_py, forward, words):
    report = engine.grade(write_py(dense_with(forward)), only=["dense.forward"])
    rec = by_id(report)["dense.forward"]
    if words is None:
        assert rec.status == "passed", rec.message
    else:
        assert rec.status in ("failed", "error") and words in rec.message, rec.message


LIARS = """
class AlwaysEqual(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, bool)
    def __ne__(self, other): return np.zeros(self.shape, bool)
    def __sub__(self, other): return np.zeros(self.shape)
    def __rsub__(self, other): return np.zeros(self.shape)
    def __abs__(self): return np.zeros(self.shape)
    def __array_finalize__(self, obj): pass

class Yes(float):
    def __eq__(self, other): return True
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __sub__(self, other): return 0.0
"""


def test_ndarray_subclass_with_lying_comparisons_earns_nothing(engine, write_py):
    top = "import numpy as np\n" + LIARS
    source = dense_with("return np.zeros((len(input), self.weights.shape[1])).view(AlwaysEqual)", top)
    rec = by_id(engine.grade(write_py(source), only=["dense.forward"]))["dense.forward"]
    assert rec.status == "failed"


def test_float_subclass_loss_with_lying_comparisons_earns_nothing(engine, write_py):
    source = "import numpy as np\n" + LIARS + textwrap.dedent("""
        def softmax_crossentropy_with_logits(logits, reference_answers):
            return [Yes(0.0) for _ in range(len(logits))]
    """)
    rec = by_id(engine.grade(write_py(source), only=["loss.value"]))["loss.value"]
    assert rec.status == "failed"


def test_hard_coding_the_notebooks_public_test_values_earns_nothing(engine, write_py):
    """The notebook checks Dense(3,4) with linspace weights on one fixed input; we do not."""
    published = ("np.array([[0.07272727, 0.41212121, 0.75151515, 1.09090909],"
                 " [-0.90909091, 0.08484848, 1.07878788, 2.07272727]])")
    rec = by_id(engine.grade(write_py(dense_with(f"return {published}")), only=["dense.forward"]))
    assert rec["dense.forward"].status == "failed"


def test_writes_to_home_land_in_the_scratch_copy(engine, write_py, tmp_path):
    marker = f"nncheck-home-{os.getpid()}.txt"
    top = f"import os\nopen(os.path.expanduser('~/{marker}'), 'w').write('x')\n_ = 1\n"
    source = dense_with("return input @ self.weights + self.biases",
                        top=f"import os\n_ = open(os.path.expanduser('~/{marker}'), 'w').write('x')\n")
    engine.grade(write_py(source), only=["dense.forward"])
    assert not (Path.home() / marker).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["submission.py"]
    del top


def statuses(report):
    return [(c.id, str(c.status), c.score, c.message, tuple(c.diagnosis)) for c in report.checks]


CORE = ["relu", "dense", "loss", "network", "minibatches"]


def test_same_seed_same_everything_twice(engine):
    bad = correct("x", [("layers.py", "grad_output.sum(axis=0)", "grad_output.mean(axis=0)")])
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = bad.materialise(Path(d))
        a = engine.grade(path, seed=5, only=CORE)
        b = engine.grade(path, seed=5, only=CORE)
    assert statuses(a) == statuses(b)
    assert any("dense-bias-grad-mean" in c.diagnosis for c in a.checks)


def test_same_grade_as_file_folder_and_notebook(engine, tmp_path):
    """The same code, handed in three ways, gets the same statuses, scores and messages."""
    from nncheck.plugins import forms

    variants = {v.name: v for v in forms.nncheck_selftest_variants(config=None)}
    reports = {}
    for name in ("form-single-py", "form-flat-folder", "form-notebook"):
        path = variants[name].materialise(tmp_path)
        reports[name] = statuses(engine.grade(path, seed=2, only=CORE))
    assert reports["form-single-py"] == reports["form-flat-folder"] == reports["form-notebook"]
    assert all(s[1] == "passed" for s in reports["form-notebook"])
