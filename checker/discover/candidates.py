"""Every candidate form of every declared option in a submission's classes (grader side, static).

A *form* is plain data saying how the student wrote an option, e.g.
``{"option": "xavier", "kind": "factory", "class": "Dense", "kwargs": {"init":
"xavier"}, "label": "Dense(..., init='xavier')", "evidence": ..., "where": ...}``.
:func:`candidates` finds them from the clues each :class:`nncheck.model.Option`
declares:

* class names and bases (``class DenseL2(Dense)``: a layer whose name says
  exactly one option);
* string values code compares a constructor parameter with (``if init ==
  'xavier'``, ``optimizer in ('adam', ...)``) and boolean switches named for an
  option (``Dense(..., xavier=True)``);
* parameters of constructors and of ``backward`` that hold an option's
  coefficient (``l2``, ``reg_coef``, ``l2_reg_factor``);
* classes named for an option handed to a ``Dense`` parameter that takes an
  object (``Dense(..., optimizer=Adam(...))``).

Each form also carries what the worker needs to build and confirm it
(:mod:`nncheck.worker.forms`): how the canonical class is built, its
hyperparameters and their usual names, and the option's fingerprint.
"""
from __future__ import annotations

from nncheck.discover.catalogue import Catalogue
from nncheck.discover.sources import chain, is_dense_like, is_layer, words
from nncheck.model import Option

#: Words in a class name that say it is something else (an L2 *norm*, a regression, a loss).
NOT_AN_OPTION = ("norm", "regress", "error", "loss", "metric", "optimizer", "initializer", "initialiser")
#: How strong each kind of evidence is (lower is stronger): candidates are tried in this order.
STRENGTH = {"pin": 0, "config": 0, "name": 1, "flag": 2, "object": 2, "param": 3, "backward": 3, "fallback": 4}


def make_form(opt: Option, kind, cls, label, evidence, where, **extra) -> dict:
    """A form of ``opt``: what the report says of it, and what the worker needs to build it."""
    return {"option": opt.name, "kind": kind, "class": cls, "label": label, "evidence": evidence,
            "where": where, **extra, **worker_data(opt)}


def worker_data(opt: Option) -> dict:
    """The option's declaration as plain data for the sandbox (:func:`nncheck.worker.forms.option_class`)."""
    return {"canonical": opt.canonical, "layer": opt.layer, "params": list(opt.hyper),
            "names": {k: list(v) for k, v in opt.hyper_names.items()}, "fingerprint": opt.fingerprint}


def fmt_call(cls, kwargs):
    parts = []
    for k, v in kwargs.items():
        parts.append(f"{k}={v['object']}(...)" if isinstance(v, dict) else f"{k}={v!r}")
    return f"{cls}(..., {', '.join(parts)})" if parts else cls


def coefficient_param(opt: Option, params, not_numbers=(), backward=False) -> str | None:
    """The parameter among ``params`` that holds ``opt``'s coefficient, or None. ``not_numbers`` are
    never it: a boolean switch (``l2=False`` beside ``lambd=0.001``) or a parameter whose default is
    a string (``penalty='none'``, compared with ``'l2'``)."""
    if opt.coefficient is None:
        return None
    return opt.coefficient.recognise([p for p in params if p not in not_numbers], backward)


def _flag_form(opt, name, info, where, param, value, baseline, unusable, evidence):
    """The form ``name(..., param=value)`` for ``opt``, or None (with a sentence in ``unusable``)
    when the option has a coefficient and the class takes none to pass. ``baseline``: the same flag
    turned off, for a flag that is on by default (a switch, a string flag whose default is the option)."""
    extra = {"baseline": baseline} if baseline else {}
    if opt.coefficient is not None:
        coef = coefficient_param(opt, info.init_params, info.not_numbers)
        if coef is None:
            unusable.append(f"{evidence} ({where}), but it takes no parameter for {opt.coefficient.words}, so "
                            f"{opt.short_label} cannot be graded at the coefficients nncheck chooses; pin it with "
                            f"the coefficient's name: `# nncheck: {opt.name} = {name}({param}={value!r}, "
                            "<coef>=...)`")
            return None
        extra["hyper"] = {opt.coefficient.hyper: coef}
    return make_form(opt, "factory", name, fmt_call(name, {param: value}), evidence, where,
                     kwargs={param: value}, confirm="behaves", strength=STRENGTH["flag"],
                     after_heading=info.after_heading, **extra)


def _named_forms(catalogue: Catalogue, classes, found) -> dict:
    """Forms from class names (a layer named for one option, the canonical class with a complement
    parameter); returns ``{option: class}`` of the non-layer classes named for an option that takes
    objects (``class Adam:``)."""
    canon = catalogue.canonical()
    objects = {}
    for name, infos in classes.items():
        info = infos[-1]
        w = words(name)
        where = f"{info.where}, line {info.line}"
        if name not in canon and name != "Dense":
            hits = catalogue.named_by(name)
            opt = catalogue[hits[0]] if len(hits) == 1 else None
            if opt is not None and opt.layer != "dense":
                if is_layer(name, classes):
                    found[opt.name].append(make_form(opt, "class", name, name, f"a layer named `{name}`", where,
                                                     confirm="builds", strength=STRENGTH["name"]))
            elif opt is not None and is_dense_like(name, classes) and (
                    "dense" in w or "layer" in w or "Dense" in chain(name, classes)[1:]) and not any(
                    x in w for x in NOT_AN_OPTION if not any(x in own for own in opt.words)):
                extra = {}
                if opt.confirm_names:  # a weak name: confirm it behaves like the option
                    extra["confirm"] = "behaves"
                coef = coefficient_param(opt, info.init_params[2:], info.not_numbers)
                if coef:
                    extra["hyper"] = {opt.coefficient.hyper: coef}
                found[opt.name].append(make_form(opt, "class", name, name, f"a Dense layer named `{name}`", where,
                                                 **{"confirm": "builds", **extra}, strength=STRENGTH["name"]))
            elif opt is not None and opt.object_params and not is_layer(name, classes):
                objects.setdefault(opt.name, name)
        for opt in catalogue:
            if opt.complement and name == opt.canonical and info.init_params:
                word, what = opt.complement
                first = info.init_params[0]
                if word in first.lower():
                    found[opt.name].append(make_form(
                        opt, "factory", name, f"{name}({first}=1-{opt.hyper[0]})",
                        f"`{name}`'s parameter `{first}` is {what}", where, keep=first,
                        confirm="builds", strength=STRENGTH["pin"]))
    return objects


