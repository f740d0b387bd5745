"""Worker side of option discovery (runs in the sandbox; see ``nncheck.discover.scan``).

The grader's static scan hands each option check a *form* in its inputs
(``inputs["_form"]``): plain data saying how the student wrote the option,
e.g. ``{"class": "Dense", "kwargs": {"init": "xavier"}}`` or
``{"class": "Xavier_Dense"}``. :func:`option_class` turns it into something
the probes can use exactly like the canonical class: a callable whose
signature has the canonical parameter names (``learning_rate``, ``alpha``,
``momentum``, ``p`` ...) and which builds the student's layer the student's
way. Before grading a form found by a weak clue, :func:`confirm` checks that
the built layer behaves like the option at all; when it does not, the probe
returns ``{"_unconfirmed": sentence}`` and the check is skipped with that
sentence, never failed.

Imports only NumPy, the standard library and ``nncheck.probes`` (worker side).
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from nncheck.probes import LR_NAMES, construct

UNCONFIRMED = "_unconfirmed"
FORM = "_form"

_P = inspect.Parameter
_KW = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)

#: The canonical signature of each option's class (what the probes introspect).
CANONICAL = {
    "xavier": ("XavierDense", ("learning_rate",)),
    "l2": ("L2Dense", ("learning_rate", "alpha")),
    "momentum": ("MomentumDense", ("learning_rate", "momentum")),
    "rmsprop": ("RMSPropDense", ("learning_rate", "decay", "epsilon")),
    "adam": ("AdamDense", ("learning_rate", "beta1", "beta2", "epsilon")),
    "dropout": ("Dropout", ("p",)),
    "batchnorm": ("BatchNorm", ()),
}

#: Names a student may give each canonical hyperparameter (compared lower-case).
HYPER_NAMES = {
    "learning_rate": LR_NAMES,
    "alpha": ("alpha", "reg", "l2", "l2_reg", "reg_coef", "lambda_", "lambd", "lamb", "lam", "lmbda",
              "l2_lambda", "reg_lambda", "lambda_reg", "reg_strength", "weight_decay", "l2_reg_factor",
              "reg_factor", "l2_coef", "regularization", "regularisation", "reg_param", "l2_alpha"),
    "momentum": ("momentum", "mu", "beta", "gamma", "rho", "momentum_rate", "m"),
    "decay": ("decay", "decay_rate", "rho", "beta", "gamma", "beta2", "rms_decay"),
    "epsilon": ("epsilon", "eps", "delta"),
    "beta1": ("beta1", "beta_1", "b1", "beta_one"),
    "beta2": ("beta2", "beta_2", "b2", "beta_two"),
}

_UNSET = object()


class Unconfirmed(Exception):
    """The discovered form cannot be built or does not behave like the option (one sentence)."""


def _params(fn):
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []


def _find(params, canon, taken=()):
    names = HYPER_NAMES.get(canon, (canon,))
    for p in params:
        if p.kind in _KW and p.name.lower() in names and p.name not in taken:
            return p.name
    return None


def _value(ns, v, hyper):
    """A form's keyword value: a constant, or ``{"object": "Adam"}`` (an optimizer object built here)."""
    if isinstance(v, dict) and "object" in v:
        cls = ns.get(v["object"])
        if cls is None:
            raise Unconfirmed(f"`{v['object']}` is not defined when the submission is loaded")
        params = _params(cls)
        kwargs = {}
        for canon, value in hyper.items():
            name = _find(params, canon, kwargs)
            if name is not None:
                kwargs[name] = value
        return cls(**kwargs)
    return v


