"""The attack zoo for the worker sandbox (issue 9, CONTRACT §4: "student code runs
in a sandbox that sees only itself").

Every guarantee gets the attack that would break it, written as ordinary student
Python (tests/attacks/*.py, appended to a submission after ``_P = {...}``, the
test's parameters, and tests/attacks/_prelude.py). Each attack runs at load time
(a module-level assignment such as ``_x = attack()``: the loader drops bare
top-level calls) and, where it matters, again inside a graded method
(``ReLU.backward``, hooked with ``setattr``). Each test asserts both that the
attack was contained and that the honest part of the submission is still graded
right, and that the attack really ran to its end (it prints ``ATTACK-DONE``).

Canaries: where it is cheap, the same attack is run with ``--isolation process``
(no sandbox) and must then succeed (the listener receives data, the /tmp marker
appears, the reference is found and passes the checks...): this proves each
attack is a real one, not a test that passes because it cannot fail.

Destructive attacks (kill -1, ptrace, fork storm) only fire inside a PID
namespace other than the test's own (``_in_own_pid_namespace`` in the prelude),
so a sandbox that silently fell back to a plain process cannot hurt the test
host; such a run fails the test instead ("REFUSED").

The sandbox tests skip when ``bwrap`` is not installed; the canaries and the
fallback tests run everywhere.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ATTACKS = Path(__file__).parent / "attacks"
BWRAP = shutil.which("bwrap")
HOST_PID_NS = os.readlink("/proc/self/ns/pid")
FAST = ("--check", "relu", "--check", "dense")  # the honest part graded in most tests

needs_bwrap = pytest.mark.skipif(
    BWRAP is None, reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap to run the sandbox attacks")
pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------
# Building submissions
# --------------------------------------------------------------------------
@functools.cache
def honest_source() -> str:
    """The reference as one .py (the correct single-file variant of the selftest)."""
    from nncheck.plugins import forms

    variant = next(v for v in forms.nncheck_selftest_variants(config=None) if v.name == "form-single-py")
    return next(iter(variant.files.values()))


@functools.cache
def stub_source() -> str:
    """The student template: every function raises NotImplementedError."""
    import nncheck.student_template

    return (Path(nncheck.student_template.__file__).parent / "assignment.py").read_text(encoding="utf-8")


def attack_source(base: str, attack: str, **params) -> str:
    """``base`` + the test's parameters + the prelude + ``tests/attacks/<attack>.py``."""
    params.setdefault("host_pid_ns", HOST_PID_NS)
    return (base.rstrip() + "\n\n\n# ---- the attack's parameters, set by the test ----\n"
            f"_P = {params!r}\n\n" + (ATTACKS / "_prelude.py").read_text(encoding="utf-8") + "\n\n"
            + (ATTACKS / f"{attack}.py").read_text(encoding="utf-8"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def marker(prefix: str = "nncheck-attack") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --------------------------------------------------------------------------
# Running nncheck as a real grading process
# --------------------------------------------------------------------------
def nncheck(*args, env: dict | None = None, timeout: float = 240, cwd=None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("NNCHECK_BWRAP", "NNCHECK_ISOLATION")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "nncheck", *map(str, args)], capture_output=True, text=True,
                          env=base, timeout=timeout, cwd=cwd or REPO, stdin=subprocess.DEVNULL)


def submit(path, *args, isolation: str | None = "bubblewrap", env=None, timeout: float = 240):
    """``nncheck submit PATH --format json ARGS``; returns (process, report, seconds)."""
    extra = ["--isolation", isolation] if isolation else []
    t0 = time.monotonic()
    proc = nncheck("submit", path, "--format", "json", *args, *extra, env=env, timeout=timeout)
    seconds = time.monotonic() - t0
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"the JSON report is not one JSON document:\n{proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}")
    if isolation == "bubblewrap":
        assert report.get("isolation", {}).get("layer") == "bubblewrap", report.get("isolation")
    return proc, report, seconds


def statuses(report) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


def everything_printed(report) -> str:
    return "\n".join([report["load"].get("output", "")] + [c.get("output", "") for c in report["checks"]])


def lines(report, prefix: str) -> list[str]:
    return [ln for ln in everything_printed(report).splitlines() if ln.startswith(prefix)]


