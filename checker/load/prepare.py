"""Turn a submission (``.py`` file, folder, package or notebook) into a load plan.

The grading process never executes student code: :func:`prepare` copies the
submission into a scratch directory and *parses* it into a
:class:`~nncheck.load.plan.Plan` -- a list of modules, each a list of
top-level statements that a separate worker process executes one by one,
each guarded. Which statements are kept: :mod:`nncheck.load.statements`;
notebooks: :mod:`nncheck.load.notebook`.

A folder of ``.py`` files is a set of modules that import each other by
plain name; a folder with an ``__init__.py`` is a package; a folder holding
one notebook and no ``.py`` file is that notebook. Modules are listed in
import order (a module after the plan modules it imports).
"""
from __future__ import annotations

import ast
import io
import keyword
import os
import re
import shutil
import sys
import tokenize
from pathlib import Path

from nncheck.load.notebook import plan_notebook
from nncheck.load.plan import ModulePlan, Plan, SubmissionError
from nncheck.load.statements import drop_unread_gradient_checks, plan_file
from nncheck.load.syntax import parse

__all__ = ["prepare", "MAX_SUBMISSION_BYTES", "IGNORED_DIRS"]

MAX_SUBMISSION_BYTES = 50 * 1024 * 1024
IGNORED_DIRS = (".git", "__pycache__", ".ipynb_checkpoints")

# Names a single-file submission must not take as its module name.
_RESERVED = frozenset(sys.stdlib_module_names) | {
    "numpy", "nncheck", "pluggy", "scipy", "matplotlib", "IPython", "tqdm",
    "pytest", "click", "jinja2", "nbformat", "setuptools", "pip", "submission",
}
_RESERVED_IN_FOLDER = frozenset(sys.stdlib_module_names) | {"numpy", "nncheck", "pluggy"}



def prepare(path: str | os.PathLike, workdir: str | os.PathLike,
            core_until_heading: str | None = "Peer-reviewed assignment") -> Plan:
    """Copy the submission at ``path`` into ``workdir`` and parse it into a
    :class:`Plan`. The original is never modified; nothing is executed.

    Redefinitions in notebooks: before the markdown cell whose text contains
    ``core_until_heading`` (case-insensitive; ``None`` disables the rule) the
    last definition of a name counts, as in Python. After it, a ``def``,
    ``class`` or assignment to a name defined before the heading is set aside
    (not run, listed in :attr:`Plan.set_aside`); new names are kept. Without
    such a heading the first ``def``/``class`` of a name counts and later
    redefinitions of it (``def``, ``class`` or assignment) are set aside.

    The notebook's own numerical gradient checks are left out when nothing graded reads them
    (:func:`~nncheck.load.statements.drop_unread_gradient_checks`).

    Raises :class:`SubmissionError` when nothing can be loaded."""
    plan = _prepare(path, workdir, core_until_heading)
    drop_unread_gradient_checks(plan)
    return plan


def _prepare(path, workdir, core_until_heading) -> Plan:
    src = Path(path)
    work = Path(workdir)
    if not src.exists():
        raise SubmissionError(f"{src} does not exist.")
    src = src.resolve()
    work = work.resolve()
    if work == src or src in work.parents:
        raise ValueError(f"workdir {work} must not be inside the submission {src}")
    work.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        return _prepare_folder(src, work, core_until_heading)
    if not src.is_file():
        raise SubmissionError(f"{src.name} is not a regular file or folder.")
    suffix = src.suffix.lower()
    if suffix == ".zip":
        return _prepare_zip(src, work, core_until_heading)
    if suffix not in (".py", ".ipynb"):
        raise SubmissionError(_not_code(src))
    try:
        size = src.stat().st_size
    except OSError as exc:
        raise SubmissionError(f"{src.name} cannot be read ({exc.strerror or exc}).") from None
    if size > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{src.name} is larger than 50 MB, too large to grade.")
    dest = work / src.name
    try:
        shutil.copyfile(src, dest)
    except OSError as exc:
        raise SubmissionError(f"{src.name} cannot be read ({exc.strerror or exc}).") from None
    if suffix == ".ipynb":
        return plan_notebook(dest, work, src.name, core_until_heading)
    text = _read_source(dest, src.name)
    if not text.strip():
        raise SubmissionError(f"{src.name} is empty: there is no code in it. Save your work into it (or hand in "
                              "the file you worked in) and submit again.")
    if _is_notebook_json(text):  # a notebook saved under a .py name: grade the notebook it is
        plan = plan_notebook(dest, work, src.name, core_until_heading)
        plan.problems.insert(0, f"{src.name} holds a Jupyter notebook (its JSON), not Python source: it was "
                                "graded as the notebook it is. Next time hand in the .ipynb itself (or export "
                                "Python with File > Save and Export Notebook As > Executable Script).")
        return plan
    plan = Plan(kind="py", root=str(work))
    name = _module_name(src.stem, _RESERVED)
    plan.modules.append(plan_file(text, name, src.name, False, plan))
    plan.entry = [name]
    return plan



