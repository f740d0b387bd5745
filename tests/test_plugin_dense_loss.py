"""The dense and loss plugins: reference passes, template is 'not implemented',
every mutant is caught with its diagnosis, every correct style passes; plus
verdict-level tests of signatures that are cheap to fake without a worker."""
from pathlib import Path

import numpy as np
import pytest

import nncheck.reference as reference
import nncheck.student_template
from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.model import Fail, Status
from nncheck.plugins import dense, loss
from nncheck.variants import REFERENCE_DIR

FAMILIES = ["dense", "loss"]
IDS = {"dense": ["dense.init", "dense.forward", "dense.backward.input", "dense.backward.params"],
       "loss": ["loss.value", "loss.grad"]}
ALL_IDS = IDS["dense"] + IDS["loss"]  # the numerical-gradient checks are tested in test_plugin_gradcheck
VARIANTS = dense.nncheck_selftest_variants(Config()) + loss.nncheck_selftest_variants(Config())
MUTANTS = [v for v in VARIANTS if v.kind == "mutant"]
CORRECT = [v for v in VARIANTS if v.kind == "correct"]
TEMPLATE = Path(nncheck.student_template.__file__).parent / "assignment.py"


@pytest.fixture(scope="module")
def engine():
    return Engine(Config(), entry_points=False)


def _by_id(report):
    return {c.id: c for c in report.checks}


def test_checks_registered(engine):
    ids = {c.id for c in engine.checks}
    for fam in FAMILIES:
        assert set(IDS[fam]) <= ids


def test_reference_passes(engine):
    report = engine.grade(REFERENCE_DIR, only=ALL_IDS)
    checks = _by_id(report)
    assert sorted(checks) == sorted(IDS["dense"] + IDS["loss"])
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)


def test_template_not_implemented(engine):
    report = engine.grade(TEMPLATE, only=ALL_IDS)
    assert len(report.checks) == 6
    for c in report.checks:
        assert c.status is Status.FAILED, (c.id, c.status, c.message)
        assert "not implemented" in c.message, (c.id, c.message)


def test_every_contract_code_has_a_mutant():
    codes = {v.diagnosis for v in MUTANTS}
    for code in ["dense-grad-divided-by-batch", "dense-bias-grad-mean", "dense-grad-input-after-update",
                 "dense-update-sign", "dense-params-not-updated", "dense-init-scale",
                 "loss-grad-not-divided-by-batch", "loss-not-per-sample"]:
        assert code in codes


@pytest.mark.parametrize("variant", MUTANTS, ids=[v.name for v in MUTANTS])
def test_mutant_caught_with_diagnosis(engine, tmp_path, variant):
    report = engine.grade(variant.materialise(tmp_path), only=[variant.family])
    failed = [c for c in report.checks if c.status is Status.FAILED]
    assert failed, [(c.id, c.status) for c in report.checks]
    assert any(variant.diagnosis in c.diagnosis for c in failed), \
        [(c.id, c.diagnosis, c.message) for c in failed]
    for c in failed:
        if variant.diagnosis in c.diagnosis:
            assert c.message and c.hint


@pytest.mark.parametrize("variant", CORRECT, ids=[v.name for v in CORRECT])
def test_correct_variant_passes(engine, tmp_path, variant):
    report = engine.grade(variant.materialise(tmp_path), only=ALL_IDS)
    assert len(report.checks) == 6
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)


def test_other_seeds_reference_and_a_correct_style(engine, tmp_path):
    """Inputs change with the seed; correct code must pass whatever they are."""
    styles = {v.name: v for v in CORRECT}
    paths = [REFERENCE_DIR, styles["dense-init-std-0.1"].materialise(tmp_path),
             styles["loss-notebook-naive"].materialise(tmp_path)]
    for seed in (1, 7, 12345):
        for path in paths:
            report = engine.grade(path, only=ALL_IDS, seed=seed)
            bad = [(c.id, c.message) for c in report.checks if c.status is not Status.PASSED]
            assert not bad, (seed, path, bad)


# --------------------------------------------------------------------------
# Verdicts fed with fake probe output (no worker): signatures and leniency.
# --------------------------------------------------------------------------

def _verdict(fn, inputs, output):
    try:
        return fn(inputs, output)
    except Fail as fail:
        return fail.result


def _rng():
    return np.random.default_rng(0)


def _init_output(make):
    inputs = dense.init_inputs(_rng())
    layers = []
    for n_in, n_out in inputs["shapes"]:
        for _ in range(inputs["repeats"]):
            layers.append({"shape": [n_in, n_out], "weights": make(n_in, n_out), "biases": np.zeros(n_out)})
    return inputs, {"layers": layers}


