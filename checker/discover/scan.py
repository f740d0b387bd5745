"""Find the assignment's options however the student wrote them (grader side).

The original notebook never names the option classes, so students write
option I as ``Dense(..., init='xavier')``, ``Xavier_Dense``, ``DenseXavier``;
option II as ``DenseL2``, ``Dense(..., l2=...)``, ``backward(input,
grad_output, l2_reg_factor=...)``; option III as ``Dense(...,
optimizer='momentum')``, ``Dense_Momentum`` or ``Dense(..., optimizer=Adam())``;
Dropout with a keep probability. :func:`scan` reads the submission's sources
(never runs them) and lists every *candidate form* for each option from:

* class names and bases (``class DenseL2(Dense)``: a layer whose name says
  which option it is);
* string values code compares a constructor parameter against
  (``if init == 'xavier'``, ``optimizer in ('adam', ...)``);
* parameters of constructors and of ``backward`` whose names say L2
  (``l2``, ``reg_coef``, ``l2_reg_factor``);
* optimizer classes and a constructor parameter that takes them
  (``Dense(..., optimizer=Adam(...))``);
* a student's pin comment ``# nncheck: xavier = Dense(init="xavier")`` and the
  instructor's config table ``[options]``.

A form is plain data (``{"option": "xavier", "class": "Dense", "kwargs":
{"init": "xavier"}, ...}``) handed to the option checks in their inputs;
the worker side (:mod:`nncheck.worker.forms`) builds the layer from it and,
for a form found by a weak clue, first confirms that it behaves like the
option at all. An unconfirmed form is reported and skipped, never failed. A
canonical class (``XavierDense``) always wins over discovery; a pin or the
config wins over everything. Core checks are never touched.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
import time
from pathlib import Path

from nncheck.worker.forms import FORM, UNCONFIRMED
from nncheck.load.syntax import parse
from nncheck.model import Result, Status
from nncheck.probes import SIGNATURE_ERROR
from nncheck.report import diagnoses

#: option -> (canonical class, check families, words for the report)
OPTIONS = {
    "xavier": ("XavierDense", ("xavier",), "option I (Xavier initialisation)"),
    "l2": ("L2Dense", ("l2",), "option II (L2 regularisation)"),
    "momentum": ("MomentumDense", ("momentum",), "option III (momentum)"),
    "rmsprop": ("RMSPropDense", ("rmsprop",), "option III (RMSProp)"),
    "adam": ("AdamDense", ("adam",), "option III (Adam)"),
    "dropout": ("Dropout", ("dropout",), "bonus Dropout"),
    "batchnorm": ("BatchNorm", ("batchnorm",), "bonus BatchNorm"),
}
FAMILY_OPTION = {fam: opt for opt, (_, fams, _) in OPTIONS.items() for fam in fams}

#: Words in a class name (lower-case, underscores dropped) that name an option.
NAME_WORDS = {
    "xavier": ("xavier", "glorot"),
    "l2": ("l2", "reg", "ridge", "weightdecay"),
    "momentum": ("momentum", "nesterov"),
    "rmsprop": ("rmsprop",),
    "adam": ("adam",),
    "dropout": ("dropout",),
    "batchnorm": ("batchnorm", "batchnormalization", "batchnormalisation"),
}
#: Whole words of a name (split at underscores and case changes) that name an option; too short to be
#: searched for inside other words ("rms" is in "norms").
NAME_TOKENS = {"rmsprop": ("rms",)}
#: Options a boolean switch on ``Dense`` can turn on (``Dense(..., xavier=True)``, ``use_rmsprop=True``).
SWITCH_OPTIONS = ("xavier", "l2", "momentum", "rmsprop", "adam")
#: String values that select an option when a parameter is compared against them.
FLAG_VALUES = {
    "xavier": ("xavier", "glorot", "xavier_normal", "xavier_uniform", "glorot_normal", "glorot_uniform"),
    "momentum": ("momentum", "sgd_momentum", "nesterov", "sgdm"),
    "rmsprop": ("rmsprop", "rms_prop", "rms"),
    "adam": ("adam",),
    "l2": ("l2", "ridge"),
}
#: Parameter names that are an L2 coefficient.
L2_PARAMS = ("l2", "l2_reg", "reg_coef", "l2_lambda", "reg_lambda", "lambda_reg", "l2_reg_factor",
             "reg_factor", "l2_coef", "weight_decay", "reg", "reg_strength", "lambd", "lambda_", "lmbda",
             "l2_alpha", "reg_param", "l2_penalty", "regularization_strength")
def _is_l2_param(name: str) -> bool:
    low = name.lower()
    if "l1" in low or "regress" in low or "bias" in low:
        return False
    return (low in L2_PARAMS or "l2" in low or "lambd" in low or "weight_decay" in low
            or "penal" in low or low.startswith("reg"))


def _l2_coef(params, not_numbers=()) -> str | None:
    """The parameter that holds the L2 coefficient: one that says l2, else one that looks like it.
    ``not_numbers`` are never it: a boolean switch (``l2=False`` beside ``lambd=0.001``) or a
    parameter whose default is a string (``penalty='none'``, compared with ``'l2'``)."""
    params = [p for p in params if p not in not_numbers]
    return (next((p for p in params if "l2" in p.lower() and _is_l2_param(p)), None)
            or next((p for p in params if _is_l2_param(p)), None))


#: Extra parameters of ``Dense.backward`` that are an L2 coefficient there (too generic elsewhere).
BACKWARD_L2 = ("alpha", "lam", "lamb")


#: Words in a class name that say it is something else (an L2 *norm*, a regression, a loss).
NOT_AN_OPTION = ("norm", "regress", "error", "loss", "metric", "optimizer", "initializer", "initialiser")


INIT_PARAMS = ("init", "initialization", "initialisation", "initializer", "initialiser", "init_method",
               "weight_init", "init_type", "initialization_method", "init_mode", "w_init", "scheme")
OPTIMIZER_PARAMS = ("optimizer", "optimiser", "optim", "opt", "update_rule", "solver")
PIN = re.compile(r"#\s*nncheck\s*:\s*(\w+)\s*=\s*(.+?)\s*$", re.M)
MAGIC = re.compile(r"^[ \t]*[%!]", re.M)
HEADING = "peer-reviewed assignment"
STRENGTH = {"pin": 0, "config": 0, "name": 1, "flag": 2, "object": 2, "param": 3, "backward": 3, "fallback": 4}


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

    @property
    def not_numbers(self) -> set:
        """Constructor parameters that cannot be a coefficient: switches and string-valued ones."""
        return set(self.switches) | {p for p, d in self.init_defaults.items()
                                     if isinstance(d, str) and d != NOT_CONSTANT}


@dataclasses.dataclass
class Discovery:
    forms: dict = dataclasses.field(default_factory=dict)        # option -> chosen form
    candidates: dict = dataclasses.field(default_factory=dict)   # option -> [forms]
    seen: list = dataclasses.field(default_factory=list)         # option-like code not graded: sentences
    classes: dict = dataclasses.field(default_factory=dict)
    duration_s: float = 0.0

    def to_json(self) -> dict:
        return {"graded": {o: _public(f) for o, f in self.forms.items()},
                "candidates": {o: [_public(f) for f in fs] for o, fs in self.candidates.items() if fs},
                "not_graded": list(self.seen), "duration_s": round(self.duration_s, 4)}


def _public(form: dict) -> dict:
    return {k: v for k, v in form.items() if k in ("option", "label", "evidence", "where", "how", "kind")}


# --------------------------------------------------------------------------
# Reading the sources
# --------------------------------------------------------------------------
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


NOT_CONSTANT = "<an expression>"  # what a default that is not a constant is recorded as


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
    flags = []
    for n in ast.walk(node):
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
    return ClassInfo(node.name, bases, label, node.lineno, methods, init_params, init_defaults,
                     backward_params, flags, after, switches)


def _collect(sources):
    classes: dict[str, list[ClassInfo]] = {}
    functions: dict[str, str] = {}
    pins = []
    for label, code, after in sources:
        for m in PIN.finditer(code):
            pins.append((m.group(1).lower(), m.group(2), label))
        tree = _parse(code)
        if tree is None:
            continue
        stack = list(tree.body)
        while stack:  # classes at module level or under if/try/with, not inside functions
            node = stack.pop()
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append(_class_info(node, label, after))
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    stack.extend(getattr(node, field, None) or [])
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(node.body)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions.setdefault(node.name, f"{label}, line {node.lineno}")
    return classes, pins, functions


# --------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------
def _chain(name, classes, seen=None):
    """The names of ``name`` and its bases, as far as the sources say."""
    seen = seen if seen is not None else []
    if name in seen or len(seen) > 20:
        return seen
    seen.append(name)
    for info in classes.get(name, []):
        for b in info.bases:
            _chain(b, classes, seen)
    return seen


def _has(name, method, classes):
    return any(method in info.methods for n in _chain(name, classes) for info in classes.get(n, []))


def _is_dense_like(name, classes):
    """A layer built as ``cls(input_units, output_units, ...)``: a subclass of Dense, or a layer with
    forward, backward and at least two constructor parameters."""
    chain = _chain(name, classes)
    if "Dense" in chain[1:] or name == "Dense":
        return True
    info = classes[name][-1]
    return (_has(name, "forward", classes) and _has(name, "backward", classes)
            and len(info.init_params) >= 2)


def _is_layer(name, classes):
    return _has(name, "forward", classes) and _has(name, "backward", classes)


def _words(name):
    return name.lower().replace("_", "")


def _tokens(name):
    """The words of a name: ``Dense_RMS`` and ``DenseRMSProp`` give dense, rms (and prop)."""
    return {t.lower() for t in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)}


def _name_options(name):
    """The options a class or parameter name says."""
    w, tokens = _words(name), _tokens(name)
    return [o for o, words in NAME_WORDS.items()
            if any(x in w for x in words) or any(t in tokens for t in NAME_TOKENS.get(o, ()))]


def _form(option, kind, cls, label, evidence, where, **extra):
    return {"option": option, "kind": kind, "class": cls, "label": label, "evidence": evidence,
            "where": where, **extra}


def _fmt_call(cls, kwargs):
    parts = []
    for k, v in kwargs.items():
        parts.append(f"{k}={v['object']}(...)" if isinstance(v, dict) else f"{k}={v!r}")
    return f"{cls}(..., {', '.join(parts)})" if parts else cls


def _flag_form(option, name, info, where, param, value, baseline, unusable, evidence):
    """The form ``name(..., param=value)`` for ``option``, or None (with a sentence in ``unusable``)
    when it is L2 and the class takes no coefficient to pass. ``baseline``: the same flag turned
    off, for a flag that is on by default (a switch, a string flag whose default is the option)."""
    extra = {"baseline": baseline} if baseline else {}
    if option == "l2":
        coef = _l2_coef(info.init_params, info.not_numbers)
        if coef is None:
            unusable.append(f"{evidence} ({where}), but it takes no parameter for the L2 coefficient, so "
                            "option II cannot be graded at the coefficients nncheck chooses; pin it with the "
                            f"coefficient's name: `# nncheck: l2 = {name}({param}={value!r}, <coef>=...)`")
            return None
        extra["hyper"] = {"alpha": coef}
    return _form(option, "factory", name, _fmt_call(name, {param: value}), evidence, where,
                 kwargs={param: value}, confirm="behaves", strength=STRENGTH["flag"],
                 after_heading=info.after_heading, **extra)


def candidates(classes, unusable=None) -> dict:
    found: dict[str, list] = {o: [] for o in OPTIONS}
    unusable = unusable if unusable is not None else []
    canon = {c for c, _, _ in OPTIONS.values()}
    optimizer_classes = {}
    for name, infos in classes.items():
        info = infos[-1]
        w = _words(name)
        where = f"{info.where}, line {info.line}"
        if name not in canon and name != "Dense":
            hits = _name_options(name)
            if len(hits) == 1 and hits[0] in ("dropout", "batchnorm"):
                if _is_layer(name, classes):
                    found[hits[0]].append(_form(hits[0], "class", name, name,
                                                f"a layer named `{name}`", where, confirm="builds",
                                                strength=STRENGTH["name"]))
            elif len(hits) == 1 and _is_dense_like(name, classes) and (
                    "dense" in w or "layer" in w or "Dense" in _chain(name, classes)[1:]) and not any(
                    x in w for x in NOT_AN_OPTION if not (x == "norm" and hits[0] == "batchnorm")):
                extra = {}
                if hits[0] == "l2":  # 'l2'/'reg' in a name is weaker evidence: confirm it shrinks the weights
                    coef = _l2_coef(info.init_params[2:], info.not_numbers)
                    extra = {"confirm": "behaves", **({"hyper": {"alpha": coef}} if coef else {})}
                found[hits[0]].append(_form(hits[0], "class", name, name,
                                            f"a Dense layer named `{name}`", where,
                                            **{"confirm": "builds", **extra}, strength=STRENGTH["name"]))
            elif len(hits) == 1 and hits[0] in ("momentum", "rmsprop", "adam") and not _is_layer(name, classes):
                optimizer_classes.setdefault(hits[0], name)
        if name == "Dropout" and info.init_params:
            first = info.init_params[0].lower()
            if "keep" in first:
                found["dropout"].append(_form("dropout", "factory", name, f"Dropout({info.init_params[0]}=1-p)",
                                              f"`Dropout`'s parameter `{info.init_params[0]}` is a keep "
                                              "probability", where, keep=info.init_params[0],
                                              confirm="builds", strength=STRENGTH["pin"]))
    for name, infos in classes.items():
        info = infos[-1]
        if not _is_dense_like(name, classes) or name in canon:
            continue
        where = f"{info.where}, line {info.line}"
        name_opts = _name_options(name)
        if name_opts:  # a class named for one option: its flags and parameters are its own business
            continue
        for param, value in info.flags:
            for option, values in FLAG_VALUES.items():
                if value.lower() in values and param in info.init_params:
                    baseline = None
                    default = info.init_defaults.get(param)
                    if isinstance(default, str) and default.lower() in values:
                        # on by default: plain Dense *is* the option; tried against another of its values
                        other = next((v for p, v in info.flags if p == param and v.lower() not in values), None)
                        baseline = {param: other} if other is not None else None
                    form = _flag_form(option, name, info, where, param, value, baseline, unusable,
                                      f"`{name}` compares its parameter `{param}` with {value!r}")
                    if form is not None:
                        found[option].append(form)
        for param in info.switches:
            for option in _name_options(param):
                if option not in SWITCH_OPTIONS or any(f["class"] == name for f in found[option]):
                    continue
                form = _flag_form(option, name, info, where, param, True, {param: False}, unusable,
                                  f"`{name}` has a switch `{param}` (default {info.init_defaults[param]})")
                if form is not None:
                    found[option].append(form)
        init_param = next((p for p in info.init_params if p.lower() in INIT_PARAMS), None)
        if init_param is not None and not any(f["class"] == name for f in found["xavier"]):
            values = sorted({v for p, v in info.flags if p == init_param})
            if values:  # compared only with other schemes ('standard', 'default'): try it with 'xavier'
                found["xavier"].append(_form(
                    "xavier", "factory", name, _fmt_call(name, {init_param: "xavier"}),
                    f"`{name}` takes `{init_param}` (compared with {', '.join(map(repr, values))}); tried "
                    f"{init_param}='xavier'", where, kwargs={init_param: "xavier"}, confirm="xavier-variance",
                    strength=STRENGTH["fallback"], after_heading=info.after_heading))
        if not any(f["class"] == name for f in found["l2"]):
            coef = _l2_coef(info.init_params, info.not_numbers)
            if coef is not None:
                found["l2"].append(_form("l2", "factory", name, f"{name}(..., {coef}=...)",
                                         f"`{name}` takes a parameter `{coef}`", where, hyper={"alpha": coef},
                                         confirm="behaves", strength=STRENGTH["param"],
                                         after_heading=info.after_heading))
            else:
                extra_args = info.backward_params[2:]
                coef = _l2_coef(extra_args) or next((p for p in extra_args if p.lower() in BACKWARD_L2), None)
                if coef is not None:
                    found["l2"].append(_form("l2", "factory", name, f"{name}.backward(..., {coef}=...)",
                                             f"`{name}.backward` takes a parameter `{coef}`", where,
                                             backward_hyper={"alpha": coef}, confirm="behaves",
                                             strength=STRENGTH["backward"], after_heading=info.after_heading))
        opt_param = next((p for p in info.init_params if p.lower() in OPTIMIZER_PARAMS), None)
        if opt_param is not None:
            for option, cls in optimizer_classes.items():
                if any(f["class"] == name for f in found[option]):
                    continue
                kwargs = {opt_param: {"object": cls}}
                found[option].append(_form(option, "factory", name, f"{name}(..., {opt_param}={cls}(...))",
                                           f"`{name}` takes `{opt_param}` and `{cls}` is an optimizer class",
                                           where, kwargs=kwargs, confirm="behaves",
                                           strength=STRENGTH["object"], after_heading=info.after_heading))
    for option in found:
        found[option].sort(key=lambda f: f["strength"])
    return found


def parse_pin(option: str, text: str, where: str, kind: str) -> dict | str:
    """A pin or config entry (``Dense(init="xavier")``, ``Xavier_Dense``) as a form, or why not."""
    option = option.lower()
    if option not in OPTIONS:
        return f"{where}: unknown option `{option}` (known: {', '.join(OPTIONS)})"
    try:
        expr = parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return (f"{where}: `{text.strip()}` is not a class name or a call like Dense(init=\"xavier\")"
                + (" or Dense.backward(alpha=...)" if option == "l2" else ""))
    if isinstance(expr, ast.Name):
        return _form(option, "class", expr.id, expr.id, f"pinned by {kind}", where, confirm="none",
                     strength=STRENGTH[kind], pinned=True)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        kwargs, hyper = {}, {}
        for kw in expr.keywords:
            v = kw.value
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                kwargs[kw.arg] = v.value
            elif isinstance(v, ast.Call) and isinstance(v.func, ast.Name):
                kwargs[kw.arg] = {"object": v.func.id}
            elif isinstance(v, ast.Constant) and v.value is Ellipsis and option == "l2":
                hyper["alpha"] = kw.arg
            elif isinstance(v, ast.Constant):
                kwargs[kw.arg] = v.value
            else:
                return f"{where}: `{ast.unparse(v)}` for `{kw.arg}` must be a constant or a class call"
        cls = expr.func.id
        return _form(option, "factory", cls, _fmt_call(cls, kwargs), f"pinned by {kind}", where,
                     kwargs=kwargs, hyper=hyper, confirm="none", strength=STRENGTH[kind], pinned=True)
    if (option == "l2" and isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "backward" and isinstance(expr.func.value, ast.Name) and len(expr.keywords) == 1
            and isinstance(expr.keywords[0].value, ast.Constant) and expr.keywords[0].value.value is Ellipsis):
        cls, coef = expr.func.value.id, expr.keywords[0].arg  # Dense.backward(alpha=...)
        return _form(option, "factory", cls, f"{cls}.backward(..., {coef}=...)", f"pinned by {kind}", where,
                     backward_hyper={"alpha": coef}, confirm="none", strength=STRENGTH[kind], pinned=True)
    return (f"{where}: `{text.strip()}` is not a class name or a call like Dense(init=\"xavier\")"
            + (" or Dense.backward(alpha=...)" if option == "l2" else ""))


def scan(path, config=None, aliases=None) -> Discovery:
    t0 = time.perf_counter()
    d = Discovery()
    try:
        sources = read_sources(path)
    except OSError:
        sources = []
    classes, pins, functions = _collect(sources)
    d.classes = classes
    found = candidates(classes, d.seen)
    aliases = aliases or {}
    defined = set(classes) | {t for a, t in aliases.items() if a in classes}
    pinned = {}
    for option, text, label in pins:
        form = parse_pin(option, text, f"{label} (# nncheck: comment)", "pin")
        if isinstance(form, str):
            d.seen.append(form)
        else:
            pinned[form["option"]] = form
    for option, text in ((getattr(config, "options", None) or {}).items()):
        form = parse_pin(option, str(text), "config [options]", "config")
        if isinstance(form, str):
            d.seen.append(form)
        else:
            pinned[form["option"]] = form
    for option, (canon, _, words) in OPTIONS.items():
        cands = found.get(option, [])
        if option in pinned:
            d.forms[option] = pinned[option]
            d.candidates[option] = [pinned[option]] + cands
            continue
        if canon in defined:
            keep = [c for c in cands if c.get("keep") and c["class"] == canon]
            if keep:
                d.forms[option] = keep[0]
            continue
        if not cands:
            d.seen += _unused_clues(option, classes, functions)
            continue
        d.candidates[option] = cands
        d.forms[option] = cands[0]
    d.duration_s = time.perf_counter() - t0
    return d


def _unused_clues(option, classes, functions) -> list[str]:
    """Sentences about code whose name says ``option`` but that is not a form nncheck can grade."""
    words = NAME_WORDS[option] + FLAG_VALUES.get(option, ())
    canon, _, what = OPTIONS[option]
    out = []
    pin = f"`# nncheck: {option} = <the layer, e.g. Dense(init=\"xavier\")>`" if option == "xavier" else \
        f"`# nncheck: {option} = <your layer class or call>`"
    for name, infos in classes.items():
        hits = _name_options(name)
        if option not in hits or name == canon:
            continue
        info = infos[-1]
        where = f"{info.where}, line {info.line}"
        if len(hits) > 1:
            why = f"its name says {', '.join(hits)}: more than one option"
        elif option in ("dropout", "batchnorm"):
            why = "it is not a layer (no forward and backward)"
        elif not _is_layer(name, classes):
            why = "it is not a layer (no forward and backward): a helper is not graded as an option"
        else:
            why = ("it is not a Dense-like layer built as cls(input_units, output_units, ...): an "
                   "experiment's network is not graded as an option")
        out.append(f"`{name}` ({where}) looks like {what}, but {why}. If it is your {what}, pin it: {pin}.")
    for name, where in functions.items():
        if any(x in _words(name) for x in words) and option in ("xavier", "l2"):
            out.append(f"function `{name}` ({where}) looks like {what}, but nncheck grades {what} on a layer "
                       f"(`{canon}` or a Dense that uses `{name}`). Pin the layer that uses it: {pin}.")
    return out[:5]


# --------------------------------------------------------------------------
# Applying a discovery to the checks, and saying what it did
# --------------------------------------------------------------------------
def _with_form(inputs_fn, form):
    def inputs(rng):
        data = dict(inputs_fn(rng))
        data[FORM] = form
        if isinstance(data.get("traj"), dict):
            data["traj"] = {**data["traj"], FORM: form}
        return data
    return inputs


def _guarded(verdict, form):
    def verdict_for_form(inputs, output):
        if isinstance(output, dict) and isinstance(output.get(UNCONFIRMED), str):
            return Result.skipped(f"not graded: saw {form['label']} ({form['evidence']}), but "
                                  f"{output[UNCONFIRMED]}")
        if (isinstance(output, dict) and isinstance(output.get(SIGNATURE_ERROR), str)
                and not form.get("pinned")):
            return Result.skipped(f"not graded: saw {form['label']} ({form['evidence']}), but it cannot be "
                                  f"built the way the assignment builds the option: {output[SIGNATURE_ERROR]}")
        return verdict(inputs, output)
    verdict_for_form.__nncheck_guarded__ = True  # the wrapped verdict is guarded already
    return verdict_for_form


def apply(checks, discovery: Discovery):
    """The checks with every discovered form wired into its option's checks (core untouched)."""
    out = []
    for check in checks:
        option = FAMILY_OPTION.get(check.family)
        form = discovery.forms.get(option) if option and check.section != "core" else None
        if form is None:
            out.append(check)
            continue
        canon = OPTIONS[option][0]
        requires = tuple(form["class"] if r == canon else r for r in check.requires)
        out.append(dataclasses.replace(check, requires=requires, inputs=_with_form(check.inputs, form),
                                       verdict=_guarded(check.verdict, form)))
    return out


