"""`nncheck grade`: a class folder graded in parallel, gradebook, reports, summary, resume, Dask.

One small class (7 students) is graded once with -j 2 and reused; every run
keeps to a few check families (--check) so the whole module stays fast.
"""
import concurrent.futures as cf
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from conftest import relu_source

import pytest
from click.testing import CliRunner

from nncheck.classroom.summary import build_summary, render_summary_html
from nncheck.cli import main
from nncheck.load.archives import UnsafeArchive, safe_extract
from nncheck.classroom.folder import descend, list_class_folder
from nncheck.classroom.gradebook import CRASHED, LOAD_FAILED, OK, PENDING, TIMEOUT, _cell, row_status
from nncheck.classroom.grading import grade_class
from nncheck.classroom.state import submission_digest
from nncheck.classroom.task import grade_submission, make_bundle, pack
from nncheck.variants import REFERENCE_DIR

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "submissions" / "original_notebook.ipynb"
FAMILIES = ("relu", "dense", "loss")
CHECK_ARGS = [a for f in FAMILIES for a in ("--check", f)]
DIAG = "dense-grad-divided-by-batch"

HANGING_RELU = relu_source(forward_body="while True:\n            pass")


def _variants(engine):
    return [v for group in engine.pm.hook.nncheck_selftest_variants(config=engine.config) for v in group or []]


def _single_file_reference(engine, dest: Path) -> Path:
    """The reference as one .py (the correct variant that is a single .py file)."""
    singles = [v for v in _variants(engine) if v.kind == "correct" and v.files and len(v.files) == 1
               and next(iter(v.files)).endswith(".py") and not v.families]
    if not singles:
        pytest.skip("no single-file correct variant")
    return next((v for v in singles if v.name == "form-single-py"), singles[0]).materialise(dest)


def _mutant(engine, diagnosis: str, dest: Path) -> Path:
    for v in _variants(engine):
        if v.kind == "mutant" and v.diagnosis == diagnosis and not v.files:
            return v.materialise(dest)
    pytest.skip(f"no mutant for {diagnosis}")


def _zip_folder(folder: Path, zpath: Path, top: str) -> None:
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(folder.rglob("*.py")):
            zf.write(p, f"{top}/{p.relative_to(folder).as_posix()}")


