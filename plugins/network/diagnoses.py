"""The network functions' diagnoses (forward, predict, train): titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import LOOPS, SCOPES, Fn, const_value, keyword_arg, last_name
from nncheck.point.constructs import (is_np_func, only_return, return_slice, rule_full_reduction,
                                      rule_top_formula, single_root_line)
from nncheck.point.context import Ctx, Pin, one_line


def _backward_loops(fn: Fn):
    loops = []
    for n in fn.body_nodes():
        if isinstance(n, LOOPS) and any(isinstance(c, ast.Call) and last_name(c) == "backward"
                                         for c in ast.walk(n) if not isinstance(c, SCOPES)):
            loops.append(n)
    return loops


def _plain_loop(loop) -> bool:
    """No ``continue``/``break`` and no ``if`` around the backward call: the header alone decides."""
    for n in ast.walk(loop):
        if isinstance(n, (ast.Continue, ast.Break)):
            return False
        if isinstance(n, ast.If) and any(isinstance(c, ast.Call) and last_name(c) == "backward" for c in ast.walk(n)):
            return False
    return True


def _network_param(fn: Fn):
    return fn.positional[0] if fn.positional else None


def rule_backprop_order(ctx: Ctx):
    fn = ctx.entry("train")
    if fn is None:
        return []
    loops = _backward_loops(fn)
    net = _network_param(fn)
    if len(loops) != 1 or not _plain_loop(loops[0]) or not isinstance(loops[0], (ast.For, ast.AsyncFor)):
        return []
    loop = loops[0]
    if net is None or not any(isinstance(n, ast.Name) and n.id == net for n in ast.walk(loop.iter)):
        return []
    if net in fn.stores or _reverses(loop.iter):
        return []
    # the layer whose backward is called is the loop's own element, not an index computed from it
    loop_vars = {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
    (call,) = [c for c in ast.walk(loop) if isinstance(c, ast.Call) and last_name(c) == "backward"][:1] or [None]
    if call is None:
        return []
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    direct = isinstance(receiver, ast.Name) and receiver.id in loop_vars or (
        isinstance(receiver, ast.Subscript) and isinstance(receiver.slice, ast.Name)
        and receiver.slice.id in loop_vars)
    if not direct and not (isinstance(receiver, ast.Name) and _bound_in_loop_from(fn, loop, receiver.id, loop_vars)):
        return []
    return [Pin(fn, loop.lineno)]


def _reverses(e) -> bool:
    """``reversed(...)``, ``[::-1]``, a ``range`` with a negative step: the iteration goes backwards."""
    for n in ast.walk(e):
        if isinstance(n, ast.Call) and last_name(n) == "reversed":
            return True
        if isinstance(n, ast.Slice) and n.step is not None and (const_value(n.step) is None or const_value(n.step) < 0):
            return True
        if isinstance(n, ast.Call) and last_name(n) == "range" and len(n.args) == 3 and (
                const_value(n.args[2]) is None or const_value(n.args[2]) < 0):
            return True
    return False


def _bound_in_loop_from(fn: Fn, loop, name, loop_vars) -> bool:
    """``layer = network[i]`` in the loop's body, ``i`` the loop variable."""
    for s in loop.body:
        if (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id == name and isinstance(s.value, ast.Subscript)
                and isinstance(s.value.slice, ast.Name) and s.value.slice.id in loop_vars):
            return True
    return False


def rule_backprop_skips(ctx: Ctx):
    fn = ctx.entry("train")
    if fn is None:
        return []
    loops = _backward_loops(fn)
    net = _network_param(fn)
    if len(loops) != 1 or not _plain_loop(loops[0]) or net is None or net in fn.stores:
        return []
    loop = loops[0]
    if not isinstance(loop, (ast.For, ast.AsyncFor)):
        return []

    def is_net(e):
        return isinstance(e, ast.Name) and e.id == net

    def shortened(n):
        if isinstance(n, ast.Subscript) and is_net(n.value) and isinstance(n.slice, ast.Slice):
            lo, hi = n.slice.lower, n.slice.upper
            return (hi is not None and (const_value(hi) is None or const_value(hi) < 0)) or (
                lo is not None and const_value(lo) not in (None, 0))
        if (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and isinstance(n.left, ast.Call)
                and last_name(n.left) == "len" and n.left.args and is_net(n.left.args[0])):
            return True
        if (isinstance(n, ast.Call) and last_name(n) == "range" and len(n.args) >= 2
                and const_value(n.args[0]) not in (None, 0) and isinstance(n.args[1], ast.Call)
                and last_name(n.args[1]) == "len" and n.args[1].args and is_net(n.args[1].args[0])):
            return True   # range(1, len(network)): the first layer is never visited
        return False
    return [Pin(fn, loop.lineno)] if any(shortened(n) for n in ast.walk(loop.iter)) else []


