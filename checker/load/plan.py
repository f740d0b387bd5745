"""The load plan: what the grader hands the worker, and how the worker compiles it.

:func:`nncheck.load.prepare.prepare` turns a submission into a :class:`Plan`
in the grading process, without running anything: a list of modules, each a
list of kept top-level statements (:class:`Unit`). The plan travels to the
worker as JSON (:meth:`Plan.to_json`, :meth:`Plan.from_json`).

Worker side
    Modules are listed in import order (a module after the plan modules it
    imports; parents' relative imports included). The worker should create
    every module object first (``sys.modules``, ``__path__`` for packages,
    ``__file__`` = ``root/filename``), then run each module's units in order
    with :func:`compile_unit`, guarding each one. :data:`SHIMS_DIR` holds
    stand-ins for the course helper modules (:data:`SHIM_MODULES`), to be put
    on ``sys.path`` *after* the submission's own root.

This module runs in the sandbox: it imports nothing of nncheck.
"""
from __future__ import annotations

import linecache
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["SubmissionError", "Unit", "ModulePlan", "Plan", "compile_unit", "unit_filename",
           "SHIMS_DIR", "SHIM_MODULES"]

SHIMS_DIR = Path(__file__).parent / "shims"
"""Folder with stand-ins for the course helper modules (put it on ``sys.path``
after the submission root, so a module the submission ships wins)."""

SHIM_MODULES = frozenset({
    "tqdm_utils", "download_utils", "util", "preprocessed_mnist",
    "matplotlib", "IPython", "tqdm",
})
"""Top-level module names provided in :data:`SHIMS_DIR`."""


class SubmissionError(Exception):
    """The submission cannot be loaded at all (unreadable file, invalid notebook
    JSON, non-UTF-8 source, unsupported file type, empty folder). The message
    is one clear sentence for the student."""


@dataclass
class Unit:
    """One kept top-level statement, to be executed on its own, guarded."""
    source: str  # exact source text of the statement (decorators included)
    lineno: int  # 1-based line of source's first line in the file / cell
    label: str   # "cell 7" for notebooks, the file name otherwise
    cell: int | None = None  # notebooks: 0-based index of the cell in the notebook's ``cells``


@dataclass
class ModulePlan:
    name: str        # import name in the worker ("submission", "layers", "pkg.sub")
    filename: str    # relative to Plan.root; notebooks: "homework.ipynb"
    is_package: bool
    units: list[Unit] = field(default_factory=list)


@dataclass
class Plan:
    kind: str                  # "py" | "folder" | "package" | "notebook"
    root: str                  # the copy directory the worker runs in (cwd)
    modules: list[ModulePlan] = field(default_factory=list)
    entry: list[str] = field(default_factory=list)
    used: list[dict] = field(default_factory=list)
    set_aside: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Plan":
        modules = [
            ModulePlan(name=m["name"], filename=m["filename"],
                       is_package=bool(m["is_package"]),
                       units=[Unit(source=u["source"], lineno=u["lineno"], label=u["label"],
                                   cell=u.get("cell")) for u in m.get("units", [])])
            for m in d.get("modules", [])
        ]
        return cls(kind=d["kind"], root=d["root"], modules=modules,
                   entry=list(d.get("entry", [])),
                   used=[dict(x) for x in d.get("used", [])],
                   set_aside=[dict(x) for x in d.get("set_aside", [])],
                   problems=list(d.get("problems", [])),
                   dropped=list(d.get("dropped", [])))


# --------------------------------------------------------------------------
# Compiling a unit (worker side)

def unit_filename(unit: Unit, filename: str) -> str:
    """The file name tracebacks show for ``unit``: ``"hw.ipynb [cell 7]"`` for
    notebook cells, ``filename`` itself otherwise."""
    if filename.lower().endswith(".ipynb") and unit.label and unit.label != filename:
        return f"{filename} [{unit.label}]"
    return filename


def compile_unit(unit: Unit, filename: str, register: bool = True):
    """Compile ``unit`` so its line numbers are those of the original file
    (or notebook cell). ``filename`` is :attr:`ModulePlan.filename`; for a
    notebook the code's file name becomes ``"homework.ipynb [cell 7]"``.

    With ``register`` the source is also put into :mod:`linecache`, so
    tracebacks show the student's lines. Raises ``SyntaxError`` (with the
    original line number) if the unit does not compile."""
    fname = unit_filename(unit, filename)
    pad = max(unit.lineno - 1, 0)
    code = compile("\n" * pad + unit.source, fname, "exec", dont_inherit=True)
    if register:
        _register_lines(fname, pad, unit.source)
    return code


def _register_lines(fname: str, pad: int, source: str) -> None:
    new = source.splitlines(keepends=True)
    if new and not new[-1].endswith("\n"):
        new[-1] += "\n"
    entry = linecache.cache.get(fname)
    lines = list(entry[2]) if entry and len(entry) == 4 and entry[1] is None else []
    if len(lines) < pad + len(new):
        lines.extend(["\n"] * (pad + len(new) - len(lines)))
    lines[pad:pad + len(new)] = new
    # mtime None: linecache.checkcache never evicts it
    linecache.cache[fname] = (sum(map(len, lines)), None, lines, fname)

