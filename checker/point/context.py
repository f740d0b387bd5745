"""What a pointer gets and what it returns: :class:`Ctx` (the check, its class, the
verdict's evidence) and :class:`Pin` (one line of the student's code).

A family's pointer (``Diagnosis.pointer``) is ``pointer(ctx) -> list of Pin``: ``[]``
when the evidence is not conclusive. :func:`one_line` turns candidate nodes into a pin
only when they all sit on one line.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

from nncheck.point.code import Code, Fn
from nncheck.point.slicing import Tracer, flatten


@dataclass
class Pin:
    fn: Fn
    line: int


class Ctx:
    """What a rule gets: the code, the check's class and definitions, and the verdict's evidence.

    ``base`` are the facts the check fixed before calling anything: the constructor's flag
    parameters (strings, booleans, ``None``) at their defaults, or at the values of the option
    form discovery graded (``Dense(..., optimizer='rmsprop')``), and the ``self`` attributes
    the constructor copies them to. Branches they decide (``if self.optimizer == 'rmsprop':``)
    are pruned, so a flag-style class is read the way the check ran it."""

    def __init__(self, code: Code, check_id: str, requires, record, form: dict | None = None):
        self.code = code
        self.check_id = check_id
        self.record = record
        self.form = form if isinstance(form, dict) else None
        self.details = record.details if isinstance(getattr(record, "details", None), dict) else {}
        self.message = str(getattr(record, "message", "") or "")
        self.cls = None
        self.functions = []
        for name in requires or ():
            if any(k.startswith(name + ".") for k in code.defs):
                self.cls = self.cls or name
            else:
                self.functions.append(name)
        cache = code.__dict__.setdefault("_facts_cache", {})
        key = (self.cls, repr(sorted((k, repr(v)) for k, v in (self.form or {}).items())))
        if key not in cache:
            cache[key] = self._facts()
        self.base = cache[key]

    def _facts(self) -> frozenset:
        init = self.code.method(self.cls, "__init__") if self.cls else None
        if init is None:
            return frozenset()
        form = self.form or {}
        hyper = set()
        for key in ("hyper", "backward_hyper"):
            if isinstance(form.get(key), dict):
                hyper |= {str(v) for v in form[key].values()}
        a = init.node.args
        positional = a.posonlyargs + a.args
        values = {}
        for arg, default in [*zip(positional[len(positional) - len(a.defaults):], a.defaults),
                             *zip(a.kwonlyargs, a.kw_defaults)]:
            if (default is not None and isinstance(default, ast.Constant) and arg.arg not in hyper
                    and (default.value is None or isinstance(default.value, (str, bool)))):
                values[arg.arg] = default.value
        for k, v in (form.get("kwargs") or {}).items():
            if v is None or isinstance(v, (str, bool, int, float)):
                values[k] = v
            else:
                values.pop(k, None)
        facts = {("param", k, v) for k, v in values.items()}
        for f, s, c, _ in flatten(self.code, init, None):
            if c or f is not init or not isinstance(s, ast.Assign) or len(s.targets) != 1:
                continue
            attr = f.self_attr(s.targets[0])
            if attr is None or attr == "training":
                continue
            ok, v = f.known(s.value, frozenset(facts))
            if ok and not isinstance(s.value, ast.Constant) and len(
                    self.code.class_assignments(self.cls, attr, None)) == 1:
                facts.add(("attr", attr, v))
        return frozenset(facts)

    def mode(self, training: str | None = None) -> frozenset:
        """The facts for a run: ``base`` plus ``self.training`` when the check fixed it."""
        if training is None:
            return self.base
        return self.base | {("attr", "training", training == "train")}

    def entry(self, spec: str) -> Fn | None:
        if spec.startswith("{cls}."):
            return self.code.method(self.cls, spec[6:]) if self.cls else None
        return self.code.fn(spec)

    def tracer(self, inputs=(), mode=None, order=None) -> Tracer:
        return Tracer(self.code, inputs, self.mode(mode), order)

    def flatten(self, fn: Fn, mode=None):
        return flatten(self.code, fn, self.mode(mode))

    def scale(self, key):
        v = self.details.get(key)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def batch(self):
        b = self.details.get("batch")
        return b if isinstance(b, int) and b > 1 else None


def one_line(cands) -> list:
    """Pins for candidates that all sit on one line; nothing when they are spread over lines."""
    lines = {(id(fn.node), fn.file, fn.cell, n.lineno): (fn, n.lineno) for fn, n in cands}
    return [Pin(*next(iter(lines.values())))] if len(lines) == 1 else []