@pytest.fixture(scope="module", autouse=True)
def course_secret():
    """One course secret for every class run here, as one course's runs share it: runs into
    different --out folders draw the same hidden inputs and compare equal."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNCHECK_SECRET", "test-grade-course-secret-0123456789")
        yield


@pytest.fixture(scope="module")
def klass(tmp_path_factory, engine):
    """alice: reference folder; bob.py: one file; carol.ipynb: the original notebook; dave.zip and erin:
    the same mutant (zipped / folder); frank.py: ReLU.forward never returns; mallory.zip: path traversal."""
    root = tmp_path_factory.mktemp("class")
    scratch = tmp_path_factory.mktemp("variants")
    subs = root / "subs"
    subs.mkdir()
    shutil.copytree(REFERENCE_DIR, subs / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(_single_file_reference(engine, scratch / "single"), subs / "bob.py")
    shutil.copy(NOTEBOOK, subs / "carol.ipynb")
    _zip_folder(_mutant(engine, DIAG, scratch / "m1"), subs / "dave.zip", "dave")
    shutil.copytree(_mutant(engine, DIAG, scratch / "m2"), subs / "erin")
    (subs / "frank.py").write_text(HANGING_RELU)
    with zipfile.ZipFile(subs / "mallory.zip", "w") as zf:
        zf.writestr("../escaped.py", "x = 1\n")
    (subs / "submission_metadata.yml").write_text("not: a submission\n")
    return subs


def _grade_cli(*args):
    return CliRunner().invoke(main, ["grade", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "results"
    t0 = time.monotonic()
    result = _grade_cli(klass, "--out", out, "-j", "2", "--timeout", "1", *CHECK_ARGS)
    assert result.exit_code == 0, result.output
    return {"out": out, "output": result.output, "wall": time.monotonic() - t0}


def _gradebook(out: Path):
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["student"]: r for r in rows}


def _reports(out: Path):
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "reports").glob("*.json"))}


def _essence(report):
    """What must not depend on scheduling: statuses, scores, messages, diagnoses."""
    return (report["score"], report["max_score"], report["load"].get("ok"),
            [(c["id"], c["status"], c["score"], c["message"], c["diagnosis"]) for c in report["checks"]])


# --------------------------------------------------------------------------
# The graded class
# --------------------------------------------------------------------------

def test_gradebook_columns_and_values(graded):
    book = _gradebook(graded["out"])
    assert sorted(book) == ["alice", "bob", "carol", "dave", "erin", "frank", "mallory"]
    header = list(next(iter(book.values())))
    assert header[:7] == ["student", "status", "total", "max", "core", "options", "bonus"]
    assert {"relu.forward", "dense.backward.params", "loss.grad"} <= set(header)
    assert not any(h.startswith(("network.", "training.")) for h in header)  # --check restricts
    for s in ("alice", "bob", "carol"):
        assert book[s]["status"] == OK
        assert float(book[s]["total"]) == float(book[s]["max"]) > 0
    for s in ("dave", "erin"):
        assert book[s]["status"] == OK
        assert float(book[s]["dense.backward.params"]) == 0.0
        assert float(book[s]["dense.numerical_gradient"]) == 0.0
        assert float(book[s]["total"]) == float(book["alice"]["total"]) - 10 - 3
    assert book["frank"]["status"] == TIMEOUT
    assert float(book["frank"]["relu.forward"]) == 0.0
    assert "relu.forward" in book["frank"]["message"]
    assert book["mallory"]["status"] == LOAD_FAILED
    assert "leaves the archive" in book["mallory"]["message"]
    assert book["dave"]["entry"] == "dave.zip" and book["carol"]["entry"] == "carol.ipynb"


def test_progress_on_stderr(graded):
    out = graded["output"]
    assert "grading 7 submissions on 2 local processes" in out
    assert "[7/7] 100%" in out and "ETA" in out and "/s" in out
    assert "ignored 1 entry that is not a submission: submission_metadata.yml" in out


def test_one_json_report_per_student(graded, engine):
    reports = _reports(graded["out"])
    assert sorted(reports) == ["alice", "bob", "carol", "dave", "erin", "frank", "mallory"]
    for student, rep in reports.items():
        assert set(rep) >= {"submission", "score", "max_score", "checks", "load", "grading"}
        assert rep["grading"]["student"] == student and len(rep["grading"]["key"]) == 64
        assert rep["submission"] == rep["grading"]["entry"]
        assert {c["id"].split(".")[0] for c in rep["checks"]} == set(FAMILIES)
        assert rep["inputs"]["kind"] == "hidden" and rep["inputs"]["secret_source"] == "env"  # by default
    assert reports["dave"]["seed"] != reports["erin"]["seed"]  # the same code, zipped or not: other bytes
    assert reports["carol"]["load"]["kind"] == "notebook"
    assert reports["dave"]["load"]["ok"] and reports["dave"]["submission"] == "dave.zip"
    params = next(c for c in reports["erin"]["checks"] if c["id"] == "dense.backward.params")
    assert params["status"] == "failed" and DIAG in params["diagnosis"]
    html = sorted(p.stem for p in (graded["out"] / "reports").glob("*.html"))
    if "html" in engine.formats:
        assert html == sorted(reports)
    else:
        assert html == []


def test_summary_lists_diagnoses_with_their_students(graded):
    out = graded["out"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"students": 7, "ok": 5, "load-failed": 1, "timeout": 1, "crashed": 0,
                                 "pending": 0}
    top = summary["diagnoses"][0]
    assert top["code"] == DIAG and top["count"] == 2 and top["students"] == ["dave", "erin"]
    assert top["checks"] == ["dense.backward.params", "dense.numerical_gradient"]
    problems = {p["student"]: p["status"] for p in summary["problems"]}
    assert problems == {"frank": TIMEOUT, "mallory": LOAD_FAILED}
    assert summary["slowest"][0]["student"] == "frank"
    rates = {c["id"]: c for c in summary["checks"]}
    # alice, bob, carol pass; dave, erin (the mutant) and frank (no Dense at all) fail
    assert rates["dense.backward.params"]["passed"] == 3 and rates["dense.backward.params"]["failed"] == 3
    assert rates["loss.value"]["ran"] == 6  # mallory did not load: not counted per check
    assert rates["loss.value"]["passed"] == 5  # frank defines no loss
    assert sum(summary["scores"]["histogram"]["counts"]) == 7
    page = (out / "summary.html").read_text()
    assert DIAG in page and "dave, erin" in page
    assert "data:image/svg+xml;base64," in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_summary_escapes_everything_from_students():
    evil = '<img src=x onerror="alert(1)">'
    report = {"score": 1.0, "max_score": 2.0, "duration_s": 0.5, "load": {"ok": True}, "sections": {},
              "checks": [{"id": "relu.forward", "title": "t", "section": "core", "status": "failed",
                          "score": 0.0, "max_score": 1.0, "message": evil, "hint": evil,
                          "diagnosis": [evil]}]}
    rows = [{"student": evil, "entry": evil + ".py", "status": OK, "report": report, "message": evil}]
    page = render_summary_html(build_summary(rows, ["relu.forward"], {"ignored": [evil]}))
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_same_results_with_one_and_two_jobs(graded, klass, tmp_path):
    res = grade_class(klass, tmp_path / "j1", jobs=1, timeout=1, only=FAMILIES, html_reports=False)
    assert sorted(res.graded) == sorted(_reports(graded["out"]))
    one, two = _reports(tmp_path / "j1"), _reports(graded["out"])
    for student in two:
        assert _essence(one[student]) == _essence(two[student]), student
        assert one[student]["grading"]["key"] == two[student]["grading"]["key"]


def test_dask_local_cluster_gives_the_same_results(graded, klass, tmp_path, engine):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = _grade_cli(klass, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address,
                            "--timeout", "1", *CHECK_ARGS)  # with HTML: rendered on the Dask workers
    assert result.exit_code == 0, result.output
    assert "on Dask at" in result.output and "2 workers" in result.output
    dask, local = _reports(tmp_path / "dask"), _reports(graded["out"])
    assert sorted(dask) == sorted(local)
    for student in local:
        assert _essence(dask[student]) == _essence(local[student]), student
    assert _gradebook(tmp_path / "dask")["frank"]["status"] == TIMEOUT
    if "html" in engine.formats:
        assert len(list((tmp_path / "dask" / "reports").glob("*.html"))) == 7


def _needs_bwrap():
    from nncheck.sandbox import bubblewrap_problem
    problem = bubblewrap_problem()
    if problem:
        pytest.skip(f"needs the sandbox: {problem}")


def test_the_isolation_asked_for_travels_with_each_task(monkeypatch, tmp_path):
    """A process that grades without bubblewrap refuses when the class asked for the sandbox,
    rather than grade under a weaker layer; the same call without a demand falls back and says so."""
    import nncheck.classroom.task as task
    from nncheck.sandbox import BWRAP_VAR, IsolationError

    sub = tmp_path / "zoe.py"
    sub.write_text(relu_source())
    monkeypatch.setattr(task, "_ENGINES", {})  # no engine resolved earlier in this process
    monkeypatch.setenv(BWRAP_VAR, str(tmp_path / "no-bwrap"))
    monkeypatch.delenv("NNCHECK_ISOLATION", raising=False)
    with pytest.raises(IsolationError, match="bubblewrap"):
        grade_submission(str(sub), only=["relu"], isolation="bubblewrap")
    fallback = grade_submission(str(sub), only=["relu"])
    assert fallback["isolation"]["layer"] in ("user", "process")
    assert [c["status"] for c in fallback["checks"]] == ["passed"] * 3


def test_a_report_graded_outside_the_sandbox_is_regraded_when_the_sandbox_is_asked_for(klass, tmp_path):
    _needs_bwrap()
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(klass / "bob.py", subs / "bob.py")
    out = tmp_path / "out"
    first = grade_class(subs, out, jobs=1, only=["relu"], html_reports=False, isolation="process")
    assert first.graded == ["bob"] and read_layer(out, "bob") == "process"
    again = grade_class(subs, out, jobs=1, only=["relu"], html_reports=False, isolation="process")
    assert again.skipped == ["bob"]
    sandboxed = grade_class(subs, out, jobs=1, only=["relu"], html_reports=False, isolation="bubblewrap")
    assert sandboxed.graded == ["bob"] and read_layer(out, "bob") == "bubblewrap"
    assert grade_class(subs, out, jobs=1, only=["relu"], html_reports=False, isolation="bubblewrap").skipped == ["bob"]


def read_layer(out: Path, student: str) -> str:
    return json.loads((out / "reports" / f"{student}.json").read_text())["isolation"]["layer"]


def test_dask_workers_without_the_sandbox_refuse_instead_of_grading_unsandboxed(klass, tmp_path):
    """The grading machine has bubblewrap, its Dask workers do not: every row is a grading failure
    that names the missing sandbox (retried by the next run), and no report is a grade."""
    distributed = pytest.importorskip("distributed")
    _needs_bwrap()
    from nncheck.classroom.executors import DaskExecutor

    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(klass / "bob.py", subs / "bob.py")
    shutil.copy(klass / "frank.py", subs / "frank.py")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  env={"NNCHECK_BWRAP": str(tmp_path / "no-bwrap")}) as cluster:
        with distributed.Client(cluster) as client:
            res = grade_class(subs, tmp_path / "out", executor=DaskExecutor(client=client), only=["relu"],
                              timeout=1, html_reports=False, isolation="bubblewrap")
            assert sorted(res.failed) == ["bob", "frank"] and res.graded == []
            # the same workers grade when weaker isolation is accepted explicitly
            ok = grade_class(subs, tmp_path / "out2", executor=DaskExecutor(client=client), only=["relu"],
                             timeout=1, html_reports=False, isolation="process")
            assert sorted(ok.graded) == ["bob", "frank"]
    for student in ("bob", "frank"):
        error = json.loads((tmp_path / "out" / "reports" / f"{student}.json").read_text())["grading"]["error"]
        assert "IsolationError" in error and "bubblewrap" in error, error
        rep = json.loads((tmp_path / "out2" / "reports" / f"{student}.json").read_text())
        assert rep["isolation"]["layer"] == "process"
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["meta"]["isolation"] == "bubblewrap"


# --------------------------------------------------------------------------
# Resuming
# --------------------------------------------------------------------------

def test_rerun_skips_unchanged_and_force_regrades(klass, tmp_path, engine):
    subs = tmp_path / "subs"
    shutil.copytree(klass, subs)
    out = tmp_path / "out"
    first = grade_class(subs, out, jobs=2, timeout=1, only=["relu"], html_reports=False)
    assert len(first.graded) == 7 and first.skipped == []
    assert not list((out / "reports").glob("*.html"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")}

    again = grade_class(subs, out, jobs=2, timeout=1, only=["relu"])
    assert again.graded == [] and len(again.skipped) == 7
    assert {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("*.json")} == mtimes
    assert len(_gradebook(out)) == 7
    if "html" in engine.formats:  # HTML reports missing from the first run are written from the JSON
        assert len(list((out / "reports").glob("*.html"))) == 7

    os.utime(subs / "alice" / "layers.py")                     # touched, same bytes: still skipped
    with open(subs / "bob.py", "a") as f:                      # edited: regraded
        f.write("\n# a late fix\n")
    edited = grade_class(subs, out, jobs=2, timeout=1, only=["relu"], html_reports=False)
    assert edited.graded == ["bob"] and len(edited.skipped) == 6

    other_seed = grade_class(subs, out, jobs=2, timeout=1, only=["relu"], seed=1,  # settings are in the key
                             html_reports=False)
    assert len(other_seed.graded) == 7

    result = _grade_cli(subs, "--out", out, "-j", "2", "--timeout", "1", "--check", "relu", "--seed", "1",
                        "--force", "--no-html")
    assert result.exit_code == 0
    assert "grading 7 submissions" in result.output and "unchanged" not in result.output.split("grading")[0]


def _processes_under(folder: Path):
    left = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/cwd").startswith(str(folder)):
                    left.append(int(pid))
            except OSError:
                pass
    return left


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: state, ppid, pgrp, session, ...; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _all_stats() -> dict[int, list[str]]:
    stats = {int(p): _stat(int(p)) for p in os.listdir("/proc") if p.isdigit()}
    return {pid: st for pid, st in stats.items() if st is not None}


def _group_members(pgid: int) -> list[int]:
    return [pid for pid, st in _all_stats().items() if int(st[2]) == pgid and st[0] not in "ZX"]


def _pool_processes(cli: int) -> list[int]:
    """The pool's processes: the children of the command's forkserver (or its spawned children)."""
    stats = _all_stats()
    pool = []
    for pid, st in stats.items():
        if int(st[1]) != cli:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"forkserver" in cmdline:
            pool += [q for q, qst in stats.items() if int(qst[1]) == pid]
        elif b"spawn_main" in cmdline:
            pool.append(pid)
    return pool


@pytest.mark.parametrize("ctrl_c", ["group", "parent", "pool-first"])
def test_ctrl_c_keeps_finished_rows_and_rerun_finishes(klass, tmp_path, ctrl_c):
    """Ctrl-C exits 130, keeps every finished row, leaves the rest pending and none crashed, whichever
    process gets the SIGINT first. group: what a terminal does (the whole foreground process group);
    parent: `kill -INT` of the command alone; pool-first: the pool's processes and everything else in
    the group get it half a second before the command (the race that once marked the remaining
    students crashed and exited 1)."""
    subs = tmp_path / "subs"
    shutil.copytree(klass, subs)
    out = tmp_path / "out"
    # every temporary folder of the run (and its workers' cwd) is in here; a short path, as the pool's
    # forkserver binds a unix socket in it (108 bytes at most; xdist's tmp_path is deeper)
    scratch = Path(tempfile.mkdtemp(prefix="nncc-"))
    env = dict(os.environ, TMPDIR=str(scratch))
    cmd = [sys.executable, "-m", "nncheck", "grade", str(subs), "--out", str(out), "-j", "1",
           "--timeout", "1", "--check", "relu", "--check", "dense", "--no-html"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)  # its own process group, as under a terminal
    deadline = time.monotonic() + 60
    while not list((out / "reports").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    pool = _pool_processes(proc.pid)
    assert pool and not set(pool) & set(_group_members(proc.pid))  # out of a terminal's reach
    if ctrl_c == "group":
        os.killpg(proc.pid, signal.SIGINT)
    elif ctrl_c == "parent":
        os.kill(proc.pid, signal.SIGINT)
    else:
        for pid in set(pool) | set(_group_members(proc.pid)) - {proc.pid}:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err

    finished = sorted(p.stem for p in (out / "reports").glob("*.json"))
    assert 1 <= len(finished) < 7, err
    for student in finished:  # graded for real: no grading error, a resume key
        grading = json.loads((out / "reports" / f"{student}.json").read_text())["grading"]
        assert grading["error"] is None and grading["key"], (student, grading)
    book = _gradebook(out)
    assert len(book) == 7
    for student, row in book.items():
        assert row["status"] != CRASHED, (student, row, err)
        if student in finished:
            assert row["status"] != PENDING and row["total"] != ""
        else:
            assert row["status"] == PENDING and row["total"] == ""
    counts = json.loads((out / "summary.json").read_text())["counts"]
    assert counts["pending"] == 7 - len(finished) and counts["crashed"] == 0
    time.sleep(0.3)
    assert _processes_under(scratch) == []  # no worker left behind
    assert [pid for pid in pool if (_stat(pid) or ["X"])[0] not in "ZX"] == []  # nor a pool process
    assert not list((out / "reports").glob(".*.tmp"))

    rest = grade_class(subs, out, jobs=2, timeout=1, only=["relu", "dense"], html_reports=False)
    assert sorted(rest.skipped) == finished
    assert sorted(rest.graded) == sorted(set(book) - set(finished))
    assert all(r["status"] != PENDING for r in _gradebook(out).values())
    shutil.rmtree(scratch, ignore_errors=True)


class _ScriptedExecutor:
    """Futures that end as scripted, in submission order: a report, or an exception."""

    capacity, ships_files, description = 2, False, "scripted"

    def __init__(self, script):
        self.script = list(script)

    def submit(self, fn, *args):
        fut = cf.Future()
        what = self.script.pop(0)
        if isinstance(what, BaseException):
            fut.set_exception(what)
        else:
            fut.set_result({"submission": Path(args[0]).name, "score": 1.0, "max_score": 1.0,
                            "sections": {}, "checks": [], "load": {"ok": True}, "duration_s": 0.1})
        return fut

    def wait(self, futures, timeout=None):
        return set(futures), set()

    def close(self, cancel=False):
        pass


def test_a_task_ended_by_an_interrupt_interrupts_the_run(tmp_path, engine):
    """A KeyboardInterrupt from where a grade ran is the run's interrupt: exit as interrupted; a failure
    seen with it (the pool broken by the same Ctrl-C) is not a crashed row; the finished reports stay."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in "abcd":
        (subs / f"{name}.py").write_text("x = 1\n")
    out = tmp_path / "out"
    script = ["report", KeyboardInterrupt(), BrokenProcessPool("a pool process died"), "report"]
    with pytest.raises(KeyboardInterrupt):
        grade_class(subs, out, executor=_ScriptedExecutor(script), only=["relu"], engine=engine,
                    html_reports=False)
    book = _gradebook(out)
    assert {s: r["status"] for s, r in book.items()} == {"a": OK, "b": PENDING, "c": PENDING, "d": OK}
    assert sorted(p.stem for p in (out / "reports").glob("*.json")) == ["a", "d"]
    assert json.loads((out / "summary.json").read_text())["meta"]["interrupted"] is True


