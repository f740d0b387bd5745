"""Submissions made from the reference: single-bug mutants and correct variants.

A :class:`Variant` is the reference package with a few exact text edits
(each ``old`` string must occur exactly once in its file, so a mutant can
never silently drift from the reference it mutates), or a complete set of
files. Plugins contribute variants through the ``nncheck_selftest_variants``
hook; ``nncheck selftest`` and the test suite grade them all.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nncheck.reference

REFERENCE_DIR = Path(nncheck.reference.__file__).parent


class VariantError(Exception):
    """A variant's edit no longer applies to the reference."""


@dataclass
class Variant:
    """A submission with known expectations.

    :param kind: ``"mutant"`` (must fail a check of ``family``, naming
        ``diagnosis`` if given) or ``"correct"`` (must pass every check it
        runs; ``families`` may restrict which ones are graded).
    :param edits: ``(file, old, new)`` applied to a copy of the reference
        package (``file`` relative to ``nncheck/reference``).
    :param files: instead of edits, the whole submission ``{relative path: text}``;
        a single ``.py`` or ``.ipynb`` entry is submitted as that file.
    """

    name: str
    kind: str
    family: str | None = None
    diagnosis: str | None = None
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    files: dict[str, str] | None = None
    description: str = ""
    families: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.kind not in ("mutant", "correct"):
            raise ValueError(f"variant {self.name}: kind must be 'mutant' or 'correct'")
        if self.kind == "mutant" and not self.family:
            raise ValueError(f"variant {self.name}: a mutant names the family that must catch it")

    def materialise(self, dest: Path) -> Path:
        """Write the variant under ``dest`` and return the path to submit."""
        dest = Path(dest)
        if self.files is not None:
            root = dest / self.name
            root.mkdir(parents=True, exist_ok=True)
            for rel, text in self.files.items():
                p = root / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text, encoding="utf-8")
            if len(self.files) == 1 and next(iter(self.files)).endswith((".py", ".ipynb")):
                return root / next(iter(self.files))
            return root
        root = dest / self.name / "reference"
        shutil.copytree(REFERENCE_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
        for rel, old, new in self.edits:
            path = root / rel
            text = path.read_text(encoding="utf-8")
            count = text.count(old)
            if count != 1:
                raise VariantError(f"variant {self.name}: {old!r} occurs {count} times in reference/{rel}, "
                                   "expected exactly once (did the reference change?)")
            path.write_text(text.replace(old, new), encoding="utf-8")
        return root


def mutant(name, family, diagnosis, file, old, new, description="") -> Variant:
    """A single-bug mutant: one edit of one reference file."""
    return Variant(name, "mutant", family, diagnosis, [(file, old, new)], description=description)


def correct(name, edits=(), files=None, description="", families=None) -> Variant:
    """A correct variant that must pass every check it runs."""
    return Variant(name, "correct", edits=list(edits), files=files, description=description,
                   families=families)