def _backward_calls(fn: Fn):
    return [n for n in fn.body_nodes() if isinstance(n, ast.Call) and last_name(n) == "backward"]


def rule_backprop_wrong_input(ctx: Ctx):
    fn = ctx.entry("train")
    if fn is None:
        return []
    calls = _backward_calls(fn)
    if len(calls) != 1 or not calls[0].args:
        return []
    first = calls[0].args[0]
    shifted = isinstance(first, ast.Subscript) and isinstance(first.slice, ast.BinOp)
    return [Pin(fn, calls[0].lineno)] if shifted else []


def rule_backprop_not_chained(ctx: Ctx):
    fn = ctx.entry("train")
    if fn is None:
        return []
    calls = _backward_calls(fn)
    if len(calls) != 1:
        return []
    call = calls[0]
    parent = fn.parents.get(call)
    if isinstance(parent, ast.Expr):
        return [Pin(fn, call.lineno)]
    return []


def rule_forward_not_chained(ctx: Ctx):
    fn = ctx.entry("forward")
    if fn is None:
        return []
    cands = []
    for loop in (n for n in fn.body_nodes() if isinstance(n, LOOPS)):
        assigned = {x.id for x in ast.walk(loop) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store)}
        for c in ast.walk(loop):
            if isinstance(c, ast.Call) and last_name(c) == "forward" and len(c.args) == 1:
                a = c.args[0]
                if isinstance(a, ast.Name) and a.id not in assigned and (a.id in fn.params or a.id in fn.stores):
                    cands.append((fn, c))
    return one_line(cands) if len(cands) == 1 else []


def rule_forward_includes_input(ctx: Ctx):
    fn, sl = return_slice(ctx, "forward")
    if sl is None:
        return []
    x = fn.positional[1] if len(fn.positional) > 1 else None
    return one_line(sl.find(lambda f, n: f is fn and isinstance(n, ast.List) and any(
        isinstance(e, ast.Name) and e.id == x for e in n.elts)))


def _argmaxes(sl):
    return sl.find(lambda f, n: isinstance(n, ast.Call) and last_name(n) == "argmax")


def rule_predict_not_argmax(ctx: Ctx):
    fn, sl = return_slice(ctx, "predict")
    if sl is None or _argmaxes(sl):
        return []
    return rule_top_formula("predict")(ctx) or single_root_line(ctx, "predict")


def rule_predict_axis(ctx: Ctx):
    fn, sl = return_slice(ctx, "predict")
    if sl is None:
        return []

    def wrong_axis(f, n):
        if not (isinstance(n, ast.Call) and last_name(n) == "argmax"):
            return False
        axis = keyword_arg(n, "axis")
        if axis is None:
            pos = 1 if is_np_func(n) else 0
            axis = n.args[pos] if len(n.args) > pos else None
        return axis is None or const_value(axis) == 0
    return one_line(sl.find(wrong_axis))


DIAGNOSES = [
    Diagnosis("backprop-wrong-order", "Backpropagation visits the layers in the wrong order",
              "train", rule_backprop_order),
    Diagnosis("backprop-skips-layer", "Backpropagation skips a layer", "train", rule_backprop_skips),
    Diagnosis("backprop-wrong-input", "A layer's backward gets the wrong input",
              "train", rule_backprop_wrong_input),
    Diagnosis("backprop-grad-not-chained", "The gradient is not passed from layer to layer",
              "train", rule_backprop_not_chained),
    Diagnosis("train-loss-not-averaged", "train returns a summed loss, not the mean",
              "train", rule_full_reduction("train", ("sum", "nansum"))),
    Diagnosis("train-loss-not-returned", "train does not return the loss", "train", only_return("train")),
    Diagnosis("backprop-repeats-layer", "Backpropagation calls a layer's backward twice", "train", None),
    Diagnosis("forward-not-chained", "Layers are not applied one after the other",
              "forward", rule_forward_not_chained),
    Diagnosis("forward-includes-input", "forward's list starts with the input",
              "forward", rule_forward_includes_input),
    Diagnosis("forward-returns-logits-only", "forward returns only the logits, not every activation",
              "forward", None),
    Diagnosis("forward-activations-shifted", "Activations are shifted by one layer", "forward", None),
    Diagnosis("predict-not-argmax", "predict does not take the argmax of the logits",
              "predict", rule_predict_not_argmax),
    Diagnosis("predict-wrong-axis", "predict takes the argmax over the wrong axis", "predict", rule_predict_axis),
]