# --------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------

def test_class_folder_ids_and_ignored_entries(tmp_path):
    for name in ("ann.py", "ann.ipynb", "bo.ZIP", "notes.pdf", ".hidden.py", "__MACOSX"):
        (tmp_path / name).mkdir() if name == "__MACOSX" else (tmp_path / name).write_text("x")
    (tmp_path / "cy").mkdir()
    (tmp_path / "results").mkdir()
    found = list_class_folder(tmp_path, exclude=[tmp_path / "results"])
    assert [(e.student, e.kind) for e in found.entries] == [
        ("ann.ipynb", "ipynb"), ("ann.py", "py"), ("bo", "zip"), ("cy", "folder")]
    assert found.ignored == ["notes.pdf"]


def test_submission_digest_is_about_contents(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    (a / "layers.py").write_text("x = 1\n")
    d0 = submission_digest(a)
    (a / "__pycache__").mkdir()
    (a / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"junk")
    os.utime(a / "layers.py", (0, 0))
    assert submission_digest(a) == d0
    (a / "layers.py").rename(a / "model.py")
    assert submission_digest(a) != d0
    (a / "model.py").write_text("x = 2\n")
    assert submission_digest(a) != d0


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("members, why", [
    ({"../x.py": "x"}, "leaves the archive"),
    ({"a/../../x.py": "x"}, "leaves the archive"),
    ({"/etc/x.py": "x"}, "absolute path"),
    ({"C:\\x.py": "x"}, "absolute path"),
    ({f"f{i}.py": "" for i in range(30)}, "entries"),
    ({"big.py": "#" * 5000}, "MB"),
    ({}, "empty"),
])
def test_safe_extract_refuses(tmp_path, members, why):
    z = _zip(tmp_path / "s.zip", members)
    with pytest.raises(UnsafeArchive, match=why):
        safe_extract(z, tmp_path / "dest", max_bytes=4096, max_members=20)
    assert not (tmp_path / "x.py").exists()


def test_safe_extract_refuses_symlinks_and_lying_headers(tmp_path):
    z = tmp_path / "l.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("link.py")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        safe_extract(z, tmp_path / "d1")
    bomb = _zip(tmp_path / "bomb.zip", {"a.py": "0" * (3 << 20)})  # inflates ~1000x
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        safe_extract(bomb, tmp_path / "d2")


def test_safe_extract_layouts(tmp_path):
    nested = _zip(tmp_path / "n.zip", {"alice/layers.py": "x", "alice/network.py": "y",
                                       "__MACOSX/alice/._layers.py": "junk", "alice/.DS_Store": ""})
    root = safe_extract(nested, tmp_path / "n")
    assert root.name == "alice" and sorted(p.name for p in root.iterdir()) == ["layers.py", "network.py"]
    single = _zip(tmp_path / "s.zip", {"hw/homework.ipynb": "{}"})
    assert safe_extract(single, tmp_path / "s").name == "homework.ipynb"
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / "a.py").write_text("a")
    packed = pack(folder)
    assert safe_extract(packed["data"], tmp_path / "p").name == "a.py"


