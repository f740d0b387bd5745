"""One rendering model for every format, and the two formats every run has.

:func:`report_dict` turns a :class:`~nncheck.model.Report` into the plain
JSON report document; every other format (text, HTML, Gradescope,
JUnit) renders from that dict, so a new format is one small function.
"""
from __future__ import annotations

import json
import os
import sys

from nncheck.worker.wire import to_jsonable
from nncheck.model import Report
from nncheck.point import where_text

STATUS_ORDER = ("failed", "error", "timeout", "passed", "skipped")


def report_dict(report: Report) -> dict:
    checks = []
    for c in report.checks:
        checks.append({
            "id": c.id, "title": c.title, "section": c.section, "status": str(c.status),
            "score": c.score, "max_score": c.max_score, "message": c.message, "hint": c.hint,
            "diagnosis": list(c.diagnosis), "duration_s": c.duration_s,
            "output": c.output, "traceback": c.traceback, "incident": c.incident, "details": to_jsonable(c.details, max_array=4096),
        })
        if c.where:
            checks[-1]["where"] = to_jsonable(c.where)
    d = {
        "submission": report.submission, "score": report.score, "max_score": report.max_score,
        "sections": report.sections, "checks": checks, "load": to_jsonable(report.load),
        "seed": report.seed, "duration_s": report.duration_s, "nncheck_version": report.version,
        "exit_code": report.exit_code(), "isolation": dict(report.isolation),
        "inputs": dict(report.inputs) or {"kind": "public" if report.seed == 0 else "seed"},
    }
    if getattr(report, "audience", None):  # a student's view (nncheck.report.feedback.for_student)
        d["audience"] = dict(report.audience)
    return d


def report_from_dict(d: dict) -> Report:
    """The inverse of :func:`report_dict`: a :class:`Report` from its JSON (to render another format)."""
    from nncheck.model import CheckRecord, Status

    checks = [CheckRecord(
        id=c["id"], title=c.get("title", ""), section=c.get("section", "core"), status=Status(c["status"]),
        score=c.get("score", 0.0), max_score=c.get("max_score", 0.0), message=c.get("message", ""),
        hint=c.get("hint", ""), diagnosis=list(c.get("diagnosis") or []), duration_s=c.get("duration_s", 0.0),
        details=c.get("details") or {}, output=c.get("output", ""), traceback=c.get("traceback", ""),
        incident=c.get("incident", ""), where=list(c.get("where") or []))
        for c in d.get("checks", [])]
    report = Report(submission=d.get("submission", ""), checks=checks, load=d.get("load") or {},
                    seed=d.get("seed", 0), duration_s=d.get("duration_s", 0.0),
                    version=d.get("nncheck_version", ""), sections=d.get("sections") or {},
                    score=d.get("score", 0.0), max_score=d.get("max_score", 0.0),
                    isolation=d.get("isolation") or {}, inputs=d.get("inputs") or {})
    if d.get("audience"):  # a student's view keeps saying so
        from nncheck.report.feedback import StudentReport
        report = StudentReport(**vars(report), audience=dict(d["audience"]))
    return report


def render_json(report: Report, config=None) -> str:
    """The JSON report; with a config, each check also says its ``feedback`` level and ``visibility``."""
    d = report_dict(report)
    if config is not None:
        from nncheck.report.feedback import mark_feedback_levels
        mark_feedback_levels(d, config)
    return json.dumps(d, indent=2, allow_nan=False) + "\n"


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


_COLOURS = {"passed": "green", "failed": "red", "error": "red", "timeout": "yellow", "skipped": "bright_black"}
_SYMBOLS = {"passed": "PASS", "failed": "FAIL", "error": "ERR ", "timeout": "TIME", "skipped": "SKIP"}


def audience_notes(d: dict) -> list[str]:
    """Sentences telling a student what their view of the report leaves out (``--audience student``)."""
    aud = d.get("audience") or {}
    notes = []
    if aud.get("hidden_checks"):
        notes.append("some checks are not shown here (your instructor shows them later, or not at "
                     "all); the score counts only the checks shown")
    if aud.get("trimmed_checks"):
        notes.append("for some checks your instructor shows only the message or the score")
    return notes


def message_lines(message) -> list[str]:
    """A check's message as the lines every report shows apart: its first sentence, then one
    line per further finding (a verdict that names several mistakes writes one per line)."""
    return [line.strip() for line in str(message or "").splitlines() if line.strip()]


def message_text(message) -> str:
    """A check's message as plain text: its first line, then each further finding on a line
    of its own starting with "- " (as the text report shows it)."""
    words = message_lines(message)
    return "\n".join(words[:1] + [f"- {m}" for m in words[1:]])


def data_loader_note(load: dict) -> str:
    """The one calm sentence for a submission that calls the course's data loader (shown only
    when a check that trains a network ran: the session keeps ``load["data_loader"]`` only then)."""
    where = [w for w in (load or {}).get("data_loader") or [] if isinstance(w, dict)]
    if not where:
        return ""
    places = ", ".join(f"{w.get('label', '')} line {w.get('line', '')}".strip() for w in where[:3])
    return (f"the course's data loader was replaced by nncheck's own data ({places}): the checks that "
            "train a network use nncheck's MNIST digits")


