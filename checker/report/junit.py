"""``--format junit``: JUnit XML, as CI systems (Jenkins, GitLab, GitHub actions) read it.

One ``<testsuite>`` per section (``core``, ``options``, ``bonus``), one
``<testcase>`` per check with ``classname`` ``section.family`` and ``name``
the check id. A failed check has a ``<failure>``, an error or a timeout an
``<error>``, a skipped check ``<skipped>``; what the check printed is its
``<system-out>``. ElementTree escapes markup; characters XML 1.0 cannot
carry at all (NUL, most control characters) are dropped from every string.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from nncheck.model import SECTIONS
from nncheck.report.text import message_text, report_dict

OUTPUT_CAP = 20000

_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """``value`` as a string XML 1.0 can hold (illegal characters removed)."""
    return _ILLEGAL_XML.sub("", "" if value is None else str(value))


def _el(parent, tag, attrs=None, text=None):
    e = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in (attrs or {}).items()})
    if text:
        e.text = xml_text(text)
    return e


def _body(c: dict) -> str:
    from nncheck.report.diagnoses import diagnosis_title

    lines = [message_text(c["message"])] if c["message"] else []
    if c["hint"]:
        lines.append(f"Hint: {c['hint']}")
    for code in c["diagnosis"]:
        title = diagnosis_title(code)
        lines.append(f"Diagnosis: {title} [{code}]" if title else f"Diagnosis: {code}")
    if c.get("traceback"):
        lines.append("")
        lines.append(c["traceback"].rstrip())
    return "\n".join(lines)


def _secs(x) -> str:
    try:
        return f"{max(0.0, float(x)):.3f}"
    except (TypeError, ValueError):
        return "0.000"


def junit_tree(d: dict) -> ET.Element:
    root = ET.Element("testsuites", {"name": "nncheck"})
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    load = d.get("load") or {}
    sections = [s for s in SECTIONS if any(c["section"] == s for c in d["checks"])]
    sections += list(dict.fromkeys(c["section"] for c in d["checks"] if c["section"] not in SECTIONS))
    if not load.get("ok", True) and not sections:
        sections = ["core"]
    for sec in sections:
        checks = [c for c in d["checks"] if c["section"] == sec]
        suite = _el(root, "testsuite", {"name": f"nncheck.{sec}"})
        props = _el(suite, "properties")
        info = d["sections"].get(sec, {})
        for name, value in (("submission", d["submission"]), ("nncheck_version", d["nncheck_version"]),
                            ("seed", d["seed"]), ("inputs", (d.get("inputs") or {}).get("kind", "public")),
                            ("score", f"{float(info.get('score', 0)):g}"),
                            ("max_score", f"{float(info.get('max_score', 0)):g}"),
                            ("total_score", f"{float(d['score']):g}"),
                            ("total_max_score", f"{float(d['max_score']):g}")):
            _el(props, "property", {"name": name, "value": value})
        counts = dict(tests=0, failures=0, errors=0, skipped=0)
        time = 0.0
        if sec == sections[0] and not load.get("ok", True):
            case = _el(suite, "testcase", {"classname": f"{sec}.load", "name": "load", "time": "0.000"})
            _el(case, "error", {"message": f"could not load the submission: {load.get('message', '')}",
                                "type": "load"}, load.get("message", ""))
            counts["tests"] += 1
            counts["errors"] += 1
        for c in checks:
            family = c["id"].split(".", 1)[0]
            case = _el(suite, "testcase", {"classname": f"{sec}.{family}", "name": c["id"],
                                           "time": _secs(c["duration_s"])})
            counts["tests"] += 1
            time += float(c["duration_s"] or 0)
            status = c["status"]
            kind = ", ".join(c["diagnosis"]) or status
            if status == "failed":
                counts["failures"] += 1
                _el(case, "failure", {"message": c["message"] or "failed", "type": kind}, _body(c))
            elif status in ("error", "timeout"):
                counts["errors"] += 1
                _el(case, "error", {"message": c["message"] or status, "type": status}, _body(c))
            elif status == "skipped":
                counts["skipped"] += 1
                _el(case, "skipped", {"message": c["message"] or "skipped"})
            if c.get("output"):
                out = c["output"]
                if len(out) > OUTPUT_CAP:
                    out = out[:OUTPUT_CAP] + f"\n... ({len(c['output']) - OUTPUT_CAP} more characters not shown)"
                _el(case, "system-out", text=out)
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", _secs(time))
        if load.get("output") and sec == sections[0]:
            _el(suite, "system-out", text=load["output"][:OUTPUT_CAP])
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", _secs(d.get("duration_s", 0)))
    return root


def render_junit(report, config=None) -> str:
    """The ``--format junit`` renderer."""
    root = junit_tree(report_dict(report))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
