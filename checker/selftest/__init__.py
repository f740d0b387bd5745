"""``nncheck selftest``: prove the checks catch what they claim and pass what is right.

Every plugin contributes variants (``nncheck_selftest_variants``): single-bug
mutants generated from the reference, and correct variants in other styles
and submission forms. Each mutant must fail a check of its family (and name
its diagnosis); each correct variant must pass every check it runs.

Pointing: every mutant knows the lines its bug is on
(:meth:`nncheck.variants.Variant.changed_lines`: the lines its edit rewrote, or,
for a mutant given as whole files, the lines that differ from its correct twin
``<name>-correct``). A line the failing checks pin (``where``) must be one of
them: a mutant pinned elsewhere fails the selftest. A mutant whose checks pin
no line ("could not pin the line") is counted, not failed.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from nncheck.config import from_mapping
from nncheck.model import Status
from nncheck.variants import Variant, VariantError

if TYPE_CHECKING:  # the engine is imported where a variant is graded: a plugin that imports
    from nncheck.engine import Engine  # nncheck.selftest.conventions must not pull it into a kernel

BAD = (Status.FAILED, Status.ERROR, Status.TIMEOUT)


@dataclass
class Outcome:
    variant: Variant
    ok: bool
    verdict: str              # killed | diagnosed | survived | passed | false-failure | broken
    diagnosed: bool | None = None
    found: list[str] = field(default_factory=list)
    failing: list[dict] = field(default_factory=list)
    duration_s: float = 0.0
    pointing: str | None = None   # mutants: right | wrong | not-pinned | unjudged
    pinned: list = field(default_factory=list)     # [(file, cell, line)] the failing checks pinned
    expected: list | None = None                   # [(file, cell, line)] the mutant changed

    def to_json(self) -> dict:
        v = self.variant
        return {"name": v.name, "kind": v.kind, "family": v.family, "diagnosis": v.diagnosis,
                "description": v.description, **({"config": v.config} if v.config else {}), "ok": self.ok, "verdict": self.verdict,
                "diagnosed": self.diagnosed, "found": self.found, "failing": self.failing,
                "pointing": self.pointing, "pinned": [list(p) for p in self.pinned],
                "expected_lines": None if self.expected is None else [list(x) for x in self.expected],
                "duration_s": round(self.duration_s, 3)}


def collect_variants(engine: Engine) -> list[Variant]:
    variants: list[Variant] = []
    for contributed in reversed(engine.pm.hook.nncheck_selftest_variants(config=engine.config)):
        variants.extend(contributed or [])
    names = [v.name for v in variants]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"variant names used twice: {', '.join(sorted(dupes))}")
    return variants


def _only(engine: Engine, variant: Variant) -> list[str] | None:
    """Mutants are graded on their family; correct variants on everything (or their families)."""
    if variant.kind == "mutant":
        return [variant.family]
    return list(variant.families) if variant.families else None


def judge_pointing(checks, expected) -> tuple[str, list]:
    """``(verdict, pinned)`` for a mutant: ``right`` when every line its failing checks pin is
    one the mutant changed, ``wrong`` when one is not, ``not-pinned``, or ``unjudged`` (the
    mutant does not say which lines it changed)."""
    pinned = []
    for c in checks:
        for w in c.get("where") or []:
            if w.get("pinned") and not w.get("raised"):  # an error's raise line is no claim
                p = (w.get("file"), w.get("cell"), w.get("line"))
                if p not in pinned:
                    pinned.append(p)
    if not pinned:
        return "not-pinned", []
    if expected is None:
        return "unjudged", pinned

    def hit(p):
        f, cell, line = p
        return any((f == ef or str(f).endswith("/" + ef)) and cell == ecell and line == eline
                   for ef, ecell, eline in expected)
    return ("right" if all(hit(p) for p in pinned) else "wrong"), pinned


_ENGINES: dict = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(engine: Engine, variant: Variant) -> Engine:
    """``engine``, or for a variant with config settings of its own (:attr:`Variant.config`) an engine
    with the same plugins under ``engine``'s config with those settings (built once per setting)."""
    if not variant.config:
        return engine
    from nncheck.engine import Engine

    key = (id(engine), json.dumps(variant.config, sort_keys=True))
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            config = from_mapping(variant.config, f"variant {variant.name}'s config", base=engine.config)
            _ENGINES[key] = Engine(config, engine.plugin_files, entry_points=getattr(engine, "entry_points", True),
                                   isolation=engine.isolation_choice)
        return _ENGINES[key]


