"""``nncheck release``: the student edition, a wheel with no solution in it.

What students install to run ``nncheck submit`` and ``%nncheck`` before they
hand in. It is built from a staging copy of this nncheck's sources:

* the grader (``nncheck/``), the families' checks (``nncheck/plugins/``) and
  the student template, as they are, except:
* no ``nncheck.reference``; no ``nncheck.variants``, ``nncheck.testing``,
  ``nncheck.selftest`` (a stub saying it is an instructor command) or
  ``nncheck.plugins.forms``; no ``plugins/<family>/selftest.py``; in every
  family module the ``nncheck_selftest_variants`` hooks are taken out, with
  the private constants only they used (the lines of the reference they
  edit);
* plus the answers table for the public inputs
  (``nncheck/data/answers/``: ``index.json`` and ``arrays.npz``, computed with
  the reference now, :mod:`nncheck.answers`) and the course's config and
  plugin files (``nncheck/data/course/``).

Before the wheel is written the staged tree is searched for the reference's
text (:func:`solution_lines`): any line of a reference function's body that is
not also in the student template stops the release. The wheel is written
directly (a zip with its ``.dist-info``, PEP 427): no build backend, no network.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import click

from nncheck import __version__

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"nncheck": "checker", "nncheck/plugins": "plugins", "nncheck/student_template": "student_template"}
DATA_SUFFIXES = (".npz", ".md", ".html", ".css", ".j2")
DROPPED = ("nncheck/variants.py", "nncheck/testing.py", "nncheck/plugins/forms.py")
SELFTEST_HOOK = "nncheck_selftest_variants"
SELFTEST_STUB = '''"""``nncheck selftest`` is an instructor command.

