"""Point at the line: where in the student's own code a diagnosed mistake is (issue 12).

A failed check says *what* is wrong (its diagnosis codes). This module says
*where*: it reads the definitions the check exercised and finds the line that
holds the construct the diagnosis describes, in the student's own cell or file.
It runs in the grading process, on plain data only: the loader's plan (every
unit's source and line) and the worker's ``defs`` (which code object Python
actually resolved for ``Dense.backward`` and the like, following notebook
redefinitions and inheritance). Nothing of the student's runs here; the
source is parsed, never executed.

How a line is found (static, from evidence):

1. The diagnosis names a mistake and, through :data:`RULES`, the definition
   to look in (``Dense.backward`` for ``dense-grad-divided-by-batch``) and a
   matcher: the construct to look for (a division by ``shape[0]`` or
   ``len(...)``, a ``.mean(`` on the bias gradient, a ``+`` where ``-``
   belongs...). The verdict's own evidence (which of ``dW`` and ``db`` was
   wrong, which hyperparameter was ignored, which scheme the variance
   matches) narrows the search where it says more.
2. The search is over the *slice* of the wrong value: starting from what the
   check observed (the new ``self.weights``, the returned gradient), every
   expression that feeds it is followed back through local variables, tuple
   unpacking, ``self.`` attributes, calls to the student's own helper methods
   and functions (``self._step``, ``super().__init__``, with arguments bound
   to parameters), as Python would dispatch them for the class the check
   graded: an inherited method is searched where it is defined, so a bug in
   ``Dense`` that fails ``MomentumDense`` points at ``Dense``. Branches on
   ``self.training`` are pruned when the check ran in a known mode.
3. A line is pinned only when the evidence is conclusive: exactly one line of
   the slice holds the construct (per parameter), or the whole wrong value is
   computed on one line. Anything else (two candidates, a slice that reaches
   code the analysis cannot follow, a missing statement with no home) is
   *not* pinned: the pointer then names the method and its ``def`` line
   (``"pinned": false``). Wrong pointing is worse than none.

A failed check with no matching rule gets a method-level pointer when the
check exercises one clear definition (:data:`CHECK_ENTRY`), else none.
Whole-network checks (training, experiments) inherit the pinned lines of the
failed unit checks they build on (``"via"`` names that check).

``where`` entries (CONTRACT §3): ``file`` (as the plan names it: the notebook,
``layers.py``, ``pkg/layers.py``), ``cell`` (0-based index into the
notebook's cells, ``None`` for ``.py``), ``line`` (1-based within the cell or
file), ``snippet`` (that line), plus ``pinned``, ``method`` (the definition,
by the name of the class that defines it), ``label`` (``"cell 7"`` or the
file, as the rest of the report says it) and, for a pinned line, ``context``
(a few lines around it, for the HTML view).
"""
from __future__ import annotations

import ast
import builtins
import time
from dataclasses import dataclass

from nncheck.load.plan import ModulePlan, Plan, Unit, unit_filename
from nncheck.load.syntax import parse

__all__ = ["RULES", "CHECK_ENTRY", "Code", "annotate", "point", "pinned_lines", "where_text"]

CONTEXT_LINES = 2        # lines shown above and below a pinned line
MAX_PINS = 4             # more candidate lines than this is not a pin
SNIPPET_CHARS = 240
MAX_CALL_DEPTH = 8       # helper calls followed into, nested
MAX_NODES = 20000        # per slice: a guard against pathological sources
BUDGET_S = 0.5           # pointing time per submission (issue 12: at most 0.5 s)

_BUILTINS = frozenset(dir(builtins))
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_MUTATORS = frozenset({"sort", "fill", "append", "extend", "insert", "update", "resize", "itemset",
                       "clip", "put", "setfield"})
_IN_PLACE_FUNCS = frozenset({"shuffle", "copyto", "put", "place", "putmask", "fill_diagonal"})
_RANDOM = frozenset({"randn", "rand", "normal", "uniform", "random", "random_sample", "ranf", "sample",
                     "standard_normal", "randint", "random_integers", "choice", "permutation", "shuffle",
                     "binomial", "integers", "bernoulli", "truncated_normal", "xavier_uniform"})
_UNIFORM01 = frozenset({"rand", "random", "random_sample", "ranf", "sample"})
_SHAPE_CALLS = _RANDOM | {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "eye", "reshape"}
_MATMUL = frozenset({"dot", "matmul", "einsum", "tensordot", "inner", "outer", "multi_dot"})
_SQRT = frozenset({"sqrt", "rsqrt"})
_REDUCE = frozenset({"sum", "mean", "average", "nansum", "nanmean"})
_WRAPPERS = frozenset({"float", "float64", "float32", "asarray", "array", "squeeze", "item"})


# ==========================================================================
# The submission's code: definitions as the worker resolved them
# ==========================================================================

