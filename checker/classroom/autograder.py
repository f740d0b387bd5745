"""Autograders for course platforms: Gradescope's zip, and grading on Gradescope and PrairieLearn.

``nncheck autograder gradescope --out autograder.zip`` writes the zip
Gradescope asks for (its "Autograder Specifications"): at its root

* ``setup.sh``: run once, as root, when Gradescope builds the image.
  Installs bubblewrap and a Python >= 3.11 with ``apt-get``, makes a virtual
  environment in ``/opt/nncheck`` and installs the nncheck shipped in the
  zip (this exact nncheck: its source tree ``nncheck-VERSION/``, or a wheel
  -- the ``--wheel`` given, or repacked from an installed nncheck -- with
  its dependencies from PyPI);
* ``run_autograder``: run for every submission. It starts ``nncheck
  autograder run gradescope``, which only copies and grades (:func:`run`);
* ``nncheck-autograder.json`` (what to grade with) and the config and plugin
  files, under ``config/`` and ``plugins/``;
* ``nncheck-secret``: the course secret every upload's hidden inputs are
  drawn from (:mod:`nncheck.classroom.hidden`), so nothing a student saw in
  their own runs replays into a grade. It stays on the grader's side of
  the zip: ``source/`` is root-only and never inside the sandbox.

Why a submission can neither write ``results.json`` nor read the
autograder's source: Gradescope runs ``run_autograder`` as root in the same
container as the upload, and an upload that runs there can overwrite
``/autograder/results/results.json`` (a known escape). Here the upload only
ever runs inside nncheck's worker: in the bubblewrap sandbox, whose file
system has no ``/autograder`` at all, and whose processes die with it; where
the container forbids the sandbox, as the unprivileged ``nobody``, for whom
:func:`run` first makes ``source/`` and ``results/`` root-only (mode 0700).
``results.json`` is written last, by the grading process, atomically: a file
planted there earlier is replaced, not trusted. Without either layer,
:func:`run` refuses to grade (unless ``NNCHECK_ISOLATION=process`` says to).

PrairieLearn's external grader has the same shape under ``/grade``
(``student/``, ``results/``; ``tests/``, ``serverFilesCourse/`` and ``data/``
are the course's): ``nncheck autograder run prairielearn`` is its entrypoint
(``docs/platforms.md``); its course secret is ``$NNCHECK_SECRET``, the
config's, or ``tests/nncheck-secret``.
"""
from __future__ import annotations

import ast
import json
import os
import secrets
import sys
import tempfile
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nncheck import __version__
from nncheck.classroom.hidden import SECRET_VAR, ZIP_FILE, Secret, create_secret, find_secret

MANIFEST = "nncheck-autograder.json"
VENV = "/opt/nncheck"
ROOT_VAR = "NNCHECK_AUTOGRADER_ROOT"
PLATFORMS = {
    # platform: (default root, submission folder, course-only folders, results format)
    "gradescope": ("/autograder", "submission", ("source",), "gradescope"),
    "prairielearn": ("/grade", "student", ("tests", "serverFilesCourse", "data"), "prairielearn"),
}
PROJECT_PARTS = ("pyproject.toml", "README.md", "LICENSE", "checker", "plugins", "reference", "student_template")
_SKIP_IN_TREE = {"__pycache__", "build", "dist"}
SOURCE_DIR = f"nncheck-{__version__}"   # the source tree's folder in the zip


class AutograderError(Exception):
    """The autograder cannot be built as asked (the message says why)."""


# --------------------------------------------------------------------------
# The scripts in the zip

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image
# (written by `nncheck autograder gradescope`, nncheck {version}).
set -euxo pipefail
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# bubblewrap: the sandbox every upload runs in; a Python >= 3.11 for nncheck.
apt-get install -y -q --no-install-recommends bubblewrap ca-certificates python3 python3-venv python3-pip
PY=""
for candidate in python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then
    # Ubuntu 22.04 (Gradescope's default base image) has Python 3.10; its 3.11 is in universe.
    apt-get install -y -q --no-install-recommends python3.11 python3.11-venv
    PY=python3.11
