"""``--format prairielearn``: the ``results.json`` of PrairieLearn's external grader.

Spec: PrairieLearn's "External grading" documentation, "Grading results"
(schema: ``tests/schemas/prairielearn_results.schema.json``). The grading
container's entrypoint writes ``/grade/results/results.json``; ``nncheck
autograder run prairielearn`` does that (see ``docs/platforms.md``).

* ``score`` is the report's score over its maximum, in 0..1 (bonus points
  can lift it to 1, never past it). ``gradable`` is ``false`` only when the
  submission could not be loaded at all: PrairieLearn then neither grades it
  nor counts the attempt, and ``format_errors`` says why.
* Every check the student may see is one test: ``name`` (its title),
  ``description`` (its id and section), ``points``/``max_points`` (0 of 0 for
  a check the score does not count, such as an option that is not the
  student's best), ``message`` (the check's sentence, and its hint and
  diagnosis when its feedback level is ``full``) and ``output`` (expected vs
  got, traceback, what the code printed). Error heatmaps and learning curves
  go in as ``images`` (PNG data URLs), within the file's 1 MB limit.
* The option and bonus families nobody attempted are one 0/0 test per
  section ("Not attempted: xavier, momentum, ..."), as in the text report.
* PrairieLearn shows every test as soon as the grading job ends and has no
  per-test visibility, so a check whose ``[visibility]`` is anything but
  ``visible`` is left out of ``tests`` (its points still count in
  ``score``), and the feedback level trims ``message``, ``output`` and
  ``images`` (:mod:`nncheck.report.feedback`).
"""
from __future__ import annotations

import json

from nncheck.report.feedback import cap_text as _cap, finite as _num, level_of, trim_check, visibility_of
from nncheck.report.text import data_loader_note, message_text, not_attempted, not_run_sentence, report_dict
from nncheck.scoring import counts_toward_score

MAX_IMAGE_BYTES = 600_000      # all images together: the file must stay under PrairieLearn's 1 MB
OUTPUT_CAP = 3000
TRACEBACK_CAP = 4000




def _message(c: dict, level: str) -> str:
    from nncheck.report.diagnoses import diagnosis_title

    if level == "score":
        return "Your instructor shows only the score of this check."
    if c["status"] == "passed":
        return message_text(c["message"]) or "Passed."
    parts = [("Skipped: " if c["status"] == "skipped" else "") + (message_text(c["message"])
                                                                  or c["status"].capitalize() + ".")]
    if c["status"] != "skipped" and c.get("hint"):
        parts.append(f"Hint: {c['hint']}")
    for code in c.get("diagnosis") or []:
        title = diagnosis_title(code)
        parts.append(f"Diagnosis: {title} [{code}]" if title else f"Diagnosis: {code}")
    return "\n".join(parts)


def _output(c: dict, counted: bool) -> str:
    lines = []
    details = c.get("details") or {}
    for label, d in [("", details)] + [(k, v) for k, v in details.items() if isinstance(v, dict)]:
        if isinstance(d, dict) and ("expected_shape" in d or "got_shape" in d):
            what = f"{label}: " if label else ""
            lines.append(f"{what}shape expected {d.get('expected_shape')}, got {d.get('got_shape')}"
                         + (f", largest relative error {d['max_rel_error']:.3g}"
                            if isinstance(d.get("max_rel_error"), (int, float)) else ""))
    if not counted:
        lines.append("(Not counted in your score: only your best option family counts, "
                     "or this part was not attempted.)")
    if c.get("traceback"):
        lines += ["", _cap(c["traceback"].rstrip(), TRACEBACK_CAP)]
    if c.get("output"):
        lines += ["", "What your code printed:", _cap(c["output"].rstrip(), OUTPUT_CAP)]
    return "\n".join(lines).strip()