def _dotted(node) -> str:
    """``np.random.randn`` for that call's func, ``.mean`` for ``x.mean`` ("" otherwise)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif parts:
        parts.append("")
    return ".".join(reversed(parts))


def _last(call) -> str:
    """The called name's last part: ``randn`` for ``np.random.randn(...)``, ``mean`` for ``x.mean()``."""
    f = call.func if isinstance(call, ast.Call) else call
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _kw(call, name):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _const(node):
    """A number written as a literal (``-1`` included), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _const(node.operand)
        if v is not None:
            return -v if isinstance(node.op, ast.USub) else v
    return None


def _pos(node):
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


@dataclass
class Binding:
    """One statement that binds a local name: ``value`` (narrowed by ``index`` for tuple
    unpacking) for a plain binding; ``partial`` ones (``x += ...``, ``x[i] = ...``,
    ``x.sort()``) keep the earlier value and contribute their whole statement."""
    stmt: ast.AST
    value: ast.AST | None
    index: int | None
    partial: bool
    top: bool           # directly in the function body (not under if/for/while/try/with)
    loops: frozenset    # ids of the loops around it


class Fn:
    """One function or method of the submission, with what the analysis needs of it."""

    def __init__(self, code: "Code", key: str, node, module: ModulePlan, unit: Unit, cls: str | None,
                 owner: str | None, classdef):
        self.code, self.key, self.node, self.module, self.unit = code, key, node, module, unit
        self.cls, self.owner, self.classdef = cls, owner, classdef
        self.file = module.filename
        self.cell = unit.cell
        self.label = unit.label
        self.parents: dict = {}
        for parent in ast.walk(node):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        a = node.args
        self.positional = [x.arg for x in a.posonlyargs + a.args]
        self.params = set(self.positional) | {x.arg for x in a.kwonlyargs}
        for extra in (a.vararg, a.kwarg):
            if extra is not None:
                self.params.add(extra.arg)
        deco = {_dotted(d) for d in node.decorator_list}
        is_method = classdef is not None and "staticmethod" not in deco and "classmethod" not in deco
        self.self_name = self.positional[0] if is_method and self.positional else None
        declared = set()
        self.stores = set()
        for n in self.body_nodes():
            if isinstance(n, (ast.Global, ast.Nonlocal)):
                declared.update(n.names)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                self.stores.add(n.id)
        self.stores -= declared
        self._cache: dict = {}

    # -- naming ------------------------------------------------------------
    @property
    def name(self) -> str:
        """The definition as the student wrote it: ``Dense.backward`` (the defining class), ``train``."""
        if self.classdef is not None:
            return f"{self.classdef.name}.{self.node.name}"
        return self.node.name

    def body_nodes(self):
        """Every node of the body, not entering nested functions, classes or lambdas."""
        stack = list(self.node.body)
        while stack:
            n = stack.pop()
            yield n
            for c in ast.iter_child_nodes(n):
                if not isinstance(c, _SCOPES):
                    stack.append(c)

    def stmt_of(self, node):
        while node is not None and not isinstance(node, ast.stmt):
            node = self.parents.get(node)
        return node

    def loops_of(self, node) -> frozenset:
        out = []
        child, parent = node, self.parents.get(node)
        while parent is not None and parent is not self.node:
            if isinstance(parent, _LOOPS) and child not in (getattr(parent, "iter", None),
                                                             getattr(parent, "target", None)):
                out.append(id(parent))
            child, parent = parent, self.parents.get(parent)
        return frozenset(out)

    def is_self(self, node) -> bool:
        return self.self_name is not None and isinstance(node, ast.Name) and node.id == self.self_name

    def self_attr(self, node) -> str | None:
        """``X`` for ``self.X`` (``self`` being this method's first parameter)."""
        if isinstance(node, ast.Attribute) and self.is_self(node.value):
            return node.attr
        return None

    # -- control flow --------------------------------------------------------
    def known(self, e, facts):
        """``(True, value)`` when the value of ``e`` is fixed by ``facts`` (see :class:`Ctx`):
        a literal, a ``self`` attribute the facts know, a constructor parameter they know,
        ``.lower()`` of one of those."""
        if isinstance(e, ast.Constant):
            return True, e.value
        if isinstance(e, (ast.Tuple, ast.List, ast.Set)) and all(isinstance(x, ast.Constant) for x in e.elts):
            return True, tuple(x.value for x in e.elts)
        attr = self.self_attr(e)
        if attr is not None:
            for kind, name, value in facts:
                if kind == "attr" and name == attr:
                    return True, value
            return False, None
        if (isinstance(e, ast.Name) and self.node.name == "__init__" and e.id in self.params
                and e.id not in self.stores):
            for kind, name, value in facts:
                if kind == "param" and name == e.id:
                    return True, value
            return False, None
        if (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and not e.args and not e.keywords
                and e.func.attr in ("lower", "upper", "strip", "casefold")):
            ok, v = self.known(e.func.value, facts)
            if ok and isinstance(v, str):
                return True, getattr(v, e.func.attr)()
        return False, None

    def test_value(self, test, mode):
        """``True``/``False`` when ``test`` is decided by what the check fixed: ``mode`` is a
        frozenset of facts (``("attr", "training", False)``, ``("param", "init", "xavier")``)."""
        if not mode:
            return None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            v = self.test_value(test.operand, mode)
            return None if v is None else not v
        if isinstance(test, ast.BoolOp):
            vals = [self.test_value(v, mode) for v in test.values]
            if isinstance(test.op, ast.And):
                return False if False in vals else (True if all(v is True for v in vals) else None)
            return True if True in vals else (False if all(v is False for v in vals) else None)
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            ok_a, a = self.known(test.left, mode)
            ok_b, b = self.known(test.comparators[0], mode)
            if not (ok_a and ok_b):
                return None
            op = test.ops[0]
            try:
                if isinstance(op, ast.Eq):
                    return a == b
                if isinstance(op, ast.NotEq):
                    return a != b
                if isinstance(op, (ast.Is, ast.IsNot)) and (b is None or isinstance(b, bool)):
                    return (a is b) == isinstance(op, ast.Is)
                if isinstance(op, (ast.In, ast.NotIn)) and isinstance(b, (tuple, str)):
                    return (a in b) == isinstance(op, ast.In)
            except TypeError:
                return None
            return None
        ok, v = self.known(test, mode)
        if ok and not isinstance(test, ast.Constant):
            try:
                return bool(v)
            except (TypeError, ValueError):
                return None
        return None

    def live(self, mode) -> set:
        """Ids of the statements that can run in ``mode`` (dead branches and code after an
        unconditional ``return`` left out)."""
        key = ("live", mode)
        if key in self._cache:
            return self._cache[key]
        out: set = set()

        def block(stmts) -> bool:
            for s in stmts:
                out.add(id(s))
                if isinstance(s, (ast.Return, ast.Raise)):
                    return True
                if isinstance(s, ast.If):
                    v = self.test_value(s.test, mode)
                    if v is True:
                        if block(s.body):
                            return True
                    elif v is False:
                        if block(s.orelse):
                            return True
                    else:
                        ends = block(s.body)
                        if block(s.orelse) and ends and s.orelse:
                            return True
                elif isinstance(s, (ast.With, ast.AsyncWith)):
                    if block(s.body):
                        return True
                elif isinstance(s, _SCOPES):
                    continue
                else:
                    for field in ("body", "orelse", "finalbody"):
                        block(getattr(s, field, []) or [])
                    for h in getattr(s, "handlers", []) or []:
                        block(h.body)
                    for case in getattr(s, "cases", []) or []:
                        block(case.body)
            return False

        block(self.node.body)
        self._cache[key] = out
        return out

    def is_live(self, stmt, mode) -> bool:
        return stmt is None or id(stmt) in self.live(mode)

    def statements(self, mode):
        """Live statements of the body, in source order."""
        live = self.live(mode)
        return sorted((n for n in self.body_nodes() if isinstance(n, ast.stmt) and id(n) in live), key=_pos)

    def returns(self, mode):
        return [s for s in self.statements(mode) if isinstance(s, ast.Return) and s.value is not None]

    # -- local names ---------------------------------------------------------
    def bindings(self, mode) -> dict:
        key = ("bind", mode)
        if key in self._cache:
            return self._cache[key]
        out: dict = {}

        def add(name, stmt, value, index=None, partial=False):
            top = self.parents.get(stmt) is self.node
            out.setdefault(name, []).append(Binding(stmt, value, index, partial, top, self.loops_of(stmt)))

        def root_name(t):
            while isinstance(t, (ast.Attribute, ast.Subscript)):
                t = t.value
            return t.id if isinstance(t, ast.Name) else None

        def target(t, stmt, value, index=None):
            if isinstance(t, ast.Name):
                add(t.id, stmt, value, index)
            elif isinstance(t, (ast.Tuple, ast.List)):
                if any(isinstance(e, ast.Starred) for e in t.elts):
                    for e in t.elts:
                        target(e.value if isinstance(e, ast.Starred) else e, stmt, value, None)
                else:
                    for i, e in enumerate(t.elts):
                        target(e, stmt, value, i if index is None else None)
            elif isinstance(t, ast.Starred):
                target(t.value, stmt, value, None)
            elif isinstance(t, (ast.Attribute, ast.Subscript)):
                name = root_name(t)
                if name is not None and not self.is_self(ast.Name(id=name)):
                    add(name, stmt, stmt, None, True)

        for s in self.statements(mode):
            if isinstance(s, ast.Assign):
                for t in s.targets:
                    target(t, s, s.value)
            elif isinstance(s, ast.AnnAssign) and s.value is not None:
                target(s.target, s, s.value)
            elif isinstance(s, ast.AugAssign):
                name = root_name(s.target)
                if name is not None:
                    add(name, s, s, None, True)
            elif isinstance(s, (ast.For, ast.AsyncFor)):
                target(s.target, s, s.iter, None)
                for n in ast.walk(s.target):
                    if isinstance(n, ast.Name):
                        for b in out.get(n.id, []):
                            if b.stmt is s:
                                b.index = None
            elif isinstance(s, (ast.With, ast.AsyncWith)):
                for item in s.items:
                    if item.optional_vars is not None:
                        target(item.optional_vars, s, item.context_expr)
            elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
                call = s.value
                f = call.func
                mutated = []
                if isinstance(f, ast.Attribute) and f.attr in _MUTATORS:
                    mutated.append(root_name(f.value))
                if _last(call) in _IN_PLACE_FUNCS and call.args:
                    mutated.append(root_name(call.args[0]))
                out_kw = _kw(call, "out")
                if out_kw is not None:
                    mutated.append(root_name(out_kw))
                for name in mutated:
                    if name is not None:
                        add(name, s, call, None, True)
        for n in self.body_nodes():
            if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                st = self.stmt_of(n)
                if self.is_live(st, mode):
                    out.setdefault(n.target.id, []).append(
                        Binding(st, n.value, None, False, False, self.loops_of(st)))
        self._cache[key] = out
        return out

    def reaching(self, name, node, mode):
        """The bindings of ``name`` that can reach ``node``, and whether the incoming value
        (the parameter, for a parameter) can still reach it."""
        stmt = self.stmt_of(node) or node
        here = _pos(stmt)
        loops = self.loops_of(stmt)
        found = []
        for b in self.bindings(mode).get(name, []):
            if b.stmt is stmt and not (b.loops & loops):
                continue
            if _pos(b.stmt) < here or (b.loops & loops):
                found.append(b)
        killers = [b for b in found if b.top and not b.partial and not b.loops and _pos(b.stmt) < here]
        incoming = not killers
        if killers:
            last = max(killers, key=lambda b: _pos(b.stmt))
            found = [b for b in found if _pos(b.stmt) >= _pos(last.stmt) or (b.loops & loops)]
        return found, incoming

    # -- locations -----------------------------------------------------------
    def line_text(self, line: int) -> str:
        lines = self.unit.source.splitlines()
        i = line - self.unit.lineno
        return lines[i] if 0 <= i < len(lines) else ""


def _parse(source: str):
    """The module's AST, or None (:func:`nncheck.load.syntax.parse` makes it safe in threads)."""
    try:
        return parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError, SystemError):
        return None


class OutOfTime(Exception):
    """The pointing budget of the submission is spent: no pointer for what is left."""


