"""Glue for the commands: collect checks from plugins and grade one submission."""
from __future__ import annotations

from pathlib import Path

from nncheck.config import Config
from nncheck.model import SECTIONS, Check, Report
from nncheck.plugin_manager import file_module_name, get_plugin_manager
from nncheck.runner import Limits, Session
from nncheck.scoring import score_report


class Engine:
    """A plugin manager, a config and the checks they produce, ready to grade submissions."""

    def __init__(self, config: Config | None = None, plugin_files=(), entry_points: bool = True):
        self.config = config or Config()
        files = [*self.config.enable_files, *plugin_files]
        self.plugin_files = list(dict.fromkeys(str(Path(p).resolve()) for p in files))
        self.pm = get_plugin_manager(self.plugin_files, disabled=self.config.disable,
                                     entry_points=entry_points, modules=self.config.enable_modules)
        self.checks = self.collect_checks()
        self.aliases = {}
        for mapping in self.pm.hook.nncheck_aliases(config=self.config):
            self.aliases.update(mapping or {})
        self.aliases.update(self.config.aliases)
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

    def grade(self, path, *, seed: int = 0, timeout: float | None = None, memory: int | None = None,
              only=None, progress=None) -> Report:
        checks = [c for c in self.checks if not only or any(c.id == o or c.family == o for o in only)]
        limits = Limits(timeout=timeout or self.config.timeout, load_timeout=self.config.load_timeout,
                        memory_mb=memory or self.config.memory)
        files = {file_module_name(Path(p)): p for p in self.plugin_files}
        session = Session(path, checks, seed=seed, limits=limits, aliases=self.aliases,
                          plugin_files=files, heading=self.config.heading, progress=progress)
        return score_report(session.run(), self.config)
