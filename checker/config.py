"""The assignment config: ``nncheck.toml`` or ``[tool.nncheck]`` in ``pyproject.toml``.

Example::

    heading = "Peer-reviewed assignment"   # core graded on definitions before it
    timeout = 10                           # seconds per check
    memory = 1024                          # MB per worker
    [points]                               # per check id or per family
    "dense.backward.params" = 15
    dropout = 0                            # a family at once
    [sections]
    options = "best"                       # "best" (pick one of I-III), "sum", or "off"
    bonus = "add"                          # "add" (extra credit) or "off"
    [aliases]
    Dense_reg = "L2Dense"
    [tolerances]
    "training.accuracy" = 0.03
    [plugins]
    disable = ["nncheck.plugins.dropout"]
    enable = ["course_checks", "checks/tanh.py"]   # installed modules, or files next to this config
    [training]
    epochs = 3
    data = "mnist.npz"                     # full MNIST, relative to this file
    [feedback]                             # per check id, family or section: full | message | score
    core = "message"                       # message only: no hint, no diagnosis, no expected values
    [visibility]                           # visible | hidden | after_due_date | after_published
    "dense.backward.params" = "after_due_date"
    [options]                              # which code is graded as which option (nncheck.discover.scan)
    xavier = "Dense(init='xavier')"
    l2_convention = "strict"               # an option's setting (see below)
    [grading]                              # graded runs' hidden inputs (nncheck.classroom.hidden)
    secret = "..."                         # never in a config students get

Unknown keys are errors (naming the key and the file), so a typo never
silently changes a grade.

Besides pins, ``[options]`` holds the settings an option declares
(:attr:`nncheck.model.Option.settings`); the engine moves them to
``Config.settings`` and refuses a value the option does not allow. The
built-in one: ``l2_convention`` (option II), ``"lenient"`` by default: the
notebook's half convention ``dW += alpha * W`` (the gradient of
``(alpha/2) * sum(W**2)``) passes with a note naming it; ``"strict"``: only
the assignment's ``2 * alpha * W`` passes, and the half convention fails with
its diagnosis.
"""
from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """The config file is missing, unreadable or has a bad key or value."""


