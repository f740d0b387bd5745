"""Turn a submission (``.py`` file, folder, package or notebook) into a load plan.

The grading process never executes student code: :func:`prepare` copies the
submission into a scratch directory and *parses* it into a :class:`Plan` -- a
list of modules, each a list of top-level statements (:class:`Unit`) that a
separate worker process executes one by one, each guarded.

What the plan keeps
    Definitions: imports, ``def``/``class``, assignments, ``if``/``try``
    blocks, ``global``, ``pass`` and docstrings. Top-level experiment code
    (``for``/``while`` loops, ``with`` blocks, bare calls such as
    ``plt.plot(...)`` or ``network.append(...)``, ``del``, ``raise``,
    ``assert``, ``match`` and ``if __name__ == "__main__":`` blocks) is
    dropped and summarised in :attr:`Plan.dropped`, for every kind of source.

Notebooks
    Code cells only. IPython syntax (line magics, shell escapes, ``x = !cmd``,
    ``obj?`` help, cell magics) is blanked out line by line so that line
    numbers stay those of the cell. A cell's label is ``"cell N"`` where N is
    its execution count (the ``In [N]`` the student sees) when it has one, else
    the 1-based position of the cell among the code cells; should two cells
    get the same label, the later one gets ``" (code cell K)"`` appended.
    :attr:`Unit.cell` is the cell's 0-based index into the notebook's
    ``cells`` (markdown cells counted), for tools that open the notebook.
    A cell that does not parse is reported in :attr:`Plan.problems` and
    skipped. Redefinitions follow the heading rule of CONTRACT.md section 2
    (see :func:`prepare`).

Worker side
    Modules are listed in import order (a module after the plan modules it
    imports; parents' relative imports included). The worker should create
    every module object first (``sys.modules``, ``__path__`` for packages,
    ``__file__`` = ``root/filename``), then run each module's units in order
    with :func:`compile_unit`, guarding each one. :data:`SHIMS_DIR` holds
    stand-ins for the course helper modules (:data:`SHIM_MODULES`), to be put
    on ``sys.path`` *after* the submission's own root.
"""
from __future__ import annotations

import ast
import io
import keyword
import linecache
import os
import re
import shutil
import sys
import threading
import time
import tokenize
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "SubmissionError", "Unit", "ModulePlan", "Plan", "prepare", "compile_unit",
    "SHIMS_DIR", "SHIM_MODULES", "MAX_SUBMISSION_BYTES",
]

SHIMS_DIR = Path(__file__).parent / "shims"
"""Folder with stand-ins for the course helper modules (put it on ``sys.path``
after the submission root, so a module the submission ships wins)."""

SHIM_MODULES = frozenset({
    "tqdm_utils", "download_utils", "util", "preprocessed_mnist",
    "matplotlib", "IPython", "tqdm",
})
"""Top-level module names provided in :data:`SHIMS_DIR`."""

MAX_SUBMISSION_BYTES = 50 * 1024 * 1024
IGNORED_DIRS = (".git", "__pycache__", ".ipynb_checkpoints")

# Names a single-file submission must not take as its module name.
_RESERVED = frozenset(sys.stdlib_module_names) | {
    "numpy", "nncheck", "pluggy", "scipy", "matplotlib", "IPython", "tqdm",
    "pytest", "click", "jinja2", "nbformat", "setuptools", "pip", "submission",
}
_RESERVED_IN_FOLDER = frozenset(sys.stdlib_module_names) | {"numpy", "nncheck", "pluggy"}


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
# Worker helper

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


