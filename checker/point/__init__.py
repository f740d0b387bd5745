"""Pointing: the line of the student's own code that holds a diagnosed mistake.

A failed check says *what* is wrong (its diagnosis codes). Pointing says *where*:
it reads the definitions the check exercised and finds the line that holds the
construct the diagnosis describes, in the student's own cell or file. It runs in
the grading process, on plain data only: the loader's plan (every unit's source and
line) and the worker's ``defs`` (which code object Python actually resolved for
``Dense.backward`` and the like, following notebook redefinitions and inheritance).
Nothing of the student's runs here; the source is parsed, never executed.

How a line is found (static, from evidence):

1. The family that emits a diagnosis declares it (``nncheck_diagnoses``, a
   :class:`nncheck.model.Diagnosis`) with the definition to look in
   (``"{cls}.backward"``: a method of the class the check graded, or a function
   name) and a pointer: the construct to look for (a division by ``shape[0]`` or
   ``len(...)``, a ``.mean(`` on the bias gradient, a ``+`` where ``-`` belongs...).
   The verdict's own evidence (which of ``dW`` and ``db`` was wrong, which
   hyperparameter was ignored, which scheme the variance matches) narrows the
   search where it says more.
2. The search is over the *slice* of the wrong value (:mod:`nncheck.point.slicing`):
   starting from what the check observed (the new ``self.weights``, the returned
   gradient), every expression that feeds it is followed back through local
   variables, tuple unpacking, ``self.`` attributes, calls to the student's own
   helper methods and functions (``self._step``, ``super().__init__``, with
   arguments bound to parameters), as Python would dispatch them for the class the
   check graded: an inherited method is searched where it is defined, so a bug in
   ``Dense`` that fails ``MomentumDense`` points at ``Dense``. Branches on
   ``self.training`` are pruned when the check ran in a known mode.
3. A line is pinned only when the evidence is conclusive: exactly one line of the
   slice holds the construct (per parameter), or the whole wrong value is computed
   on one line. Anything else (two candidates, a slice that reaches code the
   analysis cannot follow, a missing statement with no home) is *not* pinned: the
   pointer then names the method and its ``def`` line (``"pinned": false``). Wrong
   pointing is worse than none.

A failed check with no declared diagnosis gets a method-level pointer when the
check names the one definition it exercises (``Check.entry``), else none.
Whole-network checks (``Check.downstream``: training, experiments) inherit the
pinned lines of the failed unit checks they build on (``"via"`` names that check).

``where`` entries: ``file`` (as the plan names it: the notebook, ``layers.py``,
``pkg/layers.py``), ``cell`` (0-based index into the notebook's cells, ``None`` for
``.py``), ``line`` (1-based within the cell or file), ``snippet`` (that line), plus
``pinned``, ``method`` (the definition, by the name of the class that defines it),
``label`` (``"cell 7"`` or the file, as the rest of the report says it) and, for a
pinned line, ``context`` (a few lines around it, for the HTML view).

Modules: :mod:`~nncheck.point.code` (the submission's definitions),
:mod:`~nncheck.point.slicing` (slices and execution order),
:mod:`~nncheck.point.context` (what a pointer gets and returns),
:mod:`~nncheck.point.constructs` (predicates and pointer builders families share),
:mod:`~nncheck.point.where` (the entry points below).
"""
from nncheck.point.code import Code, Fn
from nncheck.point.context import Ctx, Pin
from nncheck.point.where import pinned_lines, point, point_records, where_text

__all__ = ["Code", "Fn", "Ctx", "Pin", "point", "point_records", "pinned_lines", "where_text"]
