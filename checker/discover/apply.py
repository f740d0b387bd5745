"""Applying what discovery found: the option checks get the form, and the report says so.

:func:`apply` replaces, for each option with a chosen form, its checks by
copies whose ``requires`` names the form's class instead of the canonical
one, whose inputs carry the form under ``"_form"``, and whose verdict first
turns a probe's ``{"_unconfirmed": sentence}`` (or, for a form nobody pinned,
a calling-convention sentence) into a skip. After the run,
:func:`describe_options` says in the report which code was graded as which
option; :func:`option_layout` and :func:`option_notes` are the words the text
and HTML reports show.
"""
from __future__ import annotations

import dataclasses

from nncheck.discover import catalogue as _catalogue
from nncheck.discover.scan import OptionsFound, public
from nncheck.discover.sources import inherited_backward
from nncheck.model import Result, Status
from nncheck.probes import SIGNATURE_ERROR
from nncheck.report import diagnoses
from nncheck.worker.forms import FORM, GRADED, UNCONFIRMED


def _with_form(inputs_fn, form):
    def inputs(rng):
        data = dict(inputs_fn(rng))
        data[FORM] = form
        if isinstance(data.get("traj"), dict):
            data["traj"] = {**data["traj"], FORM: form}
        return data
    return inputs


def _guarded(verdict, form):
    def verdict_for_form(inputs, output, *answers):
        if isinstance(output, dict) and isinstance(output.get(UNCONFIRMED), str):
            if form.get("confirm") == "strict":  # no name, flag or pin said it: nothing was attempted
                return Result.skipped(f"not attempted: no {form['canonical']} in the submission, and "
                                      f"{output[UNCONFIRMED]}")
            return Result.skipped(f"not graded: saw {form['label']} ({form['evidence']}), but "
                                  f"{output[UNCONFIRMED]}")
        graded = None
        if isinstance(output, dict) and GRADED in output:
            output = dict(output)
            graded = output.pop(GRADED)
        if (isinstance(output, dict) and isinstance(output.get(SIGNATURE_ERROR), str)
                and not form.get("pinned")):
            return Result.skipped(f"not graded: saw {form['label']} ({form['evidence']}), but it cannot be "
                                  f"built the way the assignment builds the option: {output[SIGNATURE_ERROR]}")
        result = verdict(inputs, output, *answers)
        if graded is not None and isinstance(result, Result):
            result.details = {**(result.details or {}), GRADED: graded}
        return result
    verdict_for_form.__nncheck_guarded__ = True  # the wrapped verdict is guarded already
    return verdict_for_form


def apply(checks, found: OptionsFound):
    """The checks with every discovered form wired into its option's checks (core untouched)."""
    if not found.forms and not found.behaviour:
        return list(checks)
    catalogue = found.catalogue
    out = []
    for check in checks:
        opt = catalogue.for_family(check.family)
        form = found.tried(opt.name) if opt is not None and check.section != "core" else None
        if form is None:
            out.append(check)
            continue
        requires = tuple(form["class"] if r == opt.canonical else r for r in check.requires)
        out.append(dataclasses.replace(check, requires=requires, inputs=_with_form(check.inputs, form),
                                       verdict=_guarded(check.verdict, form)))
    return out


