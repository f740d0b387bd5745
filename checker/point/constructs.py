"""Constructs pointers look for, and pointer builders that several families share.

Predicates on one node of a slice (:func:`div_by_batch`: a division by the batch
size or a mean over the batch axis; :func:`is_full_reduction`; :func:`sign_flips`...),
the slices a pointer searches (:func:`update_slices`: the new value of
``self.<attr>`` after a method runs; :func:`return_slice`; :func:`init_value`), and
pointer builders for a definition named by its entry (``"{cls}.backward"`` or a
function name): :func:`rule_single_line_return`, :func:`rule_top_sign`,
:func:`rule_top_formula`, :func:`rule_full_reduction`.
"""
from __future__ import annotations

import ast

from nncheck.point.code import (LOOPS, RANDOM, REDUCE, SCOPES, WRAPPERS, Fn, const_value, dotted, keyword_arg,
                                last_name)
from nncheck.point.context import Ctx, Pin, one_line
from nncheck.point.slicing import Slice, attr_sinks, trace_sink


# ==========================================================================
# Predicates
# ==========================================================================

def is_batch_size(fn: Fn, e, mode=None, depth=0) -> bool:
    """``len(x)``, ``x.shape[0]``, ``np.size(x, 0)``, ``float(...)`` of those, or a local bound only
    to such a value (``batch_size = input.shape[0]``); never of a ``self`` attribute."""
    if depth > 4 or e is None:
        return False
    if isinstance(e, ast.Call):
        name = last_name(e)
        if name == "len" and len(e.args) == 1 and fn.self_attr(e.args[0]) is None:
            return True
        if name in ("float", "int") and len(e.args) == 1:
            return is_batch_size(fn, e.args[0], mode, depth + 1)
        if name == "size" and len(e.args) == 2 and const_value(e.args[1]) == 0:
            return True
        return False
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Attribute) and e.value.attr == "shape":
        return const_value(e.slice) == 0 and fn.self_attr(e.value.value) is None
    if isinstance(e, ast.Name) and e.id in fn.stores:
        found, incoming = fn.reaching(e.id, e, mode)
        return (bool(found) and not (incoming and e.id in fn.params) and all(not b.partial and b.index is None
                                                     and is_batch_size(fn, b.value, mode, depth + 1)
                                                     for b in found))
    return False


def axis0(call) -> bool:
    axis = keyword_arg(call, "axis")
    if axis is None:
        pos = 1 if isinstance(call.func, ast.Attribute) and dotted(call.func).split(".")[0] in ("np", "numpy") else 0
        axis = call.args[pos] if len(call.args) > pos else None
    return axis is not None and const_value(axis) == 0


def is_np_func(call) -> bool:
    return isinstance(call.func, ast.Attribute) and dotted(call.func).split(".")[0] in ("np", "numpy")


def div_by_batch(fn: Fn, n, mode=None) -> bool:
    """A division by the batch size, or a mean over the batch axis."""
    if isinstance(n, ast.BinOp):
        if isinstance(n.op, (ast.Div, ast.FloorDiv)) and is_batch_size(fn, n.right, mode):
            return True
        if isinstance(n.op, ast.Mult):
            for side in (n.left, n.right):
                if (isinstance(side, ast.BinOp) and isinstance(side.op, ast.Div) and const_value(side.left) in (1, 1.0)
                        and is_batch_size(fn, side.right, mode)):
                    return True
    if isinstance(n, ast.AugAssign) and isinstance(n.op, (ast.Div, ast.FloorDiv)) and is_batch_size(fn, n.value, mode):
        return True
    if isinstance(n, ast.Call) and last_name(n) in ("mean", "average", "nanmean"):
        if is_np_func(n):
            return axis0(n) and len(n.args) >= 1
        return axis0(n)
    return False


def is_full_reduction(call, names=REDUCE) -> bool:
    """``x.sum()``, ``np.mean(x)``: a reduction over every axis (no ``axis``, or ``axis=None``)."""
    if not isinstance(call, ast.Call) or last_name(call) not in names:
        return False
    axis = keyword_arg(call, "axis")
    if axis is not None:
        return isinstance(axis, ast.Constant) and axis.value is None
    if is_np_func(call):
        return len(call.args) == 1
    return isinstance(call.func, ast.Attribute) and not call.args


