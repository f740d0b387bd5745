"""Find the assignment's options however the student wrote them (grader side).

The original notebook never names the option classes, so students write
option I as ``Dense(..., init='xavier')``, ``Xavier_Dense``, ``DenseXavier``;
option II as ``DenseL2``, ``Dense(..., l2=...)``, ``backward(input,
grad_output, l2_reg_factor=...)``; option III as ``Dense(...,
optimizer='momentum')``, ``Dense_Momentum`` or ``Dense(..., optimizer=Adam())``;
Dropout with a keep probability. :func:`scan` reads the submission's sources
(never runs them) and lists every *candidate form* of each option the plugins
declare (:mod:`nncheck.discover.candidates`), plus the student's pins and the
instructor's ``[options]`` (:mod:`nncheck.discover.pins`).

The worker side (:mod:`nncheck.worker.forms`) builds the layer from a form
and, for a form found by a weak clue, first confirms that it behaves like the
option at all. An unconfirmed form is reported and skipped, never failed. A
canonical class (``XavierDense``) always wins over discovery; a pin or the
config wins over everything. Core checks are never touched.
"""
from __future__ import annotations

import dataclasses
import time

from nncheck.discover import catalogue as _catalogue
from nncheck.discover.candidates import MAX_CANDIDATES, STRENGTH, candidates
from nncheck.discover.catalogue import Catalogue
from nncheck.discover.pins import pinned_forms
from nncheck.discover.sources import collect, is_layer, read_sources, words

PUBLIC = ("option", "label", "evidence", "where", "how", "kind")


@dataclasses.dataclass
class OptionsFound:
    """What :func:`scan` found: the form chosen for each option, every candidate, what was not graded."""

    forms: dict = dataclasses.field(default_factory=dict)        # option -> chosen form
    behaviour: dict = dataclasses.field(default_factory=dict)    # option -> candidates nothing names, to try
    candidates: dict = dataclasses.field(default_factory=dict)   # option -> [forms]
    seen: list = dataclasses.field(default_factory=list)         # option-like code not graded: sentences
    classes: dict = dataclasses.field(default_factory=dict)
    duration_s: float = 0.0
    options: Catalogue | None = None                             # the declarations scanned for

    @property
    def catalogue(self) -> Catalogue:
        return self.options if self.options is not None else _catalogue.builtin()

    def tried(self, option: str) -> dict | None:
        """The form an option's checks get: the chosen one, else the candidates nothing names."""
        return self.forms.get(option) or self.behaviour.get(option)

    def by_family(self) -> dict:
        """``{family: form}`` of the chosen forms."""
        return self.catalogue.forms_by_family(self.forms) if self.forms else {}

    def to_json(self) -> dict:
        return {"graded": {o: public(f) for o, f in self.forms.items()},
                "candidates": {o: [public(f) for f in fs] for o, fs in self.candidates.items() if fs},
                "not_graded": list(self.seen), "duration_s": round(self.duration_s, 4)}


def public(form: dict) -> dict:
    """What a report shows of a form."""
    return {k: v for k, v in form.items() if k in PUBLIC}


def scan(path, config=None, aliases=None, options: Catalogue | None = None) -> OptionsFound:
    """The forms of ``options`` (the engine's catalogue; the built-in options when None) in the
    submission at ``path``. ``aliases`` (``{alias: contract name}``) count as the canonical names."""
    t0 = time.perf_counter()
    options = options if options is not None else _catalogue.builtin()
    d = OptionsFound(options=options)
    try:
        sources = read_sources(path)
    except OSError:
        sources = []
    classes, pins, functions = collect(sources)
    d.classes = classes
    found = candidates(options, classes, d.seen, functions)
    aliases = aliases or {}
    defined = set(classes) | {t for a, t in aliases.items() if a in classes}
    pinned = pinned_forms(options, pins, config, d.seen)
    for opt in options:
        option = opt.name
        cands = found.get(option, [])
        if option in pinned:
            d.forms[option] = pinned[option]
            d.candidates[option] = [pinned[option]] + cands
            continue
        if opt.canonical in defined:
            keep = [c for c in cands if c.get("keep") and c["class"] == opt.canonical]
            if keep:
                d.forms[option] = keep[0]
            continue
        evidence = [c for c in cands if c["strength"] < STRENGTH["behaviour"]]
        if not evidence:
            d.seen += unused_clues(options, opt, classes, functions)
        if not cands:
            continue
        if evidence:
            d.candidates[option] = evidence
            d.forms[option] = ranked(cands)
        else:  # no name, flag or pin: the layers that behave like the option, if any, are graded
            d.behaviour[option] = ranked(cands)
    d.duration_s = time.perf_counter() - t0
    return d


def ranked(cands: list) -> dict:
    """The form handed to an option's checks: the strongest candidate, carrying the ranked list the
    sandbox tries in order (:func:`nncheck.worker.forms.select`) until one behaves like the option."""
    first = dict(cands[0])
    if len(cands) > 1 or cands[0].get("confirm") == "strict":
        first["candidates"] = [dict(c) for c in cands[:MAX_CANDIDATES]]
    return first


def unused_clues(catalogue: Catalogue, opt, classes, functions) -> list[str]:
    """Sentences about code whose name says ``opt`` but that is not a form nncheck can grade."""
    clue_words = opt.words + opt.flag_values
    what = opt.label
    example = f"<the layer, e.g. {opt.pin_example}>" if opt.pin_example else "<your layer class or call>"
    pin = f"`# nncheck: {opt.name} = {example}`"
    out = []
    for name, infos in classes.items():
        hits = catalogue.named_by(name)
        if opt.name not in hits or name == opt.canonical:
            continue
        info = infos[-1]
        where = f"{info.where}, line {info.line}"
        if len(hits) > 1:
            why = f"its name says {', '.join(hits)}: more than one option"
        elif opt.layer != "dense":
            why = "it is not a layer (no forward and backward)"
        elif not is_layer(name, classes):
            why = "it is not a layer (no forward and backward): a helper is not graded as an option"
        else:
            why = ("it is not a Dense-like layer built as cls(input_units, output_units, ...): an "
                   "experiment's network is not graded as an option")
        out.append(f"`{name}` ({where}) looks like {what}, but {why}. If it is your {what}, pin it: {pin}.")
    if opt.helper_functions:
        for name, where in functions.items():
            if any(x in words(name) for x in clue_words):
                out.append(f"function `{name}` ({where}) looks like {what}, but nncheck grades {what} on a layer "
                           f"(`{opt.canonical}` or a Dense that uses `{name}`). Pin the layer that uses it: {pin}.")
    return out[:5]
