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
from nncheck.point.constructs import reads_own_value, sign_flips, step_term, uphill
from nncheck.point.context import Ctx, Pin, one_line
from nncheck.point.slicing import attr_sinks, trace_sink


def rule_optimizer_sign(ctx: Ctx):
    return _velocity_sign(ctx) or uphill(ctx, list(PARAMS), PARAMS)


def _sign(e) -> int:
    """-1 for a product with an odd number of negations (``-lr * g``), else +1."""
    sign = 1
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            sign = -sign
            stack.append(n.operand)
        elif isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Div)):
            stack += [n.left, n.right]
    return sign


def _velocity_of(fn: Fn, term):
    """``(attr, sign)`` for a step term that is a velocity attribute (``self.v``, ``-self.v``)."""
    sign = 1
    while isinstance(term, ast.UnaryOp) and isinstance(term.op, ast.USub):
        sign, term = -sign, term.operand
    a = fn.self_attr(term)
    return (a, sign) if a is not None and a not in PARAMS else (None, 0)


def _velocity_sign(ctx: Ctx):
    """Momentum's two signs, ``v = mu * v -/+ lr * g`` and ``W = W +/- v``, that together climb the
    gradient: the one that departs from the assignment's form ``v = mu * v - lr * g; W += v``."""
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return []
    order = ctx.flatten(fn)
    pins = []
    for attr in PARAMS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1 or sinks[0].cond:
            return []
        k = sinks[0]
        op, term = step_term(k.fn, k.stmt, attr)
        if op is None:
            return []
        v, vsign = _velocity_of(k.fn, term)
        if v is None:
            return []
        ups = [(f, s, c, a) for f, s, c, a in order if _assigns(f, s, v)]
        if len(ups) != 1 or ups[0][2]:
            return []
        f, s, _, args = ups[0]
        value = s.value if isinstance(s, ast.Assign) else None
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub))
                and reads_own_value(f, value.left, v) and not reads_own_value(f, value.right, v)):
            return []
        # every sign of the gradient's side is on this line (none hides in a local or a helper)
        sl = ctx.tracer((*PARAMS, v), None, order).trace(f, value.right, None, args)
        top = {id(n) for n in ast.walk(value.right)}
        if not sl.complete or any(id(n) not in top for _, n in sign_flips(sl.nodes)):
            return []
        grad = _sign(value.right) * (1 if isinstance(value.op, ast.Add) else -1)
        total = (1 if isinstance(op, ast.Add) else -1) * vsign * grad
        if total < 0:
            continue      # this parameter goes downhill
        pins.append(Pin(k.fn, k.stmt.lineno) if grad < 0 else Pin(f, s.lineno))
    return pins


def _assigns(fn: Fn, stmt, attr):
    from nncheck.point.code import assigned_attr
    return assigned_attr(fn, stmt, attr)


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


def rule_no_velocity(ctx: Ctx):
    return rule_momentum_reset(ctx) or _velocity_forgotten(ctx)


def _velocity_forgotten(ctx: Ctx):
    """No velocity carried over: the velocity the step adds is assigned without its old value
    (``self.v = -lr * g``): those lines; or the update reads no state at all (plain SGD): the
    update lines."""
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return []
    order = ctx.flatten(fn)
    stepped = set()
    for sfn, s, _, _ in order:
        for n in ast.walk(s):
            if isinstance(n, ast.Attribute) and isinstance(getattr(n, "ctx", None), ast.Store):
                a = sfn.self_attr(n)
                if a and a not in PARAMS:
                    stepped.add(a)
    pins = []
    for attr in PARAMS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1 or sinks[0].cond:
            return []
        k = sinks[0]
        op, term = step_term(k.fn, k.stmt, attr)
        if op is None:
            return []
        v, _ = _velocity_of(k.fn, term)
        if v is not None and v in stepped:
            ups = [(f, s) for f, s, c, _ in order if _assigns(f, s, v)]
            if not ups or any(c for f, s, c, _ in order if _assigns(f, s, v)):
                return []
            if any(isinstance(s, ast.AugAssign) or reads_own_value(f, getattr(s, "value", s), v)
                   or _carries(f, getattr(s, "value", s), v) for f, s in ups):
                return []
            pins += [Pin(f, s.lineno) for f, s in ups]
            continue
        sl = trace_sink(ctx.tracer(PARAMS, None, order), k)
        read = {f.self_attr(n) for f, n in sl.nodes} - {None, *PARAMS}
        if not sl.complete or read & stepped or any(_assigns(f, s, a) for f, s, _, _ in order for a in read):
            return []   # the update reads some state the step keeps: not plain SGD
        pins.append(Pin(k.fn, k.stmt.lineno))
    return pins if len(pins) <= MAX_PINS else []


def rule_no_bias_correction(ctx: Ctx):
    """The moments divided by names bound to a literal (``c1 = 1.0``): those lines."""
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return []
    order = ctx.flatten(fn)
    lines = {}
    for attr in PARAMS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            return []
        sl = trace_sink(ctx.tracer(PARAMS, None, order), sinks[0])
        for f, n in sl.nodes:
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) and isinstance(n.right, ast.Name) \
                    and n.right.id in f.stores:
                found, incoming = f.reaching(n.right.id, n, None)
                if found and not incoming and all(not b.partial and const_value(b.value) is not None for b in found):
                    for b in found:
                        lines[(id(f.node), b.stmt.lineno)] = Pin(f, b.stmt.lineno)
    return list(lines.values()) if 0 < len(lines) <= MAX_PINS else []


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
    # counted once more between the weights' update and the biases': that increment
    sinks = {a: [i for i, (f, s, c, _) in enumerate(order) if _assigns(f, s, a)] for a in PARAMS}
    if all(len(v) == 1 and not order[v[0]][2] for v in sinks.values()):
        lo, hi = sorted(v[0] for v in sinks.values())
        incs = [i for i, (f, s, c, _) in enumerate(order) if not c and isinstance(s, ast.AugAssign)
                and isinstance(s.op, ast.Add) and f.self_attr(s.target) in counters]
        between = [i for i in incs if lo < i < hi]
        if len(incs) >= 2 and len(between) == 1:
            f, s = order[between[0]][0], order[between[0]][1]
            return [Pin(f, s.lineno)]
    cands = []
    for sfn, s, c, _ in order:
        if not c and isinstance(s, ast.Assign) and const_value(s.value) is not None and any(
                sfn.self_attr(t) in counters for t in s.targets):
            cands.append((sfn, s))
    return one_line(cands)


DIAGNOSES = [
    Diagnosis("momentum-no-velocity", "Momentum keeps no velocity between steps",
              "{cls}.backward", rule_no_velocity),
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
    Diagnosis("adam-no-bias-correction", "Adam skips the bias correction", "{cls}.backward", rule_no_bias_correction),
]
