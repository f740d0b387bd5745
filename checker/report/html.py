"""``--format html``: one self-contained page a student is glad to read.

Rendered with jinja2 from ``nncheck/templates/report.html`` (autoescaped)
out of :func:`nncheck.report.text.report_dict`, the model every format shares.
The page carries its CSS and pictures inline (PNG data URIs drawn by
:mod:`nncheck.report.plots`), loads nothing from the network and needs no
JavaScript: collapsible parts are ``<details>`` elements.

Everything that comes from the submission (messages quoting its values,
tracebacks, what it printed, names in load notes) is text: the template
never marks a value ``|safe``, so ``<script>`` shows as ``<script>``.
"""
from __future__ import annotations

import functools
import math
import re
from typing import Any

from nncheck.model import SECTIONS
from nncheck.discover.apply import option_layout, option_notes
from nncheck.discover.catalogue import canonical_class
from nncheck.report.text import (audience_notes, data_loader_note, inputs_sentence, message_lines, not_run_sentence,
                                 report_dict)

OUTPUT_CAP_CHARS = 4000     # what a check printed, as shown in the page
OUTPUT_CAP_LINES = 80
TRACEBACK_CAP_CHARS = 6000
MAX_FACTS = 24
MATCH_REL_ERROR = 1e-6      # an array this close is shown as "matches", without table or heatmap
MAX_TABLE = 64              # arrays with more entries show their shape only

STATUS_LABELS = {"passed": "passed", "failed": "failed", "error": "error", "timeout": "timed out",
                 "skipped": "skipped"}
STATUS_ICONS = {"passed": "\u2713", "failed": "\u2717", "error": "!", "timeout": "\u231b", "skipped": "\u2013"}
SECTION_TITLES = {"core": "Core network", "options": "Assignment options", "bonus": "Bonus"}
SECTION_RULES = {
    "sum": "every check counts",
    "best": "only your best option counts",
    "add": "extra credit, added on top",
    "off": "not graded",
}


from nncheck.report import diagnoses  # noqa: E402


# --------------------------------------------------------------------------
# Small helpers that turn plain data into things the template shows


def fmt_num(x: Any, digits: int = 4) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
        return f"{x:.{digits}g}"
    return str(x)


def fmt_points(x: Any) -> str:
    try:
        return f"{float(x):g}"
    except (TypeError, ValueError):
        return str(x)


def cap_text(text: Any, chars: int, lines: int | None = None) -> tuple[str, str]:
    """``text`` cut to ``chars`` characters (and ``lines`` lines); the second value says what was cut."""
    text = "" if text is None else str(text)
    notes = []
    out = text
    if lines is not None:
        parts = out.splitlines(keepends=True)
        if len(parts) > lines:
            out = "".join(parts[:lines])
            notes.append(f"{len(parts) - lines} more lines")
    if len(out) > chars:
        out = out[:chars]
        if not notes:
            notes.append(f"{len(text) - chars} more characters")
    return out, (f"\u2026 cut here ({', '.join(notes)} not shown)" if notes else "")


def _shape(v: Any) -> list[int] | None:
    """The shape of a nested list of scalars, or None if ragged / not a list."""
    if not isinstance(v, list):
        return [] if isinstance(v, (int, float, str)) and not isinstance(v, bool) else None
    if not v:
        return [0]
    subs = [_shape(x) for x in v]
    if any(s is None for s in subs) or len({tuple(s) for s in subs}) != 1:
        return None
    return [len(v)] + subs[0]


def _as_float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _grid(v: Any) -> list[list[Any]] | None:
    shape = _shape(v)
    if shape is None or len(shape) > 2:
        return None
    if len(shape) == 0:
        return [[v]]
    if len(shape) == 1:
        return [list(v)]
    return [list(r) for r in v]


def _size(shape: list[int] | None) -> int:
    n = 1
    for s in shape or []:
        n *= s
    return n


def array_tables(expected: Any, got: Any) -> dict | None:
    """Expected and got as small grids of formatted cells, wrong cells marked."""
    ge, gg = _grid(expected), _grid(got)
    if ge is None and gg is None:
        return None
    if _size(_shape(expected)) > MAX_TABLE or _size(_shape(got)) > MAX_TABLE:
        return None
    same = ge is not None and gg is not None and _shape(expected) == _shape(got)

    def cells(grid, other):
        rows = []
        for i, row in enumerate(grid):
            out = []
            for j, v in enumerate(row):
                bad = False
                if same:
                    a, b = _as_float(v), _as_float(other[i][j])
                    bad = not (math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (a == b))
                out.append({"text": fmt_num(v) if not isinstance(v, str) else v, "bad": bad})
            rows.append(out)
        return rows

    return {"expected": cells(ge, gg) if ge is not None else None,
            "got": cells(gg, ge) if gg is not None else None}


