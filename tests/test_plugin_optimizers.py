"""Option III checks (momentum.*, rmsprop.*, adam.*): reference, template, absent option, variants,
and the rule table itself (every accepted form recognised, every known mistake told apart from them)."""
import numpy as np
import pytest

from nncheck.config import Config
from nncheck.model import Status
from nncheck.plugins import optimizers as opt
from nncheck.cli.template import template_source
from nncheck.variants import REFERENCE_DIR

FAMILIES = ("momentum", "rmsprop", "adam")
VARIANTS = opt.nncheck_selftest_variants(Config())
FAST = ("trajectory", "input_grad")
# the form each correct variant must be named by in the trajectory verdict's message
EXPECTED_FORM = {
    "momentum-form-g": "in the form v = mu*v + g; W -= lr*v",
    "momentum-form-ema": "in the form v = mu*v + (1-mu)*g; W -= lr*v",
    "momentum-nesterov-sutskever": "in the form Nesterov: v = mu*v - lr*g; W += mu*v - lr*g",
    "momentum-nesterov-torch": "in the form Nesterov: v = mu*v + g; W -= lr*(g + mu*v)",
    "momentum-other-names": "in the form v = mu*v - lr*g; W += v",
    "rmsprop-eps-inside": "W -= lr*g/sqrt(s + eps)",
    "rmsprop-rho-fixed-eps": "W -= lr*g/(sqrt(s) + eps)",
    "rmsprop-average-starts-at-first-square": "s = g**2 at the first step, then d*s + (1-d)*g**2",
    "adam-paper-form": "W -= lr*sqrt(1-b2**t)/(1-b1**t) * m/(sqrt(v) + eps)",
    "momentum-hard-coded": "it uses momentum=0.95 (measured from its steps)",
    "momentum-named-beta1": "its momentum is the argument `beta1`",
}


def fast_checks(family):
    return [f"{family}.{name}" for name in FAST]


def test_reference_passes_every_check(engine):
    report = engine.grade(REFERENCE_DIR, only=list(FAMILIES))
    ids = {c.id for c in report.checks}
    assert ids == {f"{f}.{n}" for f in FAMILIES for n in ("trajectory", "input_grad", "experiment")}
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)
        assert c.section == "options"
    by_id = {c.id: c for c in report.checks}
    assert "in the form v = mu*v - lr*g; W += v" in by_id["momentum.trajectory"].message
    assert by_id["rmsprop.trajectory"].details["variant"] == "ema/out"
    assert by_id["adam.trajectory"].details["variant"] == "both/out"
    for fam in FAMILIES:
        d = by_id[f"{fam}.experiment"].details
        assert len(d["curves"]["option"]) == len(d["curves"]["baseline"]) == opt.EXPERIMENT["steps"]
        assert d["final"]["option"] < 0.8 * d["final"]["baseline"], (fam, d["final"])  # a clear win
        assert d["criterion"] and d["sgd_arm"] == "student"


def test_template_is_not_attempted(engine):
    report = engine.grade(template_source(), only=list(FAMILIES))
    assert len(report.checks) == 9
    for c in report.checks:
        assert c.status is Status.SKIPPED, (c.id, c.status, c.message)
        if c.id.endswith(".experiment"):
            assert "did not pass" in c.message
        else:
            assert "not implemented" in c.message.lower(), (c.id, c.message)


def test_absent_options_are_skipped_not_failed(engine, write_py):
    path = write_py("""
        import numpy as np
        class Dense:
            def __init__(self, input_units, output_units, learning_rate=0.1):
                self.weights = np.random.randn(input_units, output_units) * 0.01
                self.biases = np.zeros(output_units)
    """)
    report = engine.grade(path, only=list(FAMILIES))
    assert len(report.checks) == 9
    assert all(c.status is Status.SKIPPED and "not attempted" in c.message for c in report.checks)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant(engine, tmp_path, variant):
    path = variant.materialise(tmp_path)
    if variant.kind == "correct":
        # every correct form passes the fast checks; the experiment is graded for the forms that run
        # it differently (the moving-average momentum runs at lr/(1-mu)) or could be slower
        only = list(variant.families) if variant.name in ("momentum-form-ema", "adam-paper-form") else \
            [c for f in variant.families for c in fast_checks(f)]
        report = engine.grade(path, only=only)
        assert report.checks
        for c in report.checks:
            assert c.status is Status.PASSED, (variant.name, c.id, c.message)
            if c.id.endswith(".trajectory"):
                assert EXPECTED_FORM[variant.name] in c.message, (variant.name, c.message)
        return
    report = engine.grade(path, only=fast_checks(variant.family))
    failed = [c for c in report.checks if c.status is Status.FAILED]
    assert failed, (variant.name, [(c.id, c.status, c.message) for c in report.checks])
    assert any(variant.diagnosis in c.diagnosis for c in failed), \
        (variant.name, [(c.id, c.diagnosis, c.message) for c in failed])