def test_folder_holding_one_folder_is_graded_as_it(tmp_path):
    inner = tmp_path / "alice" / "ps1"  # nbgrader: submitted/<student>/<assignment>/
    inner.mkdir(parents=True)
    (inner / "hw.ipynb").write_text("{}")
    (tmp_path / "alice" / ".ipynb_checkpoints").mkdir()
    assert descend(tmp_path / "alice") == inner
    (tmp_path / "alice" / "README.md").write_text("x")
    assert descend(tmp_path / "alice") == tmp_path / "alice"


def test_shipped_submission_and_config_grade_like_local_files(tmp_path):
    """What a Dask worker without the instructor's files gets: everything as data."""
    sub = tmp_path / "zoe"
    sub.mkdir()
    (sub / "layers.py").write_text("import numpy as np\nclass ReLU:\n"
                                   "    def forward(self, x): return np.maximum(x, 0)\n"
                                   "    def backward(self, x, g): return g * (x > 0)\n")
    config = tmp_path / "nncheck.toml"
    config.write_text('[points]\n"relu.forward" = 7\n')
    local = grade_submission(str(sub), str(config), (), 0, None, None, ["relu"])
    shipped = grade_submission(pack(sub), None, (), 0, None, None, ["relu"], make_bundle(config))
    assert local["submission"] == shipped["submission"] == "zoe"
    assert _essence(local) == _essence(shipped)
    assert {c["id"]: c["max_score"] for c in shipped["checks"]}["relu.forward"] == 7
    assert [c["status"] for c in shipped["checks"]] == ["passed", "passed", "passed"]


