"""Submissions made from the reference: single-bug mutants and correct variants.

A :class:`Variant` is the reference package with a few exact text edits
(each ``old`` string must occur exactly once in its file, so a mutant can
never silently drift from the reference it mutates), or a complete set of
files. Plugins contribute variants through the ``nncheck_selftest_variants``
hook; ``nncheck selftest`` and the test suite grade them all.
"""
from __future__ import annotations

import difflib
import json
import re
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
    :param lines: for a mutant, the lines its bug is on, ``{file: [line, ...]}`` (a
        notebook's as ``{file: [(cell index, line), ...]}``); ``nncheck selftest`` checks
        that a line pointed at is one of them. Computed from ``edits`` when not given (see
        :meth:`changed_lines`).
    :param config: config settings the variant is graded under, shaped like the TOML file
        (``{"options": {"l2_convention": "strict"}}``), over the selftest's own config: a
        mistake that fails only under an instructor's setting is a mutant under it.
    """

    name: str
    kind: str
    family: str | None = None
    diagnosis: str | None = None
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    files: dict[str, str] | None = None
    description: str = ""
    families: tuple[str, ...] | None = None
    lines: dict | None = None
    config: dict | None = None

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


    def changed_lines(self, twin: "Variant | None" = None) -> set | None:
        """``{(file, cell, line)}`` the mutant changed: ``file`` relative to the submission
        (``layers.py`` for an edit of the reference), ``cell`` the notebook cell's index or
        ``None``, ``line`` 1-based in the file or cell, as the mutant reads. Taken from
        :attr:`lines`, else from the edits (the lines they rewrote; a deletion counts the
        line where the text was), else by comparing ``files`` with those of ``twin`` (its
        correct counterpart). ``None`` when nothing says."""
        if self.lines is not None:
            out = set()
            for f, lines in self.lines.items():
                for ln in lines:
                    out.add((f, *ln) if isinstance(ln, (tuple, list)) else (f, None, int(ln)))
            return out
        if self.edits:
            out = set()
            texts = {}
            for rel, old, new in self.edits:
                text = texts.get(rel) or (REFERENCE_DIR / rel).read_text(encoding="utf-8")
                if text.count(old) != 1:
                    return None
                out |= {(rel, None, ln) for ln in edit_lines(text, old, new)}
                texts[rel] = text.replace(old, new)
            return out
        if self.files is not None and twin is not None and twin.files is not None:
            out = set()
            for rel, text in self.files.items():
                other = twin.files.get(rel)
                if other is None:
                    continue
                if rel.endswith(".ipynb"):
                    mine, theirs = _cells(text), _cells(other)
                    for idx, cell in mine.items():
                        out |= {(rel, idx, ln) for ln in _diff_lines(theirs.get(idx, ""), cell)}
                else:
                    out |= {(rel, None, ln) for ln in _diff_lines(other, text)}
            return out or None
        return None


def _diff_lines(old: str, new: str, first: int = 1) -> set:
    """Lines of ``new`` (numbered from ``first``) that differ from ``old``; a deletion counts
    the line before the gap."""
    a, b = old.split("\n"), new.split("\n")
    out = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if j2 > j1:
            out.update(first + j for j in range(j1, j2))
        else:
            out.add(first + max(j1 - 1, 0))
    return out


def edit_lines(text: str, old: str, new: str) -> set:
    """The lines of ``text.replace(old, new)`` that the edit rewrote (whole lines compared)."""
    pos = text.index(old)
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos + len(old))
    end = len(text) if end < 0 else end
    after = text.replace(old, new)
    new_end = after.find("\n", pos + len(new))
    new_end = len(after) if new_end < 0 else new_end
    return _diff_lines(text[start:end], after[start:new_end], text[:start].count("\n") + 1)


def _cells(notebook: str) -> dict:
    """``{cell index: source}`` of a notebook's code cells."""
    try:
        cells = json.loads(notebook).get("cells", [])
    except (ValueError, AttributeError):
        return {}
    out = {}
    for i, c in enumerate(cells):
        if isinstance(c, dict) and c.get("cell_type") == "code":
            src = c.get("source", "")
            out[i] = "".join(src) if isinstance(src, list) else str(src)
    return out


NOTEBOOK_MODULES = ("layers", "loss", "network", "options", "regularization")


def as_notebook(variant: Variant, name: str = "homework.ipynb") -> Variant:
    """An edits variant of the reference handed in as a student's notebook: one code cell per
    reference module (relative imports blanked, so every line keeps its number), after a
    markdown title, each with an ``In [N]`` count. A mutant's :attr:`Variant.lines` are
    mapped to ``(cell index, line)``."""
    sources = {m: (REFERENCE_DIR / f"{m}.py").read_text(encoding="utf-8") for m in NOTEBOOK_MODULES}
    changed = variant.changed_lines() if variant.kind == "mutant" else None
    for rel, old, new in variant.edits:
        mod = rel[:-3]
        if mod not in sources or sources[mod].count(old) != 1:
            raise VariantError(f"variant {variant.name}: cannot apply {rel!r} to the notebook form")
        sources[mod] = sources[mod].replace(old, new)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Your very own neural network"}]
    where = {}
    for k, mod in enumerate(NOTEBOOK_MODULES):
        where[f"{mod}.py"] = len(cells)
        text = re.sub(r"^from \.\w+ import .*$", "", sources[mod], flags=re.M)
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": k + 3, "outputs": [],
                      "source": text})
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info": {"name": "python"}},
          "cells": [dict(c, id=f"c{i}") for i, c in enumerate(cells)]}
    lines = None
    if changed is not None:
        lines = {name: sorted((where[f], ln) for f, _, ln in changed if f in where)}
    return Variant(f"{variant.name}-notebook", variant.kind, variant.family, variant.diagnosis,
                   files={name: json.dumps(nb, indent=1)}, description=variant.description,
                   families=variant.families, lines=lines, config=variant.config)


