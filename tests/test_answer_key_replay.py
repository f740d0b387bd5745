"""The replay attack: answers recorded from a public run earn nothing in a graded one.

A student runs ``nncheck submit`` on their own machine, on the public inputs
(seed 0), and records what the checks feed their layers and what they
expect back. They then hand in a submission with no maths in it: ReLU,
Dense and the loss look their answers up in that table. On the public
inputs it earns every layer check (the attack is real); in a class run, on
Gradescope and on PrairieLearn, where the inputs are drawn from the course
secret and the submission's content, it earns nothing, while an honest
submission is graded as before. The secret itself never shows: not in a
report, not in the run's other output, not inside the sandbox.
"""
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nncheck import reference as ref
from nncheck.classroom import hidden
from nncheck.classroom.grading import grade_class
from nncheck.cli import main
from nncheck.config import ConfigError, Config, from_mapping
from nncheck.engine import Engine
from nncheck.sandbox import bubblewrap_problem
from nncheck.selftest.conventions import reference_source

pytestmark = pytest.mark.slow

# The checks a table of answers can earn: every layer check whose inputs are fed to the student's code.
REPLAYED = ["relu.forward", "relu.backward", "dense.forward", "dense.backward.input", "dense.backward.params",
            "loss.value", "loss.grad"]
CHECK_ARGS = [a for c in REPLAYED for a in ("--check", c)]
SECRET = "c0ffee" * 8 + "0123456789abcdef"   # 64 hex characters, like the ones nncheck makes
ISOLATION = "process" if bubblewrap_problem() else "bubblewrap"

KEY = '''
import hashlib
import numpy as np


def _key(tag, *arrays):
    h = hashlib.sha256(tag.encode())
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float64)
        h.update(repr(a.shape).encode() + a.tobytes())
    return h.hexdigest()[:20]
'''

REPLAY = KEY + '''

TABLE = {table}


def _answer(tag, *arrays):
    found = TABLE.get(_key(tag, *arrays))
    return None if found is None else [np.array(v, dtype=np.float64) for v in found]


class Layer:
    def forward(self, input):
        return input

    def backward(self, input, grad_output):
        return grad_output


class ReLU(Layer):
    def forward(self, input):
        found = _answer("relu.f", input)
        return found[0] if found else np.zeros_like(input)

    def backward(self, input, grad_output):
        found = _answer("relu.b", input, grad_output)
        return found[0] if found else np.zeros_like(input)


class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)

    def forward(self, input):
        found = _answer("dense.f", input, self.weights, self.biases)
        return found[0] if found else np.zeros((len(input), self.weights.shape[1]))

    def backward(self, input, grad_output):
        found = _answer("dense.b", input, grad_output, self.weights, self.biases, self.learning_rate)
        if not found:
            return np.zeros_like(input)
        grad_input, self.weights, self.biases = found
        return grad_input


def softmax_crossentropy_with_logits(logits, reference_answers):
    found = _answer("loss.v", logits, reference_answers)
    return found[0] if found else np.zeros(len(logits))


def grad_softmax_crossentropy_with_logits(logits, reference_answers):
    found = _answer("loss.g", logits, reference_answers)
    return found[0] if found else np.zeros_like(logits)
'''