fi
apt-get install -y -q --no-install-recommends "$PY-venv" || true
"$PY" -m venv {venv}
# This exact nncheck, from this zip (its source tree or its wheel); its dependencies from PyPI.
{venv}/bin/python -m pip install --no-cache-dir --upgrade pip
{venv}/bin/python -m pip install --no-cache-dir "$HERE/{package}"
{venv}/bin/python -c "import nncheck; assert nncheck.__version__ == '{version}', nncheck.__version__"
# Which isolation this image offers (the sandbox needs user namespaces); shown in the build log.
{venv}/bin/python -m nncheck doctor || true
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (written by `nncheck autograder gradescope`,
# nncheck {version}). It only grades: the upload in $ROOT/submission runs inside nncheck's
# sandbox, never in this script, and results.json is written by nncheck alone.
set -uo pipefail
ROOT="${{{root_var}:-/autograder}}"
PY="${{NNCHECK_PYTHON:-{venv}/bin/python}}"
if [ ! -x "$PY" ]; then PY="$(command -v python3)"; fi
exec "$PY" -m nncheck autograder run gradescope --root "$ROOT"
"""


# --------------------------------------------------------------------------
# Building the zip

def project_root() -> Path | None:
    """The source tree nncheck runs from (an editable install or a checkout), if there is one."""
    root = Path(__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "nncheck"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def repack_installed(dest: Path) -> Path | None:
    """This nncheck, installed from a wheel (no source tree), packed back into a wheel in ``dest``:
    the files its ``RECORD`` lists in the library folder (not scripts, not caches), with a new
    ``RECORD``. ``None`` when it is not installed that way."""
    import base64
    import hashlib
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution("nncheck")
    except importlib.metadata.PackageNotFoundError:
        return None
    files = [f for f in (dist.files or []) if f.parts and f.parts[0] == "nncheck"]
    if dist.version != __version__ or not files:
        return None  # an editable install lists no package files
    info = f"nncheck-{__version__}.dist-info"
    whl = dest / f"nncheck-{__version__}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as zf:
        meta = [f for f in (dist.files or []) if f.parts[0] == info
                and f.name in ("METADATA", "WHEEL", "entry_points.txt", "top_level.txt")]
        for f in [*files, *meta]:
            if "__pycache__" in f.parts or f.suffix == ".pyc":
                continue
            data = Path(dist.locate_file(f)).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            _zip_write(zf, f.as_posix(), data)
            records.append(f"{f.as_posix()},sha256={digest},{len(data)}")
        records.append(f"{info}/RECORD,,")
        _zip_write(zf, f"{info}/RECORD", ("\n".join(records) + "\n").encode())
    return whl


def add_source_tree(zf: zipfile.ZipFile, arcdir: str) -> None:
    """Put this nncheck's source tree (what ``pip install`` needs: ``pyproject.toml`` and the
    packages, no tests) into the zip under ``arcdir``; ``setup.sh`` installs it from there."""
    root = project_root()
    if root is None:
        raise AutograderError("nncheck is not installed from a source tree here; build its wheel "
                              "(`pip wheel --no-deps PATH_TO_NNCHECK`) and pass it with --wheel")
    for part in PROJECT_PARTS:
        src = root / part
        paths = [src] if src.is_file() else sorted(src.rglob("*")) if src.is_dir() else []
        for f in paths:
            rel = f.relative_to(root)
            if f.is_file() and not any(p in _SKIP_IN_TREE or p.endswith(".egg-info") for p in rel.parts) \
                    and f.suffix != ".pyc":
                _zip_write(zf, f"{arcdir}/{rel.as_posix()}", f.read_bytes())


def local_imports(path: Path) -> list[Path]:
    """The modules and packages beside ``path`` that it imports by plain name, transitively
    (a plugin's ``*_probes.py``, its own reference), so the zip carries what it needs."""
    found: list[Path] = []
    todo = [path]
    while todo:
        p = todo.pop()
        try:
            tree = ast.parse(p.read_text(encoding="utf-8"), str(p))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        for name in sorted(names):
            for cand in (path.parent / f"{name}.py", path.parent / name):
                if cand in found or cand == path:
                    continue
                if cand.is_file() or (cand.is_dir() and (cand / "__init__.py").is_file()):
                    found.append(cand)
                    todo.extend([cand] if cand.is_file() else sorted(cand.rglob("*.py")))
    return found


@dataclass
class Bundle:
    """What goes into an autograder besides nncheck: ``files`` maps a path in the zip to a file."""

    files: dict[str, Path] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    secret: Secret | None = None   # the course secret, written as nncheck-secret

    def add(self, arcname: str, path: Path) -> None:
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and "__pycache__" not in f.parts:
                    self.files[f"{arcname}/{f.relative_to(path).as_posix()}"] = f
        else:
            self.files[arcname] = path


def bundle(config_path=None, plugin_files=(), only=()) -> Bundle:
    """Check that the config and plugins load, and collect the files the autograder needs."""
    from nncheck.config import load_config
    from nncheck.engine import Engine
    from nncheck.report.feedback import check_keys

    config = load_config(config_path)
    engine = Engine(config, plugin_files)  # refuses a bad plugin now, not on Gradescope
    check_keys(config, engine.checks)
    from nncheck.engine import UnknownCheck

    try:
        engine.select(only)
    except UnknownCheck as exc:
        raise AutograderError(str(exc)) from None
    b = Bundle(manifest={"nncheck_version": __version__, "config": None, "plugins": [], "only": list(only)})
    if config_path:
        cfg = Path(config_path).resolve()
        base = cfg.parent
        b.add(f"config/{cfg.name}", cfg)
        b.manifest["config"] = f"config/{cfg.name}"
        extra = list(config.enable_files) + ([config.training["data"]] if config.training.get("data") else [])
        for item in extra:
            p = Path(item).resolve()
            if base not in p.parents:
                raise AutograderError(f"{p} is outside the config's folder {base}: the autograder zip "
                                      "keeps paths relative to the config, so move it there")
            rel = p.relative_to(base).as_posix()
            b.add(f"config/{rel}", p)
            if p.suffix == ".py":
                for dep in local_imports(p):
                    b.add(f"config/{dep.relative_to(base).as_posix()}", dep)
    folders: dict[Path, str] = {}
    for f in plugin_files:
        p = Path(f).resolve()
        where = folders.setdefault(p.parent, f"plugins/{len(folders)}")
        b.add(f"{where}/{p.name}", p)
        b.manifest["plugins"].append(f"{where}/{p.name}")
        for dep in local_imports(p):
            b.add(f"{where}/{dep.relative_to(p.parent).as_posix()}", dep)
    return b


def _zip_write(zf: zipfile.ZipFile, arcname: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_gradescope(out, config_path=None, plugin_files=(), only=(), wheel=None,
                     secret: str | None = None) -> dict:
    """Write Gradescope's autograder zip to ``out``; return what went in (for the command's summary).

    nncheck goes in as ``wheel`` when given, else as its source tree (``nncheck-VERSION/``, an
    editable install or a checkout), else as a wheel repacked from its installed files. The course
    secret (``secret``, else ``$NNCHECK_SECRET``, else the config's, else a new one) goes in as
    ``nncheck-secret``: the summary names it by its fingerprint only."""
    b = bundle(config_path, plugin_files, only)
    from nncheck.config import load_config

    course = find_secret(secret, load_config(config_path)) or Secret(secrets.token_hex(32), "created")
    b.secret = course
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="nncheck-autograder-") as tmp:
        whl = Path(wheel).resolve() if wheel else None
        if whl is None and project_root() is None:
            whl = repack_installed(Path(tmp))
            if whl is None:
                raise AutograderError("cannot find this nncheck's source tree or installed files; "
                                      "pass its wheel with --wheel")
        return _write_zip(out, b, whl)


def _write_zip(out: Path, b: Bundle, whl: Path | None) -> dict:
    if whl is not None and not whl.name.startswith(f"nncheck-{__version__}-"):
        raise AutograderError(f"{whl.name} is not a wheel of nncheck {__version__}")
    package = whl.name if whl else SOURCE_DIR
    b.manifest.update(platform="gradescope", package=package)
    if b.secret is not None:
        b.manifest.update(secret=ZIP_FILE, secret_fingerprint=b.secret.fingerprint)
    fmt = {"version": __version__, "venv": VENV, "package": package, "root_var": ROOT_VAR}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w") as zf:
            _zip_write(zf, "setup.sh", SETUP_SH.format(**fmt).encode(), 0o755)
            _zip_write(zf, "run_autograder", RUN_AUTOGRADER.format(**fmt).encode(), 0o755)
            _zip_write(zf, MANIFEST, (json.dumps(b.manifest, indent=2) + "\n").encode())
            if b.secret is not None:
                _zip_write(zf, ZIP_FILE, (b.secret.value + "\n").encode(), 0o600)
            if whl:
                _zip_write(zf, whl.name, whl.read_bytes())
            else:
                add_source_tree(zf, SOURCE_DIR)
            for arcname, path in sorted(b.files.items()):
                _zip_write(zf, arcname, path.read_bytes())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    secret_files = [ZIP_FILE] if b.secret is not None else []
    return {"out": str(out), "bytes": out.stat().st_size, "package": package,
            "files": ["setup.sh", "run_autograder", MANIFEST, *secret_files, package + ("" if whl else "/"),
                      *sorted(b.files)],
            "secret": None if b.secret is None else {"fingerprint": b.secret.fingerprint, "source": b.secret.source}}


# --------------------------------------------------------------------------
# Grading on the platform

_SKIP = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


def pick_submission(folder: Path, scratch: Path) -> tuple[Path | None, str]:
    """What to grade in an upload folder: ``(path, "")``, or ``(None, why not)``.

    One notebook anywhere is graded, whatever else came with it (course
    helper files); else a single ``.py``; else the folder holding the
    ``.py`` files; else a single ``.zip``, unpacked safely into ``scratch``.
    """
    from nncheck.load.archives import UnsafeArchive, safe_extract

    if not folder.is_dir():
        return None, "Nothing was uploaded."
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()
             and not any(part in _SKIP or part.startswith(".") for part in p.relative_to(folder).parts)]
    notebooks = [p for p in files if p.suffix.lower() == ".ipynb"]
    pys = [p for p in files if p.suffix == ".py"]
    zips = [p for p in files if p.suffix.lower() == ".zip"]
    if len(notebooks) == 1:
        return notebooks[0], ""
    if len(notebooks) > 1:
        names = ", ".join(p.relative_to(folder).as_posix() for p in notebooks[:6])
        return None, f"{len(notebooks)} notebooks were uploaded ({names}); upload the one to grade."
    if len(pys) == 1:
        return pys[0], ""
    if pys:
        parents = {p.parent for p in pys}
        top = min(parents, key=lambda p: len(p.parts))
        return top, ""
    if len(zips) == 1:
        try:
            return safe_extract(zips[0], scratch), ""
        except UnsafeArchive as exc:
            return None, f"{zips[0].name} cannot be graded: {exc}."
    if not files:
        return None, "Nothing was uploaded."
    return None, "No notebook (.ipynb) or Python file (.py) was uploaded."


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _no_grade(platform: str, why: str, max_score: float = 0.0) -> str:
    """A results.json for an upload that could not be graded at all."""
    if platform == "prairielearn":
        doc = {"gradable": False, "score": 0.0, "message": why, "output": why, "format_errors": [why], "tests": []}
    else:
        doc = {"score": 0.0, "output": why, "output_format": "text", "visibility": "visible",
               "stdout_visibility": "hidden", "extra_data": {"nncheck_version": __version__, "max_score": max_score},
               "tests": [{"name": "The submission can be graded", "name_format": "text", "number": "0.1",
                          "score": 0.0, "max_score": 0.0, "status": "failed", "output": why,
                          "output_format": "text", "visibility": "visible"}]}
    return json.dumps(doc, indent=2) + "\n"


