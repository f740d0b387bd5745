"""batchnorm: how the bonus BatchNorm layer is recognised however a student writes it (grader side).

``BatchNorm(units)`` or a layer of its own name (``BatchNormalization``,
``Batch_Norm_Layer``), graded as soon as it can be built (see docs/option-styles.md).
"""
from nncheck.model import Option

BATCHNORM = Option(
    name="batchnorm",
    canonical="BatchNorm",
    families=("batchnorm",),
    label="bonus BatchNorm",
    words=("batchnorm", "batchnormalization", "batchnormalisation"),
    layer="units",
)