_ARRAY_KEYS = ("expected", "got", "expected_shape", "got_shape", "rel_error_map", "max_rel_error")


def _comparisons(details: dict, failed: bool) -> list[dict]:
    """Expected-vs-got blocks: the details themselves, and any sub-dict (``dW``, ``db``) that has them."""
    from nncheck.report import plots

    found = []
    if any(k in details for k in _ARRAY_KEYS):
        found.append(("", details))
    for key, sub in details.items():
        if isinstance(sub, dict) and any(k in sub for k in _ARRAY_KEYS):
            found.append((str(key), sub))
    blocks = []
    for label, d in found:
        exp_shape = d.get("expected_shape")
        got_shape = d.get("got_shape")
        if exp_shape is None and "expected" in d:
            exp_shape = _shape(d["expected"])
        if got_shape is None and "got" in d:
            got_shape = _shape(d["got"])
        max_err = _as_float(d.get("max_rel_error"))
        matches = (math.isfinite(max_err) and max_err <= MATCH_REL_ERROR
                   and (exp_shape is None or got_shape is None or list(exp_shape) == list(got_shape)))
        block = {
            "label": label,
            "expected_shape": _shape_text(exp_shape),
            "got_shape": _shape_text(got_shape),
            "shapes_differ": exp_shape is not None and got_shape is not None
            and list(exp_shape) != list(got_shape),
            "max_rel_error": fmt_num(d["max_rel_error"], 3) if "max_rel_error" in d else "",
            "matches": matches,
            "tables": (array_tables(d["expected"], d["got"])
                       if "expected" in d and "got" in d and not matches else None),
            "heatmap": None,
        }
        if failed and "rel_error_map" in d and not matches:
            title = f"relative error of {label}" if label else "relative error, entry by entry"
            block["heatmap"] = plots.heatmap_png(d["rel_error_map"], title)
        blocks.append(block)
    return blocks


def _shape_text(shape: Any) -> str:
    if shape is None:
        return ""
    if isinstance(shape, list) and all(isinstance(s, int) for s in shape):
        return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)


def _facts(details: dict, skip_arrays: bool = True) -> list[tuple[str, str]]:
    """Scalar details worth a glance (flattened one level), excluding what is drawn or tabled."""
    facts: list[tuple[str, str]] = []

    def add(key, v):
        if len(facts) >= MAX_FACTS:
            return
        if isinstance(v, (bool, int, float)) or (isinstance(v, str) and v):
            text = fmt_num(v) if not isinstance(v, str) else v
            facts.append((key, cap_text(text, 200)[0]))
        elif isinstance(v, list) and v and len(v) <= 8 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            facts.append((key, ", ".join(fmt_num(x) for x in v)))

    for key, v in details.items():
        if key in ("curves", "rel_error_map", "expected", "got") or (skip_arrays and key in _ARRAY_KEYS):
            continue
        if isinstance(v, dict):
            if skip_arrays and any(k in v for k in _ARRAY_KEYS):
                continue
            for k2, v2 in v.items():
                if isinstance(v2, dict):
                    for k3, v3 in v2.items():
                        add(f"{key} {k2} {k3}", v3)
                else:
                    add(f"{key} {k2}", v2)
        else:
            add(str(key), v)
    return [(k.replace("_", " "), v) for k, v in facts]


def _where_view(where) -> list[dict]:
    """``where`` (:mod:`nncheck.point`) as the template shows it: the place, and for a pinned
    line a few lines of the student's code around it with that line marked."""
    out = []
    for w in (where or [])[:4]:
        if not isinstance(w, dict):
            continue
        context = []
        for c in w.get("context") or []:
            if isinstance(c, dict):
                context.append({"line": c.get("line"), "text": str(c.get("text", "")).rstrip(),
                                "hit": c.get("line") == w.get("line")})
        indent = min((len(c["text"]) - len(c["text"].lstrip()) for c in context if c["text"].strip()), default=0)
        for c in context:  # the student's indentation, less what every line shown shares
            c["text"] = c["text"][indent:]
        out.append({"pinned": bool(w.get("pinned")), "place": str(w.get("label") or w.get("file") or ""),
                    "line": w.get("line"), "snippet": str(w.get("snippet", "")), "method": str(w.get("method", "")),
                    "via": str(w.get("via", "") or ""), "context": context})
    return out


