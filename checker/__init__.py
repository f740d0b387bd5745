"""nncheck: grade "Your very own neural network" submissions.

The public names a plugin author needs are re-exported here:
``hookimpl`` to mark hook implementations, ``Check`` and ``Result`` to
describe checks and their verdicts.
"""
import os

# One BLAS thread in the grading process: the worker runs single-threaded too, so
# reference values are computed with the same arithmetic, and on a busy 2-core
# machine a multi-threaded BLAS is slower, not faster. (Set before NumPy loads;
# an explicit setting by the user wins.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pluggy  # noqa: E402

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("nncheck")
"""Marker for nncheck hook implementations (``@nncheck.hookimpl``)."""

from nncheck.model import Check, Result, Status  # noqa: E402



def load_ipython_extension(ip):
    """``%load_ext nncheck`` in Jupyter: adds the ``%nncheck`` magic (:mod:`nncheck.classroom.jupyter`)."""
    from nncheck.classroom.jupyter import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip):
    from nncheck.classroom.jupyter import unload_ipython_extension as unload

    unload(ip)


def check(*only, **options):
    """Grade what this notebook's kernel has run (or ``file=``), in nncheck's sandbox, outside this
    process; see :func:`nncheck.classroom.jupyter.check`."""
    from nncheck.classroom.jupyter import check as run_check

    return run_check(*only, **options)


__all__ = ["hookimpl", "Check", "Result", "Status", "__version__", "check", "load_ipython_extension"]
