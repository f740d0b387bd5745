"""The check/result model shared by plugins, the runner and the reporters.

A :class:`Check` has two halves:

* ``probe(ns, inputs) -> dict`` runs in the **worker** process against the
  student's namespace ``ns`` (a dict of the submission's module-level names)
  and returns plain data: numbers, strings, lists, dicts and NumPy arrays.
  It must be a module-level function (the worker finds it by
  ``module:qualname``) and must not compute verdicts.
* ``verdict(inputs, output) -> Result`` runs in the **grading** process and
  compares the probe's output with the expected values for the same
  ``inputs``. A check that declares ``answers(inputs) -> dict`` (the one
  function of the check that calls a reference, :mod:`nncheck.answers`) gets
  them as a third argument: ``verdict(inputs, output, answers)``.

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
    :param pointer: ``pointer(ctx) -> list of pins`` (:mod:`nncheck.point`) for a failure
        that names no diagnosis: the line of the student's code it observed
        (``nncheck.point.constructs.only_return("{cls}.forward")``).
    :param answers: ``answers(inputs) -> dict`` of plain values and arrays: the expected
        outputs and the alternatives the verdict diagnoses from, the only code of the check
        that calls a reference. With it the verdict is ``verdict(inputs, output, answers)``;
        the student edition looks them up in its table instead (:mod:`nncheck.answers`).
    :param full_edition_only: the check needs the reference on values the student's code
        produced (so no table can hold its answers): the student edition skips it, saying the
        course grades it.
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
    pointer: Callable | None = None
    answers: Callable[[dict], dict] | None = None
    full_edition_only: bool = False

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


OPTION_LAYERS = ("dense", "layer", "units")


@dataclass(frozen=True)
class Coefficient:
    """A number an option's layer takes and its checks choose (option II's L2 coefficient).

    Discovery looks for the parameter that holds it by its name, so a form can be
    graded at the coefficients the checks pick.

    :param hyper: the canonical hyperparameter that holds it (``"alpha"``), one of
        the option's ``hyper``.
    :param recognise: ``recognise(params, backward) -> name or None``: which of a
        class's parameter names holds it. ``params`` are constructor parameters
        (never a boolean switch or a parameter whose default is a string), or with
        ``backward=True`` the parameters ``backward`` takes after ``input,
        grad_output`` (where looser names may count: ``backward(..., alpha=0)``).
    :param words: how a sentence calls it (``"the L2 coefficient"``).
    """

    hyper: str
    recognise: Callable[[list, bool], "str | None"]
    words: str


@dataclass(frozen=True)
class Option:
    """An option (or a bonus layer) that students write in forms of their own (hook ``nncheck_options``).

    The original notebook never names the option classes, so a student writes
    option I as ``XavierDense``, ``Xavier_Dense``, ``Dense(..., init='xavier')``
    or ``Dense(..., xavier=True)``. Discovery (:mod:`nncheck.discover`) reads the
    submission's sources, never running them, for the clues an option declares
    here, picks the strongest *form*, and grades it with the option's checks as if
    it were the canonical class. Built-in options are declared exactly like an
    instructor's own (``plugins/<family>/option.py``).

    :param name: the option's key (``"xavier"``): what a student's pin names
        (``# nncheck: xavier = Dense(init="xavier")``), the config's ``[options]``
        table too, and the key of ``load["options"]`` in reports.
    :param canonical: the class the option's checks require (``"XavierDense"``).
        A submission that defines it (or an alias of it) is graded as is.
    :param families: the check families graded for the option (``("xavier",)``);
        their options/bonus checks get the form, core checks never do.
    :param label: how reports name the option (``"option I (Xavier initialisation)"``).
    :param short: a shorter name for sentences (``"option I"``); ``""``: the label.
    :param words: lower-case pieces of a class name (underscores dropped) that say
        the option wherever they occur (``"xavier"``, ``"glorot"``).
    :param tokens: whole words of a name (split at underscores and case changes)
        that say it, too short to look for inside other words (``"rms"`` is in "norms").
    :param flag_values: strings that select the option when code compares a
        constructor parameter with them (``init == 'xavier'``, a dict of schemes).
    :param switch: whether a boolean constructor parameter named for the option
        turns it on (``Dense(..., xavier=True)``, ``use_rmsprop=True``).
    :param layer: how the canonical class is built: ``"dense"``, as
        ``cls(input_units, output_units, *hyper)`` (an own-named class must be a
        Dense-like layer); ``"layer"``, as ``cls(*hyper)`` (``Dropout(p)``);
        ``"units"``, as ``cls(units)`` (``BatchNorm``). For the last two any layer
        (forward and backward) named for the option is a form.
    :param hyper: the canonical class's hyperparameters, in order (after
        ``input_units, output_units`` for a dense layer): ``("learning_rate", "momentum")``.
        A form is handed them under the student's own names.
    :param hyper_names: the names a student may give each hyperparameter,
        lower-case (``{"momentum": ("momentum", "mu", "beta")}``); the learning
        rate's usual names are known without saying.
    :param fingerprint: ``"module:function"`` (or the function) of the worker-side function that
        confirms that a form found by a weak clue (a flag, a switch, a parameter)
        behaves like the option at all: ``function(ns, form, label)`` raises
        :class:`nncheck.worker.forms.Unconfirmed` with a sentence when it does not,
        and the option's checks are skipped with that sentence, never failed. It is
        decorated with :func:`nncheck.worker.forms.fingerprint` and lives in a module
        that holds probes of the option's checks (the only plugin code the sandbox
        loads). ``""``: a form is graded as found.
    :param confirm_names: whether a class named for the option is weak evidence too,
        confirmed by the fingerprint (``reg`` in a name says many things).
    :param coefficient: the number the option's layer takes whose parameter
        discovery must find (:class:`Coefficient`); a flag or switch form of the
        option is graded only when the class takes it, and a class whose parameter
        says it is a form by itself (``Dense(..., l2=0.0)``).
    :param try_params: constructor parameters (lower-case) that choose a scheme
        (``init``): one compared only with other strings is tried with the first of
        ``flag_values``, the weakest clue; its fingerprint sees ``form["confirm"] ==
        "fallback"`` and confirms strictly.
    :param object_params: constructor parameters (lower-case) that take an object
        (``optimizer``): a class named for the option that is not a layer, given to
        a Dense-like class that takes one, is a form (``Dense(..., optimizer=Adam())``).
    :param object_kind: how the evidence calls such a class (``"an optimizer class"``).
    :param complement: ``(word, what)``: when the canonical class's first
        constructor parameter contains ``word``, it takes ``1 -`` the first
        hyperparameter (``("keep", "a keep probability")`` for ``Dropout(keep_prob=...)``).
    :param helper_functions: whether a module-level function named for the option
        (``xavier_init``) is reported as seen but not graded, with how to pin the layer.
    :param pin_example: the call a report's advice to pin the option shows
        (``'Dense(init="xavier")'``); ``""``: a generic placeholder.
    :param settings: the option's settings an instructor may give in the config's
        ``[options]`` table beside the pins, ``{key: allowed values}`` with the default
        first (``{"l2_convention": ("lenient", "strict")}``); the engine takes them out of
        the pins, checks the value and keeps it in ``Config.settings`` for the checks.
    :param in_core: whether the core ``Dense`` itself is a candidate (an option built into it,
        always on, that the core's checks see: L2, an optimizer); its fingerprint decides.
    """

    name: str
    canonical: str
    families: tuple[str, ...]
    label: str
    short: str = ""
    words: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    flag_values: tuple[str, ...] = ()
    switch: bool = False
    layer: str = "dense"
    hyper: tuple[str, ...] = ()
    hyper_names: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    fingerprint: "str | Callable" = ""
    confirm_names: bool = False
    coefficient: Coefficient | None = None
    try_params: tuple[str, ...] = ()
    object_params: tuple[str, ...] = ()
    object_kind: str = ""
    complement: tuple[str, ...] = ()
    helper_functions: bool = False
    pin_example: str = ""
    settings: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    in_core: bool = False

    def __post_init__(self) -> None:
        if callable(self.fingerprint):  # the function itself: named as the worker finds it
            fn = self.fingerprint
            object.__setattr__(self, "fingerprint", f"{fn.__module__}:{fn.__qualname__}")
        for name in ("families", "words", "tokens", "flag_values", "hyper", "try_params", "object_params",
                     "complement"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "hyper_names", {k: tuple(v) for k, v in dict(self.hyper_names).items()})
        object.__setattr__(self, "settings", {k: tuple(v) for k, v in dict(self.settings).items()})
        if any(not v for v in self.settings.values()):
            raise ValueError(f"option {self.name}: each setting lists its allowed values, the default first")
        if not self.name or not self.canonical or not self.families:
            raise ValueError(f"option {self.name!r}: name, canonical and families are required")
        if self.layer not in OPTION_LAYERS:
            raise ValueError(f"option {self.name}: layer must be one of {OPTION_LAYERS}, not {self.layer!r}")
        if self.fingerprint and self.fingerprint.count(":") != 1:
            raise ValueError(f"option {self.name}: fingerprint must be 'module:function', not {self.fingerprint!r}")
        if self.coefficient is not None and self.coefficient.hyper not in self.hyper:
            raise ValueError(f"option {self.name}: its coefficient {self.coefficient.hyper!r} is not one of {self.hyper}")
        if self.complement and (len(self.complement) != 2 or not self.hyper):
            raise ValueError(f"option {self.name}: complement is (word, what) and needs a hyperparameter")

    @property
    def short_label(self) -> str:
        return self.short or self.label


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
    # where the inputs came from: {"kind": "public" | "seed" | "hidden", and for hidden runs the
    # "secret_fingerprint" and "secret_source"}: nncheck.classroom.hidden; never the secret
    inputs: dict[str, str] = field(default_factory=dict)

    def exit_code(self) -> int:
        """The one place that decides ``nncheck submit``'s exit status."""
        if not self.load.get("ok", True):
            return 1
        bad = {Status.FAILED, Status.ERROR, Status.TIMEOUT}
        return 1 if any(c.status in bad for c in self.checks) else 0
