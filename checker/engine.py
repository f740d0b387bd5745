"""Glue for the commands: collect checks from plugins and grade one submission."""
from __future__ import annotations

import os
from pathlib import Path

from nncheck.discover import catalogue
from nncheck.discover.apply import apply, describe_options
from nncheck.discover.scan import scan
from nncheck.config import Config
from nncheck.model import SECTIONS, Check, Report
from nncheck.plugin_manager import get_plugin_manager
from nncheck.report import diagnoses
from nncheck.verdicts import guard
from nncheck.sandbox.session import Limits, Session, probe_modules
from nncheck.sandbox import ISOLATION_VAR, Isolation, choose
from nncheck.scoring import score_report


class UnknownCheck(ValueError):
    """``--check`` named a check or family that no plugin contributes."""


class Engine:
    """A plugin manager, a config and the checks they produce, ready to grade submissions."""

    def __init__(self, config: Config | None = None, plugin_files=(), entry_points: bool = True,
                 isolation: str | None = None):
        """:param isolation: ``auto`` (the best layer available) or a layer to insist on
        (:data:`nncheck.sandbox.CHOICES`); resolved on the first grade. ``None``:
        ``$NNCHECK_ISOLATION`` if set (a deployment's override, e.g. an
        autograder image that accepts ``process``), else ``auto``."""
        self.config = config or Config()
        self.entry_points = entry_points
        self.isolation_choice = isolation or os.environ.get(ISOLATION_VAR) or "auto"
        self._isolation: Isolation | None = None
        files = [*self.config.enable_files, *plugin_files]
        self.plugin_files = list(dict.fromkeys(str(Path(p).resolve()) for p in files))
        self.pm = get_plugin_manager(self.plugin_files, disabled=self.config.disable,
                                     entry_points=entry_points, modules=self.config.enable_modules)
        # an option's settings in [options] (l2's convention, say) are not pins: taken out and checked first
        self.config.take_settings({key: allowed for contributed in self.pm.hook.nncheck_options(config=self.config)
                                   for opt in contributed or [] for key, allowed in opt.settings.items()})
        self.checks = guard(self.collect_checks())
        probe_modules(self.checks)  # a probe beside its verdict is refused now, not mid-run
        # every family's diagnoses, for reports and pointing; one code declared twice differently is refused now
        self.diagnoses = diagnoses.collect(self.pm.hook.nncheck_diagnoses(config=self.config))
        diagnoses.register(self.diagnoses, self.checks)
        self.aliases = {}
        for mapping in self.pm.hook.nncheck_aliases(config=self.config):
            self.aliases.update(mapping or {})
        self.aliases.update(self.config.aliases)
        self.options = catalogue.collect(self.pm, self.config, self.checks)  # what discovery looks for
        self.formats = {}
        for mapping in reversed(self.pm.hook.nncheck_report_formats()):
            self.formats.update(mapping or {})

    def collect_checks(self) -> list[Check]:
        checks: list[Check] = []
        for contributed in reversed(self.pm.hook.nncheck_checks(config=self.config)):
            checks.extend(contributed or [])
        seen = set()
        for c in checks:
            if c.id in seen:
                raise ValueError(f"two plugins define the check {c.id!r}")
            seen.add(c.id)
            c.points = self.config.points_for(c.id, c.points)
        order = {s: i for i, s in enumerate(SECTIONS)}
        first = {}
        for i, c in enumerate(checks):
            first.setdefault(c.family, i)
        # sections in order; within one, families in plugin order, each family's checks together
        return sorted(checks, key=lambda c: (order[c.section], first[c.family]))

    def select(self, only=()) -> list[Check]:
        """The checks ``--check`` names (a check id, a family or a section, ``core``, each); every
        check when ``only`` is empty.

        :raises UnknownCheck: when a name matches no check.
        """
        def named(c, o):
            return c.id == o or c.family == o or c.section == o

        unknown = [o for o in only or () if not any(named(c, o) for c in self.checks)]
        if unknown:
            raise UnknownCheck(f"no such check or family: {', '.join(unknown)} (see `nncheck list-checks`)")
        return [c for c in self.checks if not only or any(named(c, o) for o in only)]

    def grade(self, path, *, seed: int = 0, timeout: float | None = None, memory: int | None = None,
              only=None, progress=None, inputs: dict | None = None, slots: int | None = None) -> Report:
        """Grade ``path`` on the inputs of ``seed``; ``inputs`` says where that seed came from, for
        the report (:mod:`nncheck.classroom.hidden`; default: public for 0, else a fixed seed).
        ``slots``: probes run at once (:func:`nncheck.sandbox.session.default_slots` when ``None``);
        the grade is the same whatever their number."""
        checks = self.select(only)
        found = scan(path, self.config, self.aliases, self.options)  # options as the student wrote them
        checks = apply(checks, found)
        limits = Limits(timeout=timeout or self.config.timeout, load_timeout=self.config.load_timeout,
                        memory_mb=memory or self.config.memory)
        forms = found.by_family()
        session = Session(path, checks, seed=seed, limits=limits, aliases=self.aliases,
                          heading=self.config.heading, progress=progress, isolation=self.isolation,
                          data_paths=[self.config.training.get("data")], forms=forms, slots=slots)
        report = score_report(describe_options(session.run(), found), self.config)
        report.inputs = dict(inputs) if inputs else {"kind": "public" if seed == 0 else "seed"}
        return report

    @property
    def isolation(self) -> Isolation:
        """The isolation layer every submission graded by this engine runs under."""
        if self._isolation is None:
            self._isolation = choose(self.isolation_choice)
        return self._isolation
