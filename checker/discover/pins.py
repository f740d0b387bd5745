"""Pins: a student's ``# nncheck: xavier = Dense(init="xavier")`` and the config's ``[options]`` table.

A pin says outright which code is the option, so it wins over every clue and
is graded without confirmation. :func:`parse_pin` turns its text into a form,
or into a sentence saying why it cannot (reported, never fatal).
"""
from __future__ import annotations

import ast

from nncheck.discover.candidates import STRENGTH, fmt_call, make_form
from nncheck.discover.catalogue import Catalogue
from nncheck.load.syntax import parse


def _shapes(opt) -> str:
    coef = f" or Dense.backward({opt.coefficient.hyper}=...)" if opt.coefficient is not None else ""
    return f"a class name or a call like Dense(init=\"xavier\"){coef}"


def parse_pin(catalogue: Catalogue, option: str, text: str, where: str, kind: str) -> dict | str:
    """A pin or config entry (``Dense(init="xavier")``, ``Xavier_Dense``) as a form, or why not.

    An option with a coefficient may name the parameter that holds it with ``...``
    (``Dense(l2=...)``) or pin an argument of ``backward`` (``Dense.backward(lam=...)``); any option
    may mark a parameter that holds one of its hyperparameters (``Dense(update='momentum', beta1=...)``).
    """
    option = option.lower()
    if option not in catalogue:
        return f"{where}: unknown option `{option}` (known: {', '.join(catalogue.names())})"
    opt = catalogue[option]
    try:
        expr = parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return f"{where}: `{text.strip()}` is not {_shapes(opt)}"
    if isinstance(expr, ast.Name):
        return make_form(opt, "class", expr.id, expr.id, f"pinned by {kind}", where, confirm="none",
                         strength=STRENGTH[kind], pinned=True)
    coef = opt.coefficient.hyper if opt.coefficient is not None else None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        kwargs, hyper = {}, {}
        for kw in expr.keywords:
            v = kw.value
            if isinstance(v, ast.Constant) and isinstance(v.value, str):
                kwargs[kw.arg] = v.value
            elif isinstance(v, ast.Call) and isinstance(v.func, ast.Name):
                kwargs[kw.arg] = {"object": v.func.id}
            elif isinstance(v, ast.Constant) and v.value is Ellipsis and coef:
                hyper[coef] = kw.arg
            elif isinstance(v, ast.Constant) and v.value is Ellipsis:  # `beta1=...`: holds a hyperparameter
                own = [h for h in opt.hyper if h != "learning_rate"]
                if len(own) == 1:
                    hyper[own[0]] = kw.arg
                # several (decay, epsilon): which is which is told by behaviour when the layer is built
            elif isinstance(v, ast.Constant):
                kwargs[kw.arg] = v.value
            else:
                return f"{where}: `{ast.unparse(v)}` for `{kw.arg}` must be a constant or a class call"
        cls = expr.func.id
        return make_form(opt, "factory", cls, fmt_call(cls, kwargs), f"pinned by {kind}", where,
                         kwargs=kwargs, hyper=hyper, confirm="none", strength=STRENGTH[kind], pinned=True)
    if (coef and isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "backward" and isinstance(expr.func.value, ast.Name) and len(expr.keywords) == 1
            and isinstance(expr.keywords[0].value, ast.Constant) and expr.keywords[0].value.value is Ellipsis):
        cls, name = expr.func.value.id, expr.keywords[0].arg  # Dense.backward(alpha=...)
        return make_form(opt, "factory", cls, f"{cls}.backward(..., {name}=...)", f"pinned by {kind}", where,
                         backward_hyper={coef: name}, confirm="none", strength=STRENGTH[kind], pinned=True)
    return f"{where}: `{text.strip()}` is not {_shapes(opt)}"


def pinned_forms(catalogue: Catalogue, pins, config, seen: list) -> dict:
    """``{option: form}`` of the pin comments, then the config's ``[options]`` (the config wins); a pin
    that cannot be read becomes a sentence in ``seen``."""
    pinned = {}
    entries = [(option, text, f"{label} (# nncheck: comment)", "pin") for option, text, label in pins]
    entries += [(option, str(text), "config [options]", "config")
                for option, text in (getattr(config, "options", None) or {}).items()]
    for option, text, where, kind in entries:
        form = parse_pin(catalogue, option, text, where, kind)
        if isinstance(form, str):
            seen.append(form)
        else:
            pinned[form["option"]] = form
    return pinned
