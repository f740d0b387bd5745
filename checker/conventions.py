"""Grader side of the calling conventions (see ``docs/calling-conventions.md``).

Probes call the student's code through :func:`nncheck.probes.call_as_assignment`
and friends; when a function, constructor or method cannot be called the way
the assignment calls it (a parameter without a default the assignment does
not pass, no room for an argument it does pass), the probe returns
``{"signature_error": sentence}`` instead of data. :func:`guard` wraps every
check's verdict so that this becomes a failed check saying exactly that,
never a TypeError from inside the grader.
"""
from __future__ import annotations

import functools

from nncheck.model import Result
from nncheck.probes import SIGNATURE_ERROR

HINT = ("The grader calls your code exactly as the assignment does. Extra parameters are fine "
        "when they have a default; the assignment's own parameters must stay.")


def signature_result(output) -> Result | None:
    """The failed result for a probe output that reports a calling-convention problem, else None."""
    if isinstance(output, dict) and isinstance(output.get(SIGNATURE_ERROR), str):
        return Result.failed(output[SIGNATURE_ERROR], hint=HINT)
    return None


def guard_verdict(verdict):
    """``verdict``, answering a probe's ``signature_error`` with its sentence first."""
    @functools.wraps(verdict)
    def guarded(inputs, output):
        result = signature_result(output)
        return result if result is not None else verdict(inputs, output)
    guarded.__nncheck_guarded__ = True
    return guarded


def guard(checks):
    """Wrap every check's verdict with :func:`guard_verdict` (once); returns ``checks``."""
    for check in checks:
        if not getattr(check.verdict, "__nncheck_guarded__", False):
            check.verdict = guard_verdict(check.verdict)
    return checks
