"""Option I (xavier.*) and option II (l2.*) checks: reference, template, absent option, variants."""
import numpy as np
import pytest

from nncheck.config import Config
from nncheck.model import Result, Status
from nncheck.plugins import l2, xavier
from nncheck.variants import REFERENCE_DIR
from nncheck.cli.template import template_source

FAMILIES = ("xavier", "l2")
VARIANTS = [(fam, v) for fam, mod in (("xavier", xavier), ("l2", l2))
            for v in mod.nncheck_selftest_variants(Config())]


def family_checks(engine, family, experiments=True):
    return [c.id for c in engine.checks if c.family == family
            and (experiments or not c.id.endswith(".experiment"))]


def test_reference_passes_every_check(engine):
    report = engine.grade(REFERENCE_DIR, only=list(FAMILIES))
    ids = {c.id for c in report.checks}
    assert {"xavier.init", "xavier.forward_backward", "xavier.experiment", "l2.grad", "l2.experiment"} <= ids
    for c in report.checks:
        assert c.status is Status.PASSED, (c.id, c.message)
        assert c.section == "options"
    exp = {c.id: c for c in report.checks}
    curves = exp["xavier.experiment"].details["curves"]
    assert curves["option"][-1] - curves["baseline"][-1] >= 0.10
    assert {"option_weight_norm", "baseline_weight_norm", "option", "baseline"} <= set(
        exp["l2.experiment"].details["curves"])


def test_template_is_not_attempted(engine):
    report = engine.grade(template_source(), only=list(FAMILIES))
    assert report.checks
    for c in report.checks:
        assert c.status is Status.SKIPPED, (c.id, c.status, c.message)
        assert "not implemented" in c.message.lower() or "notimplementederror" in c.message.lower() \
            or "did not pass" in c.message, (c.id, c.message)


def test_absent_options_are_skipped_not_failed(engine, write_py):
    path = write_py("""
        import numpy as np
        class Dense:
            def __init__(self, input_units, output_units, learning_rate=0.1):
                self.weights = np.random.randn(input_units, output_units) * 0.01
                self.biases = np.zeros(output_units)
    """)
    report = engine.grade(path, only=list(FAMILIES))
    assert report.checks and all(c.status is Status.SKIPPED for c in report.checks)
    assert all("not attempted" in c.message for c in report.checks)


@pytest.mark.parametrize("family,variant", VARIANTS, ids=[v.name for _, v in VARIANTS])
def test_variant(engine, tmp_path, family, variant):
    from nncheck.selftest import engine_for

    engine = engine_for(engine, variant)  # a variant under the instructor's strict L2 setting
    path = variant.materialise(tmp_path)
    if variant.kind == "correct":
        report = engine.grade(path, only=list(variant.families or (family,)))
        assert report.checks
        for c in report.checks:
            assert c.status is Status.PASSED, (variant.name, c.id, c.message)
    else:
        # mutants are caught by the fast checks; the experiments are not needed to recognise them
        report = engine.grade(path, only=family_checks(engine, family, experiments=False))
        failed = [c for c in report.checks if c.family == variant.family and c.status is Status.FAILED]
        assert failed, (variant.name, [(c.id, c.status, c.message) for c in report.checks])
        if variant.diagnosis:
            assert any(variant.diagnosis in c.diagnosis for c in failed), \
                (variant.name, [(c.id, c.diagnosis, c.message) for c in failed])


def test_notebook_dense_reg_gets_both_diagnoses_in_words(engine, tmp_path):
    """Under the instructor's strict setting the notebook's reg*W is a mistake too."""
    from nncheck.selftest import engine_for

    variant = next(v for _, v in VARIANTS if v.name == "l2-notebook-dense-reg")
    assert variant.config == {"options": {"l2_convention": "strict"}}
    report = engine_for(engine, variant).grade(variant.materialise(tmp_path), only=["l2.grad"])
    (c,) = report.checks
    assert c.status is Status.FAILED
    assert {"l2-half-convention", "l2-divided-by-batch"} <= set(c.diagnosis)
    assert "notebook" in c.message and "2*reg*W" in c.message and "reg*W" in c.message
    assert "x.T @ grad_output is divided by the batch size" in c.message
    assert "mean(axis=0)" in c.message


