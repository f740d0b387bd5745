"""The ``nncheck`` command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nncheck import __version__
from nncheck.config import ConfigError, load_config
from nncheck.plugin_manager import PluginError


def _engine(config_path, plugin_files, data=None, isolation=None):
    from nncheck.engine import Engine

    try:
        config = load_config(config_path)
        if data:
            config.training["data"] = str(Path(data).resolve())
        return Engine(config, plugin_files, isolation=isolation)
    except (ConfigError, PluginError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


def isolation_option(help_text: str):
    from nncheck.sandbox import CHOICES

    return click.option("--isolation", type=click.Choice(CHOICES), default=None, help=help_text)


config_option = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                             help="Assignment config: nncheck.toml, or a pyproject.toml with [tool.nncheck].")
plugin_option = click.option("--plugin", "plugin_files", multiple=True,
                             type=click.Path(exists=True, dir_okay=False),
                             help="A single-file plugin to load (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nncheck")
def main():
    """Grade "Your very own neural network" submissions.

    Students: `nncheck submit my_notebook.ipynb` before you hand it in.
    Instructors: `nncheck grade submissions/ --out results/` for a class.
    """


class _Progress:
    """Progress on stderr while checks run (only when stderr is a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.total = 0
        self.done = 0

    def __call__(self, event, **kw):
        if not self.enabled:
            return
        if event == "load":
            self.total = kw.get("total", 0)
            click.echo("loading the submission...", err=True)
        elif event == "check":
            check = kw["check"]
            slow = (check.timeout or 0) > 15
            click.echo(f"\r\x1b[K[{self.done + 1}/{self.total}] {check.id}"
                       f"{' (takes a few seconds)' if slow else ''}", err=True, nl=False)
        elif event == "result":
            self.done += 1
            if self.done == self.total:
                click.echo("\r\x1b[K", err=True, nl=False)


def _submit_inputs(path, seed, secret_option, config):
    """``submit``'s seed and report ``inputs``: an explicit ``--seed`` first; else hidden inputs when a
    course secret is set (the instructor reproducing a class run's grade); else the public seed 0."""
    from nncheck.classroom.hidden import SecretError, by_seed, find_secret
    from nncheck.classroom.state import submission_digest

    if seed is not None:
        return seed, by_seed(seed)
    try:
        secret = find_secret(secret_option, config)
    except SecretError as exc:
        raise click.UsageError(str(exc)) from None
    if secret is None:
        return 0, by_seed(0)
    return secret.seed_for(submission_digest(path)), secret.inputs()


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--format", "fmt", default="text", show_default=True,
              help="Report format: text, json, html, gradescope, prairielearn, junit (plugins may add more).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to this file instead of standard output.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds each check may run; checks that train a network get proportionally "
                   "more  [default: 10, or the config's]")
@click.option("--memory", type=click.IntRange(min=16), default=None,
              help="MB of memory the submission may use  [default: 1024, or the config's]")
@click.option("--seed", type=int, default=None,
              help="Seed for the grader's inputs; the same seed gives the same grade  [default: 0, the public "
                   "inputs; with a course secret, hidden inputs drawn from it and the submission]")
@click.option("--secret", "secret_option", default=None, metavar="TEXT",
              help="The course secret graded runs draw hidden inputs from  [default: $NNCHECK_SECRET, else "
                   "the config's [grading] secret; none: public inputs]")
@click.option("--check", "only", multiple=True, help="Run only this check id or family (repeatable).")
@click.option("--data", type=click.Path(exists=True),
              help="Full MNIST for the training check: Keras' mnist.npz or a folder of the four IDX "
                   "files  [default: the embedded 5,000-digit subset]")
@config_option
@plugin_option
@isolation_option("Where the submission runs: the bubblewrap sandbox, a separate process as user "
                  "'nobody', or a plain separate process. auto takes the best available and the "
                  "report says which (see `nncheck doctor`)  [default: auto]")