def build(ns, form, n_in=None, n_out=None, hyper=None):
    """The student's layer for ``form``, with the canonical ``hyper`` passed under the student's names."""
    hyper = {k: v for k, v in (hyper or {}).items() if v is not _UNSET}
    target = ns.get(form["class"])
    if target is None:
        raise Unconfirmed(f"`{form['class']}` is not defined when the submission is loaded"
                          + (" (a definition after the assignment's heading is set aside)"
                             if form.get("after_heading") else ""))
    params = _params(target)
    names = {p.name for p in params}
    var_kw = any(p.kind is _P.VAR_KEYWORD for p in params)
    kwargs = {}
    for key, v in (form.get("kwargs") or {}).items():
        if key not in names and not var_kw:
            raise Unconfirmed(f"the loaded `{form['class']}` has no parameter `{key}`"
                              + (" (the definition that has it comes after the assignment's heading and is "
                                 "set aside)" if form.get("after_heading") else ""))
        kwargs[key] = _value(ns, v, hyper)
    student = dict(form.get("hyper") or {})
    leftover = {}
    for canon, value in hyper.items():
        if canon == "p" and form.get("keep"):
            kwargs[form["keep"]] = 1.0 - value
            continue
        if canon in (form.get("backward_hyper") or {}):
            continue
        name = student.get(canon)
        if name is None or name not in names:
            name = _find(params, canon, kwargs)
        if name is not None and name not in kwargs:
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
    layer = construct(target, contract, *args, **kwargs)
    for canon, value in leftover.items():  # set as an attribute when the constructor has no such parameter
        attrs = getattr(layer, "__dict__", {})
        name = next((a for a in attrs if a.lower() in HYPER_NAMES.get(canon, (canon,))), None)
        if name is not None:
            setattr(layer, name, value)
    bh = form.get("backward_hyper") or {}
    if bh:
        values = {student_name: hyper[canon] for canon, student_name in bh.items() if canon in hyper}
        if values:
            layer.backward = functools.partial(type(layer).backward, layer, **values)
    return layer


def option_class(ns, inputs, canonical):
    """What a probe uses in place of ``ns[canonical]``: the class itself, or a factory for the form."""
    form = inputs.get(FORM) if isinstance(inputs, dict) else None
    if not form:
        return ns[canonical]
    checked = form.get("confirm") in ("behaves", "xavier-variance")
    if form.get("kind") == "class" and not form.get("keep") and not form.get("hyper"):
        cls = ns.get(form["class"])
        if cls is None:
            raise Unconfirmed(f"`{form['class']}` is not defined when the submission is loaded")
        if checked:
            confirm(ns, form)
        return cls
    if checked:
        confirm(ns, form)
    option = form["option"]
    name, canon_params = CANONICAL[option]

    def factory(*args, **kwargs):
        if option == "dropout":
            p = args[0] if args else kwargs.pop("p", _UNSET)
            return build(ns, form, hyper={"p": p})
        if option == "batchnorm":
            return construct(ns[form["class"]], f"{form['class']}(units)", *args, **kwargs)
        n_in, n_out = args[0], args[1]
        rest = dict(zip(canon_params, args[2:]))
        rest.update(kwargs)
        return build(ns, form, n_in, n_out, rest)

    params = []
    if option == "dropout":
        params = [_P("p", _P.POSITIONAL_OR_KEYWORD, default=0.5)]
    elif option != "batchnorm":
        params = [_P("input_units", _P.POSITIONAL_OR_KEYWORD), _P("output_units", _P.POSITIONAL_OR_KEYWORD)]
        params += [_P(c, _P.POSITIONAL_OR_KEYWORD, default=_UNSET) for c in canon_params]
    if params:
        factory.__signature__ = inspect.Signature(params)
    factory.__name__ = factory.__qualname__ = form.get("label") or name
    # what each canonical parameter is called in the student's code, for the checks' messages
    factory.__nncheck_names__ = {**(form.get("hyper") or {}),
                                 **{c: f"{n} (of backward)" for c, n in (form.get("backward_hyper") or {}).items()}}
    return factory


# --------------------------------------------------------------------------
# Confirmation: does the built layer behave like the option at all?
# --------------------------------------------------------------------------
def confirm(ns, form):
    """Raise :class:`Unconfirmed` unless the form's layer behaves like ``form["option"]``."""
    option = form["option"]
    label = form.get("label") or form["class"]
    try:
        if option == "xavier":
            _confirm_xavier(ns, form, label)
        elif option == "l2":
            _confirm_l2(ns, form, label)
        elif option in ("momentum", "rmsprop", "adam"):
            _confirm_optimizer(ns, form, label)
    except Unconfirmed:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's code raised while we tried it
        raise Unconfirmed(f"building and trying `{label}` raised {type(exc).__name__}: {str(exc)[:120]}") from None


