"""Grade one submission: load it in a worker, run every check, make the records.

:class:`Session` runs in the grading process. It prepares the submission
(:mod:`nncheck.load.prepare`), starts a worker (:mod:`nncheck.sandbox.handle`)
under the isolation in force, loads the plan there, sends one probe per
check and computes each verdict here, from plain data: nothing the worker
sends is trusted. A worker that dies or talks nonsense is replaced and only
the check it was running is lost.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nncheck import __version__
from nncheck import answers as check_answers
from nncheck.load.plan import Plan, SubmissionError
from nncheck.load.prepare import prepare
from nncheck.model import Check, CheckRecord, Report, Result, Status
from nncheck.sandbox.bwrap import NPROC, OUTPUT, SCRATCH
from nncheck.sandbox.handle import WorkerGone, WorkerHandle
from nncheck.sandbox.layers import Isolation, choose
from nncheck.sandbox.view import VIEW, stage_view
from nncheck.scoring import check_score

DATA_LOADER_REPLACED = "DataLoaderReplaced"  # what the course's data loader raises (load/shims)
DEFAULT_TIMEOUT = 10.0  # seconds per check unless --timeout says otherwise
HUNG_AFTER = 2          # timeouts after which later checks get less time
GRACE_S = 5.0          # the worker's own answer may lag its timeout by this much
MAX_RESTARTS = 3
MAX_SLOTS = 2          # probes of one submission running at once, at most (see default_slots)
SLOTS_VAR = "NNCHECK_SLOTS"


@dataclass
class Limits:
    timeout: float = DEFAULT_TIMEOUT  # seconds per check (probe)
    load_timeout: float = 30.0  # seconds to load the submission
    memory_mb: int = 1024       # memory the submission may use on top of the worker's own


@dataclass
class LoadInfo:
    ok: bool
    message: str = ""
    names: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    output: str = ""
    output_bytes: int = 0
    plan: Plan | None = None
    aliased: dict = field(default_factory=dict)
    duration_s: float = 0.0
    incident: str = ""
    defs: dict = field(default_factory=dict)  # where graded definitions live (worker's _describe_defs)
    data_loader: list = field(default_factory=list)  # where the course's data loader was called (a note)

    def to_json(self) -> dict:
        plan = self.plan
        return {
            "ok": self.ok, "message": self.message, "kind": plan.kind if plan else None,
            "names": sorted(self.names), "warnings": self.warnings,
            "problems": plan.problems if plan else [], "dropped": plan.dropped if plan else [],
            "used": plan.used if plan else [], "set_aside": plan.set_aside if plan else [],
            "aliased": self.aliased, "output": self.output, "output_bytes": self.output_bytes,
            "duration_s": round(self.duration_s, 4), "incident": self.incident,
            **({"data_loader": self.data_loader} if self.data_loader else {}),
        }


def probe_modules(checks: list[Check]) -> dict[str, str]:
    """``{module name: file}`` of the modules holding the checks' probes.

    These are the only plugin code the worker loads (and the sandbox sees), so
    a probe must not live in the module of its own verdict.
    """
    modules = {}
    for check in checks:
        name = check.probe.__module__
        if name == check.verdict.__module__:
            raise ValueError(
                f"check {check.id}: its probe lives in {name}, the module of its verdict; put probes "
                "in a module of their own (the worker side, e.g. sandboxed.py), see docs/plugins.md")
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            raise ValueError(f"check {check.id}: its probe module {name} has no .py file to load")
        modules[name] = file
    return modules


def _submission_files(folder: Path) -> dict:
    """The scratch copy's files as ``{relative path: bytes as a uint8 array}``, for the sandbox."""
    import numpy as np

    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(folder).as_posix()] = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    return files


def _plain_defs(defs) -> dict:
    """The worker's ``defs`` checked into plain ``{name: {file, line, end, owner}}`` (untrusted input)."""
    out = {}
    if not isinstance(defs, dict):
        return out
    for name, where in list(defs.items())[:5000]:
        try:
            out[str(name)[:200]] = {"file": str(where["file"])[:300], "line": int(where["line"]),
                                    "end": int(where["end"]),
                                    "owner": None if where.get("owner") is None else str(where["owner"])[:200]}
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return out


_PENDING = object()  # a flight's answers, not computed yet


