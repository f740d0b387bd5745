"""ReLU's diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
from nncheck.model import Diagnosis
from nncheck.point.constructs import only_return, rule_single_line_return

FORWARD_POINTER = only_return("{cls}.forward")
"""relu.forward's own pointer (``Check.pointer``): a wrong output is made on forward's only return line."""


DIAGNOSES = [
    Diagnosis("relu-backward-not-masked", "ReLU backward lets the gradient through where the input was negative",
              "{cls}.backward", rule_single_line_return("{cls}.backward")),
]
