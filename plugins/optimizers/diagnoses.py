"""The optimizer options' diagnoses (momentum, RMSProp, Adam and the mistakes they
share): titles, and where pointing finds them.

Each :class:`~nncheck.model.Diagnosis` names the definition the mistake lives in and
its pointer (``pointer(ctx) -> [Pin]``, see :mod:`nncheck.point`); ``None`` names the
definition without pinning a line.
"""
import ast

from nncheck.model import Diagnosis
from nncheck.plugins.dense.diagnoses import PARAMS
from nncheck.point.code import MAX_PINS, SQRT, Fn, const_value, last_name
from nncheck.point.constructs import uphill
from nncheck.point.context import Ctx, Pin, one_line
from nncheck.point.slicing import attr_sinks, trace_sink


def rule_optimizer_sign(ctx: Ctx):
    return uphill(ctx, list(PARAMS), PARAMS)


def _state(ctx: Ctx):
    """``{attr: [(fn, stmt)]}``: attributes the step updates from their own old value
    (velocities, caches, moments, counters), with every assignment in the step."""
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return {}, []
    order = ctx.flatten(fn)
    assigned: dict = {}
    for sfn, s, c, _ in order:
        if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            for t in targets:
                for x in ([t] if not isinstance(t, (ast.Tuple, ast.List)) else t.elts):
                    a = sfn.self_attr(x)
                    if a and a not in PARAMS:
                        assigned.setdefault(a, []).append((sfn, s, c))
    state = {}
    for a, stmts in assigned.items():
        if any(isinstance(s, ast.AugAssign) or any(f.self_attr(n) == a for n in ast.walk(s.value))
               for f, s, _ in stmts):
            state[a] = stmts
    return state, order


def _squares(e) -> bool:
    for n in ast.walk(e):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and const_value(n.right) == 2:
            return True
        if isinstance(n, ast.Call) and last_name(n) == "square":
            return True
        if (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and ast.dump(n.left) == ast.dump(n.right)
                and not isinstance(n.left, ast.Constant)):
            return True
    return False


def _second_moments(ctx: Ctx):
    """Attributes the step assigns from a squared gradient (RMSProp's cache, Adam's ``v``)."""
    _, order = _state(ctx)
    assigned: dict = {}
    for sfn, s, c, _ in order:
        if isinstance(s, (ast.Assign, ast.AugAssign)):
            for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                a = sfn.self_attr(t)
                if a and a not in PARAMS:
                    assigned.setdefault(a, []).append((sfn, s, c))
    return {a: st for a, st in assigned.items() if any(_squares(s.value) for f, s, _ in st)}, order


def rule_momentum_reset(ctx: Ctx):
    state, order = _state(ctx)
    cands = []
    for a, stmts in state.items():
        for f, s, c in stmts:
            if c or isinstance(s, ast.AugAssign):
                continue
            if not any(f.self_attr(n) == a for n in ast.walk(s.value)):
                cands.append((f, s))
    lines = {(id(f.node), s.lineno): Pin(f, s.lineno) for f, s in cands}
    return list(lines.values()) if 0 < len(lines) <= MAX_PINS else []


def rule_missing_sqrt(ctx: Ctx):
    moments, order = _second_moments(ctx)
    if not moments:
        return []
    pins = []
    for attr in PARAMS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            continue
        tr = ctx.tracer((*PARAMS, *moments), None, order)
        sl = trace_sink(tr, sinks[0])
        cands = []
        for f, n in sl.nodes:
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div):
                den = tr.trace(f, n.right)
                if any(f2.self_attr(x) in moments for f2, x in den.nodes) and not den.find(
                        lambda f3, x: (isinstance(x, ast.Call) and last_name(x) in SQRT) or (
                            isinstance(x, ast.BinOp) and isinstance(x.op, ast.Pow) and const_value(x.right) in (0.5, .5))):
                    cands.append((f, n))
        pins += one_line(cands)
    return pins


def rule_no_decay(ctx: Ctx):
    moments, _ = _second_moments(ctx)
    cands = []
    for a, stmts in moments.items():
        for f, s, c in stmts:
            if c:
                continue
            value = s if isinstance(s, ast.AugAssign) else s.value
            old = [n for n in ast.walk(value) if f.self_attr(n) == a]
            if _carries(f, value, a):
                continue   # the old value comes through a local computed elsewhere: not this line alone
            if isinstance(s, ast.AugAssign) and isinstance(s.op, ast.Add):
                cands.append((f, s))
            elif not old and isinstance(s, ast.Assign):
                cands.append((f, s))
            elif old and not any(isinstance(f.parents.get(n), ast.BinOp) and isinstance(f.parents[n].op, ast.Mult)
                                 for n in old):
                cands.append((f, s))
    lines = {(id(f.node), s.lineno): Pin(f, s.lineno) for f, s in cands}
    return list(lines.values()) if 0 < len(lines) <= MAX_PINS else []


