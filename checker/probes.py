"""Building blocks probes share in the worker: plain data out of student values,
and the grader's own softmax cross-entropy and ReLU for experiment loops.

Everything here is the grader's own code, imported before the submission
loads (the worker refuses ``import nncheck`` afterwards), so probes bind these
names at import time: ``from nncheck.probes import as_float_array``.
"""
from __future__ import annotations

import functools
import inspect
import types

import numpy as np


def as_float_array(x):
    """A student's value as a float64 array, ``None``, or ``{"not_array": type name}``."""
    if x is None:
        return None
    try:
        return np.array(x, dtype=np.float64)
    except Exception:  # noqa: BLE001 - anything a student may return
        return {"not_array": type(x).__name__}


def array_or_description(value):
    """A student's value as an ndarray, ``None``, or a short string saying what it was."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return np.array(value)
    try:
        return np.array(value, dtype=float)
    except Exception:  # noqa: BLE001 - a student's odd value: describe it instead
        return f"<{type(value).__name__}: {str(value)[:80]}>"


#: The grader's stand-ins for parts of the assignment (the loss gradient, a ReLU, a training step):
#: the experiments train with them so that an option is judged apart from the student's core. They
#: are working solutions, so the student edition (``nncheck release``) ships each as a stub that
#: raises, and leaves the checks that use them to the course's grader (``Check.full_edition_only``).
STAND_INS = ("softmax_ce_grad", "GraderReLU", "train_step")


def softmax_ce_grad(logits, y):
    """Mean softmax cross-entropy of ``logits`` ``[b, k]`` for labels ``y`` ``[b]``,
    and its gradient ``(softmax - onehot) / b`` ``[b, k]`` (numerically stable)."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(-np.log(np.maximum(p[rows, y].astype(np.float64), 1e-300)).mean())
    p[rows, y] -= 1.0
    return loss, p / len(y)


class GraderReLU:
    """The grader's own ReLU, so an experiment does not depend on the student's."""

    def forward(self, x):
        return np.maximum(x, 0.0)

    def backward(self, x, grad_output):
        return grad_output * (x > 0)


def train_step(layers, xb, yb, dtype=float) -> float:
    """One step of the grader's own training loop: forward through ``layers``, mean
    softmax cross-entropy, backward last to first (each layer updates itself).
    Returns the batch loss. Only the layers are the student's. ``dtype``: what the
    layers' outputs are read as (``np.float32`` for an experiment run in single precision)."""
    acts = [xb]
    for layer in layers:
        acts.append(np.asarray(call_forward(layer, acts[-1]), dtype=dtype))
    loss, grad = softmax_ce_grad(acts[-1], yb)
    for i in range(len(layers) - 1, -1, -1):
        grad = np.asarray(call_backward(layers[i], acts[i], grad), dtype=dtype)
    return loss


# --------------------------------------------------------------------------
# Calling the student's code the way the assignment does (docs/calling-conventions.md)
# --------------------------------------------------------------------------
#
# The grader calls every student function, constructor and method with the
# arguments the assignment's own call passes, nothing more. Extra parameters
# with a default are the student's business and never in the way; a parameter
# the assignment cannot fill (no default) or an argument the student's
# signature has no room for is reported as one sentence (``ConventionError``,
# which a probe decorated with :func:`reports_conventions` returns as
# ``{"signature_error": sentence}``), never as a TypeError from inside the grader.

SIGNATURE_ERROR = "signature_error"

#: How the assignment calls a layer's methods.
FORWARD = "layer.forward(input)"
BACKWARD = "layer.backward(input, grad_output)"

#: Names a constructor may give the learning rate (compared lower-case).
LR_NAMES = ("learning_rate", "lr", "eta", "learning_rate_", "learningrate", "step_size", "lr_rate")

#: Names of a boolean "training mode" parameter of ``forward``/``backward`` (compared lower-case).
TRAINING_FLAGS = ("training", "train", "is_training", "is_train", "train_mode", "training_mode")

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
_KEYWORD = (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY)


class ConventionError(Exception):
    """The student's callable cannot be called the way the assignment calls it.

    ``str(exc)`` is one sentence for the report, naming the parameter.
    """


_SIGNATURES: dict = {}  # (function, bound, what its signature is made of) -> signature


def signature_of(fn):
    """``inspect.signature(fn)``, or None when Python cannot tell (builtins, odd callables).

    A plain function's or a bound method's is kept, keyed by the function and everything
    its signature is made of (code, defaults, ``__signature__``, ``__wrapped__``): a training
    loop calls the same few methods thousands of times, and ``inspect.signature`` costs
    more than a small layer's ``forward`` (a fifth of an experiment's time, measured)."""
    func = fn.__func__ if isinstance(fn, types.MethodType) else fn
    key = None
    if isinstance(func, types.FunctionType):
        try:
            key = (func, fn is not func, func.__code__, func.__defaults__, func.__kwdefaults__,
                   func.__dict__.get("__signature__"), func.__dict__.get("__wrapped__"))
            hash(key)
        except (AttributeError, TypeError):  # an unhashable default, say: not kept
            key = None
        if key is not None and key in _SIGNATURES:
            return _SIGNATURES[key]
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    if key is not None and len(_SIGNATURES) < 4096:
        _SIGNATURES[key] = sig
    return sig