@pytest.mark.parametrize("make,code", [
    (lambda i, o: np.random.randn(i, o), "dense-init-scale"),
    (lambda i, o: np.full((i, o), 0.01), "dense-init-scale"),
    (lambda i, o: np.random.randn(i, o) * 1e-5, "dense-init-scale"),
    (lambda i, o: np.random.randn(i, o) * np.sqrt(2.0 / i) * 1.5, "dense-init-scale"),
    (lambda i, o: np.random.rand(i, o) * 0.05, "dense-init-not-centered"),
    (lambda i, o: np.random.randn(i, o) * 0.01 + 0.002, "dense-init-not-centered"),
    (lambda i, o: None, None),
    (lambda i, o: np.random.randn(o, i) * 0.01, None),
])
def test_init_signatures(make, code):
    np.random.seed(3)
    res = _verdict(dense.verdict_init, *_init_output(make))
    assert res.status is Status.FAILED
    if code:
        assert code in res.diagnosis, res.message
    if code == "dense-init-scale" and "equal" in res.message:
        assert "can't break symmetry" in res.message


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("make", [
    lambda i, o: np.random.randn(i, o) * 0.1,           # std exactly at the bound
    lambda i, o: np.random.randn(i, o) * 0.0011,        # just above the lower bound
    lambda i, o: np.random.uniform(-0.05, 0.05, (i, o)),
    lambda i, o: np.random.randn(i, o) * np.sqrt(2.0 / (i + o)),
])
def test_init_correct_styles_never_flaky(seed, make):
    np.random.seed(seed)
    res = _verdict(dense.verdict_init, *_init_output(make))
    assert res.status is Status.PASSED, res.message


def test_init_seeded_constructor_passes():
    def make(i, o):
        return np.random.RandomState(0).randn(i, o) * 0.01  # identical every construction
    res = _verdict(dense.verdict_init, *_init_output(make))
    assert res.status is Status.PASSED, res.message


def test_forward_float32_and_signatures():
    inputs = dense.forward_inputs(_rng())

    def out(f):
        return {"square": f(inputs["x_sq"], inputs["W_sq"], inputs["b_sq"]),
                "rect": f(inputs["x"], inputs["W"], inputs["b"])}
    ok = _verdict(dense.verdict_forward, inputs, out(
        lambda x, W, b: (x.astype(np.float32) @ W.astype(np.float32) + b.astype(np.float32)).astype(float)))
    assert ok.status is Status.PASSED, ok.message
    res = _verdict(dense.verdict_forward, inputs, out(lambda x, W, b: x @ W))
    assert res.diagnosis == ["dense-forward-missing-bias"]
    res = _verdict(dense.verdict_forward, inputs, {"square": inputs["x_sq"] @ inputs["W_sq"].T + inputs["b_sq"],
                                                 "rect_error": "ValueError: matmul"})
    assert res.diagnosis == ["dense-forward-transposed-weights"]
    res = _verdict(dense.verdict_forward, inputs, {"square": out(lambda x, W, b: x @ W + b)["square"],
                                                 "rect_error": "ValueError: shapes"})
    assert res.status is Status.FAILED and "ValueError" in res.message


def _ref_step(inputs, grad_w_scale=1.0, grad_b_scale=1.0, lr=None):
    W, b, x, g = inputs["W"], inputs["b"], inputs["x"], inputs["grad_output"]
    lr = inputs["lr"] if lr is None else lr
    layer = reference.Dense(*W.shape, learning_rate=1.0)
    layer.weights, layer.biases = W.copy(), b.copy()
    layer.backward(x, g)
    dW, db = W - layer.weights, b - layer.biases
    return {"grad_input": g @ W.T, "weights": W - lr * grad_w_scale * dW, "biases": b - lr * grad_b_scale * db}


@pytest.mark.parametrize("kw,code", [
    ({}, None),
    ({"grad_w_scale": "1/b", "grad_b_scale": "1/b"}, "dense-grad-divided-by-batch"),
    ({"grad_w_scale": "1/b"}, "dense-grad-divided-by-batch"),
    ({"grad_b_scale": "1/b"}, "dense-bias-grad-mean"),
    ({"grad_w_scale": -1.0, "grad_b_scale": -1.0}, "dense-update-sign"),
    ({"grad_w_scale": -1.0}, "dense-update-sign"),
    ({"grad_w_scale": 0.0, "grad_b_scale": 0.0}, "dense-params-not-updated"),
    ({"grad_b_scale": 0.0}, "dense-params-not-updated"),
    ({"lr": 1.0}, "dense-learning-rate-ignored"),
    ({"lr": 0.1}, "dense-learning-rate-ignored"),
    ({"grad_w_scale": 0.5}, None),
])
def test_params_signatures(kw, code):
    inputs = dense.backward_params_inputs(_rng())
    batch = inputs["x"].shape[0]
    kw = {k: (1.0 / batch if v == "1/b" else v) for k, v in kw.items()}
    res = _verdict(dense.verdict_backward_params, inputs, _ref_step(inputs, **kw))
    if not kw:
        assert res.status is Status.PASSED, res.message
    else:
        assert res.status is Status.FAILED
        assert res.diagnosis == ([code] if code else []), (res.diagnosis, res.message)