def assert_ran(report, *tags):
    """The attack ran to its end (at load time and/or in the probe) and was not refused."""
    assert report["load"]["ok"], report["load"]
    text = everything_printed(report)
    refused = lines(report, "REFUSED")
    assert not refused, f"a destructive attack did not run: not in a PID namespace of its own: {refused}"
    for tag in tags:
        assert re.search(rf"^ATTACK-DONE {tag}\b", text, re.M), (
            f"the attack did not finish ({tag}):\n{text[-4000:]}\nwarnings: {report['load']['warnings']}")


def assert_honest(report, families=("relu", "dense"), allow: dict[str, tuple] | None = None):
    """Every check of ``families`` passed (or, for the ids in ``allow``, has one of those statuses)."""
    allow = allow or {}
    got = statuses(report)
    ran = {i: s for i, s in got.items() if i.split(".")[0] in families}
    assert ran, f"no check of {families} ran: {got}"
    wrong = {i: s for i, s in ran.items() if s not in allow.get(i, ("passed",))}
    messages = {c["id"]: c["message"] for c in report["checks"] if c["id"] in wrong}
    assert not wrong, f"the honest part is graded wrong: {wrong}\n{messages}"


def host_pids_with(needle: str) -> list[tuple[int, str]]:
    """Host processes whose name, command line or environment carries ``needle``."""
    found = []
    raw = needle.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for what in ("comm", "cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{what}", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if raw[:15] in data if what == "comm" else raw in data:
                found.append((int(entry), data[:200].decode(errors="replace")))
                break
    return found


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: its kind and, for files, a hash of its bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            out[str(p.relative_to(folder))] = "link:" + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p.relative_to(folder))] = "dir"
    return out


# ==========================================================================
# 1. The reference and the grader's files
# ==========================================================================
def _reference_attack(tmp_path, walk_budget):
    return write(tmp_path / "stub" / "attacker.py",
                 attack_source(stub_source(), "read_reference", walk_budget=walk_budget))


@needs_bwrap
def test_reference_and_grader_files_are_out_of_reach(tmp_path):
    """sys.path, find_spec, the editable finder's MAPPING, gc'd code objects, every
    /proc/<pid>/{cmdline,environ,maps,cwd,root,fd}, the mount table and a walk of /
    find no reference, verdict or grading source; the stub still fails every check."""
    # A quiet machine walks / in a few seconds; a busy one (the rest of the suite beside it) can take
    # ten times that, so the load timeout is raised for this test and the walk may use most of it.
    config = write(tmp_path / "nncheck.toml", "load_timeout = 150\n")
    path = write(tmp_path / "stub" / "attacker.py",
                 attack_source(stub_source(), "read_reference", walk_budget=120, load_budget=140))
    proc, report, _ = submit(path, "--check", "relu", "--check", "dense", "--check", "loss", "--config", config)
    assert_ran(report, "load")
    done = lines(report, "ATTACK-DONE")[0]
    assert not lines(report, "FOUND"), "the sandbox leaked grader files:\n" + "\n".join(lines(report, "FOUND"))
    assert "walk_complete=True" in done, f"the walk of / did not finish, so it proves little: {done}"
    printed = everything_printed(report)
    # The grading process is invisible: its command line names the submission's host path.
    assert str(tmp_path) not in printed, [ln for ln in printed.splitlines() if str(tmp_path) in ln][:5]
    assert not [ln for ln in lines(report, "PID") if "pytest" in ln or " submit " in ln], lines(report, "PID")
    assert all(s != "passed" for s in statuses(report).values()), statuses(report)
    assert all(c.split(".")[0] in ("relu", "dense", "loss") for c in statuses(report))


def test_canary_reference_is_found_and_used_without_the_sandbox(tmp_path):
    """CANARY: the same attack, unsandboxed, finds the reference and passes with it."""
    path = _reference_attack(tmp_path, walk_budget=2)
    proc, report, _ = submit(path, "--check", "relu", "--check", "dense", "--check", "loss",
                             isolation="process")
    assert report["isolation"]["layer"] == "process"
    assert report["load"]["ok"]
    found = lines(report, "FOUND")
    assert found, everything_printed(report)[-3000:]
    assert any("ones_for_answers" in ln for ln in found), found
    assert "passed" in statuses(report).values(), statuses(report)