def is_random(n) -> bool:
    return isinstance(n, ast.Call) and last_name(n) in RANDOM and "random" in dotted(n.func) or (
        isinstance(n, ast.Call) and last_name(n) in ("randn", "rand", "binomial", "permutation", "choice"))


def sign_flips(fn_nodes) -> list:
    """Unary minus, and subtractions whose right side varies with the data (``1 - d`` does not)."""
    out = []
    for fn, n in fn_nodes:
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            out.append((fn, n))
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and not _constantish(fn, n.right):
            out.append((fn, n))
        elif isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Sub):
            out.append((fn, n))
    return out


def _constantish(fn: Fn, e) -> bool:
    """An expression of literals and hyperparameters (``self.decay``, ``b1 ** self.t``, a local
    alias of them): no data flows through it."""
    for n in ast.walk(e):
        if isinstance(n, ast.Name) and not fn.is_self(n):
            if n.id in fn.params:
                return False
            if n.id in fn.stores:
                found, _ = fn.reaching(n.id, n, None)
                if not found or not all(not b.partial and b.value is not None and _constantish(fn, b.value)
                                        for b in found):
                    return False
        elif isinstance(n, ast.Call) and last_name(n) not in ("sqrt", "float", "int", "abs", "power", "exp", "log"):
            return False
    return True


# ==========================================================================
# Slices a pointer searches
# ==========================================================================

def update_slices(ctx: Ctx, attr: str, entry: str, inputs, mode=None):
    """``(sinks, slice)`` of the new value of ``self.<attr>`` after ``entry`` runs; ``inputs`` are
    the ``self`` attributes the check set itself (not followed back)."""
    fn = ctx.entry(entry)
    if fn is None:
        return [], None
    order = ctx.flatten(fn, mode)
    sinks = attr_sinks(order, attr)
    tr = ctx.tracer(inputs, mode, order)
    sl = Slice()
    for k in sinks:
        trace_sink(tr, k, sl)
    return sinks, sl


def per_param(ctx: Ctx, attrs, pred, inputs, entry="{cls}.backward"):
    """For each parameter: the one line of its update's slice that holds the construct."""
    pins = []
    for attr in attrs:
        sinks, sl = update_slices(ctx, attr, entry, inputs)
        if not sinks or sl is None:
            continue
        pins += one_line(sl.find(pred))
    return pins