def _harden(root: Path, private: tuple[str, ...], results: Path) -> None:
    """Course folders and the results folder: root-only, before any upload runs."""
    results.mkdir(parents=True, exist_ok=True)
    for d in [*(root / p for p in private), results]:
        if d.is_dir() and not d.is_symlink():
            os.chmod(d, 0o700)


def run(platform: str, root=None, config_path=None, plugin_files=(), only=(), out=sys.stdout) -> int:
    """Grade the upload of one submission on ``platform`` and write its ``results.json``.

    Prints the full (instructor) text report to ``out``: Gradescope shows
    the autograder's stdout to instructors only. The upload is graded on
    hidden inputs: its seed is drawn from the course secret
    (``$NNCHECK_SECRET``, else the config's, else the zip's
    ``nncheck-secret`` on Gradescope or ``tests/nncheck-secret`` on
    PrairieLearn) and the whole upload folder's digest. Without any, a
    secret for this run only: still hidden, but a regrade draws new inputs.
    Returns the exit status:
    0 when results.json was written from a grading, 1 when grading itself
    failed (a results.json still says so).
    """
    from nncheck.classroom.state import submission_digest
    from nncheck.config import load_config
    from nncheck.engine import Engine
    from nncheck.report.text import render_text
    from nncheck.sandbox import ISOLATION_VAR

    default_root, sub_dir, private, fmt = PLATFORMS[platform]
    root = Path(root or os.environ.get(ROOT_VAR) or default_root).resolve()
    results = root / "results" / "results.json"
    _harden(root, private, results.parent)
    manifest = {}
    if platform == "gradescope":
        source = root / "source"
        try:
            manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        if not config_path and manifest.get("config"):
            config_path = source / manifest["config"]
        plugin_files = [*plugin_files, *(source / p for p in manifest.get("plugins", []))]
        only = tuple(only) or tuple(manifest.get("only", ()))
    elif not config_path and (root / "tests" / "nncheck.toml").is_file():
        config_path = root / "tests" / "nncheck.toml"
    state = root / ("source" if platform == "gradescope" else "tests") / ZIP_FILE
    try:
        engine = Engine(load_config(config_path), plugin_files)
        course = find_secret(None, engine.config, state) or create_secret()
        isolation = engine.isolation
        if isolation.layer == "process" and os.environ.get(ISOLATION_VAR) != "process":
            why = ("The autograder is misconfigured: neither the bubblewrap sandbox nor a switch to the "
                   "user 'nobody' is available here, so an upload could rewrite its own results. "
                   f"Instructors: run as root or install bubblewrap (set {ISOLATION_VAR}=process to "
                   "grade anyway).")
            _write_atomically(results, _no_grade(platform, why))
            print(why, file=out)
            return 1
        with tempfile.TemporaryDirectory(prefix="nncheck-upload-") as scratch:
            target, problem = pick_submission(root / sub_dir, Path(scratch))
            if target is None:
                _write_atomically(results, _no_grade(platform, problem))
                print(f"not graded: {problem}", file=out)
                return 0
            seed = course.seed_for(submission_digest(root / sub_dir))  # any change to the upload: new inputs
            report = engine.grade(target, only=only, seed=seed, inputs=course.inputs())
        text = engine.formats[fmt](report, engine.config)
        _write_atomically(results, text)
    except Exception:  # noqa: BLE001 - the platform must get a results.json whatever failed
        _write_atomically(results, _no_grade(platform, "The autograder itself failed while grading this "
                                                       "submission; this is not your fault. Your instructor "
                                                       "can see why."))
        print("nncheck failed while grading:", file=out)
        traceback.print_exc(file=out)
        return 1
    print(render_text(report, engine.config), file=out, end="")
    if course.source == "ephemeral":
        print(f"warning: no course secret (${SECRET_VAR}, [grading] secret or {state.relative_to(root)}): these "
              "hidden inputs were drawn from a secret made for this run only, so a regrade draws new ones "
              "(see docs/platforms.md)", file=out)
    print(f"results: {results} ({fmt}); graded {target.relative_to(root) if root in target.parents else target.name}",
          file=out)
    return 0