def annotate(report, discovery: Discovery):
    """Say in the report which code was graded as which option, and what was seen but not graded."""
    info = discovery.to_json()
    for option, cands in discovery.candidates.items():
        if len(cands) > 1:
            others = ", ".join(f"`{c['label']}`" for c in cands[1:])
            example = cands[1]["label"].replace("...", "").replace("(, ", "(")
            info.setdefault("several", {})[option] = (
                f"several candidates for {OPTIONS[option][2]}: graded `{cands[0]['label']}`; also saw {others}. "
                f"To grade another one, pin it with a comment anywhere in your code, e.g. "
                f"`# nncheck: {option} = {example}` (an instructor: the config table [options]).")
    report.load["options"] = info
    for rec in report.checks:
        option = FAMILY_OPTION.get(rec.family)
        form = discovery.forms.get(option) if option else None
        if form is None or rec.section == "core":
            continue
        rec.details = {**(rec.details or {}), "graded_form": _public(form)}
        if rec.status is Status.SKIPPED:
            continue
        note = f"graded `{form['label']}` as {OPTIONS[option][2]} ({form['evidence']})"
        rec.message = f"{note}. {rec.message}" if rec.message else note
        if rec.status is Status.FAILED and any(diagnoses.inherited(c) for c in rec.diagnosis):
            owner = _inherited_backward(form["class"], discovery.classes)
            if owner:
                name, where = owner
                rec.message += (f" This bug is in `{name}.backward` ({where}), which `{form['class']}` "
                                f"inherits: fix it there once and both are right.")
                rec.diagnosis = list(rec.diagnosis) + ["inherited-from-dense"]
    return report