def _contract_names(contract: str) -> list[str]:
    """``"train(network, X, y)"`` -> ``["network", "X", "y"]`` (defaults dropped)."""
    return [name for name, _ in _contract_params(contract)]


@functools.lru_cache(maxsize=256)
def _contract_params(contract: str) -> tuple[tuple[str, bool], ...]:
    """``"f(a, b, shuffle=False)"`` -> ``[("a", False), ("b", False), ("shuffle", True)]``: name, optional."""
    if "(" not in contract:
        return ()
    inside = contract[contract.index("(") + 1:contract.rindex(")")]
    return tuple((part.split("=")[0].strip(), "=" in part) for part in inside.split(",") if part.strip())


def _binds(sig, args, kwargs) -> bool:
    try:
        sig.bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _plan(sig, contract, args, kwargs):
    """How to pass the contract's positional ``args`` to ``sig``: ``(positional, keywords)``.

    Positionally, as the assignment does, up to the first argument that has no
    positional slot but a parameter of its name (``*, shuffle=False``, ``*args,
    shuffle=False``) or ``**kwargs`` without ``*args``, or an optional argument
    of the contract (``shuffle=False``, ``p=0.5``: the notebook passes those by
    name) whose slot the student gave to an extra parameter while keeping one
    of the contract's name (``iterate_minibatches(inputs, targets, batchsize,
    seed=None, shuffle=False)``): from there on, by the contract's names. A
    required argument with a slot always goes by position, whatever the slot
    is called, as the assignment's own calls do.
    """
    if sig is None or not args:
        return args, kwargs
    spec = _contract_params(contract)
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    var_pos = any(p.kind is _P.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind is _P.VAR_KEYWORD for p in params)
    by_name = {p.name: p for p in params if p.kind in _KEYWORD}
    k = len(args)
    for i in range(min(len(args), len(spec))):
        name, optional = spec[i]
        if i < len(positional):
            if optional and positional[i].name != name and name in by_name:
                k = i
                break
        elif name in by_name or (var_kw and not var_pos):  # keyword-only, or **kwargs only
            k = i
            break
    if k >= min(len(args), len(spec)):
        return args, kwargs
    moved = {spec[i][0]: args[i] for i in range(k, len(args)) if i < len(spec)}
    if len(moved) != len(args) - k or set(moved) & set(kwargs) or not all(n in by_name or var_kw for n in moved):
        return args, kwargs
    planned = (tuple(args[:k]), {**kwargs, **moved})
    return planned if _binds(sig, *planned) else (args, kwargs)


def _listing(names) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def convention_problem(fn, name: str, contract: str, args=(), kwargs=None) -> str | None:
    """One sentence saying why ``fn(*args, **kwargs)`` cannot bind, or None if it can (or nobody can tell).

    ``name`` is how the report calls the student's callable (``train``,
    ``Dense.forward``); ``contract`` is the assignment's call, parameters named
    as the assignment names them (``train(network, X, y)``).
    """
    kwargs = dict(kwargs or {})
    sig = signature_of(fn)
    if sig is None:
        return None
    args, kwargs = _plan(sig, contract, tuple(args), kwargs)
    if _binds(sig, args, kwargs):
        return None
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    var_pos = any(p.kind is _P.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind is _P.VAR_KEYWORD for p in params)
    names = _contract_names(contract)
    where = f"the assignment's `{contract}`"
    if len(args) > len(positional) and not var_pos:
        extra = [names[i] if i < len(names) else f"argument {i + 1}" for i in range(len(positional), len(args))]
        return (f"`{name}` has no parameter for {_listing(extra)}, which {where} passes: "
                f"add {'it' if len(extra) == 1 else 'them'} to its parameters.")
    keyword_ok = {p.name for p in params if p.kind in _KEYWORD}
    unknown = [k for k in kwargs if k not in keyword_ok]
    if unknown and not var_kw:
        return (f"`{name}` has no parameter `{unknown[0]}`, which {where} passes: "
                f"add it to its parameters.")
    filled = {p.name for p in positional[:len(args)]} | set(kwargs)
    missing = [p.name for p in params if p.default is _P.empty
               and p.kind not in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) and p.name not in filled]
    if missing:
        return (f"`{name}` needs {_listing(missing)}, which {where} does not pass: "
                f"give {'it a default' if len(missing) == 1 else 'them defaults'}.")
    return f"`{name}` cannot be called the way {where} calls it."


