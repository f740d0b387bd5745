"""Slices: every expression that feeds a value, and the order a method's statements run in.

A :class:`Slice` is what a traced value is made of; a :class:`Tracer` builds it,
following local names, tuple unpacking, ``self.`` attributes and calls to the
student's own helpers (arguments bound to parameters), as Python would dispatch
them for the class the check graded. :func:`flatten` lists a method's statements
in the order they run, helper calls inlined; :func:`attr_sinks` finds in it the
statements that assign an attribute (the new ``self.weights``).
"""
from __future__ import annotations

import ast
import time
from dataclasses import dataclass

from nncheck.point.code import (BUILTINS, COMPS, MAX_CALL_DEPTH, MAX_NODES, SCOPES, Code, Fn, OutOfTime,
                                assigned_attr)


class Slice:
    """What a traced value is made of: ``nodes`` as ``(fn, node)``; ``complete`` is False when
    it reads state the analysis cannot follow (module-level variables)."""

    def __init__(self):
        self.nodes: list = []
        self.complete = True
        self.inputs: set = set()   # (fn key, parameter) reached with no argument bound: grader inputs
        self._seen: set = set()

    def lines(self) -> set:
        return {(fn, n.lineno) for fn, n in self.nodes if hasattr(n, "lineno")}

    def find(self, pred) -> list:
        out, seen = [], set()
        for fn, n in self.nodes:
            if id(n) in seen:
                continue
            seen.add(id(n))
            if pred(fn, n):
                out.append((fn, n))
        return out


