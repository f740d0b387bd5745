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
from nncheck.discover.sources import NOT_CONSTANT, chain, is_dense_like, is_layer, words
from nncheck.model import Option

#: Words in a class name that say it is something else (an L2 *norm*, a regression, a loss).
NOT_AN_OPTION = ("norm", "regress", "error", "loss", "metric", "optimizer", "initializer", "initialiser")
#: How strong each kind of evidence is (lower is stronger): candidates are tried in this order.
STRENGTH = {"pin": 0, "config": 0, "name": 1, "flag": 2, "object": 2, "param": 3, "backward": 3, "fallback": 4,
            "behaviour": 5}
#: At most this many candidates of one option are tried in the sandbox, strongest first.
MAX_CANDIDATES = 8


def make_form(opt: Option, kind, cls, label, evidence, where, info=None, **extra) -> dict:
    """A form of ``opt``: what the report says of it, and what the worker needs to build it. ``info``:
    the class definition it was read from; one the loader sets aside travels as its code."""
    if info is not None and info.set_aside and info.source:
        extra.update(source=info.source, source_where=where, line=info.line)
    if info is not None and info.kwarg_keys:  # the worker passes hyperparameters under these names too
        extra.setdefault("kwarg_keys", {k: (d if isinstance(d, (int, float)) and not isinstance(d, bool) else None)
                                        for k, d in info.kwarg_keys.items()})
    return {"option": opt.name, "kind": kind, "class": cls, "label": label, "evidence": evidence,
            "where": where, **extra, **worker_data(opt)}


def worker_data(opt: Option) -> dict:
    """The option's declaration as plain data for the sandbox (:func:`nncheck.worker.forms.option_class`)."""
    return {"canonical": opt.canonical, "layer": opt.layer, "params": list(opt.hyper),
            "names": {k: list(v) for k, v in opt.hyper_names.items()}, "fingerprint": opt.fingerprint}