def _carries(fn: Fn, value, attr) -> bool:
    """Does a local read in ``value`` carry ``self.<attr>``'s old value from another line?"""
    for n in ast.walk(value):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in fn.stores:
            found, _ = fn.reaching(n.id, n, None)
            if any(b.value is not None and any(fn.self_attr(x) == attr for x in ast.walk(b.value)) for b in found):
                return True
    return False


def rule_decay_swapped(ctx: Ctx):
    moments, _ = _second_moments(ctx)
    pins = []
    for a, stmts in moments.items():
        ups = [(f, s) for f, s, c in stmts if not c and isinstance(s, ast.Assign)
               and any(f.self_attr(n) == a for n in ast.walk(s.value))]
        if len(ups) != 1:
            return []
        f, s = ups[0]
        for n in ast.walk(s.value):
            if isinstance(n, ast.Name) and n.id in f.stores:
                found, _ = f.reaching(n.id, n, None)
                if not all(not b.partial and (f.self_attr(b.value) is not None or const_value(b.value) is not None)
                           for b in found):
                    return []
        pins.append(Pin(f, s.lineno))
    return pins if 0 < len(pins) <= MAX_PINS else []


def rule_plain_sgd(ctx: Ctx):
    state, order = _state(ctx)
    if not state:
        return []
    pins = []
    for attr in PARAMS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            return []
        sl = trace_sink(ctx.tracer(PARAMS, None, order), sinks[0])
        if not sl.complete or any(f.self_attr(n) in state for f, n in sl.nodes):
            return []
        pins.append(Pin(sinks[0].fn, sinks[0].stmt.lineno))
    return pins


def rule_ignored_hyperparameter(ctx: Ctx):
    used, given = ctx.details.get("used_hyperparameters"), ctx.details.get("hyperparameters")
    passed = ctx.details.get("passed_as")
    if not all(isinstance(x, dict) for x in (used, given, passed)):
        return []
    ignored = [k for k in given if k in used and used[k] != given[k]]
    if len(ignored) != 1:
        return []
    param = passed.get(ignored[0])
    fn = ctx.entry("{cls}.__init__")
    if fn is None or param not in fn.params:
        return []
    if any(isinstance(n, ast.Name) and n.id == param and isinstance(n.ctx, ast.Load) for n in fn.body_nodes()):
        return []
    cands = []
    for n in fn.body_nodes():
        if isinstance(n, ast.Call) and last_name(n) == "__init__":
            callee, _ = ctx.code.resolve_call(fn, n)
            if callee is not None and param in callee.params:
                cands.append((fn, n))
    return one_line(cands) if len(cands) == 1 else []


def rule_step_counter(ctx: Ctx):
    state, order = _state(ctx)
    counters = set()
    for sfn, s, _, _ in order:
        for n in ast.walk(s):
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow):
                a = sfn.self_attr(n.right)
                if a:
                    counters.add(a)
    cands = []
    for sfn, s, c, _ in order:
        if not c and isinstance(s, ast.Assign) and const_value(s.value) is not None and any(
                sfn.self_attr(t) in counters for t in s.targets):
            cands.append((sfn, s))
    return one_line(cands)


DIAGNOSES = [
    Diagnosis("momentum-no-velocity", "Momentum keeps no velocity between steps",
              "{cls}.backward", rule_momentum_reset),
    Diagnosis("optimizer-wrong-sign", "The optimizer steps the wrong way", "{cls}.backward", rule_optimizer_sign),
    Diagnosis("rmsprop-missing-sqrt", "RMSProp divides by the mean square, not its root",
              "{cls}.backward", rule_missing_sqrt),
    Diagnosis("adam-missing-sqrt", "Adam divides by the second moment, not its root",
              "{cls}.backward", rule_missing_sqrt),
    Diagnosis("rmsprop-no-decay", "RMSProp's running average does not decay", "{cls}.backward", rule_no_decay),
    Diagnosis("rmsprop-decay-swapped", "RMSProp's decay and 1 - decay are swapped",
              "{cls}.backward", rule_decay_swapped),
    Diagnosis("optimizer-plain-sgd", "The optimizer takes plain SGD steps", "{cls}.backward", rule_plain_sgd),
    Diagnosis("optimizer-ignores-hyperparameter", "The optimizer ignores a hyperparameter it was given",
              "{cls}.__init__", rule_ignored_hyperparameter),
    Diagnosis("adam-step-counter", "Adam's step counter is wrong", "{cls}.backward", rule_step_counter),
    Diagnosis("adam-no-bias-correction", "Adam skips the bias correction", "{cls}.backward", None),
]