def run_variant(engine: Engine, variant: Variant, scratch: Path, seed: int = 0,
                expected: set | None = None, slots: int | None = None) -> Outcome:
    """Grade one variant (under its own config settings, if it has any); for a mutant, ``expected`` are
    the lines it changed (see :meth:`~nncheck.variants.Variant.changed_lines`), against which its
    pointers are judged."""
    engine = engine_for(engine, variant)
    t0 = time.perf_counter()
    try:
        path = variant.materialise(scratch)
    except VariantError as exc:
        return Outcome(variant, False, "broken", failing=[{"id": "-", "message": str(exc)}])
    report = engine.grade(path, seed=seed, only=_only(engine, variant), slots=slots)
    elapsed = time.perf_counter() - t0
    failing = [{"id": c.id, "status": str(c.status), "message": c.message, "diagnosis": c.diagnosis,
                **({"where": c.where} if c.where else {})}
               for c in report.checks if c.status in BAD]
    if variant.kind == "correct":
        not_run = [{"id": c.id, "status": "skipped", "message": c.message, "diagnosis": []}
                   for c in report.checks if c.status is Status.SKIPPED]
        bad = failing + not_run
        if not report.load.get("ok", True):
            bad.insert(0, {"id": "load", "status": "error", "message": report.load.get("message"),
                           "diagnosis": []})
        return Outcome(variant, not bad, "passed" if not bad else "false-failure",
                       failing=bad, duration_s=elapsed)
    in_family = [f for f in failing if f["id"].split(".")[0] == variant.family]
    found = sorted({d for f in in_family for d in f["diagnosis"]})
    pointing, pinned = judge_pointing(in_family, expected)
    exp = None if expected is None else sorted(expected, key=lambda x: (x[0], x[1] or 0, x[2]))
    if not in_family:
        return Outcome(variant, False, "survived", False, found, failing, elapsed, pointing, pinned, exp)
    diagnosed = variant.diagnosis is None or variant.diagnosis in found
    return Outcome(variant, pointing != "wrong", "diagnosed" if diagnosed and variant.diagnosis else "killed",
                   diagnosed, found, in_family, elapsed, pointing, pinned, exp)


