"""The submission's code as pointing reads it: each definition the worker resolved, parsed once.

:class:`Code` holds the loader's plan (every unit's source and line) and the worker's
``defs`` (which code object Python resolved for ``Dense.backward`` and the like,
following notebook redefinitions and inheritance); :class:`Fn` is one function or
method of it, with what the analysis needs: its local bindings, which statements can
run when the check fixed some values, the calls it makes into the student's own code.
Nothing of the student's runs here: the source is parsed, never executed.

The small helpers (:func:`dotted`, :func:`last_name`, :func:`keyword_arg`,
:func:`const_value`) and the name sets (:data:`RANDOM`, :data:`SQRT`...) are shared
by the pointers the families write.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

from nncheck.load.plan import ModulePlan, Plan, Unit, unit_filename
from nncheck.load.syntax import parse

CONTEXT_LINES = 2        # lines shown above and below a pinned line
MAX_PINS = 4             # more candidate lines than this is not a pin
SNIPPET_CHARS = 240
MAX_CALL_DEPTH = 8       # helper calls followed into, nested
MAX_NODES = 20000        # per slice: a guard against pathological sources
BUDGET_S = 0.5           # pointing time per submission, at most

BUILTINS = frozenset(dir(builtins))
LOOPS = (ast.For, ast.AsyncFor, ast.While)
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
MUTATORS = frozenset({"sort", "fill", "append", "extend", "insert", "update", "resize", "itemset",
                      "clip", "put", "setfield"})
IN_PLACE_FUNCS = frozenset({"shuffle", "copyto", "put", "place", "putmask", "fill_diagonal"})
RANDOM = frozenset({"randn", "rand", "normal", "uniform", "random", "random_sample", "ranf", "sample",
                    "standard_normal", "randint", "random_integers", "choice", "permutation", "shuffle",
                    "binomial", "integers", "bernoulli", "truncated_normal", "xavier_uniform"})
UNIFORM01 = frozenset({"rand", "random", "random_sample", "ranf", "sample"})
SHAPE_CALLS = RANDOM | {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "eye", "reshape"}
MATMUL = frozenset({"dot", "matmul", "einsum", "tensordot", "inner", "outer", "multi_dot"})
SQRT = frozenset({"sqrt", "rsqrt"})
REDUCE = frozenset({"sum", "mean", "average", "nansum", "nanmean"})
WRAPPERS = frozenset({"float", "float64", "float32", "asarray", "array", "squeeze", "item"})


# ==========================================================================
# Reading expressions
# ==========================================================================

def dotted(node) -> str:
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


def last_name(call) -> str:
    """The called name's last part: ``randn`` for ``np.random.randn(...)``, ``mean`` for ``x.mean()``."""
    f = call.func if isinstance(call, ast.Call) else call
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def keyword_arg(call, name):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def const_value(node):
    """A number written as a literal (``-1`` included), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = const_value(node.operand)
        if v is not None:
            return -v if isinstance(node.op, ast.USub) else v
    return None


def _pos(node):
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


# ==========================================================================
# The submission's definitions as the worker resolved them
# ==========================================================================

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
        a = node.args
        self.positional = [x.arg for x in a.posonlyargs + a.args]
        self.params = set(self.positional) | {x.arg for x in a.kwonlyargs}
        for extra in (a.vararg, a.kwarg):
            if extra is not None:
                self.params.add(extra.arg)
        deco = {dotted(d) for d in node.decorator_list}
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

    @property
    def parents(self) -> dict:
        """``{node: its parent}`` in this definition (made on first use, shared by the Fn objects of
        one definition read for different classes)."""
        shared = self.code.__dict__.setdefault("_parents", {})
        found = shared.get(id(self.node))
        if found is None or found[0] is not self.node:
            table = {}
            for parent in ast.walk(self.node):
                for child in ast.iter_child_nodes(parent):
                    table[child] = parent
            found = shared[id(self.node)] = (self.node, table)
        return found[1]

    # -- naming ------------------------------------------------------------
    @property
    def name(self) -> str:
        """The definition as the student wrote it: ``Dense.backward`` (the defining class), ``train``."""
        if self.classdef is not None:
            return f"{self.classdef.name}.{self.node.name}"
        return self.node.name

    def body_nodes(self):
        """Every node of the body, not entering nested functions, classes or lambdas (listed once)."""
        body = self.__dict__.get("_body")
        if body is None:
            body = []
            stack = list(self.node.body)
            while stack:
                n = stack.pop()
                body.append(n)
                for c in ast.iter_child_nodes(n):
                    if not isinstance(c, SCOPES):
                        stack.append(c)
            self._body = body
        return body

    def stmt_of(self, node):
        while node is not None and not isinstance(node, ast.stmt):
            node = self.parents.get(node)
        return node

    def loops_of(self, node) -> frozenset:
        out = []
        child, parent = node, self.parents.get(node)
        while parent is not None and parent is not self.node:
            if isinstance(parent, LOOPS) and child not in (getattr(parent, "iter", None),
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
        """``(True, value)`` when the value of ``e`` is fixed by ``facts`` (see :class:`nncheck.point.context.Ctx`):
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
                elif isinstance(s, SCOPES):
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
        key = ("stmts", mode)
        if key not in self._cache:
            live = self.live(mode)
            self._cache[key] = sorted((n for n in self.body_nodes() if isinstance(n, ast.stmt) and id(n) in live),
                                      key=_pos)
        return self._cache[key]

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
                if isinstance(f, ast.Attribute) and f.attr in MUTATORS:
                    mutated.append(root_name(f.value))
                if last_name(call) in IN_PLACE_FUNCS and call.args:
                    mutated.append(root_name(call.args[0]))
                out_kw = keyword_arg(call, "out")
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
                    if isinstance(c, FUNCS):
                        first = c.decorator_list[0].lineno if c.decorator_list else c.lineno
                        if line in (c.lineno, first):
                            return m, u, c, klass
                    if isinstance(c, (ast.ClassDef, *FUNCS, ast.If, ast.Try, ast.With)) or isinstance(c, ast.stmt):
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
            if _is_definition(u.source):
                continue   # a def or class binds no module name by an import: not parsed for this
            tree = self.tree(u)
            for node in (tree.body if tree is not None else []):
                for n in _statements(node):
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
            if name in fn.stores or name in fn.params or name in BUILTINS or name in lib:
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
                if isinstance(node, FUNCS) and node.name == name:
                    found = Fn(self, f"{module.name}:{name}", node, module, u, None, None, None)
        self._module_fns[ck] = found
        return found

    def global_data(self) -> set:
        """Names bound at module level by assignments (data, not definitions), in any module."""
        if self._global_data is None:
            names = set()
            for m in self.plan.modules:
                for u in m.units:
                    if _is_definition(u.source):
                        continue
                    tree = self.tree(u)
                    walrus = ":=" in u.source
                    for node in (tree.body if tree is not None else []):
                        if isinstance(node, (*FUNCS, ast.ClassDef, ast.Import, ast.ImportFrom)):
                            continue
                        for st in (ast.walk(node) if walrus else _statements(node, defs=False)):
                            for n in (_targets(st) if not walrus else [st]):
                                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
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
                out.extend((fn, s, v, i, p) for v, i, p in assigned_attr(fn, s, attr))
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


