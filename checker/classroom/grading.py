"""Grade a whole class: ``nncheck grade SUBMISSIONS_DIR --out DIR``.

:mod:`nncheck.cli.grade` is a thin wrapper around :func:`grade_class`, which
puts the pieces together:

* :mod:`~nncheck.classroom.folder` lists the class folder, one
  :class:`~nncheck.classroom.folder.Entry` per student;
* :mod:`~nncheck.classroom.state` says which students a previous run already
  graded with the same submission and settings (they are skipped);
* :mod:`~nncheck.classroom.task` grades one submission
  (:func:`~nncheck.classroom.task.grade_submission`), on an executor of
  :mod:`~nncheck.classroom.executors` (a local process pool or Dask);
* :mod:`~nncheck.classroom.hidden` gives each submission its hidden inputs:
  the seed is drawn from the course secret (created on first use and kept
  in ``OUT/secret.txt``) and the submission's digest, here in the grading
  process, so the secret never travels with a task;
* every finished report is written at once, atomically, to
  ``OUT/reports/<student>.json``; the gradebook and the class summary
  (:mod:`~nncheck.classroom.gradebook`) are rebuilt from those files at the
  end of every run, including an interrupted one.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from nncheck import __version__
from nncheck.classroom.executors import Executor, LocalExecutor, PoolStopped
from nncheck.classroom.folder import Entry, list_class_folder
from nncheck.classroom.hidden import STATE_FILE, by_seed, create_secret, find_secret
from nncheck.classroom.gradebook import check_order, collect_rows, row_status, write_outputs
from nncheck.classroom.state import (
    grade_key, less_isolated, read_report, registered_plugins, report_path, settings_digest, submission_digest,
    write_atomic,
)
from nncheck.classroom.task import grade_submission, make_bundle, pack
from nncheck.report.text import report_from_dict


# ==========================================================================
# Progress
# ==========================================================================

class Progress:
    """``[ 12/40]  30%  1.9/s  ETA 0:15  alice  ok 85/85`` lines on a stream (stderr)."""

    def __init__(self, total: int, stream=None, enabled: bool = True):
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.t0 = time.monotonic()

    def say(self, text: str) -> None:
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def step(self, student: str, status: str, score=None, max_score=None) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0
        width = len(str(self.total))
        pts = f" {score:g}/{max_score:g}" if isinstance(score, (int, float)) and max_score else ""
        pct = 100 * self.done // max(self.total, 1)
        self.say(f"[{self.done:>{width}}/{self.total}] {pct:3d}%  {rate:5.2f}/s  "
                 f"ETA {_clock(left)}  {student}  {status}{pts}")


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ==========================================================================
# The class run
# ==========================================================================

@dataclass
class ClassResult:
    out: Path
    graded: list[str]        # graded in this run
    skipped: list[str]       # unchanged since a previous run
    failed: list[str]        # grading itself failed (retried next run)
    interrupted: bool
    summary: dict
    wall_s: float


def grade_class(submissions_dir, out_dir, *, executor: Executor | None = None, jobs: int | None = None,
                config_path=None, plugin_files=(), seed: int | None = None, timeout=None, memory=None, only=(),
                force: bool = False, progress: Progress | None = None, quiet: bool = True,
                engine=None, html_reports: bool = True, isolation: str | None = None,
                secret: str | None = None) -> ClassResult:
    """Grade every submission in ``submissions_dir`` into ``out_dir`` (see the module docstring).

    ``executor`` defaults to a :class:`LocalExecutor` of ``jobs`` processes
    (closed at the end; an executor passed in is left open). Per-student
    HTML reports are written when the ``html`` format is installed, unless
    ``html_reports`` is false (they take about half a second each).

    ``isolation`` is the layer every submission must run under, wherever it
    is graded (the default: ``engine``'s choice, else ``auto``). It travels
    with each task, so a Dask worker without bubblewrap fails that row
    (retried next run) instead of grading it less isolated.

    Inputs: hidden unless ``seed`` is given. Each submission's seed comes
    from the course secret and the submission's digest; the secret is
    ``secret`` (``--secret``), else ``$NNCHECK_SECRET``, else the config's
    ``[grading] secret``, else the one saved in ``OUT/secret.txt``, else a
    new one, saved there (owner-only) for the next run. A given ``seed``
    grades everyone on that seed's inputs (0: the public ones).

    Ctrl-C (SIGINT, when called from the main thread): no more grades start,
    the running ones are stopped (never recorded: they are ``pending`` and a
    re-run grades them), every finished report is kept, the gradebook and
    summary are rebuilt, and ``KeyboardInterrupt`` is raised. The signal only
    sets a flag the loop reads between results, so the outcome is the same
    whichever process a terminal's SIGINT reaches first.
    """
    t0 = time.monotonic()
    from nncheck.config import load_config
    from nncheck.engine import Engine

    config_path = str(Path(config_path).resolve()) if config_path else None
    plugin_files = [str(Path(p).resolve()) for p in plugin_files]
    only = list(only or ())
    out = Path(out_dir).resolve()
    src = Path(submissions_dir).resolve()
    engine = engine or Engine(load_config(config_path), plugin_files, isolation=isolation)
    isolation = isolation or engine.isolation_choice
    found = list_class_folder(src, exclude=[out])
    entries = found.entries
    (out / "reports").mkdir(parents=True, exist_ok=True)

    if seed is None:  # hidden inputs; raises SecretError for a secret that is set but unusable
        course = (find_secret(secret, engine.config, out / STATE_FILE)
                  or create_secret(save_to=out / STATE_FILE))
        inputs, inputs_key = course.inputs(), f"hidden:{course.fingerprint}"
    else:
        inputs, inputs_key = by_seed(seed), f"seed:{int(seed)}"
    settings_sha = settings_digest(config_path=config_path, plugin_files=plugin_files, seed=seed,
                                   timeout=timeout, memory=memory, only=only,
                                   plugins=registered_plugins(engine), inputs=inputs_key)
    subs_sha = {e.student: submission_digest(e.path) for e in entries}
    seeds = {s: seed if seed is not None else course.seed_for(h) for s, h in subs_sha.items()}
    keys = {s: grade_key(h, settings_sha) for s, h in subs_sha.items()}
    todo, skipped = [], []
    for e in entries:
        rep = None if force else read_report(out, e.student)
        if (rep is not None and (rep.get("grading") or {}).get("key") == keys[e.student]
                and not less_isolated(rep, isolation)):
            skipped.append(e.student)
        else:
            todo.append(e)
    progress = progress or Progress(len(todo), enabled=not quiet)
    progress.total = len(todo)
    html = engine.formats.get("html") if html_reports else None
    if found.ignored:
        n = len(found.ignored)
        progress.say(f"ignored {n} entr{'y that is not a submission' if n == 1 else 'ies that are not submissions'}"
                     f": {', '.join(found.ignored[:5])}{' ...' if n > 5 else ''}")
    if skipped:
        progress.say(f"{len(skipped)} unchanged since the last run, skipped (--force regrades them)")
    if seed is None:
        kept = {"created": f"new, saved in {out / STATE_FILE}", "state": f"from {out / STATE_FILE}",
                "option": "from --secret", "env": "from $NNCHECK_SECRET", "config": "from the config"}
        progress.say(f"hidden inputs: course secret {course.fingerprint} ({kept[course.source]})")
    # Reports whose HTML is missing (e.g. the html format was installed since) get it now.
    if html is not None:
        for s in skipped:
            if not (out / "reports" / f"{s}.html").exists():
                _write_html(out, s, read_report(out, s), html, engine.config)

    graded, failed = [], []
    completed = False
    own_executor = executor is None
    meta = {"submissions_dir": str(src), "out": str(out), "nncheck_version": __version__,
            "config": config_path, "plugin_files": plugin_files, "seed": seed, "inputs": inputs,
            "timeout": timeout, "memory": memory, "only": only, "settings_sha256": settings_sha,
            "ignored": found.ignored, "html_reports": html is not None, "isolation": isolation}
    inflight: dict = {}
    started: dict = {}

    def record(e: Entry, outcome) -> None:
        rep = _finish(outcome, e, keys[e.student], subs_sha[e.student], settings_sha,
                      time.monotonic() - started[e.student])
        rendered = rep.pop("rendered", None) or {}
        # HTML first: once the JSON (with its key) is there, the student counts as done.
        if "html" in rendered:
            write_atomic(out / "reports" / f"{e.student}.html", rendered["html"])
        elif "html:error" in rendered:
            progress.say(f"warning: no HTML report for {e.student}: {rendered['html:error']}")
        elif html is not None:
            _write_html(out, e.student, rep, html, engine.config)
        write_atomic(report_path(out, e.student), json.dumps(rep, indent=2, allow_nan=False) + "\n")
        (failed if (rep.get("grading") or {}).get("error") else graded).append(e.student)
        progress.step(e.student, row_status(rep), rep.get("score"), rep.get("max_score"))

    with _CtrlC() as ctrl_c:
        try:
            if todo:
                if executor is None:
                    executor = LocalExecutor(jobs, config_path, plugin_files, isolation)
                meta["executor"] = executor.description
                progress.say(f"grading {len(todo)} submission{'s' if len(todo) != 1 else ''} "
                             f"on {executor.description}")
                bundle = make_bundle(config_path, plugin_files) if executor.ships_files else None
                render = ("html",) if html is not None else ()
                queue = list(todo)
                window = max(2, 2 * executor.capacity)

                def launch():
                    while queue and len(inflight) < window and not ctrl_c.requested:
                        e = queue.pop(0)
                        if executor.ships_files:
                            args = (pack(e.path), None, (), seeds[e.student], timeout, memory, only, bundle,
                                    render, isolation, inputs)
                        else:
                            args = (str(e.path), config_path, plugin_files, seeds[e.student], timeout, memory,
                                    only, None, render, isolation, inputs)
                        inflight[executor.submit(grade_submission, *args)] = e
                        started[e.student] = time.monotonic()

                launch()
                while inflight and not ctrl_c.requested:
                    done, _ = executor.wait(list(inflight), timeout=_POLL_S)
                    ended = [(inflight.pop(fut), _outcome(fut)) for fut in done]
                    if any(kind == INTERRUPTED for _, (kind, _) in ended):
                        ctrl_c.requested = True  # an interrupt is an interrupt, whoever saw it first
                    for e, outcome in ended:
                        # Once interrupted, a failure may be the interrupt's doing: not recorded
                        # (the row stays pending). A report is genuine: kept.
                        if outcome[0] == REPORT or (outcome[0] == FAILED and not ctrl_c.requested):
                            record(e, outcome)
                    launch()
            completed = not ctrl_c.requested
        except KeyboardInterrupt:  # raised before our handler was in place, or by a caller's
            ctrl_c.requested = True
            raise
        finally:
            if own_executor and executor is not None:
                executor.close(cancel=not completed)
            if ctrl_c.requested:
                # Grades that came back while the pool stopped are finished rows too.
                for fut, e in list(inflight.items()):
                    if fut.done():
                        outcome = _outcome(fut)
                        if outcome[0] == REPORT:
                            del inflight[fut]
                            record(e, outcome)
            rows = collect_rows(out, entries, keys)
            meta["wall_s"] = round(time.monotonic() - t0, 3)
            meta["interrupted"] = ctrl_c.requested
            summary = write_outputs(out, rows, check_order(engine, only, rows), meta)
            if ctrl_c.requested:
                progress.say(f"interrupted: {len(graded)} graded in this run are saved; "
                             f"run the same command again to grade the rest")
    if ctrl_c.requested:
        raise KeyboardInterrupt
    return ClassResult(out, graded, skipped, failed, False, summary, time.monotonic() - t0)


_POLL_S = 0.2  # how often the loop looks at the Ctrl-C flag while it waits for results

REPORT, FAILED, INTERRUPTED = "report", "failed", "interrupted"


class _CtrlC:
    """While a class is graded, SIGINT only sets ``requested``; the loop acts on it.

    A ``KeyboardInterrupt`` raised wherever the main thread happens to be
    could land in code that records a result (or holds a future's lock); a
    flag cannot. Installed only in the main thread (the only one signals
    reach); the previous handler comes back on exit.
    """

    def __init__(self):
        self.requested = False
        self._installed = False
        self._previous = None

    def _note(self, signum, frame):
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._note)
                self._installed = True
            except ValueError:  # not the main interpreter
                pass
        return self

    def __exit__(self, *exc):
        if self._installed:
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
        return False


def _outcome(fut) -> tuple[str, object]:
    """How a finished task ended: ``(REPORT, report)``, ``(FAILED, exception)`` or
    ``(INTERRUPTED, exception)`` (stopped, or interrupted where it ran).

    Never raises the task's exception: a ``KeyboardInterrupt`` that ended a
    task must not pass for the caller's own.
    """
    try:
        if fut.cancelled():
            return FAILED, cf.CancelledError("the task was cancelled")
        exc = fut.exception()
        if exc is None:
            return REPORT, fut.result()
    except Exception as err:  # noqa: BLE001 - e.g. a Dask future whose result was lost
        return FAILED, err
    if isinstance(exc, (KeyboardInterrupt, PoolStopped)):
        return INTERRUPTED, exc
    return FAILED, exc


def _finish(outcome, entry: Entry, key: str, sub_sha: str, settings_sha: str, wall: float) -> dict:
    """The report of a finished task, stamped with its resume key (or a stub if grading failed)."""
    kind, value = outcome
    if kind == REPORT and isinstance(value, dict):
        rep, error = value, None
    else:
        error = (f"grading failed: {type(value).__name__}: {value}" if kind == FAILED
                 else f"grading failed: the task returned {type(value).__name__}")
        rep = {"submission": entry.path.name, "score": 0.0, "max_score": 0.0, "sections": {},
               "checks": [], "load": {"ok": False, "message": error}, "nncheck_version": __version__}
    rep["submission"] = entry.path.name
    rep["grading"] = {"student": entry.student, "entry": entry.path.name, "key": None if error else key,
                      "submission_sha256": sub_sha, "settings_sha256": settings_sha,
                      "wall_s": round(wall, 3), "error": error}
    return rep


def _write_html(out: Path, student: str, rep: dict | None, render, config) -> None:
    if rep is None or (rep.get("grading") or {}).get("error"):
        return
    try:
        text = render(report_from_dict(rep), config)
    except Exception as exc:  # noqa: BLE001 - the JSON report is the record; HTML is a view of it
        print(f"warning: could not render the HTML report of {student}: {exc!r}", file=sys.stderr)
        return
    write_atomic(out / "reports" / f"{student}.html", text)
