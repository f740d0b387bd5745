"""``nncheck selftest``: prove the checks catch what they claim and pass what is right.

Every plugin contributes variants (``nncheck_selftest_variants``): single-bug
mutants generated from the reference, and correct variants in other styles
and submission forms. Each mutant must fail a check of its family (and name
its diagnosis); each correct variant must pass every check it runs.
"""
from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from nncheck.engine import Engine
from nncheck.model import Status
from nncheck.variants import Variant, VariantError

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

    def to_json(self) -> dict:
        v = self.variant
        return {"name": v.name, "kind": v.kind, "family": v.family, "diagnosis": v.diagnosis,
                "description": v.description, "ok": self.ok, "verdict": self.verdict,
                "diagnosed": self.diagnosed, "found": self.found, "failing": self.failing,
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


def run_variant(engine: Engine, variant: Variant, scratch: Path, seed: int = 0) -> Outcome:
    t0 = time.perf_counter()
    try:
        path = variant.materialise(scratch)
    except VariantError as exc:
        return Outcome(variant, False, "broken", failing=[{"id": "-", "message": str(exc)}])
    report = engine.grade(path, seed=seed, only=_only(engine, variant))
    elapsed = time.perf_counter() - t0
    failing = [{"id": c.id, "status": str(c.status), "message": c.message, "diagnosis": c.diagnosis}
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
    if not in_family:
        return Outcome(variant, False, "survived", False, found, failing, elapsed)
    diagnosed = variant.diagnosis is None or variant.diagnosis in found
    return Outcome(variant, True, "diagnosed" if diagnosed and variant.diagnosis else "killed",
                   diagnosed, found, in_family, elapsed)


def run_selftest(engine: Engine, *, jobs: int = 2, seed: int = 0, names=None,
                 progress=None) -> dict:
    variants = collect_variants(engine)
    if names:
        variants = [v for v in variants if any(
            n in (v.name, v.family) or n in (v.families or ()) or v.name.startswith(n + "-")
            for n in names)]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nncheck-selftest-") as scratch:
        def one(v: Variant) -> Outcome:
            out = run_variant(engine, v, Path(scratch), seed)
            if progress:
                progress(out)
            return out

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            outcomes = list(pool.map(one, variants))
    mutants = [o for o in outcomes if o.variant.kind == "mutant"]
    rights = [o for o in outcomes if o.variant.kind == "correct"]
    with_code = [o for o in mutants if o.variant.diagnosis]
    killed = sum(o.ok for o in mutants)
    diagnosed = sum(bool(o.diagnosed) for o in with_code)
    passed = sum(o.ok for o in rights)
    codes = sorted({o.variant.diagnosis for o in with_code})
    return {
        "mutants": len(mutants), "killed": killed,
        "kill_rate": round(killed / len(mutants), 4) if mutants else None,
        "diagnosis_expected": len(with_code), "diagnosed": diagnosed,
        "diagnosis_accuracy": round(diagnosed / len(with_code), 4) if with_code else None,
        "codes_covered": codes,
        "correct": len(rights), "correct_passed": passed, "false_failures": len(rights) - passed,
        "survivors": [o.variant.name for o in mutants if not o.ok],
        "misdiagnosed": [o.variant.name for o in with_code if o.ok and not o.diagnosed],
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
        lines.append(f"{v['name']:<36} {v['kind']:<8} {expected:<40} {outcome}")
    r = result
    lines += ["",
              f"mutants killed: {r['killed']}/{r['mutants']} (kill rate {r['kill_rate']})",
              f"diagnosis named: {r['diagnosed']}/{r['diagnosis_expected']} "
              f"(accuracy {r['diagnosis_accuracy']}), {len(r['codes_covered'])} codes covered",
              f"correct variants passing: {r['correct_passed']}/{r['correct']} "
              f"(false failures: {r['false_failures']})",
              f"survivors: {', '.join(r['survivors']) or 'none'}",
              f"time: {r['duration_s']} s",
              "OK" if r["ok"] else "FAILED"]
    return "\n".join(lines) + "\n"
