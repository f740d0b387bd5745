"""The HTML report, Gradescope's results.json and JUnit XML, rendered from real gradings.

Reports come from grading the reference (one full run, for the training
curves), the student template, a buggy submission (the reference with dW
divided by the batch size) and a hostile one whose prints, return values
and exception messages are HTML.
"""
import base64
import json
import struct
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from nncheck.report import plots
from nncheck.cli import main
from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.model import CheckRecord, Report, Status
from nncheck.report.gradescope import gradescope_dict, render_gradescope
from nncheck.report.html import fix_first, render_html
from nncheck.report.junit import render_junit, xml_text
from nncheck.report.text import not_attempted, render_json, render_text, report_dict
from nncheck.scoring import score_report
from nncheck.variants import REFERENCE_DIR, Variant

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "tests" / "schemas" / "gradescope_results.schema.json").read_text())
TEMPLATE = REPO / "student_template"
FAST = ["relu", "dense", "loss", "network"]

XSS_SUBMISSION = '''
import numpy as np


class Layer:
    print("<script>alert('load')</script>")    # a class body runs when the file is loaded

    def forward(self, input):
        return input
    def backward(self, input, grad_output):
        return grad_output

class ReLU(Layer):
    def forward(self, input):
        print("<script>alert(1)</script>")
        return np.maximum(input, 0)
    def backward(self, input, grad_output):
        raise ValueError("<img src=x onerror=alert(1)>")

class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)
    def forward(self, input):
        return "<script>alert(2)</script>"
    def backward(self, input, grad_output):
        print("</pre><script>alert(3)</script>\\x00\\x1b[31m")
        return grad_output @ self.weights.T
'''


def buggy_variant() -> Variant:
    return Variant("dw-divided", "mutant", "dense", "dense-grad-divided-by-batch", edits=[(
        "layers.py", "return np.dot(input.T, grad_output), grad_output.sum(axis=0)",
        "return np.dot(input.T, grad_output) / input.shape[0], grad_output.sum(axis=0)")])


@pytest.fixture(scope="module")
def eng():
    return Engine(Config(), entry_points=False)


@pytest.fixture(scope="module")
def reports(eng, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("formats")
    xss = tmp / "xss.py"
    xss.write_text(XSS_SUBMISSION, encoding="utf-8")
    out = {}
    t0 = time.perf_counter()
    out["reference"] = eng.grade(REFERENCE_DIR)          # full run: training curves
    out["reference_s"] = time.perf_counter() - t0
    out["template"] = eng.grade(TEMPLATE)
    out["buggy"] = eng.grade(buggy_variant().materialise(tmp), only=FAST)
    out["xss"] = eng.grade(xss, only=["relu", "dense"])
    return out


# --------------------------------------------------------------------------
# A small HTML reader: text as a browser would show it, tags, and attributes


class Page(HTMLParser):
    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []
        self.style = ""
        self._in_style = False
        self.feed(source)
        self.close()
        self.text = " ".join(" ".join(self.text_parts).split())

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        else:
            self.text_parts.append(data)

    def attrs(self, tag):
        return [a for t, a in self.tags if t == tag]


def visible(text: str) -> str:
    return " ".join(text.split())


def assert_self_contained(source: str):
    page = Page(source)
    assert not page.attrs("script"), "the report must not carry any script"
    assert not page.attrs("link"), "CSS is inlined, not linked"
    assert not page.attrs("iframe") and not page.attrs("object") and not page.attrs("embed")
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "poster", "data", "action"):
            value = attrs.get(name)
            if value is None:
                continue
            if name == "href":
                assert value.startswith("#"), f"<{tag} href={value!r}> leaves the page"
            else:
                assert value.startswith("data:image/"), f"<{tag} {name}={value[:60]!r}> is not inline"
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}=...> is an event handler"
            assert "http://" not in (value or "") and "https://" not in (value or "")
    assert "url(" not in page.style and "@import" not in page.style
    assert "http://" not in page.style and "https://" not in page.style
    return page