def run_selftest(engine: Engine, *, jobs: int = 2, seed: int = 0, names=None,
                 progress=None, notebooks: bool = False) -> dict:
    """Grade the variants (those ``names`` selects); ``notebooks`` also grades every mutant
    made by edits handed in as a notebook (:func:`nncheck.variants.as_notebook`), so its
    pointers are judged in cell coordinates too."""
    variants = collect_variants(engine)
    twins = {v.name: v for v in variants if v.kind == "correct"}
    if names:
        variants = [v for v in variants if any(
            n in (v.name, v.family) or n in (v.families or ()) or v.name.startswith(n + "-")
            for n in names)]
    if notebooks:
        from nncheck.variants import as_notebook
        variants += [as_notebook(v) for v in variants if v.kind == "mutant" and v.edits]
    t0 = time.perf_counter()
    slots = max(1, (os.cpu_count() or 1) // max(1, jobs))  # the processors left to each variant's probes
    with tempfile.TemporaryDirectory(prefix="nncheck-selftest-") as scratch:
        def one(v: Variant) -> Outcome:
            expected = v.changed_lines(twins.get(f"{v.name}-correct")) if v.kind == "mutant" else None
            out = run_variant(engine, v, Path(scratch), seed, expected, slots=slots)
            if progress:
                progress(out)
            return out

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            outcomes = list(pool.map(one, variants))
    mutants = [o for o in outcomes if o.variant.kind == "mutant"]
    rights = [o for o in outcomes if o.variant.kind == "correct"]
    with_code = [o for o in mutants if o.variant.diagnosis]
    killed = sum(o.verdict in ("killed", "diagnosed") for o in mutants)
    diagnosed = sum(bool(o.diagnosed) for o in with_code)
    passed = sum(o.ok for o in rights)
    codes = sorted({o.variant.diagnosis for o in with_code})
    judged = {k: [o.variant.name for o in mutants if o.pointing == k]
              for k in ("right", "wrong", "not-pinned", "unjudged")}
    pointed = len(judged["right"]) + len(judged["wrong"])
    return {
        "mutants": len(mutants), "killed": killed,
        "kill_rate": round(killed / len(mutants), 4) if mutants else None,
        "diagnosis_expected": len(with_code), "diagnosed": diagnosed,
        "diagnosis_accuracy": round(diagnosed / len(with_code), 4) if with_code else None,
        "codes_covered": codes,
        "correct": len(rights), "correct_passed": passed, "false_failures": len(rights) - passed,
        "survivors": [o.variant.name for o in mutants if o.verdict not in ("killed", "diagnosed")],
        "pointing": {
            "pinned_right": len(judged["right"]), "pinned_wrong": len(judged["wrong"]),
            "not_pinned": len(judged["not-pinned"]), "unjudged": len(judged["unjudged"]),
            "precision": round(len(judged["right"]) / pointed, 4) if pointed else None,
            "coverage": round(pointed / len(mutants), 4) if mutants else None,
        },
        "pinned_elsewhere": judged["wrong"],
        "misdiagnosed": [o.variant.name for o in with_code
                         if o.verdict in ("killed", "diagnosed") and not o.diagnosed],
        "duration_s": round(time.perf_counter() - t0, 2),
        "ok": all(o.ok for o in outcomes),
        "variants": [o.to_json() for o in outcomes],
    }


def render_table(result: dict) -> str:
    lines = [f"{'variant':<36} {'kind':<8} {'expected':<40} outcome"]
    for v in result["variants"]:
        expected = (f"{v['family']}: {v['diagnosis'] or '(any)'}" if v["kind"] == "mutant"
                    else "passes every check")
        outcome = v["verdict"]
        if v["kind"] == "mutant" and v["verdict"] == "killed" and v["diagnosis"]:
            outcome = f"killed, but named {', '.join(v['found']) or 'no diagnosis'}"
        if v["verdict"] == "false-failure":
            outcome += ": " + "; ".join(f"{f['id']} {f['status']}" for f in v["failing"][:3])
        if v["kind"] == "mutant" and v.get("pointing") not in (None, "not-pinned"):
            where = ", ".join(f"cell {p[1]} line {p[2]}" if p[1] is not None else f"{str(p[0]).rsplit('/', 1)[-1]}:{p[2]}"
                              for p in v["pinned"][:3])
            outcome += {"right": f"; pinned {where}", "wrong": f"; pinned {where}: WRONG LINE (the bug is on "
                        + ", ".join(str(x[2]) for x in (v.get("expected_lines") or [])[:4]) + ")",
                        "unjudged": f"; pinned {where} (unjudged)"}[v["pointing"]]
        lines.append(f"{v['name']:<36} {v['kind']:<8} {expected:<40} {outcome}")
    r = result
    p = r["pointing"]
    lines += ["",
              f"mutants killed: {r['killed']}/{r['mutants']} (kill rate {r['kill_rate']})",
              f"diagnosis named: {r['diagnosed']}/{r['diagnosis_expected']} "
              f"(accuracy {r['diagnosis_accuracy']}), {len(r['codes_covered'])} codes covered",
              f"correct variants passing: {r['correct_passed']}/{r['correct']} "
              f"(false failures: {r['false_failures']})",
              f"survivors: {', '.join(r['survivors']) or 'none'}",
              f"lines pointed at: {p['pinned_right'] + p['pinned_wrong']}/{r['mutants']} mutants pinned, "
              f"{p['pinned_right']} to the line the mutant changed, {p['pinned_wrong']} elsewhere "
              f"(precision {p['precision']}); {p['not_pinned']} not pinned"
              + (f", {p['unjudged']} unjudged" if p["unjudged"] else ""),
              f"pinned to the wrong line: {', '.join(r['pinned_elsewhere']) or 'none'}",
              f"time: {r['duration_s']} s",
              "OK" if r["ok"] else "FAILED"]
    return "\n".join(lines) + "\n"
