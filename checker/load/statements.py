"""Which top-level statements of a source are kept, and a ``.py`` file's module plan.

What the plan keeps
    Definitions: imports, ``def``/``class``, assignments, ``if``/``try``
    blocks, ``global``, ``pass`` and docstrings. Top-level experiment code
    (``for``/``while`` loops, ``with`` blocks, bare calls such as
    ``plt.plot(...)`` or ``network.append(...)``, ``del``, ``raise``,
    ``assert``, ``match`` and ``if __name__ == "__main__":`` blocks) is
    dropped and summarised in :attr:`Plan.dropped`, for every kind of source
    (files here, notebook cells in :mod:`nncheck.load.notebook`).

Each kept statement becomes a :class:`Unit` holding its exact source text
(decorators included) and its first line number, so the worker compiles it
with the student's line numbers.
"""
from __future__ import annotations

import ast

from nncheck.load.plan import ModulePlan, Plan, Unit
from nncheck.load.syntax import describe_syntax_error, first_error, parse, salvage

__all__ = ["split_statements", "summarise_dropped", "plan_file", "drop_unread_gradient_checks"]


def _is_main_guard(node) -> bool:
    if not isinstance(node, ast.If):
        return False
    t = node.test
    if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq):
        sides = [t.left, t.comparators[0]]
        has_name = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        has_main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
        return has_name and has_main
    return False


def _is_docstring(node) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
         ast.Assign, ast.AnnAssign, ast.AugAssign, ast.If, ast.Try, ast.Global, ast.Pass)
if hasattr(ast, "TryStar"):
    _KEEP = _KEEP + (ast.TryStar,)
if hasattr(ast, "TypeAlias"):
    _KEEP = _KEEP + (ast.TypeAlias,)

_KIND_NAMES = {
    ast.For: "for loop", ast.AsyncFor: "async for loop", ast.While: "while loop",
    ast.With: "with block", ast.AsyncWith: "async with block", ast.Delete: "del statement",
    ast.Raise: "raise statement", ast.Assert: "assert statement",
}


def _drop_kind(node, leading: bool) -> str | None:
    """None to keep ``node``; else a short description of why it is dropped."""
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return None if leading else "late __future__ import"
    if _is_main_guard(node):
        return "if __name__ == '__main__' block"
    if isinstance(node, _KEEP):
        return None
    if _is_docstring(node):
        return None
    if isinstance(node, ast.Expr):
        return "call" if isinstance(node.value, (ast.Call, ast.Await)) else "expression"
    if hasattr(ast, "Match") and isinstance(node, ast.Match):
        return "match statement"
    return _KIND_NAMES.get(type(node), type(node).__name__.lower() + " statement")


def _plural(kind: str, n: int) -> str:
    if n == 1:
        return ("an " if kind[0] in "aeiou" else "a ") + kind
    if kind.endswith("block") or kind.endswith("loop") or kind.endswith("statement") or kind.endswith("import"):
        return f"{n} {kind}s"
    return f"{n} {kind}s" if not kind.endswith("s") else f"{n} {kind}es"


def summarise_dropped(label: str, kinds: list[str]) -> str:
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    parts = [_plural(k, n) for k, n in counts.items()]
    if len(kinds) == 1:
        return f"{label}: a top-level {kinds[0]} (experiment code) was not run"
    return (f"{label}: {len(kinds)} top-level statements ({', '.join(parts)}) "
            f"were not run (experiment code)")


def _node_start(node) -> int:
    decos = getattr(node, "decorator_list", None)
    if decos:
        return min([node.lineno] + [d.lineno for d in decos])
    return node.lineno


def _byte_col(line: str, col: int) -> int:
    """ast column offsets count UTF-8 bytes; return the str index."""
    return len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))


def _slice(lines: list[str], node) -> tuple[str, int]:
    """Exact source of a top-level ``node`` and its first line number. A
    decorated definition starts at its first decorator; a simple statement
    sharing a line with another (``import a; a.f()``) is cut at its columns."""
    start = _node_start(node)
    end = node.end_lineno or node.lineno
    first = lines[start - 1]
    scol = 0 if start != node.lineno else _byte_col(first, node.col_offset)
    if node.end_col_offset is None:
        return "".join(lines[start - 1:end]), start
    last = lines[end - 1]
    ecol = _byte_col(last, node.end_col_offset)
    if start == end:
        return first[scol:ecol] + "\n", start
    return first[scol:] + "".join(lines[start:end - 1]) + last[:ecol] + "\n", start


def split_statements(tree: ast.Module, lines: list[str], in_first_chunk: bool = True):
    """Yield (node, source, lineno, drop_kind) per top-level statement."""
    leading = in_first_chunk
    for node in tree.body:
        kind = _drop_kind(node, leading)
        if not (_is_docstring(node) or (isinstance(node, ast.ImportFrom) and node.module == "__future__")):
            leading = False
        src, ln = _slice(lines, node)
        yield node, src, ln, kind