def test_student_style_momentum_with_other_names(engine, write_py):
    """A notebook-style layer: own backward, lazily created velocity, in-place updates, lr/beta names."""
    path = write_py("""
        import numpy as np
        class Dense:
            def __init__(self, input_units, output_units, learning_rate=0.1):
                self.learning_rate = learning_rate
                self.weights = np.random.randn(input_units, output_units) * 0.01
                self.biases = np.zeros(output_units)
            def forward(self, input):
                return input @ self.weights + self.biases
            def backward(self, input, grad_output):
                grad_input = grad_output @ self.weights.T
                self.weights -= self.learning_rate * input.T @ grad_output
                self.biases -= self.learning_rate * grad_output.sum(axis=0)
                return grad_input
        class MomentumDense(Dense):
            def __init__(self, input_units, output_units, lr=0.1, beta=0.9):
                super().__init__(input_units, output_units, lr)
                self.beta = beta
                self.vw = None
            def backward(self, input, grad_output):
                grad_input = np.dot(grad_output, self.weights.T)
                if self.vw is None:
                    self.vw, self.vb = np.zeros_like(self.weights), np.zeros_like(self.biases)
                self.vw = self.beta * self.vw + np.einsum("bi,bo->io", input, grad_output)
                self.vb = self.beta * self.vb + grad_output.sum(0)
                self.weights -= self.learning_rate * self.vw
                self.biases -= self.learning_rate * self.vb
                return grad_input
    """)
    report = engine.grade(path, only=fast_checks("momentum"))
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)
    traj = next(c for c in report.checks if c.id == "momentum.trajectory")
    assert "v = mu*v + g; W -= lr*v" in traj.message and "self.vw" in traj.message
    assert traj.details["passed_as"] == {"learning_rate": "lr", "momentum": "beta"}


# --------------------------------------------------------------------------
# The rule table, without a worker: simulated trajectories of every rule
# --------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_rule_table_tells_every_mistake_from_every_accepted_form(family):
    cfg = Config()
    for seed in range(1):  # telling the rules apart is structural: one draw of the grader's inputs suffices
        inputs = opt.trajectory_inputs(family)(np.random.default_rng([seed, 7]))
        grads = {"": opt._gradients(inputs), "batch": opt._gradients(inputs, "batch")}
        for rule in opt.UPDATE_RULES[family]:
            Ws, bs, _ = opt._simulate(rule, inputs["hyper"], inputs["W0"], inputs["b0"], grads[rule.grad_scale])
            an = opt.analyse(family, inputs, Ws, bs, {}, cfg.tolerance(f"{family}.trajectory", 1e-6))
            if rule.accepted:
                assert an.accepted is not None and an.accepted.rule.accepted, rule.key
            else:
                assert an.accepted is None, (rule.key, an.accepted.rule.key)
                assert an.mistake is not None, rule.key
                got = set(an.mistake.rule.diagnoses)
                assert got and got <= set(rule.diagnoses), (rule.key, got)


_NORMALISED = '''
import numpy as np
class Layer:
    def __init__(self, n_in, n_out, learning_rate=0.01):
        self.learning_rate = learning_rate
        self.weights = np.zeros((n_in, n_out))
        self.biases = np.zeros(n_out)
        self.s = np.zeros((n_in, n_out))
    def forward(self, input):
        return input @ self.weights + self.biases
    def backward(self, input, grad_output):
        g = input.T @ grad_output
        self.s = %s
        self.weights = self.weights - self.learning_rate * g / (np.sqrt(self.s) + 1e-8)
        return grad_output @ self.weights.T
'''


@pytest.mark.parametrize("normaliser, kind", [
    ("self.s + g ** 2", "adagrad"),                      # a sum never forgets: AdaGrad, not RMSProp
    ("0.9 * self.s + 0.1 * g ** 2", "rmsprop"),
    ("0.99 * self.s + 0.01 * g ** 2", "rmsprop"),
])
def test_optimizer_kind_tells_adagrad_from_rmsprop(normaliser, kind):
    """A nameless candidate is graded as RMSProp only if its normaliser forgets: an AdaGrad of the
    student's own (or of an instructor's plugin) is not failed as a broken RMSProp."""
    assert _kind(_NORMALISED % normaliser) == kind


def _kind(source):
    from nncheck.plugins.optimizers.sandboxed import optimizer_kind
    ns = {}
    exec(source, ns)
    return optimizer_kind(ns, {"class": "Layer", "option": "rmsprop", "params": []})
