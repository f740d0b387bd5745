"""The registry of what families declare for reports and pointing: diagnoses, and
which checks build on others.

A verdict names a recognisable mistake by a code (``Result.diagnosis``). The family
that emits it declares it once, as a :class:`nncheck.model.Diagnosis` returned by its
``nncheck_diagnoses`` hook: the title reports show, the definition and the pointer
pointing uses (:mod:`nncheck.point`), whether an option class inherits the mistake
from ``Dense``. This module holds no code of its own. :class:`nncheck.engine.Engine`
registers what its plugins declare when it starts (:func:`register`), and reports,
pointing and discovery ask here (:func:`lookup`, :func:`title`, :func:`inherited`).

The same registry keeps, by check id, a whole-network check's ``Check.downstream``
(the unit checks it builds on, :func:`downstream`): pointing lends it their pinned
lines, and the HTML report ranks it after them.

When nothing was registered in this process (a report re-rendered from its JSON),
the first question loads the built-in plugins' declarations, once. A code nobody
declared has no title (``""``) and no pointer.
"""
from __future__ import annotations

import threading
from typing import Iterable

from nncheck.model import Diagnosis

__all__ = ["DiagnosisConflict", "collect", "register", "lookup", "title", "diagnosis_title", "inherited",
           "downstream", "registered"]

_diagnoses: dict[str, Diagnosis] = {}
_downstream: dict[str, tuple[str, ...]] = {}
_ready = False
_lock = threading.Lock()


class DiagnosisConflict(ValueError):
    """Two plugins declare one diagnosis code differently (another title, entry or pointer)."""


def collect(contributions: Iterable[Iterable[Diagnosis] | None]) -> dict[str, Diagnosis]:
    """``{code: Diagnosis}`` from the lists the ``nncheck_diagnoses`` hook returned.

    :raises DiagnosisConflict: when one code is declared twice, differently.
    """
    out: dict[str, Diagnosis] = {}
    for declared in contributions:
        for d in declared or ():
            if not isinstance(d, Diagnosis):
                raise TypeError(f"nncheck_diagnoses must return Diagnosis objects, not {d!r}")
            known = out.get(d.code)
            if known is not None and known != d:
                what = (f"titles {known.title!r} and {d.title!r}" if known.title != d.title
                        else "different entries, pointers or inheritance")
                raise DiagnosisConflict(f"the diagnosis {d.code!r} is declared twice, with {what}")
            out[d.code] = d
    return out


def register(diagnoses: Iterable[Diagnosis] | dict, checks=()) -> None:
    """Make ``diagnoses`` (and the ``downstream`` of ``checks``) what this process knows.

    A later engine's declarations replace an earlier one's for the same code or check.
    """
    global _ready
    items = diagnoses.values() if isinstance(diagnoses, dict) else diagnoses
    with _lock:
        _diagnoses.update({d.code: d for d in items})
        _downstream.update({c.id: tuple(c.downstream) for c in checks if getattr(c, "downstream", ())})
        _ready = True


def _load_builtins() -> None:
    """Fill the registry from the installed plugins, built-in and entry points (no engine ran in
    this process: a report re-rendered from JSON). An entry point that fails to load is left out."""
    global _ready
    with _lock:
        if _ready:
            return
        from nncheck.config import Config
        from nncheck.plugin_manager import get_plugin_manager

        try:
            pm = get_plugin_manager()
        except Exception:  # noqa: BLE001 - a broken installed plugin must not stop a report
            pm = get_plugin_manager(entry_points=False)
        config = Config()
        _diagnoses.update(collect(pm.hook.nncheck_diagnoses(config=config)))
        for checks in pm.hook.nncheck_checks(config=config):
            _downstream.update({c.id: tuple(c.downstream) for c in checks or () if c.downstream})
        _ready = True


def registered() -> dict[str, Diagnosis]:
    """Every known diagnosis, by code."""
    if not _ready:
        _load_builtins()
    return dict(_diagnoses)


def lookup(code: str) -> Diagnosis | None:
    """The declaration of ``code``, or None."""
    if not _ready:
        _load_builtins()
    return _diagnoses.get(str(code))


def title(code: str) -> str:
    """A short human title for a diagnosis code (``""`` when none is known)."""
    d = lookup(code)
    return d.title if d is not None else ""


diagnosis_title = title


def inherited(code: str) -> bool:
    """Is ``code`` a mistake of ``Dense`` that an option class inherits with its ``backward``?"""
    d = lookup(code)
    return bool(d is not None and d.inherited)


def downstream(check_id: str) -> tuple[str, ...]:
    """The unit-check id prefixes a whole-network check builds on (``()`` for a unit check)."""
    if not _ready:
        _load_builtins()
    return _downstream.get(str(check_id), ())
