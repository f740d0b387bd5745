"""``nncheck autograder``: build a platform's autograder, and grade on the platform.

Registered on the ``nncheck`` group at the end of :mod:`nncheck.cli`; the
work is in :mod:`nncheck.classroom.autograder`.
"""
from __future__ import annotations

import sys

import click


@click.group()
def autograder():
    """Autograders for course platforms: Gradescope and PrairieLearn (see docs/platforms.md)."""


@autograder.command("gradescope")
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the zip to upload on Gradescope's 'Configure Autograder' page.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Assignment config (points, feedback, visibility...); shipped in the zip.")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A single-file plugin to ship and load (repeatable); the modules beside it that it "
                   "imports go too.")
@click.option("--check", "only", multiple=True, help="Grade only this check id or family (repeatable).")
@click.option("--wheel", type=click.Path(exists=True, dir_okay=False),
              help="The nncheck wheel to ship  [default: built from this nncheck's source tree]")
@click.option("--secret", "secret_option", default=None, metavar="TEXT",
              help="The course secret uploads' hidden inputs are drawn from, shipped in the zip  "
                   "[default: $NNCHECK_SECRET, else the config's [grading] secret, else a new one]")
def gradescope(out, config_path, plugin_files, only, wheel, secret_option):
    """Write Gradescope's autograder zip: setup.sh, run_autograder, this nncheck's wheel, the config
    and the plugins.

    Each submission is graded in nncheck's sandbox; it can neither write
    results.json nor read the autograder's files. It is graded on hidden
    inputs, drawn from the course secret in the zip and the upload's content.
    """
    from nncheck.classroom.autograder import AutograderError, build_gradescope
    from nncheck.config import ConfigError
    from nncheck.plugin_manager import PluginError

    try:
        summary = build_gradescope(out, config_path, plugin_files, only, wheel, secret_option)
    except (AutograderError, ConfigError, PluginError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {summary['out']} ({summary['bytes'] / 1024:.0f} KB): {', '.join(summary['files'])}")
    secret = summary["secret"]
    how = {"created": "a new one", "option": "from --secret", "env": "from $NNCHECK_SECRET",
           "config": "from the config"}[secret["source"]]
    click.echo(f"Hidden inputs: course secret {secret['fingerprint']} ({how}), in the zip's nncheck-secret; "
               "keep the zip with the instructors.")
    click.echo("Upload it on Gradescope: assignment > Configure Autograder > Zip file upload.")


@autograder.command("run")
@click.argument("platform", type=click.Choice(("gradescope", "prairielearn")))
@click.option("--root", type=click.Path(file_okay=False),
              help="The platform's folder  [default: $NNCHECK_AUTOGRADER_ROOT, else /autograder "
                   "(Gradescope) or /grade (PrairieLearn)]")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Assignment config  [default: Gradescope: the zip's; PrairieLearn: ROOT/tests/nncheck.toml "
                   "when there is one]")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A single-file plugin to load (repeatable).")
@click.option("--check", "only", multiple=True, help="Grade only this check id or family (repeatable).")
def run_cmd(platform, root, config_path, plugin_files, only):
    """Grade the uploaded submission and write ROOT/results/results.json (the platform's entrypoint).

    Gradescope: `run_autograder` calls this. PrairieLearn: make it the
    external grader's entrypoint. The full report goes to stdout, which the
    platforms show to instructors.
    """
    from nncheck.classroom.autograder import run

    sys.exit(run(platform, root, config_path, plugin_files, only))
