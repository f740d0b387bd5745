"""The view: nncheck's worker-side code as the sandbox sees it, with the bytecode beside it.

The view is mounted read-only, so the worker cannot write the bytecode of what it imports
from there; the grading process puts it there (:func:`nncheck.sandbox.view.bytecode`).
"""
from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import marshal
import os
from pathlib import Path

import pytest

from nncheck.sandbox.view import stage_view


def _code(path: Path, monkeypatch, compiled: list):
    """The module code Python's own loader gets for ``path``; ``compiled`` says whether it compiled."""
    loader = importlib.machinery.SourceFileLoader("probe_under_test", str(path))
    real = importlib.machinery.SourceFileLoader.source_to_code

    def spy(self, data, path, **kw):
        compiled.append(path)
        return real(self, data, path, **kw)

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "source_to_code", spy)
    return loader.get_code("probe_under_test")


def test_every_module_in_the_view_loads_from_its_bytecode(tmp_path, monkeypatch):
    probe = tmp_path / "my_probe.py"
    probe.write_text("def probe(ns, inputs):\n    return {'answer': 42}\n")
    inside = stage_view(tmp_path / "view", {"my_course.sandboxed": str(probe)})
    assert inside == {"my_course.sandboxed": "/nncheck/my_course/sandboxed.py"}
    modules = [p for p in (tmp_path / "view").rglob("*.py") ]
    assert any(p.name == "loop.py" for p in modules) and any(p.parts[-2:] == ("my_course", "sandboxed.py")
                                                             for p in modules)
    for path in modules:
        assert Path(importlib.util.cache_from_source(str(path))).exists(), path
        compiled: list = []
        code = _code(path, monkeypatch, compiled)
        assert compiled == [], f"{path} was compiled again: its bytecode does not match the copy"
        assert code.co_filename == str(path)  # tracebacks name the file in the view, not the grader's


def test_a_changed_copy_is_compiled_from_its_source(tmp_path, monkeypatch):
    """Bytecode is checked against the copy's time and size: it is never trusted over the source."""
    probe = tmp_path / "my_probe.py"
    probe.write_text("ANSWER = 1\n")
    stage_view(tmp_path / "view", {"my_course.sandboxed": str(probe)})
    copy = tmp_path / "view" / "my_course" / "sandboxed.py"
    copy.write_text("ANSWER = 22\n")
    os.utime(copy, (copy.stat().st_atime, copy.stat().st_mtime + 5))
    compiled: list = []
    namespace: dict = {}
    exec(_code(copy, monkeypatch, compiled), namespace)  # noqa: S102 - our own test module
    assert compiled == [str(copy)] and namespace["ANSWER"] == 22


@pytest.mark.parametrize("name", ["worker/loop.py", "worker/wire.py"])
def test_the_worker_does_not_import_importlib_abc(name):
    """importlib.abc pulls in importlib.resources, pathlib, tempfile and inspect: 30-45 ms of every
    worker's start-up, for base classes the import system does not need."""
    tree = ast.parse((Path(importlib.util.find_spec("nncheck").origin).parent / name).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported & {"importlib.abc", "tempfile", "pathlib"} == set()


def test_bytecode_python_already_cached_is_used_when_it_matches(tmp_path, monkeypatch):
    """``nncheck submit`` grades one submission per process: bytecode pip or Python wrote at install
    is copied, not compiled again, when it is for this source's time and size."""
    import py_compile

    from nncheck.sandbox import view

    monkeypatch.setattr(view, "_BYTECODE", {})
    source = tmp_path / "mod.py"
    source.write_text("X = 1\n")
    cached = Path(py_compile.compile(str(source), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP))
    assert view.bytecode(source) == cached.read_bytes()
    source.write_text("X = 22\n")  # changed since: its cached bytecode is stale and is not used
    os.utime(source, (source.stat().st_atime, source.stat().st_mtime + 5))
    fresh = view.bytecode(source)
    assert fresh != cached.read_bytes()
    namespace: dict = {}
    exec(marshal.loads(fresh[16:]), namespace)  # noqa: S102 - our own test module
    assert namespace["X"] == 22
