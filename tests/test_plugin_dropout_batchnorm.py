"""The Dropout and BatchNorm bonus plugins: reference, template, mutants, correct variants."""
import numpy as np
import pytest

from nncheck import reference as ref
from nncheck.config import Config
from nncheck.gradient_check import numerical_gradient_array
from nncheck.model import Status
from nncheck.plugins import batchnorm, dropout

from conftest import REPO, by_id

FAMILIES = ["dropout", "batchnorm"]
VARIANTS = (dropout.nncheck_selftest_variants(Config())
            + batchnorm.nncheck_selftest_variants(Config()))
MUTANTS = [v for v in VARIANTS if v.kind == "mutant"]
CORRECT = [v for v in VARIANTS if v.kind == "correct"]
IDS = {"dropout": {"dropout.train_forward", "dropout.backward", "dropout.eval"},
       "batchnorm": {"batchnorm.train_forward", "batchnorm.backward", "batchnorm.running_stats",
                     "batchnorm.eval"}}


def _family(report, family):
    return [c for c in report.checks if c.family == family]


def test_checks_registered(engine):
    ids = {c.id for c in engine.checks}
    assert IDS["dropout"] | IDS["batchnorm"] <= ids
    for c in engine.checks:
        if c.family in FAMILIES:
            assert c.section == "bonus"


def test_reference_passes(engine):
    report = engine.grade(REPO / "reference", only=FAMILIES)
    checks = by_id(report)
    assert IDS["dropout"] | IDS["batchnorm"] <= set(checks)
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)
    assert "biased" in checks["batchnorm.running_stats"].message


def test_template_not_attempted(engine):
    report = engine.grade(REPO / "student_template", only=FAMILIES)
    assert len(report.checks) == 7
    for c in report.checks:
        assert c.status is Status.SKIPPED, (c.id, c.status, c.message)
        assert "not attempted" in c.message.lower() and "not implemented" in c.message.lower()


def test_missing_classes_are_skipped(engine, write_py):
    path = write_py("import numpy as np\nclass Layer:\n    pass\n")
    report = engine.grade(path, only=FAMILIES)
    assert report.checks and all(c.status is Status.SKIPPED for c in report.checks)
    assert report.exit_code() == 0


@pytest.mark.parametrize("variant", MUTANTS, ids=lambda v: v.name)
def test_mutant_caught_and_diagnosed(engine, tmp_path, variant):
    report = engine.grade(variant.materialise(tmp_path), only=[variant.family])
    assert report.load["ok"] and not report.load["problems"], report.load  # the edit still parses
    failed = [c for c in _family(report, variant.family) if c.status is Status.FAILED]
    assert failed, f"{variant.name} passed every {variant.family} check"
    codes = {code for c in failed for code in c.diagnosis}
    assert variant.diagnosis in codes, (variant.name, [(c.id, c.diagnosis, c.message) for c in failed])


@pytest.mark.parametrize("variant", CORRECT, ids=lambda v: v.name)
def test_correct_variant_passes(engine, tmp_path, variant):
    report = engine.grade(variant.materialise(tmp_path), only=list(variant.families or FAMILIES))
    assert not report.load["problems"], report.load
    assert report.checks
    for c in report.checks:
        assert c.status is Status.PASSED, (variant.name, c.id, c.message)


def test_pytorch_convention_is_named(engine, tmp_path):
    variant = next(v for v in CORRECT if v.name == "batchnorm-pytorch-momentum-unbiased")
    report = engine.grade(variant.materialise(tmp_path), only=["batchnorm.running_stats"])
    msg = by_id(report)["batchnorm.running_stats"].message
    assert "PyTorch" in msg and "unbiased" in msg


def test_several_seeds_reference(engine):
    for seed in (1, 2, 3):
        report = engine.grade(REPO / "reference", only=FAMILIES, seed=seed)
        assert all(c.status is Status.PASSED for c in report.checks), [(c.id, c.message) for c in report.checks]


