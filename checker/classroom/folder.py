"""The class folder: one entry per student, and the files of a submission.

:func:`list_class_folder` turns the folder ``nncheck grade`` is given into a
:class:`ClassFolder`: its :class:`Entry` objects, one per student (a ``.py``
file, a notebook, a folder or a ``.zip``), and the names that are not
submissions. :func:`walk_files` lists a submission folder's files as the
loader sees them; :func:`descend` finds the folder to grade inside wrappers.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nncheck.load.prepare import IGNORED_DIRS

SUBMISSION_SUFFIXES = (".py", ".ipynb", ".zip")


@dataclass
class Entry:
    """One student's submission in the class folder."""

    student: str   # the id: the entry's name without .py/.ipynb/.zip
    path: Path     # absolute path of the file or folder
    kind: str      # "py" | "ipynb" | "zip" | "folder"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class ClassFolder:
    """The submissions in a class folder, and what else it holds."""

    entries: list[Entry]
    ignored: list[str] = field(default_factory=list)  # names that are not submissions


def list_class_folder(folder: str | os.PathLike, exclude=()) -> ClassFolder:
    """Every entry of ``folder`` that is a submission, sorted by student id.

    Hidden entries (``.x``), ``__MACOSX``-style ones (``_x``) and the paths in
    ``exclude`` (the output folder, when it sits inside) are left out; other
    files that are not ``.py``/``.ipynb``/``.zip`` (a platform's
    ``submission_metadata.yml``, a PDF) are listed in ``ignored``. When two
    entries would get the same id (``ann.py`` and ``ann.ipynb``) both keep
    their full name as id.
    """
    root = Path(folder).resolve()
    skip = {Path(p).resolve() for p in exclude}
    found: list[Entry] = []
    ignored: list[str] = []
    for p in sorted(root.iterdir(), key=lambda q: q.name):
        if p.name.startswith((".", "_")) or p.resolve() in skip:
            continue
        if p.is_dir():
            found.append(Entry(p.name, p, "folder"))
        elif p.is_file() and p.suffix.lower() in SUBMISSION_SUFFIXES:
            found.append(Entry(p.stem, p, p.suffix.lower().lstrip(".")))
        else:
            ignored.append(p.name)
    counts: dict[str, int] = {}
    for e in found:
        counts[e.student] = counts.get(e.student, 0) + 1
    for e in found:
        if counts[e.student] > 1:
            e.student = e.path.name
    found.sort(key=lambda e: e.student)
    return ClassFolder(found, ignored)


def walk_files(folder: Path):
    """Regular files under ``folder`` as (relative posix path, path), sorted; as the loader sees it."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS
                             and not os.path.islink(os.path.join(dirpath, d)))
        for f in filenames:
            p = Path(dirpath) / f
            if not p.is_symlink() and p.is_file():
                out.append((p.relative_to(folder).as_posix(), p))
    return sorted(out)


def descend(path: Path) -> Path:
    """A folder holding nothing but one folder (nbgrader's ``submitted/<student>/<assignment>/``,
    a re-zipped download) is graded as that inner folder."""
    for _ in range(8):
        if not path.is_dir():
            break
        try:
            kids = [k for k in path.iterdir() if not k.name.startswith((".", "__MACOSX"))
                    and k.name not in IGNORED_DIRS]
        except OSError:
            break
        if len(kids) == 1 and kids[0].is_dir() and not kids[0].is_symlink():
            path = kids[0]
        else:
            break
    return path
