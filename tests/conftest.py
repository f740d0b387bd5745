import textwrap
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine

REPO = Path(__file__).resolve().parents[1]

# What hand-written test submissions start from: NumPy and the notebook's identity Layer.
LAYER_BASE = """
import numpy as np

class Layer:
    def forward(self, input):
        return input
    def backward(self, input, grad_output):
        return grad_output
"""


def relu_source(forward_body: str = "return np.maximum(input, 0)",
                backward_body: str = "return grad_output * (input > 0)", top: str = "") -> str:
    """A one-file submission with a ReLU whose method bodies (indented 8) are given."""
    return top + LAYER_BASE + f"""
class ReLU(Layer):
    def forward(self, input):
        {forward_body}
    def backward(self, input, grad_output):
        {backward_body}
"""


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
