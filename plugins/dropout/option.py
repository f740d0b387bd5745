"""dropout: how the bonus Dropout layer is recognised however a student writes it (grader side).

``Dropout(p)``, a ``Dropout`` whose parameter is a keep probability
(``Dropout(keep_prob=...)``: handed ``1 - p``), or a layer of its own name
(``MyDropout(rate)``, its argument passed by position). A named layer is graded
as soon as it can be built (see docs/option-styles.md).
"""
from nncheck.model import Option

DROPOUT = Option(
    name="dropout",
    canonical="Dropout",
    families=("dropout",),
    label="bonus Dropout",
    words=("dropout",),
    layer="layer",
    hyper=("p",),
    complement=("keep", "a keep probability"),
)