def test_notebook_dense_reg_by_default_names_only_the_division(engine, tmp_path):
    """By default the notebook's reg*W (the half convention) is accepted; its division by the batch is not."""
    variant = next(v for _, v in VARIANTS if v.name == "l2-notebook-dense-reg-lenient")
    (c,) = engine.grade(variant.materialise(tmp_path), only=["l2.grad"]).checks
    assert c.status is Status.FAILED
    assert "l2-divided-by-batch" in c.diagnosis and "l2-half-convention" not in c.diagnosis
    assert "half convention, accepted" in c.message and "2*reg*W" not in c.message.split("\n")[-1]


HALF = """
import numpy as np
class L2Dense:
    def __init__(self, input_units, output_units, learning_rate=0.1, alpha=0.01):
        self.learning_rate, self.alpha = learning_rate, alpha
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)
    def forward(self, x):
        return x @ self.weights + self.biases
    def backward(self, x, g):
        gi = g @ self.weights.T
        self.weights = self.weights - self.learning_rate * (x.T @ g + self.alpha * self.weights)
        self.biases = self.biases - self.learning_rate * g.sum(0)
        return gi
"""


def test_half_convention_passes_with_a_note_unless_strict(engine, write_py):
    from nncheck.config import from_mapping
    from nncheck.engine import Engine

    path = write_py(HALF)
    (c,) = engine.grade(path, only=["l2.grad"]).checks
    assert c.status is Status.PASSED, c.message
    assert "note:" in c.message and "notebook's convention" in c.message and "(alpha/2)*sum(W**2)" in c.message
    strict = Engine(from_mapping({"options": {"l2_convention": "strict"}}), entry_points=False)
    (c,) = strict.grade(path, only=["l2.grad"]).checks
    assert c.status is Status.FAILED and c.diagnosis == ["l2-half-convention"], c.message


def test_strict_setting_fails_the_half_convention_fixture(tmp_path):
    """The fixture l2_class_dense_underscore_half passes by default (test_discovery_fixtures) and fails
    with l2-half-convention under [options] l2_convention = "strict"."""
    from test_discovery_fixtures import HERE, compose

    from nncheck.config import from_mapping
    from nncheck.engine import Engine

    strict = Engine(from_mapping({"options": {"l2_convention": "strict"}}), entry_points=False)
    sub = tmp_path / "submission.py"
    sub.write_text(compose(HERE / "l2_class_dense_underscore_half.py"))
    (c,) = [c for c in strict.grade(sub, only=["l2.grad"], seed=3).checks]
    assert c.status is Status.FAILED and "l2-half-convention" in c.diagnosis, c.message


def test_l2_coefficient_found_under_other_names(engine, write_py):
    path = write_py("""
        import numpy as np
        class L2Dense:
            def __init__(self, n_in, n_out, lr=0.1, lambda_=1e-3):
                self.lr, self.lambda_ = lr, lambda_
                self.weights = np.random.randn(n_in, n_out) * 0.01
                self.biases = np.zeros(n_out)
            def forward(self, x):
                return x @ self.weights + self.biases
            def backward(self, x, g):
                gi = g @ self.weights.T
                self.weights -= self.lr * (x.T @ g + 2 * self.lambda_ * self.weights)
                self.biases -= self.lr * g.sum(0)
                return gi
    """)
    (c,) = engine.grade(path, only=["l2.grad"]).checks
    assert c.status is Status.PASSED, c.message
    assert "lambda_" in c.message