def not_attempted(d: dict) -> dict[str, list[str]]:
    """``{section: families nobody attempted}`` for the options and bonus sections: what the
    text report's ``not attempted: ...`` line lists, for every format to say the same."""
    from nncheck.discover.apply import option_layout

    out = {}
    for name in dict.fromkeys(c["section"] for c in d.get("checks", [])):
        _, skipped = option_layout(d, name, [c for c in d["checks"] if c["section"] == name])
        if skipped:
            out[name] = skipped
    return out


def inputs_sentence(d: dict) -> str:
    """Which inputs the checks ran on, in words (``inputs`` in the JSON report): hidden ones drawn
    for this submission from the course secret (named by its fingerprint), one fixed seed's, or the
    public ones everybody's own runs use (:mod:`nncheck.classroom.hidden`)."""
    inputs = d.get("inputs") or {}
    kind = inputs.get("kind") or ("public" if not d.get("seed") else "seed")
    if kind == "hidden":
        return (f"hidden inputs, drawn for this submission from the course secret "
                f"{inputs.get('secret_fingerprint', '?')}")
    if kind == "seed":
        return f"the inputs of seed {d.get('seed')}, the same for every submission"
    return "public inputs (seed 0), the same as in everyone's own runs"


def not_run_sentence(d: dict) -> str:
    """For a submission that could not be loaded: what happened to its checks, in one sentence."""
    n = len(d.get("checks") or [])
    return f"None of the {n} checks ran." if n != 1 else "The check did not run."


def render_text(report: Report, config=None, colour: bool = False) -> str:
    import click

    def paint(text, status):
        return click.style(text, fg=_COLOURS.get(status)) if colour else text

    d = report_dict(report)
    lines = [f"nncheck {d['nncheck_version']} — {d['submission']}"]
    iso = d.get("isolation") or {}
    if iso:
        warn = iso.get("layer") != "bubblewrap"
        lines.append(paint(("WARNING: " if warn else "") + f"isolation: {iso.get('summary', iso.get('layer'))}",
                           "timeout" if warn else "skipped"))
    lines.append(paint(f"inputs: {inputs_sentence(d)}", "skipped"))
    load = d["load"]
    if not load.get("ok", True):  # one message, not one row per check that could not run
        lines.append(paint(f"Could not load the submission: {load.get('message')}", "error"))
        lines.append("")
        lines.append(f"Score: {d['score']:g}/{d['max_score']:g}   ({not_run_sentence(d)} {d['duration_s']:.1f} s)")
        return "\n".join(lines) + "\n"
    note = data_loader_note(load)
    if note:
        lines.append(f"  note: {note}")
    for w in load.get("warnings", [])[:10]:
        lines.append(f"  note: {w['label']} line {w['line']}: {w['error']} (loading went on)")
    for p in load.get("problems", [])[:10]:
        lines.append(f"  note: {p}")
    for s in load.get("set_aside", [])[:10]:
        lines.append(f"  note: {s['name']} in {s['label']} set aside: {s.get('reason', '')}")
    for note in audience_notes(d):
        lines.append(f"  note: {note}")
    from nncheck.discover.apply import option_layout, option_notes
    for note in option_notes(d):
        lines.append(f"  note: {note}")
    section = None
    ordered, collapsed = [], {}
    for name in dict.fromkeys(c["section"] for c in d["checks"]):  # options: the one that counted first
        shown, collapsed[name] = option_layout(d, name, [c for c in d["checks"] if c["section"] == name])
        ordered += shown or [{"section": name, "placeholder": True}]
    for c in ordered:
        if c["section"] != section:
            if section is not None and collapsed.get(section):
                lines.append(f"  not attempted: {', '.join(collapsed[section])}")
            section = c["section"]
            sec = d["sections"].get(section, {})
            lines.append("")
            lines.append(f"{section} ({sec.get('score', 0):g}/{sec.get('max_score', 0):g})")
        if c.get("placeholder"):
            continue
        status = c["status"]
        pts = f"{c['score']:g}/{c['max_score']:g}"
        lines.append(f"  {paint(_SYMBOLS[status], status)} {c['id']:<28} {pts:>7}  {c['title']}")
        words = message_lines(c["message"]) if status != "passed" else []
        if words:
            lines.append(f"       {words[0]}")
            lines += [f"       - {m}" for m in words[1:]]
        if status in ("failed", "error", "timeout") and c["hint"]:
            lines.append(f"       hint: {c['hint']}")
        if c["diagnosis"]:
            lines.append(f"       diagnosis: {', '.join(c['diagnosis'])}")
        for w in c.get("where", [])[:4]:
            lines.append(f"       where: {where_text(w)}")
    if section is not None and collapsed.get(section):
        lines.append(f"  not attempted: {', '.join(collapsed[section])}")
    counts = {}
    for c in d["checks"]:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if s in counts)
    lines.append("")
    bonus = d["sections"].get("bonus", {}).get("score", 0)
    score = f"{d['score'] - bonus:g}/{d['max_score']:g}" + (f" + {bonus:g} bonus" if bonus else "")
    lines.append(f"Score: {score}   ({summary}; {d['duration_s']:.1f} s)")
    return "\n".join(lines) + "\n"
