"""Checking from a notebook: ``%load_ext nncheck``, ``%nncheck [FAMILY ...]`` and ``nncheck.check()``.

otter-grader's ``grader.check("q1")`` and nbgrader's Validate run the tests
inside the student's own kernel, where the student's code can patch them.
Here the kernel only gathers the source and shows the answer:

1. the code the kernel has run (IPython's input history of this session,
   in execution order: ``In[1]``, ``In[2]``, ...) is written to a temporary
   notebook, one cell per execution, each labelled with its ``In[n]``
   number; the lines that load or call nncheck itself are blanked (line
   numbers stay those of the cell). A markdown cell with the config's
   heading closes it, so the *latest* definition of each name is graded, as
   the kernel holds it (``--saved`` grades the saved notebook instead, under
   the usual heading rule, :mod:`nncheck.load.notebook`);
2. ``python -m nncheck submit TEMP.ipynb --format json --audience student``
   runs as a **separate process** (from a scratch folder, ``-P``: nothing
   the kernel defined or left in its folder is on its path): the same
   grader and the same sandboxed worker as ``nncheck submit``. The
   student's code never runs in the kernel's process for grading, and the
   kernel's state cannot reach the grader;
3. the kernel renders the JSON it gets back (already cut to the student
   audience: hidden checks left out, feedback trimmed, :mod:`nncheck.report.feedback`)
   as an inline HTML fragment: the score, the things to fix first on top,
   every check collapsed below.

Config: ``--config FILE``, else ``$NNCHECK_CONFIG``, else ``nncheck.toml`` in
the kernel's working folder (an instructor ships it beside the notebook).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG_VAR = "NNCHECK_CONFIG"
CONFIG_NAME = "nncheck.toml"
DEFAULT_HEADING = "Peer-reviewed assignment"

_OWN_LINE = re.compile(r"^\s*(%(load_ext|reload_ext|unload_ext)\s+nncheck\b|%%?nncheck\b)")


class NncheckError(Exception):
    """Grading could not start (nothing run yet, no such notebook, a bad option...)."""


# --------------------------------------------------------------------------
# The kernel's code, as a notebook

def _is_own_statement(node: ast.stmt) -> bool:
    """``import nncheck``, ``from nncheck import check``, ``nncheck.check(...)``, ``r = check(...)``."""
    if isinstance(node, ast.Import):
        return all(a.name == "nncheck" or a.name.startswith("nncheck.") for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] == "nncheck"
    if isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign)) and node.value is not None:
        return any(isinstance(n, ast.Name) and n.id == "nncheck" for n in ast.walk(node.value))
    return False


def clean_cell(source: str) -> str:
    """``source`` with the lines that load or call nncheck blanked, line numbers kept."""
    lines = source.splitlines()
    out = ["" if _OWN_LINE.match(line) else line for line in lines]
    probe = ["" if line.lstrip().startswith(("%", "!")) else line for line in out]
    try:
        tree = ast.parse("\n".join(probe))
    except (SyntaxError, ValueError):
        return "\n".join(out)
    for node in tree.body:
        if _is_own_statement(node):
            for i in range(node.lineno - 1, node.end_lineno or node.lineno):
                out[i] = ""
    return "\n".join(out)


def session_notebook(cells, heading: str | None = DEFAULT_HEADING) -> dict:
    """A notebook (nbformat 4, as a dict) of ``cells``: ``(execution number, source)`` pairs.

    Cells left empty by :func:`clean_cell` are dropped. The closing markdown
    cell holds ``heading``, so every cell comes before it and the last
    definition of a name counts, as in the kernel.
    """
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"},
                                                           "nncheck": {"source": "kernel history"}},
          "cells": []}
    for n, source in cells:
        text = clean_cell(source)
        if not text.strip():
            continue
        nb["cells"].append({"cell_type": "code", "id": f"in-{n}", "metadata": {}, "execution_count": n,
                            "outputs": [], "source": text})
    nb["cells"].append({"cell_type": "markdown", "id": "nncheck-end", "metadata": {},
                        "source": f"# {heading or DEFAULT_HEADING}\n(nncheck: the end of the cells this kernel ran)"})
    return nb


def kernel_cells(ip) -> list[tuple[int, str]]:
    """``(n, In[n])`` for every input this IPython session has run, in execution order."""
    hist = list(getattr(ip.history_manager, "input_hist_raw", []) or [])
    return [(n, src) for n, src in enumerate(hist) if n > 0 and isinstance(src, str) and src.strip()]


def saved_notebook(ip=None) -> Path:
    """The notebook file of this kernel: what the front end says (JupyterLab, Notebook 7 and
    VS Code do), else the only ``.ipynb`` in the working folder."""
    ns = getattr(ip, "user_ns", {}) or {}
    for cand in (ns.get("__vsc_ipynb_file__"), ns.get("__session__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(cand, str) and cand.endswith(".ipynb") and Path(cand).is_file():
            return Path(cand).resolve()
    found = sorted(Path.cwd().glob("*.ipynb"))
    if len(found) == 1:
        return found[0].resolve()
    raise NncheckError("cannot tell which notebook this is; name it: %nncheck --file my_notebook.ipynb"
                       if found else "no saved notebook in this folder; save it first, or name it with --file")


# --------------------------------------------------------------------------
# Grading, in a separate process

def find_config(config=None) -> Path | None:
    """``config``, else ``$NNCHECK_CONFIG``, else ``nncheck.toml`` in the working folder."""
    cand = config or os.environ.get(CONFIG_VAR)
    if cand:
        p = Path(cand).expanduser()
        if not p.is_file():
            raise NncheckError(f"no config file {p}")
        return p.resolve()
    p = Path.cwd() / CONFIG_NAME
    return p.resolve() if p.is_file() else None


def _heading(config: Path | None) -> str | None:
    if config is None:
        return DEFAULT_HEADING
    from nncheck.config import ConfigError, load_config

    try:
        return load_config(config).heading
    except ConfigError as exc:
        raise NncheckError(str(exc)) from None


def run_submit(path, only=(), config: Path | None = None, plugins=(), audience: str = "student",
               seed: int = 0, timeout: float | None = None) -> dict:
    """``nncheck submit PATH --format json`` in a separate process; its report as a dict."""
    cmd = [sys.executable, "-P", "-m", "nncheck", "submit", str(Path(path).resolve()), "--format", "json",
           "--audience", audience, "--seed", str(seed), "--quiet"]
    for o in only:
        cmd += ["--check", o]
    if config:
        cmd += ["--config", str(config)]
    for p in plugins:
        cmd += ["--plugin", str(Path(p).resolve())]
    if timeout:
        cmd += ["--timeout", str(timeout)]
    with tempfile.TemporaryDirectory(prefix="nncheck-run-") as cwd:
        done = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        why = (done.stderr.strip().splitlines() or [f"nncheck exited with status {done.returncode}"])[-1]
        raise NncheckError(why.removeprefix("Error: ")) from None
    if not isinstance(report, dict) or "checks" not in report:
        raise NncheckError("nncheck did not answer with a report")
    return report


# --------------------------------------------------------------------------
# What the student sees

def render_inline(report: dict, scope: str = "", seconds: float | None = None) -> str:
    """The inline HTML fragment for a report dict (``templates/notebook.html``); ``seconds``: the
    whole round trip, shown beside the time the checks took. Its curves are PNG, not the HTML
    report's SVG: Google Colab shows no SVG image (googlecolab/colabtools#2092)."""
    from nncheck.report.html import environment, fmt_num, html_model

    return environment().get_template("notebook.html").render(
        r=html_model(report, raster=True), scope=scope, seconds=fmt_num(seconds, 2) if seconds is not None else "")