class Code:
    """The submission's definitions, parsed once: ``defs`` from the worker, sources from the plan.
    ``deadline`` (a :func:`time.perf_counter` value) bounds the time the analysis may take."""

    def __init__(self, plan: Plan, defs: dict | None, deadline: float | None = None):
        self.plan = plan
        self.defs = dict(defs or {})
        self.deadline = deadline
        self._units: dict = {}
        for m in plan.modules:
            for u in m.units:
                self._units.setdefault(unit_filename(u, m.filename), []).append((m, u))
        self._trees: dict = {}
        self._flat: dict = {}
        self._fns: dict = {}
        self._module_fns: dict = {}
        self._class_assign: dict = {}
        self._global_data = None
        self._module_names: dict = {}

    def tree(self, unit: Unit):
        key = id(unit)
        if key not in self._trees:
            self._trees[key] = _parse("\n" * max(unit.lineno - 1, 0) + unit.source)
        return self._trees[key]

    def _locate(self, file: str, line: int):
        for m, u in self._units.get(file, []):
            if not (u.lineno <= line <= u.lineno + u.source.count("\n")):
                continue
            tree = self.tree(u)
            if tree is None:
                return None
            stack = [(tree, None)]
            while stack:
                node, klass = stack.pop()
                for c in ast.iter_child_nodes(node):
                    if isinstance(c, _FUNCS):
                        first = c.decorator_list[0].lineno if c.decorator_list else c.lineno
                        if line in (c.lineno, first):
                            return m, u, c, klass
                    if isinstance(c, (ast.ClassDef, *_FUNCS, ast.If, ast.Try, ast.With)) or isinstance(c, ast.stmt):
                        stack.append((c, c if isinstance(c, ast.ClassDef) else klass))
            return None
        return None

    def fn(self, key: str, cls: str | None = None) -> Fn | None:
        """The definition the worker resolved for ``key`` (``"Dense.backward"``, ``"train"``);
        ``self`` in it is an instance of ``cls``."""
        ck = (key, cls)
        if ck in self._fns:
            return self._fns[ck]
        d = self.defs.get(key)
        found = None
        if d:
            loc = self._locate(d["file"], d["line"])
            if loc is not None:
                m, u, node, klass = loc
                if cls is None and "." in key and d.get("owner"):
                    cls = key.split(".", 1)[0]
                found = Fn(self, key, node, m, u, cls, d.get("owner"), klass)
        self._fns[ck] = found
        return found

    def imports(self, module: ModulePlan) -> tuple[set, set]:
        """``(library names, student names)`` a module binds by imports: names of outside
        modules (``np``), and of the submission's own modules or what they define."""
        if module.name in self._module_names:
            return self._module_names[module.name]
        ours = {m.name.split(".")[0] for m in self.plan.modules} | {m.name for m in self.plan.modules}
        lib, student = set(), set()
        for u in module.units:
            tree = self.tree(u)
            for node in (tree.body if tree is not None else []):
                for n in ast.walk(node):
                    if isinstance(n, ast.Import):
                        for a in n.names:
                            (student if a.name.split(".")[0] in ours else lib).add(
                                a.asname or a.name.split(".")[0])
                    elif isinstance(n, ast.ImportFrom):
                        mine = n.level > 0 or (n.module or "").split(".")[0] in ours
                        for a in n.names:
                            (student if mine else lib).add(a.asname or a.name)
        self._module_names[module.name] = (lib, student)
        return lib, student

    def opaque_call(self, fn: Fn, call) -> bool:
        """A call into the student's own code that :meth:`resolve_call` cannot follow (a function
        of another of their modules, a method the class does not define): what it computes is
        unknown, so a slice through it is not complete."""
        f = call.func
        lib, student = self.imports(fn.module)
        if isinstance(f, ast.Name):
            name = f.id
            if name in fn.stores or name in fn.params or name in _BUILTINS or name in lib:
                return False
            return not any(k == name or k.startswith(name + ".") for k in self.defs)
        if isinstance(f, ast.Attribute):
            if fn.is_self(f.value):
                return True
            root = f.value
            while isinstance(root, ast.Attribute):
                root = root.value
            return isinstance(root, ast.Name) and root.id in student and root.id not in fn.stores
        return False

    def module_function(self, module: ModulePlan, name: str) -> Fn | None:
        """A module-level function of ``module`` not in ``defs`` (``_log_softmax`` in a
        package the namespace does not export): its last definition there."""
        ck = (module.name, name)
        if ck in self._module_fns:
            return self._module_fns[ck]
        found = None
        for u in module.units:
            tree = self.tree(u)
            if tree is None:
                continue
            for node in tree.body:
                if isinstance(node, _FUNCS) and node.name == name:
                    found = Fn(self, f"{module.name}:{name}", node, module, u, None, None, None)
        self._module_fns[ck] = found
        return found

    def global_data(self) -> set:
        """Names bound at module level by assignments (data, not definitions), in any module."""
        if self._global_data is None:
            names = set()
            for m in self.plan.modules:
                for u in m.units:
                    tree = self.tree(u)
                    for node in (tree.body if tree is not None else []):
                        for n in ast.walk(node):
                            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and not isinstance(
                                    node, (*_FUNCS, ast.ClassDef, ast.Import, ast.ImportFrom)):
                                names.add(n.id)
            self._global_data = names
        return self._global_data

    def class_assignments(self, cls: str, attr: str, mode):
        """``[(fn, stmt, value, index, partial)]``: where methods of ``cls`` (inherited ones
        included) assign ``self.<attr>``."""
        ck = (cls, attr, mode)
        if ck in self._class_assign:
            return self._class_assign[ck]
        out = []
        for key in self.defs:
            if not key.startswith(cls + "."):
                continue
            fn = self.fn(key, cls)
            if fn is None or fn.self_name is None:
                continue
            for s in fn.statements(mode):
                out.extend((fn, s, v, i, p) for v, i, p in _assigned_attr(fn, s, attr))
        self._class_assign[ck] = out
        return out

    def method(self, cls: str, name: str) -> Fn | None:
        return self.fn(f"{cls}.{name}", cls)

    def resolve_call(self, fn: Fn, call):
        """``(callee, skip_self)`` for a call into the student's own code, else ``(None, False)``."""
        f = call.func
        if isinstance(f, ast.Attribute):
            v = f.value
            if fn.is_self(v) and fn.cls:
                return self.method(fn.cls, f.attr), True
            if (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "super"
                    and fn.classdef is not None):
                for base in fn.classdef.bases:
                    if isinstance(base, ast.Name):
                        callee = self.fn(f"{base.id}.{f.attr}", fn.cls)
                        if callee is not None:
                            return callee, True
                return None, False
            if (isinstance(v, ast.Name) and v.id not in fn.stores and v.id not in fn.params
                    and f"{v.id}.{f.attr}" in self.defs):
                with_self = bool(call.args) and fn.is_self(call.args[0])
                return self.fn(f"{v.id}.{f.attr}", fn.cls if with_self else v.id), False
            return None, False
        if isinstance(f, ast.Name) and f.id not in fn.stores and f.id not in fn.params:
            d = self.defs.get(f.id)
            if d is not None and d.get("owner") is None:
                return self.fn(f.id), False
            return self.module_function(fn.module, f.id), False
        return None, False


def _assigned_attr(fn: Fn, stmt, attr: str):
    """``[(value, index, partial)]`` for each way ``stmt`` assigns ``self.<attr>``."""
    out = []

    def target(t, value, index=None):
        if fn.self_attr(t) == attr:
            out.append((value, index, False))
        elif isinstance(t, ast.Subscript) and fn.self_attr(t.value) == attr:
            out.append((stmt, None, True))
        elif isinstance(t, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in t.elts):
            for i, e in enumerate(t.elts):
                target(e, value, i)

    if isinstance(stmt, ast.Assign):
        for t in stmt.targets:
            target(t, stmt.value)
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        target(stmt.target, stmt.value)
    elif isinstance(stmt, ast.AugAssign):
        if fn.self_attr(stmt.target) == attr or (isinstance(stmt.target, ast.Subscript)
                                                  and fn.self_attr(stmt.target.value) == attr):
            out.append((stmt, None, True))
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr in _MUTATORS and fn.self_attr(f.value) == attr:
            out.append((call, None, True))
        elif _last(call) in _IN_PLACE_FUNCS and call.args and fn.self_attr(call.args[0]) == attr:
            out.append((call, None, True))
        elif fn.self_attr(_kw(call, "out")) == attr:
            out.append((call, None, True))
    return out


