"""``--format gradescope``: ``results.json`` as Gradescope's autograder specification defines it.

Spec: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (schema:
``tests/schemas/gradescope_results.schema.json``). A ``run_autograder`` script
runs ``nncheck submit /autograder/submission --format gradescope --output
/autograder/results/results.json``.

* The top-level ``score`` is the report's score (it overrides the sum of the
  tests, which matters because only the best option family counts and bonus
  points are extra).
* Every check is one test: ``name`` is its title and id, ``number``
  ``section.index`` ("1.3"), ``status`` ``passed``/``failed`` (a check that
  errored, timed out or was skipped did not pass). Checks in a family the
  score does not count (an option that is not your best) carry
  ``max_score`` 0 so the tests add up to what counts.
* The option and bonus families nobody attempted are not tests of their own:
  they collapse into one informational test per section ("Not attempted:
  xavier, momentum, ..."), 0/0 with ``status`` ``passed`` (the
  specification's status for a test that did not fail), as the text report's
  ``not attempted: ...`` line. Never a red test for work not handed in.
* A submission that could not be loaded is one failed test saying why and
  that no check ran, not one failed test per check.
* Every text is ``output_format: "text"``: messages quote the submission's
  own strings, and Gradescope renders ``html``/``simple_format`` as HTML.
* The config's ``[visibility]`` goes into each test's ``visibility``
  (Gradescope shows instructors every test; students see a test when its
  visibility says so; while an ``after_due_date``/``after_published`` test
  is hidden, so is the student's total). Its ``[feedback]`` level trims the
  test's ``output`` (:mod:`nncheck.report.feedback`) and is named in
  ``extra_data.feedback``. When any test is not visible, the top-level
  output leaves out the per-section points, which would give it away.
"""
from __future__ import annotations

import json
import math

from nncheck.report.feedback import cap_text as _cap, finite as _num, level_of, trim_check, visibility_of
from nncheck.model import SECTIONS
from nncheck.report.text import data_loader_note, message_text, not_attempted, not_run_sentence, report_dict
from nncheck.scoring import counts_toward_score

OUTPUT_CAP = 3000          # characters of printed output per test
TRACEBACK_CAP = 4000
LOAD_OUTPUT_CAP = 2000     # characters of what loading printed, in the top-level output
SCORE_ONLY = "Your instructor shows only the score of this check."




def _test_output(c: dict, counted: bool) -> str:
    from nncheck.report.diagnoses import diagnosis_title

    lines = []
    status = c["status"]
    if status == "skipped":
        lines.append("Skipped: " + (message_text(c["message"]) or "not run."))
    elif c["message"]:
        lines.append(message_text(c["message"]))
    if status != "passed" and c["hint"]:
        lines.append(f"Hint: {c['hint']}")
    for code in c["diagnosis"]:
        title = diagnosis_title(code)
        lines.append(f"Diagnosis: {title} [{code}]" if title else f"Diagnosis: {code}")
    details = c.get("details") or {}
    for label, d in [("", details)] + [(k, v) for k, v in details.items() if isinstance(v, dict)]:
        if isinstance(d, dict) and ("expected_shape" in d or "got_shape" in d):
            what = f"{label}: " if label else ""
            lines.append(f"{what}shape expected {d.get('expected_shape')}, got {d.get('got_shape')}")
    if not counted:
        lines.append("(Not counted in your score: only your best option family counts, "
                     "or this part was not attempted.)")
    if c.get("traceback"):
        lines.append("")
        lines.append(_cap(c["traceback"].rstrip(), TRACEBACK_CAP))
    if c.get("output"):
        lines.append("")
        lines.append("What your code printed:")
        lines.append(_cap(c["output"].rstrip(), OUTPUT_CAP))
    return "\n".join(lines).strip()


def _top_output(d: dict, all_visible: bool = True) -> str:
    lines = [f"nncheck {d['nncheck_version']}: score {_num(d['score']):g}/{_num(d['max_score']):g} "
             f"(seed {d['seed']}; {(d.get('inputs') or {}).get('kind', 'public')} inputs)."]
    if all_visible:
        for name in SECTIONS:
            s = d["sections"].get(name)
            if s and (s.get("max_score") or s.get("score") or s.get("attempted")):
                lines.append(f"  {name}: {_num(s['score']):g}/{_num(s['max_score']):g}")
    else:
        lines.append("Some checks are shown after the due date, after grades are published, or not at all.")
    load = d.get("load") or {}
    if not load.get("ok", True):
        lines.append(f"Your submission could not be loaded: {load.get('message', '')} {not_run_sentence(d)}")
    if data_loader_note(load):
        lines.append(f"Note: {data_loader_note(load)}.")
    for w in (load.get("warnings") or [])[:10]:
        if isinstance(w, dict):
            lines.append(f"Note: {w.get('label', '')} line {w.get('line', '')}: {w.get('error', '')} "
                         "(loading went on)")
    for p in (load.get("problems") or [])[:10]:
        lines.append(f"Note: {p}")
    for s in (load.get("set_aside") or [])[:10]:
        if isinstance(s, dict):
            lines.append(f"Note: {s.get('name', '')} in {s.get('label', '')} set aside: {s.get('reason', '')}")
    if load.get("output"):
        lines += ["", "What your code printed while loading:", _cap(str(load["output"]).rstrip(), LOAD_OUTPUT_CAP)]
    return "\n".join(lines)