@dataclass
class Feedback:
    """What :func:`check` returns: the report (as the student audience sees it) and how it was had.

    In Jupyter it shows itself as the inline report; ``print()`` gives the text report.
    """

    report: dict
    scope: str
    seconds: float

    @property
    def score(self) -> float:
        return float(self.report.get("score", 0.0))

    @property
    def max_score(self) -> float:
        return float(self.report.get("max_score", 0.0))

    @property
    def passed(self) -> bool:
        """Every check shown passed (and the code loaded)."""
        return self.report.get("exit_code", 1) == 0

    def html(self) -> str:
        return render_inline(self.report, self.scope, self.seconds)

    def _repr_html_(self) -> str:
        return self.html()

    def bundle(self) -> dict:
        """What a front end shows: the inline HTML, and the text report as ``text/plain`` (for
        nbconvert to text or PDF, a terminal front end, a notebook viewer without HTML)."""
        return {"text/html": self.html(), "text/plain": str(self)}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return self.bundle()

    def __str__(self) -> str:
        from nncheck.report.text import render_text, report_from_dict

        return render_text(report_from_dict(self.report))

    def __repr__(self) -> str:
        return f"<nncheck.Feedback {self.score:g}/{self.max_score:g} ({self.scope})>"


def _ipython():
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def check(*only: str, file=None, saved: bool = False, config=None, plugins=(), audience: str = "student",
          seed: int = 0, timeout: float | None = None) -> Feedback:
    """Grade what this notebook's kernel has run, or ``file``, outside this process.

    :param only: check ids or families (``"dense"``, ``"loss.grad"``); none: everything.
    :param file: a ``.py``, a folder or a notebook to grade instead of the kernel's code.
    :param saved: grade this kernel's saved notebook file instead of what the kernel ran.
    :param config: the assignment config (default: ``$NNCHECK_CONFIG``, else ``./nncheck.toml``).
    :param audience: ``student`` (hidden checks left out, feedback trimmed) or ``instructor``.

    Outside IPython, with no ``file``, it grades the running script (``__main__``).
    """
    t0 = time.perf_counter()
    ip = _ipython()
    cfg = find_config(config)
    what = " ".join(only) or "every check"
    if file is not None:
        target = Path(file)
        if not target.exists():
            raise NncheckError(f"no such file or folder: {target}")
        return _graded(target, only, cfg, plugins, audience, seed, timeout, f"{what} · {target.name}", t0)
    if saved:
        target = saved_notebook(ip)
        return _graded(target, only, cfg, plugins, audience, seed, timeout, f"{what} · saved {target.name}", t0)
    if ip is None:
        main = sys.modules.get("__main__")
        target = Path(getattr(main, "__file__", "") or "")
        if not target.is_file():
            raise NncheckError("not in a notebook: give the file to grade, nncheck.check(file='hw.py')")
        return _graded(target, only, cfg, plugins, audience, seed, timeout, f"{what} · {target.name}", t0)
    cells = kernel_cells(ip)
    nb = session_notebook(cells, _heading(cfg))
    if len(nb["cells"]) <= 1:
        raise NncheckError("this kernel has not run any of your code yet: run your cells first")
    numbers = [c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code"]
    scope = f"{what} · the {len(numbers)} cells this kernel ran (In [{numbers[0]}]–[{numbers[-1]}])"
    with tempfile.TemporaryDirectory(prefix="nncheck-kernel-") as tmp:
        path = Path(tmp) / "kernel.ipynb"
        path.write_text(json.dumps(nb), encoding="utf-8")
        return _graded(path, only, cfg, plugins, audience, seed, timeout, scope, t0)


def _graded(path, only, cfg, plugins, audience, seed, timeout, scope, t0) -> Feedback:
    report = run_submit(path, only, cfg, plugins, audience, seed, timeout)
    return Feedback(report, scope, time.perf_counter() - t0)


# --------------------------------------------------------------------------
# The magic

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # a bad %nncheck line is a message in the cell, not a SystemExit
        raise NncheckError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%nncheck", add_help=False, exit_on_error=False,
                description="Grade what this kernel has run, outside the kernel.")
    p.add_argument("only", nargs="*", help="check ids or families (default: every check)")
    p.add_argument("--saved", action="store_true", help="grade the saved notebook file instead")
    p.add_argument("--file", help="grade this .py, folder or notebook instead")
    p.add_argument("--config", help="assignment config (default: $NNCHECK_CONFIG, else ./nncheck.toml)")
    p.add_argument("--plugin", action="append", default=[], help="a single-file plugin (repeatable)")
    p.add_argument("--audience", choices=("student", "instructor"), default="student")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float)
    return p


