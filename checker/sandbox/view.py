"""nncheck's own code and the sandbox: the worker-side copy it sees, the grader's paths it must not.

:func:`stage_view` copies nncheck's worker side (:data:`WORKER_SIDE`, the
course shims) and the probe modules of the checks being run into a folder
mounted read-only at :data:`VIEW`. Every package ``__init__.py`` in that copy
is written empty, so worker-side code imports worker-side names from their
defining modules, never through a package ``__init__``. :func:`grader_paths`
lists nncheck's package folders and every plugin distribution, which are
covered wherever a mounted library folder holds them.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import marshal
import os
import shutil
import threading
from pathlib import Path

VIEW = "/nncheck"                # nncheck's worker-side code, inside the sandbox

PACKAGE = Path(__file__).resolve().parents[1]
WORKER_SIDE = ("worker/loop.py", "worker/wire.py", "worker/forms.py", "worker/hyper.py", "load/plan.py",
               "probes.py", "gradient_check.py", "data.py")
"""The modules of ``nncheck`` that run inside the sandbox (plus ``shims/``), relative to
the package; a subpackage's ``__init__.py`` is written empty in the view."""


@functools.lru_cache(maxsize=None)
def grader_paths() -> tuple[str, ...]:
    """Files and folders that must never be visible inside: nncheck's own package
    folders and every installed distribution that provides nncheck plugins."""
    paths = {str(PACKAGE)}
    for name in ("nncheck.plugins", "nncheck.reference", "nncheck.student_template"):
        spec = importlib.util.find_spec(name)
        for loc in (spec.submodule_search_locations or []) if spec else []:
            paths.add(str(Path(loc).resolve()))
    for dist in importlib.metadata.distributions():
        try:
            # most distributions are neither nncheck nor a plugin of it: told from the folder's name
            # and entry_points.txt, without parsing every METADATA (0.15 s for 140 distributions)
            quick = getattr(dist, "_normalized_name", None)
            if isinstance(quick, str) and quick != "nncheck" and "[nncheck]" not in (
                    dist.read_text("entry_points.txt") or ""):
                continue
            name = (dist.metadata["Name"] or "").lower()
            plugin = bool(dist.entry_points.select(group="nncheck"))
        except Exception:  # noqa: BLE001 - a broken distribution is not ours
            continue
        if name != "nncheck" and not plugin:
            continue
        for f in dist.files or []:
            if not f.parts or f.parts[0] in ("..", "/"):
                continue
            top = f if f.parts[0] == "__pycache__" else f.parts[0]  # a shared cache: only our files
            paths.add(str(Path(dist.locate_file(top)).resolve()))
        for ep in dist.entry_points.select(group="nncheck"):
            spec = importlib.util.find_spec(ep.value.split(":")[0].split(".")[0])
            if spec and spec.submodule_search_locations:
                paths.update(str(Path(p).resolve()) for p in spec.submodule_search_locations)
            elif spec and spec.origin:
                paths.add(str(Path(spec.origin).resolve()))
    # outermost only: a folder covered hides what is inside it
    return tuple(p for p in sorted(paths) if not is_under(p, [q for q in paths if q != p]))


_BYTECODE: dict[tuple, bytes] = {}  # (file, mtime_ns, size) -> a .pyc's bytes, for this process
_BYTECODE_LOCK = threading.Lock()


