"""Loading a submission: from a .py file, a folder, a zip or a notebook to a load plan.

* :mod:`~nncheck.load.prepare`: the entry point, a submission's path to a plan
  (copying, reading sources, folders and packages, import order);
* :mod:`~nncheck.load.statements`: which top-level statements are kept;
* :mod:`~nncheck.load.notebook`: notebooks (nbformat, IPython magics, the heading rule);
* :mod:`~nncheck.load.syntax`: the one thread-safe :func:`~nncheck.load.syntax.parse`,
  and salvaging a file that does not parse;
* :mod:`~nncheck.load.plan`: the plan itself and how the worker compiles it
  (the only module of this package the sandbox sees);
* :mod:`~nncheck.load.archives`: unpacking a ``.zip`` safely.

Import names from their defining modules (the sandbox's copy of this
package has an empty ``__init__``).
"""