# ==========================================================================
# 2. A class run: the grader, the results folder, the classmates
# ==========================================================================
def _class(root: Path, mark: str, **params) -> dict:
    subs = root / "class"
    secrets = {"alice": f"alice-secret-{mark}", "bob": f"bob-secret-{mark}"}
    for name, secret in secrets.items():
        write(subs / f"{name}.py", honest_source() + f"\n# {secret}\n")
    write(subs / "mallory.py", attack_source(honest_source(), "class_attack", marker=mark, only_under=str(root),
                                             **params))
    return {"subs": subs, "out": root / "results", "secrets": secrets, "before": snapshot(subs)}


def _grade(subs, out, *args, env=None, timeout=300):
    return nncheck("grade", subs, "--out", out, "-j", "1", "--no-html", "--quiet", *FAST, *args, env=env,
                   timeout=timeout)


def _gradebook(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


VIEW_ATTACK = """

def _view_attack():
    import glob, os
    for path in sorted(glob.glob("/nncheck/**/*.py*", recursive=True)):
        try:
            with open(path, "wb") as f:  # poisoned bytecode for whatever imports it next
                f.write(b"raise SystemExit('poisoned')")
            print("VIEW-WROTE", path)
        except OSError as exc:
            print("VIEW-DENIED", path, exc.errno)
    for folder in ("/nncheck/nncheck/worker/__pycache__", "/nncheck/nncheck/__pycache__"):
        try:
            open(folder + "/planted.pyc", "wb").close()
            print("VIEW-WROTE", folder)
        except OSError as exc:
            print("VIEW-DENIED", folder, exc.errno)


_ATTACKED = _view_attack()  # an assignment is kept at load time (a bare call would not run)
"""


@needs_bwrap
def test_the_views_code_and_bytecode_cannot_be_rewritten(tmp_path):
    """The view carries the bytecode of the worker's modules (nncheck.sandbox.view.bytecode): a
    submission that overwrites every .py and .pyc there, or plants one, is refused (read-only), and
    its grade is honest."""
    path = write(tmp_path / "attacker.py", honest_source() + VIEW_ATTACK)
    proc, report, _ = submit(path, *FAST)
    assert not lines(report, "VIEW-WROTE"), lines(report, "VIEW-WROTE")
    denied = lines(report, "VIEW-DENIED")
    assert any("__pycache__" in ln and ln.endswith(".pyc 30") for ln in denied), denied  # EROFS
    assert any(ln.startswith("VIEW-DENIED /nncheck/nncheck/worker/loop.py ") for ln in denied), denied
    assert_honest(report)


@needs_bwrap
def test_class_run_attacker_cannot_touch_classmates_or_results(tmp_path):
    """mallory (graded last, -j 1) looks for the grading process in /proc, reads its
    --out and submissions folder from the command line (or walks for a gradebook),
    then copies classmates' code, rewrites their reports and the gradebook, plants
    files and sabotages alice.py. Nothing of it lands; every score is right."""
    mark = marker()
    k = _class(tmp_path, mark)
    proc = _grade(k["subs"], k["out"], "--isolation", "bubblewrap")
    assert proc.returncode == 0, proc.stderr[-3000:]
    book = _gradebook(k["out"])
    assert sorted(book) == ["alice", "bob", "mallory"]
    for student in ("alice", "bob", "mallory"):
        assert book[student]["status"] == "ok", book[student]
        assert float(book[student]["total"]) == float(book[student]["max"]) > 0, book[student]
    for student in ("alice", "bob"):
        rep = json.loads((k["out"] / "reports" / f"{student}.json").read_text())
        assert rep["score"] == rep["max_score"] > 0
    planted = [str(p) for p in tmp_path.rglob(f"*{mark}*")]
    assert not planted, f"the attacker planted files: {planted}"
    assert snapshot(k["subs"]) == k["before"], "the submissions folder changed"
    mallory = json.loads((k["out"] / "reports" / "mallory.json").read_text())
    assert_ran(mallory, "load", "probe")
    assert_honest(mallory)
    text = json.dumps(mallory)
    for secret in k["secrets"].values():
        assert secret not in text, f"mallory's report holds a classmate's code ({secret})"
    assert not lines(mallory, "DID") and not lines(mallory, "CLASSMATE"), lines(mallory, "DID")


def test_canary_class_attack_works_without_the_sandbox(tmp_path):
    """CANARY: unsandboxed, the same attacker reads and damages its classmates' work."""
    mark = marker()
    # unsandboxed, /proc names the grader's folders at once; walking the whole host for a gradebook
    # (6 s, at load and in ReLU.backward, in the sandboxed test) would add nothing here but 12 s
    k = _class(tmp_path, mark, walk_budget=0.5)
    proc = _grade(k["subs"], k["out"], "--isolation", "process")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    mallory = json.loads((k["out"] / "reports" / "mallory.json").read_text())
    did = lines(mallory, "DID")
    assert did, everything_printed(mallory)[-3000:]
    assert any(s in json.dumps(mallory) for s in k["secrets"].values())
    assert list(tmp_path.rglob(f"*{mark}*")), "no planted file"


# ==========================================================================
# 3. Killing the grader
# ==========================================================================
@needs_bwrap
def test_killing_everything_costs_at_most_the_attackers_own_checks(tmp_path):
    """kill every process naming nncheck, the parent, and kill -1, at load time and
    inside ReLU.backward: the run still ends with one parseable report, and every
    check the attack does not sit in is right (the Dense checks run after it)."""
    path = write(tmp_path / "attacker.py", attack_source(honest_source(), "kill_attack"))
    proc, report, seconds = submit(path, *FAST)
    assert_ran(report, "load")
    assert lines(report, "KILLED load"), everything_printed(report)[-3000:]
    assert lines(report, "KILLED probe") or statuses(report)["relu.backward"] != "passed"
    assert_honest(report, allow={"relu.backward": ("passed", "error"),
                                 "relu.numerical_gradient": ("passed", "error")})
    assert seconds < 120


# ==========================================================================
# 4. The network
# ==========================================================================
class Listeners:
    """TCP and UDP on every host address, and an abstract AF_UNIX socket, in a
    thread that stops by itself after ``lifetime`` seconds."""

    def __init__(self, lifetime: float = 240):
        self.received: list[tuple[str, bytes]] = []
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.unix_name = marker("nncheck-attack-unix")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + self.unix_name)
        self.unix.listen(16)
        for s in (self.tcp, self.udp, self.unix):
            s.settimeout(0.1)
        self.deadline = time.monotonic() + lifetime
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def tcp_port(self):
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self):
        return self.udp.getsockname()[1]

    def _serve(self):
        while not self.stopped.is_set() and time.monotonic() < self.deadline:
            for kind, s in (("tcp", self.tcp), ("unix", self.unix)):
                try:
                    conn, _ = s.accept()
                except (socket.timeout, OSError):
                    continue
                with conn:
                    conn.settimeout(1)
                    try:
                        self.received.append((kind, conn.recv(4096)))
                    except OSError:
                        self.received.append((kind, b"<connected>"))
            try:
                self.received.append(("udp", self.udp.recvfrom(4096)[0]))
            except (socket.timeout, OSError):
                pass

    def close(self):
        time.sleep(0.3)
        self.stopped.set()
        self.thread.join(5)
        for s in (self.tcp, self.udp, self.unix):
            s.close()