def test_row_status():
    ok_check = {"id": "relu.forward", "status": "failed", "message": "wrong", "incident": ""}
    assert row_status({"load": {"ok": True}, "checks": [ok_check]}) == OK
    assert row_status({"load": {"ok": False, "message": "x.py is not Python"}}) == LOAD_FAILED
    assert row_status({"load": {"ok": False, "message": "took too long", "incident": "timeout"}}) == TIMEOUT
    assert row_status({"load": {"ok": False, "message": "ended", "incident": "crash"}}) == CRASHED
    crash = {"id": "dense.forward", "status": "error", "message": "segfault", "incident": "crash"}
    assert row_status({"load": {"ok": True}, "checks": [ok_check, crash]}) == CRASHED
    raised = {"id": "dense.forward", "status": "error", "message": "your code raised", "incident": ""}
    assert row_status({"load": {"ok": True}, "checks": [raised]}) == OK
    assert row_status({"load": {"ok": True}, "checks": [{"status": "timeout", "incident": "timeout"}]}) == TIMEOUT
    assert row_status({"grading": {"error": "grading failed: OSError"}}) == CRASHED


def test_csv_cells_cannot_be_formulas():
    assert _cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert _cell("+1") == "'+1" and _cell("alice") == "alice" and _cell(None) == ""