def test_xavier_init_statistics_are_calibrated():
    """Correct normal and uniform draws pass, and so does the fan-in Xavier variance 1/in (CONTRACT
    option I); He's 2/in fails with partial credit, many times over (no student code involved)."""
    rng = np.random.default_rng(123)
    passes = {"normal": 0, "uniform": 0, "he": 0, "lecun": 0}
    runs = 20
    for _ in range(runs):
        inputs = xavier.init_inputs(rng)
        for kind in passes:
            ws = []
            for n_in, n_out in inputs["shapes"]:
                v = 2.0 / (n_in + n_out)
                if kind == "normal":
                    w = rng.normal(0, np.sqrt(v), (n_in, n_out))
                elif kind == "uniform":
                    lim = np.sqrt(3 * v)
                    w = rng.uniform(-lim, lim, (n_in, n_out))
                elif kind == "he":
                    w = rng.normal(0, np.sqrt(2.0 / n_in), (n_in, n_out))
                else:
                    w = rng.normal(0, np.sqrt(1.0 / n_in), (n_in, n_out))
                ws.append(w)
            out = {"weights": ws, "biases": [np.zeros(s[1]) for s in inputs["shapes"]]}
            result = xavier.verdict_init(inputs, out)
            assert isinstance(result, Result)
            passes[kind] += result.status is Status.PASSED
            if kind == "he":
                assert "xavier-wrong-variance" in result.diagnosis
                assert "He" in result.message and result.fraction == xavier.HE_CREDIT
    assert passes == {"normal": runs, "uniform": runs, "he": 0, "lecun": runs}


# --------------------------------------------------------------------------
# What the words say: the experiment's margin, one sentence per mistake

def _experiment_output(gap_l2, gap_none, epochs=15):
    def arm(gap, norm):
        val = [0.2 + 0.01 * i for i in range(epochs)]
        return {"val_acc": val, "train_acc": [v + gap for v in val], "weight_norm": [norm] * epochs,
                "loss": [1.0] * epochs}
    return {"how": {"class": "L2Dense", "coefficient": "alpha"}, "l2": arm(gap_l2, 1.8), "none": arm(gap_none, 4.5)}


def test_l2_experiment_title_criterion_and_message_agree():
    """l2.experiment passed 8/8 saying "gap 4.7% vs 4.1%" under a title that said the gap must not
    widen: the title, the criterion and the message all name the margin that is allowed."""
    inputs = l2.exp_inputs(np.random.default_rng(0))
    (check,) = [c for c in l2.nncheck_checks(Config()) if c.id == "l2.experiment"]
    assert "beyond a 2-point margin" in check.title
    wider = l2.verdict_experiment(inputs, _experiment_output(0.047, 0.041))
    assert wider.status is Status.PASSED
    assert wider.message.endswith("gap 4.7% with L2 vs 4.1% without: 0.6 points wider, within the 2-point "
                                  "margin for evaluation noise"), wider.message
    assert "at most 2 points wider than without L2" in wider.details["criterion"]
    narrower = l2.verdict_experiment(inputs, _experiment_output(0.02, 0.041))
    assert narrower.status is Status.PASSED and narrower.message.endswith("without: narrower")
    beyond = l2.verdict_experiment(inputs, _experiment_output(0.071, 0.041))
    assert beyond.status is Status.FAILED
    assert "widens the train/validation gap by 3.0 points, beyond the 2-point margin" in beyond.message
    # an instructor's own margin is the one every word names
    from nncheck.config import from_mapping
    strict = from_mapping({"tolerances": {"l2.experiment": 0.01}})
    (check,) = [c for c in l2.nncheck_checks(strict) if c.id == "l2.experiment"]
    assert "beyond a 1-point margin" in check.title
    assert check.verdict(inputs, _experiment_output(0.047, 0.041)).status is Status.PASSED
    result = check.verdict(inputs, _experiment_output(0.055, 0.041))
    assert result.status is Status.FAILED and "beyond the 1-point margin" in result.message


