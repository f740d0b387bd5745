"""Feedback levels and visibility (CONTRACT §5) in every format, and PrairieLearn's results.json.

One grading of a real mistake (the bias gradient averaged instead of
summed: message, hint, diagnosis and expected-vs-got all present in full)
is rendered under each ``[feedback]`` level and ``[visibility]`` setting, in
each format; the student audience and the platforms must show what the
level allows and nothing more, the instructor's JSON everything.
"""
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from nncheck.cli import main
from nncheck.config import ConfigError, from_mapping
from nncheck.selftest.conventions import reference_source
from nncheck.report.feedback import check_keys, for_student, trim_check, trim_record
from nncheck.classroom.jupyter import render_inline
from nncheck.report.gradescope import gradescope_dict, render_gradescope
from nncheck.report.html import render_html
from nncheck.report.junit import render_junit
from nncheck.report.prairielearn import prairielearn_dict, render_prairielearn
from nncheck.report.text import render_json, render_text, report_dict

REPO = Path(__file__).resolve().parents[1]
GS_SCHEMA = json.loads((REPO / "tests" / "schemas" / "gradescope_results.schema.json").read_text())
PL_SCHEMA = json.loads((REPO / "tests" / "schemas" / "prairielearn_results.schema.json").read_text())

BUG = ("grad_output.sum(axis=0)", "grad_output.mean(axis=0)")
MESSAGE = "The bias gradient is averaged over the batch"
HINT = "grad_output is already divided by the batch size"
DIAGNOSIS = "dense-bias-grad-mean"
TARGET = "dense.backward.params"


def buggy_source() -> str:
    return reference_source().replace(*BUG, 1)


@pytest.fixture(scope="module")
def report(engine, tmp_path_factory):
    path = tmp_path_factory.mktemp("feedback") / "bias_mean.py"
    path.write_text(buggy_source(), encoding="utf-8")
    rep = engine.grade(path, only=["relu", "dense"])
    rec = {c.id: c for c in rep.checks}[TARGET]
    assert rec.diagnosis == [DIAGNOSIS] and HINT in rec.hint and rec.details, "the fixture lost its evidence"
    return rep


def cfg(feedback=None, visibility=None):
    return from_mapping({"feedback": feedback or {}, "visibility": visibility or {}})


def render(fmt: str, report, config) -> str:
    """``fmt`` as the student sees it (platform formats carry levels in their own fields)."""
    if fmt == "gradescope":
        return render_gradescope(report, config)
    if fmt == "prairielearn":
        return render_prairielearn(report, config)
    student = for_student(report, config)
    if fmt == "text":
        return render_text(student, config)
    if fmt == "json":
        return render_json(student, config)
    if fmt == "html":
        return render_html(student, config)
    if fmt == "junit":
        return render_junit(student, config)
    if fmt == "notebook":
        return render_inline(report_dict(student), "dense")
    raise AssertionError(fmt)


def expected_values_shown(fmt: str, text: str) -> bool:
    """Does the page show expected-vs-got evidence (shapes, tables, error maps)?"""
    if fmt in ("html", "notebook"):
        return "shape expected" in text.lower() or 'class="arr' in text or "data:image/png" in text
    if fmt == "json":
        d = json.loads(text)
        return any(c["details"] for c in d["checks"] if c["id"].startswith("dense."))
    if fmt in ("gradescope", "prairielearn"):
        return "shape expected" in text or "data:image/png" in text
    return False  # text and JUnit never show details