# ==========================================================================
# Slices: every expression that feeds a value
# ==========================================================================

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
            if isinstance(n, _COMPS):
                shadow = shadow | {x.id for g in n.generators for x in ast.walk(g.target)
                                   if isinstance(x, ast.Name)}
            elif isinstance(n, ast.Lambda):
                a = n.args
                shadow = shadow | {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            elif isinstance(n, _SCOPES):
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
        if name in _BUILTINS:
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

    def calls(expr):
        found = []

        def rec(n):
            if isinstance(n, _SCOPES):
                return
            for c in ast.iter_child_nodes(n):
                rec(c)
            if isinstance(n, ast.Call):
                found.append(n)
        if expr is not None:
            rec(expr)
        return found

    def inline(exprs, c):
        for e in exprs:
            for call in calls(e):
                callee, skip = code.resolve_call(fn, call)
                if callee is not None:
                    flatten(code, callee, mode, c, depth + 1, out, stack, _bind(callee, call, skip, fn, args))

    def stmts(body, c):
        for s in body:
            if not fn.is_live(s, mode) or isinstance(s, _SCOPES):
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
        for v, i, p in _assigned_attr(fn, s, attr):
            out.append(Sink(fn, s, v, i, p, c, a))
    return out


def trace_sink(tracer: "Tracer", k: Sink, sl: "Slice | None" = None) -> "Slice":
    sl = sl if sl is not None else Slice()
    if k.partial:
        tracer._visit(k.fn, k.value, k.args, sl, 0)
    else:
        tracer.trace(k.fn, k.value, k.index, k.args, sl, 0)
    return sl


# ==========================================================================
# Constructs
# ==========================================================================

def is_batch_size(fn: Fn, e, mode=None, depth=0) -> bool:
    """``len(x)``, ``x.shape[0]``, ``np.size(x, 0)``, ``float(...)`` of those, or a local bound only
    to such a value (``batch_size = input.shape[0]``); never of a ``self`` attribute."""
    if depth > 4 or e is None:
        return False
    if isinstance(e, ast.Call):
        name = _last(e)
        if name == "len" and len(e.args) == 1 and fn.self_attr(e.args[0]) is None:
            return True
        if name in ("float", "int") and len(e.args) == 1:
            return is_batch_size(fn, e.args[0], mode, depth + 1)
        if name == "size" and len(e.args) == 2 and _const(e.args[1]) == 0:
            return True
        return False
    if isinstance(e, ast.Subscript) and isinstance(e.value, ast.Attribute) and e.value.attr == "shape":
        return _const(e.slice) == 0 and fn.self_attr(e.value.value) is None
    if isinstance(e, ast.Name) and e.id in fn.stores:
        found, incoming = fn.reaching(e.id, e, mode)
        return (bool(found) and not (incoming and e.id in fn.params) and all(not b.partial and b.index is None
                                                     and is_batch_size(fn, b.value, mode, depth + 1)
                                                     for b in found))
    return False


def _axis0(call) -> bool:
    axis = _kw(call, "axis")
    if axis is None:
        pos = 1 if isinstance(call.func, ast.Attribute) and _dotted(call.func).split(".")[0] in ("np", "numpy") else 0
        axis = call.args[pos] if len(call.args) > pos else None
    return axis is not None and _const(axis) == 0


def _is_np_func(call) -> bool:
    return isinstance(call.func, ast.Attribute) and _dotted(call.func).split(".")[0] in ("np", "numpy")


def div_by_batch(fn: Fn, n, mode=None) -> bool:
    """A division by the batch size, or a mean over the batch axis."""
    if isinstance(n, ast.BinOp):
        if isinstance(n.op, (ast.Div, ast.FloorDiv)) and is_batch_size(fn, n.right, mode):
            return True
        if isinstance(n.op, ast.Mult):
            for side in (n.left, n.right):
                if (isinstance(side, ast.BinOp) and isinstance(side.op, ast.Div) and _const(side.left) in (1, 1.0)
                        and is_batch_size(fn, side.right, mode)):
                    return True
    if isinstance(n, ast.AugAssign) and isinstance(n.op, (ast.Div, ast.FloorDiv)) and is_batch_size(fn, n.value, mode):
        return True
    if isinstance(n, ast.Call) and _last(n) in ("mean", "average", "nanmean"):
        if _is_np_func(n):
            return _axis0(n) and len(n.args) >= 1
        return _axis0(n)
    return False


def is_full_reduction(call, names=_REDUCE) -> bool:
    """``x.sum()``, ``np.mean(x)``: a reduction over every axis (no ``axis``, or ``axis=None``)."""
    if not isinstance(call, ast.Call) or _last(call) not in names:
        return False
    axis = _kw(call, "axis")
    if axis is not None:
        return isinstance(axis, ast.Constant) and axis.value is None
    if _is_np_func(call):
        return len(call.args) == 1
    return isinstance(call.func, ast.Attribute) and not call.args


def is_random(n) -> bool:
    return isinstance(n, ast.Call) and _last(n) in _RANDOM and "random" in _dotted(n.func) or (
        isinstance(n, ast.Call) and _last(n) in ("randn", "rand", "binomial", "permutation", "choice"))


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
        elif isinstance(n, ast.Call) and _last(n) not in ("sqrt", "float", "int", "abs", "power", "exp", "log"):
            return False
    return True


# ==========================================================================
# One check, one pointer
# ==========================================================================

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
        self.base = self._facts()

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


def _near(a, b, tol=0.02) -> bool:
    return a is not None and b is not None and abs(a - b) <= tol * max(abs(b), 1e-12)


def _one_line(cands) -> list:
    """Pins for candidates that all sit on one line; nothing when they are spread over lines."""
    lines = {(id(fn.node), fn.file, fn.cell, n.lineno): (fn, n.lineno) for fn, n in cands}
    return [Pin(*next(iter(lines.values())))] if len(lines) == 1 else []


# -- Dense parameter updates ---------------------------------------------------

DENSE_INPUTS = ("weights", "biases")


def _params_from_scales(ctx: Ctx, target: float | None = None, sign=False):
    """Which of weights and biases the verdict's evidence says are wrong (both when it says nothing)."""
    sw, sb = ctx.scale("dW_scale"), ctx.scale("db_scale")
    if sw is None and sb is None:
        return list(DENSE_INPUTS)
    out = []
    for attr, s in (("weights", sw), ("biases", sb)):
        if s is None:
            continue
        if (sign and _near(s, -1.0)) or (target is not None and _near(s, target)):
            out.append(attr)
    return out or list(DENSE_INPUTS)


def _update_slices(ctx: Ctx, attr: str, entry="{cls}.backward", inputs=DENSE_INPUTS, mode=None):
    """``(sinks, slice)`` of the new value of ``self.<attr>`` after ``entry`` runs."""
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


def _per_param(ctx: Ctx, attrs, pred, entry="{cls}.backward", inputs=DENSE_INPUTS):
    """For each parameter: the one line of its update's slice that holds the construct."""
    pins = []
    for attr in attrs:
        sinks, sl = _update_slices(ctx, attr, entry, inputs)
        if not sinks or sl is None:
            continue
        pins += _one_line(sl.find(pred))
    return pins


def rule_divided_by_batch(ctx: Ctx):
    b = ctx.batch()
    attrs = _params_from_scales(ctx, 1.0 / b if b else None)
    return _per_param(ctx, attrs, lambda fn, n: div_by_batch(fn, n))


def rule_bias_mean(ctx: Ctx):
    return _per_param(ctx, ["biases"], lambda fn, n: div_by_batch(fn, n))


def _step_term(fn: Fn, stmt, attr):
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


def _uphill(ctx: Ctx, attrs, inputs=DENSE_INPUTS):
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
        op, term = _step_term(sfn, s, attr)
        if not isinstance(op, ast.Add):
            continue
        sl = ctx.tracer(inputs, None, order).trace(sfn, term, None, k.args)
        if sl.complete and not sign_flips(sl.nodes):
            pins.append(Pin(sfn, s.lineno))
    return pins


def rule_update_sign(ctx: Ctx):
    return _uphill(ctx, _params_from_scales(ctx, sign=True))


def rule_optimizer_sign(ctx: Ctx):
    return _uphill(ctx, list(DENSE_INPUTS))


def _message_params(ctx: Ctx):
    m = ctx.message
    if "weights and biases" in m or ("weights" in m and "biases" in m):
        return list(DENSE_INPUTS)
    if "weights" in m:
        return ["weights"]
    if "biases" in m:
        return ["biases"]
    return list(DENSE_INPUTS)


def _local_updates(ctx: Ctx, attrs, entry="{cls}.backward"):
    """Lines that compute a parameter's new value into a local name that goes nowhere."""
    fn = ctx.entry(entry)
    if fn is None:
        return []
    order = ctx.flatten(fn)
    pins = []
    for attr in attrs:
        if attr_sinks(order, attr):
            continue   # the attribute is assigned: the problem is elsewhere
        cands = []
        for sfn, s, _, sargs in order:
            if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
                name, arith = s.target.id, True
            elif (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)):
                name, arith = s.targets[0].id, isinstance(s.value, ast.BinOp)
            else:
                continue
            if not arith:
                continue
            reads = [n for n in sfn.body_nodes() if isinstance(n, ast.Name) and n.id == name
                     and isinstance(n.ctx, ast.Load)]
            if reads:
                continue   # the new value is used (returned, stored elsewhere): not this construct
            sl = ctx.tracer((), None, order).trace(sfn, s.value if isinstance(s, ast.Assign) else s, None, sargs)
            if isinstance(s, ast.AugAssign):
                Tracer(ctx.code)._name(sfn, name, s, sargs, sl, 0)
            if any(sfn2.self_attr(n) == attr for sfn2, n in sl.nodes):
                cands.append((sfn, s))
        pins += _one_line(cands)
    return pins