def test_grade_usage_errors(tmp_path):
    (tmp_path / "subs").mkdir()
    result = _grade_cli(tmp_path / "subs", "--out", tmp_path / "o", "--check", "nope")
    assert result.exit_code == 2 and "no such check" in result.output
    assert _grade_cli(tmp_path / "missing", "--out", tmp_path / "o").exit_code == 2
    assert "grade" in CliRunner().invoke(main, ["--help"]).output


# --------------------------------------------------------------------------
# The gradebook and the summary say what happened

def test_gradebook_leaves_not_attempted_empty_and_failed_zero():
    """0.0 stood both for "did not attempt" and "attempted and failed": not attempted is now an
    empty cell (docs/platforms.md says so), a check that ran and failed is 0."""
    from nncheck.classroom.gradebook import gradebook_rows

    def c(cid, section, status, message="", score=0.0):
        return {"id": cid, "section": section, "status": status, "score": score, "max_score": 5.0,
                "message": message}
    report = {"score": 5.0, "max_score": 20.0, "duration_s": 1.0, "load": {"ok": True},
              "sections": {"core": {"score": 5.0, "attempted": ["relu"]},
                           "options": {"score": 0.0, "attempted": ["l2"], "counted": ["l2"]},
                           "bonus": {"score": 0.0, "attempted": [], "counted": []}},
              "checks": [c("relu.forward", "core", "passed", score=5.0), c("relu.backward", "core", "failed", "off"),
                         c("l2.grad", "options", "failed", "wrong"),
                         c("xavier.init", "options", "skipped", "not attempted: no XavierDense in the submission"),
                         c("dropout.mask", "bonus", "skipped", "not attempted: no Dropout in the submission")]}
    ids = [x["id"] for x in report["checks"]]
    header, (row,) = gradebook_rows([{"student": "ann", "status": OK, "entry": "ann.py", "report": report}], ids)
    cell = dict(zip(header, row))
    assert cell["relu.forward"] == 5.0 and cell["relu.backward"] == 0.0 and cell["l2.grad"] == 0.0
    assert cell["xavier.init"] == "" and cell["dropout.mask"] == ""
    assert cell["core"] == 5.0 and cell["options"] == 0.0 and cell["bonus"] == ""
    doc = (REPO / "docs" / "platforms.md").read_text()
    assert "empty cell" in doc and "not attempted" in doc


