"""Grading one submission: the task a pool process or a Dask worker runs.

:func:`grade_submission` grades one submission and returns its JSON report
as plain data. It is a module-level function taking plain arguments, so a
process pool or a Dask cluster can run it; the student's code runs, as
always, in the isolated worker process :mod:`nncheck.sandbox.handle` starts,
never in the process calling this function. Where the grader does not share
the submissions' file system, the submission (:func:`pack`) and the config
and plugin files (:func:`make_bundle`) travel with the task as plain bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from nncheck import __version__
from nncheck.classroom.folder import descend, walk_files
from nncheck.load.archives import UnsafeArchive, safe_extract


def pack(path: str | os.PathLike) -> dict:
    """A submission as plain data, for a grader that does not share our file system (Dask).

    A file travels as it is; a folder as an in-memory zip of itself (its name
    kept at the top, which :func:`safe_extract` descends into).
    """
    path = Path(path)
    if path.is_file():
        return {"name": path.name, "data": path.read_bytes()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        files = walk_files(path)
        if not files:
            zf.writestr(f"{path.name}/", b"")
        for rel, p in files:
            zf.write(p, f"{path.name}/{rel}")
    return {"name": path.name + ".zip", "data": buf.getvalue(), "folder": True}


_ENGINES: dict = {}
_BUNDLES: dict = {}


def engine_for(config_path, plugin_files, isolation=None):
    """One Engine per process and settings (building one imports every plugin).

    ``isolation`` is the layer the class is graded under (``nncheck grade``
    insists on ``bubblewrap`` unless told otherwise): passed explicitly, so a
    pool process or a Dask worker that cannot have it refuses to grade rather
    than fall back to a weaker layer.
    """
    key = (config_path, tuple(plugin_files or ()), isolation)
    engine = _ENGINES.get(key)
    if engine is None:
        from nncheck.config import load_config
        from nncheck.engine import Engine

        engine = Engine(load_config(config_path), plugin_files or (), isolation=isolation)
        _ENGINES[key] = engine
    return engine


def _materialise_bundle(bundle: dict) -> tuple[str | None, list[str]]:
    """Write a shipped config and plugin files once per process; return their paths."""
    digest = hashlib.sha256(json.dumps(bundle, sort_keys=True).encode()).hexdigest()[:16]
    if digest in _BUNDLES:
        return _BUNDLES[digest]
    root = Path(tempfile.gettempdir()) / f"nncheck-bundle-{digest}"

    def put(rel: str, text: str) -> str:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, p)
        return str(p)

    config = bundle.get("config")
    config_path = put(f"config/{Path(config['name']).name}", config["text"]) if config else None
    plugins = [put(f"plugins/{i}/{Path(p['name']).name}", p["text"])
               for i, p in enumerate(bundle.get("plugins") or [])]
    _BUNDLES[digest] = (config_path, plugins)
    return _BUNDLES[digest]


def make_bundle(config_path=None, plugin_files=()) -> dict:
    """The config and plugin files as plain data (see :func:`pack`)."""
    def item(p):
        return {"name": Path(p).name, "text": Path(p).read_text(encoding="utf-8")}
    return {"config": item(config_path) if config_path else None,
            "plugins": [item(p) for p in plugin_files]}


def _unloadable(engine, only, message: str, seed: int, inputs: dict | None = None):
    """A report for a submission that never reached the loader (a refused archive)."""
    from nncheck.model import CheckRecord, Report, Status
    from nncheck.scoring import score_report

    checks = engine.select(only)
    records = [CheckRecord(id=c.id, title=c.title, section=c.section, status=Status.ERROR, score=0.0,
                           max_score=c.points, message="not run: the submission could not be loaded")
               for c in checks]  # why, once: load["message"]
    report = Report(submission="", checks=records, load={"ok": False, "message": message},
                    seed=seed, version=__version__, inputs=dict(inputs or {}))
    return score_report(report, engine.config)


def grade_submission(source, config_path=None, plugin_files=(), seed: int = 0, timeout=None,
                     memory=None, only=(), bundle: dict | None = None, render=(),
                     isolation: str | None = None, inputs: dict | None = None) -> dict:
    """Grade one submission and return its JSON report, as plain data.

    :param source: a path (str) to a ``.py``, ``.ipynb``, folder or ``.zip``,
        or the output of :func:`pack` when the grader does not share the
        submissions' file system.
    :param config_path, plugin_files: as ``--config`` / ``--plugin``; or
        ``bundle`` (from :func:`make_bundle`) carrying their contents.
    :param render: more report formats to render here, where the grading
        ran (``("html",)``): they come back as ``report["rendered"][name]``
        (strings), to be popped by the caller. Formats the engine does not
        have are left out.
    :param isolation: the layer to insist on (:data:`nncheck.sandbox.CHOICES`;
        ``None``: ``auto``). Where it cannot be had this raises
        :class:`nncheck.sandbox.IsolationError`: the class run records the
        row as a grading failure, never a grade made under weaker isolation.
    :param inputs: where ``seed`` came from, for the report (:mod:`nncheck.classroom.hidden`):
        the class run derives each submission's seed from the course secret itself, so the
        secret never travels with a task.

    Never raises for a bad submission: an archive that cannot be unpacked
    safely gives a report whose ``load.ok`` is false.
    """
    from nncheck.report.text import report_dict

    if bundle is not None:
        config_path, plugin_files = _materialise_bundle(bundle)
    engine = engine_for(config_path, list(plugin_files or ()), isolation)
    engine.isolation  # resolved now: a missing sandbox refuses before anything is unpacked
    only = list(only or ())
    scratch = Path(tempfile.mkdtemp(prefix="nncheck-grade-"))
    try:
        if isinstance(source, dict):  # shipped: write it out first
            name = Path(source["name"]).name
            shown = name[:-4] if source.get("folder") else name
            path = scratch / "in" / name
            path.parent.mkdir()
            path.write_bytes(source["data"])
        else:
            path = Path(source)
            shown = path.name
        report = None
        if path.suffix.lower() == ".zip":
            try:
                path = safe_extract(path, scratch / "unpacked" / _safe_name(Path(shown).stem))
            except UnsafeArchive as exc:
                what = "the folder" if isinstance(source, dict) and source.get("folder") else shown
                report = _unloadable(engine, only, f"{what} was not unpacked: {exc}.", seed, inputs)
        if report is None:
            path = descend(path)
            report = engine.grade(path, seed=seed, timeout=timeout, memory=memory, only=only or None,
                                  inputs=inputs)
        report.submission = shown
        d = report_dict(report)
        rendered = {}
        for fmt in render or ():
            fn = engine.formats.get(fmt)
            if fn is None:
                continue
            try:
                rendered[fmt] = fn(report, engine.config)
            except Exception as exc:  # noqa: BLE001 - the JSON report is the record; other formats are views
                rendered[fmt + ":error"] = f"{type(exc).__name__}: {exc}"
        if render:
            d["rendered"] = rendered
        return d
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _safe_name(name: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return out or "submission"
