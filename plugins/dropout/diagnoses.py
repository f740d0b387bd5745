"""Dropout's diagnoses: titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.point.code import Fn, last_name
from nncheck.point.constructs import attr_sinks, is_random, only_assignment, return_slice, returned_root
from nncheck.point.context import Ctx, Pin, one_line


def rule_dropout_mask_changed(ctx: Ctx):
    fn, sl = return_slice(ctx, "{cls}.backward", mode="train")
    if sl is None:
        return []
    return one_line(sl.find(lambda f, n: f is fn and is_random(n)))


def rule_dropout_keep_prob(ctx: Ctx):
    fn, sl = return_slice(ctx, "{cls}.forward", mode="train")
    if sl is None:
        return []

    def name_of(f, e):
        attr = f.self_attr(e)
        if attr is not None:
            return attr
        return e.id if isinstance(e, ast.Name) else None

    copies = _init_copies(ctx)

    def confused(f, n):
        """The draw that keeps a unit with the wrong probability: ``rand < p`` keeps with
        probability ``p`` (a drop probability used as a keep one); ``rand >= keep_prob`` the
        other way round."""
        if isinstance(n, ast.Call) and last_name(n) == "binomial" and len(n.args) >= 2:
            name = name_of(f, n.args[1])
            return name is not None and "keep" not in name.lower()
        if not (isinstance(n, ast.Compare) and len(n.ops) == 1):
            return False
        left, right, op = n.left, n.comparators[0], n.ops[0]
        if is_random(left) and not is_random(right):
            prob, keep_below = right, isinstance(op, (ast.Lt, ast.LtE))
        elif is_random(right) and not is_random(left):
            prob, keep_below = left, isinstance(op, (ast.Gt, ast.GtE))
        else:
            return False
        name = name_of(f, prob)
        if name is None:
            return False
        return keep_below != ("keep" in name.lower())
    found = one_line(sl.find(confused))
    if found:
        return found

    def renamed(f, n):
        """The draw reads an attribute the constructor copied from a parameter named the other
        way (``self.p = keep_prob``): the draw is right for its attribute's name."""
        for e in ([n.left, *n.comparators] if isinstance(n, ast.Compare) else
                  n.args[1:2] if isinstance(n, ast.Call) and last_name(n) == "binomial" else []):
            attr = f.self_attr(e)
            if attr in copies and ("keep" in attr.lower()) != ("keep" in copies[attr][0].lower()):
                return True
        return False
    draws = sl.find(lambda f, n: (isinstance(n, ast.Compare) and any(is_random(x) for x in [n.left, *n.comparators]))
                    or (isinstance(n, ast.Call) and last_name(n) == "binomial"))
    hits = [(f, n) for f, n in draws if renamed(f, n)]
    if len(hits) != len(draws) or not hits:
        return []
    attrs = {f.self_attr(e) for f, n in hits for e in ast.walk(n)} & set(copies)
    return [copies[a][1] for a in attrs] if len(attrs) == 1 else []


def _init_copies(ctx: Ctx) -> dict:
    """``{attr: (parameter, Pin)}``: attributes the constructor sets, once, to a parameter."""
    fn = ctx.entry("{cls}.__init__")
    if fn is None:
        return {}
    out = {}
    for s in fn.statements(None):
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.value, ast.Name) \
                and s.value.id in fn.params and s.value.id not in fn.stores:
            a = fn.self_attr(s.targets[0])
            if a and len(ctx.code.class_assignments(ctx.cls, a, None)) == 1:
                out[a] = (s.value.id, Pin(fn, s.lineno))
    return out


def _input_param(fn: Fn):
    return fn.positional[1] if fn.self_name and len(fn.positional) > 1 else None


