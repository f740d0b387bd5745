"""The command line, through click's CliRunner and as a real subprocess."""
import json
import subprocess
import sys

from click.testing import CliRunner

from nncheck.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_on_every_command():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("submit", "list-checks", "plugins", "template"):
        assert command in result.output
        sub = run(command, "--help")
        assert sub.exit_code == 0 and "Usage" in sub.output


def test_submit_help_documents_every_option():
    out = run("submit", "--help").output
    for option in ("--format", "--output", "--timeout", "--memory", "--seed", "--config", "--plugin"):
        assert option in out


def test_missing_path_is_a_usage_error():
    result = run("submit", "no/such/path.py")
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_unknown_option_and_format_exit_2(tmp_path):
    f = tmp_path / "s.py"
    f.write_text("x = 1\n")
    assert run("submit", str(f), "--bogus").exit_code == 2
    result = run("submit", str(f), "--format", "pdf")
    assert result.exit_code == 2 and "unknown format" in result.output


def test_json_report_shape(tmp_path):
    f = tmp_path / "s.py"
    f.write_text("import numpy as np\nclass ReLU:\n    def forward(self, x): return np.maximum(x, 0)\n"
                 "    def backward(self, x, g): return g\n")
    result = run("submit", str(f), "--format", "json", "--check", "relu")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert set(report) >= {"submission", "score", "max_score", "checks"}
    assert report["submission"] == str(f)
    for c in report["checks"]:
        assert set(c) >= {"id", "title", "section", "status", "score", "max_score",
                          "message", "hint", "diagnosis", "duration_s"}
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses == {"relu.forward": "passed", "relu.backward": "failed",
                        "relu.numerical_gradient": "failed"}


def test_output_file_and_exit_zero(tmp_path):
    out = tmp_path / "r.json"
    result = run("submit", "reference", "--format", "json", "--output", str(out), "--check", "relu")
    assert result.exit_code == 0
    assert json.loads(out.read_text())["score"] > 0


def test_list_checks_names_core_ids():
    out = run("list-checks").output
    for cid in ("relu.forward", "relu.backward", "dense.backward.params", "loss.grad",
                "network.train", "training.accuracy"):
        assert cid in out


def test_plugins_lists_builtins():
    out = run("plugins").output
    assert "nncheck.plugins.relu" in out and "built-in" in out


def test_template_writes_a_gradable_file(tmp_path):
    result = run("template", str(tmp_path / "hw"))
    assert result.exit_code == 0
    assert (tmp_path / "hw" / "assignment.py").exists()
    again = run("template", str(tmp_path / "hw"))
    assert again.exit_code == 2


def test_real_subprocess_text_report_without_colour(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nncheck", "submit", "reference", "--check", "relu"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Score: 12/12" in proc.stdout
    assert "\x1b[" not in proc.stdout  # not a terminal: no colour codes


def test_same_seed_same_report(tmp_path):
    a = json.loads(run("submit", "student_template", "--format", "json", "--seed", "3").output)
    b = json.loads(run("submit", "student_template", "--format", "json", "--seed", "3").output)
    strip = lambda r: [(c["id"], c["status"], c["score"], c["message"]) for c in r["checks"]]  # noqa: E731
    assert strip(a) == strip(b)


def test_unreadable_submissions_get_one_clear_message(tmp_path):
    """Invalid notebook JSON and a non-UTF-8 source: a report with one sentence, exit 1."""
    bad_nb = tmp_path / "hw.ipynb"
    bad_nb.write_text("{ this is not json")
    binary = tmp_path / "hw.py"
    binary.write_bytes("# café\nclass Dense:\n    pass\n".encode("latin-1"))
    for path, words in ((bad_nb, "not a valid Jupyter notebook"), (binary, "not UTF-8")):
        result = run("submit", str(path), "--format", "json")
        assert result.exit_code == 1
        report = json.loads(result.output)
        assert report["load"]["ok"] is False and words in report["load"]["message"]
        assert "Traceback" not in report["load"]["message"]
        text = run("submit", str(path)).output
        assert words in text and "Traceback" not in text