class Tracer:
    """Builds slices for one query: ``inputs`` are ``self`` attributes the check set itself
    (not followed), ``mode`` is ``"train"``/``"eval"`` when the check fixed ``self.training``."""

    def __init__(self, code: Code, inputs=(), mode=None, order=None):
        self.code = code
        self.inputs = frozenset(inputs)
        self.mode = mode
        # the calls the checked method makes (see flatten): a helper's parameters are bound
        # to the arguments it got there when an attribute it assigns is followed into it
        self.calls: dict = {}
        for fn, _, _, args in order or ():
            if args and args not in self.calls.setdefault((fn.key, fn.cls), []):
                self.calls[(fn.key, fn.cls)].append(args)

    def trace(self, fn: Fn, expr, index=None, args=None, sl: Slice | None = None, depth: int = 0) -> Slice:
        sl = sl if sl is not None else Slice()
        if expr is None:
            return sl
        if self.code.deadline is not None and time.perf_counter() > self.code.deadline:
            raise OutOfTime()
        key = (fn.key, fn.cls, id(expr), index)
        if key in sl._seen or len(sl.nodes) > MAX_NODES:
            if len(sl.nodes) > MAX_NODES:
                sl.complete = False
            return sl
        sl._seen.add(key)
        if index is not None:
            if isinstance(expr, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in expr.elts):
                if index < len(expr.elts):
                    return self.trace(fn, expr.elts[index], None, args, sl, depth)
            elif isinstance(expr, ast.Name):
                self._name(fn, expr.id, expr, args, sl, depth, index)
                sl.nodes.append((fn, expr))
                return sl
            elif isinstance(expr, ast.Call):
                callee, skip = self.code.resolve_call(fn, expr)
                if callee is not None and depth < MAX_CALL_DEPTH:
                    sl.nodes.append((fn, expr))
                    bound = _bind(callee, expr, skip, fn, args)
                    for ret in callee.returns(self.mode):
                        self.trace(callee, ret.value, index, bound, sl, depth + 1)
                    return sl
            elif isinstance(expr, ast.IfExp):
                sl.nodes.append((fn, expr))
                v = fn.test_value(expr.test, self.mode)
                if v is not False:
                    self.trace(fn, expr.body, index, args, sl, depth)
                if v is not True:
                    self.trace(fn, expr.orelse, index, args, sl, depth)
                return sl
        self._visit(fn, expr, args, sl, depth)
        return sl

    def _visit(self, fn: Fn, node, args, sl: Slice, depth: int):
        stack = [(node, frozenset())]
        while stack:
            n, shadow = stack.pop()
            sl.nodes.append((fn, n))
            if isinstance(n, ast.Name):
                if isinstance(n.ctx, ast.Load) and n.id not in shadow:
                    self._name(fn, n.id, n, args, sl, depth)
                continue
            attr = fn.self_attr(n)
            if attr is not None:
                if isinstance(n.ctx, ast.Load):
                    self._attr(fn, attr, sl, depth)
                sl.nodes.append((fn, n.value))
                continue
            if isinstance(n, ast.Call):
                callee, skip = self.code.resolve_call(fn, n)
                if callee is not None and depth < MAX_CALL_DEPTH:
                    bound = _bind(callee, n, skip, fn, args)
                    for ret in callee.returns(self.mode):
                        self.trace(callee, ret.value, None, bound, sl, depth + 1)
                    continue
                if callee is not None or self.code.opaque_call(fn, n):
                    sl.complete = False
            if isinstance(n, ast.IfExp):
                v = fn.test_value(n.test, self.mode)
                if v is not None:
                    stack.append((n.body if v else n.orelse, shadow))
                    continue
            if isinstance(n, COMPS):
                shadow = shadow | {x.id for g in n.generators for x in ast.walk(g.target)
                                   if isinstance(x, ast.Name)}
            elif isinstance(n, ast.Lambda):
                a = n.args
                shadow = shadow | {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            elif isinstance(n, SCOPES):
                continue
            for c in ast.iter_child_nodes(n):
                stack.append((c, shadow))

    def _name(self, fn: Fn, name: str, at, args, sl: Slice, depth: int, index=None):
        """Follow a local name read at node ``at`` to what bound it."""
        if name in fn.stores or name in fn.params:
            key = ("name", fn.key, fn.cls, name, id(fn.stmt_of(at) or at), index, id(args))
            if key in sl._seen or len(sl.nodes) > MAX_NODES:
                return
            sl._seen.add(key)
            found, incoming = fn.reaching(name, at, self.mode)
            for b in found:
                if b.partial:
                    pkey = ("partial", fn.key, fn.cls, id(b.value))
                    if pkey not in sl._seen:
                        sl._seen.add(pkey)
                        self._visit(fn, b.value, args, sl, depth)
                    # the value it modifies: the bindings before this statement
                    self._name(fn, name, b.stmt, args, sl, depth)
                else:
                    self.trace(fn, b.value, b.index if b.index is not None else index, args, sl, depth)
            if incoming and name in fn.params:
                if args and name in args:
                    cfn, cexpr, cargs = args[name]
                    self.trace(cfn, cexpr, index, cargs, sl, depth)
                else:
                    sl.inputs.add((fn.key, name))
            return
        if name in BUILTINS:
            return
        if name in self.code.global_data():
            sl.complete = False

    def _attr(self, fn: Fn, attr: str, sl: Slice, depth: int):
        if attr in self.inputs or not fn.cls:
            return
        key = ("attr", fn.cls, attr)
        if key in sl._seen:
            return
        sl._seen.add(key)
        for afn, stmt, value, index, partial in self.code.class_assignments(fn.cls, attr, self.mode):
            for args in self.calls.get((afn.key, afn.cls)) or [None]:
                if partial:
                    self._visit(afn, value, args, sl, depth)
                else:
                    self.trace(afn, value, index, args, sl, depth)


def _bind(callee: Fn, call, skip_self: bool, caller: Fn, caller_args) -> dict:
    """``{parameter: (caller fn, argument expression, caller's bindings)}`` for one call."""
    params = list(callee.positional)
    if skip_self and params:
        params = params[1:]
    out = {}
    for i, a in enumerate(call.args):
        if isinstance(a, ast.Starred):
            break
        if i < len(params):
            out[params[i]] = (caller, a, caller_args)
    for k in call.keywords:
        if k.arg is not None:
            out[k.arg] = (caller, k.value, caller_args)
    return out


# ==========================================================================
# Execution order of a method, helper calls inlined
# ==========================================================================

def flatten(code: Code, fn: Fn, mode, cond=False, depth=0, out=None, stack=(), args=None):
    """``[(fn, stmt, conditional, args)]`` in the order they run when ``fn`` is called: a call
    to the student's own helper (``self._step(...)``, ``super().__init__(...)``) is replaced by
    the helper's statements, before the statement that makes it; ``args`` binds the helper's
    parameters to the caller's arguments (see :func:`_bind`)."""
    top = out is None and args is None and not cond
    if top and (fn.key, fn.cls, mode) in code._flat:
        return code._flat[(fn.key, fn.cls, mode)]
    if code.deadline is not None and time.perf_counter() > code.deadline:
        raise OutOfTime()
    out = [] if out is None else out
    if depth > MAX_CALL_DEPTH or (fn.key, fn.cls) in stack:
        return out
    stack = stack + ((fn.key, fn.cls),)

    memo = code.__dict__.setdefault("_calls", {})

    def calls(expr):
        """The calls in ``expr``, innermost first (listed once per node)."""
        if expr is None:
            return []
        hit = memo.get(id(expr))
        if hit is not None and hit[0] is expr:
            return hit[1]
        found = []

        def rec(n):
            if isinstance(n, SCOPES):
                return
            for c in ast.iter_child_nodes(n):
                rec(c)
            if isinstance(n, ast.Call):
                found.append(n)
        rec(expr)
        memo[id(expr)] = (expr, found)
        return found

    def inline(exprs, c):
        for e in exprs:
            for call in calls(e):
                callee, skip = code.resolve_call(fn, call)
                if callee is not None:
                    flatten(code, callee, mode, c, depth + 1, out, stack, _bind(callee, call, skip, fn, args))

    def stmts(body, c):
        for s in body:
            if not fn.is_live(s, mode) or isinstance(s, SCOPES):
                continue
            if isinstance(s, ast.If):
                inline([s.test], c)
                v = fn.test_value(s.test, mode)
                stmts(s.body, c or v is not True)
                stmts(s.orelse, c or v is not False)
            elif isinstance(s, (ast.For, ast.AsyncFor, ast.While)):
                inline([getattr(s, "iter", None), getattr(s, "test", None)], c)
                stmts(s.body, True)
                stmts(s.orelse, True)
            elif isinstance(s, (ast.With, ast.AsyncWith)):
                inline([i.context_expr for i in s.items], c)
                stmts(s.body, c)
            elif isinstance(s, ast.Try) or type(s).__name__ in ("TryStar", "Match"):
                for field in ("body", "orelse", "finalbody"):
                    stmts(getattr(s, field, []) or [], True)
                for h in getattr(s, "handlers", []) or []:
                    stmts(h.body, True)
                for case in getattr(s, "cases", []) or []:
                    stmts(case.body, True)
            else:
                inline([s], c)
                out.append((fn, s, c, args))

    stmts(fn.node.body, cond)
    if top:
        code._flat[(fn.key, fn.cls, mode)] = out
    return out


@dataclass
class Sink:
    fn: Fn
    stmt: ast.AST
    value: ast.AST
    index: int | None
    partial: bool
    cond: bool
    args: dict | None


def attr_sinks(order, attr: str) -> list[Sink]:
    """The statements of ``order`` (see :func:`flatten`) that assign ``self.<attr>``."""
    out = []
    for fn, s, c, a in order:
        for v, i, p in assigned_attr(fn, s, attr):
            out.append(Sink(fn, s, v, i, p, c, a))
    return out


def trace_sink(tracer: "Tracer", k: Sink, sl: "Slice | None" = None) -> "Slice":
    sl = sl if sl is not None else Slice()
    if k.partial:
        tracer._visit(k.fn, k.value, k.args, sl, 0)
    else:
        tracer.trace(k.fn, k.value, k.index, k.args, sl, 0)
    return sl
