"""Reference solution of "Your very own neural network" (float64 NumPy).

This package imports its own modules only relatively and never imports
``nncheck``, so the grader can also load it on its own as ``reference``.
"""
from .layers import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .network import *  # noqa: F401,F403
from .options import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from . import layers, loss, network, options, regularization

__all__ = (
    list(layers.__all__)
    + list(loss.__all__)
    + list(network.__all__)
    + list(options.__all__)
    + list(regularization.__all__)
)