def test_grad_input_after_update_with_students_own_wrong_step():
    inputs = dense.backward_input_inputs(_rng())
    out = _ref_step(inputs, grad_w_scale=1.0 / len(inputs["x"]))  # their step is also wrong
    out["grad_input"] = inputs["grad_output"] @ out["weights"].T
    res = _verdict(dense.verdict_backward_input, inputs, out)
    assert res.diagnosis == ["dense-grad-input-after-update"]
    out = _ref_step(inputs)
    assert _verdict(dense.verdict_backward_input, inputs, out).status is Status.PASSED
    out["grad_input"] = None
    res = _verdict(dense.verdict_backward_input, inputs, out)
    assert res.status is Status.FAILED and "None" in res.message


def test_loss_value_signatures():
    inputs = loss.value_inputs(_rng())
    exp = reference.softmax_crossentropy_with_logits(inputs["logits"], inputs["answers"])
    for got, code in [(exp.mean(), "loss-not-per-sample"), (np.array([exp.sum()]), "loss-not-per-sample"),
                      (-exp, "loss-wrong-sign"), (exp[:, None], None)]:
        res = _verdict(loss.verdict_value, inputs, {"loss": np.asarray(got)})
        assert res.status is Status.FAILED
        assert res.diagnosis == ([code] if code else [])
    assert _verdict(loss.verdict_value, inputs, {"loss": exp.astype(np.float32).astype(float)}).status \
        is Status.PASSED
    # the large-logit rows are there, within what a naive exp() survives
    assert 40 < np.abs(inputs["logits"]).max() < 100


def test_loss_grad_signatures():
    inputs = loss.grad_inputs(_rng())
    exp = reference.grad_softmax_crossentropy_with_logits(inputs["logits"], inputs["answers"])
    b, k = exp.shape
    onehot = np.eye(k)[inputs["answers"]]
    cases = [(exp * b, ["loss-grad-not-divided-by-batch"]), (-exp, ["loss-grad-wrong-sign"]),
             (-exp * b, ["loss-grad-wrong-sign", "loss-grad-not-divided-by-batch"]),
             (exp + onehot / b, ["loss-grad-missing-onehot"]), (exp * b + onehot, ["loss-grad-missing-onehot"]),
             (exp / b, [])]
    for got, codes in cases:
        res = _verdict(loss.verdict_grad, inputs, {"grad": got})
        assert res.status is Status.FAILED and res.diagnosis == codes, (codes, res.diagnosis)
    assert _verdict(loss.verdict_grad, inputs, {"grad": exp.astype(np.float32).astype(float)}).status \
        is Status.PASSED


def test_params_float32_student_passes():
    inputs = dense.backward_params_inputs(_rng())
    out = _ref_step(inputs)
    out = {k: v.astype(np.float32).astype(float) for k, v in out.items()}
    res = _verdict(dense.verdict_backward_params, inputs, out)
    assert res.status is Status.PASSED, res.message


def test_broken_forward_does_not_cost_backward(engine, tmp_path):
    """A forward that crashes on non-square layers is reported once, by dense.forward."""
    variant = next(v for v in MUTANTS if v.name == "dense-forward-wt")
    checks = _by_id(engine.grade(variant.materialise(tmp_path), only=["dense"]))
    assert checks["dense.forward"].status is Status.FAILED
    for cid in ("dense.init", "dense.backward.input", "dense.backward.params"):
        assert checks[cid].status is Status.PASSED, (cid, checks[cid].message)


def test_not_an_array_is_named():
    inputs = loss.grad_inputs(_rng())
    res = _verdict(loss.verdict_grad, inputs, {"grad": {"not_array": "tuple"}})
    assert res.status is Status.FAILED and "tuple" in res.message
    inputs = dense.backward_input_inputs(_rng())
    res = _verdict(dense.verdict_backward_input, inputs, {"grad_input": {"not_array": "tuple"},
                                                        "weights": None, "biases": None})
    assert res.status is Status.FAILED and "tuple" in res.message
