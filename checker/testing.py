"""Helpers for instructors testing their own checks with pytest.

Show a new check passes the reference and catches a mutant in a few lines::

    from nncheck.testing import assert_catches, assert_passes, mutate_reference

    def test_my_check(tmp_path):
        assert_passes("nncheck.reference", "dense", tmp_path=tmp_path)
        bad = mutate_reference("layers.py", "grad_output.sum(axis=0)", "grad_output.mean(axis=0)")
        assert_catches(bad, "dense", "dense-bias-grad-mean", tmp_path=tmp_path)

A submission is a path, Python source text (a string containing a newline),
a :class:`~nncheck.variants.Variant`, or ``"nncheck.reference"``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.model import Report, Status
from nncheck.variants import REFERENCE_DIR, Variant, mutant

__all__ = ["grade", "assert_passes", "assert_catches", "mutate_reference"]


def mutate_reference(file: str, old: str, new: str, name: str = "mutant") -> Variant:
    """The reference package with one exact edit (``old`` must occur once in ``file``)."""
    return mutant(name, "?", None, file, old, new)


def _materialise(submission, tmp_path: Path) -> Path:
    if isinstance(submission, Variant):
        return submission.materialise(tmp_path)
    if submission == "nncheck.reference":
        return REFERENCE_DIR
    if isinstance(submission, str) and "\n" in submission:
        path = tmp_path / "submission.py"
        path.write_text(submission, encoding="utf-8")
        return path
    return Path(submission)


def grade(submission, checks=None, *, plugins=(), config: Config | None = None,
          tmp_path: Path | None = None, seed: int = 0, entry_points: bool = True) -> Report:
    """Grade ``submission`` with the given ``checks`` (ids or families; all when None)."""
    engine = Engine(config or Config(), plugin_files=plugins, entry_points=entry_points)
    if isinstance(checks, str):
        checks = [checks]
    with tempfile.TemporaryDirectory() as scratch:
        path = _materialise(submission, Path(tmp_path or scratch))
        return engine.grade(path, seed=seed, only=checks)


def _table(report: Report) -> str:
    return "\n".join(f"  {c.status:<8} {c.id}: {c.message}" for c in report.checks)


def assert_passes(submission, checks=None, **kw) -> Report:
    """Every check run on ``submission`` passes (a skipped one fails the assertion too)."""
    report = grade(submission, checks, **kw)
    bad = [c for c in report.checks if c.status is not Status.PASSED]
    assert report.checks, f"no check matched {checks!r}"
    assert not bad, "expected every check to pass:\n" + _table(report)
    return report


def assert_catches(submission, family: str, diagnosis: str | None = None, **kw) -> Report:
    """A check of ``family`` fails on ``submission`` (naming ``diagnosis`` if given)."""
    report = grade(submission, kw.pop("checks", None), **kw)
    caught = [c for c in report.checks if c.family == family
              and c.status in (Status.FAILED, Status.ERROR, Status.TIMEOUT)]
    assert caught, f"no {family} check failed:\n" + _table(report)
    if diagnosis:
        named = [c for c in caught if diagnosis in c.diagnosis]
        assert named, f"{family} failed but no check named {diagnosis!r}:\n" + _table(report)
    return report