def test_summary_says_what_each_diagnosis_means():
    """The "what it means" column repeated one student's cut-off message, the same text for two
    different backprop mistakes: it is now each diagnosis's own title."""
    from nncheck.report.diagnoses import title

    message = ("train(network, X, y): backward was never called on network[4] (affine 7->4, the last one). " * 5)
    def report(code):
        return {"score": 0.0, "max_score": 10.0, "duration_s": 1.0, "load": {"ok": True}, "sections": {},
                "checks": [{"id": "network.train", "title": "t", "section": "core", "status": "failed",
                            "score": 0.0, "max_score": 10.0, "message": message, "hint": "", "diagnosis": [code]}]}
    rows = [{"student": "ann", "entry": "ann.py", "status": OK, "report": report("backprop-skips-layer")},
            {"student": "bob", "entry": "bob.py", "status": OK, "report": report("backprop-wrong-order")}]
    summary = build_summary(rows, ["network.train"])
    titles = {d["code"]: d["title"] for d in summary["diagnoses"]}
    assert titles == {"backprop-skips-layer": title("backprop-skips-layer"),
                      "backprop-wrong-order": title("backprop-wrong-order")}
    assert all(titles.values()) and len(set(titles.values())) == 2
    page = render_summary_html(summary)
    for t in titles.values():
        assert f'<span class="title">{t}</span>' in page.replace("&#39;", "'")
    assert "…" not in page.split("Most frequent diagnoses", 1)[1].split("</table>", 1)[0]