def plan_file(text: str, name: str, filename: str, is_package: bool, plan: Plan) -> ModulePlan:
    """The module plan of one ``.py`` source; what does not parse is salvaged around, and
    problems and dropped statements are noted in ``plan``."""
    mod = ModulePlan(name=name, filename=filename, is_package=is_package)
    err, tree = first_error(text, filename)
    if tree is not None:
        chunks = [(tree, 0, text.splitlines(keepends=True))]
    else:
        chunks, skipped = salvage(text, filename)
        ranges = ", ".join(f"line {a}" if a == b else f"lines {a}-{b}" for a, b in skipped)
        plan.problems.append(
            f"{filename} does not parse ({describe_syntax_error(err)}); "
            + (f"{ranges} were skipped and the rest was loaded" if chunks else "it was not loaded"))
    kinds: list[str] = []
    for k, (ctree, offset, lines) in enumerate(chunks):
        for _node, src, ln, kind in split_statements(ctree, lines, k == 0 and offset == 0):
            if kind:
                kinds.append(kind)
                continue
            mod.units.append(Unit(source=src, lineno=ln + offset, label=filename))
    if kinds:
        plan.dropped.append(summarise_dropped(filename, kinds))
    return mod


# --------------------------------------------------------------------------
# The notebook's own gradient checks
#
# The assignment's test cells compare a layer's gradients with numerical ones from the course's
# util helpers, element by element: ``numeric_dw = eval_numerical_gradient(lambda w: ..., w)``
# calls the student's Dense 4,096 times, 0.6 s of every load of the original notebook. What they
# compute feeds only the asserts beside them, which are experiment code and never run. Such an
# assignment is not run either when no kept statement reads the names it binds, and no later kept
# statement uses an object whose method the check calls (``l`` in ``l.forward(x)``: a layer may
# keep state from its forward pass for a ``l.backward(...)`` that follows).

GRADIENT_CHECK_HELPERS = frozenset({"eval_numerical_gradient", "eval_numerical_gradient_array"})


def _helper_call(value) -> bool:
    for node in ast.walk(value):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in GRADIENT_CHECK_HELPERS:
                return True
    return False


def _bound_names(target) -> list[str] | None:
    """The plain names an assignment target binds, or ``None`` if it binds anything else."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names = [_bound_names(t) for t in target.elts]
        return None if any(n is None for n in names) else [n for ns in names for n in ns]
    return None


def _reads(tree) -> set[str]:
    """Every name ``tree`` may read: loaded names, ``global``/``nonlocal`` names, identifier strings."""
    read = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            read.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            read.update(node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            read.add(node.value)  # globals()["name"], getattr(module, "name")
    return read


def _receivers(tree) -> set[str]:
    """Names whose attributes ``tree`` uses (``l`` in ``l.forward(x)``)."""
    return {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}


def drop_unread_gradient_checks(plan: Plan) -> None:
    """Take the notebook's own gradient checks (see above) out of ``plan``, noting them in
    :attr:`Plan.dropped`."""
    units = [(mod, unit) for mod in plan.modules for unit in mod.units]
    if not any(helper in unit.source for _mod, unit in units for helper in GRADIENT_CHECK_HELPERS):
        return  # the usual case for a .py file: nothing to parse again
    trees = []
    for _mod, unit in units:
        try:
            trees.append(parse(unit.source))
        except (SyntaxError, ValueError):
            return  # what it reads cannot be told: nothing is dropped
    checks = {}
    for i, tree in enumerate(trees):
        node = tree.body[0] if len(tree.body) == 1 else None
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _helper_call(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [_bound_names(t) for t in targets]
            if all(n is not None for n in names):
                checks[i] = {n for ns in names for n in ns}
    if not checks:
        return
    reads = [_reads(t) for t in trees]
    executed = [not isinstance(t.body[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for t in trees]
    drop = set()
    for i, names in checks.items():
        if any(names & reads[j] for j in range(len(trees)) if j != i):
            continue
        receivers = _receivers(trees[i])
        mod = units[i][0]
        if any(receivers & reads[j] for j in range(i + 1, len(trees)) if executed[j] and units[j][0] is mod):
            continue
        drop.add(i)
    labels: dict[str, list[str]] = {}
    for i in sorted(drop):
        labels.setdefault(units[i][1].label, []).extend(sorted(checks[i]))
    for mod in plan.modules:
        mod.units = [u for u in mod.units if not any(u is units[i][1] for i in drop)]
    for label, names in labels.items():
        what = ("a numerical gradient check", "was") if len(names) == 1 else \
            (f"{len(names)} numerical gradient checks", "were")
        note = f"{label}: {what[0]} ({', '.join(names)}) {what[1]} not run (experiment code: nothing graded reads it)"
        # beside what else its cell (or file) did not run, which comes in the notebook's order
        same = [k for k, d in enumerate(plan.dropped) if d.startswith(label + ":")]
        plan.dropped.insert(same[-1] + 1 if same else len(plan.dropped), note)
