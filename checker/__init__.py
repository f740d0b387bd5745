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

__all__ = ["hookimpl", "Check", "Result", "Status", "__version__"]