# --------------------------------------------------------------------------
# Entry point

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

    Raises :class:`SubmissionError` when nothing can be loaded."""
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
    if suffix not in (".py", ".ipynb"):
        raise SubmissionError(
            f"{src.name} is not a supported submission: give a .py file, a .ipynb "
            f"notebook, or a folder of .py files.")
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
        return _plan_notebook(dest, work, src.name, core_until_heading)
    plan = Plan(kind="py", root=str(work))
    name = _module_name(src.stem, _RESERVED)
    text = _read_source(dest, src.name)
    plan.modules.append(_plan_file(text, name, src.name, False, plan))
    plan.entry = [name]
    return plan


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

def _prepare_folder(src: Path, work: Path, heading) -> Plan:
    try:
        entries = sorted(p for p in src.iterdir() if not p.is_symlink())
    except OSError as exc:
        raise SubmissionError(f"The folder {src.name} cannot be read ({exc.strerror or exc}).") from None
    pys = [p for p in entries if p.is_file() and p.suffix == ".py"]
    nbs = [p for p in entries if p.is_file() and p.suffix.lower() == ".ipynb"]
    if (src / "__init__.py").is_file():
        pkg = _module_name(src.name, _RESERVED_IN_FOLDER)
        _copy_folder(src, work / pkg)
        return _plan_package(work, pkg, src.name)
    if not pys:
        if len(nbs) == 1:
            _copy_folder(src, work)
            return _plan_notebook(work / nbs[0].name, work, nbs[0].name, heading)
        if len(nbs) > 1:
            raise SubmissionError(
                f"The folder {src.name} holds {len(nbs)} notebooks and no .py file; "
                f"submit the one notebook to grade.")
        raise SubmissionError(f"The folder {src.name} holds no .py file or notebook to grade.")
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
        parsed.append(_plan_file(text, name, p.name, False, plan))
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
            mods.append(_plan_file(text, name, relfile, is_pkg, plan))
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


# --------------------------------------------------------------------------
# Top-level statement filter

def _is_main_guard(node) -> bool:
    if not isinstance(node, ast.If):
        return False
    t = node.test
    if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq):
        sides = [t.left, t.comparators[0]]
        has_name = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        has_main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
        return has_name and has_main
    return False


def _is_docstring(node) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
         ast.Assign, ast.AnnAssign, ast.AugAssign, ast.If, ast.Try, ast.Global, ast.Pass)
if hasattr(ast, "TryStar"):
    _KEEP = _KEEP + (ast.TryStar,)
if hasattr(ast, "TypeAlias"):
    _KEEP = _KEEP + (ast.TypeAlias,)

_KIND_NAMES = {
    ast.For: "for loop", ast.AsyncFor: "async for loop", ast.While: "while loop",
    ast.With: "with block", ast.AsyncWith: "async with block", ast.Delete: "del statement",
    ast.Raise: "raise statement", ast.Assert: "assert statement",
}


def _drop_kind(node, leading: bool) -> str | None:
    """None to keep ``node``; else a short description of why it is dropped."""
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return None if leading else "late __future__ import"
    if _is_main_guard(node):
        return "if __name__ == '__main__' block"
    if isinstance(node, _KEEP):
        return None
    if _is_docstring(node):
        return None
    if isinstance(node, ast.Expr):
        return "call" if isinstance(node.value, (ast.Call, ast.Await)) else "expression"
    if hasattr(ast, "Match") and isinstance(node, ast.Match):
        return "match statement"
    return _KIND_NAMES.get(type(node), type(node).__name__.lower() + " statement")


def _plural(kind: str, n: int) -> str:
    if n == 1:
        return ("an " if kind[0] in "aeiou" else "a ") + kind
    if kind.endswith("block") or kind.endswith("loop") or kind.endswith("statement") or kind.endswith("import"):
        return f"{n} {kind}s"
    return f"{n} {kind}s" if not kind.endswith("s") else f"{n} {kind}es"


def _summarise_dropped(label: str, kinds: list[str]) -> str:
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    parts = [_plural(k, n) for k, n in counts.items()]
    if len(kinds) == 1:
        return f"{label}: a top-level {kinds[0]} (experiment code) was not run"
    return (f"{label}: {len(kinds)} top-level statements ({', '.join(parts)}) "
            f"were not run (experiment code)")


def _node_start(node) -> int:
    decos = getattr(node, "decorator_list", None)
    if decos:
        return min([node.lineno] + [d.lineno for d in decos])
    return node.lineno


def _byte_col(line: str, col: int) -> int:
    """ast column offsets count UTF-8 bytes; return the str index."""
    return len(line.encode("utf-8")[:col].decode("utf-8", errors="ignore"))


def _slice(lines: list[str], node) -> tuple[str, int]:
    """Exact source of a top-level ``node`` and its first line number. A
    decorated definition starts at its first decorator; a simple statement
    sharing a line with another (``import a; a.f()``) is cut at its columns."""
    start = _node_start(node)
    end = node.end_lineno or node.lineno
    first = lines[start - 1]
    scol = 0 if start != node.lineno else _byte_col(first, node.col_offset)
    if node.end_col_offset is None:
        return "".join(lines[start - 1:end]), start
    last = lines[end - 1]
    ecol = _byte_col(last, node.end_col_offset)
    if start == end:
        return first[scol:ecol] + "\n", start
    return first[scol:] + "".join(lines[start:end - 1]) + last[:ecol] + "\n", start


def _split_statements(tree: ast.Module, lines: list[str], in_first_chunk: bool = True):
    """Yield (node, source, lineno, drop_kind) per top-level statement."""
    leading = in_first_chunk
    for node in tree.body:
        kind = _drop_kind(node, leading)
        if not (_is_docstring(node) or (isinstance(node, ast.ImportFrom) and node.module == "__future__")):
            leading = False
        src, ln = _slice(lines, node)
        yield node, src, ln, kind


# --------------------------------------------------------------------------
# .py files

_PARSE_LOCK = threading.Lock()


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.AST:
    """``ast.parse``, safe to call from several threads: every parse in nncheck goes through here.

    CPython 3.11's parser is not thread-safe (two parses at once can raise
    ``SystemError: AST constructor recursion depth mismatch``), and the grader
    parses in threads (``nncheck selftest``). Parses are serialised; one that
    still meets the race (a library parsing on its own) is tried again.
    Errors in the source (``SyntaxError``, ``ValueError``...) are raised as
    ``ast.parse`` raises them; its warnings (``invalid escape sequence`` in a
    student's docstring) are the student's business, not the grader's output.
    """
    for attempt in range(5):
        try:
            with _PARSE_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse(source, filename, mode)
        except SystemError:
            if attempt == 4:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _first_error(text: str, filename: str):
    try:
        return None, parse(text, filename)
    except SyntaxError as exc:
        return exc, None
    except (ValueError, MemoryError, RecursionError) as exc:  # null bytes, too deep
        return exc, None


def _describe_syntax_error(exc) -> str:
    if isinstance(exc, SyntaxError):
        return f"line {exc.lineno}: {exc.msg}" if exc.lineno else str(exc.msg)
    return str(exc)


_BOUNDARY = re.compile(r"[^\s#)\]}]")
_CONTINUATION = re.compile(r"(else|elif|except|finally)\b")


def _salvage(text: str, filename: str):
    """Parse a file that does not parse as a whole, chunk by chunk (chunks start
    at column-0 lines). Returns ([(tree, offset, lines)], [(first, last)]) of
    parsed chunks and skipped line ranges."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, ln in enumerate(lines)
              if _BOUNDARY.match(ln) and not _CONTINUATION.match(ln)]
    # (a decorator chunk does not parse alone and is extended to its def)
    if not starts or starts[0] != 0:
        starts = [0] + starts
    bounds = starts + [len(lines)]
    parsed, skipped = [], []
    i = 0
    while i < len(bounds) - 1:
        ok = False
        for j in range(i + 1, min(i + 12, len(bounds))):
            chunk = "".join(lines[bounds[i]:bounds[j]])
            try:
                tree = parse(chunk, filename)
            except (SyntaxError, ValueError):
                continue
            parsed.append((tree, bounds[i], lines[bounds[i]:bounds[j]]))
            i = j
            ok = True
            break
        if not ok:
            first, last = bounds[i] + 1, bounds[i + 1]
            if skipped and skipped[-1][1] == first - 1:
                skipped[-1] = (skipped[-1][0], last)
            else:
                skipped.append((first, last))
            i += 1
    return parsed, skipped