def call_as_assignment(fn, name: str, contract: str, *args, **kwargs):
    """``fn(*args, **kwargs)``, as the assignment's ``contract`` call passes them.

    The arguments go positionally, except an argument the student's signature
    has no positional slot for, or an optional one whose slot went to an extra
    parameter: those go by the contract's name (see :func:`_plan`). Extra
    parameters with defaults get their defaults. If
    the call cannot even bind to ``fn``'s signature, :class:`ConventionError`
    says so in one sentence; a TypeError raised inside the student's code
    propagates unchanged.
    """
    sig = signature_of(fn)
    pos, kw = _plan(sig, contract, args, kwargs)
    try:
        return fn(*pos, **kw)
    except TypeError:
        if sig is None or _binds(sig, pos, kw):
            raise  # raised inside the student's code: not a calling-convention problem
        problem = convention_problem(fn, name, contract, args, kwargs)
        if problem is None:
            raise
        raise ConventionError(problem) from None


def _label(obj, method: str) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{getattr(cls, '__name__', 'layer')}.{method}"


def call_method(obj, method: str, contract: str, *args, **kwargs):
    """``obj.<method>(*args, **kwargs)`` through :func:`call_as_assignment`."""
    return call_as_assignment(getattr(obj, method), _label(obj, method), contract, *args, **kwargs)


def call_forward(layer, x, **flags):
    """``layer.forward(x)`` as the assignment calls it (``flags``: a training-mode keyword, see :func:`mode_flags`)."""
    return call_method(layer, "forward", FORWARD, x, **flags)


def call_backward(layer, x, grad_output, **flags):
    """``layer.backward(x, grad_output)`` as the assignment calls it."""
    return call_method(layer, "backward", BACKWARD, x, grad_output, **flags)


def construct(cls, contract: str, *args, **kwargs):
    """``cls(*args, **kwargs)`` as the assignment's ``contract`` constructs it."""
    return call_as_assignment(cls, getattr(cls, "__name__", "the class"), contract, *args, **kwargs)


def mode_flags(method, training: bool) -> dict:
    """``{name: training}`` if ``method`` takes a training-mode flag (``training=``, ``is_training=`` ...).

    A Dropout or BatchNorm whose ``forward(input, training=True)`` reads the
    flag instead of (or as well as) the ``training`` attribute is told the
    mode both ways; a method without such a parameter gets nothing.
    """
    sig = signature_of(method)
    if sig is None:
        return {}
    for p in sig.parameters.values():
        if p.kind in _KEYWORD and p.name.lower() in TRAINING_FLAGS and (
                p.default is _P.empty or p.default is None or isinstance(p.default, (bool, np.bool_))):
            return {p.name: bool(training)}
    return {}


def make_dense(cls, canonical: str, n_in: int, n_out: int, lr=None):
    """``cls(n_in, n_out[, learning rate])`` whatever the student named the rate.

    Returns ``(layer, how the rate was passed)``: ``"default"``, ``"keyword lr"``,
    ``"third positional argument"``, ``"keyword learning_rate (**kwargs)"``,
    ``"attribute learning_rate"`` or ``"not passed"``.
    """
    if lr is None:
        return construct(cls, f"{canonical}(input_units, output_units)", n_in, n_out), "default"
    contract = f"{canonical}(input_units, output_units, learning_rate=...)"
    sig = signature_of(cls)
    params = list(sig.parameters.values()) if sig is not None else []
    named = next((p for p in params if p.name.lower() in LR_NAMES and p.kind in _KEYWORD), None)
    if named is not None:
        return construct(cls, contract, n_in, n_out, **{named.name: lr}), f"keyword {named.name}"
    positional = [p for p in params if p.kind in _POSITIONAL]
    var_pos = any(p.kind is _P.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind is _P.VAR_KEYWORD for p in params)
    if var_kw and len(positional) < 3:
        # ``__init__(self, *args, **kwargs)`` handing everything to Dense: the assignment's
        # learning_rate=... is the call that works whatever Dense does with it
        try:
            return construct(cls, contract, n_in, n_out, learning_rate=lr), "keyword learning_rate (**kwargs)"
        except TypeError:
            if not var_pos:
                raise
        return construct(cls, contract, n_in, n_out, lr), "third positional argument"
    if sig is None or len(positional) >= 3 or var_pos:
        return construct(cls, contract, n_in, n_out, lr), "third positional argument"
    layer = construct(cls, f"{canonical}(input_units, output_units)", n_in, n_out)
    for name in ("learning_rate", "lr"):
        if hasattr(layer, name):
            setattr(layer, name, lr)
            return layer, f"attribute {name}"
    return layer, "not passed"


def reports_conventions(probe):
    """Decorate a probe: a :class:`ConventionError` becomes ``{"signature_error": sentence}``.

    The verdicts (wrapped by ``nncheck.verdicts.guard``) turn it into a
    failed check with that sentence.
    """
    @functools.wraps(probe)
    def wrapper(ns, inputs):
        try:
            return probe(ns, inputs)
        except ConventionError as exc:
            return {SIGNATURE_ERROR: str(exc)}
    return wrapper