def step_term(fn: Fn, stmt, attr):
    """``(op, term)`` of ``self.P = self.P +/- term`` or ``self.P +=/-= term``."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, (ast.Add, ast.Sub)):
        return stmt.op, stmt.value
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.BinOp) and isinstance(stmt.value.op, (ast.Add, ast.Sub)):
        v = stmt.value
        if fn.self_attr(v.left) == attr:
            return v.op, v.right
        if isinstance(v.op, ast.Add) and fn.self_attr(v.right) == attr:
            return v.op, v.left
    return None, None


def uphill(ctx: Ctx, attrs, inputs):
    """The update line of each parameter that adds a step free of any sign flip: ``W = W + lr * g``."""
    pins = []
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return pins
    order = ctx.flatten(fn)
    for attr in attrs:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            continue
        k = sinks[0]
        sfn, s = k.fn, k.stmt
        op, term = step_term(sfn, s, attr)
        if not isinstance(op, ast.Add):
            continue
        sl = ctx.tracer(inputs, None, order).trace(sfn, term, None, k.args)
        if sl.complete and not sign_flips(sl.nodes):
            pins.append(Pin(sfn, s.lineno))
    return pins


def return_slice(ctx: Ctx, entry, inputs=(), mode=None):
    """``(fn, slice)`` of every value the definition ``entry`` returns or yields."""
    fn = ctx.entry(entry)
    if fn is None:
        return None, None
    tr = ctx.tracer(inputs, mode, ctx.flatten(fn, mode))
    sl = Slice()
    for ret in fn.returns(tr.mode):
        tr.trace(fn, ret.value, None, None, sl)
    for y in (n for n in fn.body_nodes() if isinstance(n, (ast.Yield, ast.YieldFrom))):
        if fn.is_live(fn.stmt_of(y), tr.mode) and y.value is not None:
            tr.trace(fn, y.value, None, None, sl)
    return fn, sl


def init_value(ctx: Ctx, attr: str, entry="{cls}.__init__"):
    """``(fn, stmt, slice)`` of the assignment that leaves ``self.<attr>`` its initial value
    (the last one the constructor runs, helpers and ``super().__init__`` inlined)."""
    fn = ctx.entry(entry)
    if fn is None:
        return None
    order = ctx.flatten(fn)
    sinks = attr_sinks(order, attr)
    if not sinks:
        return None
    k = sinks[-1]
    if k.partial or k.cond:
        return None
    return k.fn, k.stmt, ctx.tracer((), None, order).trace(k.fn, k.value, k.index, k.args)


# ==========================================================================
# The formula a function returns
# ==========================================================================

def formula_root(fn: Fn, expr, mode=None, depth=0):
    """The expression a returned value is finally computed by: through bare names bound
    exactly once (``return grad`` -> ``grad = ...``)."""
    while isinstance(expr, ast.Name) and depth < 10 and (expr.id in fn.stores):
        found, incoming = fn.reaching(expr.id, expr, mode)
        if (len(found) != 1 or (incoming and expr.id in fn.params) or found[0].partial
                or found[0].index is not None):
            return None
        expr = found[0].value
        depth += 1
    return expr


def returned_root(ctx: Ctx, entry, mode=None):
    fn = ctx.entry(entry)
    if fn is None:
        return None, None
    facts = ctx.mode(mode)
    rets = fn.returns(facts)
    if len(rets) != 1:
        return fn, None
    return fn, formula_root(fn, rets[0].value, facts)


def top_tree(fn: Fn, expr, mode=None, depth=0):
    """Nodes of the formula at the top: through arithmetic, subscripts and names bound once
    to arithmetic, never into calls."""
    out = []
    stack = [expr]
    while stack and len(out) < 500:
        n = stack.pop()
        out.append((fn, n))
        if isinstance(n, ast.BinOp):
            stack += [n.left, n.right]
        elif isinstance(n, ast.UnaryOp):
            stack.append(n.operand)
        elif isinstance(n, ast.Subscript):
            stack.append(n.value)
        elif isinstance(n, ast.Call) and last_name(n) in WRAPPERS:
            if isinstance(n.func, ast.Attribute) and not n.args:
                stack.append(n.func.value)             # x.item(), x.squeeze()
            elif n.args:
                stack.append(n.args[0])                # float(x), np.asarray(x)
        elif isinstance(n, ast.Call) and last_name(n) in REDUCE and isinstance(n.func, ast.Attribute) \
                and not is_np_func(n):
            stack.append(n.func.value)                 # the array x.mean() reduces
        elif isinstance(n, ast.Name) and n.id in fn.stores and depth < 6:
            found, incoming = fn.reaching(n.id, n, mode)
            if (len(found) == 1 and not (incoming and n.id in fn.params) and not found[0].partial
                    and found[0].index is None
                    and isinstance(found[0].value, (ast.BinOp, ast.UnaryOp, ast.Name))):
                stack.append(found[0].value)
                depth += 1
    return out


def rule_single_line_return(entry):
    def rule(ctx: Ctx):
        fn, sl = return_slice(ctx, entry)
        if sl is None or not sl.complete:
            return []
        lines = {(id(f.node), ln): (f, ln) for f, ln in sl.lines()}
        return [Pin(*next(iter(lines.values())))] if len(lines) == 1 else []
    return rule


def rule_top_sign(entry):
    """Wrong sign: the one subtraction or negation in the final formula."""
    def rule(ctx: Ctx):
        fn, root = returned_root(ctx, entry)
        if root is None:
            return []
        flips = [(f, n) for f, n in top_tree(fn, root, ctx.mode()) if (isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub))
                 or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub))]
        return one_line(flips) if len(flips) == 1 else []
    return rule


def rule_top_formula(entry, absent=None, mode=None):
    """A term missing from the final formula: the line that computes it, when it is one line
    (and, with ``absent``, holds no construct of that kind anywhere in the value)."""
    def rule(ctx: Ctx):
        fn, root = returned_root(ctx, entry, mode)
        if root is None or isinstance(root, ast.Name):
            return []
        if absent is not None:
            _, sl = return_slice(ctx, entry, mode=mode)
            if sl is None or sl.find(absent):
                return []
        end = getattr(root, "end_lineno", root.lineno)
        return [Pin(fn, root.lineno)] if end == root.lineno else []
    return rule


def rule_full_reduction(entry, names=REDUCE):
    """One number instead of one per sample (or a sum for a mean): the full reduction in the
    final formula."""
    def rule(ctx: Ctx):
        fn, root = returned_root(ctx, entry)
        if root is None:
            return []
        return one_line([(f, n) for f, n in top_tree(fn, root, ctx.mode()) if is_full_reduction(n, names)])
    return rule


def single_root_line(ctx: Ctx, entry):
    fn, root = returned_root(ctx, entry)
    if root is None or isinstance(root, ast.Name):
        return []
    end = getattr(root, "end_lineno", root.lineno)
    return [Pin(fn, root.lineno)] if end == root.lineno else []


# ==========================================================================
# The safe fallback: the one line that makes a behaviour of one method
# ==========================================================================
# A family (or an instructor's plugin) opts in by declaring one of these as its
# Diagnosis's pointer, alone or after a cleverer one (:func:`first_of`). Each pins a
# line only when the method has exactly one line of that kind; never one of two.

def first_of(*pointers):
    """A pointer that tries ``pointers`` in order and keeps the first that pins something."""
    def rule(ctx: Ctx):
        for p in pointers:
            found = p(ctx) or []
            if found:
                return found
        return []
    return rule


def only_return(entry, mode=None):
    """The method's only live ``return`` (or ``yield``), when everything the returned value is
    made of is written on that line (``return np.abs(input)``, ``return grad_output``,
    ``return None``): the line that makes the behaviour a check observed."""
    def rule(ctx: Ctx):
        fn = ctx.entry(entry)
        if fn is None:
            return []
        facts = ctx.mode(mode)
        rets = [s for s in fn.statements(facts) if isinstance(s, ast.Return)]
        ylds = [n for n in fn.body_nodes() if isinstance(n, (ast.Yield, ast.YieldFrom))
                and fn.is_live(fn.stmt_of(n), facts)]
        if len(rets) + len(ylds) != 1:
            return []
        node = rets[0] if rets else ylds[0]
        if node.value is None:
            return [Pin(fn, node.lineno)] if getattr(node, "end_lineno", node.lineno) == node.lineno else []
        # the ``self`` attributes the line reads count as given (the check set them, or another
        # check judges them): only the line's own computation is this method's behaviour
        given = {a for a in (fn.self_attr(n) for n in ast.walk(node.value)) if a is not None}
        _, sl = return_slice(ctx, entry, inputs=given, mode=mode)
        if sl is None or not sl.complete:
            return []
        lines = {(id(f.node), ln) for f, ln in sl.lines()}
        return [Pin(fn, node.lineno)] if lines <= {(id(fn.node), node.lineno)} else []
    return rule


def only_assignment(attr, entry, mode=None, unconditional=False):
    """The only statement that assigns ``self.<attr>`` when ``entry`` runs (helpers inlined):
    where a parameter is updated, a mask stored, a running statistic kept."""
    def rule(ctx: Ctx):
        fn = ctx.entry(entry)
        if fn is None:
            return []
        sinks = attr_sinks(ctx.flatten(fn, mode), attr)
        lines = {(id(k.fn.node), k.stmt.lineno): k for k in sinks}
        if len(lines) != 1:
            return []
        k = next(iter(lines.values()))
        if unconditional and k.cond:
            return []
        return [Pin(k.fn, k.stmt.lineno)]
    return rule


def only_loop_header(entry, body=None):
    """The header of the method's only loop (``for``/``while``), or of its only loop whose body
    satisfies ``body(fn, node)`` for some node (a loop that calls ``backward``)."""
    def rule(ctx: Ctx):
        fn = ctx.entry(entry)
        if fn is None:
            return []
        loops = [n for n in fn.body_nodes() if isinstance(n, LOOPS)
                 and (body is None or any(body(fn, c) for c in ast.walk(n) if not isinstance(c, SCOPES)))]
        return [Pin(fn, loops[0].lineno)] if len(loops) == 1 else []
    return rule


def only_statement(entry, mode=None):
    """The method's only statement (a docstring aside), when it calls none of the student's own
    code (and, for a ``return``, reads no ``self`` attribute): whatever the method does wrong,
    it does on that line."""
    def rule(ctx: Ctx):
        fn = ctx.entry(entry)
        return only_statement_of(ctx, fn, mode)
    return rule


def only_statement_of(ctx: Ctx, fn: Fn | None, mode=None):
    if fn is None:
        return []
    body = [s for s in fn.node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                            and isinstance(s.value.value, str))]
    if len(body) != 1 or not isinstance(body[0], (ast.Return, ast.Assign, ast.AugAssign, ast.Expr)):
        return []
    s = body[0]
    if getattr(s, "end_lineno", s.lineno) != s.lineno:
        return []
    if isinstance(s, ast.Return) and any(fn.self_attr(n) is not None for n in ast.walk(s)):
        return []   # it reads state another method made: that may be the mistake
    for n in ast.walk(s):
        if isinstance(n, ast.Call):
            callee, _ = ctx.code.resolve_call(fn, n)
            if callee is not None or ctx.code.opaque_call(fn, n):
                return []
    return [Pin(fn, s.lineno)]


def placeholder(entry, mode=None):
    """The only ``pass`` left in the method (where the template's ``pass`` stood): the home of
    a statement that is missing, when the method has exactly one (never an ``except: pass``)."""
    def rule(ctx: Ctx):
        fn = ctx.entry(entry)
        if fn is None:
            return []
        facts = ctx.mode(mode)
        passes = [n for n in fn.body_nodes() if isinstance(n, ast.Pass)]
        if len(passes) != 1 or not fn.is_live(passes[0], facts):
            return []
        if isinstance(fn.parents.get(passes[0]), ast.ExceptHandler) or len(fn.node.body) == 1:
            return []
        return [Pin(fn, passes[0].lineno)]
    return rule


def reads_own_value(fn: Fn, value, attr) -> bool:
    """Does ``value`` read ``self.<attr>`` (or ``getattr(self, "<attr>", ...)``)?"""
    for n in ast.walk(value):
        if fn.self_attr(n) == attr:
            return True
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "getattr" and len(n.args) >= 2
                and fn.is_self(n.args[0]) and isinstance(n.args[1], ast.Constant) and n.args[1].value == attr):
            return True
    return False


def never_assigned(attrs, entry, mode=None):
    """Parameters or statistics that ``entry`` never updates: per attribute, the one line that
    stands where its update should be: ``self.b = self.b`` (assigned its own value), a new value
    computed into a local name that goes nowhere, or else the method's only leftover ``pass``."""
    def rule(ctx: Ctx):
        fn = ctx.entry(entry)
        if fn is None:
            return []
        order = ctx.flatten(fn, mode)
        pins, missing = [], []
        for attr in attrs:
            sinks = attr_sinks(order, attr)
            if not sinks:
                local = local_updates(ctx, order, attr)
                if local:
                    pins += local
                else:
                    missing.append(attr)
                continue
            noop = [k for k in sinks if not k.partial and k.fn.self_attr(k.value) == attr]
            if noop and len(noop) == len(sinks):
                pins += one_line([(k.fn, k.stmt) for k in noop])
        if missing:
            pins += placeholder(entry, mode)(ctx)
        seen, out = set(), []
        for p in pins:
            if (id(p.fn.node), p.line) not in seen:
                seen.add((id(p.fn.node), p.line))
                out.append(p)
        return out
    return rule


def local_updates(ctx: Ctx, order, attr):
    """The line that computes ``self.<attr>``'s new value into a local name read nowhere."""
    cands = []
    for sfn, s, _, sargs in order:
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            name, arith = s.target.id, True
        elif isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            name, arith = s.targets[0].id, isinstance(s.value, ast.BinOp)
        else:
            continue
        if not arith:
            continue
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in sfn.body_nodes()):
            continue   # the new value is used (returned, stored elsewhere): not this construct
        value = s.value if isinstance(s, ast.Assign) else s
        if any(sfn.self_attr(n) == attr for n in ast.walk(value)) or (
                isinstance(s, ast.AugAssign) and _bound_to_attr(sfn, name, s, attr)):
            cands.append((sfn, s))
    return one_line(cands)


def _bound_to_attr(fn: Fn, name, at, attr) -> bool:
    found, _ = fn.reaching(name, at, None)
    return any(b.value is not None and not b.partial and fn.self_attr(b.value) == attr for b in found)