def _plan_file(text: str, name: str, filename: str, is_package: bool, plan: Plan) -> ModulePlan:
    mod = ModulePlan(name=name, filename=filename, is_package=is_package)
    err, tree = _first_error(text, filename)
    if tree is not None:
        chunks = [(tree, 0, text.splitlines(keepends=True))]
    else:
        chunks, skipped = _salvage(text, filename)
        ranges = ", ".join(f"line {a}" if a == b else f"lines {a}-{b}" for a, b in skipped)
        plan.problems.append(
            f"{filename} does not parse ({_describe_syntax_error(err)}); "
            + (f"{ranges} were skipped and the rest was loaded" if chunks else "it was not loaded"))
    kinds: list[str] = []
    for k, (ctree, offset, lines) in enumerate(chunks):
        for _node, src, ln, kind in _split_statements(ctree, lines, k == 0 and offset == 0):
            if kind:
                kinds.append(kind)
                continue
            mod.units.append(Unit(source=src, lineno=ln + offset, label=filename))
    if kinds:
        plan.dropped.append(_summarise_dropped(filename, kinds))
    return mod


# --------------------------------------------------------------------------
# Notebooks

_STRIP_KEEP_BODY = {"time", "capture"}  # cell magics whose body is run as plain Python


def _statement_starts(lines: list[str], skip: set[int] | None = None) -> list[bool]:
    """For each line, whether it begins a new logical line (not inside a string,
    brackets or after a backslash continuation). Lines in ``skip`` are treated
    as blank (their content does not affect the state)."""
    res = []
    depth = 0
    quote: str | None = None  # open string delimiter spanning lines
    cont = False
    for idx, line in enumerate(lines):
        res.append(quote is None and depth == 0 and not cont)
        if skip and idx in skip:
            cont = False
            continue
        i, n = 0, len(line)
        cont = False
        while i < n:
            c = line[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = None
                    continue
                i += 1
                continue
            if c == "#":
                break
            if c in "\"'":
                q3 = c * 3
                if line.startswith(q3, i):
                    quote = q3
                    i += 3
                else:
                    quote = c
                    i += 1
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(depth - 1, 0)
            elif c == "\\" and line[i + 1:].strip() == "":
                cont = True
            i += 1
        if quote and len(quote) == 1:
            quote = None  # unterminated one-line string: a syntax error anyway
    return res


_ASSIGN_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()*]+?\s*=\s*[!%]")