It grades mutants of the course's reference solution; the student edition of
nncheck (``nncheck release``) holds no reference and no mutant.
"""
MESSAGE = ("nncheck selftest is an instructor command: the student edition of nncheck holds no "
           "reference solution and no mutants of it.")


def run_selftest(*args, **kwargs):
    raise RuntimeError(MESSAGE)


def render_table(*args, **kwargs):
    raise RuntimeError(MESSAGE)
'''


#: Lines of the reference every Dense-like layer starts with, graders' stand-ins included: the
#: assignment's own template spells them out in its TODOs ("biases with zeros").
TRIVIAL = {"self.biases = np.zeros(output_units)"}


class ReleaseError(Exception):
    """The student edition cannot be built (no source tree, a solution left in it, ...)."""


# -- staging -------------------------------------------------------------------

def _copy_sources(stage: Path) -> None:
    for dest, src in SOURCES.items():
        src_dir = ROOT / src
        for f in sorted(src_dir.rglob("*")):
            rel = f.relative_to(src_dir)
            if (not f.is_file() or "__pycache__" in rel.parts or any(p.endswith(".egg-info") for p in rel.parts)
                    or (f.suffix != ".py" and f.suffix not in DATA_SUFFIXES)):
                continue
            if dest == "nncheck" and rel.parts[0] in ("plugins", "reference", "student_template"):
                continue
            if dest == "nncheck" and rel.parts[0] == "data" and rel.parts[1:2] in (("answers",), ("course",)):
                continue  # a student edition's own data, never copied from a checkout
            target = stage / dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)


def _hook_name(node: ast.FunctionDef) -> str:
    """The hook a top-level function implements (its ``specname`` or its own name)."""
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call):
            for kw in dec.keywords:
                if kw.arg == "specname" and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return node.name


def _drop_lines(text: str, spans: list[tuple[int, int]]) -> str:
    lines = text.splitlines(keepends=True)
    for start, end in sorted(spans, reverse=True):
        del lines[start - 1:end]
    return "".join(lines)


def strip_selftest(text: str, elsewhere: str = "") -> str:
    """``text`` without its ``nncheck_selftest_variants`` hooks and the module constants only they
    read (the reference's lines they edit, a notebook they grade): constants nothing else in the
    module reads and no other module (``elsewhere``, their text) names."""
    tree = ast.parse(text)
    spans = [(min([n.lineno] + [d.lineno for d in n.decorator_list]), n.end_lineno) for n in tree.body
             if isinstance(n, ast.FunctionDef) and _hook_name(n) == SELFTEST_HOOK]
    if not spans:
        return text
    text = _drop_lines(text, spans)
    while True:  # constants only the variants used, then the constants only those used
        tree = ast.parse(text)
        read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        unused = [(n.lineno, n.end_lineno) for n in tree.body if isinstance(n, ast.Assign) and all(
            isinstance(t, ast.Name) and not t.id.startswith("__") and t.id not in read
            and not re.search(rf"\b{t.id}\b", elsewhere)
            for t in n.targets)]
        if not unused:
            return text
        text = _drop_lines(text, unused)


STAND_IN_STUB = ("nncheck's student edition leaves this to the course's grader: it is the grader's own "
                 "working code for a part of the assignment")


def stub_stand_ins(text: str) -> str:
    """``text`` with each definition its module lists in ``STAND_INS`` (the grader's working stand-ins
    for parts of the assignment, see ``nncheck.probes.STAND_INS``) replaced by a stub that raises."""
    tree = ast.parse(text)
    names = set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "STAND_INS" for t in node.targets)
                and isinstance(node.value, (ast.Tuple, ast.List))):
            names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    lines = text.splitlines(keepends=True)
    for node in sorted((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names),
                       key=lambda n: n.lineno, reverse=True):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if isinstance(node, ast.ClassDef):
            stub = (f"class {node.name}:\n    def __init__(self, *args, **kwargs):\n"
                    f"        raise RuntimeError({STAND_IN_STUB!r})\n")
        else:
            stub = f"def {node.name}(*args, **kwargs):\n    raise RuntimeError({STAND_IN_STUB!r})\n"
        lines[start - 1:node.end_lineno] = [stub]
    return "".join(lines)


def stage_tree(stage: Path) -> None:
    """Copy the sources into ``stage`` and take every solution-bearing part out."""
    _copy_sources(stage)
    for rel in DROPPED:
        (stage / rel).unlink(missing_ok=True)
    for f in (stage / "nncheck" / "plugins").glob("*/selftest.py"):
        f.unlink()
    selftest = stage / "nncheck" / "selftest"
    shutil.rmtree(selftest)
    selftest.mkdir()
    (selftest / "__init__.py").write_text(SELFTEST_STUB, encoding="utf-8")
    modules = sorted((stage / "nncheck").rglob("*.py"))
    for f in modules:
        text = f.read_text(encoding="utf-8")
        if "STAND_INS" in text and stub_stand_ins(text) != text:
            f.write_text(stub_stand_ins(text), encoding="utf-8")
    for f in sorted((stage / "nncheck" / "plugins").rglob("*.py")):
        text = f.read_text(encoding="utf-8")
        elsewhere = "\n".join(g.read_text(encoding="utf-8") for g in modules if g != f)
        stripped = strip_selftest(text, elsewhere)
        if stripped != text:
            f.write_text(stripped, encoding="utf-8")


# -- the check: no solution text -------------------------------------------------

def _body_lines(path: Path) -> set[str]:
    """The statement lines of every function and method body in ``path``, whitespace-normalised."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            for stmt in body:
                for line in lines[stmt.lineno - 1:stmt.end_lineno]:
                    norm = " ".join(line.split())
                    if norm and not norm.startswith("#"):
                        out.add(norm)
    return out


def reference_lines() -> set[str]:
    """The reference's solution lines worth looking for: long enough to be code of its own
    (``return grad_input`` is everyone's), and not given to students in the template."""
    given = _body_lines(ROOT / "student_template" / "assignment.py")
    found = set()
    for f in sorted((ROOT / "reference").glob("*.py")):
        found |= {line for line in _body_lines(f) - given
                  if len(line) >= 24 and re.search(r"[=(*/+\-@]", line) and not line.startswith(("raise ", '"'))
                  and line not in TRIVIAL}
    return found


def solution_lines(tree: Path) -> list[str]:
    """``path: line`` for every reference line found in a text file under ``tree``."""
    wanted = reference_lines()
    hits = []
    for f in sorted(tree.rglob("*")):
        if not f.is_file() or f.suffix == ".npz":
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            norm = " ".join(line.split())
            if norm in wanted:
                hits.append(f"{f.relative_to(tree)}:{n}: {norm}")
    return hits


# -- the course's data -------------------------------------------------------------

def add_course(stage: Path, config_path, plugin_files) -> "object":
    """Put the course's config and plugin files into the stage; return the Engine they make."""
    from nncheck.classroom.autograder import local_imports
    from nncheck.config import load_config
    from nncheck.engine import Engine

    course = stage / "nncheck" / "data" / "course"
    course.mkdir(parents=True)
    config = load_config(config_path) if config_path else None
    if config is not None and config.secret:  # what students install must not hold the course secret
        raise ReleaseError(f"{config_path} holds [grading] secret, which would go to every student: release "
                           "with a copy of the config without it (graded runs read the secret from "
                           "$NNCHECK_SECRET, --secret or their own copy of the config)")
    if config_path:
        base = Path(config_path).resolve().parent
        shutil.copy2(config_path, course / "nncheck.toml")
        for item in config.enable_files:
            p = Path(item).resolve()
            if base not in p.parents:
                raise ReleaseError(f"{p} is outside the config's folder {base}: move it there")
            for f in [p, *local_imports(p)]:
                (course / f.relative_to(base)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, course / f.relative_to(base))
    else:
        (course / "nncheck.toml").write_text("# the course's config: nncheck's defaults\n", encoding="utf-8")
    names = []
    for f in plugin_files:
        p = Path(f).resolve()
        for dep in [p, *local_imports(p)]:
            if (course / dep.name).exists():
                raise ReleaseError(f"two course files are named {dep.name}")
            shutil.copy2(dep, course / dep.name)
        names.append(p.name)
    if names:
        (course / "plugins.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    if config is None:
        config = load_config(None)
    return Engine(config, [str(course / n) for n in names], entry_points=False)


# -- the wheel -----------------------------------------------------------------------

def _metadata() -> str:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {__version__}",
             f"Summary: {project['description']} (student edition: no reference solution)",
             f"Requires-Python: {project['requires-python']}"]
    lines += [f"Requires-Dist: {d}" for d in project["dependencies"]]
    return "\n".join(lines) + "\n"


def write_wheel(stage: Path, out_dir: Path) -> Path:
    """``out_dir/nncheck-VERSION-py3-none-any.whl`` holding ``stage/nncheck``."""
    info = f"nncheck-{__version__}.dist-info"
    whl = out_dir / f"nncheck-{__version__}-py3-none-any.whl"
    meta = {f"{info}/METADATA": _metadata(),
            f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: nncheck release\nRoot-Is-Purelib: true\n"
                             "Tag: py3-none-any\n",
            f"{info}/entry_points.txt": "[console_scripts]\nnncheck = nncheck.cli:main\n",
            f"{info}/top_level.txt": "nncheck\n"}
    records = []

    def put(zf, name, data: bytes):
        info_ = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info_.external_attr = 0o644 << 16
        info_.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info_, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        records.append(f"{name},sha256={digest},{len(data)}")

    tmp = whl.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for f in sorted((stage / "nncheck").rglob("*")):
            if f.is_file():
                put(zf, f.relative_to(stage).as_posix(), f.read_bytes())
        for name, text in meta.items():
            put(zf, name, text.encode())
        records.append(f"{info}/RECORD,,")
        zf.writestr(zipfile.ZipInfo(f"{info}/RECORD", date_time=(2020, 1, 1, 0, 0, 0)),
                    "\n".join(records) + "\n")
    tmp.replace(whl)
    return whl


def build_release(out_dir, config_path=None, plugin_files=()) -> dict:
    """Stage, fill and check the student edition; write its wheel into ``out_dir``."""
    from nncheck.answers import edition, write_table

    if edition() != "full" or not (ROOT / "reference").is_dir():
        raise ReleaseError("nncheck release needs the full nncheck (its source tree with the reference)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nncheck-release-") as tmp:
        stage = Path(tmp)
        stage_tree(stage)
        engine = add_course(stage, config_path, plugin_files)
        table = write_table(stage / "nncheck" / "data" / "answers", engine)
        hits = solution_lines(stage)
        if hits:
            raise ReleaseError("the staged student edition still holds reference solution text:\n  "
                               + "\n  ".join(hits[:20]))
        whl = write_wheel(stage, out_dir)
        files = sorted(f.relative_to(stage).as_posix() for f in (stage / "nncheck").rglob("*") if f.is_file())
    return {"wheel": str(whl), "files": len(files), **table}


@click.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write nncheck-VERSION-py3-none-any.whl into.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="The course's config (points, feedback, tolerances...); the student edition uses it.")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A single-file plugin the course adds (repeatable); shipped and loaded.")
def release(out_dir, config_path, plugin_files):
    """Write the student edition: the wheel students install, with no solution in it.

    It holds the checks, the course's config and plugins, and the answers for the
    public inputs (seed 0), but no reference solution, no selftest mutants and no
    solution text. Students run `nncheck submit` and `%nncheck` with it; hidden
    inputs (another --seed, a class run) need the full nncheck.
    """
    try:
        done = build_release(out_dir, config_path, plugin_files)
    except ReleaseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {done['wheel']} (student edition: {done['files']} files, answers for "
               f"{done['checks']} checks on the public inputs"
               + (f"; graded by the course only: {', '.join(done['full_edition_only'])}"
                  if done["full_edition_only"] else "") + ")")
