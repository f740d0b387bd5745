import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from nncheck.config import Config
from nncheck.engine import Engine
from nncheck.sandbox.session import SLOTS_VAR

REPO = Path(__file__).resolve().parents[1]


# The suite runs in parallel (pytest-xdist, ``-n auto`` in pyproject.toml): what several test
# processes must not do at once (apt-get, building one shared thing) takes a machine-wide lock;
# tests that share one expensive session fixture are put in one xdist_group (one process builds it).

@contextlib.contextmanager
def machine_lock(name: str):
    """An exclusive lock shared by every test process on this machine (``flock`` on a file in /tmp)."""
    with open(Path(tempfile.gettempdir()) / f"nncheck-tests-{name}.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def apt_install(package: str, timeout: float = 1200) -> None:
    """``apt-get install package`` (after an update), one test process at a time; raises as subprocess does."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with machine_lock("apt"):
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                        "-o", "DPkg::Lock::Timeout=300", package],
                       env=env, check=True, capture_output=True, timeout=timeout)


def pytest_configure(config):
    # The test processes already share the processors: each grade runs one probe at a time
    # (tests/test_sandbox_slots.py sets its own), so a loaded machine does not push the
    # training checks towards their timeouts.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault(SLOTS_VAR, "1")


CHEAP = {"engine"}  # module-scoped fixtures not worth keeping a file's tests together for

@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups
def pytest_collection_modifyitems(config, items):
    """A test that uses a module- or class-scoped fixture of its own file (a graded class, a selftest
    run, a built venv) goes to one xdist process with the rest of its file (``--dist loadgroup``):
    the fixture is built once, not once per process. Tests of other files spread one by one. The
    groups and the slow tests are handed out first, so no long one starts last."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        info = getattr(item, "_fixtureinfo", None)
        defs = [fd for fds in (info.name2fixturedefs.values() if info else ()) for fd in fds]
        if any(fd.scope in ("module", "class") and fd.argname not in CHEAP for fd in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker must collect the same order
        items.sort(key=lambda i: (not i.get_closest_marker("xdist_group"), not i.get_closest_marker("slow")))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Student code runs in the bubblewrap sandbox by default, and the attack zoo needs it:
    when ``bwrap`` is missing and this run is root with apt-get (as CI is), install
    Debian's bubblewrap first (in the controlling process, before the xdist workers start;
    a worker that gets here first waits on the same lock). Otherwise the tests run with the
    fallback isolation and the sandbox tests skip, saying why."""
    if shutil.which("bwrap") or os.environ.get("NNCHECK_BWRAP"):
        return
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        return
    with machine_lock("bwrap"):
        if shutil.which("bwrap"):  # another test process installed it meanwhile
            return
        try:
            apt_install("bubblewrap", timeout=600)
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


def make_venv(path: Path, python: str = sys.executable, system_site_packages: bool = False) -> Path:
    """A new virtual environment at ``path``; its ``python``.

    Made without pip of its own (``--without-pip``): ensurepip took 6-7 s of every venv, and
    :func:`pip_install` runs this interpreter's pip for it (``pip --python``)."""
    flags = ["--system-site-packages"] if system_site_packages else []
    subprocess.run([python, "-m", "venv", "--without-pip", *flags, str(path)], check=True)
    return path / "bin" / "python"


def pip_install(python: Path, *args: str, **kw) -> None:
    """``pip install args`` into the environment of ``python`` (see :func:`make_venv`)."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--disable-pip-version-check", *args], check=True, **kw)


EXAMPLE_PACKAGES = (REPO, REPO / "examples" / "nncheck-leakyrelu", REPO / "examples" / "nncheck-adagrad")


@pytest.fixture(scope="session")
def built_wheels(tmp_path_factory, worker_id) -> dict[str, Path]:
    """The wheels of nncheck and of the two example plugin packages, built from copies of this
    checkout once per test run: ``{folder name: wheel}``. Every xdist process of the run shares them
    (the first builds, under a lock).

    They are built as ``pip install`` builds them, by their ``[build-system]`` backend in a fresh
    environment holding their build requirements, but in one such environment for the three (pip's
    build isolation made one per package and per venv, 6-8 s each)."""
    import tomllib

    run_root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_root = run_root.parent  # this run's folder, shared by its xdist processes
    out = run_root / "wheels"
    with machine_lock(f"wheels-{run_root.name}"):
        if not (out / "built").exists():
            src, requires = run_root / "wheel-sources", set()
            for pkg in EXAMPLE_PACKAGES:
                shutil.copytree(pkg, src / pkg.name, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
                    "*.egg-info", "build", "__pycache__", ".git", ".pytest_cache"))
                requires |= set(tomllib.loads((pkg / "pyproject.toml").read_text())["build-system"]["requires"])
            python = make_venv(run_root / "build-env")
            pip_install(python, *sorted(requires), capture_output=True)
            subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "wheel", "-q", "--no-deps",
                            "--no-build-isolation", "--disable-pip-version-check", "-w", str(out),
                            *(str(src / pkg.name) for pkg in EXAMPLE_PACKAGES)],
                           check=True, capture_output=True, cwd=run_root)
            shutil.rmtree(src)
            (out / "built").touch()
    wheels = {}
    for pkg in EXAMPLE_PACKAGES:
        dist = "nncheck" if pkg == REPO else pkg.name.replace("-", "_")
        (wheel,) = out.glob(f"{dist}-*.whl")
        wheels[pkg.name] = wheel
    return wheels


@pytest.fixture(scope="session")
def example_plugins_venv(tmp_path_factory, built_wheels) -> Path:
    """One fresh venv (reusing the system's numpy & co.) with nncheck and both example plugin packages
    (nncheck-leakyrelu, nncheck-adagrad) pip-installed into it from their wheels, non-editable; its ``bin``.

    Shared by the two tests that check a plugin installed from its entry point (they built one venv
    each, ~25 s apiece, for the same nncheck); both are in the xdist group ``plugin-venv``."""
    venv = tmp_path_factory.mktemp("plugin-venv") / "venv"
    python = make_venv(venv, system_site_packages=True)
    pip_install(python, "--no-deps", *map(str, built_wheels.values()), cwd=venv.parent)
    return python.parent


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