def test_student_style_submission(engine, write_py):
    """A hand-written style: other constructor names, default_rng, cached statistics, (1, n) parameters."""
    path = write_py('''
        import numpy as np

        class Layer:
            def forward(self, input): return input
            def backward(self, input, grad_output): return grad_output

        class Dropout(Layer):
            def __init__(self, drop=0.5):
                self.drop, self.training, self.rng = drop, True, np.random.default_rng()
            def forward(self, input):
                if not self.training:
                    return input
                self.m = (self.rng.uniform(size=input.shape) >= self.drop) / (1 - self.drop)
                return self.m * input
            def backward(self, input, grad_output):
                return grad_output * self.m if self.training else grad_output

        class BatchNorm(Layer):
            def __init__(self, n, lr=0.1, momentum=0.9, eps=1e-5):
                self.lr, self.mom, self.eps, self.training = lr, momentum, eps, True
                self.gamma, self.beta = np.ones((1, n)), np.zeros((1, n))
                self.running_mean, self.running_var = np.zeros(n), np.ones(n)
            def forward(self, x):
                if self.training:
                    mu, var = x.mean(0), ((x - x.mean(0)) ** 2).mean(0)
                    self.running_mean = self.mom * self.running_mean + (1 - self.mom) * mu
                    self.running_var = self.mom * self.running_var + (1 - self.mom) * var
                else:
                    mu, var = self.running_mean, self.running_var
                self.std = np.sqrt(var + self.eps)
                self.xhat = (x - mu) / self.std
                return self.gamma * self.xhat + self.beta
            def backward(self, x, g):
                n = x.shape[0]
                dxhat = g * self.gamma
                dx = (n * dxhat - dxhat.sum(0) - self.xhat * (dxhat * self.xhat).sum(0)) / (n * self.std)
                self.gamma -= self.lr * (g * self.xhat).sum(0)
                self.beta -= self.lr * g.sum(0)
                return dx
    ''')
    report = engine.grade(path, only=FAMILIES)
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)


def test_shared_mask_recognised(engine, write_py):
    path = write_py('''
        import numpy as np
        class Dropout:
            def __init__(self, p=0.5):
                self.p, self.training = p, True
            def forward(self, input):
                self.mask = (np.random.rand(input.shape[1]) >= self.p) / (1 - self.p)
                return input * self.mask
            def backward(self, input, grad_output):
                return grad_output * self.mask
    ''')
    check = by_id(engine.grade(path, only=["dropout.train_forward"]))["dropout.train_forward"]
    assert check.status is Status.FAILED
    assert "dropout-mask-shared-across-batch" in check.diagnosis


def test_reference_batchnorm_backward_matches_numerical_gradient():
    """The reference the verdicts compare with agrees with finite differences (input, gamma, beta)."""
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(7, 4))
    g = rng.normal(size=(7, 4))
    gamma, beta = rng.uniform(0.5, 2.0, 4), rng.normal(size=4)

    def layer(gm=gamma, bt=beta):
        bn = ref.BatchNorm(4, learning_rate=0.1)
        bn.gamma, bn.beta = gm.copy(), bt.copy()
        return bn

    bn = layer()
    bn.forward(x)
    grad_input = bn.backward(x, g)
    assert np.allclose(grad_input, numerical_gradient_array(lambda v: layer().forward(v), x.copy(), g),
                       rtol=1e-5, atol=1e-8)
    dgamma = (gamma - bn.gamma) / 0.1
    dbeta = (beta - bn.beta) / 0.1
    assert np.allclose(dgamma, numerical_gradient_array(lambda v: layer(gm=v).forward(x), gamma.copy(), g),
                       rtol=1e-5, atol=1e-8)
    assert np.allclose(dbeta, numerical_gradient_array(lambda v: layer(bt=v).forward(x), beta.copy(), g),
                       rtol=1e-5, atol=1e-8)


def test_hoeffding_margin_separates_keep_probability():
    t = dropout._hoeffding_t(int(np.prod(dropout.TRAIN_SHAPE)))
    assert t < 0.01
    assert 2 * np.exp(-2 * np.prod(dropout.TRAIN_SHAPE) * t ** 2) <= dropout.DELTA * 1.0001
    # every rate drawn by the inputs is further than 2t from 1 - p
    for p in (0.2, 0.25, 0.3, 0.35, 0.7, 0.75, 0.8):
        assert abs((1 - p) - p) > 2 * t
