"""What a class run keeps in its output folder, and how a re-run resumes from it.

Every finished report is written at once, atomically (:func:`write_atomic`),
to ``OUT/reports/<student>.json`` (:func:`report_path`). Each carries
``grading.key`` (:func:`grade_key`): the SHA-256 of

* the submission's contents (:func:`submission_digest`: every regular file
  under it, in sorted order, as relative path + bytes; ``__pycache__``,
  ``.git`` and ``.ipynb_checkpoints`` excluded, as the loader excludes them),
  and
* the settings (:func:`settings_digest`): the config file's bytes, each
  ``--plugin`` file's bytes, the plugins registered through entry points
  (name and version), the nncheck version, the inputs (``--seed``, or the
  course secret's fingerprint for hidden inputs: a new secret regrades
  everyone), ``--timeout``, ``--memory`` and ``--check``.

A re-run skips every student whose report holds the key it would compute
now, unless the run insists on the sandbox and the report was graded
outside it (:func:`less_isolated`); ``--force`` regrades everyone.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from nncheck import __version__
from nncheck.classroom.folder import walk_files

GRADE_FORMAT = 1  # bump when the meaning of a cached report changes


def submission_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a submission's contents: file name(s) and bytes, folders walked in sorted order."""
    path = Path(path)
    h = hashlib.sha256(b"nncheck-submission\0")
    files = walk_files(path) if path.is_dir() else [(path.name, path)]
    for rel, p in files:
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        with open(p, "rb") as f:
            data = f.read()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _file_sha(path) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def settings_digest(*, config_path=None, plugin_files=(), seed=0, timeout=None, memory=None,
                    only=(), plugins: list | None = None, inputs: str = "") -> str:
    """SHA-256 of everything besides the submission that decides a grade."""
    doc = {
        "format": GRADE_FORMAT, "nncheck": __version__,
        "config": _file_sha(config_path),
        "plugin_files": [[Path(p).name, _file_sha(p)] for p in plugin_files],
        "plugins": sorted(plugins or []),
        "seed": None if seed is None else int(seed), "inputs": inputs, "timeout": None if timeout is None else float(timeout),
        "memory": None if memory is None else int(memory), "only": sorted(set(only or [])),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def less_isolated(report: dict, isolation: str) -> bool:
    """A saved report graded outside the sandbox when this run insists on it: graded again
    (a grade made unsandboxed may be a classmate's doing)."""
    return isolation == "bubblewrap" and (report.get("isolation") or {}).get("layer") != "bubblewrap"


def registered_plugins(engine) -> list[str]:
    """Plugins in ``engine`` as ``name==version`` (version of the distribution for entry points)."""
    dists = {id(p): d for p, d in engine.pm.list_plugin_distinfo()}
    out = []
    for name, plugin in engine.pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        out.append(f"{name}=={dist.version}" if dist is not None else name)
    return sorted(out)


def grade_key(submission_sha: str, settings_sha: str) -> str:
    return hashlib.sha256(f"{submission_sha}:{settings_sha}".encode()).hexdigest()


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def report_path(out: Path, student: str) -> Path:
    return out / "reports" / f"{student}.json"


def read_report(out: Path, student: str) -> dict | None:
    try:
        d = json.loads(report_path(out, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None