def test_l2_grad_names_each_mistake_in_its_own_sentence():
    """The original notebook's Dense_reg got one 100-word paragraph holding separate mistakes: now
    a first line, then one short sentence per mistake, each with its own evidence, shown apart on
    every surface."""
    import inspect
    import json

    from nncheck.classroom.jupyter import render_inline
    from nncheck.model import CheckRecord, Report
    from nncheck.report.gradescope import render_gradescope
    from nncheck.report.html import render_html
    from nncheck.report.prairielearn import render_prairielearn
    from nncheck.report.text import message_lines, render_text, report_dict
    from nncheck.scoring import score_report

    rng = np.random.default_rng(3)
    inputs = l2.grad_inputs(rng)
    W, b, x, g, lr, alpha = (inputs[k] for k in ("W", "b", "x", "grad_output", "lr", "alpha"))
    batch = len(x)
    output = {"out": x @ W + b, "grad_input": g @ W.T,  # the notebook's Dense_reg
              "W_after": W - lr * (x.T @ g / batch + alpha * W), "b_after": b - lr * g.mean(axis=0),
              "how": {"class": "Dense_reg", "coefficient": "reg", "learning_rate": "learning_rate",
                      "parameters": ["input_units", "output_units", "learning_rate", "reg"]}}
    strict = {"strict": True} if "strict" in inspect.signature(l2.verdict_grad).parameters else {}
    result = l2.verdict_grad(inputs, output, **strict)
    assert result.status is Status.FAILED
    head, *mistakes = message_lines(result.message)
    assert head.startswith("Dense_reg.backward has ") and f"batch size {batch}" in head
    assert len(mistakes) == (3 if strict else 2) and len(mistakes) >= 2
    for sentence in mistakes:
        assert len(sentence.split()) <= 45, sentence        # short
        assert sentence.count(". ") == 0, sentence          # one sentence
        assert any(ch.isdigit() for ch in sentence), sentence  # its own evidence: what was measured
    assert any(f"1/{batch}) of it" in m and "x.T @ grad_output" in m for m in mistakes)
    assert any("grad_output.mean(axis=0)" in m and f"1/{batch}" in m for m in mistakes)

    rec = CheckRecord(id="l2.grad", title="L2", section="options", status=Status.FAILED, score=0, max_score=12,
                      message=result.message, hint=result.hint, diagnosis=list(result.diagnosis))
    rep = score_report(Report(submission="nb.ipynb", checks=[rec]), Config())
    text = render_text(rep)
    assert f"       {head}" in text and all(f"       - {m}" in text for m in mistakes)
    for html in (render_html(rep), render_inline(report_dict(rep))):
        assert f">{_esc(head)}</p>" in html
        for m in mistakes:
            assert f"<li>{_esc(m)}</li>" in html
    gs = json.loads(render_gradescope(rep))["tests"][0]["output"]
    pl = json.loads(render_prairielearn(rep))["tests"][0]["message"]
    for out in (gs, pl):
        assert head in out.splitlines() and all(f"- {m}" in out.splitlines() for m in mistakes)


def _esc(text: str) -> str:
    import markupsafe

    return str(markupsafe.escape(text))


def test_l2_experiment_runs_a_hard_coded_coefficient_at_its_own_value(engine, write_py):
    """A layer with `2 * 0.01 * W` and no argument for it trained at its own coefficient, against the
    student's plain Dense: a correct L2 is not failed for a coefficient nncheck cannot set."""
    path = write_py((REFERENCE_DIR / "layers.py").read_text() + '''

class RegDense(Dense):
    def backward(self, input, grad_output):
        grad_input = grad_output @ self.weights.T
        grad_weights = input.T @ grad_output + 2 * 0.01 * self.weights
        self.weights = self.weights - self.learning_rate * grad_weights
        self.biases = self.biases - self.learning_rate * grad_output.sum(axis=0)
        return grad_input
''')
    report = engine.grade(path, only=["l2.experiment"])
    (check,) = report.checks
    assert check.status is Status.PASSED, check.message
    assert "at the coefficient it hard-codes, against your Dense without the penalty" in check.message
    assert check.details["passed_as"]["own_coefficient"] is True
