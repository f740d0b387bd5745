"""The shape of the engine: grouped by stage, small files, and no family's knowledge in it.

What a family knows (its check ids, diagnosis codes, titles, pointing rules,
how its option is recognised) lives in ``plugins/`` and reaches the engine
through hooks that any instructor's plugin can use too. These tests keep it so:
each fails when the engine starts naming a family's checks or diagnoses again.
"""
import ast
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine

REPO = Path(__file__).resolve().parents[1]
CHECKER = REPO / "checker"
MAX_LINES = 900
MAX_TOP_LEVEL_MODULES = 16
MAX_CHECK_IDS = 3
MAX_DIAGNOSIS_CODES = 20


def _sources(*roots):
    for root in roots:
        yield from sorted(p for p in (REPO / root).rglob("*.py") if "__pycache__" not in p.parts)


def _string_literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


@pytest.fixture(scope="module")
def built_in():
    """The check ids and diagnosis codes the built-in plugins contribute."""
    engine = Engine(Config(), entry_points=False)
    codes = {d.code for ds in engine.pm.hook.nncheck_diagnoses(config=engine.config) for d in ds or []}
    return {c.id for c in engine.checks}, codes


def test_top_level_modules_are_few():
    modules = sorted(p.name for p in CHECKER.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_stages_are_packages():
    for stage in ("cli", "load", "sandbox", "worker", "discover", "point", "report", "classroom", "selftest"):
        assert (CHECKER / stage / "__init__.py").is_file(), stage


def test_no_source_file_is_long():
    long = {str(p.relative_to(REPO)): n for p in _sources("checker", "plugins")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_engine_names_no_family_knowledge(built_in):
    ids, codes = built_in
    assert len(codes) > 50  # the families declare their diagnoses (else this test proves nothing)
    named_ids, named_codes = {}, {}
    for path in _sources("checker"):
        for s in _string_literals(path):
            if s in ids:
                named_ids.setdefault(str(path.relative_to(REPO)), []).append(s)
            if s in codes:
                named_codes.setdefault(str(path.relative_to(REPO)), []).append(s)
    assert sum(map(len, named_ids.values())) <= MAX_CHECK_IDS, named_ids
    assert sum(map(len, named_codes.values())) <= MAX_DIAGNOSIS_CODES, named_codes


def test_each_code_is_declared_once_with_a_title():
    engine = Engine(Config(), entry_points=False)
    seen = {}
    for ds in engine.pm.hook.nncheck_diagnoses(config=engine.config):
        for d in ds or []:
            assert d.code not in seen, f"{d.code} declared twice"
            assert d.title, d.code
            seen[d.code] = d


def test_docstrings_cite_nothing_outside_the_repository():
    """A newcomer reads the code with the repository only: no 'CONTRACT §3', no 'issue 12'."""
    import re

    outside = re.compile(r"CONTRACT\s*§|§\s*\d|\bissue \d+\b", re.I)
    cited = {}
    for path in _sources("checker", "plugins"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                if outside.search(doc):
                    cited.setdefault(str(path.relative_to(REPO)), []).append(getattr(node, "name", "<module>"))
    assert cited == {}
