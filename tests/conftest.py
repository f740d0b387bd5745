import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine

REPO = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session):
    """Student code runs in the bubblewrap sandbox by default, and the attack zoo needs it:
    when ``bwrap`` is missing and this run is root with apt-get (as CI is), install
    Debian's bubblewrap first. Otherwise the tests run with the fallback isolation
    and the sandbox tests skip, saying why."""
    if shutil.which("bwrap") or os.environ.get("NNCHECK_BWRAP"):
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                        "-o", "DPkg::Lock::Timeout=300", "bubblewrap"],
                       env=env, check=True, capture_output=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        print(f"could not install bubblewrap ({exc}); the sandbox tests will skip")

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