_NOT_CODE = {
    ".pdf": "a PDF document", ".html": "a web page", ".htm": "a web page", ".docx": "a Word document",
    ".doc": "a Word document", ".odt": "a text document",
    ".png": "a picture", ".jpg": "a picture", ".jpeg": "a picture", ".rar": "a RAR archive",
    ".7z": "a 7-Zip archive", ".tar": "a tar archive", ".gz": "a compressed file", ".pyc": "compiled Python",
}


def _not_code(src: Path) -> str:
    what = _NOT_CODE.get(src.suffix.lower())
    hand_in = "hand in the notebook (.ipynb) or the .py file you wrote your code in (a .zip or folder of them works too)"
    if what:
        return f"{src.name} is {what}, not code that can be run: {hand_in}."
    return (f"{src.name} is not a supported submission: {hand_in}. If it holds your Python code, "
            "rename it to end in .py.")


def _is_notebook_json(text: str) -> bool:
    """Is ``text`` (a .py file's) a Jupyter notebook's JSON?"""
    import json

    if not text.lstrip().startswith("{"):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("cells"), list) and "nbformat" in data


def _prepare_zip(src: Path, work: Path, heading) -> Plan:
    """A .zip handed in: unpacked safely (:func:`nncheck.load.archives.safe_extract`) and graded as
    what it holds, with messages that name the .zip."""
    import tempfile

    from nncheck.load.archives import UnsafeArchive, safe_extract

    with tempfile.TemporaryDirectory(prefix="nncheck-zip-") as tmp:
        try:
            inner = safe_extract(src, Path(tmp) / _module_name(src.stem, ()))
        except UnsafeArchive as exc:
            raise SubmissionError(f"{src.name} was not unpacked: {exc}.") from None
        if inner.is_file():
            return prepare(inner, work, heading)
        return _prepare_folder(inner, work, heading, shown=src.name)


# --------------------------------------------------------------------------
# Copying and reading

def _ignore(_dir, names):
    return [n for n in names if n in IGNORED_DIRS
            or os.path.islink(os.path.join(_dir, n))]


def _folder_size(folder: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS
                       and not os.path.islink(os.path.join(dirpath, d))]
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                try:
                    total += os.path.getsize(p)
                except OSError:
                    pass
            if total > MAX_SUBMISSION_BYTES:
                return total
    return total


def _copy_folder(src: Path, dest: Path) -> None:
    if _folder_size(src) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"The folder {src.name} holds more than 50 MB, too much to grade.")
    try:
        shutil.copytree(src, dest, ignore=_ignore, dirs_exist_ok=True)
    except (OSError, shutil.Error) as exc:
        raise SubmissionError(f"The folder {src.name} cannot be copied for grading ({exc}).") from None


