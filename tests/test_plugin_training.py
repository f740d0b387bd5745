"""training.accuracy: the student's network learns MNIST like the reference, from the same start."""
import math
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.plugins import training
from nncheck.variants import Variant

REPO = Path(__file__).resolve().parents[1]
VARIANTS = training.nncheck_selftest_variants(Config())
CHECK = "training.accuracy"


def _grade(engine, path, **kw):
    report = engine.grade(path, only=["training"], **kw)
    checks = {c.id: c for c in report.checks}
    assert set(checks) == {CHECK}
    return checks[CHECK]


def _variant(name, file, old, new):
    return Variant(name, "correct", edits=[(file, old, new)])


@pytest.fixture(scope="module")
def reference_record(engine):
    return _grade(engine, REPO / "reference")


def test_reference_passes_with_meaningful_accuracy(reference_record):
    rec = reference_record
    assert rec.status == "passed", rec.message
    assert rec.score == rec.max_score == 20
    assert rec.details["reference_val_accuracy"] >= 0.85
    assert rec.details["student_val_accuracy"] == rec.details["reference_val_accuracy"]
    assert rec.details["margin"] == 0.02
    assert rec.details["n_train"] % rec.details["batch_size"] == 0


def test_curves_in_details(reference_record):
    details = reference_record.details
    epochs = details["epochs"]
    assert epochs == training.DEFAULTS["epochs"]
    for who in ("student", "reference"):
        curves = details["curves"][who]
        assert set(curves) == {"train_loss", "train_accuracy", "val_accuracy"}
        assert all(len(v) == epochs for v in curves.values())
        assert curves["train_loss"][0] > curves["train_loss"][-1]  # it learns
        assert all(0 <= a <= 1 for a in curves["val_accuracy"])


def test_template_not_implemented(engine):
    rec = _grade(engine, REPO / "student_template")
    assert rec.status == "failed"
    assert "not implemented" in rec.message.lower()


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_variant(engine, tmp_path, variant):
    rec = _grade(engine, variant.materialise(tmp_path))
    if variant.kind == "correct":
        assert rec.status == "passed", rec.message
    else:
        assert variant.family == "training"
        assert rec.status == "failed", rec.message
        assert variant.diagnosis in rec.diagnosis, (rec.diagnosis, rec.message)
        assert rec.message and rec.hint
        assert "curves" in rec.details or variant.diagnosis == "training-predict-shape"
    if variant.name == "training-update-sign":
        assert "loss became NaN at epoch 1" in rec.message
        assert "learning rate too large, or an exp overflow in the loss" in rec.message


def test_mutant_diagnoses_as_measured():
    """The brief's two named mutants, with the diagnoses they were measured to produce."""
    by_name = {v.name: v for v in VARIANTS}
    assert by_name["training-update-sign"].diagnosis == "training-nan"
    assert by_name["training-dw-mean"].diagnosis == "training-below-reference"


def test_deterministic(engine):
    first = _grade(engine, REPO / "reference", seed=3)
    training._reference_run.cache_clear()  # the reference is recomputed, not reused
    second = _grade(engine, REPO / "reference", seed=3)
    assert first.status == second.status == "passed"
    assert first.details["curves"] == second.details["curves"]
    assert first.details["student_val_accuracy"] == second.details["student_val_accuracy"]


def test_config_overrides_and_margin(tmp_path):
    config = Config()
    config.training.update(epochs=2, n_train=1000, n_val=500, batch_size=16)
    config.tolerances[CHECK] = 0.05
    rec = _grade(Engine(config, entry_points=False), REPO / "reference")
    assert rec.status == "passed", rec.message
    d = rec.details
    assert (d["epochs"], d["n_train"], d["n_val"], d["batch_size"], d["margin"]) == (2, 992, 500, 16, 0.05)
    assert len(d["curves"]["student"]["val_accuracy"]) == 2


def test_missing_data_is_an_error_not_a_crash(tmp_path):
    config = Config()
    config.training["data"] = str(tmp_path / "no-such-mnist.npz")
    rec = _grade(Engine(config, entry_points=False), REPO / "reference")
    assert rec.status == "error"
    assert "could not load the training data" in rec.message


def test_train_returning_none_still_passes(engine, tmp_path):
    """The notebook ignores train()'s return value: a missing loss costs nothing here."""
    v = _variant("train-none", "network.py", "return float(np.mean(loss))", "return None")
    rec = _grade(engine, v.materialise(tmp_path))
    assert rec.status == "passed", rec.message
    assert all(math.isnan(x) or x == "nan" for x in rec.details["curves"]["student"]["train_loss"])


def test_predict_probabilities_is_a_clear_failure(engine, tmp_path):
    v = _variant("predict-float", "network.py", "return forward(network, X)[-1].argmax(axis=-1)",
                 "return forward(network, X)[-1].max(axis=-1)")
    rec = _grade(engine, v.materialise(tmp_path))
    assert rec.status == "failed"
    assert rec.diagnosis == ["training-predict-not-int"]
    assert "class ids" in rec.message


def test_weights_attribute_renamed_is_explained(engine, tmp_path):
    v = _variant("weights-renamed", "layers.py",
                 "self.weights = np.random.randn(input_units, output_units) * 0.01",
                 "self.W = np.random.randn(input_units, output_units) * 0.01")
    rec = _grade(engine, v.materialise(tmp_path))
    assert rec.status == "failed"
    assert rec.diagnosis == ["training-weights-not-settable"]
    assert "no attribute `weights`" in rec.message