# Reads every secret-looking string it can reach (64 hex digits, as nncheck makes them, or the value of
# any variable named like a secret) and prints them, for the report to carry out.
SNOOP = '''
import os
import re
import sys
import time


def _snoop():
    found, files, t0 = {}, 0, time.monotonic()  # string -> 0 (an environment, a file named secret) or 1
    pattern = re.compile(rb"[0-9a-f]{64}")
    for k, v in os.environ.items():
        found.update((m.decode(), 0) for m in pattern.findall(v.encode()))
        if "SECRET" in k.upper():
            found[v] = 0
    paths = ["/proc/self/environ"]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            paths += [f"/proc/{pid}/environ", f"/proc/{pid}/cmdline"]
    skip = ("/usr", "/proc", "/sys", "/dev", sys.base_prefix)
    for top, dirs, names in os.walk("/"):
        dirs[:] = [d for d in dirs if not os.path.join(top, d).startswith(skip)]
        paths += [os.path.join(top, n) for n in names]
        if len(paths) > 20000 or time.monotonic() - t0 > 5:
            break
    for p in paths:
        if time.monotonic() - t0 > 8:
            break
        try:
            if os.path.getsize(p) > 2**20 and not p.startswith("/proc"):
                continue
            with open(p, "rb") as f:
                rank = 0 if p.startswith("/proc") or "secret" in p.lower() else 1
                for m in pattern.findall(f.read(2**20)):
                    found[m.decode()] = min(rank, found.get(m.decode(), 1))
            files += 1
        except Exception:
            pass
    print(f"SNOOP scanned {files} files, env keys {sorted(os.environ)}")
    for s in sorted(found, key=lambda s: (found[s], s))[:40]:  # where a secret would be, first
        print("SNOOP found", s)


class Snoop:  # a class body runs when the file is loaded
    done = _snoop()
'''


def _key_function():
    ns = {}
    exec(KEY, ns)
    return ns["_key"]


def public_table() -> dict:
    """What a student records from their own public run: every input the layer checks feed their
    code (seed 0), with the answer each check expects (here computed as the report would show it)."""
    key = _key_function()
    checks = {c.id: c for c in Engine(Config(), entry_points=False).checks}
    table = {}

    def put(tag, arrays, *answers):
        table[key(tag, *arrays)] = [np.asarray(a, dtype=np.float64).tolist() for a in answers]

    def dense(x, W, b, lr=0.0):
        layer = ref.Dense(W.shape[0], W.shape[1], learning_rate=lr)
        layer.weights, layer.biases = W.copy(), b.copy()
        return layer

    i = checks["relu.forward"].inputs(checks["relu.forward"].rng(0))
    put("relu.f", [i["x"]], ref.ReLU().forward(i["x"]))
    i = checks["relu.backward"].inputs(checks["relu.backward"].rng(0))
    put("relu.b", [i["x"], i["grad_output"]], ref.ReLU().backward(i["x"], i["grad_output"]))
    i = checks["dense.forward"].inputs(checks["dense.forward"].rng(0))
    for x, W, b in ((i["x_sq"], i["W_sq"], i["b_sq"]), (i["x"], i["W"], i["b"])):
        put("dense.f", [x, W, b], dense(x, W, b).forward(x))
    for cid in ("dense.backward.input", "dense.backward.params"):
        i = checks[cid].inputs(checks[cid].rng(0))
        x, W, b, g, lr = i["x"], i["W"], i["b"], i["grad_output"], float(i["lr"])
        put("dense.f", [x, W, b], dense(x, W, b).forward(x))
        layer = dense(x, W, b, lr)
        layer.forward(x)
        grad_input = layer.backward(x, g)
        put("dense.b", [x, g, W, b, lr], grad_input, layer.weights, layer.biases)
    i = checks["loss.value"].inputs(checks["loss.value"].rng(0))
    put("loss.v", [i["logits"], i["answers"]], ref.softmax_crossentropy_with_logits(i["logits"], i["answers"]))
    i = checks["loss.grad"].inputs(checks["loss.grad"].rng(0))
    put("loss.g", [i["logits"], i["answers"]],
        ref.grad_softmax_crossentropy_with_logits(i["logits"], i["answers"]))
    return table


@pytest.fixture(scope="module")
def sources():
    return {"replay": REPLAY.format(table=json.dumps(public_table())),
            "honest": reference_source(),
            "snoop": SNOOP + reference_source()}


def _scores(report: dict) -> dict:
    return {c["id"]: (c["status"], c["score"]) for c in report["checks"]}


def _earned(report: dict) -> float:
    return sum(c["score"] for c in report["checks"] if c["id"] in REPLAYED)


def _essence(report: dict):
    return (report["seed"], report["inputs"].get("secret_fingerprint"), report["score"],
            [(c["id"], c["status"], c["score"], c["message"], c["diagnosis"]) for c in report["checks"]])