def rule_params_not_updated(ctx: Ctx):
    return _local_updates(ctx, _message_params(ctx))


def rule_learning_rate(ctx: Ctx):
    """A literal step size (``0.1 * dW``) in a parameter's update."""
    pins = []
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return pins
    order = ctx.flatten(fn)
    for attr in DENSE_INPUTS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            continue
        k = sinks[0]
        op, term = _step_term(k.fn, k.stmt, attr)
        if term is None:
            continue
        sl = ctx.tracer(DENSE_INPUTS, None, order).trace(k.fn, term, None, k.args)
        lits = sl.find(lambda f, n: isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult) and any(
            _const(x) not in (None, 1, 2, -1) for x in (n.left, n.right)))
        pins += _one_line(lits)
    return pins


def rule_grad_input_after_update(ctx: Ctx):
    fn = ctx.entry("{cls}.backward")
    if fn is None:
        return []
    order = ctx.flatten(fn)
    position = {}
    for i, (sfn, s, _, _) in enumerate(order):
        position.setdefault((id(sfn.node), id(s)), i)
    updates = [position[(id(k.fn.node), id(k.stmt))] for k in attr_sinks(order, "weights")]
    if not updates:
        return []
    first = min(updates)
    sl = Slice()
    tr = ctx.tracer(DENSE_INPUTS, None, order)
    for ret in fn.returns(ctx.mode()):
        tr.trace(fn, ret.value, None, None, sl)
    cands = []
    for rfn, n in sl.nodes:
        if rfn.self_attr(n) == "weights" and isinstance(n.ctx, ast.Load):
            st = rfn.stmt_of(n)
            p = position.get((id(rfn.node), id(st)))
            if p is not None and p > first:
                cands.append((rfn, n))
    return _one_line(cands)


# -- Dense forward and initialisation ------------------------------------------------

def _return_slice(ctx: Ctx, entry, inputs=(), mode=None):
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


def _is_matmul(fn, n) -> bool:
    return (isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)) or (
        isinstance(n, ast.Call) and _last(n) in _MATMUL)


def rule_forward_missing_bias(ctx: Ctx):
    fn, sl = _return_slice(ctx, "{cls}.forward", DENSE_INPUTS)
    if sl is None or not sl.complete:
        return []
    attrs = {f.self_attr(n) for f, n in sl.nodes} - {None}
    if attrs - {"weights"}:
        return []
    return _one_line(sl.find(_is_matmul))


def rule_forward_transposed(ctx: Ctx):
    fn, sl = _return_slice(ctx, "{cls}.forward", DENSE_INPUTS)
    if sl is None:
        return []

    def transposed(f, n):
        if isinstance(n, ast.Attribute) and n.attr == "T" and f.self_attr(n.value) == "weights":
            return True
        if isinstance(n, ast.Call) and _last(n) in ("transpose", "swapaxes"):
            return any(f.self_attr(x) == "weights" for x in [*n.args, getattr(n.func, "value", None)])
        return False
    return _one_line(sl.find(transposed))


def _init_value(ctx: Ctx, attr: str, entry="{cls}.__init__"):
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


def _whole_on_one_line(found):
    """The sink's line, when everything that computes the value is written on it."""
    if found is None:
        return []
    sfn, s, sl = found
    if not sl.complete:
        return []
    lines = {(id(f.node), ln) for f, ln in sl.lines()}
    return [Pin(sfn, s.lineno)] if lines == {(id(sfn.node), s.lineno)} else []


def rule_init_weights_scale(ctx: Ctx):
    return _whole_on_one_line(_init_value(ctx, "weights"))


def rule_init_bias(ctx: Ctx):
    """Biases must start at zero: the assignment that leaves them their initial value is the line."""
    found = _init_value(ctx, "biases")
    return [] if found is None else [Pin(found[0], found[1].lineno)]


def rule_init_not_centered(ctx: Ctx):
    found = _init_value(ctx, "weights")
    if found is None:
        return []

    def uniform01(f, n):
        if not isinstance(n, ast.Call):
            return False
        if _last(n) in _UNIFORM01 and "random" in _dotted(n.func):
            return True
        if _last(n) == "uniform":
            low = _kw(n, "low") or (n.args[0] if n.args else None)
            return low is None or (_const(low) is not None and _const(low) >= 0)
        return False
    return _one_line(found[2].find(uniform01))


def _fan_uses(found):
    """Uses of the constructor's unit counts in arithmetic (not as shape arguments)."""
    sfn, s, sl = found

    def in_shape(f, n):
        p = f.parents.get(n)
        while isinstance(p, (ast.Tuple, ast.List, ast.keyword)):
            p = f.parents.get(p)
        return isinstance(p, ast.Call) and _last(p) in _SHAPE_CALLS

    def fan(f, n):
        units = f.positional[1:3] if f.self_name else f.positional[:2]
        return n.id in units and n.id not in f.stores

    return sl.find(lambda f, n: isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and fan(f, n)
                   and not in_shape(f, n))


_FAN_SCHEMES = ("He (fan-in only)", "LeCun (fan-in only)", "uniform +-1/sqrt(in)", "fan-out only",
                "fan-out only (1/out)", "half Xavier")


def rule_xavier_variance(ctx: Ctx):
    found = _init_value(ctx, "weights")
    if found is None or not found[2].complete:
        return []
    scheme = ctx.details.get("recognised")
    uses = _fan_uses(found)
    if scheme in _FAN_SCHEMES:
        return _one_line(uses)
    if scheme == "std used as variance":
        has_root = found[2].find(lambda f, n: (isinstance(n, ast.Call) and _last(n) in _SQRT) or (
            isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)))
        return [] if has_root else _one_line(uses)
    return []


# -- ReLU, loss, network, minibatches ------------------------------------------------

def rule_single_line_return(entry):
    def rule(ctx: Ctx):
        fn, sl = _return_slice(ctx, entry)
        if sl is None or not sl.complete:
            return []
        lines = {(id(f.node), ln): (f, ln) for f, ln in sl.lines()}
        return [Pin(*next(iter(lines.values())))] if len(lines) == 1 else []
    return rule


def _root(fn: Fn, expr, mode=None, depth=0):
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


def _root_of_returns(ctx: Ctx, entry, mode=None):
    fn = ctx.entry(entry)
    if fn is None:
        return None, None
    facts = ctx.mode(mode)
    rets = fn.returns(facts)
    if len(rets) != 1:
        return fn, None
    return fn, _root(fn, rets[0].value, facts)


def _top_tree(fn: Fn, expr, mode=None, depth=0):
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
        elif isinstance(n, ast.Call) and _last(n) in _WRAPPERS:
            if isinstance(n.func, ast.Attribute) and not n.args:
                stack.append(n.func.value)             # x.item(), x.squeeze()
            elif n.args:
                stack.append(n.args[0])                # float(x), np.asarray(x)
        elif isinstance(n, ast.Call) and _last(n) in _REDUCE and isinstance(n.func, ast.Attribute) \
                and not _is_np_func(n):
            stack.append(n.func.value)                 # the array x.mean() reduces
        elif isinstance(n, ast.Name) and n.id in fn.stores and depth < 6:
            found, incoming = fn.reaching(n.id, n, mode)
            if (len(found) == 1 and not (incoming and n.id in fn.params) and not found[0].partial
                    and found[0].index is None
                    and isinstance(found[0].value, (ast.BinOp, ast.UnaryOp, ast.Name))):
                stack.append(found[0].value)
                depth += 1
    return out


def rule_top_sign(entry):
    """Wrong sign: the one subtraction or negation in the final formula."""
    def rule(ctx: Ctx):
        fn, root = _root_of_returns(ctx, entry)
        if root is None:
            return []
        flips = [(f, n) for f, n in _top_tree(fn, root, ctx.mode()) if (isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub))
                 or (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub))]
        return _one_line(flips) if len(flips) == 1 else []
    return rule


def rule_top_formula(entry, absent=None, mode=None):
    """A term missing from the final formula: the line that computes it, when it is one line
    (and, with ``absent``, holds no construct of that kind anywhere in the value)."""
    def rule(ctx: Ctx):
        fn, root = _root_of_returns(ctx, entry, mode)
        if root is None or isinstance(root, ast.Name):
            return []
        if absent is not None:
            _, sl = _return_slice(ctx, entry, mode=mode)
            if sl is None or sl.find(absent):
                return []
        end = getattr(root, "end_lineno", root.lineno)
        return [Pin(fn, root.lineno)] if end == root.lineno else []
    return rule