def rule_dropout_active_at_eval(ctx: Ctx):
    """The one ``if`` whose branch hands the input back unchanged, when evaluation (training
    False) does not take it: its test is the line (``if False:``, a misnamed flag)."""
    fn = ctx.entry("{cls}.forward")
    if fn is None:
        return []
    x = _input_param(fn)
    ifs = []
    for n in fn.body_nodes():
        if isinstance(n, ast.If):
            for branch, taken in ((n.body, True), (n.orelse, False)):
                if any(isinstance(s, ast.Return) and isinstance(s.value, ast.Name) and s.value.id == x
                       for s in branch):
                    ifs.append((n, taken))
    if len(ifs) != 1 or x is None or x in fn.stores:
        return []
    n, taken = ifs[0]
    if fn.test_value(n.test, ctx.mode("eval")) is taken:
        return []    # evaluation takes the identity branch: the mistake is elsewhere
    return [Pin(fn, n.lineno)]


def rule_dropout_scale(ctx: Ctx):
    """forward returns ``input * self.mask``, and backward multiplies by the same mask: the
    scale belongs where the mask is made, its only assignment."""
    fn, root = returned_root(ctx, "{cls}.forward", "train")
    if fn is None or not (isinstance(root, ast.BinOp) and isinstance(root.op, ast.Mult)):
        return []
    x = _input_param(fn)
    sides = [root.left, root.right]
    masks = [fn.self_attr(e) for e in sides if fn.self_attr(e) is not None]
    if len(masks) != 1 or not any(isinstance(e, ast.Name) and e.id == x for e in sides):
        return []
    pins = only_assignment(masks[0], "{cls}.forward", "train")(ctx)
    if not pins:
        return []
    # the scale is made on that line: no product or quotient elsewhere feeds the mask, and the
    # attributes it reads are the constructor's plain copies of its arguments
    (pin,) = pins
    order = ctx.flatten(ctx.entry("{cls}.forward"), "train")
    (k,) = [k for k in attr_sinks(order, masks[0]) if k.stmt.lineno == pin.line][:1] or [None]
    if k is None or k.partial:
        return []
    sl = ctx.tracer(set(_init_copies(ctx)), "train", order).trace(k.fn, k.value, k.index, k.args)
    elsewhere = sl.find(lambda f, n: isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Div))
                        and not (f is k.fn and n.lineno == pin.line))
    attrs = {f.self_attr(n) for f, n in sl.nodes} - {None}
    if not sl.complete or elsewhere or attrs - set(_init_copies(ctx)):
        return []
    return pins


DIAGNOSES = [
    Diagnosis("dropout-mask-changed", "Dropout's backward uses a different mask from its forward",
              "{cls}.backward", rule_dropout_mask_changed),
    Diagnosis("dropout-stale-mask", "Dropout reuses an old mask", "{cls}.backward", rule_dropout_mask_changed),
    Diagnosis("dropout-keep-prob-confused", "Dropout's p is used as the keep probability",
              "{cls}.forward", rule_dropout_keep_prob),
    Diagnosis("dropout-no-rescale", "Dropout does not rescale the kept units", "{cls}.forward", rule_dropout_scale),
    Diagnosis("dropout-active-at-eval", "Dropout still drops units at evaluation", "{cls}.forward",
              rule_dropout_active_at_eval),
    Diagnosis("dropout-wrong-scale", "Dropout rescales by the wrong factor", "{cls}.forward", rule_dropout_scale),
    Diagnosis("dropout-wrong-rate", "Dropout drops the wrong share of units", "{cls}.forward", None),
    Diagnosis("dropout-not-dropping", "Dropout drops nothing in training", "{cls}.forward", None),
    Diagnosis("dropout-mask-shared-across-batch", "Dropout uses one mask for every sample", "{cls}.forward", None),
    Diagnosis("dropout-mask-reused", "Dropout draws the same mask every time", "{cls}.forward", None),
    Diagnosis("dropout-returns-mask", "Dropout returns the mask instead of the output", "{cls}.forward", None),
    Diagnosis("dropout-backward-not-masked", "Dropout's backward ignores the mask", "{cls}.backward", None),
]
