"""The sandbox as an ordinary user (issue 9: "it must work as root and as an ordinary user").

The rest of the attack zoo runs as root, the way these machines run. Here a
regular (non-editable) install of nncheck in a fresh virtual environment,
built from the system Python (``/root``'s own Python is not readable by
others), is run as ``nobody`` through ``setpriv``. There the cgroup cannot be
made, so a fork storm meets ``RLIMIT_NPROC`` instead, which binds for an
ordinary user; the reference inside the venv's site-packages stays out of
reach. Needs root (to switch user), ``setpriv`` and ``/usr/bin/python3.11``;
the venv installs nncheck's dependencies from pip's cache and the run's nncheck wheel
(``built_wheels`` in conftest.py).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import make_venv, pip_install
from test_sandbox_attacks import (
    BWRAP, FAST, assert_honest, assert_ran, assert_storm_capped, attack_source, everything_printed, honest_source,
    host_pids_with, lines, marker, stub_source, write,
)

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
NOBODY = 65534

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BWRAP is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="switching to an ordinary user needs root"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is missing"),
    pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no system Python 3.11 that others can read"),
]


@pytest.fixture(scope="module")
def install(tmp_path_factory, built_wheels):
    """A venv others can read, with nncheck installed into it the regular way (from its wheel)."""
    root = tmp_path_factory.mktemp("unprivileged")
    venv = root / "venv"
    python = make_venv(venv, str(SYSTEM_PYTHON))
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pip_install(python, *deps, str(built_wheels[REPO.name]), capture_output=True)
    work = root / "work"
    work.mkdir()
    for p in [root, *root.parents]:
        if p == Path("/"):
            break
        os.chmod(p, os.stat(p).st_mode | 0o001)  # others may pass through (tmp_path's parents are 0700)
    subprocess.run(["chmod", "-R", "o+rX", str(venv)], check=True)
    os.chmod(work, 0o777)
    return {"nncheck": venv / "bin" / "nncheck", "python": venv / "bin" / "python", "work": work,
            "site": subprocess.run([str(venv / "bin" / "python"), "-c",
                                    "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   capture_output=True, text=True, check=True).stdout.strip()}


def as_nobody(install, *args, timeout=240):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(install["work"]), "LANG": "C.UTF-8"}
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           str(install["nncheck"]), *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=install["work"], timeout=timeout, stdin=subprocess.DEVNULL)


def submit_as_nobody(install, name, source, *args):
    path = write(install["work"] / name, source)
    os.chmod(path, 0o644)
    proc = as_nobody(install, "submit", path, "--format", "json", "--isolation", "bubblewrap", *args)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    assert report["isolation"]["layer"] == "bubblewrap", report["isolation"]
    return report


def test_an_ordinary_user_gets_the_sandbox_and_an_honest_grade(install):
    who = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "id", "-u"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert who == str(NOBODY)
    report = submit_as_nobody(install, "honest.py", honest_source(), *FAST)
    assert_honest(report)
    doctor = as_nobody(install, "doctor")
    assert doctor.returncode == 0 and re.search(r"(?m)^bubblewrap\s+available", doctor.stdout), doctor.stdout


def test_as_an_ordinary_user_a_fork_storm_meets_rlimit_nproc(install):
    """No cgroup can be made by nobody: RLIMIT_NPROC is what caps the storm, and it binds here."""
    mark = marker("nnfork")[:15]
    source = attack_source(honest_source(), "fork_storm", marker=mark, storm_s=3.0, max_procs=2000)
    try:
        report = submit_as_nobody(install, "storm.py", source, *FAST)
        assert_storm_capped(report)
        assert_honest(report)
    finally:
        for pid, _ in host_pids_with(mark):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    assert host_pids_with(mark) == []


def test_as_an_ordinary_user_the_installed_reference_is_out_of_reach(install):
    """A regular install puts the reference in the venv's site-packages, which nobody can read
    outside the sandbox; inside, nncheck's package folder is covered."""
    secret = Path(install["site"]) / "nncheck" / "reference" / "layers.py"
    assert secret.exists()
    check = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "head", "-c", "20", str(secret)], capture_output=True, text=True)
    assert check.returncode == 0, "the canary: outside the sandbox nobody can read the installed reference"
    source = attack_source(stub_source(), "read_reference", walk_budget=20)
    report = submit_as_nobody(install, "thief.py", source, "--check", "relu", "--check", "dense")
    assert_ran(report, "load")
    assert not lines(report, "FOUND"), "\n".join(lines(report, "FOUND"))
    assert "site-packages/nncheck/reference" not in everything_printed(report)
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert not any(s == "passed" for i, s in statuses.items() if i.startswith("dense.")), statuses