def rule_full_reduction(entry, names=_REDUCE):
    """One number instead of one per sample (or a sum for a mean): the full reduction in the
    final formula."""
    def rule(ctx: Ctx):
        fn, root = _root_of_returns(ctx, entry)
        if root is None:
            return []
        return _one_line([(f, n) for f, n in _top_tree(fn, root, ctx.mode()) if is_full_reduction(n, names)])
    return rule


def rule_log_clipped(ctx: Ctx):
    fn, sl = _return_slice(ctx, "softmax_crossentropy_with_logits")
    if sl is None:
        return []

    def small(e):
        v = _const(e)
        return v is not None and 0 < abs(v) < 1e-2

    def clipped(f, n):
        if isinstance(n, ast.Call) and _last(n) == "clip":
            return True
        if isinstance(n, ast.Call) and _last(n) in ("log", "log2", "log10") and n.args:
            a = n.args[0]
            if isinstance(a, ast.BinOp) and isinstance(a.op, ast.Add) and (small(a.left) or small(a.right)):
                return True
            if isinstance(a, ast.Call) and _last(a) == "maximum" and any(small(x) for x in a.args):
                return True
        return False
    return _one_line(sl.find(clipped))


def _backward_loops(fn: Fn):
    loops = []
    for n in fn.body_nodes():
        if isinstance(n, _LOOPS) and any(isinstance(c, ast.Call) and _last(c) == "backward"
                                         for c in ast.walk(n) if not isinstance(c, _SCOPES)):
            loops.append(n)
    return loops


def _plain_loop(loop) -> bool:
    """No ``continue``/``break`` and no ``if`` around the backward call: the header alone decides."""
    for n in ast.walk(loop):
        if isinstance(n, (ast.Continue, ast.Break)):
            return False
        if isinstance(n, ast.If) and any(isinstance(c, ast.Call) and _last(c) == "backward" for c in ast.walk(n)):
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
    (call,) = [c for c in ast.walk(loop) if isinstance(c, ast.Call) and _last(c) == "backward"][:1] or [None]
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
        if isinstance(n, ast.Call) and _last(n) == "reversed":
            return True
        if isinstance(n, ast.Slice) and n.step is not None and (_const(n.step) is None or _const(n.step) < 0):
            return True
        if isinstance(n, ast.Call) and _last(n) == "range" and len(n.args) == 3 and (
                _const(n.args[2]) is None or _const(n.args[2]) < 0):
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
            return (hi is not None and (_const(hi) is None or _const(hi) < 0)) or (
                lo is not None and _const(lo) not in (None, 0))
        if (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Sub) and isinstance(n.left, ast.Call)
                and _last(n.left) == "len" and n.left.args and is_net(n.left.args[0])):
            return True
        return False
    return [Pin(fn, loop.lineno)] if any(shortened(n) for n in ast.walk(loop.iter)) else []


def _backward_calls(fn: Fn):
    return [n for n in fn.body_nodes() if isinstance(n, ast.Call) and _last(n) == "backward"]


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
    for loop in (n for n in fn.body_nodes() if isinstance(n, _LOOPS)):
        assigned = {x.id for x in ast.walk(loop) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Store)}
        for c in ast.walk(loop):
            if isinstance(c, ast.Call) and _last(c) == "forward" and len(c.args) == 1:
                a = c.args[0]
                if isinstance(a, ast.Name) and a.id not in assigned and (a.id in fn.params or a.id in fn.stores):
                    cands.append((fn, c))
    return _one_line(cands) if len(cands) == 1 else []


def rule_forward_includes_input(ctx: Ctx):
    fn, sl = _return_slice(ctx, "forward")
    if sl is None:
        return []
    x = fn.positional[1] if len(fn.positional) > 1 else None
    return _one_line(sl.find(lambda f, n: f is fn and isinstance(n, ast.List) and any(
        isinstance(e, ast.Name) and e.id == x for e in n.elts)))


def _argmaxes(sl):
    return sl.find(lambda f, n: isinstance(n, ast.Call) and _last(n) == "argmax")


def rule_predict_not_argmax(ctx: Ctx):
    fn, sl = _return_slice(ctx, "predict")
    if sl is None or _argmaxes(sl):
        return []
    return rule_top_formula("predict")(ctx) or _single_root_line(ctx, "predict")


def _single_root_line(ctx: Ctx, entry):
    fn, root = _root_of_returns(ctx, entry)
    if root is None or isinstance(root, ast.Name):
        return []
    end = getattr(root, "end_lineno", root.lineno)
    return [Pin(fn, root.lineno)] if end == root.lineno else []


def rule_predict_axis(ctx: Ctx):
    fn, sl = _return_slice(ctx, "predict")
    if sl is None:
        return []

    def wrong_axis(f, n):
        if not (isinstance(n, ast.Call) and _last(n) == "argmax"):
            return False
        axis = _kw(n, "axis")
        if axis is None:
            pos = 1 if _is_np_func(n) else 0
            axis = n.args[pos] if len(n.args) > pos else None
        return axis is None or _const(axis) == 0
    return _one_line(sl.find(wrong_axis))


def rule_training_predict(ctx: Ctx):
    return rule_predict_not_argmax(ctx) or rule_predict_axis(ctx)


def _minibatch_fn(ctx: Ctx):
    return ctx.entry("iterate_minibatches")