def _weights(layer):
    w = np.asarray(getattr(layer, "weights"), dtype=float)
    return w


def _confirm_xavier(ns, form, label):
    plain = ns.get("Dense")
    if plain is None:
        return
    baseline = form.get("baseline")  # a flag that is on by default: compared with it turned off
    other = {**form, "kwargs": {**(form.get("kwargs") or {}), **baseline}} if baseline else None
    ratios = []
    for n_in, n_out in ((400, 30), (30, 400)):
        a = _weights(build(ns, form, n_in, n_out)).var()
        b = _weights(build(ns, other, n_in, n_out) if other else
                     construct(plain, "Dense(input_units, output_units)", n_in, n_out)).var()
        if b > 0 and a > 0:
            ratios.append(abs(np.log(a / b)))
        elif a != b:
            ratios.append(np.inf)
    if ratios and max(ratios) < np.log(1.5):
        than = (f"`{_fmt(form['class'], baseline)}`" if baseline else "plain `Dense`")
        raise Unconfirmed(f"`{label}` draws its weights with the same scale as {than}: it does not look "
                          "like a different initialisation")
    if form.get("confirm") == "xavier-variance":  # the weakest clue: only a draw at a Xavier variance counts
        for n_in, n_out in ((400, 30), (30, 400)):
            var = _weights(build(ns, form, n_in, n_out)).var()
            if not any(abs(var / target - 1.0) < 0.25 for target in (2.0 / (n_in + n_out), 1.0 / n_in)):
                raise Unconfirmed(f"`{label}` draws its {n_in}x{n_out} weights with variance {var:.3g}, neither "
                                  f"Glorot's 2/(in+out) = {2.0 / (n_in + n_out):.3g} nor 1/in = {1.0 / n_in:.3g}: "
                                  "nothing says it is meant as Xavier; pin it if it is")


def _fmt(cls, kwargs):
    return f"{cls}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _step(layer, g, x):
    layer.forward(x)
    layer.backward(x, g)
    return np.asarray(layer.weights, dtype=float).copy()


def _confirm_l2(ns, form, label):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4))
    x = rng.normal(size=(5, 6))
    layer = build(ns, form, 6, 4, {"learning_rate": 0.1, "alpha": 0.1})
    layer.weights, layer.biases = W.copy(), np.zeros(4)
    after = _step(layer, np.zeros((5, 4)), x)
    if not np.all(np.isfinite(after)) or np.allclose(after, W, rtol=0, atol=1e-12):
        raise Unconfirmed(f"`{label}` with a coefficient of 0.1 leaves the weights unchanged when the loss "
                          "gradient is zero: it does not look like L2 regularisation")


def _confirm_optimizer(ns, form, label):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4))
    x = rng.normal(size=(5, 6))
    g = rng.normal(size=(5, 4)) / 5
    lr = 0.01
    layer = build(ns, form, 6, 4, {"learning_rate": lr})
    layer.weights, layer.biases = W.copy(), np.zeros(4)
    w1 = _step(layer, g, x)
    w2 = _step(layer, g, x)
    sgd = -lr * (x.T @ g)
    d1, d2 = w1 - W, w2 - w1
    if np.allclose(d1, sgd, rtol=1e-6, atol=1e-12) and np.allclose(d2, sgd, rtol=1e-6, atol=1e-12):
        raise Unconfirmed(f"`{label}` takes plain SGD steps (the same step twice for the same gradient): it "
                          "does not look like a different optimizer")
    if np.allclose(d1, 0) and np.allclose(d2, 0):
        raise Unconfirmed(f"`{label}` does not change its weights in backward")


def discovered(probe):
    """Decorate a probe: an :class:`Unconfirmed` form becomes ``{"_unconfirmed": sentence}``."""
    @functools.wraps(probe)
    def wrapper(ns, inputs):
        try:
            return probe(ns, inputs)
        except Unconfirmed as exc:
            return {UNCONFIRMED: str(exc)}
    return wrapper