FORMATS = ["text", "json", "html", "junit", "notebook", "gradescope", "prairielearn"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("level", ["full", "message", "score"])
def test_feedback_level_in_every_format(report, fmt, level):
    text = render(fmt, report, cfg(feedback={"dense": level}))
    unescaped = text.replace("&#39;", "'").replace("&quot;", '"')
    assert (MESSAGE in unescaped) == (level != "score"), f"{fmt}/{level}: message"
    assert (HINT in unescaped) == (level == "full"), f"{fmt}/{level}: hint"
    assert (DIAGNOSIS in unescaped) == (level == "full"), f"{fmt}/{level}: diagnosis"
    if fmt not in ("text", "junit"):
        assert expected_values_shown(fmt, text) == (level == "full"), f"{fmt}/{level}: expected values"
    # the score is always there
    if fmt == "gradescope":
        test = next(t for t in json.loads(text)["tests"] if t["extra_data"]["id"] == TARGET)
        assert (test["score"], test["max_score"], test["status"]) == (0.0, 10.0, "failed")
        assert test["extra_data"]["feedback"] == level
        jsonschema.validate(json.loads(text), GS_SCHEMA)
    elif fmt == "prairielearn":
        test = next(t for t in json.loads(text)["tests"] if t["description"].startswith(TARGET))
        assert (test["points"], test["max_points"]) == (0.0, 10.0)
        jsonschema.validate(json.loads(text), PL_SCHEMA)
    elif fmt == "json":
        c = next(c for c in json.loads(text)["checks"] if c["id"] == TARGET)
        assert (c["status"], c["score"], c["max_score"], c["feedback"]) == ("failed", 0.0, 10.0, level)


def test_levels_keyed_by_id_family_and_section(report):
    config = cfg(feedback={"core": "score", "dense": "message", TARGET: "full"})
    d = report_dict(for_student(report, config))
    levels = {c["id"]: ("full" if c["hint"] or c["details"] else "message" if c["message"] else "score")
              for c in d["checks"] if c["status"] == "failed" or c["id"] in ("relu.forward", "dense.forward")}
    assert levels[TARGET] == "full"                          # its own id wins
    assert levels["dense.numerical_gradient"] == "message"   # then its family
    assert all(levels[k] == "score" for k in levels if k.startswith("relu."))  # then its section


@pytest.mark.parametrize("fmt", ["text", "json", "html", "junit", "notebook", "prairielearn"])
@pytest.mark.parametrize("visibility", ["hidden", "after_due_date", "after_published"])
def test_checks_not_visible_are_left_out_for_students(report, fmt, visibility):
    config = cfg(visibility={TARGET: visibility})
    text = render(fmt, report, config)
    assert TARGET not in text and "Dense updates W and b by SGD" not in text
    assert "dense.forward" in text  # the visible ones stay
    if fmt == "prairielearn":
        d = json.loads(text)
        # PrairieLearn has no per-test visibility: the check is not listed, but it still counts
        assert d["score"] == pytest.approx(report.score / report.max_score)
        assert "1 check(s) are graded but not shown" in d["output"]
        jsonschema.validate(d, PL_SCHEMA)
    elif fmt in ("text", "html", "notebook"):
        assert "not shown here" in text


def test_student_score_counts_only_the_checks_shown(report):
    student = for_student(report, cfg(visibility={TARGET: "hidden"}))
    shown = {c.id: c for c in student.checks}
    assert TARGET not in shown
    assert student.max_score == pytest.approx(report.max_score - 10.0)
    assert student.score == pytest.approx(report.score)  # the hidden check earned nothing
    assert student.audience == {"name": "student", "hidden_checks": 1, "trimmed_checks": 0}
    assert student.exit_code() == 1  # dense.numerical_gradient still fails, and shows


@pytest.mark.parametrize("visibility", ["visible", "hidden", "after_due_date", "after_published"])
def test_gradescope_gets_visibility_per_test(report, visibility):
    d = gradescope_dict(report_dict(report), cfg(visibility={TARGET: visibility}))
    jsonschema.validate(d, GS_SCHEMA)
    by_id = {t["extra_data"]["id"]: t for t in d["tests"]}
    assert by_id[TARGET]["visibility"] == visibility
    assert all(t["visibility"] == "visible" for i, t in by_id.items() if i != TARGET)
    assert d["score"] == report.score  # the score is nncheck's, whatever shows
    # per-section points would give a check shown later away
    assert ("core:" in d["output"]) == (visibility == "visible")
    assert ("sections" in d["extra_data"]) == (visibility == "visible")


def test_instructor_json_keeps_everything_and_says_the_levels(report):
    config = cfg(feedback={"dense": "score"}, visibility={TARGET: "hidden"})
    d = json.loads(render_json(report, config))
    c = next(c for c in d["checks"] if c["id"] == TARGET)
    assert HINT in c["hint"] and c["diagnosis"] == [DIAGNOSIS] and c["details"]
    assert (c["feedback"], c["visibility"]) == ("score", "hidden")
    assert "audience" not in d


def test_trimming_keeps_only_what_the_level_allows(report):
    rec = {c.id: c for c in report.checks}[TARGET]
    msg = trim_record(rec, "message")
    assert (msg.message, msg.hint, msg.diagnosis, msg.details) == (rec.message, "", [], {})
    assert (msg.score, msg.max_score, msg.status) == (rec.score, rec.max_score, rec.status)
    assert trim_record(rec, "score").message == ""
    assert trim_record(rec, "full") == rec
    c = {"id": "x.y", "section": "core", "status": "failed", "score": 0, "max_score": 1, "message": "m",
         "hint": "h", "diagnosis": ["d"], "details": {"expected": [1]}, "where": [{"line": 3}], "extra": 7}
    assert trim_check(c, "message") == {"id": "x.y", "section": "core", "status": "failed", "score": 0,
                                        "max_score": 1, "message": "m", "hint": "", "diagnosis": [],
                                        "details": {}, "where": [], "extra": None}


def test_config_tables_are_validated(tmp_path, engine):
    with pytest.raises(ConfigError, match="feedback.core: expected one of full, message, score"):
        from_mapping({"feedback": {"core": "everything"}})
    with pytest.raises(ConfigError, match="visibility.dense: expected one of visible, hidden"):
        from_mapping({"visibility": {"dense": "later"}})
    with pytest.raises(ConfigError, match="feedback.dense.backwrd: names no check"):
        check_keys(cfg(feedback={"dense.backwrd": "message"}), engine.checks)
    check_keys(cfg(feedback={"core": "message", "dense": "score", TARGET: "full"},
                   visibility={"bonus": "hidden"}), engine.checks)


def test_cli_audience_student(tmp_path):
    sub = tmp_path / "bias_mean.py"
    sub.write_text(buggy_source(), encoding="utf-8")
    conf = tmp_path / "nncheck.toml"
    conf.write_text('[feedback]\ndense = "message"\n[visibility]\n"dense.numerical_gradient" = "after_due_date"\n')
    runner = CliRunner()
    args = ["submit", str(sub), "--check", "dense", "--config", str(conf), "--format", "json"]
    student = runner.invoke(main, [*args, "--audience", "student"])
    instructor = runner.invoke(main, args)
    assert student.exit_code == instructor.exit_code == 1, student.output
    s, i = json.loads(student.stdout), json.loads(instructor.stdout)
    assert [c["id"] for c in s["checks"]] == [c["id"] for c in i["checks"] if c["id"] != "dense.numerical_gradient"]
    assert s["audience"]["hidden_checks"] == 1 and s["max_score"] == i["max_score"] - 3
    assert all(not c["hint"] and not c["diagnosis"] for c in s["checks"])
    assert any(c["hint"] for c in i["checks"])
    text = runner.invoke(main, [*args[:-2], "--audience", "student"]).stdout
    assert "not shown here" in text and HINT not in text
    bad = tmp_path / "bad.toml"
    bad.write_text('[visibility]\n"dense.nope" = "hidden"\n')
    misuse = runner.invoke(main, ["submit", str(sub), "--config", str(bad)])
    assert misuse.exit_code == 2 and "names no check" in misuse.output


def test_prairielearn_results(report):
    d = prairielearn_dict(report_dict(report))
    jsonschema.validate(d, PL_SCHEMA)
    assert d["gradable"] is True
    assert d["score"] == pytest.approx(report.score / report.max_score)
    assert [t["description"].split(" ")[0] for t in d["tests"]] == [c.id for c in report.checks]
    assert all(0 <= t["points"] <= t["max_points"] for t in d["tests"])
    test = next(t for t in d["tests"] if t["description"].startswith(TARGET))
    assert MESSAGE in test["message"] and "Hint:" in test["message"] and DIAGNOSIS in test["message"]
    assert test["images"] and all(re.match(r"data:image/png;base64,", im["url"]) for im in test["images"])
    assert len(json.dumps(d)) < 1_000_000


def test_prairielearn_load_failure_is_not_gradable(engine, tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json", encoding="utf-8")
    rep = engine.grade(bad, only=["relu"])
    d = prairielearn_dict(report_dict(rep))
    jsonschema.validate(d, PL_SCHEMA)
    assert d["gradable"] is False and "not a valid Jupyter notebook" in d["format_errors"][0]


def test_prairielearn_schema_refuses_nonsense():
    jsonschema.Draft202012Validator.check_schema(PL_SCHEMA)
    for bad in ({"score": 1.5}, {"score": 0.5, "tests": [{"name": "x"}]}, {"scor": 1},
                {"score": 0.5, "images": [{"url": "http://example.com/x.png"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, PL_SCHEMA)