def mutant(name, family, diagnosis, file, old, new, description="") -> Variant:
    """A single-bug mutant: one edit of one reference file."""
    return Variant(name, "mutant", family, diagnosis, [(file, old, new)], description=description)


def correct(name, edits=(), files=None, description="", families=None) -> Variant:
    """A correct variant that must pass every check it runs."""
    return Variant(name, "correct", edits=list(edits), files=files, description=description,
                   families=families)


# --------------------------------------------------------------------------
# Options in the forms students write them: the reference with its option class renamed or rewritten
# --------------------------------------------------------------------------
#: The reference's ``Dense.__init__``, its parameter gradients and its step, as edits find them.
DENSE_INIT = ("    def __init__(self, input_units, output_units, learning_rate=0.1):\n"
              "        self.learning_rate = learning_rate\n"
              "        self.weights = np.random.randn(input_units, output_units) * 0.01\n")
DENSE_GRADS = "        return np.dot(input.T, grad_output), grad_output.sum(axis=0)"
DENSE_STEP = ("        self.weights = self.weights - self.learning_rate * grad_weights\n"
              "        self.biases = self.biases - self.learning_rate * grad_biases\n")


def rename_class(canonical: str, new: str) -> list:
    """Edits renaming the reference's option class ``canonical`` (a ``Dense`` subclass in options.py)
    and its ``__all__`` entry to ``new``."""
    return [("options.py", f"class {canonical}(Dense):", f"class {new}(Dense):"),
            ("options.py", f'"{canonical}"', f'"{new}"')]


def hide_class(canonical: str, k: int) -> list:
    """Edits renaming the option class ``canonical`` to ``_Option<k>``, a name that says no option,
    so only the form written elsewhere (a flag on ``Dense``, say) is graded."""
    return rename_class(canonical, f"_Option{k}")


def form_variant(name, kind, family, diagnosis, edits, description) -> Variant:
    """A variant graded on ``family`` alone: a mutant that must be caught with ``diagnosis``, or a
    correct variant that must pass it."""
    return Variant(name, kind, family if kind == "mutant" else None, diagnosis, edits, description=description,
                   families=(family,) if kind == "correct" else None)
