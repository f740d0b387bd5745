import textwrap
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def engine():
    """An engine with the built-in plugins only (no entry points from the environment)."""
    return Engine(Config(), entry_points=False)


@pytest.fixture
def write_py(tmp_path):
    """Write a dedented single-file submission and return its path."""
    def write(source: str, name: str = "submission.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path
    return write


def by_id(report):
    return {c.id: c for c in report.checks}