@dataclass(eq=False)
class _Flight:
    """A check whose probe the worker is running."""
    index: int
    check: Check
    inputs: dict
    full: float          # the check's own timeout, not shortened
    timeout: float       # the one the probe was sent with
    shortened: bool
    t0: float            # perf_counter when sent (the record's duration)
    sent: float          # monotonic when sent (our deadline)
    answers: object = _PENDING
    overlapped: bool = False  # another probe ran beside it at some point


class _Serially(Exception):
    """The worker was lost while several probes ran: grade the submission again, one probe at a time."""


def _prepare_answers(check: Check, inputs: dict):
    """``check``'s answers for ``inputs`` (:func:`nncheck.answers.prepare`), or an error Result."""
    try:
        return check_answers.prepare(check, inputs)
    except Exception as exc:  # noqa: BLE001 - the grader's side failed (a plugin bug)
        return Result.error(f"nncheck could not prepare this check ({type(exc).__name__}: {exc})",
                            hint="This is not your mistake: tell your instructor.")


def _answers_after(check: Check, inputs_future):
    """``check``'s answers once its inputs are chosen (``None`` when that failed: the check
    reports it before it would need them)."""
    try:
        inputs = inputs_future.result()
    except Exception:  # noqa: BLE001 - said by _send
        return None
    return _prepare_answers(check, inputs)


def _shortest(full: float) -> float:
    """The time a check whose full time is ``full`` gets after :data:`HUNG_AFTER` timeouts."""
    return max(2.0, full / 5)


def _timeout_result(timeout: float, shortened: bool) -> Result:
    return Result(Status.TIMEOUT, f"did not finish within {timeout:g} s"
                  + (f" (shortened: {HUNG_AFTER} earlier checks of this submission timed out)"
                     if shortened else ""), incident="timeout",
                  hint="Look for an infinite loop or a very slow computation "
                       "(a Python loop over every element?).")


def _lost(exc: Exception) -> Result:
    return Result(
        Status.ERROR, f"the process running your code stopped answering ({exc}); it was restarted "
        "for the remaining checks",
        hint="Does your code start threads or processes, or kill its parent?", incident="worker-lost")


def default_slots() -> int:
    """Probes run at once for one submission: ``$NNCHECK_SLOTS``, else the processors this
    process may use (at most :data:`MAX_SLOTS`)."""
    try:
        return max(1, int(os.environ[SLOTS_VAR]))
    except (KeyError, ValueError):
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(MAX_SLOTS, cores))