def _no_secret_env():
    return {k: v for k, v in os.environ.items() if k != hidden.SECRET_VAR}


def _files_holding(folder: Path, text: str, skip=()) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and p.name not in skip
            and text.encode() in p.read_bytes()]


# --------------------------------------------------------------------------
# The attack is real: on the public inputs the table earns every layer check

def test_the_replay_earns_the_layer_checks_on_public_inputs(tmp_path, sources, monkeypatch):
    monkeypatch.delenv(hidden.SECRET_VAR, raising=False)
    sub = tmp_path / "replay.py"
    sub.write_text(sources["replay"])
    result = CliRunner().invoke(main, ["submit", str(sub), "--format", "json", *CHECK_ARGS])
    report = json.loads(result.output)
    assert report["inputs"] == {"kind": "public"} and report["seed"] == 0
    assert all(status == "passed" for status, _ in _scores(report).values()), _scores(report)
    assert _earned(report) == report["max_score"] > 0


# --------------------------------------------------------------------------
# nncheck grade

@pytest.fixture(scope="module")
def class_run(tmp_path_factory, sources):
    subs = tmp_path_factory.mktemp("class") / "subs"
    subs.mkdir()
    for name, text in sources.items():
        if name != "snoop" or not bubblewrap_problem():  # without the sandbox, the snoop would find it
            (subs / f"{name}.py").write_text(text)
    out = subs.parent / "out"
    saved = os.environ.pop(hidden.SECRET_VAR, None)
    try:  # no secret configured: the run makes one and keeps it in OUT
        result = grade_class(subs, out, jobs=2, only=REPLAYED, isolation=ISOLATION)
    finally:
        if saved is not None:
            os.environ[hidden.SECRET_VAR] = saved
    reports = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
    return {"subs": subs, "out": out, "result": result, "reports": reports}


def test_a_class_run_earns_the_replay_nothing(class_run):
    reports = class_run["reports"]
    replay, honest = reports["replay"], reports["honest"]
    assert replay["inputs"]["kind"] == "hidden" and replay["inputs"]["secret_source"] == "created"
    assert _earned(replay) == 0, _scores(replay)
    assert all(status == "passed" for status, _ in _scores(honest).values()), _scores(honest)
    assert honest["score"] == honest["max_score"] > 0
    assert replay["seed"] != honest["seed"]  # each submission its own inputs
    summary = json.loads((class_run["out"] / "summary.json").read_text())
    assert summary["meta"]["inputs"]["secret_fingerprint"] == replay["inputs"]["secret_fingerprint"]
    assert "hidden inputs (course secret" in (class_run["out"] / "summary.html").read_text()


def test_the_secret_is_kept_in_the_output_folder_and_shown_nowhere(class_run):
    out = class_run["out"]
    kept = out / hidden.STATE_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    secret = kept.read_text().strip()
    assert len(secret) == 64 and class_run["reports"]["replay"]["inputs"]["secret_fingerprint"] == \
        hidden.fingerprint(secret)
    assert _files_holding(out, secret, skip={hidden.STATE_FILE}) == []


def test_the_sandbox_never_sees_the_secret(class_run):
    if bubblewrap_problem():
        pytest.skip(f"needs the sandbox: {bubblewrap_problem()}")
    snoop = class_run["reports"]["snoop"]
    printed = json.dumps(snoop)
    assert "SNOOP scanned" in printed  # the search ran
    secret = (class_run["out"] / hidden.STATE_FILE).read_text().strip()
    assert secret not in printed and hidden.SECRET_VAR not in printed
    assert all(status == "passed" for status, _ in _scores(snoop).values())  # its honest part is graded