@click.option("--audience", type=click.Choice(("instructor", "student")), default="instructor", show_default=True,
              help="student: leave out the checks the config's [visibility] does not make visible and trim "
                   "feedback to its [feedback] level (text, json, html, junit; the gradescope and "
                   "prairielearn formats carry both in their own fields).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def submit(path, fmt, output, timeout, memory, seed, secret_option, only, data, config_path, plugin_files,
           isolation, audience, quiet):
    """Grade one submission: a .py file, a folder of .py files, or a notebook.

    Exit status: 0 every check passed, 1 a check failed (or the submission
    could not be loaded), 2 the command was misused.
    """
    from nncheck.sandbox import IsolationError
    from nncheck.sandbox.layers import probe_in_background

    if isolation in (None, "auto", "bubblewrap"):
        probe_in_background()  # while the engine is built
    engine = _engine(config_path, plugin_files, data, isolation)
    try:
        engine.isolation  # noqa: B018 - resolve it now: a layer that cannot be had is misuse
    except IsolationError as exc:
        raise click.UsageError(str(exc)) from None
    if fmt not in engine.formats:
        raise click.UsageError(f"unknown format {fmt!r} (choose from {', '.join(sorted(engine.formats))})")
    from nncheck.engine import UnknownCheck

    try:
        engine.select(only)
    except UnknownCheck as exc:
        raise click.UsageError(str(exc)) from None
    from nncheck.report.feedback import PLATFORM_FORMATS, check_keys, for_student

    try:
        check_keys(engine.config, engine.checks)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    seed, inputs = _submit_inputs(path, seed, secret_option, engine.config)
    progress = _Progress(not quiet and fmt == "text" and sys.stderr.isatty())
    report = engine.grade(path, seed=seed, timeout=timeout, memory=memory, only=only, progress=progress,
                          inputs=inputs)
    if audience == "student" and fmt not in PLATFORM_FORMATS:
        report = for_student(report, engine.config)
    render = engine.formats[fmt]
    if fmt == "text":
        from nncheck.report.text import use_colour
        text = render(report, engine.config, colour=output is None and use_colour())
    else:
        text = render(report, engine.config)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"report written to {output} (score {report.score:g}/{report.max_score:g})", err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(report.exit_code())


@main.command()
def doctor():
    """Show which isolation layers this machine offers, and how to get the sandbox.

    nncheck runs student code in a bubblewrap sandbox when it can (Linux with
    bubblewrap installed and user namespaces allowed), else as user 'nobody'
    when run as root, else in a plain separate process. Exit status 0 when the
    sandbox is available, 1 when it is not.
    """
    from nncheck.sandbox import bubblewrap_problem, doctor_lines

    for line in doctor_lines():
        click.echo(line)
    sys.exit(0 if bubblewrap_problem() is None else 1)


@main.command("list-checks")
@config_option
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_checks(config_path, plugin_files, as_json):
    """List every check that `submit` runs, with its section and points."""
    engine = _engine(config_path, plugin_files)
    rows = [{"id": c.id, "title": c.title, "section": c.section, "points": c.points,
             "requires": list(c.requires), "plugin": c.probe.__module__} for c in engine.checks]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:<30} {r['section']:<8} {r['points']:>5g}  {r['title']}")


@main.command()
@config_option
@plugin_option
def plugins(config_path, plugin_files):
    """List the loaded plugins, where each came from, and the hooks it implements."""
    from nncheck.plugin_manager import plugin_origins

    engine = _engine(config_path, plugin_files)
    for row in plugin_origins(engine.pm):
        click.echo(f"{row['name']:<34} {row['origin']}")
        click.echo(f"{'':<34} hooks: {', '.join(row['hooks']) or '-'}")


@main.command()
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing assignment.py.")
def template(dest, force):
    """Write the student template (assignment.py with TODOs) into DEST."""
    from nncheck.cli.template import write_template

    try:
        written = write_template(dest, force=force)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from None
    for p in written:
        click.echo(f"wrote {p}")
    click.echo(f"Fill in the TODOs, then run: nncheck submit {dest}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="A readable table, or one JSON document.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Variants graded at the same time.")
@click.option("--variant", "names", multiple=True, help="Only this variant name or family (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the grader's inputs.")
@config_option
@plugin_option
def selftest(fmt, jobs, names, seed, config_path, plugin_files):
    """Grade every mutant and correct variant the plugins contribute.

    Each single-bug mutant of the reference must fail a check of its family
    and name its diagnosis; each correct variant (other styles, conventions
    and submission forms) must pass every check. Exit status 1 when a mutant
    survives or a correct variant fails.
    """
    from nncheck.answers import edition

    if edition() == "student":
        raise click.UsageError(
            "nncheck selftest is an instructor command: it grades mutants of the course's reference "
            "solution, and this student edition of nncheck holds no reference. Your instructor runs it "
            "with the full nncheck.")
    from nncheck.selftest import render_table, run_selftest

    engine = _engine(config_path, plugin_files)

    def progress(outcome):
        if fmt == "text" and sys.stderr.isatty():
            click.echo(f"  {outcome.variant.name}: {outcome.verdict}", err=True)

    result = run_selftest(engine, jobs=jobs, seed=seed, names=names, progress=progress)
    click.echo(json.dumps(result, indent=2) if fmt == "json" else render_table(result), nl=False)
    sys.exit(0 if result["ok"] else 1)

from nncheck.cli.grade import grade as _grade  # noqa: E402
main.add_command(_grade)
from nncheck.cli.autograder import autograder as _autograder  # noqa: E402
main.add_command(_autograder)
from nncheck.cli.release import release as _release  # noqa: E402
main.add_command(_release)
