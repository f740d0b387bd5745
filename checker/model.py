"""The check/result model shared by plugins, the runner and the reporters.

A :class:`Check` has two halves:

* ``probe(ns, inputs) -> dict`` runs in the **worker** process against the
  student's namespace ``ns`` (a dict of the submission's module-level names)
  and returns plain data: numbers, strings, lists, dicts and NumPy arrays.
  It must be a module-level function (the worker finds it by
  ``module:qualname``) and must not compute verdicts.
* ``verdict(inputs, output) -> Result`` runs in the **grading** process and
  compares the probe's output with what :mod:`nncheck.reference` computes on
  the same ``inputs``.

``inputs(rng) -> dict`` is called in the grading process with a
``numpy.random.Generator`` seeded from ``--seed`` and the check id, so inputs
are chosen by the grader and are reproducible.
"""
from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # so f-strings and JSON show "passed"
        return self.value


SECTIONS = ("core", "options", "bonus")


@dataclass
class Result:
    """The verdict of one check.

    ``fraction`` is the share of the check's points earned (1.0 for a pass,
    0.0 for anything else unless a verdict grants partial credit).
    ``details`` is free-form plain data for reports (curves, arrays' shapes,
    expected vs got); it must be JSON-serialisable after
    :func:`nncheck.worker.wire.to_jsonable`.
    """

    status: Status
    message: str = ""
    hint: str = ""
    diagnosis: list[str] = field(default_factory=list)
    fraction: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    incident: str = ""  # what happened to the process: "", timeout, crash, memory, worker-lost

    @classmethod
    def passed(cls, message: str = "", **details: Any) -> "Result":
        return cls(Status.PASSED, message, details=details)

    @classmethod
    def failed(cls, message: str, hint: str = "", diagnosis: list[str] | str | None = None,
               fraction: float = 0.0, **details: Any) -> "Result":
        if isinstance(diagnosis, str):
            diagnosis = [diagnosis]
        return cls(Status.FAILED, message, hint, list(diagnosis or []), fraction, details)

    @classmethod
    def skipped(cls, message: str) -> "Result":
        return cls(Status.SKIPPED, message)

    @classmethod
    def error(cls, message: str, hint: str = "", **details: Any) -> "Result":
        return cls(Status.ERROR, message, hint, details=details)

    def earned(self) -> float:
        if self.fraction is not None:
            return float(self.fraction)
        return 1.0 if self.status is Status.PASSED else 0.0


class Fail(Exception):
    """Raised by a verdict (or a helper it calls) to end with a ready-made result."""

    def __init__(self, result: Result):
        super().__init__(result.message)
        self.result = result


Probe = Callable[[dict, dict], dict]
Verdict = Callable[[dict, dict], Result]
Inputs = Callable[[np.random.Generator], dict]


def _no_inputs(rng: np.random.Generator) -> dict:
    return {}


@dataclass
class Check:
    """One gradable check.

    :param id: dotted id; the part before the first dot is its family
        (``dense.backward.params`` is in family ``dense``).
    :param requires: names the submission must define for the check to run.
        A missing name fails a ``core`` check and skips an option/bonus one.
    :param after: ids of checks that must pass first; if one did not pass,
        this check is skipped ("prerequisite missing").
    :param timeout: seconds for the probe under the default ``--timeout``
        (10 s), scaled in proportion by another ``--timeout``; ``None``
        means the run's ``--timeout`` itself.
    :param entry: the one definition of the student's the check exercises
        (``"{cls}.forward"`` for a method of the class it grades, or a function
        name): a failure with no diagnosis of its own still names it.
    :param downstream: for a whole-network check (training, an experiment),
        the id prefixes of the unit checks whose mistakes it inherits
        (``("dense.", "relu.")``): it shows their pinned lines, and reports
        list it after them ("fix the unit first").
    """

    id: str
    title: str
    probe: Probe
    verdict: Verdict
    inputs: Inputs = _no_inputs
    section: str = "core"
    points: float = 1.0
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    timeout: float | None = None
    hint: str = ""
    entry: str = ""
    downstream: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise ValueError(f"check {self.id}: section must be one of {SECTIONS}, not {self.section!r}")
        if "." not in self.id:
            raise ValueError(f"check id {self.id!r} must look like 'family.name'")
        self.requires = tuple(self.requires)
        self.after = tuple(self.after)

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def probe_ref(self) -> str:
        """``module:qualname`` by which the worker finds the probe."""
        fn = self.probe
        if "<locals>" in fn.__qualname__ or "<lambda>" in fn.__qualname__:
            raise ValueError(f"check {self.id}: probe must be a module-level function")
        return f"{fn.__module__}:{fn.__qualname__}"

    def rng(self, seed: int) -> np.random.Generator:
        """The generator for this check's inputs: depends on the seed and the id only."""
        return np.random.default_rng([seed, zlib.crc32(self.id.encode())])


@dataclass(frozen=True)
class Diagnosis:
    """One recognisable mistake, as a family declares it (hook ``nncheck_diagnoses``).

    :param code: the name verdicts put in ``Result.diagnosis`` (``dense-bias-grad-mean``).
    :param title: a short human title reports show next to the check's own message.
    :param entry: where the mistake lives in the student's code: ``"{cls}.backward"``
        (a method of the class the check graded) or a function name. ``""``: nowhere
        in particular (pointing says nothing).
    :param pointer: ``pointer(ctx) -> list of pins``, the lines that make the mistake
        (:mod:`nncheck.point`); ``None`` names the entry's ``def`` line without
        pinning one.
    :param inherited: a mistake of ``Dense`` that an option class inherits with its
        ``backward``: the report says to fix it once, in the base class.
    """

    code: str
    title: str
    entry: str = ""
    pointer: Callable | None = None
    inherited: bool = False


@dataclass
class CheckRecord:
    """A check's result as reported: the check's identity plus its verdict."""

    id: str
    title: str
    section: str
    status: Status
    score: float
    max_score: float
    message: str = ""
    hint: str = ""
    diagnosis: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    traceback: str = ""
    incident: str = ""
    where: list[dict[str, Any]] = field(default_factory=list)  # where the mistake is: nncheck.point

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass
class Report:
    """Everything a reporter needs about one graded submission."""

    submission: str
    checks: list[CheckRecord]
    load: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    duration_s: float = 0.0
    version: str = ""
    sections: dict[str, dict[str, float]] = field(default_factory=dict)
    score: float = 0.0
    max_score: float = 0.0
    isolation: dict[str, str] = field(default_factory=dict)  # {"layer", "summary"}: nncheck.sandbox

    def exit_code(self) -> int:
        """The one place that decides ``nncheck submit``'s exit status."""
        if not self.load.get("ok", True):
            return 1
        bad = {Status.FAILED, Status.ERROR, Status.TIMEOUT}
        return 1 if any(c.status in bad for c in self.checks) else 0