def _read_source(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{shown} cannot be read ({exc.strerror or exc}).") from None
    if b"\x00" in data:
        raise SubmissionError(f"{shown} is not Python source: it looks like a binary file.")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        pos = getattr(exc, "start", None)
        where = f" (byte {data[pos]:#04x} at position {pos})" if pos is not None else ""
        raise SubmissionError(
            f"{shown} is not UTF-8 text{where}; save it as UTF-8 and submit again.") from None
    return text.lstrip("\ufeff")


def _module_name(stem: str, reserved) -> str:
    if stem.isidentifier() and not keyword.iskeyword(stem) and stem not in reserved:
        return stem
    clean = re.sub(r"\W", "_", stem) or "module"
    return "submission_" + clean


# --------------------------------------------------------------------------
# Folders and packages

def _prepare_folder(src: Path, work: Path, heading, shown: str | None = None) -> Plan:
    what = shown or f"The folder {src.name}"  # a .zip names itself
    try:
        entries = sorted(p for p in src.iterdir() if not p.is_symlink())
    except OSError as exc:
        raise SubmissionError(f"{what} cannot be read ({exc.strerror or exc}).") from None
    pys = [p for p in entries if p.is_file() and p.suffix == ".py"]
    nbs = [p for p in entries if p.is_file() and p.suffix.lower() == ".ipynb"]
    if (src / "__init__.py").is_file():
        pkg = _module_name(src.name, _RESERVED_IN_FOLDER)
        _copy_folder(src, work / pkg)
        return _plan_package(work, pkg, src.name)
    if not pys:
        if len(nbs) == 1:
            _copy_folder(src, work)
            return plan_notebook(work / nbs[0].name, work, nbs[0].name, heading)
        if len(nbs) > 1:
            raise SubmissionError(
                f"{what} holds {len(nbs)} notebooks and no .py file; "
                f"submit the one notebook to grade.")
        others = sorted(p.relative_to(src).as_posix() for p in src.rglob("*")
                        if p.is_file() and not any(part in IGNORED_DIRS for part in p.relative_to(src).parts))
        held = (f" (it holds only {', '.join(others[:5])}{' ...' if len(others) > 5 else ''})" if others
                else " (it is empty)")
        raise SubmissionError(f"{what} holds no .py file or notebook to grade{held}: hand in the notebook "
                              "(.ipynb) or the .py file you wrote your code in.")
    _copy_folder(src, work)
    plan = Plan(kind="folder", root=str(work))
    for nb in nbs:
        plan.problems.append(f"{nb.name} was not graded: the folder has .py files, and those are graded.")
    parsed = []
    for p in pys:
        try:
            text = _read_source(work / p.name, p.name)
        except SubmissionError as exc:
            plan.problems.append(f"{exc} It was not loaded.")
            continue
        name = _module_name(p.stem, _RESERVED_IN_FOLDER)
        if name != p.stem:
            why = ("is not a valid module name" if not p.stem.isidentifier() or keyword.iskeyword(p.stem)
                   else f"shadows the module {p.stem}")
            plan.problems.append(f"{p.name} {why}; it was loaded as {name}.")
        parsed.append(plan_file(text, name, p.name, False, plan))
    if not parsed:
        raise SubmissionError(f"No .py file in the folder {src.name} could be read.")
    plan.modules = _import_order(parsed)
    plan.entry = sorted(m.name for m in parsed)
    return plan


def _plan_package(work: Path, pkg: str, shown: str) -> Plan:
    plan = Plan(kind="package", root=str(work))
    base = work / pkg
    mods = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS
                             and (Path(dirpath) / d / "__init__.py").is_file()
                             and d.isidentifier())
        rel = Path(dirpath).relative_to(base)
        prefix = ".".join((pkg,) + rel.parts)
        for f in sorted(filenames):
            if not f.endswith(".py"):
                continue
            relfile = str(Path(pkg, rel, f).as_posix())
            stem = f[:-3]
            if f == "__init__.py":
                name, is_pkg = prefix, True
            elif stem.isidentifier() and not keyword.iskeyword(stem):
                name, is_pkg = f"{prefix}.{stem}", False
            else:
                plan.problems.append(f"{relfile} is not a valid module name; it was not loaded.")
                continue
            try:
                text = _read_source(Path(dirpath) / f, relfile)
            except SubmissionError as exc:
                if is_pkg and not rel.parts:
                    raise
                plan.problems.append(f"{exc} It was not loaded.")
                continue
            mods.append(plan_file(text, name, relfile, is_pkg, plan))
    plan.modules = _import_order(mods)
    plan.entry = [pkg]
    return plan


def _imported_names(mod: ModulePlan, known: set[str]) -> set[str]:
    """Plan modules that ``mod`` imports (anywhere in its kept units)."""
    out: set[str] = set()
    pkg = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    for unit in mod.units:
        try:
            tree = parse(unit.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    out.add(a.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = pkg.split(".") if pkg else []
                    if node.level > 1:
                        parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                out.add(base)
                for a in node.names:
                    out.add(f"{base}.{a.name}" if base else a.name)
    res = set()
    for name in out:
        while name:  # importing a.b.c imports a and a.b too
            if name in known:
                res.add(name)
            name = name.rpartition(".")[0]
    res.discard(mod.name)
    return res


def _import_order(mods: list[ModulePlan]) -> list[ModulePlan]:
    by_name = {m.name: m for m in mods}
    known = set(by_name)
    deps = {m.name: _imported_names(m, known) for m in mods}
    order: list[ModulePlan] = []
    state: dict[str, int] = {}

    def visit(n):
        if state.get(n):
            return  # done, or a cycle: keep the order we have
        state[n] = 1
        for d in sorted(deps[n]):
            visit(d)
        state[n] = 2
        order.append(by_name[n])

    for n in sorted(known):
        visit(n)
    return order

