"""The Gradescope autograder zip and grading on the platforms (CONTRACT §5).

The zip is built once, with a config and a single-file plugin whose probes
live in a module beside it; it is unpacked into a simulated ``/autograder``
(``$NNCHECK_AUTOGRADER_ROOT``) and its ``run_autograder`` is run, as
Gradescope would, on correct, buggy, broken, empty and forging uploads.
``setup.sh`` cannot run here (it needs Gradescope's Ubuntu image and root
``apt-get``): its content is checked and ``bash -n`` parses it.
"""
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest

from nncheck import __version__
from nncheck.classroom.autograder import MANIFEST, local_imports, pick_submission
from nncheck.classroom.hidden import fingerprint
from nncheck.selftest.conventions import reference_source
from nncheck.plugins.forms import _notebook
from nncheck.sandbox import bubblewrap_problem

REPO = Path(__file__).resolve().parents[1]
GS_SCHEMA = json.loads((REPO / "tests" / "schemas" / "gradescope_results.schema.json").read_text())
PL_SCHEMA = json.loads((REPO / "tests" / "schemas" / "prairielearn_results.schema.json").read_text())

pytestmark = pytest.mark.slow

TANH_PROBES = '''
def probe(ns, inputs):
    return {"out": ns["Tanh"]().forward(inputs["x"].copy())}
'''
TANH_CHECKS = '''
import numpy as np
import nncheck
from nncheck.model import Check, Result
from nncheck.verdicts import check_array

from tanh_probes import probe


def make_inputs(rng):
    return {"x": rng.normal(size=(4, 3))}


def verdict(inputs, output):
    check_array(output["out"], np.tanh(inputs["x"]), "Tanh.forward(x)", rtol=1e-12, hint="Use np.tanh.")
    return Result.passed()


@nncheck.hookimpl
def nncheck_checks(config):
    return [Check("tanh.forward", "Tanh squashes into (-1, 1)", probe, verdict, make_inputs,
                  section="bonus", points=2, requires=("Tanh",))]
'''
CONFIG = '''
[feedback]
relu = "message"
[visibility]
"dense.numerical_gradient" = "after_due_date"
'''
ONLY = ["relu", "dense", "tanh"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    d = tmp_path_factory.mktemp("course")
    (d / "tanh_probes.py").write_text(TANH_PROBES)
    (d / "tanh_checks.py").write_text(TANH_CHECKS)
    (d / "unrelated.py").write_text("raise SystemExit('not shipped')\n")
    (d / "nncheck.toml").write_text(CONFIG)
    return d


@pytest.fixture(scope="module")
def autograder_zip(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    cmd = [sys.executable, "-m", "nncheck", "autograder", "gradescope", "--out", str(out),
           "--config", str(course / "nncheck.toml"), "--plugin", str(course / "tanh_checks.py")]
    for o in ONLY:
        cmd += ["--check", o]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def test_zip_layout(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = zf.namelist()
        infos = {i.filename: i for i in zf.infolist()}
        manifest = json.loads(zf.read(MANIFEST))
    for script in ("setup.sh", "run_autograder"):
        assert script in names
        assert (infos[script].external_attr >> 16) & stat.S_IXUSR, f"{script} must be executable"
    assert f"nncheck-{__version__}/pyproject.toml" in names
    assert f"nncheck-{__version__}/checker/classroom/autograder.py" in names
    assert f"nncheck-{__version__}/reference/layers.py" in names  # graded in the grader, never mounted
    assert not any("/tests/" in n or "__pycache__" in n or n.endswith(".pyc") for n in names)
    assert {"config/nncheck.toml", "plugins/0/tanh_checks.py", "plugins/0/tanh_probes.py"} <= set(names)
    assert "plugins/0/unrelated.py" not in names
    secret = zf_secret(autograder_zip)
    assert manifest == {"nncheck_version": __version__, "config": "config/nncheck.toml",
                        "plugins": ["plugins/0/tanh_checks.py"], "only": ONLY, "platform": "gradescope",
                        "package": f"nncheck-{__version__}", "secret": "nncheck-secret",
                        "secret_fingerprint": fingerprint(secret)}  # the secret itself only in its own file
    assert len(secret) == 64 and (infos["nncheck-secret"].external_attr >> 16) & 0o077 == 0
    assert autograder_zip.stat().st_size < 3 * 2**20


def zf_secret(autograder_zip) -> str:
    with zipfile.ZipFile(autograder_zip) as zf:
        return zf.read("nncheck-secret").decode().strip()


def test_setup_sh_installs_what_grading_needs(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as zf:
        setup = zf.read("setup.sh").decode()
    script = tmp_path / "setup.sh"
    script.write_text(setup)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    assert setup.startswith("#!/usr/bin/env bash\n") and "set -euxo pipefail" in setup
    install = next(line for line in setup.splitlines() if line.startswith("apt-get install") and "bubblewrap" in line)
    assert "python3-pip" in install and "python3-venv" in install
    assert "python3.11 python3.11-venv" in setup          # Ubuntu 22.04's python3 is 3.10
    assert f'pip install --no-cache-dir "$HERE/nncheck-{__version__}"' in setup
    assert f"assert nncheck.__version__ == '{__version__}'" in setup  # pinned: this nncheck, no other
    assert "-m nncheck doctor" in setup


def test_cli_refuses_a_bad_config(tmp_path):
    bad = tmp_path / "nncheck.toml"
    bad.write_text('[visibility]\n"dense.backwards" = "hidden"\n')
    done = subprocess.run([sys.executable, "-m", "nncheck", "autograder", "gradescope", "--out",
                           str(tmp_path / "a.zip"), "--config", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2 and "names no check" in done.stderr
    assert not (tmp_path / "a.zip").exists()


# --------------------------------------------------------------------------
# run_autograder on a simulated /autograder

def gradescope_tree(tmp_path, autograder_zip, files: dict[str, str]) -> Path:
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    for name, text in files.items():
        p = root / "submission" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def run_autograder(root: Path, **env) -> tuple[subprocess.CompletedProcess, dict]:
    environ = {**os.environ, "NNCHECK_AUTOGRADER_ROOT": str(root), "NNCHECK_PYTHON": sys.executable, **env}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=environ, cwd=root,
                          capture_output=True, text=True, timeout=300)
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, GS_SCHEMA)
    return done, results


def by_id(results):
    """Each check id's test: its own, or the one "Not attempted: ..." test its family collapsed into."""
    out = {}
    for t in results["tests"]:
        extra = t.get("extra_data") or {}
        for i in ([extra["id"]] if "id" in extra else []) + list(extra.get("ids", [])):
            out[i] = t
    return out


TANH = "\n\nclass Tanh(Layer):\n    def forward(self, input):\n        return np.tanh(input)\n"


def test_correct_notebook_upload(tmp_path, autograder_zip):
    root = gradescope_tree(tmp_path, autograder_zip, {"hw.ipynb": _notebook(), "tqdm_utils.py": "x = 1\n"})
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = by_id(results)
    assert set(tests) >= {"relu.forward", "dense.backward.params", "tanh.forward"}
    assert all(t["status"] == "passed" for i, t in tests.items() if i != "tanh.forward")
    tanh = tests["tanh.forward"]  # no Tanh: one calm line for the family, never a failed test
    assert tanh["name"] == "Not attempted: tanh" and tanh["status"] == "passed" and tanh["score"] == 0
    assert results["score"] == sum(t["score"] for t in tests.values()) > 0
    assert tests["dense.numerical_gradient"]["visibility"] == "after_due_date"
    assert tests["relu.forward"]["extra_data"]["feedback"] == "message"
    assert results["extra_data"]["inputs"]["kind"] == "hidden"  # drawn from the zip's course secret
    # the instructor's full report is on stdout (Gradescope shows stdout to instructors only)
    assert results["stdout_visibility"] == "hidden" and "dense.backward.params" in done.stdout
    assert "graded submission/hw.ipynb" in done.stdout
    for private in ("source", "results"):
        assert stat.S_IMODE((root / private).stat().st_mode) == 0o700


def test_buggy_py_upload_with_the_plugin(tmp_path, autograder_zip):
    src = reference_source().replace("grad_output.sum(axis=0)", "grad_output.mean(axis=0)", 1) + TANH
    root = gradescope_tree(tmp_path, autograder_zip, {"hw.py": src})
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = by_id(results)
    params = tests["dense.backward.params"]
    assert params["status"] == "failed" and params["score"] == 0
    assert "dense-bias-grad-mean" in params["output"] and "Hint:" in params["output"]
    assert tests["tanh.forward"]["status"] == "passed" and tests["tanh.forward"]["score"] == 2
    assert "Hint" not in tests["relu.forward"]["output"]  # relu's feedback level is message


@pytest.mark.parametrize("files, expect", [
    ({"hw.ipynb": "{ this is not json"}, "not a valid Jupyter notebook"),
    ({}, "Nothing was uploaded"),
    ({"a.ipynb": _notebook(), "b.ipynb": _notebook()}, "2 notebooks were uploaded"),
    ({"notes.txt": "hello"}, "No notebook (.ipynb) or Python file (.py) was uploaded"),
])
def test_broken_uploads_still_get_a_results_json(tmp_path, autograder_zip, files, expect):
    root = gradescope_tree(tmp_path, autograder_zip, files)
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["score"] == 0
    assert expect in results["output"] or any(expect in t["output"] for t in results["tests"])


FORGER = '''
import os
import subprocess
import numpy as np


class Forger:  # a class body runs when the file is loaded
    ROOT = {root!r}
    try:
        with open(ROOT + "/results/results.json", "w") as f:
            f.write('{{"score": 1000, "output": "FORGED"}}')
        print("FORGE: wrote results.json")
    except Exception as exc:
        print("FORGE-BLOCKED:", type(exc).__name__)
    try:
        with open(ROOT + "/source/{manifest}") as f:
            print("LEAKED:", f.read()[:40].replace("\\n", " "))
    except Exception as exc:
        print("READ-BLOCKED:", type(exc).__name__)
    try:  # the known escape: something that writes results.json after grading is over
        subprocess.Popen(["/bin/sh", "-c", "sleep 2; echo '{{\\"score\\": 999}}' > " + ROOT + "/results/results.json"],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except Exception as exc:
        print("SPAWN-BLOCKED:", type(exc).__name__)
'''


def forging_upload(root: Path) -> str:
    return FORGER.format(root=str(root), manifest=MANIFEST) + reference_source()


@pytest.mark.skipif(bubblewrap_problem() is not None, reason=f"no bubblewrap sandbox: {bubblewrap_problem()}")
def test_forging_upload_can_neither_write_results_nor_read_the_source(tmp_path, autograder_zip):
    root = gradescope_tree(tmp_path, autograder_zip, {})
    (root / "submission" / "hw.py").write_text(forging_upload(root))
    done, results = run_autograder(root)
    assert done.returncode == 0, done.stdout + done.stderr
    out = results["output"]
    assert "FORGE-BLOCKED" in out and "READ-BLOCKED" in out, out
    assert "LEAKED" not in json.dumps(results) and "FORGED" not in json.dumps(results)
    assert results["extra_data"]["nncheck_version"] == __version__
    assert by_id(results)["dense.backward.params"]["status"] == "passed"  # the honest part is graded
    time.sleep(3)  # the background writer would have fired by now
    assert json.loads((root / "results" / "results.json").read_text()) == results


def test_forging_canary_without_the_sandbox(tmp_path, autograder_zip):
    """With only a plain process around it the same upload reads the autograder's source: the
    attack is real. (results.json still ends up nncheck's: it is written last, atomically.)"""
    root = gradescope_tree(tmp_path, autograder_zip, {})
    (root / "submission" / "hw.py").write_text(forging_upload(root))
    done, results = run_autograder(root, NNCHECK_ISOLATION="process")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LEAKED:" in results["output"] and "FORGE: wrote" in results["output"]
    assert results["extra_data"]["nncheck_version"] == __version__ and results["score"] < 1000


# --------------------------------------------------------------------------
# PrairieLearn's /grade

def test_prairielearn_run(tmp_path, course):
    root = tmp_path / "grade"
    (root / "student").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "data").mkdir()
    (root / "tests" / "nncheck.toml").write_text('[visibility]\n"dense.numerical_gradient" = "hidden"\n')
    src = reference_source().replace("grad_output.sum(axis=0)", "grad_output.mean(axis=0)", 1)
    (root / "student" / "hw.py").write_text(src)
    done = subprocess.run([sys.executable, "-m", "nncheck", "autograder", "run", "prairielearn", "--root", str(root),
                           "--check", "dense"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, PL_SCHEMA)
    names = [t["description"].split(" ")[0] for t in results["tests"]]
    assert "dense.backward.params" in names and "dense.numerical_gradient" not in names  # hidden: left out
    assert 0 < results["score"] < 1 and results["gradable"] is True
    for private in ("tests", "data", "results"):
        assert stat.S_IMODE((root / private).stat().st_mode) == 0o700


# --------------------------------------------------------------------------
# Small parts

def test_pick_submission(tmp_path):
    up = tmp_path / "up"
    (up / "src").mkdir(parents=True)
    scratch = tmp_path / "scratch"
    assert pick_submission(up, scratch) == (None, "Nothing was uploaded.")
    (up / "src" / "layers.py").write_text("x = 1\n")
    (up / "src" / "net.py").write_text("y = 2\n")
    assert pick_submission(up, scratch) == (up / "src", "")
    (up / "hw.ipynb").write_text("{}")
    (up / ".ipynb_checkpoints").mkdir()
    (up / ".ipynb_checkpoints" / "hw-checkpoint.ipynb").write_text("{}")
    assert pick_submission(up, scratch) == (up / "hw.ipynb", "")
    only_zip = tmp_path / "z"
    only_zip.mkdir()
    with zipfile.ZipFile(only_zip / "hw.zip", "w") as zf:
        zf.writestr("alice/hw.py", "x = 1\n")
    target, why = pick_submission(only_zip, scratch)
    assert why == "" and target.name == "hw.py" and scratch in target.parents
    with zipfile.ZipFile(only_zip / "hw.zip", "w") as zf:
        zf.writestr("../evil.py", "x = 1\n")
    target, why = pick_submission(only_zip, tmp_path / "scratch2")
    assert target is None and "leaves the archive" in why


def test_local_imports_follow_the_plugin(tmp_path):
    (tmp_path / "a.py").write_text("import b\nfrom pkg.sub import x\nimport numpy\n")
    (tmp_path / "b.py").write_text("from c import y\n")
    (tmp_path / "c.py").write_text("y = 1\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub.py").write_text("x = 1\n")
    (tmp_path / "d.py").write_text("")
    assert sorted(p.name for p in local_imports(tmp_path / "a.py")) == ["b.py", "c.py", "pkg"]


def test_run_autograder_script(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as zf:
        script = zf.read("run_autograder").decode()
    (tmp_path / "run_autograder").write_text(script)
    assert subprocess.run(["bash", "-n", str(tmp_path / "run_autograder")]).returncode == 0
    assert 'ROOT="${NNCHECK_AUTOGRADER_ROOT:-/autograder}"' in script
    assert textwrap.dedent('exec "$PY" -m nncheck autograder run gradescope --root "$ROOT"') in script


def test_zip_from_an_installed_nncheck(tmp_path, monkeypatch):
    """Without a source tree (nncheck installed from a wheel), the zip carries a wheel repacked
    from the installed files, and that wheel installs and imports on its own."""
    import importlib.metadata
    import shutil

    from nncheck.classroom import autograder

    site = tmp_path / "site"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "checker", site / "nncheck", ignore=skip)
    for sub in ("plugins", "reference", "student_template"):
        shutil.copytree(REPO / sub, site / "nncheck" / sub, ignore=skip)
    info = site / f"nncheck-{__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nncheck\nVersion: {__version__}\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (info / "entry_points.txt").write_text("[console_scripts]\nnncheck = nncheck.cli:main\n")
    listed = [p.relative_to(site).as_posix() for p in sorted(site.rglob("*")) if p.is_file()]
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in listed) + "../../../bin/nncheck,,\n")
    dist = importlib.metadata.PathDistribution(info)
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: dist)
    monkeypatch.setattr(autograder, "project_root", lambda: None)

    summary = autograder.build_gradescope(tmp_path / "a.zip", only=["relu"])
    wheel = f"nncheck-{__version__}-py3-none-any.whl"
    assert summary["package"] == wheel
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        zf.extract(wheel, tmp_path)
        setup = zf.read("setup.sh").decode()
    assert f'pip install --no-cache-dir "$HERE/{wheel}"' in setup
    with zipfile.ZipFile(tmp_path / wheel) as whl:
        names = whl.namelist()
        assert "nncheck/data/mnist_5k.npz" in names and "nncheck/reference/layers.py" in names
        assert f"nncheck-{__version__}.dist-info/RECORD" in names and not any(".." in n for n in names)
    target = tmp_path / "installed"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                           "--target", str(target), str(tmp_path / wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    probe = subprocess.run([sys.executable, "-c", "import nncheck, nncheck.reference, nncheck.plugins.dense; "
                            "print(nncheck.__file__)"], capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(target)})
    assert probe.stdout.strip() == str(target / "nncheck" / "__init__.py"), probe.stderr
