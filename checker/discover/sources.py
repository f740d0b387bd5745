"""Reading a submission for discovery: its code, its classes, and how they relate (grader side).

Nothing here runs the student's code: :func:`read_sources` takes the Python of
a file, a folder or a notebook's code cells, and :func:`collect` parses it into
:class:`ClassInfo` records (parameters, defaults, the strings code compares
them with), the module-level functions and the pin comments. The helpers at
the end answer questions about a class through its bases, as far as the
sources say (is it a layer, is it built like ``Dense``).
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
import textwrap
from pathlib import Path

from nncheck.load.syntax import parse

PIN = re.compile(r"#\s*nncheck\s*:\s*(\w+)\s*=\s*(.+?)\s*$", re.M)
MAGIC = re.compile(r"^[ \t]*[%!]", re.M)
HEADING = "peer-reviewed assignment"
NOT_CONSTANT = "<an expression>"  # what a default that is not a constant is recorded as


@dataclasses.dataclass
class ClassInfo:
    name: str
    bases: list
    where: str
    line: int
    methods: dict
    init_params: list
    init_defaults: dict
    backward_params: list
    flags: list           # (parameter, string value)
    after_heading: bool
    switches: list = dataclasses.field(default_factory=list)  # constructor parameters with a True/False default
    # behaviour-first candidates (see nncheck.discover.candidates.behaviour_forms)
    int_switches: list = dataclasses.field(default_factory=list)  # constructor parameters with a 0/1 default
    enum_flags: list = dataclasses.field(default_factory=list)    # (parameter, "Enum.member") compared
    dict_params: dict = dataclasses.field(default_factory=dict)   # parameter -> keys code reads from it
    kwarg_keys: dict = dataclasses.field(default_factory=dict)    # key read from **kwargs -> its default
    backward_flags: list = dataclasses.field(default_factory=list)  # (backward parameter, string) compared
    source: str = ""          # the class's own code, for a definition the loader sets aside
    set_aside: bool = False   # a redefinition the loader does not run (the heading rule)

    @property
    def not_numbers(self) -> set:
        """Constructor parameters that cannot be a coefficient: switches and string-valued ones."""
        return set(self.switches) | {p for p, d in self.init_defaults.items()
                                     if isinstance(d, str) and d != NOT_CONSTANT}


def read_sources(path) -> list[tuple[str, str, bool]]:
    """``[(label, code, after_heading)]`` of the submission's Python code (cells of a notebook)."""
    p = Path(path)
    out = []
    files = [p] if p.is_file() else sorted(x for x in p.rglob("*") if x.suffix in (".py", ".ipynb")) \
        if p.is_dir() else []
    for f in files[:200]:
        try:
            if f.stat().st_size > 5_000_000:
                continue
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if f.suffix == ".ipynb":
            try:
                cells = json.loads(text).get("cells", [])
            except (ValueError, AttributeError):
                continue
            after = False
            for i, cell in enumerate(cells):
                src = cell.get("source", "")
                src = "".join(src) if isinstance(src, list) else str(src)
                if cell.get("cell_type") == "markdown" and HEADING in src.lower():
                    after = True
                if cell.get("cell_type") == "code":
                    out.append((f"{f.name} [cell {i}]", src, after))
        elif f.suffix == ".py":
            out.append((f.name, text, False))
    return out


@functools.lru_cache(maxsize=512)
def _parse_cached(code: str):
    return parse(MAGIC.sub("pass  #", code))


def _parse(code: str):
    """The module's AST, or None. Cached by text: a class or a selftest grades the same files over and
    over (:func:`nncheck.load.syntax.parse` makes it safe in threads)."""
    try:
        return _parse_cached(code)  # a failed parse raises, so it is never cached
    except (SyntaxError, ValueError, MemoryError, RecursionError, SystemError):
        return None


def _name_of(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):  # init.lower()
        return _name_of(node.func.value) if isinstance(node.func, ast.Attribute) else None
    return None