def fmt_call(cls, kwargs):
    parts = []
    for k, v in kwargs.items():
        if isinstance(v, dict) and "enum" in v:
            parts.append(f"{k}={v['enum']}")
        elif isinstance(v, dict) and "settings" in v:
            parts.append(f"{k}={{{', '.join(repr(x) + ': ...' for x in v['settings'])}}}")
        else:
            parts.append(f"{k}={v['function']}" if isinstance(v, dict) and "function" in v else
                         f"{k}={v['object']}(...)" if isinstance(v, dict) else f"{k}={v!r}")
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
        not_coef = info.not_numbers | {param}  # the flag itself is never the coefficient
        coef = (coefficient_param(opt, info.init_params, not_coef)  # a flag says the option: a generic
                or coefficient_param(opt, info.init_params[2:], not_coef, backward=True))  # name counts too
        if coef is None:
            unusable.append(f"{evidence} ({where}), but it takes no parameter for {opt.coefficient.words}, so "
                            f"{opt.short_label} cannot be graded at the coefficients nncheck chooses; pin it with "
                            f"the coefficient's name: `# nncheck: {opt.name} = {name}({param}={value!r}, "
                            "<coef>=...)`")
            return None
        extra["hyper"] = {opt.coefficient.hyper: coef}
    return make_form(opt, "factory", name, fmt_call(name, {param: value}), evidence, where, info,
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
            elif opt is not None and not is_layer(name, classes) and (
                    opt.object_params or opt.layer == "dense"):
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


def candidates(catalogue: Catalogue, classes, unusable=None, functions=None) -> dict:
    """``{option: [form, ...]}``, strongest first. Sentences about option-like code that cannot be
    graded go to ``unusable``. ``functions`` (``{name: where}``, the module-level ones): a function
    named for an option, handed to a scheme parameter, is a form (:func:`_function_forms`)."""
    found: dict[str, list] = {o.name: [] for o in catalogue}
    unusable = unusable if unusable is not None else []
    objects = _named_forms(catalogue, classes, found)
    canon = catalogue.canonical()
    for name, infos in classes.items():
        info = infos[-1]
        if not is_dense_like(name, classes) or name in canon:
            continue
        where = f"{info.where}, line {info.line}"
        named = set(catalogue.named_by(name))  # a class named for an option: that option's flags are its own business
        for param, value in info.flags:
            for opt in catalogue:
                values = opt.flag_values
                if value.lower() in values and param in info.init_params and opt.name not in named:
                    baseline = None
                    default = info.init_defaults.get(param)
                    if isinstance(default, str) and default.lower() in values:
                        # on by default: plain Dense *is* the option; tried against another of its values,
                        # else against a value the code does not compare with (its `else`)
                        other = next((v for p, v in info.flags if p == param and v.lower() not in values), None)
                        baseline = {param: other if other is not None else "nncheck-other"}
                    form = _flag_form(opt, name, info, where, param, value, baseline, unusable,
                                      f"`{name}` compares its parameter `{param}` with {value!r}")
                    if form is not None:
                        found[opt.name].append(form)
        for param, member in info.enum_flags:
            for opt in catalogue:
                if member.split(".")[-1].lower() in opt.flag_values and opt.name not in named:
                    form = _flag_form(opt, name, info, where, param, {"enum": member}, None, unusable,
                                      f"`{name}` compares its parameter `{param}` with {member}")
                    if form is not None:
                        found[opt.name].append(form)
        for param in info.switches + info.int_switches:
            for option in catalogue.named_by(param):
                opt = catalogue[option]
                if not opt.switch or option in named or any(f["class"] == name for f in found[option]):
                    continue
                on, off = (True, False) if param in info.switches else (1, 0)
                form = _flag_form(opt, name, info, where, param, on, {param: off}, unusable,
                                  f"`{name}` has a switch `{param}` (default {info.init_defaults[param]})")
                if form is not None:
                    found[option].append(form)
        for param, keys in info.dict_params.items():
            for option in catalogue.named_by(param):
                if option in named or any(f["class"] == name for f in found[option]):
                    continue
                opt = catalogue[option]
                found[option].append(make_form(
                    opt, "factory", name, fmt_call(name, {param: {"settings": keys}}),
                    f"`{name}` takes the settings of {opt.short_label} as a dict `{param}`", where, info,
                    kwargs={param: {"settings": keys}}, confirm="behaves", strength=STRENGTH["flag"],
                    after_heading=info.after_heading))
        for param, value in info.backward_flags:
            for opt in catalogue:
                if value.lower() in opt.flag_values and opt.name not in named and not any(
                        f["class"] == name for f in found[opt.name]):
                    found[opt.name].append(make_form(
                        opt, "factory", name, f"{name}.backward(..., {param}={value!r})",
                        f"`{name}.backward` compares its parameter `{param}` with {value!r}", where, info,
                        backward_kwargs={param: value}, confirm="behaves", strength=STRENGTH["flag"],
                        after_heading=info.after_heading))
        if named:
            continue
        for opt in catalogue:
            _tried_forms(opt, name, info, where, found[opt.name])
        for opt in catalogue:
            _coefficient_forms(opt, name, info, where, found[opt.name])
        for option, cls in objects.items():
            opt = catalogue[option]
            param = next((p for p in info.init_params if p.lower() in opt.object_params), None)
            if param is None and not opt.object_params:  # an initialiser object: a parameter that defaults to None
                param = next((p for p in info.init_params[2:] if p in info.init_defaults
                              and info.init_defaults[p] is None), None)
            if param is None or any(f["class"] == name for f in found[option]):
                continue
            found[option].append(make_form(opt, "factory", name, f"{name}(..., {param}={cls}(...))",
                                           f"`{name}` takes `{param}` and `{cls}` is "
                                           f"{opt.object_kind or 'a class named for ' + opt.label}",
                                           where, info, kwargs={param: {"object": cls}}, confirm="behaves",
                                           strength=STRENGTH["object"], after_heading=info.after_heading))
    _function_forms(catalogue, classes, functions or {}, found)
    behaviour_forms(catalogue, classes, found)
    for option in found:
        found[option].sort(key=lambda f: f["strength"])
    return found


def _function_forms(catalogue: Catalogue, classes, functions, found) -> None:
    """``Dense(..., initializer=xavier_uniform_init)``: a module-level function whose name says an
    option that chooses a scheme (``Option.try_params``), handed to a Dense-like class's scheme
    parameter (one of those names, or a name with ``init`` in it) whose default is ``None`` or another
    function. Confirmed by the option's fingerprint, like a flag."""
    canon = catalogue.canonical()
    for opt in catalogue:
        if not opt.try_params or found[opt.name] and found[opt.name][0]["strength"] <= STRENGTH["flag"]:
            continue
        named = [f for f in functions if any(w in words(f) for w in opt.words + opt.flag_values)]
        for name, infos in classes.items():
            info = infos[-1]
            if not named or name in canon or not is_dense_like(name, classes) or info.set_aside:
                continue
            param = next((p for p in info.init_params[2:] if (p.lower() in opt.try_params or "init" in p.lower())
                          and info.init_defaults.get(p, "") in (None, NOT_CONSTANT)), None)
            if param is None:
                continue
            fn = named[0]
            found[opt.name].append(make_form(
                opt, "factory", name, f"{name}(..., {param}={fn})",
                f"`{name}` takes `{param}` and the function `{fn}` ({functions[fn]}) is named for {opt.short_label}",
                f"{info.where}, line {info.line}", info, kwargs={param: {"function": fn}}, confirm="behaves",
                strength=STRENGTH["object"], after_heading=info.after_heading))


def behaviour_forms(catalogue: Catalogue, classes, found) -> None:
    """The candidates no name or flag points at: every Dense-like class (a redefinition the loader sets
    aside too), the core ``Dense`` for an option that can be built into it, and every other value of
    every switch. Each is graded only if the option's fingerprint, run strictly, says it behaves like
    the option (``confirm="strict"``)."""
    canon = catalogue.canonical()
    dense_like, named_by = {}, {}
    for opt in catalogue:
        if opt.layer != "dense" or not opt.fingerprint:
            continue
        out = found[opt.name]
        seen = {(f["class"], repr(f.get("kwargs")), repr(f.get("backward_kwargs")), bool(f.get("source")))
                for f in out}

        def add(name, info, label, evidence, **extra):
            key = (name, repr(extra.get("kwargs")), repr(extra.get("backward_kwargs")),
                   bool(info.set_aside and info.source))
            if key in seen or len(out) >= 3 * MAX_CANDIDATES:
                return
            seen.add(key)
            where = f"{info.where}, line {info.line}"
            out.append(make_form(opt, "factory" if extra else "class", name, label, evidence, where, info,
                                 confirm="strict", strength=STRENGTH["behaviour"],
                                 after_heading=info.after_heading, **extra))

        for name, infos in classes.items():
            if name in canon or not dense_like.setdefault(name, is_dense_like(name, classes)):
                continue
            if opt.name in named_by.setdefault(name, catalogue.named_by(name)):
                continue  # its own option's evidence already
            for info in infos:
                if info.set_aside and not info.source:
                    continue
                if not info.set_aside and info is not _loaded(infos):
                    continue
                what = (f"`{name}` as redefined in {info.where}" if info.set_aside else
                        "the core `Dense`" if name == "Dense" else f"`{name}`")
                label = f"{name} (redefined, {info.where})" if info.set_aside else name
                if name != "Dense" or info.set_aside or opt.in_core:
                    add(name, info, label, f"{what} behaves like {opt.short_label}")
                for param, value in info.flags:
                    if param in info.init_params:
                        add(name, info, fmt_call(name, {param: value}),
                            f"{what} with `{param}={value!r}` behaves like {opt.short_label}", kwargs={param: value})
                for param, member in info.enum_flags:
                    add(name, info, fmt_call(name, {param: {"enum": member}}),
                        f"{what} with `{param}={member}` behaves like {opt.short_label}",
                        kwargs={param: {"enum": member}})
                for param in info.switches + info.int_switches:
                    d = info.init_defaults[param]
                    on = (not d) if isinstance(d, bool) else 1 - d
                    add(name, info, fmt_call(name, {param: on}),
                        f"{what} with `{param}={on!r}` behaves like {opt.short_label}", kwargs={param: on})
                for param, value in info.backward_flags:
                    add(name, info, f"{name}.backward(..., {param}={value!r})",
                        f"{what} with `backward(..., {param}={value!r})` behaves like {opt.short_label}",
                        backward_kwargs={param: value})


def _loaded(infos):
    """The definition of a class the loader runs (the last one not set aside)."""
    kept = [i for i in infos if not i.set_aside]
    return kept[-1] if kept else infos[-1]


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
            f"{param}={value!r}", where, info, kwargs={param: value}, confirm="fallback",
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
                               f"`{name}` takes a parameter `{coef}`", where, info, hyper={hyper: coef},
                               confirm="behaves", strength=STRENGTH["param"], after_heading=info.after_heading))
        return
    coef = coefficient_param(opt, info.backward_params[2:], backward=True)
    if coef is not None:
        found.append(make_form(opt, "factory", name, f"{name}.backward(..., {coef}=...)",
                               f"`{name}.backward` takes a parameter `{coef}`", where, info,
                               backward_hyper={hyper: coef}, confirm="behaves",
                               strength=STRENGTH["backward"], after_heading=info.after_heading))
