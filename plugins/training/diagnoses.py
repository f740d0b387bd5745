"""The training run's diagnoses: titles, and where pointing finds them.

Most name how the whole run went wrong and live nowhere in particular (no entry):
pointing lends ``training.accuracy`` the pinned lines of the unit checks it builds
on instead (``Check.downstream``).

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
from nncheck.model import Diagnosis
from nncheck.plugins.network.diagnoses import rule_predict_axis, rule_predict_not_argmax
from nncheck.plugins.dense.diagnoses import PARAMS
from nncheck.point.constructs import uphill
from nncheck.point.context import Ctx


def rule_training_predict(ctx: Ctx):
    return rule_predict_not_argmax(ctx) or rule_predict_axis(ctx)


DIAGNOSES = [
    Diagnosis("training-below-reference", "Training reaches a lower accuracy than the reference"),
    Diagnosis("training-no-learning", "The network does not learn"),
    # gradient ascent in Dense blows up to NaN: the update line, when one adds the step (no entry:
    # nothing is named when it does not)
    Diagnosis("training-nan", "Training produced NaN or infinite values", "",
              lambda ctx: uphill(ctx, list(PARAMS), PARAMS)),
    Diagnosis("training-collapsed", "The network predicts (almost) one class for everything"),
    Diagnosis("training-predict-shape", "predict returns the wrong shape during training",
              "predict", rule_training_predict),
    Diagnosis("training-predict-not-int", "predict does not return class ids during training",
              "predict", rule_training_predict),
    Diagnosis("training-weights-not-settable", "The grader could not set the layers' weights"),
]