def _strings(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _more_clues(nodes, info: ClassInfo, attr_of) -> None:
    """Enum members and dict keys code compares a constructor parameter with or reads from it (among
    the class's comparisons and subscripts ``nodes``), and the strings a parameter of ``backward`` is
    compared with."""
    back = info.methods.get("backward")
    back_params = set(info.backward_params[2:])
    for n in nodes:
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and isinstance(n.ops[0], (ast.Eq, ast.Is, ast.In)):
            for var, const in ((n.left, n.comparators[0]), (n.comparators[0], n.left)):
                name = _name_of(var)
                if (name in attr_of and isinstance(const, ast.Attribute) and isinstance(const.value, ast.Name)
                        and (attr_of[name], f"{const.value.id}.{const.attr}") not in info.enum_flags):
                    info.enum_flags.append((attr_of[name], f"{const.value.id}.{const.attr}"))
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str):
            name = _name_of(n.value)
            if name in attr_of and isinstance(info.init_defaults.get(attr_of[name], 0), type(None)):
                keys = info.dict_params.setdefault(attr_of[name], [])
                if n.slice.value not in keys:
                    keys.append(n.slice.value)
    if back is not None and back_params:
        for n in ast.walk(back):
            if isinstance(n, ast.Compare) and len(n.ops) == 1 and isinstance(n.ops[0], (ast.Eq, ast.In)):
                for var, const in ((n.left, n.comparators[0]), (n.comparators[0], n.left)):
                    if isinstance(var, ast.Name) and var.id in back_params:
                        info.backward_flags += [(var.id, s) for s in _strings(const)
                                                if (var.id, s) not in info.backward_flags]


def _kwarg_keys(init) -> dict:
    """``{key: default}`` of the keys ``__init__(self, ..., **kwargs)`` reads from its ``kwargs``
    (``kwargs.get("reg_lambda", 1e-4)``, ``.pop``, ``.setdefault``, ``kwargs["alpha"]``): the
    student's hyperparameters, as real as named parameters (:data:`NOT_CONSTANT` for an expression
    or no default)."""
    if init is None or init.args.kwarg is None:
        return {}
    var = init.args.kwarg.arg
    keys = {}
    for n in ast.walk(init):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("get", "pop", "setdefault")
                and isinstance(n.func.value, ast.Name) and n.func.value.id == var and n.args
                and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)):
            d = n.args[1] if len(n.args) > 1 else None
            keys.setdefault(n.args[0].value, d.value if isinstance(d, ast.Constant) else NOT_CONSTANT)
        elif (isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == var
              and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)):
            keys.setdefault(n.slice.value, NOT_CONSTANT)
    return keys


def _class_info(node: ast.ClassDef, label: str, after: bool) -> ClassInfo:
    methods = {n.name: n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def params(fn):
        if fn is None:
            return [], {}
        a = fn.args
        names = [x.arg for x in a.posonlyargs + a.args][1:] + [x.arg for x in a.kwonlyargs]
        pos = a.posonlyargs + a.args
        defaults = {}
        for arg, d in zip(pos[len(pos) - len(a.defaults):], a.defaults):
            defaults[arg.arg] = d.value if isinstance(d, ast.Constant) else NOT_CONSTANT
        for arg, d in zip(a.kwonlyargs, a.kw_defaults):
            if d is not None:
                defaults[arg.arg] = d.value if isinstance(d, ast.Constant) else NOT_CONSTANT
        return names, defaults

    init_params, init_defaults = params(methods.get("__init__"))
    kwarg_keys = _kwarg_keys(methods.get("__init__"))
    for key, default in kwarg_keys.items():  # read from **kwargs: a parameter in all but the signature
        if key not in init_params:
            init_params.append(key)
            init_defaults[key] = default
    backward_params, _ = params(methods.get("backward"))
    # self.X = param in __init__: comparing self.X counts as comparing the parameter
    attr_of = {p: p for p in init_params}
    init = methods.get("__init__")
    if init is not None:
        for n in ast.walk(init):
            if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name) and n.value.id in init_params:
                for t in n.targets:
                    if isinstance(t, ast.Attribute):
                        attr_of[t.attr] = n.value.id
    flags, clues = [], []
    for n in ast.walk(node):
        if isinstance(n, (ast.Compare, ast.Subscript)):
            clues.append(n)
        if isinstance(n, ast.Compare) and len(n.ops) == 1 and isinstance(n.ops[0], (ast.Eq, ast.In, ast.Is)):
            left, right = n.left, n.comparators[0]
            for var, const in ((left, right), (right, left)):
                name = _name_of(var)
                if name in attr_of:
                    for s in _strings(const):
                        flags.append((attr_of[name], s))
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Dict):  # {'xavier': ..., ...}[init]
            name = _name_of(n.slice)
            if name in attr_of:
                for k in n.value.keys:
                    flags += [(attr_of[name], x) for x in _strings(k)] if k is not None else []
    bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "?") for b in node.bases]
    switches = [p for p in init_params if isinstance(init_defaults.get(p), bool)]
    info = ClassInfo(node.name, bases, label, node.lineno, methods, init_params, init_defaults,
                     backward_params, flags, after, switches)
    info.kwarg_keys = kwarg_keys
    info.int_switches = [p for p in init_params if type(init_defaults.get(p)) is int and init_defaults[p] in (0, 1)]
    _more_clues(clues, info, attr_of)
    return info