def _message_html(text: str, error: bool = False) -> str:
    import html

    colour = "#cf222e" if error else "inherit"
    return (f'<div class="nncheck-nb" style="color:{colour}; font-family: system-ui, sans-serif">'
            f"<strong>nncheck</strong>: {html.escape(text)}</div>")


def _message(text: str, error: bool = False) -> dict:
    """A one-line message as a display bundle: HTML, and the same words as plain text."""
    return {"text/html": _message_html(text, error), "text/plain": f"nncheck: {text}"}


def nncheck_magic(line: str = ""):
    """``%nncheck [FAMILY_OR_ID ...] [--saved | --file PATH] [--config FILE] [--plugin FILE]``

    Grade what this kernel has run so far (or the saved notebook) in nncheck's
    sandbox, outside this kernel, and show the report here.
    """
    from IPython.display import display

    try:
        args = _parser().parse_args(shlex.split(line))
    except (argparse.ArgumentError, NncheckError, ValueError) as exc:
        display(_message(f"{exc}. Usage: %nncheck [dense ...] [--saved | --file PATH] [--config FILE]",
                         error=True), raw=True)
        return None
    handle = display(_message(f"grading {' '.join(args.only) or 'every check'} in a sandbox, outside this "
                              "kernel..."), raw=True, display_id=True)
    try:
        result = check(*args.only, file=args.file, saved=args.saved, config=args.config, plugins=args.plugin,
                       audience=args.audience, seed=args.seed, timeout=args.timeout)
    except NncheckError as exc:
        handle.update(_message(str(exc), error=True), raw=True)
        return None
    handle.update(result.bundle(), raw=True)  # text/html and text/plain: the text report
    return None


def load_ipython_extension(ip) -> None:
    """``%load_ext nncheck``: register the ``%nncheck`` line magic."""
    ip.register_magic_function(nncheck_magic, magic_kind="line", magic_name="nncheck")


def unload_ipython_extension(ip) -> None:
    ip.magics_manager.magics["line"].pop("nncheck", None)
