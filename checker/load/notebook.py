"""Notebooks: from an ``.ipynb`` (read with nbformat) to a load plan.

Code cells only. IPython syntax (line magics, shell escapes, ``x = !cmd``,
``obj?`` help, cell magics) is blanked out line by line so that line
numbers stay those of the cell (:func:`strip_ipython`). A cell's label is
``"cell N"`` where N is its execution count (the ``In [N]`` the student
sees) when it has one, else the 1-based position of the cell among the code
cells; should two cells get the same label, the later one gets
``" (code cell K)"`` appended. :attr:`Unit.cell` is the cell's 0-based index
into the notebook's ``cells`` (markdown cells counted), for tools that open
the notebook. A cell that does not parse is reported in
:attr:`Plan.problems` and skipped.

The heading rule (redefinitions)
    Before the markdown cell whose text contains the heading (case-insensitive;
    ``"Peer-reviewed assignment"`` by default, ``None`` disables the rule) the
    last definition of a name counts, as in Python. After it, a ``def``,
    ``class`` or assignment to a name defined before the heading is set aside
    (not run, listed in :attr:`Plan.set_aside`); new names are kept. Without
    such a heading the first ``def``/``class`` of a name counts and later
    redefinitions of it (``def``, ``class`` or assignment) are set aside.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from nncheck.load.plan import ModulePlan, Plan, SubmissionError, Unit
from nncheck.load.statements import split_statements, summarise_dropped
from nncheck.load.syntax import describe_syntax_error, parse

__all__ = ["strip_ipython", "plan_notebook"]


# --------------------------------------------------------------------------
# IPython syntax

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


# --------------------------------------------------------------------------
# The heading rule

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


# --------------------------------------------------------------------------
# Reading the notebook and planning its cells

RESAVE = "Download it again, or open it in Jupyter and save it again (File > Save), then submit the saved file."


def describe_bad_json(text: str, shown: str) -> str | None:
    """Why ``text`` (the file ``shown``) is not a notebook's JSON, in words a student can act on:
    empty, a web page saved from the browser, cut off (and where), or broken (and where).
    None when it is valid JSON."""
    import json

    if not text.strip():
        size = len(text.encode("utf-8"))
        return (f"{shown} is empty ({size} byte{'' if size == 1 else 's'}): nothing was saved in it. Open your "
                "notebook in Jupyter, save it (File > Save), and submit the saved file again.")
    head = text.lstrip()[:200].lower()
    if head.startswith("<") and any(tag in head for tag in ("<!doctype html", "<html", "<head")):
        return (f"{shown} is a web page (HTML), not a notebook: it was saved from the browser's view of the "
                "notebook. Download the notebook file itself (in Jupyter: File > Download; on GitHub: "
                "\"Download raw file\") and submit that.")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        end = text.rstrip()
        if exc.pos >= len(end) - 1 or exc.msg.startswith("Unterminated string"):  # the text ends first
            line = end.count("\n") + 1
            column = len(end) - (end.rfind("\n") + 1) + 1
            return (f"{shown} is cut off: the file ends at line {line}, column {column}, in the middle of "
                    f"its JSON, so it was not saved or downloaded completely. {RESAVE}")
        where = f"line {exc.lineno}, column {exc.colno}"
        return (f"{shown} is not a valid Jupyter notebook: its JSON breaks at {where} ({exc.msg}). "
                f"{RESAVE}")
    return None


def _plain_v4_cells(text: str):
    """The cells of a plain nbformat-4 notebook (a cell list of dicts), each source one string, as
    ``nbformat.reads`` gives them; ``None`` for anything else, which nbformat reads (and converts).
    Importing nbformat and compiling its JSON schema cost more than grading the core checks' units."""
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return None
    cells = data.get("cells") if isinstance(data, dict) and data.get("nbformat") == 4 else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        return None
    for cell in cells:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(str(part) for part in cell["source"])
    return cells


def _read_notebook(path: Path, shown: str):
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{shown} cannot be read ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{shown} is not a valid Jupyter notebook: it is not UTF-8 text.") from None
    bad = describe_bad_json(text, shown)
    if bad:
        raise SubmissionError(bad)
    cells = _plain_v4_cells(text)
    if cells is not None:
        return cells
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
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


def plan_notebook(path: Path, work: Path, shown: str, heading: str | None) -> Plan:
    """The plan of the notebook at ``path`` (the copy in ``work``); ``shown`` names it in
    messages, ``heading`` is the heading of the rule above."""
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
                f"{label} does not parse ({describe_syntax_error(exc)}); the rest was loaded")
            continue
        lines = text.splitlines(keepends=True)
        kinds: list[str] = []
        for node, src, ln, kind in split_statements(tree, lines):
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
            plan.dropped.append(summarise_dropped(label, kinds))
    plan.used = [{"name": n, "label": lab} for n, lab in used.items()]
    return plan