def test_the_same_secret_and_submission_give_the_same_grade(class_run, tmp_path):
    secret = (class_run["out"] / hidden.STATE_FILE).read_text().strip()
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("replay", "honest"):
        (subs / f"{name}.py").write_bytes((class_run["subs"] / f"{name}.py").read_bytes())
    again = grade_class(subs, tmp_path / "again", jobs=2, only=REPLAYED, secret=secret, isolation=ISOLATION)
    assert sorted(again.graded) == ["honest", "replay"]
    for name in ("replay", "honest"):
        report = json.loads((tmp_path / "again" / "reports" / f"{name}.json").read_text())
        assert report["inputs"]["secret_source"] == "option"
        assert _essence(report) == _essence(class_run["reports"][name]), name
    assert not (tmp_path / "again" / hidden.STATE_FILE).exists()  # a given secret is not copied about


def test_submit_with_the_course_secret_reproduces_the_class_grade(class_run):
    """The instructor looking into one student's grade: the same secret, the same file, the same inputs."""
    secret = (class_run["out"] / hidden.STATE_FILE).read_text().strip()
    env = {**_no_secret_env(), hidden.SECRET_VAR: secret}
    done = subprocess.run([sys.executable, "-m", "nncheck", "submit", str(class_run["subs"] / "replay.py"),
                           "--format", "json", *CHECK_ARGS], capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stdout)
    assert report["inputs"]["kind"] == "hidden" and report["inputs"]["secret_source"] == "env"
    assert report["seed"] == class_run["reports"]["replay"]["seed"]
    assert _scores(report) == _scores(class_run["reports"]["replay"])
    assert secret not in done.stdout + done.stderr


def test_the_snoop_finds_the_secret_without_the_sandbox(tmp_path, sources):
    """Canary: with only a plain process around it, the same snoop reads the grader's environment
    (/proc/<parent>/environ) and prints the secret, so its search is a real one."""
    sub = tmp_path / "snoop.py"
    sub.write_text(sources["snoop"])
    env = {**_no_secret_env(), hidden.SECRET_VAR: SECRET}
    done = subprocess.run([sys.executable, "-m", "nncheck", "submit", str(sub), "--format", "json",
                           "--isolation", "process", "--check", "relu.forward"],
                          capture_output=True, text=True, env=env, timeout=300)
    report = json.loads(done.stdout)
    assert report["inputs"]["kind"] == "hidden"
    assert f"SNOOP found {SECRET}" in json.dumps(report)


# --------------------------------------------------------------------------
# Gradescope

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "nncheck", "autograder", "gradescope", "--out", str(out),
                           *CHECK_ARGS], capture_output=True, text=True, timeout=120, env=_no_secret_env())
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as zf:
        secret = zf.read(hidden.ZIP_FILE).decode().strip()
        manifest = json.loads(zf.read("nncheck-autograder.json"))
    assert manifest["secret_fingerprint"] == hidden.fingerprint(secret)
    assert secret not in done.stdout + done.stderr and hidden.fingerprint(secret) in done.stdout
    return out, secret


def _gradescope(tmp_path: Path, zip_path: Path, name: str, text: str):
    root = tmp_path / name / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "hw.py").write_text(text)
    env = {**_no_secret_env(), "NNCHECK_AUTOGRADER_ROOT": str(root), "NNCHECK_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads((root / "results" / "results.json").read_text())


def _gs_tests(results) -> dict:
    return {t["extra_data"]["id"]: (t["status"], t["score"]) for t in results["tests"] if "id" in t["extra_data"]}


def test_gradescope_earns_the_replay_nothing(tmp_path, autograder_zip, sources):
    zip_path, secret = autograder_zip
    done, replay = _gradescope(tmp_path, zip_path, "replay", sources["replay"])
    assert replay["score"] == 0, _gs_tests(replay)
    assert replay["extra_data"]["inputs"] == {"kind": "hidden", "secret_fingerprint": hidden.fingerprint(secret),
                                              "secret_source": "state"}
    assert secret not in json.dumps(replay) + done.stdout + done.stderr
    _, honest = _gradescope(tmp_path, zip_path, "honest", sources["honest"])
    assert set(_gs_tests(honest)) == set(REPLAYED)
    assert all(status == "passed" for status, _ in _gs_tests(honest).values()) and honest["score"] > 0


def test_gradescope_same_upload_same_grade_and_any_change_new_inputs(tmp_path, autograder_zip, sources):
    zip_path, _ = autograder_zip
    _, first = _gradescope(tmp_path, zip_path, "first", sources["honest"])
    _, second = _gradescope(tmp_path, zip_path, "second", sources["honest"])
    _, edited = _gradescope(tmp_path, zip_path, "edited", sources["honest"] + "\n# one more comment\n")

    def essence(results):
        return [(t["name"], t["status"], t["score"], t["output"]) for t in results["tests"]]

    assert first["extra_data"]["seed"] == second["extra_data"]["seed"] and essence(first) == essence(second)
    assert edited["extra_data"]["seed"] != first["extra_data"]["seed"]


# --------------------------------------------------------------------------
# PrairieLearn

def _prairielearn(tmp_path: Path, name: str, text: str, secret: str | None):
    root = tmp_path / name / "grade"
    (root / "student").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "student" / "hw.py").write_text(text)
    if secret:
        hidden.save_secret(root / "tests" / hidden.ZIP_FILE, secret)
    done = subprocess.run([sys.executable, "-m", "nncheck", "autograder", "run", "prairielearn", "--root", str(root),
                           *CHECK_ARGS], capture_output=True, text=True, timeout=300, env=_no_secret_env())
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads((root / "results" / "results.json").read_text())


