"""Every nncheck hook, in one module (as pytest's ``hookspec.py``).

Built-in checks are plugins registered exactly like third-party ones: the
modules listed in :data:`nncheck.plugin_manager.DEFAULT_PLUGINS`, then the
``nncheck`` entry-point group, then ``--plugin FILE`` modules.
"""
import pluggy

hookspec = pluggy.HookspecMarker("nncheck")


@hookspec
def nncheck_checks(config):
    """Contribute checks. Called once per run, after the config is loaded.

    :param config: the run's :class:`nncheck.config.Config`.
    :return: a list of :class:`nncheck.model.Check`. Each probe must be a
        module-level function of an importable module (or of a ``--plugin``
        file), because the worker process looks it up by name.
    """


@hookspec
def nncheck_aliases(config):
    """Contribute class-name aliases, so an assignment's own spelling counts.

    Called once per run, before loading the submission.

    :param config: the run's :class:`nncheck.config.Config`.
    :return: a dict ``{alias: contract_name}``, e.g. ``{"Dense_reg": "L2Dense"}``.
        When a submission defines the alias but not the contract name, the
        alias's object is graded under the contract name.
    """


@hookspec
def nncheck_report_formats():
    """Contribute output formats for ``--format``.

    :return: a dict ``{name: render}`` where ``render(report, config) -> str``
        turns a :class:`nncheck.model.Report` into the text to write.
    """


@hookspec
def nncheck_selftest_variants(config):
    """Contribute submissions for ``nncheck selftest``.

    :param config: the run's :class:`nncheck.config.Config`.
    :return: a list of :class:`nncheck.selftest.Variant`: single-bug mutants
        (with the family that must fail and the diagnosis code expected) and
        correct variants (that must pass every check).
    """


@hookspec
def nncheck_diagnoses(config):
    """Contribute the diagnoses a family's verdicts name. Called once per run.

    A diagnosis carries everything the engine needs to say and show it: its
    title in reports, and where in the student's code pointing looks for the
    line that makes it. Built-in families declare theirs exactly like this.

    :param config: the run's :class:`nncheck.config.Config`.
    :return: a list of :class:`nncheck.model.Diagnosis`.
    """


@hookspec
def nncheck_options(config):
    """Contribute assignment options (or bonus layers) that students write in forms of their own.

    Called once per run, before the submission is scanned. Each option says how
    it is recognised in a student's code (names, flag values, switches) and how
    a candidate is confirmed by behaviour, so an instructor's new option is
    discovered like a built-in one.

    :param config: the run's :class:`nncheck.config.Config`.
    :return: a list of :class:`nncheck.model.Option`.
    """
