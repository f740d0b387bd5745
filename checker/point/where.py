"""Pointing's entry points: ``where`` for failed checks, and how reports show it.

:func:`point_records` fills ``where`` on each failed record of a graded submission;
:func:`point` does one record. The diagnoses, their definitions and pointers come
from the registry the engine filled from the families' declarations
(:mod:`nncheck.report.diagnoses`); a check's own ``entry`` and ``downstream`` come
from the check.
"""
from __future__ import annotations

import ast
import time

from nncheck.load.plan import Plan
from nncheck.point.code import BUDGET_S, CONTEXT_LINES, MAX_PINS, SNIPPET_CHARS, Code, Fn
from nncheck.point.constructs import only_statement_of
from nncheck.point.context import Ctx
from nncheck.point.errors import point_errors
from nncheck.report import diagnoses as registry


def _entry(fn: Fn, line: int, pinned: bool, context=True) -> dict:
    snippet = fn.line_text(line).strip()
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS - 1] + "\u2026"
    w = {"file": fn.file, "cell": fn.cell, "line": int(line), "snippet": snippet, "pinned": pinned,
         "method": fn.name, "label": fn.label}
    if context:
        lines = fn.unit.source.splitlines()
        first = max(fn.unit.lineno, line - CONTEXT_LINES)
        last = min(fn.unit.lineno + len(lines) - 1, line + CONTEXT_LINES)
        w["context"] = [{"line": n, "text": lines[n - fn.unit.lineno][:SNIPPET_CHARS]} for n in range(first, last + 1)]
    return w


def _method_entry(fn: Fn) -> dict:
    return _entry(fn, fn.node.lineno, False, context=False)


def _own_method(ctx: Ctx, fn: Fn) -> Fn:
    """The method to name when no line is pinned: for an option class that inherits ``backward``
    (``MomentumDense``), the class's own method that ``backward`` calls (its ``_step``), not
    the base class's ``backward``."""
    if not ctx.cls or fn.classdef is None:
        return fn
    init = ctx.code.defs.get(f"{ctx.cls}.__init__") or {}
    own = init.get("owner") or ctx.cls
    if fn.classdef.name == own:
        return fn
    seen = []
    for f, *_ in ctx.flatten(fn):
        if f.classdef is not None and f.classdef.name == own and f not in seen:
            seen.append(f)
    return seen[0] if len(seen) == 1 else fn


def point(code: Code, check_id: str, requires, record, errors: list | None = None,
          form: dict | None = None, entry: str = "", pointer=None) -> list[dict]:
    """``where`` for one failed check: pinned lines, or the method the mistake is in, or ``[]``.

    Each diagnosis of the record that its family declared with an entry is looked for
    there by its pointer. ``entry`` is the check's own (``Check.entry``): named when the
    record has no such diagnosis. ``form`` is the option form discovery graded for the
    check's family, if any. ``pointer`` is the check's own (``Check.pointer``), tried when
    the record has no declared diagnosis. ``errors``, when given, collects what went wrong
    inside a pointer (the pointer is then simply not made).

    Last, the safe fallback: a named method whose whole body is one ``return`` line that calls
    none of the student's own code holds whatever that method does wrong (:func:`~nncheck.point.
    constructs.only_statement_of`); nothing else is guessed."""
    ctx = Ctx(code, check_id, requires, record, form)
    pins: list = []
    methods: list = []
    declared = [d for d in (registry.lookup(c) for c in getattr(record, "diagnosis", None) or [])
                if d is not None and (d.entry or d.pointer is not None)]
    pointers = [(d.code, d.pointer, d.entry) for d in declared]
    if not declared and pointer is not None:
        pointers.append(("", pointer, ""))
    for code_, ptr, where in pointers:
        try:
            found = (ptr(ctx) or []) if ptr is not None else []
        except Exception as exc:  # noqa: BLE001 - an unforeseen shape of code: no pointer
            found = []
            if errors is not None:
                errors.append((check_id, code_, f"{type(exc).__name__}: {exc}"[:300]))
        pins += found
        fn = ctx.entry(where) if where else None
        if fn is not None:
            methods.append(_own_method(ctx, fn))
    seen, out = set(), []
    for p in pins:
        k = (p.fn.file, p.fn.cell, p.line)
        if k not in seen:
            seen.add(k)
            out.append(_entry(p.fn, p.line, True))
    if len(out) > MAX_PINS:
        out = []
    if out:
        return out
    if not methods and entry and not declared:
        fn = ctx.entry(entry)
        if fn is not None:
            methods.append(fn)
    if methods:
        fn = methods[0]
        try:
            only = only_statement_of(ctx, fn) if len({id(m.node) for m in methods}) == 1 else []
        except Exception:  # noqa: BLE001 - no fallback for code of an unforeseen shape
            only = []
        if only and isinstance(_stmt_at(fn, only[0].line), ast.Return):
            return [_entry(only[0].fn, only[0].line, True)]
        return [_method_entry(fn)]
    return []