def _is_definition(source: str) -> bool:
    """A unit that is one ``def``/``class`` statement (decorated or not)."""
    head = source.lstrip()
    return head.startswith(("def ", "class ", "async def ", "@"))


def _statements(node, defs=True):
    """``node`` and the statements nested in it (bodies of compound statements, and of functions
    and classes when ``defs``), never walking into expressions: cheaper than :func:`ast.walk`."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if not defs and isinstance(n, (*FUNCS, ast.ClassDef)) and n is not node:
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for c in getattr(n, field, None) or []:
                if isinstance(c, (ast.stmt, ast.excepthandler)) or type(c).__name__ == "match_case":
                    stack.append(c)


def _targets(stmt):
    """The name nodes a statement binds at its own level (assignment, loop and ``with`` targets)."""
    if isinstance(stmt, ast.Assign):
        roots = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
        roots = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        roots = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    elif isinstance(stmt, ast.ExceptHandler) and stmt.name:
        return [ast.Name(id=stmt.name, ctx=ast.Store())]
    else:
        return []
    out = []
    for r in roots:
        out += [n for n in ast.walk(r) if isinstance(n, ast.Name)]
    return out


def assigned_attr(fn: Fn, stmt, attr: str):
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
        if isinstance(f, ast.Attribute) and f.attr in MUTATORS and fn.self_attr(f.value) == attr:
            out.append((call, None, True))
        elif last_name(call) in IN_PLACE_FUNCS and call.args and fn.self_attr(call.args[0]) == attr:
            out.append((call, None, True))
        elif fn.self_attr(keyword_arg(call, "out")) == attr:
            out.append((call, None, True))
    return out
