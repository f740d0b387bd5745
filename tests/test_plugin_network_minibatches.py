"""The network and minibatches plugins: reference, template, mutants and correct variants."""
import numpy as np
import pytest

from nncheck.config import Config
from nncheck.gradient_check import numerical_gradient_array, rel_error
from nncheck.model import Status
from nncheck.plugins import minibatches as mb_plugin
from nncheck.plugins import network as net_plugin
from nncheck.plugins.network import sandboxed as net_probes

from conftest import REPO, by_id

FAMILIES = ("network", "minibatches")
VARIANTS = (net_plugin.nncheck_selftest_variants(Config())
            + mb_plugin.nncheck_selftest_variants(Config()))
MUTANTS = [v for v in VARIANTS if v.kind == "mutant"]
CORRECT = [v for v in VARIANTS if v.kind == "correct"]


def _mine(report):
    return [c for c in report.checks if c.family in FAMILIES]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_passes(engine, seed):
    report = engine.grade(REPO / "reference", only=list(FAMILIES), seed=seed)
    checks = _mine(report)
    assert {c.id for c in checks} >= {
        "network.forward", "network.predict", "network.train", "minibatches.pairing",
        "minibatches.coverage", "minibatches.order", "minibatches.shuffling"}
    assert all(c.status is Status.PASSED for c in checks), [(c.id, c.message) for c in checks]


def test_template_fails_not_implemented(engine):
    report = engine.grade(REPO / "student_template", only=list(FAMILIES))
    for c in _mine(report):
        assert c.status is Status.FAILED, (c.id, c.status)
        assert "not implemented" in c.message.lower(), (c.id, c.message)


@pytest.mark.parametrize("variant", MUTANTS, ids=lambda v: v.name)
def test_mutant_is_caught_and_diagnosed(engine, tmp_path, variant):
    report = engine.grade(variant.materialise(tmp_path), only=[variant.family])
    failed = [c for c in report.checks if c.family == variant.family and c.status is Status.FAILED]
    assert failed, f"{variant.name} passed every {variant.family} check"
    codes = {d for c in failed for d in c.diagnosis}
    assert variant.diagnosis in codes, (variant.name, [(c.id, c.diagnosis, c.message) for c in failed])


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.name)
def test_correct_variant_passes(engine, tmp_path, variant):
    report = engine.grade(variant.materialise(tmp_path), only=list(FAMILIES))
    bad = [(c.id, c.status, c.message) for c in _mine(report) if c.status is not Status.PASSED]
    assert not bad, (variant.name, bad)


def test_notebook_train_reports_both_codes(engine, tmp_path):
    """The original notebook's loop skips the last layer and goes forward: both are named."""
    variant = next(v for v in MUTANTS if v.name == "train-notebook-zip")
    report = engine.grade(variant.materialise(tmp_path), only=["network.train"])
    rec = by_id(report)["network.train"]
    assert rec.status is Status.FAILED
    assert {"backprop-skips-layer", "backprop-wrong-order"} <= set(rec.diagnosis)
    assert "network[4]" in rec.message and "forward order" in rec.message


def test_fake_layers_backward_is_their_gradient():
    """The grader's fake layers are consistent, so the grad chain they produce is meaningful."""
    inputs = net_plugin.network_inputs(np.random.default_rng(5))
    x = inputs["X"]
    for spec in inputs["layers"]:
        out = net_probes.layer_forward(spec, x)
        g = np.random.default_rng(1).normal(size=out.shape)
        num = numerical_gradient_array(lambda v: net_probes.layer_forward(spec, v), x.copy(), g)
        assert rel_error(net_probes.layer_backward(spec, x, g), num) < 1e-6
        x = out


def test_fake_layers_never_raise():
    log = []
    layer = net_probes.RecordingLayer(0, {"kind": "affine", "W": np.ones((3, 2)), "b": np.zeros(2)}, log)
    assert layer.forward(np.ones((4, 5))).shape == (4, 2)
    assert layer.backward("oops", np.ones((4, 7))).shape == (4, 3)
    assert [c["ok"] for c in log] == [False, False]
    assert log[1]["input"] == "<str>"


STUDENT_STYLE = '''
import numpy as np


def softmax_crossentropy_with_logits(logits, reference_answers):
    # plain (unstable) log-sum-exp: fine for moderate logits
    a = logits[np.arange(len(logits)), reference_answers]
    return -a + np.log(np.sum(np.exp(logits), axis=-1))


def grad_softmax_crossentropy_with_logits(logits, reference_answers):
    ones = np.zeros_like(logits)
    ones[np.arange(len(logits)), reference_answers] = 1
    softmax = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return (-ones + softmax) / logits.shape[0]


def forward(network, X):
    activations = []
    for i, layer in enumerate(network):
        activations.append(layer.forward(X if i == 0 else activations[i - 1]))
    return activations


def predict(network, X):
    return [int(np.argmax(row)) for row in forward(network, X)[-1]]


def train(network, X, y):
    acts = forward(network, X)
    loss = softmax_crossentropy_with_logits(acts[-1], y)
    grad = grad_softmax_crossentropy_with_logits(acts[-1], y)
    for layer, inp in zip(reversed(network), reversed([X] + acts[:-1])):
        grad = layer.backward(inp, grad)
    return np.mean(loss)


def iterate_minibatches(inputs, targets, batchsize, shuffle=False):
    order = list(range(len(inputs)))
    if shuffle:
        order = list(np.random.permutation(len(inputs)))
    while order:
        take, order = order[:batchsize], order[batchsize:]
        yield [inputs[take], targets[take]]
'''


def test_student_style_submission_passes(engine, write_py):
    report = engine.grade(write_py(STUDENT_STYLE), only=list(FAMILIES))
    bad = [(c.id, c.status, c.message) for c in _mine(report) if c.status is not Status.PASSED]
    assert not bad, bad
