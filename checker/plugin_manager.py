"""Build the plugin manager: built-in plugins, entry points, then plugin files."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pluggy

from nncheck import hookspecs

ENTRY_POINT_GROUP = "nncheck"

DEFAULT_PLUGINS = (
    "nncheck.plugins.relu",
    "nncheck.plugins.dense",
    "nncheck.plugins.loss",
    "nncheck.plugins.network",
    "nncheck.plugins.minibatches",
    "nncheck.plugins.training",
    "nncheck.plugins.gradcheck",
    "nncheck.plugins.formats",
    "nncheck.plugins.forms",
    "nncheck.plugins.dropout",
    "nncheck.plugins.batchnorm",
    "nncheck.plugins.xavier",
    "nncheck.plugins.l2",
    "nncheck.plugins.optimizers",
)

#: Built-in plugins that only contribute selftest variants (written from the reference): the student
#: edition does not ship them.
INSTRUCTOR_ONLY = ("nncheck.plugins.forms",)


class PluginError(Exception):
    """A plugin could not be loaded (a bad ``--plugin`` file, say)."""


def file_module_name(path: Path) -> str:
    """The module name a ``--plugin`` file is imported under (here and in the worker)."""
    return "nncheck_plugin_" + "".join(c if c.isalnum() else "_" for c in path.stem)


def import_plugin_file(path: str | Path):
    """Import a plugin file under :func:`file_module_name`.

    Its folder goes on ``sys.path`` (at the end), so the file can import the
    module beside it that holds its probes (``from leaky_probes import ...``).
    """
    path = Path(path).resolve()
    name = file_module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise PluginError(f"plugin file {path} failed to import: {exc!r}") from exc
    return module


def get_plugin_manager(plugin_files=(), disabled=(), entry_points: bool = True,
                       modules=()) -> pluggy.PluginManager:
    """Return a plugin manager with every hook spec and every plugin registered.

    :param plugin_files: paths of single-file plugins (``--plugin``).
    :param disabled: plugin names (module names or entry-point names) not to register.
    :param modules: importable module names to register too (config ``plugins.enable``).
    """
    pm = pluggy.PluginManager("nncheck")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        if name in disabled or name.rsplit(".", 1)[-1] in disabled:
            continue
        if name in INSTRUCTOR_ONLY and importlib.util.find_spec(name) is None:
            continue  # the student edition (nncheck release) leaves it out
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        for name in disabled:
            pm.set_blocked(name)
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            raise PluginError(f"plugin module {name!r} failed to import: {exc!r}") from exc
        if not pm.is_registered(module):
            pm.register(module, name=name)
    for path in plugin_files:
        module = import_plugin_file(path)
        if pm.is_registered(module):
            continue
        pm.register(module, name=module.__name__)
    pm.check_pending()
    return pm


def plugin_origins(pm: pluggy.PluginManager) -> list[dict]:
    """What is loaded and where it came from, for ``nncheck plugins``."""
    dists = {id(p): d for p, d in pm.list_plugin_distinfo()}
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        if dist is not None:
            origin = f"entry point ({dist.project_name} {dist.version})"
        elif name in DEFAULT_PLUGINS:
            origin = "built-in"
        else:
            origin = f"file {getattr(plugin, '__file__', '?')}"
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append({"name": name, "origin": origin, "hooks": hooks,
                     "file": getattr(plugin, "__file__", None)})
    return rows
