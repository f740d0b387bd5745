"""Helpers verdicts use to read a probe's output and recognise mistakes.

Every helper either returns a clean value or raises :class:`Fail` with a
result a student can read, so a verdict reads top to bottom like the
checklist a TA would follow.
"""
from __future__ import annotations

import functools
import re

import numpy as np

from nncheck.gradient_check import rel_error
from nncheck.model import Fail, Result
from nncheck.probes import SIGNATURE_ERROR


def as_array(got, what: str, shape: tuple | None = None) -> np.ndarray:
    """``got`` as a float64 array of ``shape``, or a failure naming ``what``."""
    if got is None:
        raise Fail(Result.failed(f"{what} returned None.", hint="Did you forget a `return` statement?"))
    if isinstance(got, str):
        described = re.fullmatch(r"<(\w+): (.*)>", got, re.S)  # what array_or_description said of it
        if described and described.group(1) in ("tuple", "list"):
            raise Fail(Result.failed(
                f"{what} returned a {described.group(1)} ({described.group(2)[:60]}...), not one array.",
                hint="Return only the array asked for; keep anything else (a loss term, a cache) in an "
                     "attribute of the layer."))
        if described:
            raise Fail(Result.failed(f"{what} returned a {described.group(1)}, not an array: "
                                     f"{described.group(2)[:80]!r}"))
        raise Fail(Result.failed(f"{what} returned a string, not an array: {got[:80]!r}"))
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Fail(Result.failed(f"{what} returned something that is not a numeric array.")) from None
    if shape is not None and arr.shape != tuple(shape):
        if arr.size == int(np.prod(shape)) and arr.size > 0:
            hint = "The numbers may be right but the layout is not: check a reshape or a transpose."
        else:
            hint = "Check which axis you sum or average over, and the order of a matrix product."
        raise Fail(Result.failed(f"{what} has shape {arr.shape}, expected {tuple(shape)}.", hint=hint,
                                 expected_shape=list(shape), got_shape=list(arr.shape)))
    return arr


def require_finite(arr: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise Fail(Result.failed(f"{what} contains {bad} NaN or infinite value(s).",
                                 hint="Look for an overflow in exp() or a division by zero."))
    return arr


def allclose(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def scale_between(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The scalar ``s`` with ``got ≈ s * expected`` (least squares), if one fits well."""
    e = expected.ravel()
    g = got.ravel()
    denom = float(e @ e)
    if denom == 0.0 or g.shape != e.shape:
        return None
    s = float(g @ e) / denom
    if np.allclose(g, s * e, rtol=1e-5, atol=1e-9 * max(1.0, np.abs(g).max(initial=0))):
        return s
    return None


def near(value: float | None, target: float, rel: float = 1e-3) -> bool:
    return value is not None and abs(value - target) <= rel * abs(target)


def mismatch_details(got: np.ndarray, expected: np.ndarray, max_show: int = 64) -> dict:
    """What reports show for a wrong array: shapes, worst error, small arrays, an error map."""
    details = {"expected_shape": list(expected.shape), "got_shape": list(got.shape)}
    if got.shape == expected.shape and got.size:
        err = np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))
        details["max_rel_error"] = float(err.max())
        if err.ndim <= 2 and err.size <= 4096:
            details["rel_error_map"] = err
    if expected.size <= max_show:
        details["expected"] = expected
        details["got"] = got
    return details


def check_array(got, expected: np.ndarray, what: str, rtol: float = 1e-6, atol: float = 1e-9,
                hint: str = "") -> np.ndarray:
    """Fail unless ``got`` matches ``expected``; return it as an array otherwise."""
    arr = as_array(got, what, expected.shape)
    if not allclose(arr, expected, rtol, atol):
        err = rel_error(arr, expected)
        raise Fail(Result.failed(f"{what} is wrong (largest relative error {err:.2g}).", hint=hint,
                                 **mismatch_details(arr, expected)))
    return arr


def student_array(got, what: str, shape: tuple | None = None) -> np.ndarray:
    """:func:`as_array` for values a probe passed through :func:`nncheck.probes.as_float_array`:
    also names what the student returned when it was no numeric array."""
    if isinstance(got, dict) and "not_array" in got:
        kind = str(got["not_array"])[:40]
        raise Fail(Result.failed(f"{what} returned a {kind}, not a numeric array.",
                                 hint="Return a single NumPy array (not a tuple or a list of arrays)."))
    return as_array(got, what, shape)


def close_to_scale(got: np.ndarray, expected: np.ndarray, rtol: float) -> bool:
    """Equal up to ``rtol`` relative to the expected array's largest entry."""
    scale = float(np.abs(expected).max(initial=0.0))
    return got.shape == expected.shape and bool(
        np.allclose(got, expected, rtol=rtol, atol=rtol * max(scale, 1e-300)))


# --------------------------------------------------------------------------
# Calling conventions (docs/calling-conventions.md)
# --------------------------------------------------------------------------
SIGNATURE_HINT = ("The grader calls your code exactly as the assignment does. Extra parameters are fine "
        "when they have a default; the assignment's own parameters must stay.")


def signature_result(output) -> Result | None:
    """The failed result for a probe output that reports a calling-convention problem, else None."""
    if isinstance(output, dict) and isinstance(output.get(SIGNATURE_ERROR), str):
        return Result.failed(output[SIGNATURE_ERROR], hint=SIGNATURE_HINT)
    return None


def guard_verdict(verdict):
    """``verdict``, answering a probe's ``signature_error`` with its sentence first."""
    @functools.wraps(verdict)
    def guarded(inputs, output, *answers):
        result = signature_result(output)
        return result if result is not None else verdict(inputs, output, *answers)
    guarded.__nncheck_guarded__ = True
    return guarded


def guard(checks):
    """Wrap every check's verdict with :func:`guard_verdict` (once); returns ``checks``."""
    for check in checks:
        if not getattr(check.verdict, "__nncheck_guarded__", False):
            check.verdict = guard_verdict(check.verdict)
    return checks