def _pyc(source: bytes, filename: str, st: os.stat_result) -> bytes:
    """A timestamp-checked ``.pyc`` (PEP 552) of ``source``, for a file of ``st``'s time and size."""
    code = compile(source, filename, "exec", dont_inherit=True)
    return b"".join([importlib.util.MAGIC_NUMBER, (0).to_bytes(4, "little"),
                     (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little"),
                     (st.st_size & 0xFFFFFFFF).to_bytes(4, "little"), marshal.dumps(code)])


def bytecode(source: Path) -> bytes:
    """The ``.pyc`` bytes of ``source``, valid for a copy that keeps its modification time and size.

    The view is read-only inside the sandbox, so a worker could not write the bytecode of what it
    imports from there and compiled every worker-side and probe module again each time (about 55 ms of
    every submission's start-up). The grading process takes the bytecode Python already cached for
    the file (:func:`_installed_bytecode`) or compiles it, once per process, and puts it beside the
    copy; the worker's interpreter checks it against the copy's time and size as it does any cached
    bytecode, and compiles from the source when they differ.
    """
    st = source.stat()
    key = (str(source), st.st_mtime_ns, st.st_size)
    with _BYTECODE_LOCK:
        pyc = _BYTECODE.get(key)
    if pyc is None:
        pyc = _installed_bytecode(source, st) or _pyc(source.read_bytes(), str(source), st)
        with _BYTECODE_LOCK:
            _BYTECODE[key] = pyc
    return pyc


def _installed_bytecode(source: Path, st: os.stat_result) -> bytes | None:
    """The bytecode Python (or pip, at install time) already cached for ``source`` in its
    ``__pycache__``, if it is for this interpreter, this source's time and size: nothing to compile
    before the worker can start (``nncheck submit`` grades one submission per process)."""
    try:
        pyc = Path(importlib.util.cache_from_source(str(source))).read_bytes()
    except (OSError, ValueError, NotImplementedError):
        return None
    header = (importlib.util.MAGIC_NUMBER, (0).to_bytes(4, "little"),
              (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little"), (st.st_size & 0xFFFFFFFF).to_bytes(4, "little"))
    return pyc if pyc[:16] == b"".join(header) else None


def _cache_path(target: Path) -> Path:
    cached = Path(importlib.util.cache_from_source(str(target)))
    cached.parent.mkdir(exist_ok=True)
    return cached


def _copy_module(source: Path, target: Path) -> None:
    """Copy a ``.py`` file into the view with its modification time, and its bytecode beside it."""
    shutil.copy2(source, target)
    _cache_path(target).write_bytes(bytecode(source))


def _write_module(target: Path, text: str) -> None:
    """Write a module of the view's own (a package ``__init__.py``), and its bytecode beside it."""
    target.write_text(text)
    _cache_path(target).write_bytes(_pyc(text.encode(), str(target), target.stat()))


def stage_view(dest: Path, probe_modules: dict[str, str], data_files: dict[str, str] | None = None) -> dict[str, str]:
    """Copy nncheck's worker side and ``probe_modules`` (``{module name: file}``) into ``dest``.

    ``dest`` is mounted read-only at :data:`VIEW`. Returns ``{module name: path
    inside}``. Every package ``__init__.py`` in the view is empty, so importing
    a probe module runs nothing but that module.
    """
    pkg = dest / "nncheck"
    pkg.mkdir(parents=True, exist_ok=True)
    _write_module(pkg / "__init__.py", '"""nncheck, worker side: what runs in the sandbox."""\n')
    for name in WORKER_SIDE:
        target = pkg / name
        if not target.parent.exists():
            target.parent.mkdir(parents=True)
            _write_module(target.parent / "__init__.py", "")
        _copy_module(PACKAGE / name, target)
    shims = PACKAGE / "load" / "shims"
    for source in shims.rglob("*"):
        if "__pycache__" in source.parts or source.suffix == ".pyc" or not source.is_file():
            continue
        target = pkg / "load" / "shims" / source.relative_to(shims)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".py":
            _copy_module(source, target)
        else:
            shutil.copyfile(source, target)
    (pkg / "data").mkdir(exist_ok=True)
    inside = {}
    for module, file in probe_modules.items():
        rel = Path(*module.split(".")).with_suffix(".py")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        for parent in list(rel.parents)[:-1]:
            init = dest / parent / "__init__.py"
            if not init.exists():
                _write_module(init, "")
        if target.exists() and module.startswith("nncheck.") and target.parent == pkg:
            raise ValueError(f"probe module {module} would replace nncheck's own {rel}")
        _copy_module(Path(file), target)
        inside[module] = f"{VIEW}/{rel.as_posix()}"
    return inside


def is_under(path: str, folders) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)