def _anchor(check_id: str) -> str:
    return "check-" + re.sub(r"[^A-Za-z0-9_.-]", "-", str(check_id))


def _check_view(c: dict, raster: bool = False) -> dict:
    from nncheck.report import plots

    status = c["status"]
    failed = status in ("failed", "error", "timeout")
    details = c.get("details") or {}
    if not isinstance(details, dict):
        details = {}
    curves = None
    if isinstance(details.get("curves"), dict):
        family = c["id"].split(".", 1)[0]
        labels = details.get("labels") if isinstance(details.get("labels"), dict) else {}
        labels = {"option": canonical_class(family), **labels}
        if "reference" in details["curves"]:
            title = "Learning curves: yours (solid) and the reference (dashed)"
        elif "baseline" in details["curves"]:
            title = "Your option (solid) against the baseline (dashed)"
        else:
            title = ""
        draw = plots.curves_png if raster else plots.curves_svg
        curves = draw(details["curves"], title, labels=labels, metric=str(details.get("metric", "")))
    output, output_note = cap_text(c.get("output", ""), OUTPUT_CAP_CHARS, OUTPUT_CAP_LINES)
    traceback, traceback_note = cap_text(c.get("traceback", ""), TRACEBACK_CAP_CHARS)
    return {
        "id": c["id"], "anchor": _anchor(c["id"]), "title": c.get("title", ""),
        "section": c.get("section", ""), "status": status,
        "status_label": STATUS_LABELS.get(status, status), "icon": STATUS_ICONS.get(status, "?"),
        "score": fmt_points(c.get("score", 0)), "max_score": fmt_points(c.get("max_score", 0)),
        "message": c.get("message", ""), "hint": c.get("hint", "") if status != "passed" else "",
        # the first sentence, then one item per further finding (a verdict naming several mistakes)
        "message_head": (message_lines(c.get("message", "")) or [""])[0],
        "message_items": message_lines(c.get("message", ""))[1:],
        "diagnoses": [{"code": d, "title": diagnoses.title(d)} for d in c.get("diagnosis", [])],
        "where": _where_view(c.get("where")) if status != "passed" else [],
        "comparisons": _comparisons(details, failed) if status != "passed" else [], "curves": curves,
        "facts": _facts(details, skip_arrays=status != "passed"),
        "output": output, "output_note": output_note,
        "traceback": traceback, "traceback_note": traceback_note,
        "duration": fmt_num(float(c.get("duration_s", 0) or 0), 2),
        "open": failed, "bad": failed,
    }


def _is_downstream(check_id: str) -> bool:
    """Whole-network runs (a check that declares ``Check.downstream``) fail *because of* a unit
    mistake: fix the unit first."""
    return bool(diagnoses.downstream(check_id))


def fix_first(checks: list[dict], n: int = 2) -> list[dict]:
    """The ``n`` most important checks to fix: core first, unit checks before whole-network
    runs (training, experiments) that they cause, then the most points, then run order."""
    rank = {s: i for i, s in enumerate(SECTIONS)}
    bad = [(rank.get(c["section"], len(rank)), _is_downstream(c["id"]), -float(c["max_score"]), i, c)
           for i, c in enumerate(checks) if c["bad"]]
    return [c for *_, c in sorted(bad, key=lambda t: t[:4])[:n]]


def _load_view(load: dict) -> dict:
    output, output_note = cap_text(load.get("output", ""), OUTPUT_CAP_CHARS, OUTPUT_CAP_LINES)
    warnings = []
    for w in load.get("warnings", []) or []:
        if isinstance(w, dict):
            tb, _ = cap_text(w.get("traceback", ""), TRACEBACK_CAP_CHARS)
            warnings.append({"label": str(w.get("label", "")), "line": w.get("line", ""),
                             "error": str(w.get("error", "")), "traceback": tb})
        else:
            warnings.append({"label": "", "line": "", "error": str(w), "traceback": ""})
    set_aside = [{"name": str(s.get("name", "")), "label": str(s.get("label", "")),
                  "reason": str(s.get("reason", ""))} if isinstance(s, dict) else
                 {"name": str(s), "label": "", "reason": ""} for s in load.get("set_aside", []) or []]
    used = [{"name": str(u.get("name", "")), "label": str(u.get("label", ""))}
            for u in load.get("used", []) or [] if isinstance(u, dict)]
    aliased = load.get("aliased") or {}
    view = {
        "ok": bool(load.get("ok", True)), "message": str(load.get("message", "") or ""),
        "kind": str(load.get("kind") or ""),
        "warnings": warnings, "problems": [str(p) for p in load.get("problems", []) or []],
        "dropped": [str(p) for p in load.get("dropped", []) or []],
        "set_aside": set_aside, "used": used,
        "aliased": [(str(k), str(v)) for k, v in aliased.items()] if isinstance(aliased, dict) else [],
        "output": output, "output_note": output_note,
        "output_bytes": load.get("output_bytes", 0),
        "data_loader": data_loader_note(load),
    }
    view["notes"] = bool(not view["ok"] or warnings or view["problems"] or view["dropped"] or set_aside
                         or view["aliased"] or output or view["data_loader"])
    return view


