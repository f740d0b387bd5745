"""Worker side of option discovery (runs in the sandbox; see ``nncheck.discover``).

The grader's static scan hands each option check a *form* in its inputs
(``inputs["_form"]``): plain data saying how the student wrote the option,
e.g. ``{"class": "Dense", "kwargs": {"init": "xavier"}}`` or
``{"class": "Xavier_Dense"}``, plus what the option declares about its
canonical class (``layer``, ``params``, ``names``, ``fingerprint``; see
:class:`nncheck.model.Option`). :func:`option_class` turns it into something
the probes can use exactly like the canonical class: a callable whose
signature has the canonical parameter names (``learning_rate``, ``alpha``,
``momentum``, ``p`` ...) and which builds the student's layer the student's
way. Before grading a form found by a weak clue, :func:`confirm` runs the
option's *fingerprint*, a function of the family's probes module registered
with :func:`fingerprint`, which checks that the built layer behaves like the
option at all; when it does not, the probe returns ``{"_unconfirmed":
sentence}`` and the check is skipped with that sentence, never failed.

Imports only NumPy, the standard library and ``nncheck.probes`` (worker side).
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from nncheck.probes import LR_NAMES, construct
from nncheck.worker.hyper import by_behaviour, numeric_params, steers

UNCONFIRMED = "_unconfirmed"
FORM = "_form"

_P = inspect.Parameter
_KW = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)

#: Names a student may give a hyperparameter every option shares (compared lower-case); an option
#: declares its own (``Option.hyper_names``), which reach here in the form (``form["names"]``).
SHARED_NAMES = {"learning_rate": LR_NAMES}

_UNSET = object()


class Unconfirmed(Exception):
    """The discovered form cannot be built or does not behave like the option (one sentence)."""


def _params(fn):
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []


def _names(form, canon):
    """The names a student may give the canonical hyperparameter ``canon`` of ``form``'s option."""
    return tuple((form.get("names") or {}).get(canon) or SHARED_NAMES.get(canon, (canon,)))


def _find(params, names, taken=()):
    for p in params:
        if p.kind in _KW and p.name.lower() in names and p.name not in taken:
            return p.name
    return None


def _value(ns, form, v, hyper):
    """A form's keyword value: a constant, or ``{"object": "Adam"}`` (an optimizer object built here)."""
    if isinstance(v, dict) and ("enum" in v or "settings" in v):
        return _member_or_settings(ns, form, v, hyper)
    if isinstance(v, dict) and "function" in v:  # a function of the submission's, handed over as it is
        fn = ns.get(v["function"])
        if not callable(fn):
            raise Unconfirmed(f"`{v['function']}` is not defined when the submission is loaded")
        return fn
    if isinstance(v, dict) and "object" in v:
        cls = ns.get(v["object"])
        if cls is None:
            raise Unconfirmed(f"`{v['object']}` is not defined when the submission is loaded")
        params = _params(cls)
        kwargs = {}
        for canon, value in hyper.items():
            name = _find(params, _names(form, canon), kwargs)
            if name is not None:
                kwargs[name] = value
        return cls(**kwargs)
    return v


#: What the latest :func:`build` did with the hyperparameters no name placed: ``by_behaviour``
#: (``{canonical: parameter}`` found by :func:`nncheck.worker.hyper.by_behaviour`) and ``unpassed``
#: (canonical hyperparameters the layer took neither as an argument nor as an attribute).
BUILT: dict = {"by_behaviour": {}, "unpassed": []}


