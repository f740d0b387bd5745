"""The class summary: what a teacher wants to know about a whole class.

:func:`build_summary` turns the gradebook rows (each with its JSON report)
into plain data (``summary.json``): score statistics and histogram, pass rate
per check, the most frequent diagnoses (each with its title, what the code
means) with the students who have them,
submissions that timed out, crashed or could not be loaded, and the slowest
submissions. :func:`render_summary_html` renders it (``summary.html``): one
self-contained page, the histogram an inline SVG drawn by matplotlib's Agg
backend, no script and no external resource; everything that comes from a
submission is HTML-escaped.
"""
from __future__ import annotations

import base64
import io
import statistics
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates"
TOP_SLOWEST = 10
BINS = 10


def _pct(score, max_score):
    if not isinstance(score, (int, float)) or not max_score:
        return None
    return 100.0 * score / max_score


def build_summary(rows: list[dict], check_ids: list[str], meta: dict | None = None) -> dict:
    """Plain-data class summary from gradebook rows (``student``, ``status``, ``entry``, ``report``)."""
    meta = dict(meta or {})
    counts = defaultdict(int)
    for r in rows:
        counts[r["status"]] += 1
    scored = [r for r in rows if r.get("report") is not None and r["status"] != "pending"
              and not (r["report"].get("grading") or {}).get("error")]

    # -- scores -------------------------------------------------------------
    totals = [float(r["report"].get("score") or 0.0) for r in scored]
    pcts = [p for p in (_pct(r["report"].get("score"), r["report"].get("max_score")) for r in scored)
            if p is not None]
    # 10-point bins of "% of max_score"; bonus points can take a score past 100 %, so the
    # bins go on past 100 as far as the best score; a score on an edge goes to the bin below
    # it, except 0 (so 100 % is in 90-100, full marks without bonus).
    width = 100 / BINS
    top = max([100.0, *pcts])
    nbins = int(-(-top // width))
    edges = [round(i * width, 6) for i in range(nbins + 1)]
    hist = [0] * nbins
    for p in pcts:
        hist[min(max(int(-(-p // width)) - 1, 0), nbins - 1)] += 1
    maxes = sorted({float(r["report"].get("max_score") or 0.0) for r in scored})
    scores = {
        "graded": len(scored),
        "max_score": maxes[-1] if maxes else 0.0,
        "max_scores_seen": maxes,
        "mean": round(statistics.fmean(totals), 3) if totals else None,
        "median": round(statistics.median(totals), 3) if totals else None,
        "stdev": round(statistics.pstdev(totals), 3) if totals else None,
        "min": min(totals) if totals else None,
        "max": max(totals) if totals else None,
        "mean_percent": round(statistics.fmean(pcts), 2) if pcts else None,
        "full_marks": sum(1 for p in pcts if p >= 100 - 1e-9),
        "histogram": {"unit": "percent of max_score", "edges": edges, "counts": hist},
    }

    # -- pass rate per check ---------------------------------------------------
    per_check: dict[str, dict] = {}
    for cid in check_ids:
        per_check[cid] = {"id": cid, "title": "", "section": "", "points": 0.0, "passed": 0, "failed": 0,
                          "error": 0, "timeout": 0, "skipped": 0, "score_sum": 0.0}
    loaded = [r for r in scored if (r["report"].get("load") or {}).get("ok", True)]
    for r in loaded:  # a submission that did not load is listed under problems, not counted per check
        for c in r["report"].get("checks", []):
            row = per_check.setdefault(c["id"], {"id": c["id"], "title": "", "section": "", "points": 0.0,
                                                 "passed": 0, "failed": 0, "error": 0, "timeout": 0,
                                                 "skipped": 0, "score_sum": 0.0})
            row["title"] = row["title"] or c.get("title", "")
            row["section"] = row["section"] or c.get("section", "")
            row["points"] = max(row["points"], float(c.get("max_score") or 0.0))
            status = c.get("status")
            if status in ("passed", "failed", "error", "timeout", "skipped"):
                row[status] += 1
            row["score_sum"] += float(c.get("score") or 0.0)
    checks = []
    for row in per_check.values():
        ran = row["passed"] + row["failed"] + row["error"] + row["timeout"]
        row["ran"] = ran
        row["pass_rate"] = round(row["passed"] / ran, 4) if ran else None
        graded = ran + row["skipped"]
        row["mean_score"] = round(row.pop("score_sum") / graded, 3) if graded else None
        checks.append(row)

    # -- diagnoses -------------------------------------------------------------
    from nncheck.report.diagnoses import title as diagnosis_title

    diag: dict[str, dict] = {}
    for r in scored:
        for c in r["report"].get("checks", []):
            for code in c.get("diagnosis") or []:
                # what the code means is its declared title; one student's message is an example
                d = diag.setdefault(code, {"code": code, "title": diagnosis_title(code), "students": [],
                                           "checks": [], "message": "", "hint": ""})
                if r["student"] not in d["students"]:
                    d["students"].append(r["student"])
                if c["id"] not in d["checks"]:
                    d["checks"].append(c["id"])
                if not d["message"]:
                    d["message"], d["hint"] = c.get("message", ""), c.get("hint", "")
    diagnoses = []
    for d in diag.values():
        d["count"] = len(d["students"])
        d["share"] = round(d["count"] / len(scored), 4) if scored else 0.0
        d["students"].sort()
        diagnoses.append(d)
    diagnoses.sort(key=lambda d: (-d["count"], d["code"]))
    undiagnosed = defaultdict(list)  # failed checks with no code: where the grader could not say why
    for r in scored:
        for c in r["report"].get("checks", []):
            if c.get("status") == "failed" and not c.get("diagnosis"):
                undiagnosed[c["id"]].append(r["student"])

    # -- problems, slowest -----------------------------------------------------
    problems = []
    for r in rows:
        if r["status"] in ("timeout", "crashed", "load-failed"):
            problems.append({"student": r["student"], "entry": r["entry"], "status": r["status"],
                             "message": r.get("message", "")})
    timed = [r for r in scored if isinstance(r["report"].get("duration_s"), (int, float))]
    timed.sort(key=lambda r: (-r["report"]["duration_s"], r["student"]))
    slowest = [{"student": r["student"], "duration_s": r["report"]["duration_s"], "status": r["status"]}
               for r in timed[:TOP_SLOWEST]]
    durations = [r["report"]["duration_s"] for r in timed]

    students = []
    link_ext = "html" if meta.get("html_reports") else "json"
    for r in rows:
        rep = r.get("report")
        students.append({
            "student": r["student"], "entry": r["entry"], "status": r["status"],
            "score": rep.get("score") if rep else None, "max_score": rep.get("max_score") if rep else None,
            "percent": round(_pct(rep.get("score"), rep.get("max_score")), 2)
            if rep and _pct(rep.get("score"), rep.get("max_score")) is not None else None,
            "duration_s": rep.get("duration_s") if rep else None,
            "report": f"reports/{quote(r['student'])}.{link_ext}" if rep else None,
            "message": r.get("message", ""),
        })

    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "meta": meta,
        "counts": {"students": len(rows), **{s: counts.get(s, 0) for s in
                                             ("ok", "load-failed", "timeout", "crashed", "pending")}},
        "scores": scores,
        "checks": checks,
        "checks_counted_submissions": len(loaded),
        "diagnoses": diagnoses,
        "undiagnosed_failures": [{"check": k, "count": len(v), "students": sorted(v)}
                                 for k, v in sorted(undiagnosed.items(), key=lambda kv: (-len(kv[1]), kv[0]))],
        "problems": problems,
        "slowest": slowest,
        "timing": {"total_s": round(sum(durations), 3),
                   "mean_s": round(statistics.fmean(durations), 3) if durations else None,
                   "median_s": round(statistics.median(durations), 3) if durations else None},
        "pending": [r["student"] for r in rows if r["status"] == "pending"],
        "students": students,
    }


def histogram_svg(summary: dict) -> str:
    """The score histogram as an SVG data URI (matplotlib, Agg; no pyplot state)."""
    from matplotlib.figure import Figure

    h = summary["scores"]["histogram"]
    labels = [f"{a:g}–{b:g}" for a, b in zip(h["edges"], h["edges"][1:])]
    counts = list(h["counts"])
    fig = Figure(figsize=(7.0, 2.8), dpi=100)
    ax = fig.add_subplot()
    colours = ["#3b6ea8" if b <= 100 else "#6a9a3b" for b in h["edges"][1:]]
    ax.bar(range(len(counts)), counts, color=colours, edgecolor="white")
    ax.set_xticks(range(len(counts)), labels, fontsize=8)
    if len(counts) > BINS:
        for label in ax.get_xticklabels():
            label.set_rotation(35)
            label.set_horizontalalignment("right")
    ax.set_xlabel("score, % of the maximum (past 100: bonus points)" if len(counts) > BINS
                  else "score, % of the maximum")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue().encode()).decode()


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    env.filters["num"] = lambda v: "–" if v is None else f"{v:g}"
    return env


def render_summary_html(summary: dict) -> str:
    return _env().get_template("class_summary.html.j2").render(s=summary, histogram=histogram_svg(summary))