def describe_options(report, found: OptionsFound):
    """Say in the report which code was graded as which option, and what was seen but not graded."""
    info = found.to_json()
    catalogue = found.catalogue
    for option, cands in found.candidates.items():
        if len(cands) > 1 and not cands[0].get("pinned"):  # a pin already chose among them
            others = ", ".join(f"`{c['label']}`" for c in cands[1:])
            example = cands[1]["label"].replace("...", "").replace("(, ", "(")
            info.setdefault("several", {})[option] = (
                f"several candidates for {catalogue.label(option)}: graded `{cands[0]['label']}`; also saw "
                f"{others}. To grade another one, pin it with a comment anywhere in your code, e.g. "
                f"`# nncheck: {option} = {example}` (an instructor: the config table [options]).")
    report.load["options"] = info
    graded: dict = {}
    for rec in report.checks:
        opt = catalogue.for_family(rec.family)
        form = found.tried(opt.name) if opt is not None else None
        if form is None or rec.section == "core":
            continue
        form = graded_form(form, rec)
        if rec.status is not Status.SKIPPED:
            graded.setdefault(opt.name, public(form))
        elif form.get("confirm") == "strict":
            continue  # nothing behaved like the option: not attempted, no form to name
        rec.details = {**(rec.details or {}), "graded_form": public(form)}
        if rec.status is Status.SKIPPED:
            continue
        note = f"graded `{form['label']}` as {opt.label} ({form['evidence']})"
        rec.message = f"{note}. {rec.message}" if rec.message else note
        if rec.status is Status.FAILED and any(diagnoses.inherited(c) for c in rec.diagnosis):
            owner = inherited_backward(form["class"], found.classes)
            if owner:
                name, where = owner
                rec.message += (f" This bug is in `{name}.backward` ({where}), which `{form['class']}` "
                                f"inherits: fix it there once and both are right.")
                rec.diagnosis = list(rec.diagnosis) + ["inherited-from-dense"]
    info["graded"].update(graded)  # what was graded, not what was found first
    _not_attempted_family(report, found)
    return report


def _not_attempted_family(report, found: OptionsFound) -> None:
    """An option nothing names and no layer behaves like is not attempted, in every check of it: a
    check that waited on another of the family says so too (not "skipped because ... did not pass")."""
    families: dict = {}
    for rec in report.checks:
        opt = found.catalogue.for_family(rec.family)
        if opt is not None and opt.name in found.behaviour and rec.section != "core":
            families.setdefault(rec.family, []).append(rec)
    for recs in families.values():
        first = next((r.message for r in recs if r.message.startswith("not attempted")), None)
        if first and all(r.status is Status.SKIPPED for r in recs):
            for r in recs:
                if r.message.startswith("skipped because"):
                    r.message = first


def graded_form(form: dict, rec) -> dict:
    """The candidate of ``form`` the sandbox graded for the check ``rec`` (the form itself when the
    probe did not say)."""
    index = (rec.details or {}).get(GRADED)
    cands = form.get("candidates") or []
    if isinstance(index, int) and 0 <= index < len(cands):
        return cands[index]
    return form


# --------------------------------------------------------------------------
# The report a student reads at a glance (text and HTML; JSON keeps every check)
# --------------------------------------------------------------------------
def _not_attempted(checks: list) -> bool:
    return bool(checks) and all(c["status"] == "skipped" and str(c.get("message", "")).startswith("not attempted")
                                for c in checks)


def option_layout(d: dict, section: str, checks: list) -> tuple[list, list]:
    """``(checks to show, families not attempted)`` for an options/bonus ``section`` of a report dict.

    The family that counted comes first, then the other attempted ones; the
    families nobody attempted collapse into one list (JSON keeps them all).
    Other sections come back unchanged.
    """
    if section not in ("options", "bonus"):
        return checks, []
    families: dict[str, list] = {}
    for c in checks:
        families.setdefault(c["id"].split(".", 1)[0], []).append(c)
    counted = list(((d.get("sections") or {}).get(section) or {}).get("counted") or [])
    skipped = [f for f, cs in families.items() if _not_attempted(cs)]
    shown = [f for f in families if f not in skipped]
    position = {f: i for i, f in enumerate(shown)}
    shown.sort(key=lambda f: (f not in counted, position[f]))
    return [c for f in shown for c in families[f]], skipped


def option_notes(d: dict) -> list[str]:
    """Sentences about discovery for the text and HTML reports: what was graded as what, several
    candidates and how to pin one, option-like code that could not be graded."""
    info = (d.get("load") or {}).get("options") or {}
    notes = []
    for option, form in (info.get("graded") or {}).items():
        notes.append(f"graded `{form.get('label')}` as {_catalogue.label(option)} "
                     f"({form.get('evidence')}, {form.get('where')})")
    notes += list((info.get("several") or {}).values())
    notes += [f"seen but not graded: {s}" for s in info.get("not_graded") or []]
    return notes
