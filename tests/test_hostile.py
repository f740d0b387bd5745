"""Hostile submissions are contained (CONTRACT §4): the run ends in bounded time,
the affected check fails with a clear message, the others still pass, nothing
is left running and nothing outside the worker's scratch folder changes."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.variants import REFERENCE_DIR

from conftest import by_id, relu_source

def relu_with(backward_body: str, top: str = "") -> str:
    """A correct ReLU whose backward first runs ``backward_body``."""
    return relu_source(backward_body=backward_body + "\n        return grad_output * (input > 0)", top=top)


def grade(engine, path, **kw):
    t0 = time.monotonic()
    report = engine.grade(path, only=["relu"], **kw)
    return report, time.monotonic() - t0


def pids_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_infinite_loop_costs_only_its_check(engine, write_py):
    path = write_py(relu_with("while True: pass"))
    report, elapsed = grade(engine, path, timeout=1.0)
    checks = by_id(report)
    assert checks["relu.backward"].status == "timeout" and checks["relu.backward"].incident == "timeout"
    assert "did not finish within 1 s" in checks["relu.backward"].message
    assert checks["relu.forward"].status == "passed"
    assert elapsed < 15


def test_memory_bomb_is_reported_as_memory(engine, write_py):
    path = write_py(relu_with("hog = [bytearray(10**7) for _ in range(10**4)]"))
    report, _ = grade(engine, path, memory=200)
    bad = by_id(report)["relu.backward"]
    assert bad.status == "error"
    assert "memory" in bad.message and bad.incident == "memory"
    assert by_id(report)["relu.forward"].status == "passed"


def test_sys_exit_at_import_is_noted_and_loading_goes_on(engine, write_py):
    # A bare call at top level is experiment code and is not run at all ...
    path = write_py(relu_with("pass", top="import sys\nsys.exit(3)\n"))
    report, _ = grade(engine, path)
    assert report.load["dropped"] and all(c.status == "passed" for c in report.checks)
    # ... one hidden in an assignment runs, is recorded, and loading goes on.
    path = write_py(relu_with("pass", top="import sys\n_ = sys.exit(3)\n"))
    report, _ = grade(engine, path)
    assert [w["error"] for w in report.load["warnings"]] == ["called sys.exit(3)"]
    assert all(c.status == "passed" for c in report.checks)


def test_os_exit_inside_a_method(engine, write_py):
    path = write_py(relu_with("import os; os._exit(7)"))
    report, _ = grade(engine, path)
    bad = by_id(report)["relu.backward"]
    assert bad.status == "error" and "exit code 7" in bad.message
    assert by_id(report)["relu.forward"].status == "passed"


def test_segfault_inside_a_method(engine, write_py):
    path = write_py(relu_with("import ctypes; ctypes.string_at(0)"))
    report, _ = grade(engine, path)
    bad = by_id(report)["relu.backward"]
    assert bad.status == "error" and "segmentation fault" in bad.message
    assert bad.incident == "crash"
    assert by_id(report)["relu.forward"].status == "passed"


def test_flood_of_prints_is_captured_and_capped(engine, write_py):
    path = write_py(relu_with("print('x' * 10**6 * 5)"))
    report, _ = grade(engine, path)
    rec = by_id(report)["relu.backward"]
    assert rec.status == "passed"  # printing is not a mistake
    assert len(rec.output) < 100_000 and "bytes printed in all" in rec.output


def test_children_left_running_are_killed(engine, write_py):
    marker = "31337.25"
    body = (f"import subprocess, os; subprocess.Popen(['sleep', '{marker}']); "
            f"subprocess.Popen(['setsid', 'sleep', '{marker}'], start_new_session=True)")
    path = write_py(relu_with(body))
    report, _ = grade(engine, path)
    assert by_id(report)["relu.backward"].status == "passed"
    time.sleep(0.2)
    assert pids_with(marker) == []


def test_hung_non_daemon_thread_at_import(engine, write_py):
    top = "import threading, time\nthreading.Thread(target=lambda: time.sleep(1000)).start()\n"
    path = write_py(relu_with("pass", top=top))
    report, elapsed = grade(engine, path)
    assert all(c.status == "passed" for c in report.checks)
    assert elapsed < 15


def test_monkeypatched_numpy_earns_nothing(engine, write_py):
    top = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
    source = relu_with("return grad_output", top=top)  # an unmasked backward
    report, _ = grade(engine, write_py(source))
    bad = by_id(report)["relu.backward"]
    assert bad.status == "failed" and "relu-backward-not-masked" in bad.diagnosis


def test_importing_nncheck_is_refused(engine, write_py):
    source = "from nncheck.reference import ReLU, Layer\n"
    report, _ = grade(engine, write_py(source))
    assert any("not allowed" in w["error"] for w in report.load["warnings"])
    assert all(c.status == "failed" and "missing" in c.message for c in report.checks)


def test_reading_stdin_does_not_hang(engine, write_py):
    report, elapsed = grade(engine, write_py(relu_with("import builtins; builtins.input('your name? ')")))
    bad = by_id(report)["relu.backward"]
    assert bad.status == "error" and "EOFError" in bad.message
    assert elapsed < 15


def test_deep_recursion(engine, write_py):
    body = "f = lambda n: f(n + 1)\n        f(0)"
    report, _ = grade(engine, write_py(relu_with(body)))
    bad = by_id(report)["relu.backward"]
    assert bad.status == "error" and "RecursionError" in bad.message


@pytest.mark.parametrize("isolation", ["bubblewrap", "process"])
def test_killing_the_worker_costs_at_most_one_check(write_py, isolation):
    """A probe that kills its parent: a plain worker dies and costs that one check
    (a fresh worker serves the later ones); in the sandbox the worker is PID 1 of
    its namespace, the kernel ignores the signal, and the check is graded as usual."""
    if isolation == "bubblewrap" and not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed")
    engine = Engine(Config(), entry_points=False, isolation=isolation)
    body = "import os, signal; os.kill(os.getppid(), signal.SIGKILL)"
    report, _ = grade(engine, write_py(relu_with(body)))
    killed = "passed" if isolation == "bubblewrap" else "error"  # both checks call backward
    assert by_id(report)["relu.backward"].status == killed
    assert by_id(report)["relu.numerical_gradient"].status == killed
    assert by_id(report)["relu.forward"].status == "passed"


def test_syntax_error_is_one_clear_message(engine, write_py):
    report, _ = grade(engine, write_py("class ReLU(:\n    pass\n"))
    assert report.exit_code() == 1
    assert any("does not parse" in p or "syntax" in p.lower() for p in report.load["problems"])


def test_fake_report_on_stdout_does_not_fool_json(write_py, tmp_path):
    fake = json.dumps({"submission": "x", "score": 100.0, "max_score": 100.0, "checks": []})
    source = f"print({fake!r})\n" + relu_with(f"print({fake!r})\n        return grad_output")
    path = write_py(source)
    proc = subprocess.run([sys.executable, "-m", "nncheck", "submit", str(path), "--format", "json",
                           "--check", "relu"], capture_output=True, text=True, timeout=60)
    report = json.loads(proc.stdout)  # exactly one JSON document
    assert proc.returncode == 1
    assert report["score"] < report["max_score"]
    assert fake in "".join(c["output"] for c in report["checks"]) + report["load"]["output"]


def test_submission_folder_is_not_modified(engine, tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "nn.py").write_text(relu_with(
        "open('written.txt', 'w').write('x'); import os; [os.remove(f) for f in os.listdir('.') if f.endswith('.py')]",
        top="open('at_import.txt', 'w').write('x')\n"))
    before = sorted(p.name for p in folder.iterdir())
    report, _ = grade(engine, folder)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert by_id(report)["relu.forward"].status == "passed"


@pytest.mark.parametrize("isolation", ["bubblewrap", "process"])
def test_killing_the_parent_at_import_spares_the_grader(write_py, isolation):
    """getppid() in the worker is a sentinel process (plain worker) or nothing
    (the sandbox's PID 1), never the grading process. (An assignment: the loader
    drops bare top-level calls.)"""
    if isolation == "bubblewrap" and not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed")
    engine = Engine(Config(), entry_points=False, isolation=isolation)
    top = "import os, signal\n_killed = os.kill(os.getppid(), signal.SIGKILL)\n_ = 1\n"
    report, _ = grade(engine, write_py(relu_with("pass", top=top)))
    assert report.isolation["layer"] == isolation
    assert report.checks  # we are still here to read it
    assert all(c.status == "passed" for c in report.checks)


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_worker_drops_to_an_unprivileged_user(write_py, tmp_path):
    """Forced here with user='nobody' (auto mode only drops when Python is readable by
    others; on this machine it lives under a 0700 /root, see drop_target)."""
    from nncheck.sandbox.session import Session
    from nncheck.sandbox import Isolation
    from nncheck.plugins import relu

    import tempfile
    from pathlib import Path

    proof = Path(tempfile.mkdtemp(dir="/tmp"))  # pytest's tmp_path is under a 0700 folder
    proof.chmod(0o777)
    body = (f"import os\n        open({str(proof / 'uid')!r}, 'w').write(str(os.getuid()))\n"
            f"        try:\n            open('/root/nncheck-pwned', 'w')\n"
            f"        except OSError as e:\n            open({str(proof / 'denied')!r}, 'w').write(type(e).__name__)")
    checks = relu.nncheck_checks(config=None)
    report = Session(write_py(relu_with(body)), checks, isolation=Isolation("user", "forced for the test", user=(65534, 65534))).run()
    assert (proof / "uid").read_text() == "65534"
    assert (proof / "denied").read_text() == "PermissionError"
    assert not os.path.exists("/root/nncheck-pwned")
    assert all(c.status == "passed" for c in report.checks), [c.message for c in report.checks]


def test_option_hidden_by_a_syntax_error_is_not_called_unattempted(engine, write_py):
    source = relu_with("pass") + "\nclass BatchNorm(Layer:\n    pass\n"
    report = engine.grade(write_py(source), only=["batchnorm"])
    assert report.checks and all(c.status == "error" for c in report.checks)
    assert "appears in your submission" in report.checks[0].message


def test_long_checks_scale_with_timeout(engine, tmp_path):
    """--timeout scales a check's own longer timeout: with --timeout 0.5 a hanging
    train() costs the training check 1 s (its 20 s * 0.5 / 10), not 20 s."""
    from nncheck.testing import mutate_reference

    src = (REFERENCE_DIR / "network.py").read_text()
    old = "def train(network, X, y):"
    assert src.count(old) == 1
    hang = mutate_reference("network.py", old, old + "\n    while True:\n        pass")
    t0 = time.monotonic()
    report = engine.grade(hang.materialise(tmp_path), only=["training"], timeout=0.5)
    rec = report.checks[0]
    assert rec.status == "timeout" and "within 1 s" in rec.message, rec.message
    assert time.monotonic() - t0 < 20   # the unscaled timeout alone would take 20 s


def test_after_two_timeouts_later_checks_get_less_time(engine, write_py):
    """One hanging ReLU.forward costs every ReLU check: the first two wait the full
    timeout, the rest a fifth of it (at least 2 s), and the message says so."""
    source = relu_source(forward_body="while True: pass")
    t0 = time.monotonic()
    report = engine.grade(write_py(source), only=["relu"], timeout=3.0)
    elapsed = time.monotonic() - t0
    statuses = [(c.id, str(c.status)) for c in report.checks]
    assert [s for _, s in statuses] == ["timeout", "timeout", "timeout"], statuses
    assert "shortened" in report.checks[2].message and "within 2 s" in report.checks[2].message
    assert "shortened" not in report.checks[0].message
    assert elapsed < 3 + 3 + 2 + 10
