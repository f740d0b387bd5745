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
import shutil
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


def stage_view(dest: Path, probe_modules: dict[str, str], data_files: dict[str, str] | None = None) -> dict[str, str]:
    """Copy nncheck's worker side and ``probe_modules`` (``{module name: file}``) into ``dest``.

    ``dest`` is mounted read-only at :data:`VIEW`. Returns ``{module name: path
    inside}``. Every package ``__init__.py`` in the view is empty, so importing
    a probe module runs nothing but that module.
    """
    pkg = dest / "nncheck"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text('"""nncheck, worker side: what runs in the sandbox."""\n')
    for name in WORKER_SIDE:
        target = pkg / name
        if not target.parent.exists():
            target.parent.mkdir(parents=True)
            (target.parent / "__init__.py").write_text("")
        shutil.copyfile(PACKAGE / name, target)
    shutil.copytree(PACKAGE / "load" / "shims", pkg / "load" / "shims", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (pkg / "data").mkdir(exist_ok=True)
    inside = {}
    for module, file in probe_modules.items():
        rel = Path(*module.split(".")).with_suffix(".py")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        for parent in list(rel.parents)[:-1]:
            init = dest / parent / "__init__.py"
            if not init.exists():
                init.write_text("")
        if target.exists() and module.startswith("nncheck.") and target.parent == pkg:
            raise ValueError(f"probe module {module} would replace nncheck's own {rel}")
        shutil.copyfile(file, target)
        inside[module] = f"{VIEW}/{rel.as_posix()}"
    return inside


def is_under(path: str, folders) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)