def host_addresses() -> list[str]:
    ips = set()
    try:
        ips.update(ai[4][0] for ai in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent: only picks the outgoing address
            ips.add(s.getsockname()[0])
    except OSError:
        pass
    return sorted(ip for ip in ips if not ip.startswith("127.") and ip != "0.0.0.0")


@pytest.fixture
def listeners():
    ls = Listeners()
    yield ls
    ls.close()


def _network_attack(tmp_path, listeners, mark, internet):
    return write(tmp_path / "attacker.py", attack_source(
        honest_source(), "network_attack", marker=mark, tcp_port=listeners.tcp_port, udp_port=listeners.udp_port,
        unix_name=listeners.unix_name, host_ips=host_addresses(), internet=internet))


@needs_bwrap
def test_no_network_at_all(tmp_path, listeners):
    """TCP to 127.0.0.1/localhost/the host's addresses, UDP, an abstract AF_UNIX
    socket, DNS and the internet, at load time and in a probe: nothing arrives."""
    mark = marker()
    proc, report, _ = submit(_network_attack(tmp_path, listeners, mark, internet=True), *FAST)
    listeners.close()
    assert_ran(report, "load", "probe")
    assert listeners.received == [], f"the sandbox let data out: {listeners.received}"
    assert not lines(report, "EXT-OK") and not lines(report, "DNS-OK"), lines(report, "EXT-OK") + lines(report, "DNS-OK")
    assert not lines(report, "UNIX-SENT"), lines(report, "UNIX-SENT")
    assert_honest(report)


def test_canary_network_attack_reaches_the_listener_without_the_sandbox(tmp_path, listeners):
    """CANARY: unsandboxed, the same attack's data reaches the test's listeners."""
    mark = marker()
    proc, report, _ = submit(_network_attack(tmp_path, listeners, mark, internet=False), *FAST,
                             isolation="process")
    listeners.close()
    assert_ran(report, "load", "probe")
    kinds = {kind for kind, data in listeners.received if mark.encode() in data}
    assert {"tcp", "unix"} <= kinds, listeners.received


# ==========================================================================
# 5. Writes outside the scratch copy
# ==========================================================================
def _write_targets(tmp_path, mark, targets, site_packages):
    orig = tmp_path / "student"
    path = write(orig / "attacker.py", "")
    path.write_text(attack_source(honest_source(), "write_attack", marker=mark, targets=[str(t) for t in targets],
                                  site_packages=site_packages, append_to=str(path)), encoding="utf-8")
    return orig


def _landed(mark, folders) -> list[Path]:
    hits = []
    for folder in folders:
        try:
            hits += [p for p in Path(folder).iterdir() if p.name.startswith(mark)]
        except OSError:
            pass
    return hits


@needs_bwrap
def test_writes_outside_the_scratch_copy_never_reach_the_host(tmp_path):
    """/tmp, /var/tmp, $HOME, the host's home, /dev/shm, the original submission
    folder (and appending to the submission itself), the repository, its
    reference/ and site-packages (a .pth there would run in every later grader)."""
    import sysconfig

    mark = marker()
    folders = ["/tmp", "/var/tmp", str(Path.home()), "/dev/shm", str(REPO), str(REPO / "reference")]
    orig = _write_targets(tmp_path, mark, folders + [str(tmp_path / "student")], site_packages=True)
    before = snapshot(orig)
    everywhere = folders + [str(orig), str(tmp_path), sysconfig.get_paths()["purelib"]]
    try:
        proc, report, _ = submit(orig, *FAST)
        landed = _landed(mark, everywhere)
        assert not landed, f"writes escaped the sandbox: {landed}"
        assert snapshot(orig) == before, "the original submission folder changed"
        assert_ran(report, "load", "probe")
        assert_honest(report)
    finally:
        for p in _landed(mark, everywhere):
            p.unlink()


def test_canary_writes_land_without_the_sandbox(tmp_path):
    """CANARY: unsandboxed, the same attack's /tmp and /var/tmp markers appear on the host."""
    mark = marker()
    orig = _write_targets(tmp_path, mark, ["/tmp", "/var/tmp", str(tmp_path / "student")], site_packages=False)
    try:
        proc, report, _ = submit(orig, *FAST, isolation="process")
        assert_ran(report, "load", "probe")
        assert (Path("/tmp") / f"{mark}-load").exists()
        assert (Path("/tmp") / f"{mark}-probe").exists()
    finally:
        for p in _landed(mark, ["/tmp", "/var/tmp", str(orig)]):
            p.unlink()


# ==========================================================================
# 6. Symbolic and hard links
# ==========================================================================
@needs_bwrap
def test_links_in_the_submission_folder_never_reach_the_worker(tmp_path):
    """Links to /etc/passwd, the repository's reference (a file and the folder), a
    host file, and a hard link to a host file: no link reaches the worker, no
    linked content is printed, and writing through them changes nothing on the host."""
    mark = marker()
    secret = write(tmp_path / "host" / "secret.txt", f"host-secret-{mark}\n")
    hard_target = write(tmp_path / "host" / "hard.txt", f"hard-target-{mark}\n")
    ref_copy = tmp_path / "host" / "reference"
    shutil.copytree(REPO / "reference", ref_copy, ignore=shutil.ignore_patterns("__pycache__"))
    host_before = snapshot(tmp_path / "host")
    folder = tmp_path / "student"
    write(folder / "attacker.py", attack_source(
        honest_source(), "link_attack", marker=mark,
        read_names=["passwd", "secret.txt", "ref_loss.py", "refdir", "refcopy", "hard.txt"],
        write_names=["secret.txt", "refcopy", "hard.txt"],
        host_paths=[str(secret), str(REPO / "reference" / "loss.py"), "/etc/passwd"]))
    links = {"passwd": "/etc/passwd", "secret.txt": str(secret), "ref_loss.py": str(REPO / "reference" / "loss.py"),
             "refdir": str(REPO / "reference"), "refcopy": str(ref_copy)}
    for name, target in links.items():
        os.symlink(target, folder / name)
    try:
        os.link(hard_target, folder / "hard.txt")
        hard = True
    except OSError:
        hard = False
    folder_before = snapshot(folder)

    proc, report, _ = submit(folder, *FAST)
    assert_ran(report, "load", "probe")
    entries = lines(report, "ENTRY")
    assert not [e for e in entries if " link " in e], f"links reached the worker: {entries}"
    assert not [e for e in entries if e.split()[2] in links], entries
    got = [ln for ln in lines(report, "READ ") if ln.split()[2].split("/")[0] in links]
    assert not got, f"linked content reached the worker: {got}"
    printed = everything_printed(report)
    assert f"host-secret-{mark}" not in printed and "root:x:0:0" not in printed
    host_reads = [ln for ln in lines(report, "HOST-READ") if not ln.endswith(" None")]
    assert not host_reads, host_reads
    if hard:
        assert any(e.split()[2] == "hard.txt" for e in entries), entries  # a hard link is a file: copied
    assert snapshot(tmp_path / "host") == host_before, "writing through a link changed a host file"
    assert snapshot(folder) == folder_before
    assert_honest(report)


def _zip(path: Path, members: list[tuple[str, str, int | None]]) -> Path:
    """``members``: (name, text, unix mode or None)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, text, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, text)
    return path


@needs_bwrap
def test_zips_with_links_or_escaping_paths_are_refused_in_a_class_run(tmp_path):
    """A zip with a symlink member (to a host secret) and zips whose members climb
    out with ../ or an absolute path: refused, nothing written outside, the secret
    in no report, the honest classmate graded right."""
    mark = marker()
    secret = write(tmp_path / "host" / "secret.txt", f"host-secret-{mark}\n")
    subs = tmp_path / "class"
    write(subs / "alice.py", honest_source())
    reader = honest_source() + "\n_leak = print(open('secret.py').read())\n"
    _zip(subs / "zsym.zip", [("zsym/attacker.py", reader, 0o100644),
                             ("zsym/secret.py", str(secret), 0o120777)])
    _zip(subs / "zdot.zip", [("zdot/attacker.py", honest_source(), None),
                             (f"../../planted-{mark}.py", "x = 1\n", None)])
    _zip(subs / "zabs.zip", [("zabs/attacker.py", honest_source(), None),
                             (f"/tmp/planted-{mark}.py", "x = 1\n", None)])
    out = tmp_path / "results"
    proc = _grade(subs, out, "--isolation", "bubblewrap")
    assert proc.returncode == 0, proc.stderr[-3000:]
    book = _gradebook(out)
    assert float(book["alice"]["total"]) == float(book["alice"]["max"]) > 0
    for student in ("zsym", "zdot", "zabs"):
        assert book[student]["status"] == "load-failed", book[student]
    assert "symbolic link" in book["zsym"]["message"]
    planted = list(tmp_path.rglob(f"*{mark}*.py")) + list(Path("/tmp").glob(f"planted-{mark}*"))
    planted += list(tmp_path.parent.glob(f"planted-{mark}*"))
    assert not planted, planted
    for rep in (out / "reports").glob("*.json"):
        assert f"host-secret-{mark}" not in rep.read_text()
    assert secret.read_text() == f"host-secret-{mark}\n"


# ==========================================================================
# 7. A fork storm
# ==========================================================================
def assert_storm_capped(report, limit=2000):
    """The fork storm ran in the probe and met a cap: forks were refused well before ``limit``."""
    assert_ran(report, "probe")
    storm = lines(report, "STORM")
    assert storm, everything_printed(report)[-3000:]
    made = int(re.search(r"made=(\d+)", storm[0]).group(1))
    refused = int(re.search(r"refused=(\d+)", storm[0]).group(1))
    assert refused > 0 and made < limit, f"nothing capped the processes: {storm[0]}"


@needs_bwrap
def test_fork_storm_is_capped_and_leaves_nothing_behind(tmp_path):
    """Every process forks for 3 s (ReLU.backward), children hide in sessions of
    their own under a marker name and linger: the sandbox refuses forks well
    before 2000 processes, the run ends in bounded time, the Dense checks after it
    pass, and no process with the marker is left on the host."""
    if os.geteuid() == 0:  # RLIMIT_NPROC does not bind root: only a cgroup caps a root-started sandbox
        from nncheck.sandbox.cgroup import Cgroup

        probe = Cgroup.create(f"nncheck-test-{os.getpid()}", 64)
        if probe is None:
            pytest.skip("running as root without cgroup access: nothing can cap processes here "
                        "(docs/security.md, Known limits)")
        probe.remove()
    mark = marker("nnfork")[:15]
    path = write(tmp_path / "attacker.py", attack_source(honest_source(), "fork_storm", marker=mark,
                                                        storm_s=3.0, max_procs=2000))
    try:
        proc, report, seconds = submit(path, *FAST)
        assert_storm_capped(report)
        assert seconds < 90, seconds
        assert_honest(report)
        deadline = time.monotonic() + 5
        while host_pids_with(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert host_pids_with(mark) == [], f"processes left behind: {host_pids_with(mark)[:5]}"
    finally:
        for pid, _ in host_pids_with(mark):  # only the storm's own processes, by their marker
            try:
                os.kill(pid, 9)
            except OSError:
                pass


# ==========================================================================
# 8. Filling the disk
# ==========================================================================
class DiskSampler:
    """The least free space seen on the host's file systems while the run goes on."""

    def __init__(self, paths=("/", "/tmp", "/var/tmp")):
        self.paths = [p for p in dict.fromkeys(paths) if os.path.exists(p)]
        self.before = {p: shutil.disk_usage(p).free for p in self.paths}
        self.least = dict(self.before)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.wait(0.05):
            for p in self.paths:
                self.least[p] = min(self.least[p], shutil.disk_usage(p).free)

    def stop(self) -> dict[str, int]:
        self.stopped.set()
        self.thread.join(5)
        return {p: self.before[p] - self.least[p] for p in self.paths}


def _disk_attack(tmp_path, places, cap, free_all=False):
    return write(tmp_path / "attacker.py", attack_source(honest_source(), "disk_fill", marker=marker(),
                                                        places=places, cap_bytes=cap, free_all=free_all))


@needs_bwrap
def test_filling_the_disk_stays_inside_the_sandbox(tmp_path):
    """16 MB files into the scratch folder, /tmp and $HOME until a write fails (1 GB
    per place at most), most of it left there: each place runs out well before
    that, the host's disks lose < 128 MB at any moment, the run completes and the
    honest part is right."""
    cap = 1 << 30
    path = _disk_attack(tmp_path, [".", "/tmp", "$HOME"], cap)
    sampler = DiskSampler()
    try:
        proc, report, _ = submit(path, *FAST)
    finally:
        drop = sampler.stop()
    assert_ran(report, "load")
    filled = lines(report, "FILLED")
    assert len(filled) >= 2, everything_printed(report)[-3000:]
    capped = [ln for ln in filled if "capped=True" in ln]
    assert not capped, f"a place took {cap >> 20} MB without complaint: {capped}"
    assert all(v < 128 << 20 for v in drop.values()), f"host free space dropped (bytes): {drop}\n{filled}"
    assert_honest(report)


@needs_bwrap
def test_every_writable_place_in_the_sandbox_is_size_limited(tmp_path):
    """The other places a submission may write to (/, /dev, /dev/shm, /var/tmp, /run):
    each is read-only, missing, or runs out well before 512 MB. (tmpfs pages are
    memory: an unsized one lets a submission take the grading machine's RAM, bounded
    at best by the sandbox's memory cgroup, where the machine has one.) The attack
    frees what it wrote, so the honest part must still be right."""
    cap = 512 << 20
    path = _disk_attack(tmp_path, ["/", "/dev", "/dev/shm", "/var/tmp", "/run"], cap, free_all=True)
    proc, report, _ = submit(path, *FAST)
    assert_ran(report, "load")
    filled = lines(report, "FILLED")
    capped = [ln for ln in filled if "capped=True" in ln]
    assert not capped, f"writable places without a size limit (took {cap >> 20} MB each): {capped}"
    assert_honest(report)


# ==========================================================================
# 9. The grader's environment
# ==========================================================================
def _env_attack(tmp_path):
    return write(tmp_path / "attacker.py", attack_source(honest_source(), "env_attack"))


@needs_bwrap
def test_grader_environment_secrets_never_reach_the_worker(tmp_path):
    """os.environ, /proc/self/environ, /proc/1/environ and every /proc/<pid>/environ,
    at load time and in a probe: the grader's secret is in no report."""
    secret = marker("hunter2")
    env = {"NNCHECK_TEST_SECRET": secret, "AWS_SECRET_ACCESS_KEY": secret + "-aws"}
    proc, report, _ = submit(_env_attack(tmp_path), *FAST, env=env)
    assert_ran(report, "load", "probe")
    assert secret not in proc.stdout + proc.stderr, "the grader's secret is in the report"
    assert_honest(report)


def test_canary_environment_is_readable_without_the_sandbox(tmp_path):
    """CANARY: unsandboxed, the grader's /proc/<pid>/environ gives the secret away."""
    secret = marker("hunter2")
    proc, report, _ = submit(_env_attack(tmp_path), *FAST, env={"NNCHECK_TEST_SECRET": secret},
                             isolation="process")
    assert_ran(report, "load", "probe")
    assert secret in everything_printed(report)


# ==========================================================================
# 10. ptrace and /proc/<pid>/mem
# ==========================================================================
@needs_bwrap
def test_ptrace_and_proc_mem_reach_nothing_outside(tmp_path):
    """PTRACE_ATTACH / PTRACE_SEIZE and /proc/<pid>/mem reads on every visible pid,
    at load time and in a probe: none succeeds on anything but the submission's
    own worker processes, and the report is right."""
    path = write(tmp_path / "attacker.py", attack_source(honest_source(), "ptrace_attack"))
    proc, report, _ = submit(path, *FAST)
    assert_ran(report, "load", "probe")
    hits = lines(report, "PTRACE-OK") + lines(report, "MEM-OK")
    outside = [h for h in hits if "nncheck.worker.loop" not in h]
    assert not outside, f"ptrace or /proc/<pid>/mem reached a process that is not the student's own: {outside}"
    assert_honest(report)


# ==========================================================================
# 11. Without bubblewrap
# ==========================================================================
NO_BWRAP = {"NNCHECK_BWRAP": "/nonexistent"}


@needs_bwrap
def test_auto_isolation_is_bubblewrap_when_available(tmp_path):
    path = write(tmp_path / "honest.py", honest_source())
    proc, report, _ = submit(path, "--check", "relu", isolation=None)
    assert report["isolation"]["layer"] == "bubblewrap" and report["isolation"]["summary"]
    assert_honest(report, families=("relu",))


def test_fallback_submit_says_it_is_not_sandboxed(tmp_path):
    path = write(tmp_path / "honest.py", honest_source())
    proc, report, _ = submit(path, "--check", "relu", isolation=None, env=NO_BWRAP)
    assert proc.returncode == 0
    iso = report["isolation"]
    assert iso["layer"] in ("user", "process") and iso["summary"], iso
    assert_honest(report, families=("relu",))
    text = nncheck("submit", path, "--check", "relu", env=NO_BWRAP)
    assert text.returncode == 0, text.stderr
    warned = [ln for ln in text.stdout.splitlines()
              if re.search(r"(?i)sandbox|isolation", ln) and re.search(r"(?i)warning|not sandboxed", ln)]
    assert warned, f"the text report does not say it ran without the sandbox:\n{text.stdout}"


def test_fallback_grade_refuses_without_an_explicit_isolation(tmp_path):
    subs = tmp_path / "class"
    write(subs / "alice.py", honest_source())
    proc = _grade(subs, tmp_path / "results", env=NO_BWRAP)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    said = proc.stdout + proc.stderr
    assert "--isolation process" in said and "apt-get install bubblewrap" in said, said
    assert not (tmp_path / "results" / "gradebook.csv").exists()

    proc = _grade(subs, tmp_path / "results", "--isolation", "process", env=NO_BWRAP)
    assert proc.returncode == 0, proc.stderr[-3000:]
    book = _gradebook(tmp_path / "results")
    assert float(book["alice"]["total"]) == float(book["alice"]["max"]) > 0


def test_doctor_names_the_layers_and_how_to_get_the_sandbox():
    proc = nncheck("doctor", env=NO_BWRAP)
    assert proc.returncode in (0, 1), proc.stderr
    out = proc.stdout + proc.stderr
    assert "bubblewrap" in out and "apt-get install bubblewrap" in out, out
    assert "process" in out


@needs_bwrap
def test_doctor_finds_the_sandbox():
    proc = nncheck("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"(?m)^bubblewrap\s+available", proc.stdout), proc.stdout