def _images(c: dict) -> list[dict]:
    """The check's error heatmaps and curves, as the HTML report draws them, all PNG (the
    images a platform's grading panel shows are safest as PNG: an SVG may be refused)."""
    from nncheck.report.html import _check_view

    view = _check_view(c, raster=True)
    images = []
    for block in view["comparisons"]:
        if block.get("heatmap"):
            label = f"Relative error of {block['label']}" if block["label"] else "Relative error, entry by entry"
            images.append({"label": label, "url": block["heatmap"]})
    if view.get("curves"):
        images.append({"label": "Learning curves", "url": view["curves"]})
    return images


def prairielearn_dict(d: dict, config=None) -> dict:
    """The results.json document for a :func:`report_dict`."""
    load = d.get("load") or {}
    max_score = _num(d["max_score"])
    score = min(1.0, max(0.0, _num(d["score"]) / max_score)) if max_score > 0 else 0.0
    tests, left_out, budget = [], 0, MAX_IMAGE_BYTES
    collapsed = not_attempted(d)
    for c in d["checks"] if load.get("ok", True) else []:  # not gradable: format_errors says why
        sec = c["section"]
        if visibility_of(config, c["id"], sec) != "visible":
            left_out += 1
            continue
        if c["id"].split(".", 1)[0] in collapsed.get(sec, []):
            continue  # one line for the families nobody attempted, below
        level = level_of(config, c["id"], sec)
        c = trim_check(c, level)
        counted = counts_toward_score(c, d.get("sections"))
        test = {
            "name": c["title"] or c["id"],
            "description": f"{c['id']} ({sec})",
            "points": _num(c["score"]) if counted else 0.0,
            "max_points": _num(c["max_score"]) if counted else 0.0,
            "message": _message(c, level),
            "output": _output(c, counted) if level != "score" else "",
        }
        if level == "full" and c["status"] in ("failed", "error", "timeout", "passed"):
            images = [im for im in _images(c) if len(im["url"]) <= budget]
            for im in images:
                budget -= len(im["url"])
            if images:
                test["images"] = images
        tests.append(test)
    for sec, families in collapsed.items() if load.get("ok", True) else ():
        tests.append({"name": f"Not attempted: {', '.join(families)}", "description": f"{sec}, not graded",
                      "points": 0.0, "max_points": 0.0,
                      "message": f"Not attempted: {', '.join(families)} (not graded and not counted in your score).",
                      "output": ""})
    lines = [f"nncheck {d['nncheck_version']}: {_num(d['score']):g}/{max_score:g} points (seed {d['seed']}; {(d.get('inputs') or {}).get('kind', 'public')} inputs)."]
    if left_out:
        lines.append(f"{left_out} check(s) are graded but not shown.")
    if load.get("output"):
        lines += ["", "What your code printed while loading:", _cap(str(load["output"]).rstrip(), OUTPUT_CAP)]
    for w in (load.get("warnings") or [])[:10]:
        if isinstance(w, dict):
            lines.append(f"Note: {w.get('label', '')} line {w.get('line', '')}: {w.get('error', '')} "
                         "(loading went on)")
    for p in (load.get("problems") or [])[:10]:
        lines.append(f"Note: {p}")
    if data_loader_note(load):
        lines.append(f"Note: {data_loader_note(load)}.")
    result = {
        "gradable": bool(load.get("ok", True)),
        "score": round(score, 6),
        "message": (f"Score {_num(d['score']):g}/{max_score:g}" if load.get("ok", True)
                    else f"Your submission could not be loaded: {load.get('message', '')} {not_run_sentence(d)}"),
        "output": "\n".join(lines),
        "tests": tests,
    }
    if not result["gradable"]:
        result["format_errors"] = [str(load.get("message") or "the submission could not be loaded")]
    return result


def render_prairielearn(report, config=None) -> str:
    """The ``--format prairielearn`` renderer."""
    return json.dumps(prairielearn_dict(report_dict(report), config), indent=2, allow_nan=False) + "\n"


__all__ = ["prairielearn_dict", "render_prairielearn"]