def candidates(catalogue: Catalogue, classes, unusable=None) -> dict:
    """``{option: [form, ...]}``, strongest first. Sentences about option-like code that cannot be
    graded go to ``unusable``."""
    found: dict[str, list] = {o.name: [] for o in catalogue}
    unusable = unusable if unusable is not None else []
    objects = _named_forms(catalogue, classes, found)
    canon = catalogue.canonical()
    for name, infos in classes.items():
        info = infos[-1]
        if not is_dense_like(name, classes) or name in canon:
            continue
        where = f"{info.where}, line {info.line}"
        if catalogue.named_by(name):  # a class named for one option: its flags and parameters are its own business
            continue
        for param, value in info.flags:
            for opt in catalogue:
                values = opt.flag_values
                if value.lower() in values and param in info.init_params:
                    baseline = None
                    default = info.init_defaults.get(param)
                    if isinstance(default, str) and default.lower() in values:
                        # on by default: plain Dense *is* the option; tried against another of its values
                        other = next((v for p, v in info.flags if p == param and v.lower() not in values), None)
                        baseline = {param: other} if other is not None else None
                    form = _flag_form(opt, name, info, where, param, value, baseline, unusable,
                                      f"`{name}` compares its parameter `{param}` with {value!r}")
                    if form is not None:
                        found[opt.name].append(form)
        for param in info.switches:
            for option in catalogue.named_by(param):
                opt = catalogue[option]
                if not opt.switch or any(f["class"] == name for f in found[option]):
                    continue
                form = _flag_form(opt, name, info, where, param, True, {param: False}, unusable,
                                  f"`{name}` has a switch `{param}` (default {info.init_defaults[param]})")
                if form is not None:
                    found[option].append(form)
        for opt in catalogue:
            _tried_forms(opt, name, info, where, found[opt.name])
        for opt in catalogue:
            _coefficient_forms(opt, name, info, where, found[opt.name])
        for option, cls in objects.items():
            opt = catalogue[option]
            param = next((p for p in info.init_params if p.lower() in opt.object_params), None)
            if param is None or any(f["class"] == name for f in found[option]):
                continue
            found[option].append(make_form(opt, "factory", name, f"{name}(..., {param}={cls}(...))",
                                           f"`{name}` takes `{param}` and `{cls}` is "
                                           f"{opt.object_kind or 'a class named for ' + opt.label}",
                                           where, kwargs={param: {"object": cls}}, confirm="behaves",
                                           strength=STRENGTH["object"], after_heading=info.after_heading))
    for option in found:
        found[option].sort(key=lambda f: f["strength"])
    return found


def _tried_forms(opt, name, info, where, found):
    """A scheme parameter compared only with other schemes (``'standard'``, ``'default'``): tried with
    the option's first flag value, the weakest clue."""
    if not opt.try_params or not opt.flag_values or any(f["class"] == name for f in found):
        return
    param = next((p for p in info.init_params if p.lower() in opt.try_params), None)
    values = sorted({v for p, v in info.flags if p == param}) if param is not None else []
    if values:
        value = opt.flag_values[0]
        found.append(make_form(
            opt, "factory", name, fmt_call(name, {param: value}),
            f"`{name}` takes `{param}` (compared with {', '.join(map(repr, values))}); tried "
            f"{param}={value!r}", where, kwargs={param: value}, confirm="fallback",
            strength=STRENGTH["fallback"], after_heading=info.after_heading))


def _coefficient_forms(opt, name, info, where, found):
    """A constructor parameter, else an extra parameter of ``backward``, that holds the option's
    coefficient: the class takes the option itself."""
    if opt.coefficient is None or any(f["class"] == name for f in found):
        return
    hyper = opt.coefficient.hyper
    coef = coefficient_param(opt, info.init_params, info.not_numbers)
    if coef is not None:
        found.append(make_form(opt, "factory", name, f"{name}(..., {coef}=...)",
                               f"`{name}` takes a parameter `{coef}`", where, hyper={hyper: coef},
                               confirm="behaves", strength=STRENGTH["param"], after_heading=info.after_heading))
        return
    coef = coefficient_param(opt, info.backward_params[2:], backward=True)
    if coef is not None:
        found.append(make_form(opt, "factory", name, f"{name}.backward(..., {coef}=...)",
                               f"`{name}.backward` takes a parameter `{coef}`", where,
                               backward_hyper={hyper: coef}, confirm="behaves",
                               strength=STRENGTH["backward"], after_heading=info.after_heading))
