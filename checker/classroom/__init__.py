"""Grading a class, the platforms' autograders and Jupyter.

* :mod:`~nncheck.classroom.grading`: ``nncheck grade``, the class run, built from
  :mod:`~nncheck.classroom.folder` (the class folder's entries),
  :mod:`~nncheck.classroom.state` (reports on disk, the resume key),
  :mod:`~nncheck.classroom.task` (grading one submission),
  :mod:`~nncheck.classroom.executors` (local pool, Dask) and
  :mod:`~nncheck.classroom.gradebook` (rows, ``gradebook.csv``), with
  :mod:`~nncheck.classroom.summary` (the class summary);
* :mod:`~nncheck.classroom.autograder`: Gradescope and PrairieLearn autograders;
* :mod:`~nncheck.classroom.jupyter`: the ``%nncheck`` magic and ``nncheck.check``.
"""