def test_prairielearn_earns_the_replay_nothing(tmp_path, sources):
    done, replay = _prairielearn(tmp_path, "replay", sources["replay"], SECRET)
    assert replay["score"] == 0 and replay["gradable"] is True
    assert f"course secret {hidden.fingerprint(SECRET)}" in done.stdout
    assert SECRET not in json.dumps(replay) + done.stdout + done.stderr
    _, honest = _prairielearn(tmp_path, "honest", sources["honest"], SECRET)
    assert honest["score"] == 1.0


def test_prairielearn_without_a_secret_still_hides_the_inputs(tmp_path, sources):
    done, replay = _prairielearn(tmp_path, "replay", sources["replay"], None)
    assert replay["score"] == 0
    assert "warning: no course secret" in done.stdout


# --------------------------------------------------------------------------
# The secret and the seed

def test_the_seed_follows_the_secret_and_every_byte_of_the_submission():
    a, b = "a" * 32, "b" * 32
    assert hidden.hidden_seed(a, "digest1") == hidden.hidden_seed(a, "digest1")
    assert hidden.hidden_seed(a, "digest1") != hidden.hidden_seed(a, "digest2")
    assert hidden.hidden_seed(a, "digest1") != hidden.hidden_seed(b, "digest1")
    assert 0 < hidden.hidden_seed(a, "digest1") < 2 ** hidden.SEED_BITS


def test_where_the_secret_comes_from(tmp_path, monkeypatch):
    state = tmp_path / hidden.STATE_FILE
    hidden.save_secret(state, "s" * 20)
    config = from_mapping({"grading": {"secret": "c" * 20}})
    monkeypatch.setenv(hidden.SECRET_VAR, "e" * 20)
    assert hidden.find_secret("o" * 20, config, state).source == "option"
    assert hidden.find_secret(None, config, state).source == "env"
    monkeypatch.delenv(hidden.SECRET_VAR)
    assert hidden.find_secret(None, config, state) == hidden.Secret("c" * 20, "config")
    assert hidden.find_secret(None, Config(), state) == hidden.Secret("s" * 20, "state")
    assert hidden.find_secret(None, Config(), tmp_path / "none") is None
    assert "s" * 20 not in repr(hidden.find_secret(None, Config(), state)) + repr(config)
    with pytest.raises(hidden.SecretError, match="too short"):
        hidden.find_secret("short")
    with pytest.raises(ConfigError, match="grading.salt"):
        from_mapping({"grading": {"salt": "x"}})


def test_grade_refuses_a_short_secret(tmp_path):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(main, ["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                                       "--secret", "tooshort", "--check", "relu.forward", "-q",
                                       "--isolation", "process"])
    assert result.exit_code == 2 and "too short" in result.output
    assert "tooshort" not in result.output  # an error never repeats the secret