def png_size(data_uri: str) -> tuple[int, int]:
    raw = base64.b64decode(data_uri.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", raw[16:24])


def image_size(data_uri: str) -> tuple[int, int]:
    """(width, height) of a PNG or SVG data URI."""
    if data_uri.startswith("data:image/svg+xml;base64,"):
        import xml.etree.ElementTree as ET

        svg = ET.fromstring(base64.b64decode(data_uri.split(",", 1)[1]))
        return int(svg.get("width")), int(svg.get("height"))
    return png_size(data_uri)


# --------------------------------------------------------------------------
# HTML


def test_html_reference_full_run(reports):
    rep = reports["reference"]
    assert rep.exit_code() == 0 and rep.score >= rep.max_score > 0
    source = render_html(rep)
    page = assert_self_contained(source)
    assert '<meta name="viewport"' in source and "@media print" in source
    assert f"{rep.score:g} / {rep.max_score:g}" in page.text
    assert "Every check passed" in page.text
    with_curves = [c.id for c in rep.checks if isinstance(c.details.get("curves"), dict)]
    assert "training.accuracy" in with_curves
    imgs = [a["src"] for a in page.attrs("img")]
    assert len(imgs) == len(with_curves), "the training check's and every experiment's curves are drawn"
    for src in imgs:
        w, h = image_size(src)
        assert 500 <= w <= 800 and 200 <= h <= 400
    assert len(source.encode()) < 400_000


def test_html_template_shows_hints_and_tracebacks(reports):
    rep = reports["template"]
    source = render_html(rep)
    page = assert_self_contained(source)
    assert f"0 / {rep.max_score:g}" in page.text
    failed = [c for c in rep.checks if c.status is not Status.PASSED]
    assert failed and all(visible(c.hint) in page.text for c in failed if c.hint)
    assert "Fix these first" in page.text
    assert "Traceback (your code)" in page.text
    # the traceback is trimmed to the student's own file
    assert "assignment.py" in page.text and "nncheck/worker.py" not in page.text


def test_html_buggy_submission(reports):
    rep = reports["buggy"]
    d = report_dict(rep)
    source = render_html(rep)
    page = assert_self_contained(source)
    bad = {c["id"]: c for c in d["checks"] if c["status"] == "failed"}
    assert "dense.backward.params" in bad
    c = bad["dense.backward.params"]
    assert f"{rep.score:g} / {rep.max_score:g}" in page.text
    assert visible(c["hint"]) in page.text
    assert visible(c["message"]) in page.text
    assert "Dense gradient divided by the batch size a second time" in page.text  # diagnosis named
    assert "dense-grad-divided-by-batch" in page.text
    # expected vs got for the small dW, shapes always, and the error heatmap
    article = source.split('id="check-dense.backward.params"', 1)[1].split("</article>", 1)[0]
    assert "expected" in article and "yours" in article and 'class="bad"' in article
    assert "(5, 7)" in article or "Shape: expected" in article
    assert 'src="data:image/png;base64,' in article
    assert "Fix these first" in page.text or "Fix this first" in page.text
    assert "dense.backward.params" in [x["id"] for x in fix_first(
        [{"section": x["section"], "max_score": x["max_score"], "bad": x["status"] != "passed", "id": x["id"]}
         for x in d["checks"]])]
    assert len(source.encode()) < 400_000


def test_html_student_text_is_never_markup(reports):
    rep = reports["xss"]
    texts = " ".join([rep.load.get("output", "")] + [c.output + c.message + c.traceback for c in rep.checks])
    # the submission really did print/raise/return markup
    assert "<script>alert(1)</script>" in texts and "<img src=x onerror=alert(1)>" in texts
    assert "<script>alert('load')</script>" in texts
    source = render_html(rep)
    assert "<script" not in source.lower()
    assert "<img src=x" not in source and "onerror=alert" not in source.replace("onerror=alert(1)&gt;", "")
    assert "</pre><script>" not in source
    page = assert_self_contained(source)
    # ... and a reader sees it as text (the "what your code printed" and traceback parts hold it)
    assert "<script>alert(1)</script>" in page.text
    assert "<img src=x onerror=alert(1)>" in page.text
    assert "<script>alert('load')</script>" in page.text


def test_html_xss_in_every_field():
    """Markup anywhere in the model (ids, titles, load notes, details, curves' names) stays text."""
    evil = "<script>alert(9)</script>"
    rec = CheckRecord(id="relu.x", title=evil, section="core", status=Status.FAILED, score=0, max_score=1,
                      message=evil, hint=evil, diagnosis=[evil], output=evil, traceback=evil,
                      details={evil: evil, "expected": [evil], "got": [1.0], "curves": {evil: [1, 2], "b": [2, 1]},
                               "nested": {evil: {evil: evil}}})
    rep = Report(submission=evil, checks=[rec], load={
        "ok": True, "warnings": [{"label": evil, "line": 1, "error": evil, "traceback": evil}],
        "problems": [evil], "set_aside": [{"name": evil, "label": evil, "reason": evil}],
        "dropped": [evil], "aliased": {evil: evil}, "used": [{"name": evil, "label": evil}], "output": evil})
    score_report(rep, Config())
    source = render_html(rep)
    assert "<script" not in source.lower()
    assert_self_contained(source)
    assert evil in Page(source).text


def test_html_load_notes_and_failure():
    ok = Report(submission="nb.ipynb", checks=[], load={
        "ok": True, "kind": "notebook",
        "warnings": [{"label": "cell 4", "line": 2, "error": "NameError: name 'plt' is not defined",
                      "traceback": "Traceback ...\nNameError"}],
        "problems": ["cell 7 does not parse (invalid syntax at line 3); the rest was loaded"],
        "set_aside": [{"name": "train", "label": "cell 30", "reason": "redefines train after the heading"}],
        "used": [{"name": "Dense", "label": "cell 3"}], "output": "hello\n" * 500})
    score_report(ok, Config())
    text = Page(render_html(ok)).text
    for s in ("Loading your submission", "cell 4", "NameError: name 'plt' is not defined", "cell 7 does not parse",
              "Definitions set aside", "redefines train after the heading", "What your code printed while loading",
              "more lines not shown"):
        assert s in text
    bad = Report(submission="x.py", checks=[], load={"ok": False, "message": "SyntaxError at line 3"})
    score_report(bad, Config())
    text = Page(render_html(bad)).text
    assert "could not be loaded" in text and "SyntaxError at line 3" in text


def test_html_output_is_capped():
    rec = CheckRecord(id="relu.x", title="t", section="core", status=Status.FAILED, score=0, max_score=1,
                      output="x" * 200 + "\n" + "spam\n" * 10_000)
    rep = score_report(Report(submission="s", checks=[rec]), Config())
    source = render_html(rep)
    assert source.count("spam") < 200 and "more lines not shown" in source


def test_fix_first_core_first_then_points():
    checks = [
        {"id": "xavier.init", "section": "options", "max_score": 50.0, "bad": True},
        {"id": "relu.forward", "section": "core", "max_score": 5.0, "bad": True},
        {"id": "relu.backward", "section": "core", "max_score": 5.0, "bad": False},
        {"id": "dense.backward.params", "section": "core", "max_score": 10.0, "bad": True},
        {"id": "loss.value", "section": "core", "max_score": 5.0, "bad": True},
    ]
    assert [c["id"] for c in fix_first(checks)] == ["dense.backward.params", "relu.forward"]
    assert [c["id"] for c in fix_first(checks, 1)] == ["dense.backward.params"]
    assert fix_first([checks[2]]) == []


def test_option_experiment_curves_render():
    """Option experiments: curves with arbitrary arm names, flat or nested, drawn as inline PNGs."""
    flat = CheckRecord(id="xavier.experiment", title="Xavier vs default", section="options",
                       status=Status.PASSED, score=1, max_score=1,
                       details={"curves": {"xavier": [0.5, 0.8, 0.9], "default": [0.3, 0.6, 0.8]}})
    nested = CheckRecord(id="l2.experiment", title="L2 vs none", section="options", status=Status.FAILED,
                         score=0, max_score=1, message="L2 did not help", hint="check alpha",
                         details={"curves": {"l2": {"val_acc": [0.5, 0.7], "loss": [1, 0.5]},
                                             "none": {"val_acc": [0.4, 0.6], "loss": [1.1, "nan"]}}})
    rep = score_report(Report(submission="s", checks=[flat, nested]), Config())
    page = assert_self_contained(render_html(rep))
    assert len(page.attrs("img")) == 2
    assert "check alpha" in page.text


# --------------------------------------------------------------------------
# plots


def test_curve_panels_shapes():
    nested = {"student": {"val_accuracy": [1, 2], "train_loss": [3, 4], "only_mine": [1]},
              "reference": {"val_accuracy": [1, 3], "train_loss": [3, 5]}}
    assert list(plots.curve_panels(nested)) == ["val_accuracy", "train_loss"]
    assert list(plots.curve_panels(nested)["val_accuracy"]) == ["student", "reference"]
    assert plots.curve_panels({"xavier": [1, 2], "default": [2, 1], "note": "x"}) == {
        "": {"xavier": [1.0, 2.0], "default": [2.0, 1.0]}}
    assert plots.curve_panels({"a": {"x": [1]}, "b": {"y": [2]}}) == {"x": {"a": [1.0]}, "y": {"b": [2.0]}}
    assert plots.curve_panels({"a": "nan", "b": []}) == {}
    assert plots.curve_panels(None) == {} and plots.curve_panels([1, 2]) == {}


@pytest.mark.parametrize("curves", [
    {"student": {"val_acc": [0.1, 0.5, "nan", 0.9]}, "reference": {"val_acc": [0.2, 0.6, 0.8, "inf"]}},
    {"sgd": [1.0, 0.5, 0.25], "adam": list(range(5000))},
    {"momentum": {"loss": [3, 2, 1]}, "sgd": {"loss": [3, 2.5, 2]}},
])
def test_curves_svg(curves):
    import base64
    import xml.etree.ElementTree as ET

    uri = plots.curves_svg(curves, "title")
    assert uri and uri.startswith("data:image/svg+xml;base64,")
    svg = ET.fromstring(base64.b64decode(uri.split(",", 1)[1]))
    assert int(svg.get("width")) <= 800 and int(svg.get("height")) <= 400
    assert len(uri) < 120_000
    ns = "{http://www.w3.org/2000/svg}"
    lines = svg.findall(f"{ns}polyline")
    finite_runs = 3 if "student" in curves else 2  # a NaN or inf breaks a line in two
    assert len(lines) == finite_runs
    dashed = [p for p in lines if p.get("stroke-dasharray")]
    assert len(dashed) == 1  # the reference's or SGD's line, dashed
    texts = [t.text for t in svg.iter(f"{ns}text")]
    assert "title" in texts
    for line in lines:  # every point inside the picture
        for point in line.get("points").split():
            x, y = map(float, point.split(","))
            assert 0 <= x <= float(svg.get("width")) and 0 <= y <= float(svg.get("height"))


@pytest.mark.parametrize("curves", [{"sgd": [1.0, 0.5, 0.25], "adam": [1.0, 0.3, "nan", 0.1]}])
def test_curves_png_for_the_notebook_output(curves):
    uri = plots.curves_png(curves, "title")
    w, h = png_size(uri)
    assert w <= 800 and h <= 400


def test_notebook_output_draws_png_and_the_html_report_svg():
    from nncheck.classroom.jupyter import render_inline
    from nncheck.report.html import render_html_dict

    check = {"id": "momentum.experiment", "title": "t", "section": "options", "status": "passed", "score": 1,
             "max_score": 1, "message": "", "diagnosis": [], "hint": "",
             "details": {"curves": {"option": [2.0, 1.0, 0.5], "baseline": [2.0, 1.8, 1.5]}}}
    d = {"submission": "s.py", "score": 1, "max_score": 1, "checks": [check], "load": {"ok": True},
         "sections": {}, "exit_code": 0}
    assert 'src="data:image/png;base64,' in render_inline(d, "momentum")
    page = render_html_dict(d)
    assert 'src="data:image/svg+xml;base64,' in page and "data:image/png" not in page


def test_curves_svg_escapes_labels():
    import base64

    uri = plots.curves_svg({"option": [1, 2], "baseline": [2, 3]}, "a < b & c",
                           labels={"option": "<script>alert(1)</script>"})
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &lt; b &amp; c" in svg


@pytest.mark.parametrize("bad", [None, "x", [], [[1, 2], [3]], [[[1]]], {"a": 1}, ["nan", "nan"]])
def test_pictures_of_nonsense_are_none_not_errors(bad):
    assert plots.curves_svg(bad) is None
    if bad != ["nan", "nan"]:
        assert plots.heatmap_png(bad) is None


def test_heatmap_png():
    uri = plots.heatmap_png([[0.0, 1.0, 0.5], [0.9, "nan", 0.0]], "dW")
    assert png_size(uri) == (600, 300)
    assert plots.heatmap_png([0.1, 0.2, 0.3]) is not None


# --------------------------------------------------------------------------
# Gradescope


def validate_gradescope(doc: dict):
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_gradescope_schema_is_a_valid_schema_and_refuses_nonsense():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    v = jsonschema.Draft202012Validator(SCHEMA)
    assert v.is_valid({"score": 1})
    assert v.is_valid({"tests": [{"score": 1, "max_score": 1}]})
    assert not v.is_valid({"tests": [{"max_score": 1}]})                 # no score anywhere
    assert not v.is_valid({"score": 1, "tests": [{"status": "ok"}]})
    assert not v.is_valid({"score": 1, "visibility": "public"})
    assert not v.is_valid({"score": 1, "output_format": "rst"})
    assert not v.is_valid({"score": 1, "tests": [{"number": 1}]})
    assert not v.is_valid({"score": 1, "scores": 2})


@pytest.mark.parametrize("which", ["reference", "template", "buggy", "xss"])
def test_gradescope_results(reports, which):
    rep = reports[which]
    doc = json.loads(render_gradescope(rep))
    validate_gradescope(doc)
    assert doc["score"] == pytest.approx(rep.score)
    assert doc["output_format"] == "text" and doc["test_output_format"] == "text"
    assert isinstance(doc["execution_time"], int)
    d = report_dict(rep)
    collapsed = {(sec, fam) for sec, fams in not_attempted(d).items() for fam in fams}
    unattempted = [c for c in rep.checks if (c.section, c.family) in collapsed]
    # every check is a test of its own, or one of the one line's that collapses the unattempted families
    own = [t for t in doc["tests"] if "id" in t["extra_data"]]
    lines = [t for t in doc["tests"] if "ids" in t["extra_data"]]
    assert [t["extra_data"]["id"] for t in own] == [c.id for c in rep.checks if c not in unattempted]
    assert sorted(i for t in lines for i in t["extra_data"]["ids"]) == sorted(c.id for c in unattempted)
    assert len(lines) == len(not_attempted(d))
    for t in lines:  # never a red test for work not handed in
        assert t["status"] == "passed" and t["score"] == t["max_score"] == 0
        assert t["name"].startswith("Not attempted: ")
    for t, c in zip(own, [c for c in rep.checks if c not in unattempted]):
        for key in ("name", "number", "score", "max_score", "status", "output", "output_format", "tags",
                    "visibility"):
            assert key in t, key
        assert c.id in t["name"]
        assert t["status"] == ("passed" if c.status is Status.PASSED else "failed")
        assert t["output_format"] == "text"
        if c.status is not Status.PASSED and c.hint:
            assert c.hint in t["output"]
    # the schema check's rule: no check that was not attempted is ever "failed"
    failed_ids = {t["extra_data"].get("id") for t in doc["tests"] if t["status"] == "failed"}
    assert not failed_ids & {c.id for c in unattempted}
    # the tests add up to the score (only counted families carry points)
    assert sum(t["score"] for t in doc["tests"]) == pytest.approx(rep.score)
    assert len({t["number"] for t in doc["tests"]}) == len(doc["tests"])


def test_gradescope_options_not_counted_have_zero_max():
    checks = [
        CheckRecord(id="relu.forward", title="r", section="core", status=Status.PASSED, score=5, max_score=5),
        CheckRecord(id="xavier.init", title="x", section="options", status=Status.PASSED, score=5, max_score=5),
        CheckRecord(id="l2.grad", title="l", section="options", status=Status.FAILED, score=0, max_score=5),
        CheckRecord(id="adam.step", title="a", section="options", status=Status.SKIPPED, score=0, max_score=5,
                    message="AdamDense is not defined: not attempted"),
    ]
    rep = score_report(Report(submission="s", checks=checks), Config())
    doc = gradescope_dict(report_dict(rep))
    validate_gradescope(doc)
    by = {t["extra_data"].get("id"): t for t in doc["tests"]}
    assert by["xavier.init"]["max_score"] == 5 and by["l2.grad"]["max_score"] == 0
    assert by["adam.step"]["status"] == "failed" and "not attempted" in by["adam.step"]["output"]
    assert sum(t["score"] for t in doc["tests"]) == doc["score"] == 10


def test_gradescope_unattempted_families_are_one_calm_test():
    """17 red "Skipped: not attempted" tests were one line in the text report: here too, 0/0 and
    passed (the specification's status for a test that did not fail), never failed."""
    def rec(cid, section, status, message="", score=0, max_score=5):
        return CheckRecord(id=cid, title=cid, section=section, status=status, score=score, max_score=max_score,
                           message=message)
    checks = [rec("relu.forward", "core", Status.PASSED, score=5),
              rec("l2.grad", "options", Status.FAILED, "wrong"),
              *[rec(f"{fam}.{n}", "options", Status.SKIPPED, f"not attempted: no {fam.title()}Dense in the "
                    "submission") for fam in ("xavier", "momentum", "adam") for n in ("a", "b", "c")],
              *[rec(f"dropout.{n}", "bonus", Status.SKIPPED, "not attempted: no Dropout in the submission")
                for n in ("a", "b")]]
    rep = score_report(Report(submission="s", checks=checks), Config())
    doc = gradescope_dict(report_dict(rep))
    validate_gradescope(doc)
    assert [t["name"] for t in doc["tests"]] == [
        "relu.forward (relu.forward)", "l2.grad (l2.grad)", "Not attempted: xavier, momentum, adam",
        "Not attempted: dropout"]
    assert [t["number"] for t in doc["tests"]] == ["1.1", "2.1", "2.2", "3.1"]
    for t in doc["tests"][2:]:
        assert t["status"] == "passed" and t["score"] == t["max_score"] == 0
    assert doc["tests"][2]["extra_data"]["ids"] == [c.id for c in checks[2:11]]
    assert "Skipped" not in json.dumps(doc["tests"])
    # the text report says the same, in its own words
    assert "not attempted: xavier, momentum, adam" in render_text(rep)
    assert sum(t["score"] for t in doc["tests"]) == doc["score"]


def test_gradescope_load_failure():
    rep = score_report(Report(submission="x.py", checks=[], load={"ok": False, "message": "boom <b>"}), Config())
    doc = gradescope_dict(report_dict(rep))
    validate_gradescope(doc)
    assert doc["tests"][0]["status"] == "failed" and "boom <b>" in doc["tests"][0]["output"]
    # with checks that could not run: still the one test, not one per check
    checks = [CheckRecord(id=f"relu.c{i}", title="t", section="core", status=Status.ERROR, score=0, max_score=1,
                          message="not run: the submission could not be loaded") for i in range(40)]
    rep = score_report(Report(submission="x.ipynb", checks=checks,
                              load={"ok": False, "message": "x.ipynb is empty (0 bytes)"}), Config())
    doc = gradescope_dict(report_dict(rep))
    validate_gradescope(doc)
    (test,) = doc["tests"]
    assert test["status"] == "failed" and "x.ipynb is empty (0 bytes)" in test["output"]
    assert "None of the 40 checks ran" in test["output"]


# --------------------------------------------------------------------------
# JUnit


def check_junit(source: str, rep: Report) -> ET.Element:
    root = ET.fromstring(source.encode("utf-8"))
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    by_status = {s: [c for c in rep.checks if c.status is s] for s in Status}
    load_error = 0 if rep.load.get("ok", True) else 1
    assert len(cases) == len(rep.checks) + load_error
    assert int(root.get("tests")) == len(cases)
    assert int(root.get("failures")) == len(by_status[Status.FAILED])
    assert int(root.get("errors")) == len(by_status[Status.ERROR]) + len(by_status[Status.TIMEOUT]) + load_error
    assert int(root.get("skipped")) == len(by_status[Status.SKIPPED])
    for suite in root.findall("testsuite"):
        sc = suite.findall("testcase")
        assert int(suite.get("tests")) == len(sc)
        assert int(suite.get("failures")) == sum(1 for c in sc if c.find("failure") is not None)
        assert int(suite.get("errors")) == sum(1 for c in sc if c.find("error") is not None)
        assert int(suite.get("skipped")) == sum(1 for c in sc if c.find("skipped") is not None)
        float(suite.get("time"))
    records = {c.id: c for c in rep.checks}
    for case in cases:
        if case.get("name") == "load":
            continue
        rec = records[case.get("name")]
        assert case.get("classname") == f"{rec.section}.{rec.family}"
        kids = {k.tag for k in case}
        expected = {"failed": {"failure"}, "error": {"error"}, "timeout": {"error"}, "skipped": {"skipped"},
                    "passed": set()}[str(rec.status)]
        assert kids - {"system-out"} == expected
        if rec.status is Status.FAILED:
            f = case.find("failure")
            assert f.get("message") == xml_text(rec.message)
            if rec.hint:
                assert xml_text(rec.hint) in f.text
        if rec.output:
            assert case.find("system-out") is not None
    return root


@pytest.mark.parametrize("which", ["reference", "template", "buggy", "xss"])
def test_junit_parses_and_counts_match(reports, which):
    rep = reports[which]
    root = check_junit(render_junit(rep), rep)
    if which == "xss":
        outs = " ".join(e.text or "" for e in root.iter("system-out"))
        assert "<script>alert(1)</script>" in outs          # escaped in the XML, text once parsed
        assert "\x00" not in outs and "\x1b" not in outs


def test_junit_statuses_and_illegal_characters():
    evil = "bad \x00\x01\x1b[31m\ud800 chars & <tags> ]]>"
    checks = [CheckRecord(id=f"relu.{s.value}", title=evil, section="core", status=s, score=0, max_score=1,
                          message=evil, hint=evil, output=evil, traceback=evil, diagnosis=["relu-x"])
              for s in Status]
    checks.append(CheckRecord(id="dropout.mask", title="d", section="bonus", status=Status.SKIPPED, score=0,
                              max_score=1, message="Dropout is not defined"))
    rep = score_report(Report(submission=evil, checks=checks, load={"ok": True, "output": evil}), Config())
    root = check_junit(render_junit(rep), rep)
    assert [s.get("name") for s in root.findall("testsuite")] == ["nncheck.core", "nncheck.bonus"]
    failure = root.find(".//failure")
    assert "<tags>" in failure.get("message") and "\x00" not in failure.get("message")


def test_junit_load_failure():
    rep = score_report(Report(submission="x.py", checks=[], load={"ok": False, "message": "no"}), Config())
    root = check_junit(render_junit(rep), rep)
    assert root.find(".//testcase/error").get("type") == "load"


# --------------------------------------------------------------------------
# Through the command line


@pytest.mark.parametrize("fmt", ["html", "gradescope", "junit"])
def test_cli_formats(tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(main, ["submit", str(REFERENCE_DIR), "--format", fmt, "--output", str(out),
                                       "--check", "relu", "-q"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "html":
        assert_self_contained(text)
        assert "12 / 12" in Page(text).text
    elif fmt == "gradescope":
        validate_gradescope(json.loads(text))
    else:
        assert ET.fromstring(text.encode()).get("tests") == "3"


def test_a_plugin_adds_a_format_with_nncheck_report_formats(tmp_path):
    """A new format is one small function registered through the hook."""
    import textwrap

    from click.testing import CliRunner

    from nncheck.cli import main

    plugin = tmp_path / "oneline.py"
    plugin.write_text(textwrap.dedent('''
        import nncheck
        from nncheck.report.text import report_dict

        def render(report, config=None):
            d = report_dict(report)
            return f"{d['submission']},{d['score']:g},{d['max_score']:g}\\n"

        @nncheck.hookimpl
        def nncheck_report_formats():
            return {"oneline": render}
    '''))
    result = CliRunner().invoke(main, ["submit", "reference", "--check", "relu", "--format", "oneline",
                                       "--plugin", str(plugin)])
    assert result.exit_code == 0
    assert result.output == "reference,12,12\n"


# --------------------------------------------------------------------------
# Tracebacks: the student's frames only, on every surface

TRACEBACK_SUBMISSION = '''
import numpy as np

bad = np.stack([np.zeros(2), np.zeros(3)])      # raises inside NumPy's own Python code, at load


class Layer:
    def forward(self, input):
        return input
    def backward(self, input, grad_output):
        return grad_output


def helper(x):
    return np.stack([x, x[:1]])                  # raises inside NumPy, called from ReLU.forward


class ReLU(Layer):
    def forward(self, input):
        return helper(input)
    def backward(self, input, grad_output):
        return grad_output * (input > 0)
'''

GRADER_PATHS = ("/nncheck/", "probes.py", "sandboxed.py", "site-packages", "numpy/", "worker/loop.py", "nncheck/worker")


def test_tracebacks_show_only_the_students_frames(eng, tmp_path):
    """A traceback seen at the `message` feedback level showed nncheck's probes (``/nncheck/nncheck/
    probes.py``) and NumPy's frames: now every surface shows the student's frames only."""
    from nncheck.classroom.jupyter import render_inline
    from nncheck.config import from_mapping
    from nncheck.report.feedback import for_student
    from nncheck.report.prairielearn import prairielearn_dict

    path = tmp_path / "hw.py"
    path.write_text(TRACEBACK_SUBMISSION, encoding="utf-8")
    rep = eng.grade(path, only=["relu.forward"])
    (c,) = rep.checks
    assert c.status is Status.ERROR and "ValueError" in c.message
    assert c.traceback.startswith("Traceback (most recent call last):")
    frames = [line.strip() for line in c.traceback.splitlines() if line.strip().startswith("File ")]
    assert frames == ['File "hw.py", line 20, in forward', 'File "hw.py", line 15, in helper'], c.traceback
    assert c.traceback.rstrip().splitlines()[-1].startswith("ValueError: all input arrays must have the same shape")
    (warning,) = rep.load["warnings"]
    assert [line.strip() for line in warning["traceback"].splitlines() if line.strip().startswith("File ")] == [
        'File "hw.py", line 4, in <module>']
    config = from_mapping({"feedback": {"core": "message"}})
    student = for_student(rep, config)
    surfaces = {
        "json": render_json(rep, config),
        "html": render_html(student),
        "jupyter": render_inline(report_dict(student), "relu"),
        "gradescope": render_gradescope(rep, config),
        "prairielearn": json.dumps(prairielearn_dict(report_dict(rep), config)),
        "junit": render_junit(rep),
    }
    for name, text in surfaces.items():
        for grader in GRADER_PATHS:
            assert grader not in text, (name, grader)
    doc = json.loads(surfaces["gradescope"])
    assert doc["tests"][0]["extra_data"]["feedback"] == "message"
    assert 'File "hw.py", line 15, in helper' in doc["tests"][0]["output"]
    assert "Traceback (your code)" in surfaces["jupyter"] and "line 15, in helper" in Page(surfaces["jupyter"]).text


# --------------------------------------------------------------------------
# One report, four surfaces, the same story

def _mixed_report() -> Report:
    def rec(cid, section, status, message="", **kw):
        return CheckRecord(id=cid, title=f"title of {cid}", section=section, status=status,
                           score=kw.pop("score", 0.0), max_score=kw.pop("max_score", 5.0), message=message, **kw)
    checks = [
        rec("relu.forward", "core", Status.PASSED, "max(x, 0) everywhere", score=5.0),
        rec("dense.forward", "core", Status.FAILED, "input @ W + b is off by the biases", hint="add b",
            diagnosis=["dense-forward-no-bias"]),
        rec("dense.backward.params", "core", Status.ERROR, "your code raised ValueError: shapes (3,) (4,)",
            traceback='Traceback (most recent call last):\n  File "hw.ipynb [cell 7]", line 3, in backward\n'
                      "ValueError: shapes (3,) (4,)\n"),
        rec("network.train", "core", Status.TIMEOUT, "did not finish within 10 s"),
        rec("l2.grad", "options", Status.FAILED,
            "Dense_reg.backward has two mistakes (observed with batch size 13):\n"
            "x.T @ grad_output is divided by the batch size: 0.0769 (1/13) of it.\n"
            "The bias gradient is grad_output.mean(axis=0): 0.0769 (1/13) of the sum.",
            diagnosis=["l2-divided-by-batch"]),
        rec("l2.experiment", "options", Status.SKIPPED, "skipped because l2.grad did not pass"),
        *[rec(f"{fam}.{n}", "options", Status.SKIPPED, f"not attempted: no {fam} in the submission")
          for fam in ("xavier", "adam") for n in ("a", "b")],
        *[rec(f"dropout.{n}", "bonus", Status.SKIPPED, "not attempted: no Dropout in the submission")
          for n in ("a", "b", "c")],
    ]
    return score_report(Report(submission="hw.ipynb", checks=checks, load={
        "ok": True, "data_loader": [{"label": "cell 13", "line": 5}]}), Config())


@pytest.mark.parametrize("which", ["mixed", "template", "buggy"])
def test_text_html_jupyter_and_gradescope_tell_the_same_story(reports, which):
    """Every surface says the same statuses and the same messages (each line of a message that
    names several mistakes), the same "not attempted" families and the same load note."""
    import html as htmllib
    import re

    import markupsafe

    from nncheck.classroom.jupyter import render_inline
    from nncheck.report.text import data_loader_note, message_lines

    rep = _mixed_report() if which == "mixed" else reports[which]
    d = report_dict(rep)
    collapsed = not_attempted(d)
    hidden = {(sec, fam) for sec, fams in collapsed.items() for fam in fams}
    shown = [c for c in d["checks"] if (c["section"], c["id"].split(".", 1)[0]) not in hidden]
    expected = {c["id"]: c["status"] for c in shown}

    text = render_text(rep)
    page = render_html(rep)
    inline = render_inline(d, "everything")
    gs = gradescope_dict(d)

    symbols = {"PASS": "passed", "FAIL": "failed", "ERR": "error", "TIME": "timeout", "SKIP": "skipped"}
    rows = {
        "text": (r"^  (PASS|FAIL|ERR |TIME|SKIP) (\S+)", text, re.M),
        "html": (r'<article class="check st-(\w+)" id="check-([^"]+)"', page, 0),
        "jupyter": (r'<details class="nn-check">\s*<summary><span class="nn-badge st-(\w+)">.*?'
                    r'<code class="nn-cid">([^<]+)</code>', inline, re.S),
    }
    told = {
        surface: {htmllib.unescape(m[2]): symbols.get(m[1].strip(), m[1]) for m in re.finditer(rx, doc, flags)}
        for surface, (rx, doc, flags) in rows.items()
    }
    told |= {
        "gradescope": {t["extra_data"]["id"]: t["extra_data"]["nncheck_status"] for t in gs["tests"]
                       if "id" in t["extra_data"]},
    }
    for surface, statuses in told.items():
        assert statuses == expected, surface
    for c in shown:
        if c["status"] == "passed":
            continue
        gs_out = next(t["output"] for t in gs["tests"] if t["extra_data"].get("id") == c["id"])
        for line in message_lines(c["message"]):
            assert line in text, ("text", c["id"], line)
            assert str(markupsafe.escape(line)) in page, ("html", c["id"], line)
            assert str(markupsafe.escape(line)) in inline, ("jupyter", c["id"], line)
            assert line in gs_out, ("gradescope", c["id"], line)
    for sec, fams in collapsed.items():
        words = ", ".join(fams)
        assert f"not attempted: {words}" in text
        assert f"not attempted: {words}" in page
        assert f"</span> {words} <span" in inline
        assert f"Not attempted: {words}" in [t["name"] for t in gs["tests"]]
    note = data_loader_note(d["load"])
    if note:
        for surface in (text, htmllib.unescape(page), htmllib.unescape(inline), gs["output"]):
            assert surface.count(note) == 1
