"""The gradebook: one row per student from the reports on disk, and the files made of them.

:func:`collect_rows` reads ``OUT/reports``; a student without a current
report is ``pending``. :func:`write_outputs` writes ``gradebook.csv``,
``summary.json`` and ``summary.html`` (:mod:`nncheck.classroom.summary`).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from nncheck.classroom.folder import Entry
from nncheck.classroom.state import read_report, write_atomic

# Row statuses in the gradebook.
OK, LOAD_FAILED, TIMEOUT, CRASHED, PENDING = "ok", "load-failed", "timeout", "crashed", "pending"
ROW_STATUSES = (OK, LOAD_FAILED, TIMEOUT, CRASHED, PENDING)


def row_status(report: dict) -> str:
    """``ok``, ``load-failed``, ``timeout`` or ``crashed`` for one report.

    ``timeout``: loading or a check ran out of time. ``crashed``: the
    process running the student's code died (segfault, ``os._exit``, killed),
    or grading itself failed. ``load-failed``: nothing could be loaded (not
    Python, a refused archive, an exception at import that left no names...).
    A graded submission is ``ok`` whatever its score.
    """
    g = report.get("grading") or {}
    if g.get("error"):
        return CRASHED
    load = report.get("load") or {}
    if not load.get("ok", True):
        return {"timeout": TIMEOUT, "crash": CRASHED}.get(load.get("incident", ""), LOAD_FAILED)
    incidents = {c.get("incident") or "" for c in report.get("checks") or []}
    if "timeout" in incidents:
        return TIMEOUT
    if incidents & {"crash", "memory", "worker-lost"}:
        return CRASHED
    return OK


def _cell(value) -> str:
    """A CSV text cell that a spreadsheet will not run as a formula."""
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def gradebook_rows(rows: list[dict], check_ids: list[str]) -> tuple[list[str], list[list]]:
    """The CSV's header and rows. A check (or an options/bonus section) the student did not
    attempt is an empty cell, a check that ran and failed is 0: the two are not the same."""
    from nncheck.report.text import not_attempted

    header = ["student", "status", "total", "max", "core", "options", "bonus", *check_ids,
              "duration_s", "entry", "message"]
    table = []
    for r in rows:
        rep = r.get("report")
        secs = (rep or {}).get("sections") or {}
        by_id = {c["id"]: c for c in (rep or {}).get("checks", [])}
        line = [_cell(r["student"]), r["status"]]
        if rep is not None and r["status"] != PENDING:
            skipped = {(sec, fam) for sec, fams in not_attempted(rep).items() for fam in fams}

            def score(cid):
                c = by_id.get(cid)
                if c is None or (c.get("section"), cid.split(".", 1)[0]) in skipped:
                    return ""
                return c["score"]

            def section(name):
                sec = secs.get(name) or {}
                if name != "core" and "attempted" in sec and not sec["attempted"]:
                    return ""  # no option (or no bonus part) attempted
                return sec.get("score", "")

            line += [rep.get("score"), rep.get("max_score"), *[section(s) for s in ("core", "options", "bonus")],
                     *[score(c) for c in check_ids], rep.get("duration_s", "")]
        else:
            line += [""] * (4 + len(check_ids) + 1)
        line += [_cell(r["entry"]), _cell(r.get("message", ""))]
        table.append(line)
    return header, table


def _row_message(report: dict | None, status: str) -> str:
    if report is None:
        return ""
    g = report.get("grading") or {}
    if g.get("error"):
        return str(g["error"])[:300]
    load = report.get("load") or {}
    if not load.get("ok", True):
        return str(load.get("message", ""))[:300]
    for c in report.get("checks", []):
        if status == TIMEOUT and c.get("status") == "timeout":
            return f"{c['id']}: {c.get('message', '')}"[:300]
        if status == CRASHED and c.get("status") == "error":
            return f"{c['id']}: {c.get('message', '')}"[:300]
    return ""


def collect_rows(out: Path, entries: list[Entry], keys: dict[str, str]) -> list[dict]:
    """One row per student from the reports on disk; a missing or stale report is ``pending``."""
    rows = []
    for e in entries:
        rep = read_report(out, e.student)
        current = rep is not None and (rep.get("grading") or {}).get("key") == keys.get(e.student)
        if rep is not None and (rep.get("grading") or {}).get("error"):
            current = True  # a failed grading is shown (and retried next run)
        status = row_status(rep) if current else PENDING
        rows.append({"student": e.student, "entry": e.path.name, "status": status,
                     "report": rep if current else None,
                     "message": _row_message(rep, status) if current else
                     ("not graded yet" if rep is None else "not regraded with the current settings yet")})
    return rows


def write_outputs(out: Path, rows: list[dict], check_ids: list[str], meta: dict) -> dict:
    """Write ``gradebook.csv``, ``summary.json`` and ``summary.html``; return the summary."""
    from nncheck.classroom.summary import build_summary, render_summary_html

    header, table = gradebook_rows(rows, check_ids)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(table)
    write_atomic(out / "gradebook.csv", buf.getvalue())
    summary = build_summary(rows, check_ids, meta)
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    write_atomic(out / "summary.html", render_summary_html(summary))
    return summary


def check_order(engine, only, rows) -> list[str]:
    """The gradebook's check columns: the run's checks in the engine's order, then any other
    check a current report holds."""
    ids = [c.id for c in engine.select(only)]
    extra = sorted({c["id"] for r in rows if r.get("report") for c in r["report"].get("checks", [])} - set(ids))
    return ids + extra
