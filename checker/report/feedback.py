"""How much of a report a student sees: feedback levels, visibility and audiences.

An instructor says, per check id, family or section (the keys ``[points]``
takes, plus sections), how much feedback a check gives and when it shows::

    [feedback]                    # full | message | score
    core = "message"
    "training.accuracy" = "full"
    [visibility]                  # visible | hidden | after_due_date | after_published
    "dense.backward.params" = "after_due_date"

Feedback levels, for a student:

``full``
    everything: message, hint, diagnosis, expected vs got, error maps,
    curves, the student's own output and traceback.
``message``
    the status, the score and the message sentence, plus what the student's
    own code printed and its traceback; no hint, no diagnosis, no details
    (expected values, error maps, curves). Hints sometimes hand out the line
    of code, and a diagnosis title is a hint by another name.
``score``
    the status and the score only.

Who sees what:

* the **instructor** audience (``nncheck submit``'s default, the JSON
  reports and the gradebook of ``nncheck grade``) sees everything; the JSON
  report only says, per check, which level and visibility apply;
* the **student** audience (``--audience student``, the notebook view of
  ``%nncheck``) sees only the checks that are ``visible`` -- there is no due
  date on a student's machine, so ``after_due_date`` and ``after_published``
  are left out too -- with feedback trimmed to each check's level, and a
  score computed over the checks shown (the total would give hidden results
  away);
* the platforms (Gradescope, PrairieLearn) get every check in their own
  fields: see :mod:`nncheck.report.gradescope` and
  :mod:`nncheck.report.prairielearn`.

On a student's own machine this is a courtesy, not a lock: the student has
the grader and can run it as the instructor. The lock is on the platforms,
where the grader runs on the course's side.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from dataclasses import dataclass, field

from nncheck.config import FEEDBACK_LEVELS, VISIBILITIES, Config, ConfigError
from nncheck.model import SECTIONS, CheckRecord, Report

AUDIENCES = ("instructor", "student")
PLATFORM_FORMATS = ("gradescope", "prairielearn")
"""Formats that carry visibility and feedback level in their own fields, whatever the audience."""

# What each level keeps of a check; every other field goes back to its default, so a
# field added to the report later is hidden from students until someone decides otherwise.
_IDENTITY = ("id", "title", "section", "status", "score", "max_score", "duration_s", "incident")
KEEP = {
    "full": None,  # everything
    "message": (*_IDENTITY, "message", "output", "traceback"),
    "score": _IDENTITY,
}


def check_keys(config: Config, checks) -> None:
    """Refuse config keys that name nothing: ``[feedback]``/``[visibility]`` keys that name no
    check, family or section, ``[points]`` keys that name no check or family, ``[tolerances]``
    keys that name no check.

    A misspelt key would otherwise silently show a check the instructor meant
    to hide, or leave a grade as it was; raises :class:`~nncheck.config.ConfigError`.
    """
    ids = {c.id for c in checks}
    families = {c.family for c in checks}
    allowed = {
        "feedback": (ids | families | set(SECTIONS), "names no check, family or section"),
        "visibility": (ids | families | set(SECTIONS), "names no check, family or section"),
        "points": (ids | families, "names no check or family"),
        "tolerances": (ids, "names no check"),
    }
    for table, (known, why) in allowed.items():
        for key in getattr(config, table):
            if key not in known:
                near = difflib.get_close_matches(key, sorted(known), n=1)
                raise ConfigError(f"{config.path or 'config'}: {table}.{key}: {why} "
                                  + (f"(did you mean {near[0]!r}?)" if near else "(see `nncheck list-checks`)"))


def level_of(config: Config | None, check_id: str, section: str) -> str:
    return config.feedback_for(check_id, section) if config is not None else "full"


def visibility_of(config: Config | None, check_id: str, section: str) -> str:
    return config.visibility_for(check_id, section) if config is not None else "visible"


def trim_check(c: dict, level: str) -> dict:
    """A report-dict check (:func:`nncheck.report.text.report_dict`) trimmed to ``level``."""
    keep = KEEP[level]
    if keep is None:
        return dict(c)
    blank = {"message": "", "hint": "", "diagnosis": [], "details": {}, "output": "", "traceback": ""}
    out = {}
    for k, v in c.items():
        if k in keep:
            out[k] = v
        elif k in blank or isinstance(v, (str, list, dict)):
            out[k] = type(v)() if not isinstance(v, str) else ""
        else:
            out[k] = None
    return out


def trim_record(rec: CheckRecord, level: str) -> CheckRecord:
    """A copy of ``rec`` trimmed to ``level``: fields the level does not keep get their defaults."""
    keep = KEEP[level]
    if keep is None:
        return copy.copy(rec)
    changes = {}
    for f in dataclasses.fields(rec):
        if f.name in keep or not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            changes[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            changes[f.name] = f.default_factory()
    return dataclasses.replace(rec, **changes)


@dataclass
class StudentReport(Report):
    """A :class:`Report` as a student sees it; ``audience`` says what was left out."""

    audience: dict = field(default_factory=dict)


def for_student(report: Report, config: Config | None) -> StudentReport:
    """``report`` as the student audience sees it: visible checks only, each trimmed to its
    feedback level, and the score computed over the checks shown."""
    from nncheck.scoring import score_report

    shown, hidden = [], 0
    levels: dict[str, int] = {}
    for rec in report.checks:
        if visibility_of(config, rec.id, rec.section) != "visible":
            hidden += 1
            continue
        level = level_of(config, rec.id, rec.section)
        levels[level] = levels.get(level, 0) + 1
        shown.append(trim_record(rec, level))
    base = {f.name: getattr(report, f.name) for f in dataclasses.fields(Report)}
    base.update(checks=shown, load=copy.deepcopy(report.load))
    student = StudentReport(**base, audience={
        "name": "student", "hidden_checks": hidden,
        "trimmed_checks": sum(n for lv, n in levels.items() if lv != "full"),
    })
    if hidden:
        score_report(student, config or Config())
    return student


def mark_feedback_levels(d: dict, config: Config | None) -> dict:
    """Add each check's ``feedback`` level and ``visibility`` to a report dict, in place."""
    for c in d.get("checks", []):
        c["feedback"] = level_of(config, c["id"], c.get("section", ""))
        c["visibility"] = visibility_of(config, c["id"], c.get("section", ""))
    return d


__all__ = ["AUDIENCES", "FEEDBACK_LEVELS", "VISIBILITIES", "PLATFORM_FORMATS", "StudentReport", "mark_feedback_levels",
           "check_keys", "for_student", "level_of", "trim_check", "trim_record", "visibility_of"]


# -- shared by the platform exports (Gradescope, PrairieLearn) ---------------

def finite(x) -> float:
    """``x`` as a float, 0.0 where it is not a finite number (platforms reject NaN and inf)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def cap_text(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters, saying how much was left out."""
    text = text or ""
    return text if len(text) <= n else text[:n] + f"\n... ({len(text) - n} more characters not shown)"