def _is_help_line(stripped: str) -> bool:
    """``obj?``, ``obj??``, ``?obj`` (a line with a comment is left alone)."""
    return stripped.startswith("?") or ("#" not in stripped and stripped.rstrip().endswith("?"))


def _blank(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    nl = "\n" if line.endswith("\n") else ""
    return f"{indent}pass{nl}" if indent.strip("\n") else nl


def strip_ipython(source: str) -> tuple[str | None, str | None]:
    """Remove IPython syntax from a cell, keeping line numbers.

    Returns ``(python_source, None)``, or ``(None, reason)`` when the whole
    cell is not Python (``%%bash``, ``%%timeit``...). Stripped lines become
    blank lines (``pass`` when indented)."""
    lines = source.splitlines(keepends=True)
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(None, 1)
        magic = magic[0] if magic else ""
        if magic not in _STRIP_KEEP_BODY:
            return None, f"a %%{magic} cell" + ("" if magic == "timeit" else " (not Python)")
        lines[first] = "\n" if lines[first].endswith("\n") else ""
    skip: set[int] = set()
    starts = _statement_starts(lines)
    for i, line in enumerate(lines):
        if not starts[i]:
            continue
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s[0] in "%!" or _ASSIGN_MAGIC.match(line) or _is_help_line(s):
            skip.add(i)
            # a stripped line no longer counts for strings/brackets below it
            starts = _statement_starts(lines, skip)
    for i in skip:
        lines[i] = _blank(lines[i])
    return "".join(lines), None


def _names_bound(node) -> tuple[set[str], set[str]]:
    """(definition names, import names) a top-level statement binds.
    Definition names include the root of attribute/subscript targets."""
    defs: set[str] = set()
    imps: set[str] = set()

    def targets(t):
        if isinstance(t, ast.Name):
            defs.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                targets(e)
        elif isinstance(t, ast.Starred):
            targets(t.value)
        elif isinstance(t, (ast.Attribute, ast.Subscript)):
            v = t.value
            while isinstance(v, (ast.Attribute, ast.Subscript)):
                v = v.value
            if isinstance(v, ast.Name):
                defs.add(v.id)

    def walk(n):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs.add(n.name)
        elif isinstance(n, ast.Assign):
            for t in n.targets:
                targets(t)
        elif isinstance(n, (ast.AnnAssign, ast.AugAssign)):
            targets(n.target)
        elif isinstance(n, ast.Import):
            for a in n.names:
                imps.add(a.asname or a.name.split(".")[0])
        elif isinstance(n, ast.ImportFrom):
            for a in n.names:
                if a.name != "*":
                    imps.add(a.asname or a.name)
        elif isinstance(n, (ast.If, ast.Try)) or (hasattr(ast, "TryStar") and isinstance(n, ast.TryStar)):
            for part in ("body", "orelse", "finalbody"):
                for c in getattr(n, part, []):
                    walk(c)
            for h in getattr(n, "handlers", []):
                if h.name:
                    defs.add(h.name)
                for c in h.body:
                    walk(c)
    walk(node)
    return defs, imps


def _is_plain_def(node):
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def _find_heading(cells, heading: str | None):
    if not heading:
        return None
    h = heading.lower()
    fallback = None
    for idx, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown":
            continue
        text = cell.get("source", "")
        if isinstance(text, list):
            text = "".join(text)
        if h not in text.lower():
            continue
        for line in text.splitlines():
            s = line.strip()
            if h in s.lower() and (s.startswith("#") or re.match(r"<h\d", s, re.I)
                                   or s.startswith("**") or s.lower().strip("#* ") == h):
                return idx
        if fallback is None:
            fallback = idx
    return fallback


def _read_notebook(path: Path, shown: str):
    import nbformat
    try:
        with open(path, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
    except UnicodeDecodeError:
        raise SubmissionError(f"{shown} is not a valid Jupyter notebook: it is not UTF-8 text.") from None
    except OSError as exc:
        raise SubmissionError(f"{shown} cannot be read ({exc.strerror or exc}).") from None
    except Exception as exc:  # NotJSONError, NBFormatError, KeyError, ...
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if type(exc).__name__ == "NotJSONError" or "JSON" in msg:
            msg = "the file is not valid JSON"
        elif isinstance(exc, (AttributeError, TypeError, KeyError, IndexError)):
            msg = "the file does not have a notebook's structure"
        if len(msg) > 120:
            msg = msg[:117] + "..."
        raise SubmissionError(f"{shown} is not a valid Jupyter notebook: {msg}.") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{shown} is not a valid Jupyter notebook: it has no cell list.")
    return cells


def _plan_notebook(path: Path, work: Path, shown: str, heading: str | None) -> Plan:
    cells = _read_notebook(path, shown)
    plan = Plan(kind="notebook", root=str(work))
    mod = ModulePlan(name="submission", filename=shown, is_package=False)
    plan.modules = [mod]
    plan.entry = ["submission"]
    split = _find_heading(cells, heading)
    heading_text = heading

    seen_labels: set[str] = set()
    before: dict[str, str] = {}          # name -> label of its last pre-heading definition
    first_def: dict[str, str] = {}       # no-heading mode: name -> label of its first def/class
    used: dict[str, str] = {}            # def/class name -> label kept
    k = 0
    for idx, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        k += 1
        ec = cell.get("execution_count")
        label = f"cell {ec}" if isinstance(ec, int) and ec > 0 else f"cell {k}"
        if label in seen_labels:
            label = f"{label} (code cell {k})"
        seen_labels.add(label)
        after = split is not None and idx > split
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if not source.strip():
            continue
        text, whole_reason = strip_ipython(source)
        if text is None:
            plan.dropped.append(f"{label}: {whole_reason} was not run")
            continue
        try:
            tree = parse(text, f"{shown} [{label}]")
        except (SyntaxError, ValueError) as exc:
            plan.problems.append(
                f"{label} does not parse ({_describe_syntax_error(exc)}); the rest was loaded")
            continue
        lines = text.splitlines(keepends=True)
        kinds: list[str] = []
        for node, src, ln, kind in _split_statements(tree, lines):
            if kind:
                kinds.append(kind)
                continue
            defs, imps = _names_bound(node)
            def_names = [node.name] if _is_plain_def(node) else []
            clash = None
            if split is not None:
                if after:
                    clash = next((n for n in sorted(defs) if n in before), None)
                    if clash:
                        plan.set_aside.append({
                            "name": clash, "label": label,
                            "reason": (f"redefines {clash} from {before[clash]} after the "
                                       f"'{heading_text}' heading; the core is graded on the "
                                       f"earlier definition")})
                        continue
                else:
                    for n in defs | imps:
                        before[n] = label
            else:
                clash = next((n for n in sorted(defs) if n in first_def), None)
                if clash:
                    plan.set_aside.append({
                        "name": clash, "label": label,
                        "reason": (f"redefines {clash} first defined in {first_def[clash]}; "
                                   f"the first definition is graded")})
                    continue
                for n in def_names:
                    first_def.setdefault(n, label)
            for n in def_names:
                used.pop(n, None)
                used[n] = label
            mod.units.append(Unit(source=src, lineno=ln, label=label, cell=idx))
        if kinds:
            plan.dropped.append(_summarise_dropped(label, kinds))
    plan.used = [{"name": n, "label": lab} for n, lab in used.items()]
    return plan