def rule_minibatch_misaligned(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    ylds = [n for n in fn.body_nodes() if isinstance(n, ast.Yield)]
    if len(ylds) != 1 or not isinstance(ylds[0].value, ast.Tuple) or len(ylds[0].value.elts) != 2:
        return []
    a, b = ylds[0].value.elts
    if isinstance(a, ast.Subscript) and isinstance(b, ast.Subscript) and ast.dump(a.slice) != ast.dump(b.slice):
        return [Pin(fn, ylds[0].lineno)]
    return []


def _calls_named(fn: Fn, pred):
    return [(fn, n) for n in fn.body_nodes() if isinstance(n, ast.Call) and pred(n)]


def rule_minibatch_repeats(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []

    def with_replacement(n):
        if _last(n) == "choice":
            r = _kw(n, "replace")
            return r is None or (isinstance(r, ast.Constant) and r.value is True)
        return _last(n) in ("randint", "integers") and "random" in _dotted(n.func) or _last(n) == "randint"
    return _one_line(_calls_named(fn, with_replacement))


def rule_minibatch_not_shuffled(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []

    def seeded(n):
        name = _last(n)
        if name in ("RandomState", "default_rng", "seed", "Generator") and n.args:
            return _const(n.args[0]) is not None
        return False
    return _one_line(_calls_named(fn, seeded))


def _shuffle_param(fn: Fn):
    if "shuffle" in fn.params:
        return "shuffle"
    return fn.positional[3] if len(fn.positional) > 3 else None


def rule_minibatch_shuffled_unasked(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    flag = _shuffle_param(fn)

    def guarded(n):
        p = fn.parents.get(n)
        while p is not None and p is not fn.node:
            if isinstance(p, (ast.If, ast.IfExp, ast.While)) and any(
                    isinstance(x, ast.Name) and x.id == flag for x in ast.walk(p.test)):
                return True
            p = fn.parents.get(p)
        return False
    cands = [(f, n) for f, n in _calls_named(fn, lambda n: _last(n) in ("permutation", "shuffle")
                                              and "random" in _dotted(n.func)) if not guarded(n)]
    return _one_line(cands)


def rule_minibatch_drops(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    cands = []
    for loop in (n for n in fn.body_nodes() if isinstance(n, (ast.For, ast.AsyncFor))):
        it = loop.iter
        if isinstance(it, ast.Call) and _last(it) == "range" and len(it.args) >= 2:
            stop = it.args[1]
            if isinstance(stop, ast.BinOp) and isinstance(stop.op, ast.Sub):
                cands.append((fn, loop))
    return _one_line(cands) if len(cands) == 1 else []


def rule_minibatch_batch_size(ctx: Ctx):
    fn = _minibatch_fn(ctx)
    if fn is None:
        return []
    return _one_line(_calls_named(fn, lambda n: _last(n) in ("array_split", "split") and _is_np_func(n)))


# -- Dropout, BatchNorm ------------------------------------------------------------

def rule_dropout_mask_changed(ctx: Ctx):
    fn, sl = _return_slice(ctx, "{cls}.backward", mode="train")
    if sl is None:
        return []
    return _one_line(sl.find(lambda f, n: f is fn and is_random(n)))


def rule_dropout_keep_prob(ctx: Ctx):
    fn, sl = _return_slice(ctx, "{cls}.forward", mode="train")
    if sl is None:
        return []

    def name_of(f, e):
        attr = f.self_attr(e)
        if attr is not None:
            return attr
        return e.id if isinstance(e, ast.Name) else None

    def confused(f, n):
        """The draw that keeps a unit with the wrong probability: ``rand < p`` keeps with
        probability ``p`` (a drop probability used as a keep one); ``rand >= keep_prob`` the
        other way round."""
        if isinstance(n, ast.Call) and _last(n) == "binomial" and len(n.args) >= 2:
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
    return _one_line(sl.find(confused))


def _batch_stat(f, n) -> bool:
    return isinstance(n, ast.Call) and _last(n) in ("mean", "var", "std", "average") and (
        _axis0(n) if not (_is_np_func(n) and len(n.args) < 1) else False)


def rule_batchnorm_eval_stats(ctx: Ctx):
    fn, sl = _return_slice(ctx, "{cls}.forward", mode="eval")
    if sl is None:
        return []
    return _one_line(sl.find(_batch_stat))


def rule_batchnorm_backward_stats(ctx: Ctx):
    return rule_top_formula("{cls}.backward", mode="train")(ctx)


# -- L2 -----------------------------------------------------------------------------

def _is_l2_name(name: str) -> bool:
    low = name.lower()
    return (low in ("alpha", "lam", "lmbda", "lambd", "lambda_", "decay_rate") or low.startswith("l2")
            or "lambd" in low or "weight_decay" in low or "penal" in low
            or (low.startswith("reg") and "regress" not in low))


def _coefficient(ctx: Ctx):
    """``(attributes, backward parameters)`` that hold the L2 coefficient: the attribute the
    constructor stores it in (``self.alpha = alpha``), or a parameter of ``backward``."""
    form = ctx.form or {}
    back = form.get("backward_hyper") if isinstance(form.get("backward_hyper"), dict) else {}
    if back.get("alpha"):
        return set(), {str(back["alpha"])}
    passed = ctx.details.get("passed_as")
    hyper = form.get("hyper") if isinstance(form.get("hyper"), dict) else {}
    param = hyper.get("alpha") or (passed.get("coefficient") if isinstance(passed, dict) else None)
    fn = ctx.entry("{cls}.__init__")
    if fn is None:
        return set(), set()
    if param in fn.params:
        params = [param]
    else:
        params = [p for p in fn.positional[1:] + [a.arg for a in fn.node.args.kwonlyargs] if _is_l2_name(p)]
        if len(params) != 1:
            return set(), set()
    attrs = set()
    for sfn, s, _, _ in ctx.flatten(fn):
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Name) and s.value.id in params:
            for t in s.targets:
                a = sfn.self_attr(t)
                if a and len(ctx.code.class_assignments(ctx.cls, a, None)) == 1:
                    attrs.add(a)   # a plain copy of the argument, never changed: its reads are the penalty
    return attrs, set()


def _reads_coefficient(ctx: Ctx):
    attrs, params = _coefficient(ctx)
    if not attrs and not params:
        return None
    return lambda f, n: (f.self_attr(n) in attrs and isinstance(n.ctx, ast.Load)) or (
        isinstance(n, ast.Name) and n.id in params and f.node.name == "backward" and n.id not in f.stores)


def rule_l2_penalty_line(ctx: Ctx):
    pred = _reads_coefficient(ctx)
    return _per_param(ctx, ["weights"], pred) if pred else []


def rule_l2_bias(ctx: Ctx):
    pred = _reads_coefficient(ctx)
    return _per_param(ctx, ["biases"], pred) if pred else []


def rule_l2_divided(ctx: Ctx):
    return _per_param(ctx, ["weights"], lambda fn, n: div_by_batch(fn, n))


# -- Optimizers --------------------------------------------------------------------

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
                    if a and a not in DENSE_INPUTS:
                        assigned.setdefault(a, []).append((sfn, s, c))
    state = {}
    for a, stmts in assigned.items():
        if any(isinstance(s, ast.AugAssign) or any(f.self_attr(n) == a for n in ast.walk(s.value))
               for f, s, _ in stmts):
            state[a] = stmts
    return state, order


def _squares(e) -> bool:
    for n in ast.walk(e):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and _const(n.right) == 2:
            return True
        if isinstance(n, ast.Call) and _last(n) == "square":
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
                if a and a not in DENSE_INPUTS:
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
    for attr in DENSE_INPUTS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            continue
        tr = ctx.tracer((*DENSE_INPUTS, *moments), None, order)
        sl = trace_sink(tr, sinks[0])
        cands = []
        for f, n in sl.nodes:
            if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div):
                den = tr.trace(f, n.right)
                if any(f2.self_attr(x) in moments for f2, x in den.nodes) and not den.find(
                        lambda f3, x: (isinstance(x, ast.Call) and _last(x) in _SQRT) or (
                            isinstance(x, ast.BinOp) and isinstance(x.op, ast.Pow) and _const(x.right) in (0.5, .5))):
                    cands.append((f, n))
        pins += _one_line(cands)
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
                if not all(not b.partial and (f.self_attr(b.value) is not None or _const(b.value) is not None)
                           for b in found):
                    return []
        pins.append(Pin(f, s.lineno))
    return pins if 0 < len(pins) <= MAX_PINS else []


def rule_plain_sgd(ctx: Ctx):
    state, order = _state(ctx)
    if not state:
        return []
    pins = []
    for attr in DENSE_INPUTS:
        sinks = attr_sinks(order, attr)
        if len(sinks) != 1:
            return []
        sl = trace_sink(ctx.tracer(DENSE_INPUTS, None, order), sinks[0])
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
        if isinstance(n, ast.Call) and _last(n) == "__init__":
            callee, _ = ctx.code.resolve_call(fn, n)
            if callee is not None and param in callee.params:
                cands.append((fn, n))
    return _one_line(cands) if len(cands) == 1 else []


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
        if not c and isinstance(s, ast.Assign) and _const(s.value) is not None and any(
                sfn.self_attr(t) in counters for t in s.targets):
            cands.append((sfn, s))
    return _one_line(cands)


# ==========================================================================
# The table
# ==========================================================================

RULES: dict = {}
"""``{diagnosis code: (definition to look in, matcher)}``: the definition is ``"{cls}.method"``
(the class the check graded) or a function name; the matcher returns the pinned lines
(``[]``: could not pin)."""


def _rule(entry, fn, *codes):
    for c in codes:
        RULES[c] = (entry, fn)


_rule("{cls}.backward", rule_divided_by_batch, "dense-grad-divided-by-batch")
_rule("{cls}.backward", rule_bias_mean, "dense-bias-grad-mean")
_rule("{cls}.backward", rule_update_sign, "dense-update-sign")
_rule("{cls}.backward", rule_params_not_updated, "dense-params-not-updated")
_rule("{cls}.backward", rule_learning_rate, "dense-learning-rate-ignored")
_rule("{cls}.backward", rule_grad_input_after_update, "dense-grad-input-after-update")
_rule("{cls}.backward", lambda ctx: [], "dense-grad-input-sign")
_rule("{cls}.forward", rule_forward_missing_bias, "dense-forward-missing-bias")
_rule("{cls}.forward", rule_forward_transposed, "dense-forward-transposed-weights")
_rule("{cls}.__init__", rule_init_weights_scale, "dense-init-scale")
_rule("{cls}.__init__", rule_init_not_centered, "dense-init-not-centered", "xavier-not-centred")
_rule("{cls}.__init__", rule_init_bias, "dense-init-bias", "xavier-biases-not-zero")
_rule("{cls}.__init__", rule_xavier_variance, "xavier-wrong-variance")
_rule("{cls}.backward", rule_single_line_return("{cls}.backward"), "relu-backward-not-masked")
_rule("softmax_crossentropy_with_logits", rule_full_reduction("softmax_crossentropy_with_logits"),
      "loss-not-per-sample")
_rule("softmax_crossentropy_with_logits", rule_top_sign("softmax_crossentropy_with_logits"), "loss-wrong-sign")
_rule("softmax_crossentropy_with_logits", rule_log_clipped, "loss-log-clipped")
_rule("grad_softmax_crossentropy_with_logits",
      rule_top_formula("grad_softmax_crossentropy_with_logits", absent=lambda f, n: div_by_batch(f, n)),
      "loss-grad-not-divided-by-batch")
_rule("grad_softmax_crossentropy_with_logits", rule_top_sign("grad_softmax_crossentropy_with_logits"),
      "loss-grad-wrong-sign")
_rule("grad_softmax_crossentropy_with_logits", rule_top_formula("grad_softmax_crossentropy_with_logits"),
      "loss-grad-missing-onehot")
_rule("train", rule_backprop_order, "backprop-wrong-order")
_rule("train", rule_backprop_skips, "backprop-skips-layer")
_rule("train", rule_backprop_wrong_input, "backprop-wrong-input")
_rule("train", rule_backprop_not_chained, "backprop-grad-not-chained")
_rule("train", rule_full_reduction("train", ("sum", "nansum")), "train-loss-not-averaged")
_rule("train", lambda ctx: [], "train-loss-not-returned", "backprop-repeats-layer")
_rule("forward", rule_forward_not_chained, "forward-not-chained")
_rule("forward", rule_forward_includes_input, "forward-includes-input")
_rule("forward", lambda ctx: [], "forward-returns-logits-only", "forward-activations-shifted")
_rule("predict", rule_predict_not_argmax, "predict-not-argmax")
_rule("predict", rule_predict_axis, "predict-wrong-axis")
_rule("predict", rule_training_predict, "training-predict-shape", "training-predict-not-int")
_rule("iterate_minibatches", rule_minibatch_misaligned, "minibatch-labels-misaligned")
_rule("iterate_minibatches", rule_minibatch_repeats, "minibatch-repeats-samples")
_rule("iterate_minibatches", rule_minibatch_not_shuffled, "minibatch-not-shuffled")
_rule("iterate_minibatches", rule_minibatch_shuffled_unasked, "minibatch-shuffled-when-not-asked")
_rule("iterate_minibatches", rule_minibatch_drops, "minibatch-drops-samples")
_rule("iterate_minibatches", rule_minibatch_batch_size, "minibatch-wrong-batch-size")
_rule("{cls}.backward", rule_dropout_mask_changed, "dropout-mask-changed", "dropout-stale-mask")
_rule("{cls}.forward", rule_dropout_keep_prob, "dropout-keep-prob-confused")
_rule("{cls}.forward", lambda ctx: [], "dropout-no-rescale", "dropout-active-at-eval", "dropout-wrong-scale",
      "dropout-wrong-rate", "dropout-not-dropping", "dropout-mask-shared-across-batch", "dropout-mask-reused",
      "dropout-returns-mask")
_rule("{cls}.backward", lambda ctx: [], "dropout-backward-not-masked")
_rule("{cls}.forward", rule_batchnorm_eval_stats, "batchnorm-batch-stats-at-eval")
_rule("{cls}.forward", lambda ctx: [], "batchnorm-running-stats-frozen", "batchnorm-running-stats-no-momentum",
      "batchnorm-running-stats-updated-at-eval", "batchnorm-unbiased-variance", "batchnorm-ignores-gamma-beta",
      "batchnorm-wrong-normalisation", "batchnorm-running-stats-in-training", "batchnorm-wrong-axis")
_rule("{cls}.backward", rule_batchnorm_backward_stats, "batchnorm-backward-ignores-batch-stats")
_rule("{cls}.backward", lambda ctx: [], "batchnorm-params-not-updated", "batchnorm-grad-input-after-update",
      "batchnorm-update-sign", "batchnorm-grad-divided-by-batch", "batchnorm-update-no-learning-rate")
_rule("{cls}.backward", rule_l2_penalty_line, "l2-half-convention", "l2-penalty-wrong-sign")
_rule("{cls}.backward", rule_l2_divided, "l2-divided-by-batch")
_rule("{cls}.backward", rule_l2_bias, "l2-regularises-bias")
_rule("{cls}.backward", lambda ctx: [], "l2-penalty-missing")
_rule("{cls}.backward", rule_momentum_reset, "momentum-no-velocity")
_rule("{cls}.backward", rule_optimizer_sign, "optimizer-wrong-sign")
_rule("{cls}.backward", rule_missing_sqrt, "rmsprop-missing-sqrt", "adam-missing-sqrt")
_rule("{cls}.backward", rule_no_decay, "rmsprop-no-decay")
_rule("{cls}.backward", rule_decay_swapped, "rmsprop-decay-swapped")
_rule("{cls}.backward", rule_plain_sgd, "optimizer-plain-sgd")
_rule("{cls}.__init__", rule_ignored_hyperparameter, "optimizer-ignores-hyperparameter")
_rule("{cls}.backward", rule_step_counter, "adam-step-counter")
_rule("{cls}.backward", lambda ctx: [], "adam-no-bias-correction")

CHECK_ENTRY = {
    "relu.forward": "{cls}.forward", "relu.backward": "{cls}.backward",
    "dense.init": "{cls}.__init__", "dense.forward": "{cls}.forward",
    "loss.value": "softmax_crossentropy_with_logits", "loss.grad": "grad_softmax_crossentropy_with_logits",
    "network.forward": "forward", "minibatches.pairing": "iterate_minibatches",
    "minibatches.coverage": "iterate_minibatches", "minibatches.order": "iterate_minibatches",
    "minibatches.shuffling": "iterate_minibatches", "xavier.init": "{cls}.__init__",
    "dropout.eval": "{cls}.forward",
}
"""Checks that exercise one clear definition: a failure without a known diagnosis still
names it (the ``def`` line, not pinned)."""

DOWNSTREAM = {
    "training.": ("relu.", "dense.", "loss.", "network.", "minibatches."),
    "xavier.experiment": ("xavier.", "dense.", "relu."),
    "l2.experiment": ("l2.", "dense.", "relu."),
    "momentum.experiment": ("momentum.", "dense.", "relu."),
    "rmsprop.experiment": ("rmsprop.", "dense.", "relu."),
    "adam.experiment": ("adam.", "dense.", "relu."),
}
"""Whole-network checks, and the unit checks whose pinned lines they inherit."""


# ==========================================================================
# Entries and the public functions
# ==========================================================================

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
          form: dict | None = None) -> list[dict]:
    """``where`` for one failed check: pinned lines, or the method the mistake is in, or ``[]``.

    ``form`` is the option form discovery graded for the check's family, if any. ``errors``,
    when given, collects what went wrong inside a matcher (the pointer is then simply not
    made)."""
    ctx = Ctx(code, check_id, requires, record, form)
    pins: list = []
    methods: list = []
    for diag in getattr(record, "diagnosis", None) or []:
        entry, rule = RULES.get(diag, (None, None))
        if entry is None:
            continue
        try:
            found = rule(ctx) or []
        except Exception as exc:  # noqa: BLE001 - an unforeseen shape of code: no pointer
            found = []
            if errors is not None:
                errors.append((check_id, diag, f"{type(exc).__name__}: {exc}"[:300]))
        pins += found
        fn = ctx.entry(entry)
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
    if not methods and check_id in CHECK_ENTRY and (not record.diagnosis or not any(
            d in RULES for d in record.diagnosis)):
        fn = ctx.entry(CHECK_ENTRY[check_id])
        if fn is not None:
            methods.append(fn)
    if methods:
        fn = methods[0]
        return [_method_entry(fn)]
    return []


def _failed(record) -> bool:
    return str(getattr(record, "status", "")) == "failed"


def annotate(records, checks, plan: Plan | None, defs: dict | None, budget_s: float = BUDGET_S,
             errors: list | None = None, forms: dict | None = None) -> float:
    """Fill ``where`` on each failed record (in place); returns the seconds it took.

    ``forms``: ``{family: form}`` of the options discovery graded in the student's own form
    (:mod:`nncheck.discover.scan`). Never raises: a pointer that cannot be made is left out (and
    noted in ``errors``)."""
    t0 = time.perf_counter()
    if plan is None:
        return 0.0
    code = Code(plan, defs, t0 + budget_s)
    requires = {c.id: c.requires for c in checks}
    for rec in records:
        if not _failed(rec) or time.perf_counter() - t0 > budget_s:
            continue
        try:
            rec.where = point(code, rec.id, requires.get(rec.id, ()), rec, errors,
                              (forms or {}).get(rec.id.split(".", 1)[0]))
        except Exception as exc:  # noqa: BLE001 - pointing is a courtesy; the verdict stands without it
            rec.where = []
            if errors is not None:
                errors.append((rec.id, "", f"{type(exc).__name__}: {exc}"[:300]))
    for rec in records:
        if not _failed(rec) or any(w.get("pinned") for w in rec.where or []):
            continue
        sources = next((v for k, v in DOWNSTREAM.items() if rec.id.startswith(k) or rec.id == k), None)
        if not sources:
            continue
        inherited = []
        for other in records:
            if other is rec or not _failed(other) or not other.id.startswith(sources):
                continue
            if any(other.id.startswith(k) or other.id == k for k in DOWNSTREAM):
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
    if w.get("pinned"):
        via = f" (found by {w['via']})" if w.get("via") else ""
        return f"{place}, line {w.get('line')}: `{w.get('snippet', '')}`{via}"
    return (f"could not pin the line; the mistake is in `{w.get('method', '?')}` "
            f"({place}, line {w.get('line')})")
