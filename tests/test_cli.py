"""The command line, through click's CliRunner and as a real subprocess."""
import json
import subprocess
import sys

from click.testing import CliRunner

from nncheck.cli import main
from conftest import REPO


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


# --------------------------------------------------------------------------
# Bad input, as a tired student or instructor hands it in: one clear message, the right status

def _submit(path, *args):
    return CliRunner().invoke(main, ["submit", str(path), "--isolation", "process", *args], catch_exceptions=False)


def _one_message(result, *words):
    """The text report of a submission that could not be loaded: one message, not a row per check."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert not [line for line in lines if line.lstrip().startswith(("ERR ", "FAIL", "PASS", "SKIP"))], result.output
    (message,) = [line for line in lines if line.startswith("Could not load the submission: ")]
    for w in words:
        assert w in message, (w, message)
    assert lines[-1].startswith("Score: 0/") and "None of the 40 checks ran." in lines[-1]
    assert len(lines) <= 5, result.output
    return message


def test_an_empty_notebook_is_one_message(tmp_path):
    """An empty .ipynb said "not valid JSON", then 40 ERR rows repeating it (128 lines)."""
    nb = tmp_path / "hw.ipynb"
    nb.write_text("")
    _one_message(_submit(nb), "hw.ipynb is empty (0 bytes)", "save it (File > Save)")
    # the JSON and HTML reports keep their shape: every check, each saying it did not run
    report = json.loads(_submit(nb, "--format", "json").output)
    assert report["load"]["ok"] is False and len(report["checks"]) == 40
    assert {c["message"] for c in report["checks"]} == {"not run: the submission could not be loaded"}
    assert {c["hint"] for c in report["checks"]} == {""}
    html = _submit(nb, "--format", "html").output
    assert "hw.ipynb is empty (0 bytes)" in html and "None of the 40 checks ran." in html
    assert html.count("not run: the submission could not be loaded") == 0 and 'class="check ' not in html


def test_a_truncated_notebook_says_where_and_what_to_do(tmp_path):
    text = (REPO / "examples" / "submissions" / "original_notebook.ipynb").read_text(encoding="utf-8")
    nb = tmp_path / "hw.ipynb"
    nb.write_text(text[:3000], encoding="utf-8")
    end = text[:3000].rstrip()
    line, column = end.count("\n") + 1, len(end) - end.rfind("\n")
    _one_message(_submit(nb), f"hw.ipynb is cut off: the file ends at line {line}, column {column}",
                 "Download it again, or open it in Jupyter and save it again")
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [\n  {"cell_type": "code" "source": []}\n]}\n')
    _one_message(_submit(broken), "its JSON breaks at line 2, column 24 (Expecting ',' delimiter)")


def test_a_notebook_saved_from_the_browser_as_a_web_page(tmp_path):
    nb = tmp_path / "hw.ipynb"
    nb.write_text("<!DOCTYPE html>\n<html><head><title>hw.ipynb - Jupyter</title></head><body></body></html>\n")
    _one_message(_submit(nb), "hw.ipynb is a web page (HTML), not a notebook", "File > Download")


def test_a_pdf_or_a_text_file_handed_in(tmp_path):
    pdf = tmp_path / "hw.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    _one_message(_submit(pdf), "hw.pdf is a PDF document, not code", "hand in the notebook (.ipynb)")
    txt = tmp_path / "hw.txt"
    txt.write_text("import numpy as np\n")
    _one_message(_submit(txt), "hw.txt is not a supported submission", "rename it to end in .py")


def test_an_empty_py_file(tmp_path):
    """An empty .py gave one "X is missing" row per check: it is one message."""
    py = tmp_path / "hw.py"
    py.write_text("\n\n")
    _one_message(_submit(py), "hw.py is empty: there is no code in it")


def test_a_notebook_saved_as_py_is_graded_as_the_notebook(tmp_path):
    """A notebook's JSON under a .py name gave a row of "appears in your submission but was not
    defined" per check: it is graded as the notebook it is, with a note; nothing is lost."""
    from nncheck.selftest.conventions import reference_source

    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "outputs": [],
                     "source": reference_source()}]}
    py = tmp_path / "hw.py"
    py.write_text(json.dumps(nb, indent=1))
    result = _submit(py, "--check", "relu", "--check", "dense")
    assert result.exit_code == 0, result.output
    assert "note: hw.py holds a Jupyter notebook (its JSON), not Python source: it was graded as the notebook" \
        in result.output
    assert "Score: 40/40" in result.output


def test_a_zip_handed_to_submit(tmp_path):
    """`submit` refused a .zip that `grade` and the autograders take; and a .zip with nothing to
    grade says what it holds."""
    import zipfile

    from nncheck.selftest.conventions import reference_source

    good = tmp_path / "hw.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("hw/assignment.py", reference_source())
    result = _submit(good, "--check", "relu")
    assert result.exit_code == 0 and "Score: 12/12" in result.output, result.output
    empty = tmp_path / "notes.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.md", "my notes")
        zf.writestr("report.pdf", b"%PDF")
    _one_message(_submit(empty), "notes.zip holds no .py file or notebook to grade (it holds only README.md, "
                                 "report.pdf)")
    bomb = tmp_path / "evil.zip"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("../escape.py", "x = 1\n")
    _one_message(_submit(bomb), "evil.zip was not unpacked: it holds a path that leaves the archive")


def test_a_config_key_that_names_nothing_stops_submit(tmp_path):
    """[points] and [tolerances] keys that name no check were ignored: the grade silently stayed."""
    py = tmp_path / "hw.py"
    py.write_text("x = 1\n")
    for table, key, why in (("points", "dense.bakward.params", "names no check or family"),
                            ("tolerances", "l2.experimnt", "names no check")):
        config = tmp_path / f"{table}.toml"
        config.write_text(f'[{table}]\n"{key}" = 0.5\n')
        result = CliRunner().invoke(main, ["submit", str(py), "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert f"{table}.{key}: {why} (did you mean" in result.output


def test_readme_quick_starts_leave_the_clone_clean():
    """Whatever a quick start writes goes to a temporary folder, or to a path git ignores."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick starts", 1)[1].split("\n## ", 1)[0]
    outputs = []
    for block in re.findall(r"```bash\n(.*?)```", quick, re.S):
        in_temp = False
        for line in block.splitlines():
            if 'cd "$(mktemp -d)"' in line:
                in_temp = True
            if line.strip().startswith('cd "$clone"'):
                in_temp = False
            if not in_temp:
                outputs += re.findall(r"--out\s+(\S+)", line) + re.findall(r"(?<![<>])>\s*([\w./-]+)", line)
                outputs += re.findall(r"mkdir -p ([\w./-]+)", line)
    assert outputs, "the quick starts write something; this test looks for it"
    for out in outputs:
        ignored = any(subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0
                      for path in (out, out.rstrip("/") + "/"))  # a file, or a folder not made yet
        assert ignored, f"the README's quick start writes {out} into the clone, and git does not ignore it"