def _stmt_at(fn: Fn, line: int):
    for s in fn.node.body:
        if s.lineno == line:
            return s
    return None


def _failed(record) -> bool:
    return str(getattr(record, "status", "")) == "failed"


def point_records(records, checks, plan: Plan | None, defs: dict | None, budget_s: float = BUDGET_S,
                  errors: list | None = None, forms: dict | None = None) -> float:
    """Fill ``where`` on each failed record (in place); returns the seconds it took.

    ``checks`` are the checks graded (their ``requires``, ``entry`` and ``downstream``).
    A whole-network check (one with a ``downstream``) that pinned nothing of its own
    takes the pinned lines of the failed unit checks it builds on (``"via"`` names the
    check). ``forms``: ``{family: form}`` of the options discovery graded in the
    student's own form (:mod:`nncheck.discover.scan`). Never raises: a pointer that
    cannot be made is left out (and noted in ``errors``)."""
    t0 = time.perf_counter()
    if plan is None:
        return 0.0
    code = Code(plan, defs, t0 + budget_s)
    by_id = {c.id: c for c in checks}
    for rec in records:
        if not _failed(rec) or time.perf_counter() - t0 > budget_s:
            continue
        check = by_id.get(rec.id)
        try:
            rec.where = point(code, rec.id, check.requires if check is not None else (), rec, errors,
                              (forms or {}).get(rec.id.split(".", 1)[0]),
                              entry=check.entry if check is not None else "",
                              pointer=getattr(check, "pointer", None))
        except Exception as exc:  # noqa: BLE001 - pointing is a courtesy; the verdict stands without it
            rec.where = []
            if errors is not None:
                errors.append((rec.id, "", f"{type(exc).__name__}: {exc}"[:300]))
    try:  # checks that ended in an error: the student's line it was raised on, what it follows from
        point_errors(records, checks, plan)
    except Exception as exc:  # noqa: BLE001 - a courtesy, like the rest
        if errors is not None:
            errors.append(("", "", f"{type(exc).__name__}: {exc}"[:300]))
    downstream = {c.id: tuple(c.downstream) for c in checks if c.downstream}
    for rec in records:
        if not _failed(rec) or any(w.get("pinned") for w in rec.where or []):
            continue
        sources = downstream.get(rec.id)
        if not sources:
            continue
        inherited = []
        for other in records:
            if other is rec or not _failed(other) or not other.id.startswith(sources):
                continue
            if other.id in downstream:
                continue
            for w in other.where or []:
                if w.get("pinned") and not any(w["line"] == x["line"] and w["file"] == x["file"]
                                               and w["cell"] == x["cell"] for x in inherited):
                    inherited.append({**w, "via": other.id})
        if inherited and len(inherited) <= MAX_PINS:
            rec.where = inherited
    return time.perf_counter() - t0


def pinned_lines(where) -> list[tuple]:
    """``[(file, cell, line)]`` of the pinned entries of a ``where`` list."""
    return [(w.get("file"), w.get("cell"), w.get("line")) for w in where or [] if w.get("pinned")]


def where_text(w: dict) -> str:
    """One line for the text report: ``cell 7, line 12: `...``` or "could not pin the line..."."""
    place = w.get("label") or w.get("file") or ""
    if w.get("raised"):
        return f"raised at {place}, line {w.get('line')}: `{w.get('snippet', '')}`"
    if w.get("pinned"):
        via = f" (found by {w['via']})" if w.get("via") else ""
        return f"{place}, line {w.get('line')}: `{w.get('snippet', '')}`{via}"
    return (f"could not pin the line; the mistake is in `{w.get('method', '?')}` "
            f"({place}, line {w.get('line')})")