def html_model(d: dict, raster: bool = False) -> dict:
    """What the template shows, computed from :func:`report_dict`'s plain data. ``raster``: the
    learning curves as PNG (:func:`~nncheck.report.plots.curves_png`), for the notebook output."""
    checks = [_check_view(c, raster) for c in d.get("checks", [])]
    sections = []
    seen = [s for s in SECTIONS] + [c["section"] for c in checks if c["section"] not in SECTIONS]
    for name in dict.fromkeys(seen):
        in_section = [c for c in checks if c["section"] == name]
        info = (d.get("sections") or {}).get(name, {})
        if not in_section and not info.get("max_score"):
            continue
        counts: dict[str, int] = {}
        for c in in_section:
            counts[c["status"]] = counts.get(c["status"], 0) + 1
        rule = info.get("rule", "")
        shown, not_attempted = option_layout(d, name, in_section)  # the option that counted first
        in_section = shown
        sections.append({
            "name": name, "title": SECTION_TITLES.get(name, name.title()),
            "score": fmt_points(info.get("score", sum(float(c["score"]) for c in in_section))),
            "max_score": fmt_points(info.get("max_score", sum(float(c["max_score"]) for c in in_section))),
            "rule": SECTION_RULES.get(rule, rule), "counted": info.get("counted", []),
            "attempted": info.get("attempted", []), "checks": in_section,
            "counts": [(STATUS_LABELS.get(s, s), n, s) for s, n in counts.items()],
            "not_attempted": not_attempted,
            "not_attempted_checks": sum(1 for c in checks if c["section"] == name
                                        and c["id"].split(".", 1)[0] in not_attempted),
        })
    counts: dict[str, int] = {}
    for c in checks:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    score, max_score = float(d.get("score", 0) or 0), float(d.get("max_score", 0) or 0)
    pct = 0.0 if max_score <= 0 else max(0.0, min(100.0, 100.0 * score / max_score))
    order = ("failed", "error", "timeout", "passed", "skipped")
    bonus = float(((d.get("sections") or {}).get("bonus") or {}).get("score", 0) or 0)
    return {
        "bonus": fmt_points(bonus) if bonus > 0 else "",
        "submission": str(d.get("submission", "")),
        "score": fmt_points(score), "max_score": fmt_points(max_score), "percent": round(pct, 1),
        "version": str(d.get("nncheck_version", "")), "seed": d.get("seed", 0),
        "duration": fmt_num(float(d.get("duration_s", 0) or 0), 3),
        "exit_code": d.get("exit_code", 0),
        "isolation": dict(d.get("isolation") or {}),
        "inputs": inputs_sentence(d), "inputs_kind": (d.get("inputs") or {}).get("kind", ""),
        "sections": sections, "checks": checks,
        "counts": [(STATUS_LABELS[s], counts[s], s) for s in order if s in counts],
        # a submission that could not be loaded: one message (the load card), not a row per check
        "load_failed": not (d.get("load") or {}).get("ok", True), "not_run": not_run_sentence(d),
        "fix_first": fix_first(checks) if (d.get("load") or {}).get("ok", True) else [],
        "all_passed": bool(checks) and not any(c["bad"] for c in checks),
        "load": _load_view(d.get("load") or {}),
        "audience_notes": audience_notes(d),
        "option_notes": option_notes(d),
    }


@functools.lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("nncheck.report", "templates"),
        # .html/.xml autoescape as the brief asks; anything else too (default=True), so no
        # template can be added that forgets to escape student text.
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    return env


def render_html_dict(d: dict) -> str:
    return environment().get_template("report.html").render(r=html_model(d))


def render_html(report, config=None) -> str:
    """The ``--format html`` renderer: ``render(report, config) -> str``."""
    return render_html_dict(report_dict(report))
