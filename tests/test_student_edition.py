"""The student edition (``nncheck release``): what students install holds no solution, and grades
the public inputs as the full edition does.

The wheel is built once, installed into a fresh virtual environment that sees the system's
NumPy & co. through a plain path (``_system_packages.pth``) but not this checkout's editable
install (whose finder would otherwise hand out ``nncheck.reference``), and its own ``nncheck``
grades the example notebook and reference-derived submissions with ``submit --format json``;
this checkout's full edition (in the test's process) grades the same on the same public inputs
(seed 0).
"""
import ast
import builtins
import json
import os
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import make_venv, pip_install
from nncheck import answers
from nncheck.cli.release import build_release, reference_lines, solution_lines, strip_selftest
from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.report.text import render_json

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "examples" / "submissions" / "original_notebook.ipynb"
ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
# reference-derived submissions graded by both editions: mutants of every core family and of
# the options, and two correct variants
MUTANTS = ("dense-dw-mean", "dense-forward-no-bias", "dense-grad-input-after-step", "loss-grad-sign",
           "relu-backward-unmasked", "train-forward-order", "training-no-step")
CORRECT = ("dense-einsum",)


def _variants(names):
    engine = Engine(Config(), entry_points=False)
    found = {v.name: v for vs in engine.pm.hook.nncheck_selftest_variants(config=engine.config) for v in vs or []}
    return [found[n] for n in names]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """``(wheel, bin folder of the venv it is installed in, the release's summary)``."""
    tmp = tmp_path_factory.mktemp("student-edition")
    done = build_release(tmp / "dist")
    wheel = Path(done["wheel"])
    venv = tmp / "venv"
    py = make_venv(venv)
    pip_install(py, "--no-deps", str(wheel), env=ENV, cwd=tmp)
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # the system's packages as a plain path: their .pth files (this checkout's editable finder) stay unread
    Path(purelib, "_system_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return wheel, venv / "bin", done


def _run(cmd, cwd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600, **kw)


def _submit(nncheck, path, cwd, *args) -> dict:
    proc = _run([str(nncheck), "submit", str(path), "--format", "json", "-q", *args], cwd)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _full(path, cwd, *args) -> dict:
    """The full edition (this checkout) grading ``path``."""
    proc = _run([sys.executable, "-m", "nncheck", "submit", str(path), "--format", "json", "-q", *args], cwd)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads(proc.stdout)


# --------------------------------------------------------------------------
# Cheap: the parts, in this process

def test_selftest_hooks_are_stripped_with_what_only_they_read():
    text = textwrap.dedent('''\
        import nncheck
        _L = "layers.py"
        _FWD = "return np.dot(input, self.weights) + self.biases"
        KEPT = 3
        SHARED = "x"

        def verdict(inputs, output):
            return KEPT

        @nncheck.hookimpl(specname="nncheck_selftest_variants")
        def forms(config):
            return [SHARED]

        @nncheck.hookimpl
        def nncheck_selftest_variants(config):
            return [(_L, _FWD)]
        ''')
    out = strip_selftest(text, elsewhere="from here import SHARED")
    assert "nncheck_selftest_variants" not in out and "np.dot" not in out and "_L =" not in out
    assert "KEPT = 3" in out and 'SHARED = "x"' in out and "def verdict" in out
    ast.parse(out)


def test_a_config_with_the_course_secret_is_refused(tmp_path):
    """The student edition carries the course's config: one holding [grading] secret would hand every
    student the secret their graded inputs are drawn from, so the release stops before writing."""
    from nncheck.cli.release import ReleaseError

    cfg = tmp_path / "nncheck.toml"
    cfg.write_text('[grading]\nsecret = "0123456789abcdef0123"\n')
    with pytest.raises(ReleaseError, match="holds \\[grading\\] secret"):
        build_release(tmp_path / "dist", cfg)
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_the_graders_stand_ins_are_stubs_and_their_checks_course_only():
    """The experiments train with the grader's own ReLU, loss gradient, SGD layer and loop: working
    parts of the assignment. The student edition ships each as a stub that raises and leaves the
    experiments to the course's grader."""
    from nncheck.cli.release import stub_stand_ins

    for path in (REPO / "checker" / "probes.py", REPO / "plugins" / "optimizers" / "sandboxed.py"):
        text = stub_stand_ins(path.read_text())
        ns: dict = {}
        exec(compile(text, str(path), "exec"), ns)
        assert ns["STAND_INS"]
        for name in ns["STAND_INS"]:
            with pytest.raises(RuntimeError, match="course's grader"):
                ns[name](4, 3)
        assert "np.maximum(x, 0.0)" not in text and "_xent(logits" not in text
    course_only = {c.id for c in Engine(Config(), entry_points=False).checks if c.full_edition_only}
    assert {"xavier.experiment", "l2.experiment", "momentum.experiment", "rmsprop.experiment",
            "adam.experiment"} <= course_only


def test_reference_lines_are_the_solution_not_the_template():
    lines = reference_lines()
    assert "return np.dot(input, self.weights) + self.biases" in lines
    assert "return grad_output * (input > 0)" in lines
    assert not any(line.startswith("raise NotImplementedError") for line in lines)


def test_inputs_key_ignores_where_the_data_is_and_the_form():
    from nncheck.data import EMBEDDED

    a = {"data": str(EMBEDDED), "x": np.arange(3.0), "_form": {"class": "Mine"}}
    b = {"data": EMBEDDED, "x": np.arange(3.0), "_form": {"class": "Other"}}
    assert answers.inputs_key(a) == answers.inputs_key(b)
    assert answers.inputs_key(a) != answers.inputs_key({**a, "x": np.arange(3.0) + 1e-12})
    back = answers.plain({"grads": [(np.ones(2), np.zeros(1))], "loss": np.float64(0.5), "none": None})
    assert isinstance(back["grads"][0], list) and back["loss"] == 0.5 and back["none"] is None


def test_costly_answers_are_computed_once_per_check_and_inputs(monkeypatch):
    """The training check's reference run (0.5 s) is not repeated for every submission graded on the
    same inputs in one process; other inputs, another check object, or cheap answers are computed."""
    import time
    from types import SimpleNamespace

    monkeypatch.setattr(answers, "_KEPT", type(answers._KEPT)())
    calls = []

    def slow(inputs):
        calls.append(inputs)
        time.sleep(answers.WORTH_KEEPING_S * 1.5)
        return {"curve": np.arange(3.0) * inputs["x"].sum()}

    check, twin = SimpleNamespace(id="c.slow", answers=slow), SimpleNamespace(id="c.slow", answers=lambda i: slow(i))
    x = {"x": np.ones(2)}
    first = answers.computed(check, x)
    first["curve"][:] = -1  # a verdict that writes into its answers spoils nothing
    again = answers.computed(check, {"x": np.ones(2)})
    assert len(calls) == 1 and again["curve"].tolist() == [0.0, 2.0, 4.0]
    assert answers.computed(check, {"x": np.ones(3)})["curve"].tolist() == [0.0, 3.0, 6.0]
    answers.computed(twin, x)
    assert len(calls) == 3

    cheap_calls = []
    cheap = SimpleNamespace(id="c.cheap", answers=lambda i: cheap_calls.append(1) or {"y": 1})
    assert answers.computed(cheap, x) == answers.computed(cheap, x) == {"y": 1} and len(cheap_calls) == 2

    monkeypatch.setattr(answers, "KEEP_AT_MOST", 2)
    for n in range(4, 8):
        answers.computed(check, {"x": np.ones(n)})
    assert len(answers._KEPT) == 2


def test_the_engine_gives_verdicts_answers_and_keeps_old_verdicts():
    from nncheck.model import Check, Result

    seen = []

    def old(inputs, output):
        seen.append("old")
        return Result.passed()

    def new(inputs, output, got):
        seen.append(got)
        return Result.passed()

    plain = Check("x.old", "old", print, old)
    with_answers = Check("x.new", "new", print, new, answers=lambda inputs: {"y": np.ones(2)})
    for check in (plain, with_answers):
        pre = answers.prepare(check, {})
        assert answers.judge(check, {}, {}, pre).status.value == "passed"
    assert seen[0] == "old" and np.array_equal(seen[1]["y"], np.ones(2))


# --------------------------------------------------------------------------
# The wheel and its venv

@pytest.mark.slow
def test_the_wheel_holds_no_solution(edition, tmp_path):
    wheel, _, done = edition
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name == "nncheck-0.1.0-py3-none-any.whl"
    assert not [n for n in names if n.startswith("nncheck/reference/")]
    assert not [n for n in names if n.endswith(("/selftest.py", "variants.py", "testing.py", "plugins/forms.py",
                                                ".pkl", ".pickle"))]
    assert not [n for n in names if n.startswith("nncheck/selftest/") and n != "nncheck/selftest/__init__.py"]
    assert {"nncheck/data/answers/index.json", "nncheck/data/answers/arrays.npz",
            "nncheck/data/course/nncheck.toml", "nncheck/data/mnist_5k.npz"} <= set(names)
    zipfile.ZipFile(wheel).extractall(tmp_path)
    assert solution_lines(tmp_path / "nncheck") == []
    for name in names:  # no selftest hook left (hookspecs declares it, for instructors' plugins)
        if name.endswith(".py") and name != "nncheck/hookspecs.py":
            tree = ast.parse((tmp_path / name).read_text(encoding="utf-8"))
            hooks = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and (
                n.name == "nncheck_selftest_variants"
                or any("nncheck_selftest_variants" in ast.unparse(d) for d in n.decorator_list))]
            assert hooks == [], (name, hooks)
    with np.load(tmp_path / "nncheck/data/answers/arrays.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    index = json.loads((tmp_path / "nncheck/data/answers/index.json").read_text())
    core = {"relu.forward", "relu.backward", "dense.forward", "dense.backward.input", "dense.backward.params",
            "loss.value", "loss.grad", "network.forward", "network.predict", "network.train", "training.accuracy"}
    assert core <= set(index["answers"]) and index["seed"] == 0
    assert set(done["full_edition_only"]) == {c.id for c in Engine(Config(), entry_points=False).checks
                                               if c.full_edition_only}


@pytest.mark.slow
def test_the_student_venv_has_no_reference_and_imports_cleanly(edition, tmp_path):
    _, bin_, _ = edition
    code = textwrap.dedent("""\
        import importlib, pkgutil, nncheck, nncheck.answers
        assert nncheck.answers.edition() == "student", nncheck.__file__
        try:
            import nncheck.reference
        except ImportError:
            pass
        else:
            raise SystemExit("nncheck.reference imported from " + nncheck.reference.__file__)
        skip = ("nncheck.__main__", "nncheck.worker.loop")
        for mod in pkgutil.walk_packages(nncheck.__path__, "nncheck."):
            if mod.name not in skip:
                importlib.import_module(mod.name)
        from nncheck.engine import Engine
        from nncheck.config import load_config
        print(len(Engine(load_config(None), entry_points=False).checks))
        """)
    proc = _run([str(bin_ / "python"), "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) == len(Engine(Config(), entry_points=False).checks)
    proc = _run([str(bin_ / "nncheck"), "selftest"], tmp_path)
    assert proc.returncode == 2 and "instructor command" in proc.stderr


@pytest.mark.slow
def test_same_grades_as_the_full_edition_on_public_inputs(edition, tmp_path):
    from nncheck.selftest.conventions import reference_source

    _, bin_, done = edition
    course_only = set(done["full_edition_only"])
    reference = tmp_path / "reference.py"
    reference.write_text(reference_source())
    submissions = [NOTEBOOK, reference] + [v.materialise(tmp_path / "variants") for v in _variants(MUTANTS + CORRECT)]
    # The full edition runs only the checks both editions grade: the course-only ones (the option
    # experiments, batch norm) are what made this test the suite's slowest, and the student edition
    # must skip them whatever the full edition would say.
    engine = Engine(Config(), entry_points=False)
    shared = [cid for cid in (c.id for c in engine.checks) if cid not in course_only]
    from concurrent.futures import ThreadPoolExecutor

    def full_edition(path):  # this checkout, in this process: one engine for all (its answers are kept)
        report = json.loads(render_json(engine.grade(path, seed=0, only=shared)))
        return {c["id"]: c for c in report["checks"]}

    def both(path):  # the two editions grade one submission at the same time
        with ThreadPoolExecutor(2) as pool:
            student = pool.submit(_submit, bin_ / "nncheck", path, tmp_path, "--seed", "0")
            full = pool.submit(full_edition, path)
            return {c["id"]: c for c in student.result()["checks"]}, full.result()

    for path in submissions:
        student, full = both(path)
        assert set(student) == set(full) | course_only, path
        for cid, got in student.items():
            if cid in course_only:
                assert got["status"] == "skipped" and ("checked when your course grades it" in got["message"]
                                                       or got["message"].startswith(("skipped because",
                                                                                     "not attempted"))), \
                    (path.name, cid, got["message"])  # (a check it builds on failing is said first)
                continue
            want = full[cid]
            assert (got["status"], got["score"], got["diagnosis"]) == \
                (want["status"], want["score"], want["diagnosis"]), (path.name, cid, got["message"], want["message"])


@pytest.mark.slow
def test_other_inputs_need_the_course_grader(edition, tmp_path):
    from nncheck.selftest.conventions import reference_source

    _, bin_, _ = edition
    path = tmp_path / "reference.py"
    path.write_text(reference_source())
    checks = {c["id"]: c for c in _submit(bin_ / "nncheck", path, tmp_path, "--seed", "7", "--check", "dense",
                                          "--check", "minibatches")["checks"]}
    assert checks["dense.forward"]["status"] == "skipped"
    assert "hidden inputs" in checks["dense.forward"]["message"] or "not the public ones" in \
        checks["dense.forward"]["message"]
    assert checks["dense.init"]["status"] == "passed"  # no answers needed: graded on any inputs
    assert checks["minibatches.pairing"]["status"] == "passed"


def _definitions(root: Path) -> str:
    """Every top-level function and class of every .py file under ``root``, as one module a student
    could hand in: decorators dropped, a class kept only when its bases are defined by then."""
    out = ["import numpy as np", "import math", "import inspect", "import functools", ""]
    defined = set(dir(builtins)) | {"np", "math", "inspect", "functools"}
    files = sorted(root.rglob("*.py"), key=lambda p: ("student_template" not in p.parts, str(p)))
    for f in files:
        text = f.read_text(encoding="utf-8")
        for node in ast.parse(text).body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            if isinstance(node, ast.ClassDef) and not all(isinstance(b, ast.Name) and b.id in defined
                                                          for b in node.bases):
                continue
            node.decorator_list = []
            out.append(ast.unparse(node))
            out.append("")
            defined.add(node.name)
    return "\n".join(out)


@pytest.mark.slow
def test_every_definition_inlined_earns_no_core_mark(edition, tmp_path):
    wheel, _, _ = edition
    zipfile.ZipFile(wheel).extractall(tmp_path / "installed")
    attack = tmp_path / "attack.py"
    # renamed as the assignment names them, the grader's stand-ins would be a working ReLU and Dense:
    # the edition ships them as stubs (nncheck.cli.release.stub_stand_ins)
    attack.write_text(_definitions(tmp_path / "installed" / "nncheck")
                      + "\nReLU = GraderReLU\nDense = _GraderSGDDense\n")
    assert attack.stat().st_size > 100_000  # the whole edition went in
    report = _full(attack, tmp_path, "--seed", "0")
    assert report["load"]["ok"], report["load"]
    earned = {c["id"]: c["score"] for c in report["checks"] if c["section"] == "core" and c["score"] > 0}
    assert earned == {}


@pytest.mark.slow
def test_jupyter_grades_from_the_student_edition(edition, tmp_path):
    from nncheck.selftest.conventions import reference_source

    _, bin_, _ = edition
    code = textwrap.dedent("""\
        from IPython.core.interactiveshell import InteractiveShell
        import nncheck
        ip = InteractiveShell.instance()  # a kernel's shell: cells, history, the magic
        ip.run_cell(open("reference.py").read(), store_history=True)
        ip.run_cell("%load_ext nncheck", store_history=True)
        ip.run_cell("%nncheck relu", store_history=True)
        feedback = nncheck.check("relu", "loss", file="reference.py")
        print(feedback.score, feedback.max_score)
        """)
    (tmp_path / "reference.py").write_text(reference_source())
    proc = _run([str(bin_ / "python"), "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "PASS relu.forward" in proc.stdout and "Score: 12/12" in proc.stdout, proc.stdout[-3000:]
    score, top = map(float, proc.stdout.split()[-2:])
    assert score == top > 0