def collect(sources):
    """``(classes, pins, functions)`` of the sources: ``{name: [ClassInfo, ...]}`` (every definition, in
    order), ``[(option, text, label)]`` of the pin comments, ``{name: where}`` of module-level functions."""
    classes: dict[str, list[ClassInfo]] = {}
    functions: dict[str, str] = {}
    pins = []
    for label, code, after in sources:
        for m in PIN.finditer(code):
            pins.append((m.group(1).lower(), m.group(2), label))
        tree = _parse(code)
        if tree is None:
            continue
        lines = None
        stack = list(tree.body)
        while stack:  # classes at module level or under if/try/with, not inside functions
            node = stack.pop()
            if isinstance(node, ast.ClassDef):
                info = _class_info(node, label, after)
                if not node.decorator_list:  # (a decorated class is not rebuilt from its text)
                    lines = lines if lines is not None else code.splitlines(keepends=True)
                    info.source = textwrap.dedent("".join(lines[node.lineno - 1:node.end_lineno]))
                classes.setdefault(node.name, []).append(info)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    stack.extend(getattr(node, field, None) or [])
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(node.body)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, f"{label}, line {node.lineno}")
    _mark_set_aside(classes, sources)
    return classes, pins, functions


def _mark_set_aside(classes, sources) -> None:
    """Mark the class definitions the loader does not run: in a notebook, with the heading a
    redefinition after it of a name defined before it; without it, every definition but the first.
    (In a ``.py`` file the last definition is the one that counts: nothing is set aside.)"""
    heading = any(after for _, _, after in sources)
    for infos in classes.values():
        cells = [i for i in infos if "[cell " in i.where]
        if len(cells) < 2:
            continue
        if heading:
            if any(not i.after_heading for i in cells):
                for i in cells:
                    i.set_aside = i.after_heading
        else:
            for i in cells[1:]:
                i.set_aside = True


# --------------------------------------------------------------------------
# A class through its bases
# --------------------------------------------------------------------------
def chain(name, classes, seen=None):
    """The names of ``name`` and its bases, as far as the sources say."""
    seen = seen if seen is not None else []
    if name in seen or len(seen) > 20:
        return seen
    seen.append(name)
    for info in classes.get(name, []):
        for b in info.bases:
            chain(b, classes, seen)
    return seen


def has(name, method, classes):
    return any(method in info.methods for n in chain(name, classes) for info in classes.get(n, []))


def is_dense_like(name, classes):
    """A layer built as ``cls(input_units, output_units, ...)``: a subclass of Dense, or a layer with
    forward, backward and at least two constructor parameters."""
    names = chain(name, classes)
    if "Dense" in names[1:] or name == "Dense":
        return True
    info = classes[name][-1]
    return (has(name, "forward", classes) and has(name, "backward", classes)
            and len(info.init_params) >= 2)


def is_layer(name, classes):
    return has(name, "forward", classes) and has(name, "backward", classes)


def inherited_backward(name, classes):
    """``(owner, where)`` when ``name`` takes its backward from a base class defined in the sources."""
    for n in chain(name, classes):
        for info in classes.get(n, [])[-1:]:
            if "backward" in info.methods:
                if n == name:
                    return None
                fn = info.methods["backward"]
                return n, f"{info.where}, line {fn.lineno}"
    return None


def words(name):
    """A name lower-case with its underscores dropped: ``Dense_L2`` gives ``densel2``."""
    return name.lower().replace("_", "")


def tokens(name):
    """The words of a name: ``Dense_RMS`` and ``DenseRMSProp`` give dense, rms (and prop)."""
    return {t.lower() for t in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)}
