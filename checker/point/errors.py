"""Checks that ended in an error: the student's line the error was raised on, and the failure
already reported that it follows from.

A check whose probe raised keeps the traceback as the worker stored it
(``CheckRecord.traceback``: the student's frames, ``File "hw.ipynb [cell 7]", line 12, in
backward``). :func:`raised_where` reads its innermost frame in the submission's own code (a
unit of the loader's plan: a notebook cell, a file of the submission) and makes a ``where``
entry of it, marked ``"raised": true``: the line the error came from, a fact of the run, not a
claim about which line holds the mistake (the selftest does not judge it). Nothing is parsed
but the traceback's text and the plan's sources.

:func:`follows_from` says which failure already reported an error follows from: a whole-
network check (``Check.downstream``) or a check that runs after others (``Check.after``)
that errors while a check it builds on failed: the one whose method the traceback passes
through, innermost first, else the first of them.
"""
from __future__ import annotations

import ast
import re

from nncheck.load.plan import Plan, unit_filename
from nncheck.load.syntax import parse
from nncheck.point.code import CONTEXT_LINES, FUNCS, SNIPPET_CHARS

FRAME = re.compile(r'^\s*File "(?P<file>[^"\n]+)", line (?P<line>\d+), in (?P<fn>[^\n]+)$', re.M)
BAD = ("failed", "error", "timeout")


def frames(traceback: str) -> list[tuple[str, int, str]]:
    """``[(file, line, function)]`` of a traceback's frames, outermost first."""
    return [(m["file"], int(m["line"]), m["fn"].strip()) for m in FRAME.finditer(traceback or "")]


def _units(plan: Plan) -> dict:
    out: dict = {}
    for m in plan.modules:
        for u in m.units:
            out.setdefault(unit_filename(u, m.filename), []).append((m, u))
    return out


def _find(units: dict, file: str, line: int):
    """The plan's ``(module, unit)`` holding ``file``'s ``line``: the name the unit was compiled
    under (``hw.ipynb [cell 7]``, ``layers.py``), or a path of the submission's copy ending in it."""
    cands = units.get(file)
    if cands is None:
        norm = file.replace("\\", "/")
        for name, us in units.items():
            if norm.endswith("/" + name):
                cands = us
                break
    for m, u in cands or []:
        if u.lineno <= line <= u.lineno + u.source.count("\n"):
            return m, u
    return None


def _method_at(unit, line: int) -> str:
    """``Dense.backward``: the innermost definition around ``line`` in ``unit`` ("" if none)."""
    try:
        tree = parse("\n" * max(unit.lineno - 1, 0) + unit.source)  # thread-safe, its warnings kept quiet
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ""
    name, stack = "", [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for c in ast.iter_child_nodes(node):
            if isinstance(c, (*FUNCS, ast.ClassDef)) and c.lineno <= line <= getattr(c, "end_lineno", c.lineno):
                qual = f"{prefix}.{c.name}" if prefix else c.name
                if isinstance(c, FUNCS):
                    name = qual
                stack.append((c, qual))
    return name


def raised_where(plan: Plan | None, traceback: str, units: dict | None = None) -> list[dict]:
    """``[where]`` for the innermost frame of ``traceback`` in the submission's own code, or ``[]``."""
    if plan is None or not traceback:
        return []
    units = units if units is not None else _units(plan)
    for file, line, fn in reversed(frames(traceback)):
        found = _find(units, file, line)
        if found is None:
            continue
        m, u = found
        lines = u.source.splitlines()
        text = lines[line - u.lineno] if 0 <= line - u.lineno < len(lines) else ""
        snippet = text.strip()
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[:SNIPPET_CHARS - 1] + "\u2026"
        first, last = max(u.lineno, line - CONTEXT_LINES), min(u.lineno + len(lines) - 1, line + CONTEXT_LINES)
        return [{"file": m.filename, "cell": u.cell, "line": line, "snippet": snippet, "pinned": True,
                 "raised": True, "method": _method_at(u, line) or fn, "label": u.label,
                 "context": [{"line": n, "text": lines[n - u.lineno][:SNIPPET_CHARS]} for n in range(first, last + 1)]}]
    return []


def _methods_of(where) -> set:
    return {w.get("method") for w in where or [] if w.get("method")}


def follows_from(rec, records, check) -> str:
    """The id of the failure already reported that the error of ``rec`` follows from, or ``""``."""
    if check is None:
        return ""
    prefixes = tuple(check.downstream or ())
    after = set(check.after or ())
    upstream = [r for r in records if r is not rec and str(getattr(r, "status", "")) in BAD
                and ((prefixes and r.id.startswith(prefixes)) or r.id in after)]
    if not upstream:
        return ""
    names = [fn for _, _, fn in frames(getattr(rec, "traceback", "") or "")]
    raised = _methods_of(getattr(rec, "where", None))
    for name in reversed(names):      # innermost frame first
        for r in upstream:
            for m in _methods_of(r.where):
                if m in raised or m == name or m.rsplit(".", 1)[-1] == name:
                    return r.id
    return upstream[0].id


def point_errors(records, checks, plan: Plan | None) -> None:
    """For each record that ended in an error: ``where`` its traceback's innermost frame of the
    student's (when pointing found nothing else), and, when it follows from a failure already
    reported, a sentence saying so at the end of its message."""
    units = _units(plan) if plan is not None else {}
    by_id = {c.id: c for c in checks}
    for rec in records:
        if str(getattr(rec, "status", "")) != "error":
            continue
        if not rec.where:
            rec.where = raised_where(plan, getattr(rec, "traceback", "") or "", units)
        source = follows_from(rec, records, by_id.get(rec.id))
        note = f"This follows from {source} above."
        if source and note not in (rec.message or ""):
            said = (rec.message or "").rstrip()
            if said and not said.endswith((".", "!", "?", ":")):
                said += "."  # an exception's own text rarely ends a sentence
            rec.message = f"{said} {note}".strip()
