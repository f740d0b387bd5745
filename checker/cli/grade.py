"""``nncheck grade``: grade a whole class folder (see :mod:`nncheck.classroom.grading`).

Registered on the ``nncheck`` group at the end of :mod:`nncheck.cli`; this
module does not import :mod:`nncheck.cli` (so either can be imported first).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click


def _engine(config_path, plugin_files, isolation):
    from nncheck.config import ConfigError, load_config
    from nncheck.engine import Engine
    from nncheck.plugin_manager import PluginError

    from nncheck.report.feedback import check_keys

    try:
        engine = Engine(load_config(config_path), plugin_files, isolation=isolation)
        check_keys(engine.config, engine.checks)  # a typo'd key never grades a class as it did not mean
    except (ConfigError, PluginError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    return engine


def _class_isolation(requested: str | None) -> str:
    """The isolation a class is graded under: the sandbox unless told otherwise.

    Every student is a possible attacker of the others, so without bubblewrap
    ``grade`` refuses unless ``--isolation user`` or ``process`` says to go on.
    """
    from nncheck.sandbox import INSTALL_HINT, IsolationError, bubblewrap_problem, choose

    if requested in (None, "auto", "bubblewrap"):
        problem = bubblewrap_problem()
        if problem:
            raise click.UsageError(
                f"refusing to grade a class without the sandbox: {problem}. Either {INSTALL_HINT}, or "
                "accept weaker isolation with --isolation process (or --isolation user when root): "
                "then a submission can read and change what this user can, including classmates' "
                "work and reports. `nncheck doctor` tells more.")
        return "bubblewrap"
    try:
        choose(requested)
    except IsolationError as exc:
        raise click.UsageError(str(exc)) from None
    return requested


@click.command()
@click.argument("submissions", type=click.Path(exists=True))
@click.option("--out", "-o", "out", required=True, type=click.Path(file_okay=False),
              help="Folder for gradebook.csv, reports/<student>.json|html and summary.html|json.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once on this machine  [default: the number of cores]")
@click.option("--force", is_flag=True, help="Regrade every submission, even those unchanged since the last run.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Grade on a Dask cluster (e.g. tcp://10.0.0.5:8786) instead of local processes.")
@click.option("--check", "only", multiple=True, help="Run only this check id or family (repeatable).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Seconds each check may run  [default: 10, or the config's]")
@click.option("--memory", type=click.IntRange(min=16), default=None,
              help="MB of memory each submission may use  [default: 1024, or the config's]")
@click.option("--seed", type=int, default=None,
              help="Grade everyone on this seed's inputs (0: the public ones students see in their own runs)  "
                   "[default: hidden inputs, drawn for each submission from the course secret]")
@click.option("--secret", "secret_option", default=None, metavar="TEXT",
              help="The course secret hidden inputs are drawn from  [default: $NNCHECK_SECRET, else the "
                   "config's [grading] secret, else OUT/secret.txt, else a new one saved there]")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Assignment config: nncheck.toml, or a pyproject.toml with [tool.nncheck].")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A single-file plugin to load (repeatable).")
@click.option("--html/--no-html", "html_reports", default=True, show_default=True,
              help="Write reports/<student>.html too (about half a second of work per student).")
@click.option("--isolation", type=click.Choice(("auto", "bubblewrap", "user", "process")), default=None,
              help="Where submissions run. Default: the bubblewrap sandbox, and grading refuses to "
                   "start without it; 'user' or 'process' accept weaker isolation (see `nncheck doctor`).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def grade(submissions, out, jobs, force, scheduler, only, timeout, memory, seed, secret_option, config_path,
          plugin_files, html_reports, isolation, quiet):
    """Grade every submission in SUBMISSIONS, one student per entry.

    An entry is a .py file, a notebook, a folder of .py files or a .zip of
    any of these; the student id is its name without the extension. Unchanged
    submissions are skipped on a re-run (--force regrades them), and Ctrl-C
    keeps every finished report: run the command again to finish. Each
    submission is graded on hidden inputs drawn from the course secret and
    its content, so nothing a student saw in their own runs replays.

    Exit status: 0 the class was graded (whatever the students' scores),
    1 grading itself failed for some submission (run again to retry them),
    2 the command was misused, 130 interrupted.
    """
    from nncheck.classroom.executors import DaskExecutor
    from nncheck.classroom.grading import Progress, grade_class

    if not Path(submissions).is_dir():
        raise click.UsageError(f"{submissions} is a file: `nncheck grade` takes the folder of a whole class "
                               f"(one entry per student); to grade this one submission: nncheck submit {submissions}")
    isolation = _class_isolation(isolation)
    engine = _engine(config_path, plugin_files, isolation)
    from nncheck.engine import UnknownCheck

    try:
        engine.select(only)
    except UnknownCheck as exc:
        raise click.UsageError(str(exc)) from None
    src, dest = Path(submissions).resolve(), Path(out).resolve()
    if dest == src or src in dest.parents and dest.parent != src:
        raise click.UsageError("--out must not be inside a student's submission")
    from nncheck.classroom.folder import list_class_folder

    found = list_class_folder(src, exclude=[dest])
    if not found.entries:  # nothing to grade is a mistake in the command, not an empty class
        names = ", ".join(found.ignored[:5]) + (" ..." if len(found.ignored) > 5 else "")
        held = (f"; it holds only {names}, which {'is not a submission' if len(found.ignored) == 1 else 'are not submissions'}"
                if found.ignored else "; it is empty")
        raise click.UsageError(
            f"no submissions in {submissions}{held}. Give the folder that holds one entry per student: "
            "a .py file, a notebook (.ipynb), a .zip or a folder each.")
    executor = None
    if scheduler:
        try:
            executor = DaskExecutor(scheduler)
        except Exception as exc:  # noqa: BLE001 - any connection problem is the user's to fix
            raise click.UsageError(f"cannot use the Dask scheduler {scheduler}: {exc}") from None
    progress = Progress(0, enabled=not quiet)
    from nncheck.classroom.hidden import SecretError

    try:
        result = grade_class(src, dest, executor=executor, jobs=jobs or os.cpu_count(),
                             config_path=config_path, plugin_files=plugin_files, seed=seed,
                             timeout=timeout, memory=memory, only=only, force=force,
                             progress=progress, engine=engine, html_reports=html_reports,
                             isolation=isolation, secret=secret_option)
    except SecretError as exc:
        raise click.UsageError(str(exc)) from None
    except KeyboardInterrupt:
        if executor is not None:
            executor.close(cancel=True)  # drop the class's tasks still queued on the cluster
            executor = None
        click.echo(f"interrupted; finished reports are in {dest}", err=True)
        sys.exit(130)
    finally:
        if executor is not None:
            executor.close()
    c = result.summary["counts"]
    if not quiet:
        bits = [f"{c['students']} submissions", f"{len(result.graded)} graded",
                f"{len(result.skipped)} unchanged"]
        bits += [f"{c[k]} {k}" for k in ("timeout", "crashed", "load-failed") if c[k]]
        click.echo(f"{', '.join(bits)} in {result.wall_s:.1f} s", err=True)
        click.echo(f"gradebook: {dest / 'gradebook.csv'}", err=True)
        click.echo(f"summary:   {dest / 'summary.html'}", err=True)
    sys.exit(1 if result.failed else 0)
