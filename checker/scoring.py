"""Scores: the one place that computes them.

* :func:`check_score`: the points one check earns, from its verdict;
* :func:`score_report`: section totals and the overall score, from the
  checks' points;
* :func:`counts_toward_score`: whether a check's points are part of that
  score (the platform exports show the others at 0).

Sections: ``core`` sums; ``options`` follows the assignment's "pick one of
options I-III": by default only the best attempted option family counts
(``sections.options = "sum"`` adds them all up); ``bonus`` is extra credit
added on top of the score and not part of ``max_score``.
"""
from __future__ import annotations

from collections import defaultdict

from nncheck.config import Config
from nncheck.model import Report, Result, Status


def check_score(points: float, result: Result) -> float:
    """The points a check worth ``points`` earns with ``result``: the share it earned
    (:meth:`Result.earned`, held to 0..1) of its points, to 4 places."""
    return round(points * max(0.0, min(1.0, result.earned())), 4)


def score_report(report: Report, config: Config) -> Report:
    """Fill in ``report``'s ``sections``, ``score`` and ``max_score`` from its checks' scores."""
    by_section: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for rec in report.checks:
        by_section[rec.section][rec.family].append(rec)
    sections: dict[str, dict] = {}
    for name in ("core", "options", "bonus"):
        fams = by_section.get(name, {})
        earned = {f: sum(r.score for r in rs) for f, rs in fams.items()}
        maxes = {f: sum(r.max_score for r in rs) for f, rs in fams.items()}
        attempted = [f for f, rs in fams.items() if any(r.status is not Status.SKIPPED for r in rs)]
        rule = "sum" if name == "core" else config.sections.get(name, "best" if name == "options" else "add")
        if rule == "off":
            score, max_score, counted = 0.0, 0.0, []
        elif rule == "best":
            best = max(attempted, key=lambda f: (earned[f] / maxes[f] if maxes[f] else 0, earned[f]),
                       default=None)
            counted = [best] if best else []
            score = earned[best] if best else 0.0
            max_score = maxes[best] if best else max(maxes.values(), default=0.0)
        else:
            counted = attempted
            score = sum(earned.values())
            max_score = sum(maxes.values())
        sections[name] = {"score": round(score, 4), "max_score": round(max_score, 4),
                          "rule": rule, "counted": sorted(counted), "attempted": sorted(attempted)}
    report.sections = sections
    report.score = round(sum(s["score"] for s in sections.values()), 4)
    report.max_score = round(sections["core"]["max_score"] + sections["options"]["max_score"], 4)
    return report


def counts_toward_score(check: dict, sections: dict | None) -> bool:
    """Whether a check of a report dict counts in its score: a core check always, an option
    or bonus check when its family is one its section counted, none in a section that is off.

    ``sections`` is the report's ``sections`` (what :func:`score_report` filled in).
    """
    info = (sections or {}).get(check["section"], {})
    family = check["id"].split(".", 1)[0]
    return (check["section"] == "core" or family in info.get("counted", [])) and info.get("rule") != "off"
