"""Checking from a notebook: ``%load_ext nncheck``, ``%nncheck``, ``nncheck.check()`` (CONTRACT §5).

The end-to-end test runs a real notebook in a real kernel (nbclient +
ipykernel, with a kernelspec for this interpreter written to a temporary
``JUPYTER_PATH``): a cell with a bug, the magic, the inline report with the
bug's diagnosis; the cell fixed and re-run, the magic again, every check
passed. The other tests take the parts one at a time.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nncheck.selftest.conventions import reference_source
from nncheck.classroom.jupyter import (NncheckError, _parser, clean_cell, render_inline, run_submit, session_notebook)

BUG = ("grad_output.sum(axis=0)", "grad_output.mean(axis=0)")


def buggy_source() -> str:
    return reference_source().replace(*BUG, 1)


# --------------------------------------------------------------------------
# The kernel's history, as a notebook

def test_clean_cell_blanks_nncheck_and_keeps_line_numbers():
    cell = textwrap.dedent("""\
        %load_ext nncheck
        import numpy as np
        import nncheck
        result = nncheck.check(
            "dense")
        %nncheck dense --saved
        x = np.zeros(3)
        !pip install tqdm""")
    out = clean_cell(cell).split("\n")
    assert len(out) == len(cell.split("\n"))
    assert out == ["", "import numpy as np", "", "", "", "", "x = np.zeros(3)", "!pip install tqdm"]
    assert clean_cell("import numpy as np, nncheck") == "import numpy as np, nncheck"  # not only ours
    assert clean_cell("def f(:\n%nncheck") == "def f(:\n"  # a cell that does not parse keeps its lines


def test_session_notebook_keeps_order_and_in_numbers():
    nb = session_notebook([(1, "import numpy as np"), (2, "%load_ext nncheck"), (3, "class A: pass"),
                           (4, "%nncheck dense"), (5, "class A:\n    x = 1")], heading="Peer-reviewed assignment")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == [1, 3, 5]
    assert nb["cells"][-1]["cell_type"] == "markdown" and "Peer-reviewed assignment" in nb["cells"][-1]["source"]


@pytest.mark.slow
def test_the_latest_definition_is_graded_as_in_the_kernel(tmp_path):
    """A student runs a buggy cell, fixes it and runs it again: the kernel holds the fix, and
    so does the grade; the other way round, the bug."""
    fixed, buggy = reference_source(), buggy_source()
    for order, expect in (((buggy, fixed), "passed"), ((fixed, buggy), "failed")):
        nb = session_notebook([(1, order[0]), (2, "%nncheck dense"), (3, order[1])])
        path = tmp_path / f"{expect}.ipynb"
        path.write_text(json.dumps(nb))
        report = run_submit(path, ["dense"])
        status = {c["id"]: c["status"] for c in report["checks"]}
        assert status["dense.backward.params"] == expect, report["load"]
        assert report["audience"]["name"] == "student"
        assert report["isolation"]["layer"] in ("bubblewrap", "user", "process")


def test_magic_arguments():
    args = _parser().parse_args(["dense", "loss.grad", "--saved", "--config", "c.toml"])
    assert (args.only, args.saved, args.config, args.audience) == (["dense", "loss.grad"], True, "c.toml", "student")
    with pytest.raises(NncheckError, match="unrecognized arguments"):
        _parser().parse_args(["--bogus"])


def test_run_submit_misuse_is_one_sentence(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    with pytest.raises(NncheckError, match="no such check or family: nosuch"):
        run_submit(path, ["nosuch"])


def test_inline_report_is_a_scoped_fragment():
    d = {"submission": "kernel.ipynb", "score": 1.0, "max_score": 2.0, "sections": {},
         "checks": [{"id": "relu.forward", "title": "<b>t</b>", "section": "core", "status": "failed",
                     "score": 0, "max_score": 1, "message": "<script>alert(1)</script>", "hint": "",
                     "diagnosis": [], "duration_s": 0.1, "output": "", "traceback": "", "details": {}},
                    {"id": "relu.backward", "title": "b", "section": "core", "status": "passed",
                     "score": 1, "max_score": 1, "message": "", "hint": "", "diagnosis": [], "duration_s": 0.1,
                     "output": "", "traceback": "", "details": {}}],
         "load": {"ok": True}, "seed": 0, "duration_s": 0.2, "nncheck_version": "x", "exit_code": 1,
         "isolation": {"layer": "bubblewrap", "summary": "sandboxed"}}
    html = render_inline(d, "relu", 1.5)
    assert html.lstrip().startswith('<div class="nncheck-nb">') and "<html" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    css = html[html.index("<style>") + 7:html.index("</style>")]
    rules = [r.split("{")[0].strip() for r in css.split("}") if "{" in r]
    assert rules and all(r.startswith(".nncheck-nb") for r in rules), "every CSS rule is scoped"
    top, rest = html.split('<details class="nn-all">', 1)
    assert "Fix this first" in top and "relu.forward" in top and "relu.backward" not in top
    assert "relu.backward" in rest  # the rest is collapsed
    assert "Graded in 1.5 s outside your kernel" in html


# --------------------------------------------------------------------------
# nncheck.check() from plain Python

@pytest.mark.slow
def test_check_from_a_plain_script(tmp_path):
    script = tmp_path / "homework.py"
    script.write_text(buggy_source() + textwrap.dedent("""
        if __name__ == "__main__":
            import nncheck
            result = nncheck.check("dense")
            print("SCORE", result.score, result.max_score, result.passed)
            print(result)
        """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "SCORE 15.0 28.0 False" in done.stdout
    assert "FAIL dense.backward.params" in done.stdout and "dense-bias-grad-mean" in done.stdout


# --------------------------------------------------------------------------
# A real kernel

@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec that starts ipykernel in this interpreter, on a temporary JUPYTER_PATH."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    base = tmp_path_factory.mktemp("jupyter")
    spec = base / "kernels" / "nncheck-test"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nncheck test kernel", "language": "python"}))
    before = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(base) + (os.pathsep + before if before else "")
    yield "nncheck-test"
    if before is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = before


def html_of(cell) -> str:
    return "\n".join(o.get("data", {}).get("text/html", "") for o in cell.outputs
                     if o.get("output_type") in ("display_data", "execute_result"))


@pytest.mark.slow
def test_magic_in_a_real_kernel(tmp_path, kernel_name):
    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "nncheck.toml").write_text('[visibility]\n"dense.init" = "after_due_date"\n')
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Your very own neural network"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np"),
        nbformat.v4.new_code_cell(buggy_source()),
        nbformat.v4.new_code_cell("%load_ext nncheck"),
        nbformat.v4.new_code_cell("%nncheck dense"),
        nbformat.v4.new_code_cell(reference_source()),          # the fix, run again
        nbformat.v4.new_code_cell("import nncheck\nnncheck.check('dense')"),
        nbformat.v4.new_code_cell("%nncheck nosuchfamily"),
        nbformat.v4.new_code_cell("import sys\nprint('GRADER IN KERNEL:', sorted(m for m in sys.modules if m in "
                                  "('nncheck.engine', 'nncheck.sandbox.session', 'nncheck.worker.loop', 'nncheck.sandbox')))"),
    ]
    NotebookClient(nb, kernel_name=kernel_name, timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    buggy = html_of(nb.cells[4])
    assert '<div class="nncheck-nb">' in buggy
    top = buggy.split('<details class="nn-all">', 1)[0]
    assert "Fix these first" in top and "dense-bias-grad-mean" in top
    assert "Bias gradient averaged instead of summed" in top  # the diagnosis, in words
    assert "dense.init" not in buggy and "not shown here" in buggy  # hidden by the course's nncheck.toml
    assert "the 2 cells this kernel ran (In [1]–[2])" in buggy  # the magic cells are not graded
    plain = "\n".join(o.get("data", {}).get("text/plain", "") for o in nb.cells[4].outputs
                      if o.get("output_type") in ("display_data", "execute_result"))
    assert "Score:" in plain and "dense-bias-grad-mean" in plain  # the text report, for text-only views
    assert "IPython.core.display.HTML" not in plain

    fixed = html_of(nb.cells[6])
    assert "Every check passed" in fixed and "Fix" not in fixed.split('<details class="nn-all">', 1)[0]
    misuse = html_of(nb.cells[7])
    assert "no such check or family: nosuchfamily" in misuse

    # the grading ran in other processes: the kernel never even imported the engine or the worker
    assert "GRADER IN KERNEL: []" in "".join(o.get("text", "") for o in nb.cells[8].outputs)
    assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", []))


# --------------------------------------------------------------------------
# What the inline report says, and what a text-only front end sees

def _text(html: str) -> str:
    """What a reader sees of an HTML fragment: its text, spaces collapsed."""
    from html.parser import HTMLParser

    parts = []
    parser = HTMLParser(convert_charrefs=True)
    parser.handle_data = parts.append
    parser.feed(html)
    return " ".join(" ".join(parts).split())


def _check(cid, section, status, message="", score=0.0, max_score=5.0):
    return {"id": cid, "title": f"title of {cid}", "section": section, "status": status, "score": score,
            "max_score": max_score, "message": message, "hint": "", "diagnosis": [], "duration_s": 0.1,
            "output": "", "traceback": "", "details": {}}


def _option_report() -> dict:
    checks = [_check("relu.forward", "core", "passed", score=5.0), _check("dense.forward", "core", "failed", "off"),
              _check("l2.grad", "options", "failed", "Dense_reg.backward has two mistakes (observed with batch "
                     "size 13):\nThe data part is 1/13 of x.T @ grad_output.\nThe bias gradient is 1/13 of the sum.")]
    for fam in ("xavier", "momentum"):
        checks += [_check(f"{fam}.{n}", "options", "skipped", f"not attempted: no {fam} in the submission")
                   for n in ("init", "experiment")]
    checks += [_check(f"dropout.{n}", "bonus", "skipped", "not attempted: no Dropout in the submission")
               for n in ("mask", "eval", "backward")]
    sections = {"core": {"score": 5.0, "max_score": 10.0, "rule": "sum", "counted": ["relu", "dense"],
                         "attempted": ["relu", "dense"]},
                "options": {"score": 0.0, "max_score": 5.0, "rule": "best", "counted": ["l2"], "attempted": ["l2"]},
                "bonus": {"score": 0.0, "max_score": 15.0, "rule": "add", "counted": [], "attempted": []}}
    return {"submission": "kernel.ipynb", "score": 5.0, "max_score": 15.0, "sections": sections, "checks": checks,
            "load": {"ok": True}, "seed": 0, "duration_s": 0.2, "nncheck_version": "x", "exit_code": 1,
            "isolation": {"layer": "bubblewrap", "summary": "sandboxed"}}


def test_inline_report_accounts_for_every_check():
    """"All 10 checks" listed 3 of them: the skipped ones are accounted for by the text report's
    "not attempted: ..." line, per section, with how many checks it stands for."""
    d = _option_report()
    html = render_inline(d, "every check")
    rest = _text(html.split('<details class="nn-all">', 1)[1])
    assert "All 10 checks" in rest
    for c in d["checks"]:
        if c["status"] != "skipped":
            assert c["id"] in rest
    assert "not attempted xavier, momentum (4 checks, not graded)" in rest
    assert "not attempted dropout (3 checks, not graded)" in rest
    # a message naming several mistakes: one line each
    assert "<li>The data part is 1/13 of x.T @ grad_output.</li>" in html
    assert "<li>The bias gradient is 1/13 of the sum.</li>" in html


def test_inline_output_carries_the_text_report():
    """The inline output's text/plain was ``<IPython.core.display.HTML object>``: it is the text
    report, so nbconvert to text or PDF and terminal front ends show the result."""
    from nncheck.classroom.jupyter import Feedback, _message
    from nncheck.report.text import render_text, report_from_dict

    fb = Feedback(_option_report(), "every check", 1.0)
    bundle = fb._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/html"] == fb.html()
    assert bundle["text/plain"] == str(fb) == render_text(report_from_dict(fb.report))
    assert "Score: 5/15" in bundle["text/plain"] and "not attempted: xavier, momentum" in bundle["text/plain"]
    assert "- The data part is 1/13 of x.T @ grad_output." in bundle["text/plain"]
    msg = _message("this kernel has not run any of your code yet", error=True)
    assert msg["text/plain"] == "nncheck: this kernel has not run any of your code yet"


def test_magic_publishes_html_and_text(monkeypatch):
    """%nncheck publishes one bundle with both text/html and text/plain (raw display data)."""
    pytest.importorskip("IPython")
    import IPython.display

    import nncheck.classroom.jupyter as jupyter

    shown = []

    class Handle:
        def update(self, obj, **kw):
            shown.append((obj, kw))

    def fake_display(obj, **kw):
        shown.append((obj, kw))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(jupyter, "check", lambda *a, **k: jupyter.Feedback(_option_report(), "every check", 1.0))
    jupyter.nncheck_magic("")
    final, kw = shown[-1]
    assert kw.get("raw") is True and set(final) == {"text/html", "text/plain"}
    assert final["text/plain"].startswith("nncheck x") and "Score: 5/15" in final["text/plain"]
    assert all(isinstance(obj, dict) and "text/plain" in obj for obj, _ in shown)


def test_data_loader_note_only_where_it_matters(tmp_path, engine):
    """"MNIST is not available while grading" showed as a load warning on a `dense` result: the
    course's loader is now one calm note, and only on a report with a check that trains."""
    from nncheck.cli.template import template_source
    from nncheck.report.text import render_text, report_dict

    path = tmp_path / "hw.py"
    source = template_source().read_text() + "\nfrom preprocessed_mnist import load_dataset\n"
    path.write_text(source + "X_train, y_train, X_val, y_val, X_test, y_test = load_dataset(flatten=True)\n")
    line = source.count("\n") + 1
    unit = engine.grade(path, only=["relu"])
    assert unit.load["warnings"] == [] and "data_loader" not in unit.load
    for text in (render_text(unit), render_inline(report_dict(unit))):
        assert "MNIST" not in _text(text) and "data loader" not in _text(text)
    skipped = engine.grade(path, only=["relu", "xavier"])  # xavier.experiment would train: not attempted
    assert {c.status.value for c in skipped.checks if c.family == "xavier"} == {"skipped"}
    assert skipped.load["warnings"] == [] and "data_loader" not in skipped.load
    trains = engine.grade(path, only=["relu", "training"])
    assert trains.load["warnings"] == []
    assert trains.load["data_loader"] == [{"label": "hw.py", "line": line}]
    note = "the course's data loader was replaced by nncheck's own data"
    text = render_text(trains)
    assert text.count(note) == 1 and "RuntimeError" not in text and "not available" not in text
    inline = _text(render_inline(report_dict(trains)))
    assert inline.count(note) == 1 and "Loading your code" not in inline


def test_inline_footer_says_which_inputs():
    """The footer said only "seed 0": it says which inputs, in the words of the other surfaces."""
    d = _option_report()
    assert "public inputs (seed 0), the same as in everyone" in _text(render_inline(d))
    d["inputs"] = {"kind": "hidden", "secret_fingerprint": "abc123def456"}
    assert "hidden inputs, drawn for this submission from the course secret abc123def456" in _text(render_inline(d))