def _inherited_backward(name, classes):
    """``(owner, where)`` when ``name`` takes its backward from a base class defined in the sources."""
    chain = _chain(name, classes)
    for n in chain:
        for info in classes.get(n, [])[-1:]:
            if "backward" in info.methods:
                if n == name:
                    return None
                fn = info.methods["backward"]
                return n, f"{info.where}, line {fn.lineno}"
    return None


# --------------------------------------------------------------------------
# The report a student reads at a glance (text and HTML; JSON keeps every check)
# --------------------------------------------------------------------------
def _not_attempted(checks: list) -> bool:
    return bool(checks) and all(c["status"] == "skipped" and str(c.get("message", "")).startswith("not attempted")
                                for c in checks)


def option_layout(d: dict, section: str, checks: list) -> tuple[list, list]:
    """``(checks to show, families not attempted)`` for an options/bonus ``section`` of :func:`report_dict`.

    The family that counted comes first, then the other attempted ones; the
    families nobody attempted collapse into one list (JSON keeps them all).
    Other sections come back unchanged.
    """
    if section not in ("options", "bonus"):
        return checks, []
    families: dict[str, list] = {}
    for c in checks:
        families.setdefault(c["id"].split(".", 1)[0], []).append(c)
    counted = list(((d.get("sections") or {}).get(section) or {}).get("counted") or [])
    skipped = [f for f, cs in families.items() if _not_attempted(cs)]
    shown = [f for f in families if f not in skipped]
    position = {f: i for i, f in enumerate(shown)}
    shown.sort(key=lambda f: (f not in counted, position[f]))
    return [c for f in shown for c in families[f]], skipped


def option_notes(d: dict) -> list[str]:
    """Sentences about discovery for the text and HTML reports: what was graded as what, several
    candidates and how to pin one, option-like code that could not be graded."""
    info = (d.get("load") or {}).get("options") or {}
    notes = []
    for option, form in (info.get("graded") or {}).items():
        notes.append(f"graded `{form.get('label')}` as {OPTIONS.get(option, ('', '', option))[2]} "
                     f"({form.get('evidence')}, {form.get('where')})")
    notes += list((info.get("several") or {}).values())
    notes += [f"seen but not graded: {s}" for s in info.get("not_graded") or []]
    return notes