def test_grade_nothing_is_a_usage_error(tmp_path):
    """`nncheck grade` on an empty folder wrote a gradebook of zeros and exited 0: it is a mistake
    in the command (exit 2, nothing written), and so is a folder of PDFs or a single file."""
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _grade_cli(empty, "--out", tmp_path / "o", "--isolation", "process")
    assert result.exit_code == 2 and "no submissions in" in result.output and "it is empty" in result.output
    assert not (tmp_path / "o").exists()
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    (pdfs / "ann.pdf").write_bytes(b"%PDF-1.4\n")
    result = _grade_cli(pdfs, "--out", tmp_path / "o", "--isolation", "process")
    assert result.exit_code == 2 and "it holds only ann.pdf, which is not a submission" in result.output
    single = tmp_path / "hw.py"
    single.write_text("x = 1\n")
    result = _grade_cli(single, "--out", tmp_path / "o", "--isolation", "process")
    assert result.exit_code == 2 and f"to grade this one submission: nncheck submit {single}" in result.output
    assert not (tmp_path / "o").exists()


def test_grade_refuses_a_config_key_that_names_nothing(tmp_path):
    """A typo'd [points] key used to leave the grade as it was, silently: now it stops the run."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.py").write_text("x = 1\n")
    config = tmp_path / "nncheck.toml"
    config.write_text('[points]\n"dense.bakward.params" = 15\n')
    result = _grade_cli(subs, "--out", tmp_path / "o", "--config", config, "--isolation", "process")
    assert result.exit_code == 2
    assert "points.dense.bakward.params: names no check or family (did you mean 'dense.backward.params'?)" \
        in result.output
    assert not (tmp_path / "o").exists()
