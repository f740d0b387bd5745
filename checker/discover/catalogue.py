"""The options a run knows: every :class:`nncheck.model.Option` the plugins declare.

Each family declares its own option (hook ``nncheck_options``, e.g.
``plugins/xavier/option.py``); the engine gathers them with :func:`collect`
into a :class:`Catalogue`, in the order of their checks, and hands it to
discovery. Nothing in ``nncheck.discover`` names an option: it asks the
catalogue.
"""
from __future__ import annotations

import functools
from typing import Iterable

from nncheck.model import Option
from nncheck.discover.sources import tokens, words


class Catalogue:
    """The declared options, by name, in the order of their checks."""

    def __init__(self, options: Iterable[Option] = ()):
        self.options: dict[str, Option] = {}
        self._family: dict[str, str] = {}
        for opt in options:
            if not isinstance(opt, Option):
                raise TypeError(f"nncheck_options must return nncheck.model.Option objects, not {opt!r}")
            if opt.name in self.options:
                raise ValueError(f"two plugins declare the option {opt.name!r}")
            for fam in opt.families:
                if fam in self._family:
                    raise ValueError(f"the family {fam!r} is graded for two options: "
                                     f"{self._family[fam]} and {opt.name}")
                self._family[fam] = opt.name
            self.options[opt.name] = opt

    def __iter__(self):
        return iter(self.options.values())

    def __contains__(self, name) -> bool:
        return name in self.options

    def __getitem__(self, name) -> Option:
        return self.options[name]

    def __len__(self) -> int:
        return len(self.options)

    def names(self) -> list[str]:
        return list(self.options)

    def for_family(self, family: str) -> Option | None:
        """The option whose checks ``family`` holds, or None (a core family)."""
        name = self._family.get(family)
        return self.options[name] if name else None

    def canonical(self) -> set[str]:
        return {o.canonical for o in self}

    def named_by(self, name: str) -> list[str]:
        """The options a class or parameter name says (``Dense_RMS`` says rmsprop)."""
        w, t = words(name), tokens(name)
        return [o.name for o in self if any(x in w for x in o.words) or any(x in t for x in o.tokens)]

    def forms_by_family(self, forms: dict) -> dict:
        """``{family: form}`` for the chosen ``forms`` (``{option: form}``)."""
        return {fam: forms[o.name] for o in self for fam in o.families if forms.get(o.name)}

    def label(self, name: str) -> str:
        opt = self.options.get(name)
        return opt.label if opt else name


def collect(pm, config, checks=()) -> Catalogue:
    """The options every registered plugin declares, ordered as their checks are (an option whose
    families have no check comes last). Each fingerprint must live in a module that holds a probe of
    one of its option's checks: that module is what the sandbox loads."""
    declared = [o for contributed in reversed(pm.hook.nncheck_options(config=config)) for o in contributed or []]
    first = {}
    for i, c in enumerate(checks):
        first.setdefault(c.family, i)
    position = {o.name: min((first[f] for f in o.families if f in first), default=len(first)) for o in declared}
    catalogue = Catalogue(sorted(declared, key=lambda o: position[o.name]))
    for opt in catalogue:
        modules = {c.probe.__module__ for c in checks if c.family in opt.families}
        module = opt.fingerprint.split(":")[0]
        if opt.fingerprint and modules and module not in modules:
            raise ValueError(f"option {opt.name}: its fingerprint {opt.fingerprint} is not in a module that "
                             f"holds the probes of its checks ({', '.join(sorted(modules))}): the sandbox "
                             "loads only those")
    remember(catalogue)
    return catalogue


_REMEMBERED: dict[str, Option] = {}


def remember(catalogue: Catalogue) -> None:
    """Keep the options' labels for reports rendered later from plain data (:func:`label`)."""
    _REMEMBERED.update(catalogue.options)


def _from_plugins(entry_points: bool) -> Catalogue:
    """The options the plugins declare, straight from a plugin manager: no engine (and so no
    sandbox) is built in a process that only renders a report, such as a student's kernel."""
    from nncheck.config import Config
    from nncheck.plugin_manager import get_plugin_manager

    pm = get_plugin_manager(entry_points=entry_points)
    config = Config()
    checks = [c for contributed in reversed(pm.hook.nncheck_checks(config=config)) for c in contributed or []]
    return collect(pm, config, checks)


@functools.lru_cache(maxsize=1)
def builtin() -> Catalogue:
    """The built-in plugins' options, for discovery called without an engine (tests, benchmarks)."""
    return _from_plugins(entry_points=False)


@functools.lru_cache(maxsize=1)
def installed() -> Catalogue:
    """The options of every installed plugin (built-in and entry points), for reports rendered
    later from plain data in a process that built no engine; the built-in ones alone when an
    installed plugin fails to load."""
    try:
        return _from_plugins(entry_points=True)
    except Exception:  # noqa: BLE001 - a broken installed plugin must not stop a report
        return builtin()


def label(name: str) -> str:
    """How reports name the option ``name``: as declared by a plugin this process loaded, else by an
    installed one, else the name itself."""
    if name not in _REMEMBERED:
        installed()
    opt = _REMEMBERED.get(name)
    return opt.label if opt else name


def canonical_class(family: str) -> str:
    """The class name a check family's option is known by (``XavierDense`` for ``xavier``), as
    declared by a plugin this process loaded, else by a built-in one; else the family itself."""
    if not any(family in o.families for o in _REMEMBERED.values()):
        installed()
    return next((o.canonical for o in _REMEMBERED.values() if family in o.families), family)
