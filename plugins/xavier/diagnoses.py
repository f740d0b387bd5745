"""XavierDense's diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.plugins.dense.diagnoses import rule_init_bias, rule_init_not_centered
from nncheck.point.code import SHAPE_CALLS, SQRT, last_name
from nncheck.point.constructs import attr_sinks, init_value, placeholder
from nncheck.point.context import Ctx, one_line


def _fan_uses(found):
    """Uses of the constructor's unit counts in arithmetic (not as shape arguments)."""
    sfn, s, sl = found

    def in_shape(f, n):
        p = f.parents.get(n)
        while isinstance(p, (ast.Tuple, ast.List, ast.keyword)):
            p = f.parents.get(p)
        return isinstance(p, ast.Call) and last_name(p) in SHAPE_CALLS

    def fan(f, n):
        units = f.positional[1:3] if f.self_name else f.positional[:2]
        return n.id in units and n.id not in f.stores

    return sl.find(lambda f, n: isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and fan(f, n)
                   and not in_shape(f, n))


_FAN_SCHEMES = ("He (fan-in only)", "LeCun (fan-in only)", "uniform +-1/sqrt(in)", "fan-out only",
                "fan-out only (1/out)", "half Xavier")


def rule_xavier_variance(ctx: Ctx):
    fn = ctx.entry("{cls}.__init__")
    if fn is not None and not any(k.fn.node is fn.node for k in attr_sinks(ctx.flatten(fn), "weights")):
        # the class's own constructor never draws the weights (they stay Dense's): its leftover pass
        return placeholder("{cls}.__init__")(ctx)
    found = init_value(ctx, "weights")
    if found is None or not found[2].complete:
        return []
    scheme = ctx.details.get("recognised")
    uses = _fan_uses(found)
    if scheme in _FAN_SCHEMES:
        return one_line(uses)
    if scheme == "std used as variance":
        has_root = found[2].find(lambda f, n: (isinstance(n, ast.Call) and last_name(n) in SQRT) or (
            isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)))
        return [] if has_root else one_line(uses)
    return []


DIAGNOSES = [
    Diagnosis("xavier-wrong-variance", "Xavier initialisation has the wrong variance",
              "{cls}.__init__", rule_xavier_variance),
    Diagnosis("xavier-not-centred", "XavierDense weights are not centred on zero",
              "{cls}.__init__", rule_init_not_centered),
    Diagnosis("xavier-biases-not-zero", "XavierDense biases do not start at zero",
              "{cls}.__init__", rule_init_bias),
]
