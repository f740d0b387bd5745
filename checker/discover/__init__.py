"""Option discovery: the forms in which a student wrote each option, found and applied.

What each option looks like is declared by its family (hook ``nncheck_options``,
:class:`nncheck.model.Option`); this package names none of them.

* :mod:`~nncheck.discover.catalogue`: the declared options of a run, and their labels for reports;
* :mod:`~nncheck.discover.sources`: reading a submission's code, its classes and their bases;
* :mod:`~nncheck.discover.candidates`: every candidate form of each option in those classes;
* :mod:`~nncheck.discover.pins`: a student's ``# nncheck:`` pins and the config's ``[options]``;
* :mod:`~nncheck.discover.scan`: :func:`~nncheck.discover.scan.scan`, the form chosen for each option;
* :mod:`~nncheck.discover.apply`: the option checks wired to the forms, and what reports say of them.

The worker side, which builds a form's layer in the sandbox and runs the
option's fingerprint, is :mod:`nncheck.worker.forms`.
"""
