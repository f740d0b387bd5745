"""Where student code runs: a bubblewrap sandbox, or the best layer that remains.

The grading process's side of running a submission, module by module:

* :mod:`~nncheck.sandbox.layers`: the isolation layers (``bubblewrap``,
  ``user``, ``process``), which this machine offers, choosing one
  (:func:`choose`), and what ``nncheck doctor`` prints;
* :mod:`~nncheck.sandbox.bwrap`: the ``bwrap`` command line, the whole list of
  what the sandbox sees, its seccomp filter and the worker's interpreter command;
* :mod:`~nncheck.sandbox.view`: the copy of nncheck's worker side
  (:data:`~nncheck.sandbox.view.WORKER_SIDE`, written with empty package
  ``__init__.py`` files) mounted in the sandbox, and the grader's paths it must
  never see;
* :mod:`~nncheck.sandbox.cgroup`: a cgroup per sandbox (processes, memory);
* :mod:`~nncheck.sandbox.handle`: one worker process, sandboxed or not, and the
  pipes to it: starting, framing, deadlines, killing;
* :mod:`~nncheck.sandbox.session`: grading one submission in such a worker
  (:class:`~nncheck.sandbox.session.Session`).

The names other code needs about isolation are re-exported here.
"""
from nncheck.sandbox.layers import (
    BWRAP_VAR, CHOICES, INSTALL_HINT, ISOLATION_VAR, LAYERS, Isolation, IsolationError, bubblewrap_problem,
    choose, doctor_lines,
)

__all__ = ["BWRAP_VAR", "CHOICES", "INSTALL_HINT", "ISOLATION_VAR", "LAYERS", "Isolation",
           "IsolationError", "bubblewrap_problem", "choose", "doctor_lines"]