def build(ns, form, n_in=None, n_out=None, hyper=None):
    """The student's layer for ``form``, with the canonical ``hyper`` passed under the student's names
    (else under the parameter the layer's steps change with, else as an attribute; see :data:`BUILT`)."""
    hyper = {k: v for k, v in (hyper or {}).items() if v is not _UNSET}
    BUILT.update(by_behaviour={}, unpassed=[])
    target = _target(ns, form)
    if target is None:
        raise Unconfirmed(f"`{form['class']}` is not defined when the submission is loaded"
                          + (" (a definition after the assignment's heading is set aside)"
                             if form.get("after_heading") else ""))
    params = _params(target)
    var_kw = any(p.kind is _P.VAR_KEYWORD for p in params)
    virtual = set()
    if var_kw:  # the keys its __init__ reads from **kwargs are its parameters too (the scan lists them)
        named = {p.name for p in params}
        virtual = {k for k in (form.get("kwarg_keys") or {}) if k not in named and k.isidentifier()}
        params += [_P(k, _P.KEYWORD_ONLY, default=_P.empty if d is None else d)
                   for k, d in (form.get("kwarg_keys") or {}).items() if k in virtual]
    names = {p.name for p in params}
    kwargs = {}
    for key, v in (form.get("kwargs") or {}).items():
        if key not in names and not var_kw:
            raise Unconfirmed(f"the loaded `{form['class']}` has no parameter `{key}`"
                              + (" (the definition that has it comes after the assignment's heading and is "
                                 "set aside)" if form.get("after_heading") else ""))
        kwargs[key] = _value(ns, form, v, hyper)
    student = dict(form.get("hyper") or {})
    leftover = {}
    for canon, value in hyper.items():
        if form.get("keep") and canon == (form.get("params") or [None])[0]:  # keep_prob = 1 - p
            kwargs[form["keep"]] = 1.0 - value
            continue
        if canon in (form.get("backward_hyper") or {}):
            continue
        name = student.get(canon)
        if name is None or name not in names:
            name = _find(params, _names(form, canon), kwargs)
        if name is not None and name not in kwargs and name in virtual and n_in is not None and not steers(
                lambda **kw: construct(target, f"{form['class']}(...)", n_in, n_out, **kwargs, **kw), name):
            leftover[canon] = value  # a key of **kwargs only another branch reads (beta2 for Adam): by behaviour
        elif name is not None and name not in kwargs:
            kwargs[name] = value
        elif any(isinstance(v, dict) and "object" in v for v in (form.get("kwargs") or {}).values()):
            continue  # the optimizer object took it
        else:
            leftover[canon] = value
    args = (n_in, n_out) if n_in is not None else ()
    if "learning_rate" in leftover:  # (in, out, rate) whatever the rate is called
        positional = [p for p in params if p.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
        if len(positional) >= 3 and positional[2].name not in kwargs and n_in is not None:
            kwargs[positional[2].name] = leftover.pop("learning_rate")
    contract = f"{form['class']}({'input_units, output_units' if n_in is not None else ''})"
    wanted = [c for c in leftover if c != "learning_rate"]
    if wanted and n_in is not None:  # no name says which parameter holds them: the one the steps change with
        skip = {n for c in form.get("params") or () for n in _names(form, c)} | set(LR_NAMES)
        cands = numeric_params(params, kwargs, skip)
        key = (form["class"], repr(sorted((form.get("kwargs") or {}).items(), key=str)), tuple(wanted), tuple(cands))
        for canon, name in by_behaviour(lambda **kw: construct(target, contract, *args, **kwargs, **kw),
                                        wanted, cands, key).items():
            kwargs[name] = leftover.pop(canon)
            BUILT["by_behaviour"][canon] = name
    layer = construct(target, contract, *args, **kwargs)
    for canon, value in leftover.items():  # set as an attribute when the constructor has no such parameter
        attrs = getattr(layer, "__dict__", {})
        name = next((a for a in attrs if a.lower() in _names(form, canon)), None)
        if name is not None:
            setattr(layer, name, value)
        else:
            BUILT["unpassed"].append(canon)
    bh = form.get("backward_hyper") or {}
    values = dict(form.get("backward_kwargs") or {})  # a switch of backward: backward(..., optimizer='rmsprop')
    if bh:
        values.update({student_name: hyper[canon] for canon, student_name in bh.items() if canon in hyper})
    if values:
        layer.backward = functools.partial(type(layer).backward, layer, **values)
    return layer


def option_class(ns, inputs, canonical):
    """What a probe uses in place of ``ns[canonical]``: the class itself, or a factory for the form."""
    form = inputs.get(FORM) if isinstance(inputs, dict) else None
    if not form:
        return ns[canonical]
    form = select(ns, form)
    checked = form.get("confirm") in CHECKED and not form.get("_confirmed")
    if form.get("kind") == "class" and not form.get("keep") and not form.get("hyper") and not form.get("source"):
        cls = ns.get(form["class"])
        if cls is None:
            raise Unconfirmed(f"`{form['class']}` is not defined when the submission is loaded")
        if checked:
            confirm(ns, form)
        return cls
    if checked:
        confirm(ns, form)
    layer = form.get("layer", "dense")
    canon_params = list(form.get("params") or ())

    def factory(*args, **kwargs):
        if layer == "units":  # built as the probes call it: BatchNorm(units)
            return construct(ns[form["class"]], f"{form['class']}(units)", *args, **kwargs)
        if layer == "layer":  # built from its hyperparameters alone: Dropout(p)
            rest = {c: _UNSET for c in canon_params}
            rest.update(zip(canon_params, args))
            rest.update({k: v for k, v in kwargs.items() if k in rest})
            return build(ns, form, hyper=rest)
        n_in, n_out = args[0], args[1]
        rest = dict(zip(canon_params, args[2:]))
        rest.update(kwargs)
        return build(ns, form, n_in, n_out, rest)

    params = []
    if layer == "layer":
        params = [_P(c, _P.POSITIONAL_OR_KEYWORD, default=_UNSET) for c in canon_params]
    elif layer == "dense":
        params = [_P("input_units", _P.POSITIONAL_OR_KEYWORD), _P("output_units", _P.POSITIONAL_OR_KEYWORD)]
        params += [_P(c, _P.POSITIONAL_OR_KEYWORD, default=_UNSET) for c in canon_params]
    if params:
        factory.__signature__ = inspect.Signature(params)
    factory.__name__ = factory.__qualname__ = form.get("label") or form.get("canonical") or canonical
    # what each canonical parameter is called in the student's code, for the checks' messages
    factory.__nncheck_names__ = {**(form.get("hyper") or {}),
                                 **{c: f"{n} (of backward)" for c, n in (form.get("backward_hyper") or {}).items()}}
    return factory


# --------------------------------------------------------------------------
# Confirmation: does the built layer behave like the option at all?
# --------------------------------------------------------------------------
_FINGERPRINTS: dict = {}


def fingerprint(fn):
    """Decorate an option's fingerprint, ``fn(ns, form, label)``, so the worker finds it by the
    ``"module:function"`` the option declares (``Option.fingerprint``). It raises :class:`Unconfirmed`
    with a sentence when the form's layer does not behave like the option; anything else it raises
    is reported the same way. Define it in the module of the option's probes: the worker loads
    that module, and this registers the function as it loads."""
    _FINGERPRINTS[f"{fn.__module__}:{fn.__qualname__}"] = fn
    return fn


def _fingerprint_of(ref: str):
    fn = _FINGERPRINTS.get(ref)
    if fn is None:  # in the grading process (tests, benchmarks): import its module
        import importlib

        module, _, qualname = ref.partition(":")
        importlib.import_module(module)
        fn = _FINGERPRINTS.get(ref)
    if fn is None:
        raise LookupError(f"the option's fingerprint {ref} is not a function decorated with "
                          "nncheck.worker.forms.fingerprint in a loaded probes module")
    return fn


class _Raised(Exception):
    """The student's code raised while its fingerprint ran (the strongest candidate: graded anyway)."""


def confirm(ns, form, strict_errors=False):
    """Raise :class:`Unconfirmed` unless the form's layer behaves like ``form["option"]`` (its
    option's fingerprint says so; an option without one takes every form as found). With
    ``strict_errors``, the student's code raising is :class:`_Raised`, not a reason to skip."""
    ref = form.get("fingerprint")
    if not ref:
        return
    check = _fingerprint_of(ref)
    label = form.get("label") or form["class"]
    try:
        check(ns, form, label)
    except Unconfirmed:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's code raised while we tried it
        if strict_errors and not _is_convention(exc):
            raise _Raised() from exc
        raise Unconfirmed(f"building and trying `{label}` raised {type(exc).__name__}: {str(exc)[:120]}") from None


def _is_convention(exc) -> bool:
    """A calling-convention mismatch (reported as today), not the student's code failing."""
    return type(exc).__name__ == "ConventionError" or isinstance(exc, TypeError)


def weights(layer):
    """The layer's weights as a float array."""
    return np.asarray(getattr(layer, "weights"), dtype=float)


def describe_call(cls, kwargs):
    """``Dense(init='small')``: a class called with ``kwargs``, for sentences."""
    return f"{cls}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def step(layer, g, x):
    """One forward and backward with the loss gradient ``g``; the weights after it."""
    layer.forward(x)
    layer.backward(x, g)
    return np.asarray(layer.weights, dtype=float).copy()


def discovered(probe):
    """Decorate a probe: an :class:`Unconfirmed` form becomes ``{"_unconfirmed": sentence}``."""
    @functools.wraps(probe)
    def wrapper(ns, inputs):
        try:
            out = probe(ns, inputs)
        except Unconfirmed as exc:
            return {UNCONFIRMED: str(exc)}
        form = inputs.get(FORM) if isinstance(inputs, dict) else None
        if isinstance(out, dict) and form and form.get("candidates") and form.get("option") in _SELECTED:
            out = {**out, GRADED: _SELECTED[form["option"]]}  # which candidate was graded
        return out
    return wrapper


# --------------------------------------------------------------------------
# Behaviour first: the first candidate of an option that behaves like it is graded
# --------------------------------------------------------------------------
GRADED = "_graded_candidate"
CHECKED = ("behaves", "fallback", "strict")
#: At most this many candidates are tried, and for at most this long (seconds) in all.
MAX_TRIED, BUDGET_S = 8, 1.0
_SELECTED: dict = {}   # option -> index of the candidate graded (per check: each runs in its own process)
_CLASSES: dict = {}    # (class, line) -> a set-aside definition rebuilt from its code


def select(ns, form):
    """The candidate of ``form["candidates"]`` (ranked, strongest first) to grade: the first that needs
    no confirmation (a pin, an option's own name) or whose fingerprint says it behaves like the option.

    The strongest candidate with evidence (a name, a flag) that raises when built or stepped is graded
    all the same, so its error is the verdict. When none fits, :class:`Unconfirmed` with the sentence
    about the strongest one."""
    cands = form.get("candidates")
    if not cands:
        return form
    option = form.get("option")
    if option in _SELECTED:
        return {**cands[_SELECTED[option]], "_confirmed": True}
    import time

    t0 = time.perf_counter()
    reasons = []
    first_evidence = next((i for i, c in enumerate(cands) if c.get("confirm") != "strict"), None)
    for i, cand in enumerate(cands[:MAX_TRIED]):
        if i and time.perf_counter() - t0 > BUDGET_S:
            break
        if cand.get("confirm") not in CHECKED:
            _SELECTED[option] = i
            return cand
        try:
            confirm(ns, cand, strict_errors=i == first_evidence)
        except Unconfirmed as exc:
            reasons.append((i, str(exc)))
            continue
        except _Raised:
            _SELECTED[option] = i  # graded: the probe meets the same error, and it is the verdict
            return {**cand, "_confirmed": True}
        _SELECTED[option] = i
        return {**cand, "_confirmed": True}
    if first_evidence is not None and reasons and reasons[0][0] == first_evidence:
        raise Unconfirmed(reasons[0][1])
    raise Unconfirmed(f"no layer in the submission behaves like it (tried {len(reasons)} "
                      f"candidate{'' if len(reasons) == 1 else 's'})")


def _target(ns, form):
    """The class a form builds: the loaded one, or a definition the loader set aside, rebuilt from its
    code in a copy of the namespace (so the core keeps the earlier one)."""
    if not form.get("source"):
        return ns.get(form["class"])
    key = (form["class"], form.get("line"), form.get("source_where"))
    if key not in _CLASSES:
        scope = dict(ns)
        code = "\n" * max(int(form.get("line") or 1) - 1, 0) + form["source"]
        try:
            exec(compile(code, str(form.get("source_where") or form["class"]).split(",")[0], "exec"), scope)
        except Exception as exc:  # noqa: BLE001 - the student's definition raised as it was made
            raise Unconfirmed(f"the definition of `{form['class']}` in {form.get('source_where')} raised "
                              f"{type(exc).__name__}: {str(exc)[:120]}") from None
        _CLASSES[key] = scope.get(form["class"])
    return _CLASSES[key]


def _member_or_settings(ns, form, v, hyper):
    """An enum member (``{"enum": "Optimizers.momentum"}``) or an option's settings as a dict
    (``{"settings": ["gamma", "eps"]}``, each key given the hyperparameter its name says)."""
    if "enum" in v:
        owner, _, member = v["enum"].rpartition(".")
        if owner not in ns:
            raise Unconfirmed(f"`{owner}` is not defined when the submission is loaded")
        return getattr(ns[owner], member)
    out = {}
    for key in v["settings"]:
        canon = next((c for c in (form.get("params") or ()) if key.lower() in _names(form, c)), None)
        if canon is not None and canon in hyper:
            out[key] = hyper[canon]
    return out