@dataclass
class Config:
    path: str | None = None
    heading: str | None = "Peer-reviewed assignment"
    timeout: float = 10.0
    load_timeout: float = 30.0
    memory: int = 1024
    points: dict[str, float] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=lambda: {"options": "best", "bonus": "add"})
    aliases: dict[str, str] = field(default_factory=dict)
    tolerances: dict[str, float] = field(default_factory=dict)
    disable: list[str] = field(default_factory=list)
    enable_modules: list[str] = field(default_factory=list)
    enable_files: list[str] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # [plugin.NAME] tables for third-party plugins
    feedback: dict[str, str] = field(default_factory=dict)    # key -> full | message | score
    visibility: dict[str, str] = field(default_factory=dict)  # key -> visible | hidden | ...
    options: dict[str, str] = field(default_factory=dict)     # option -> form, e.g. xavier = "Dense(init='xavier')"
    settings: dict[str, str] = field(default_factory=dict)    # an option's setting -> value (take_settings)
    secret: str | None = field(default=None, repr=False)     # [grading] secret: nncheck.classroom.hidden

    def take_settings(self, declared: dict[str, tuple[str, ...]]) -> None:
        """Move the option settings the plugins declare (``{key: allowed values, default first}``) out of
        the ``[options]`` pins into :attr:`settings`, each checked; a setting not given gets its default.

        :raises ConfigError: a value the option does not allow (naming the key and the file).
        """
        for key, allowed in declared.items():
            if key in self.options:
                value = self.options.pop(key)
                if value not in allowed:
                    raise _bad(self.path or "config", f"options.{key}",
                               f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")
                self.settings[key] = value
            self.settings.setdefault(key, allowed[0])

    def tolerance(self, check_id: str, default: float) -> float:
        return float(self.tolerances.get(check_id, default))

    def points_for(self, check_id: str, default: float) -> float:
        if check_id in self.points:
            return float(self.points[check_id])
        family = check_id.split(".", 1)[0]
        return float(self.points.get(family, default))

    def feedback_for(self, check_id: str, section: str = "") -> str:
        """How much feedback a student sees for the check: ``full``, ``message`` or ``score``
        (:mod:`nncheck.report.feedback`); keyed by check id, else family, else section."""
        return _by_id_family_section(self.feedback, check_id, section, "full")

    def visibility_for(self, check_id: str, section: str = "") -> str:
        """When a student sees the check: ``visible``, ``hidden``, ``after_due_date`` or
        ``after_published``; keyed by check id, else family, else section."""
        return _by_id_family_section(self.visibility, check_id, section, "visible")


FEEDBACK_LEVELS = ("full", "message", "score")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _by_id_family_section(table: dict[str, str], check_id: str, section: str, default: str) -> str:
    for key in (check_id, check_id.split(".", 1)[0], section):
        if key and key in table:
            return table[key]
    return default


_SCALARS = {"heading": (str, type(None)), "timeout": (int, float), "load_timeout": (int, float),
            "memory": (int,)}
_TABLES = {"points", "sections", "aliases", "tolerances", "plugins", "training", "plugin", "feedback",
           "visibility", "options", "grading"}
_SECTION_RULES = {"options": {"best", "sum", "off"}, "bonus": {"add", "off"}}


def _bad(where: str, key: str, why: str) -> ConfigError:
    return ConfigError(f"{where}: {key}: {why}")


def from_mapping(data: dict, where: str = "config", base: Config | None = None) -> Config:
    """The config ``data`` (a parsed TOML table) says; over a copy of ``base`` when given (its tables
    updated, its scalars replaced: a selftest variant's own settings, say)."""
    cfg = copy.deepcopy(base) if base is not None else Config(path=where)
    for key, value in data.items():
        if key in _SCALARS:
            if not isinstance(value, _SCALARS[key]) or isinstance(value, bool):
                raise _bad(where, key, f"expected a {_SCALARS[key][0].__name__}, got {value!r}")
            if key != "heading" and value <= 0:
                raise _bad(where, key, "must be positive")
            setattr(cfg, key, value if key == "heading" else type(getattr(cfg, key))(value))
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise _bad(where, key, "expected a table")
            _apply_table(cfg, key, value, where)
        else:
            known = ", ".join(sorted([*_SCALARS, *_TABLES]))
            raise _bad(where, key, f"unknown key (known: {known})")
    return cfg


def _apply_table(cfg: Config, key: str, table: dict, where: str) -> None:
    if key in ("points", "tolerances"):
        for k, v in table.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise _bad(where, f"{key}.{k}", f"expected a non-negative number, got {v!r}")
        getattr(cfg, key).update({k: float(v) for k, v in table.items()})
    elif key == "sections":
        for k, v in table.items():
            if k not in _SECTION_RULES:
                raise _bad(where, f"sections.{k}", f"unknown section (known: {', '.join(_SECTION_RULES)})")
            if v not in _SECTION_RULES[k]:
                raise _bad(where, f"sections.{k}", f"expected one of {sorted(_SECTION_RULES[k])}, got {v!r}")
            cfg.sections[k] = v
    elif key == "aliases":
        for k, v in table.items():
            if not (isinstance(v, str) and k.isidentifier() and v.isidentifier()):
                raise _bad(where, f"aliases.{k}", "expected identifier = \"ContractName\"")
            cfg.aliases[k] = v
    elif key == "plugins":
        for k, v in table.items():
            if k not in ("disable", "enable"):
                raise _bad(where, f"plugins.{k}", "unknown key (known: disable, enable)")
            if not (isinstance(v, list) and all(isinstance(x, str) and x for x in v)):
                raise _bad(where, f"plugins.{k}", "expected a list of plugin names")
            if k == "disable":
                cfg.disable = list(v)
                continue
            base = Path(where).parent if where != "config" else Path.cwd()
            for item in v:
                if item.endswith(".py"):
                    path = (base / item).resolve()
                    if not path.is_file():
                        raise _bad(where, "plugins.enable", f"no plugin file {path}")
                    cfg.enable_files.append(str(path))
                else:
                    cfg.enable_modules.append(item)
    elif key == "training":
        allowed = {"epochs": int, "n_train": int, "n_val": int, "batch_size": int, "data": str}
        for k, v in table.items():
            if k not in allowed:
                raise _bad(where, f"training.{k}", f"unknown key (known: {', '.join(allowed)})")
            if k == "data":
                if not isinstance(v, str) or not v:
                    raise _bad(where, "training.data", "expected a path to full MNIST")
                base = Path(where).parent if where != "config" else Path.cwd()
                table = {**table, "data": str((base / v).resolve())}
                continue
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise _bad(where, f"training.{k}", f"expected a positive integer, got {v!r}")
        cfg.training.update(table)
    elif key == "plugin":
        cfg.extra.update(table)
    elif key == "options":  # nncheck.discover.scan: which code is graded as which option
        for k, v in table.items():
            if not isinstance(v, str) or not v.strip():
                raise _bad(where, f"options.{k}", "expected a class name or a call, e.g. \"Dense(init='xavier')\"")
        cfg.options.update(table)
    elif key == "grading":  # the course secret of graded runs' hidden inputs
        for k, v in table.items():
            if k != "secret":
                raise _bad(where, f"grading.{k}", "unknown key (known: secret)")
            if not isinstance(v, str) or not v.strip():
                raise _bad(where, "grading.secret", "expected a string (the course secret)")
        cfg.secret = table.get("secret", cfg.secret)
    elif key in ("feedback", "visibility"):
        allowed = FEEDBACK_LEVELS if key == "feedback" else VISIBILITIES
        for k, v in table.items():
            if v not in allowed:
                raise _bad(where, f"{key}.{k}", f"expected one of {', '.join(allowed)}, got {v!r}")
        getattr(cfg, key).update(table)


COURSE_DIR = Path(__file__).parent / "data" / "course"
"""Where the student edition (``nncheck release``) keeps the course's config and plugin files."""


def load_config(path: str | Path | None) -> Config:
    """Read ``path`` (``nncheck.toml`` or a ``pyproject.toml``); ``None`` gives the defaults, or in
    the student edition the course's config it was released with (and its plugin files)."""
    if path is None:
        if not (COURSE_DIR / "nncheck.toml").is_file():
            return Config()
        cfg = load_config(COURSE_DIR / "nncheck.toml")
        listed = COURSE_DIR / "plugins.txt"
        if listed.is_file():
            cfg.enable_files += [str(COURSE_DIR / name) for name in listed.read_text(encoding="utf-8").split()]
        return cfg
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    if p.name == "pyproject.toml":
        data = data.get("tool", {}).get("nncheck")
        if data is None:
            raise ConfigError(f"{p}: has no [tool.nncheck] table")
    return from_mapping(data, str(p))