def gradescope_dict(d: dict, config=None) -> dict:
    """The results.json document for a :func:`report_dict`; ``config`` gives each check's
    visibility and feedback level (everything visible and in full without one)."""
    tests = []
    per_section: dict[str, int] = {}
    section_no = {s: i + 1 for i, s in enumerate(SECTIONS)}
    all_visible = all(visibility_of(config, c["id"], c["section"]) == "visible" for c in d["checks"])
    load = d.get("load") or {}
    collapsed = not_attempted(d)

    def number(sec):
        per_section[sec] = per_section.get(sec, 0) + 1
        return f"{section_no.get(sec, len(SECTIONS) + 1)}.{per_section[sec]}"

    sections = dict.fromkeys(c["section"] for c in d["checks"]) if load.get("ok", True) else {}
    for sec in sections:  # not loaded: the one test below says so
        families = collapsed.get(sec, [])
        for c in d["checks"]:
            if c["section"] != sec or c["id"].split(".", 1)[0] in families:
                continue
            visibility = visibility_of(config, c["id"], sec)
            level = level_of(config, c["id"], sec)
            c = trim_check(c, level)
            counted = counts_toward_score(c, d.get("sections"))
            tags = [sec, c["id"].split(".", 1)[0], c["status"], *c["diagnosis"]]
            tests.append({
                "name": f"{c['title']} ({c['id']})" if c["title"] else c["id"],
                "name_format": "text",
                "number": number(sec),
                "score": _num(c["score"]) if counted else 0.0,
                "max_score": _num(c["max_score"]) if counted else 0.0,
                "status": "passed" if c["status"] == "passed" else "failed",
                "output": _test_output(c, counted) if level != "score" else
                "\n".join([SCORE_ONLY, _test_output(c, counted)]).strip(),
                "output_format": "text",
                "tags": list(dict.fromkeys(str(t) for t in tags)),
                "visibility": visibility,
                "extra_data": {"id": c["id"], "nncheck_status": c["status"], "duration_s": c["duration_s"],
                               "feedback": level},
            })
        if families:  # one calm line for the families nobody attempted, as the text report's
            ids = [c["id"] for c in d["checks"] if c["section"] == sec and c["id"].split(".", 1)[0] in families]
            shown = {visibility_of(config, i, sec) for i in ids}
            tests.append({
                "name": f"Not attempted: {', '.join(families)}", "name_format": "text", "number": number(sec),
                "score": 0.0, "max_score": 0.0, "status": "passed",
                "output": (f"Not attempted: {', '.join(families)} ({len(ids)} checks in {sec}, not graded and "
                           "not counted in your score)."),
                "output_format": "text", "tags": [sec, "not-attempted", *families],
                "visibility": shown.pop() if len(shown) == 1 else "visible",
                "extra_data": {"ids": ids, "nncheck_status": "skipped", "families": list(families)},
            })
    if not load.get("ok", True):
        tests.insert(0, {
            "name": "The submission loads", "name_format": "text", "number": "0.1",
            "score": 0.0, "max_score": 0.0, "status": "failed",
            "output": f"Your submission could not be loaded: {load.get('message', '')} {not_run_sentence(d)}",
            "output_format": "text", "tags": ["load"], "visibility": "visible",
        })
    return {
        "score": _num(d["score"]),
        "execution_time": int(math.ceil(_num(d["duration_s"]))),
        "output": _top_output(d, all_visible),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"nncheck_version": d["nncheck_version"], "seed": d["seed"], "inputs": d.get("inputs") or {},
                       "max_score": _num(d["max_score"]), "exit_code": d["exit_code"],
                       **({"sections": {k: {"score": _num(v.get("score")), "max_score": _num(v.get("max_score"))}
                                        for k, v in d["sections"].items()}} if all_visible else {})},
        "tests": tests,
    }


def render_gradescope(report, config=None) -> str:
    """The ``--format gradescope`` renderer."""
    return json.dumps(gradescope_dict(report_dict(report), config), indent=2, allow_nan=False) + "\n"
