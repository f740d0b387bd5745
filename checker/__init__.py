"""nncheck: grade "Your very own neural network" submissions.

The public names a plugin author needs are re-exported here:
``hookimpl`` to mark hook implementations, ``Check`` and ``Result`` to
describe checks and their verdicts.
"""
import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("nncheck")
"""Marker for nncheck hook implementations (``@nncheck.hookimpl``)."""

from nncheck.model import Check, Result, Status  # noqa: E402

__all__ = ["hookimpl", "Check", "Result", "Status", "__version__"]