class Session:
    """Grade one submission: ``Session(path, checks, ...).run() -> Report``.

    :param isolation: where the submission runs (:func:`nncheck.sandbox.layers.choose`);
        the best available layer when ``None``.
    :param data_paths: data files or folders probes read besides nncheck's embedded
        MNIST (``--data``); the sandbox sees them read-only at the same path.
    """

    def __init__(self, path: str | Path, checks: list[Check], *, seed: int = 0,
                 limits: Limits | None = None, aliases: dict | None = None,
                 heading: str | None = "Peer-reviewed assignment", progress=None,
                 isolation: Isolation | None = None, data_paths=(), forms: dict | None = None,
                 slots: int | None = None):
        """:param slots: probes run at once (:func:`default_slots` when ``None``); the grade is
        the same whatever their number."""
        self.path = str(path)
        self.slots = slots or default_slots()
        self._answer_pool = None  # a thread for long checks' answers (see _answers)
        self._prefetched: dict = {}  # check id -> [future inputs, future answers] (see _prefetch)
        self.checks = checks
        self.seed = seed
        self.limits = limits or Limits()
        self.aliases = aliases or {}
        self.probe_modules = probe_modules(checks)
        self.isolation = isolation
        self.data_paths = [str(Path(p).resolve()) for p in data_paths if p]
        self.heading = heading
        self.progress = progress or (lambda event, **kw: None)
        self.worker: WorkerHandle | None = None
        self.restarts = 0
        self.pointing_s = 0.0       # time spent pointing at lines (nncheck.point)
        self.pointing_errors: list = []
        self.forms = forms or {}    # {family: option form discovery graded}, for pointing

    # -- worker lifecycle ---------------------------------------------------
    def _hand_over(self, ids: tuple[int, int]) -> None:
        """Give the scratch copy and the output folder to the unprivileged user."""
        for folder in (self.workdir, self.outdir):
            os.chown(folder, *ids)
            for root, dirs, files in os.walk(folder):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), *ids, follow_symlinks=False)
        os.chmod(self.tmp, 0o755)

    def _spawn(self) -> None:
        """Start a worker process (it imports NumPy and the probes while we go on)."""
        log = self.tmp / f"worker{self.restarts}.log"
        if not self.isolation.sandboxed:
            self.worker = WorkerHandle(self.workdir, log)
            return
        if not (self.tmp / "view").exists():
            from nncheck.data import EMBEDDED

            self.inside = stage_view(self.tmp / "view", self.probe_modules)
            (self.tmp / "view" / "nncheck" / "data" / EMBEDDED.name).touch()  # its mount point
            self.data_files = {str(EMBEDDED): f"{VIEW}/nncheck/data/{EMBEDDED.name}",
                               **{p: p for p in self.data_paths if os.path.exists(p)}}
        # the sandbox's own memory limit (a cgroup) has room for every probe running at once, so
        # what binds a probe is its own limit (RLIMIT_AS), the same whatever runs beside it
        self.worker = WorkerHandle(self.workdir, log, view=self.tmp / "view", data_files=self.data_files,
                                   memory_mb=self.limits.memory_mb * max(1, self.slots))

    def _init_message(self) -> dict:
        msg = {"op": "init", "plan": self.plan.to_json(), "seed": self.seed,
               "probes": sorted({c.probe_ref for c in self.checks}),
               "memory_mb": self.limits.memory_mb, "aliases": self.aliases}
        if self.isolation.sandboxed:  # the worker writes the files into its own tmpfs
            msg.update(probe_modules=self.inside, root=SCRATCH, outdir=OUTPUT,
                       files=_submission_files(self.workdir), nproc=NPROC)
        else:
            msg.update(probe_modules=self.probe_modules, outdir=str(self.outdir),
                       drop_to=self.isolation.user)
        return msg

    def _start(self) -> LoadInfo:
        t0 = time.perf_counter()
        if self.worker is None:
            self._spawn()
        try:
            self.worker.send(self._init_message())
            reply = self.worker.receive(self.limits.load_timeout + GRACE_S)
        except WorkerGone as exc:
            log = self._worker_log()
            self._stop()
            incident = "timeout" if str(exc) == "timeout" else "crash"
            if str(exc) == "timeout":
                msg = (f"loading the submission took longer than {self.limits.load_timeout:g} s: "
                       "top-level code (a training loop?) runs when it is imported")
            else:
                msg = f"the submission's process ended while it was being loaded ({exc})"
                if log:
                    msg += f": {log.strip().splitlines()[-1][:300]}"
            return LoadInfo(False, msg, plan=self.plan, duration_s=time.perf_counter() - t0,
                            incident=incident)
        if not isinstance(reply, dict) or reply.get("op") != "loaded":
            self._stop()
            return LoadInfo(False, "the worker answered the load request with nonsense", plan=self.plan,
                            incident="crash")
        warnings = [w for w in reply.get("warnings") or [] if isinstance(w, dict)]
        replaced = [{"label": str(w.get("label", "")), "line": w.get("line", 0)} for w in warnings
                    if w.get("type") == DATA_LOADER_REPLACED]
        return LoadInfo(
            True, names=dict(reply.get("names") or {}),
            warnings=[w for w in warnings if w.get("type") != DATA_LOADER_REPLACED],
            data_loader=replaced,  # a note, kept in run() only when a check that trains ran
            output=str(reply.get("output", "")), output_bytes=int(reply.get("output_bytes", 0)),
            plan=self.plan, aliased=dict(reply.get("aliased") or {}),
            duration_s=time.perf_counter() - t0, defs=_plain_defs(reply.get("defs")))

    def _worker_log(self) -> str:
        try:
            return (self.tmp / f"worker{self.restarts}.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _stop(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    # -- one check ----------------------------------------------------------
    def _precheck(self, check: Check, load: LoadInfo, done: dict[str, CheckRecord]) -> Result | None:
        """Why ``check`` is not run at all (a name missing, a prerequisite failed), or None."""
        missing = [n for n in check.requires if n not in load.names]
        lost = [n for n in missing if self._written_but_not_loaded(n)]
        if lost:
            why = (load.plan.problems if load.plan else []) + [
                f"{w['label']} line {w['line']}: {w['error']}" for w in load.warnings]
            return Result.error(
                f"{', '.join(lost)} appears in your submission but was not defined when it was loaded"
                + (f" ({why[0]})" if why else ""),
                hint="Fix the syntax error or the exception above; the definition never ran.")
        if missing:
            what = ", ".join(missing)
            if check.section == "core":
                return Result.failed(
                    f"{what} is missing: the submission does not define "
                    f"{'it' if len(missing) == 1 else 'them'} at module level.",
                    hint=f"Define {what} with exactly this name (see the assignment).")
            return Result.skipped(f"not attempted: no {what} in the submission")
        blocked = [a for a in check.after if a in done and done[a].status is not Status.PASSED]
        if blocked:
            return Result.skipped(f"skipped because {', '.join(blocked)} did not pass")
        if self.worker is None:
            if self.restarts >= MAX_RESTARTS:
                return Result(Status.ERROR, "not run: the submission's process kept dying", incident="worker-lost")
            self.restarts += 1
            again = self._start()
            if not again.ok:
                return Result(Status.ERROR, f"not run: reloading the submission failed ({again.message})",
                              incident="worker-lost")
        return None

    def full_timeout(self, check: Check) -> float:
        """A check's own timeout (a training run's, say) is for the default --timeout;
        a different --timeout scales it in proportion."""
        return (check.timeout * self.limits.timeout / DEFAULT_TIMEOUT if check.timeout
                else self.limits.timeout)

    def _send(self, index: int, check: Check, earlier_timeouts: int) -> "_Flight | Result":
        """Choose the check's inputs and send its probe to the worker (tagged ``index``)."""
        early = self._prefetched.get(check.id)
        try:
            inputs = early[0].result() if early else check.inputs(check.rng(self.seed))
        except Exception as exc:  # the grader's side failed (bad data path, a plugin bug)
            return Result.error(f"nncheck could not prepare this check ({type(exc).__name__}: {exc})",
                                hint="This is not your mistake: tell your instructor.")
        flight_answers = early[1] if early else _PENDING
        if check_answers.edition() == "student":  # a look-up in a table: before the probe, which it may spare
            try:
                flight_answers = check_answers.prepare(check, inputs)
            except Exception as exc:  # noqa: BLE001 - the grader's side failed (a plugin bug)
                return Result.error(f"nncheck could not prepare this check ({type(exc).__name__}: {exc})",
                                    hint="This is not your mistake: tell your instructor.")
            if isinstance(flight_answers, Result):
                return flight_answers
        full = self.full_timeout(check)
        # A submission that has already hung twice hangs again in the checks that call the
        # same code: later checks get a fifth of their time (at least 2 s), so one hanging
        # function costs its student seconds, not minutes, and a class run stays short.
        shortened = earlier_timeouts >= HUNG_AFTER and full > 2.0
        timeout = max(2.0, full / 5) if shortened else full
        self.worker.send({"op": "probe", "tag": index, "ref": check.probe_ref, "inputs": inputs,
                          "timeout": timeout, "seed": self.seed})
        return _Flight(index, check, inputs, full, timeout, shortened, time.perf_counter(), time.monotonic(),
                       answers=flight_answers)

    def _answers(self, flight: "_Flight") -> None:
        """The check's answers (the reference's, or the student edition's table), computed here
        while its probe runs in the worker; a Result when they cannot be had. A long check's (the
        training check's reference run) are computed by a thread of their own when probes run
        side by side, so the short checks' probes go on being sent and judged meanwhile."""
        if flight.answers is not _PENDING:
            return
        if self.slots > 1 and (flight.check.timeout or 0) > DEFAULT_TIMEOUT:
            flight.answers = self._thread().submit(_prepare_answers, flight.check, flight.inputs)
        else:
            flight.answers = _prepare_answers(flight.check, flight.inputs)

    def _thread(self):
        """The one thread that computes long checks' inputs and answers beside the main loop."""
        if self._answer_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._answer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nncheck-answers")
        return self._answer_pool

    def _prefetch(self) -> None:
        """While the worker starts and loads the submission: the inputs of the long checks, then
        their answers (the training check's reference run), in the answers thread. Both follow
        from the seed alone, so computing them early changes nothing; only for the long checks
        whose every required name the submission's text defines (else they are likely skipped)."""
        if self.slots <= 1 or check_answers.edition() == "student":
            return
        long = [c for c in self.checks if (c.timeout or 0) > DEFAULT_TIMEOUT
                and all(self._written_but_not_loaded(n) for n in c.requires)]
        for check in long:
            self._prefetched[check.id] = [self._thread().submit(check.inputs, check.rng(self.seed)), None]
        for check in long:
            self._prefetched[check.id][1] = self._thread().submit(
                _answers_after, check, self._prefetched[check.id][0])

    def _judge(self, flight: "_Flight", head: dict, reply) -> tuple[Result, str, str]:
        """The worker's answer for one probe as ``(result, printed output, traceback)``."""
        check, timeout = flight.check, flight.timeout
        printed = str(head.get("printed", ""))
        if head.get("printed_bytes", 0) > len(printed.encode()):
            printed += f"\n[... {head['printed_bytes']} bytes printed in all; the rest was cut]"
        status = head.get("status")
        tb = ""
        if hasattr(flight.answers, "result") and callable(flight.answers.result):  # a thread's: wait for it
            flight.answers = flight.answers.result()
        if isinstance(flight.answers, Result):  # the student edition cannot grade it here: said why
            return flight.answers, "", ""
        if status == "timeout":
            result = _timeout_result(timeout, flight.shortened)
        elif status == "crash":
            how = head.get("signal")
            if how == "SIGSEGV":
                msg = "the process running your code crashed with a segmentation fault"
            elif how:
                msg = f"the process running your code was killed by {how}"
            else:
                msg = f"your code ended the process (exit code {head.get('exit_code')}), e.g. with os._exit"
            result = Result(Status.ERROR, msg, hint="Your code must return a value, not end the program.",
                            incident="crash")
        elif status == "frame" and isinstance(reply, dict) and reply.get("status") == "exception":
            tb = str(reply.get("traceback", ""))[-8000:]
            result = self._exception_result(check, reply)
        elif status == "frame" and isinstance(reply, dict) and reply.get("status") == "ok":
            try:
                result = check_answers.judge(check, flight.inputs, reply.get("output"), flight.answers)
            except Exception as exc:  # a malformed answer the verdict could not read
                result = Result.error(
                    f"nncheck could not read what your code returned ({type(exc).__name__}: {exc})",
                    hint="Return NumPy arrays of the shapes the assignment gives.")
        else:
            result = Result.error(f"unexpected answer from the worker: {str(status)[:100]}")
        return result, printed, tb

    def _written_but_not_loaded(self, name: str) -> bool:
        """Does the submission's text define ``name`` (a syntax error may have hidden it)?"""
        if not hasattr(self, "_texts"):
            self._texts = []
            for path in sorted(self.workdir.rglob("*")):
                if path.suffix in (".py", ".ipynb") and path.is_file() and path.stat().st_size < 5_000_000:
                    self._texts.append(path.read_text(encoding="utf-8", errors="replace"))
        pattern = re.compile(rf"\b(class|def)\s+{re.escape(name)}\b")
        return any(pattern.search(t) for t in self._texts)

    def _exception_result(self, check: Check, reply: dict) -> Result:
        message = str(reply.get("message", ""))[:600]
        if reply.get("not_implemented"):
            if check.section == "core":
                return Result.failed(f"not implemented yet: your code raised NotImplementedError ({message})",
                                     hint=check.hint or "Fill in the TODO part.")
            return Result.skipped(f"not attempted: the code raises NotImplementedError ({message})")
        if reply.get("memory"):
            return Result(Status.ERROR, f"ran out of memory (limit {self.limits.memory_mb} MB): {message}",
                          hint="Something allocates far more than the arrays involved need.", incident="memory")
        return Result.error(f"your code raised {message}", hint=check.hint)

    def _record(self, check: Check, result: Result, duration: float, output: str = "",
                traceback: str = "") -> CheckRecord:
        return CheckRecord(
            id=check.id, title=check.title, section=check.section, status=result.status,
            score=check_score(check.points, result),
            max_score=check.points, message=result.message, hint=result.hint or (
                check.hint if result.status in (Status.FAILED, Status.ERROR) else ""),
            diagnosis=list(result.diagnosis), duration_s=round(duration, 4),
            details=result.details, output=output, traceback=traceback, incident=result.incident)

    # -- every check ---------------------------------------------------------
    def _run_checks(self, load: LoadInfo) -> list[CheckRecord]:
        """Run every check, up to ``self.slots`` probes at a time; the records in check order.

        With one slot this is the plain loop: each check in order, one after the other. With
        more, the worker runs several probes at once, each in its own forked child (same
        limits, same seed, forked from the same untouched parent), the long checks first, and
        the grade is the one the plain loop gives:

        * a check waits for the checks named in its ``after`` (only ones earlier in the order,
          as in the plain loop) until their verdict can no longer change;
        * "shortened" timeouts are decided by the timeouts of the checks *earlier in the order*:
          a check sent with its full time while that was not yet known is judged again, once it
          is, against the shortened limit, by how long its probe ran (:meth:`_finalise`);
        * a probe that crashed (a signal) while another ran beside it is run again alone (a
          sibling's ``kill -1`` must not cost an innocent check);
        * a worker lost while several probes ran (whose fault?) makes the whole submission be
          graded again with one slot (:class:`_Serially`), exactly as the plain loop would.
        """
        n = len(self.checks)
        index = {c.id: i for i, c in enumerate(self.checks)}
        before = [[index[a] for a in c.after if a in index and index[a] < i] for i, c in enumerate(self.checks)]
        records: list[CheckRecord | None] = [None] * n
        self._runs: dict[int, tuple[float, _Flight]] = {}  # index -> (probe's own duration, its flight)
        self._final = 0            # records[:_final] are final (judged in order, see _finalise)
        self._final_timeouts = 0   # timeouts among them
        slots = max(1, self.slots)
        if slots == 1:
            queue = list(range(n))
        else:  # the long checks first, so the short ones fill the other slot meanwhile
            queue = sorted(range(n), key=lambda i: ((self.checks[i].timeout or 0) <= DEFAULT_TIMEOUT, i))
        alone: list[int] = []      # probes to run again with nothing beside them
        solo = None                # the one running so
        inflight: dict[int, _Flight] = {}

        def settled(j: int) -> bool:  # can records[j]'s status still change (to a shortened timeout)?
            rec = records[j]
            if rec is None:
                return False
            if j < self._final or rec.status is not Status.PASSED:
                return True
            run = self._runs.get(j)
            return run is None or run[0] <= _shortest(run[1].full)

        def ready(i: int) -> bool:
            return all(settled(j) for j in before[i])

        def launch(i: int) -> None:
            check = self.checks[i]
            t0 = time.perf_counter()
            self.progress("check", check=check)
            done = {self.checks[j].id: records[j] for j in before[i]}
            result = self._precheck(check, load, done)
            if result is None:
                known = sum(1 for j in range(i) if records[j] is not None and records[j].status is Status.TIMEOUT)
                try:
                    flight = self._send(i, check, known)
                except WorkerGone as exc:
                    if slots > 1:
                        raise _Serially() from None
                    self._stop()
                    result = _lost(exc)
                else:
                    if isinstance(flight, Result):
                        result = flight
                    else:
                        if inflight:
                            flight.overlapped = True
                            for other in inflight.values():
                                other.overlapped = True
                        inflight[i] = flight
                        self._answers(flight)  # while the probe runs
                        return
            records[i] = self._record(check, result, time.perf_counter() - t0)

        while queue or alone or inflight:
            # send as many probes as there are free slots (one alone, for a check run again)
            while len(inflight) < slots and solo not in inflight:
                if alone:
                    if not inflight:
                        solo = alone.pop(0)
                        launch(solo)
                    break
                pick = next((i for i in queue if ready(i)), None)
                if pick is None:
                    break
                queue.remove(pick)
                launch(pick)
            self._finalise(records)
            if not inflight:
                continue
            deadline = min(f.sent + f.timeout for f in inflight.values()) + GRACE_S
            try:
                head = self.worker.receive(max(0.0, deadline - time.monotonic()))
                flight = inflight.pop(head.get("tag"), None) if isinstance(head, dict) else None
                if flight is None:
                    raise WorkerGone("the worker answered for a probe it was not running")
                reply = self.worker.receive(GRACE_S) if head.get("status") == "frame" else head
            except WorkerGone as exc:
                if slots > 1:
                    raise _Serially() from None
                self._stop()
                for i, flight in list(inflight.items()):
                    records[i] = self._record(flight.check, _lost(exc), time.perf_counter() - flight.t0)
                inflight.clear()
                continue
            if slots > 1 and flight.overlapped and head.get("status") == "crash":
                alone.append(flight.index)  # was it its own doing? run it again with nothing beside it
                continue
            result, printed, tb = self._judge(flight, head, reply)
            self._runs[flight.index] = (float(head.get("duration_s") or 0.0), flight)
            records[flight.index] = self._record(flight.check, result, time.perf_counter() - flight.t0,
                                                 output=printed, traceback=tb)
            if result.status is Status.TIMEOUT:
                self._shorten(records, inflight)
        self._finalise(records)
        return records

    def _shorten(self, records: list, inflight: dict) -> None:
        """Running probes that now certainly deserve a shortened time (:data:`HUNG_AFTER` timeouts
        among the checks before them) get it at once."""
        for i, flight in inflight.items():
            known = sum(1 for j in range(i) if records[j] is not None and records[j].status is Status.TIMEOUT)
            if not flight.shortened and known >= HUNG_AFTER and flight.full > 2.0:
                flight.timeout, flight.shortened = _shortest(flight.full), True
                try:
                    self.worker.send({"op": "deadline", "tag": i, "timeout": flight.timeout})
                except WorkerGone:
                    pass  # noticed at the next receive

    def _finalise(self, records: list) -> None:
        """Make the finished records final in check order, and say each one's result.

        A check sent with its full time before the checks earlier in the order were all done may
        have deserved a shortened one (:data:`HUNG_AFTER` timeouts among those checks): judged
        now as the plain loop would have, a probe that ran longer than the shortened limit is a
        timeout of that limit."""
        while self._final < len(records) and records[self._final] is not None:
            i = self._final
            run = self._runs.get(i)
            if run is not None and self._final_timeouts >= HUNG_AFTER and run[1].full > 2.0:
                duration, flight = run
                short = _shortest(flight.full)
                if records[i].status is Status.TIMEOUT or duration > short:
                    records[i] = dataclasses.replace(
                        self._record(flight.check, _timeout_result(short, True), min(duration, short)),
                        output=records[i].output)
            if records[i].status is Status.TIMEOUT:
                self._final_timeouts += 1
            self._final += 1
            self.progress("result", record=records[i])

    # -- the whole run ------------------------------------------------------
    def run(self) -> Report:
        t0 = time.perf_counter()
        self.tmp = Path(tempfile.mkdtemp(prefix="nncheck-"))
        self.workdir = self.tmp / "submission"
        self.workdir.mkdir()
        self.outdir = self.tmp / "out"
        self.outdir.mkdir()
        if self.isolation is None:
            self.isolation = choose("auto")
        records: list[CheckRecord] = []
        try:
            self._spawn()  # start-up overlaps with copying and parsing the submission
            try:
                self.plan = prepare(self.path, self.workdir, self.heading)
            except SubmissionError as exc:
                self._stop()
                load = LoadInfo(False, str(exc))
            else:
                if self.isolation.user:
                    self._hand_over(self.isolation.user)
                self.progress("load", total=len(self.checks))
                self._prefetch()
                load = self._start()
            if not load.ok:  # the load message says why, once (load["message"])
                records = [dataclasses.replace(
                    self._record(check, Result.error("not run: the submission could not be loaded"), 0.0), hint="")
                    for check in self.checks]
                for record in records:
                    self.progress("result", record=record)
            else:
                try:
                    records = self._run_checks(load)
                except _Serially:  # the worker was lost with several probes running: again, one at a time
                    self._stop()
                    self.slots, self.restarts = 1, 0
                    load = self._start()
                    records = self._run_checks(load) if load.ok else [
                        self._record(c, Result(Status.ERROR, "not run: the submission's process kept dying",
                                               incident="worker-lost"), 0.0) for c in self.checks]
            done = {record.id: record for record in records}
            # the course's data loader matters only where a network was trained (a check that
            # builds on others and was not skipped): said once there, nowhere else
            if not any(c.downstream and done[c.id].status is not Status.SKIPPED for c in self.checks):
                load.data_loader = []
            if load.ok:  # where each failed check's mistake is; costs failed checks only
                from nncheck.point import point_records
                self.pointing_s = point_records(records, self.checks, load.plan, load.defs,
                                                errors=self.pointing_errors, forms=self.forms)
        finally:
            self._stop()
            if self._answer_pool is not None:
                self._answer_pool.shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(self.tmp, ignore_errors=True)
        return Report(submission=self.path, checks=records, load=load.to_json(), seed=self.seed,
                      duration_s=round(time.perf_counter() - t0, 4), version=__version__,
                      isolation=self.isolation.to_json())
