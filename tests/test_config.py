"""The assignment config (TOML), scoring rules and class-name aliases."""
import json
import textwrap

import pytest
from click.testing import CliRunner

from nncheck.cli import main
from nncheck.config import Config, ConfigError, from_mapping, load_config


def write(tmp_path, text, name="nncheck.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_defaults_without_a_file():
    cfg = load_config(None)
    assert cfg.sections == {"options": "best", "bonus": "add"}
    assert cfg.aliases == {}


def test_the_l2_family_names_the_notebooks_dense_reg(engine):
    """The original notebook calls its L2 layer ``Dense_reg``: the l2 family says so, not the engine."""
    assert engine.aliases["Dense_reg"] == "L2Dense"


def test_full_config_round_trip(tmp_path):
    cfg = load_config(write(tmp_path, """
        heading = "Part two"
        timeout = 5
        memory = 512
        [points]
        "relu.forward" = 7
        dense = 3
        [sections]
        options = "sum"
        [aliases]
        MyDense = "Dense"
        [tolerances]
        "training.accuracy" = 0.05
        [plugins]
        disable = ["nncheck.plugins.dropout"]
        [training]
        epochs = 2
    """))
    assert cfg.heading == "Part two" and cfg.timeout == 5.0 and cfg.memory == 512
    assert cfg.points_for("relu.forward", 1) == 7 and cfg.points_for("dense.init", 1) == 3
    assert cfg.points_for("loss.grad", 4) == 4
    assert cfg.sections["options"] == "sum" and cfg.aliases["MyDense"] == "Dense"
    assert cfg.tolerance("training.accuracy", 0.02) == 0.05
    assert cfg.disable == ["nncheck.plugins.dropout"] and cfg.training == {"epochs": 2}


def test_pyproject_tool_table(tmp_path):
    cfg = load_config(write(tmp_path, """
        [project]
        name = "course"
        [tool.nncheck]
        timeout = 3
    """, name="pyproject.toml"))
    assert cfg.timeout == 3.0


@pytest.mark.parametrize("text, key", [
    ("timout = 3", "timout"),
    ("timeout = 'soon'", "timeout"),
    ("[points]\nrelu = -1", "points.relu"),
    ("[sections]\noptions = 'all'", "sections.options"),
    ("[training]\nepochs = 0", "training.epochs"),
    ("[plugins]\nenable = [3]", "plugins.enable"),
    ("[plugins]\nenable = ['missing.py']", "plugins.enable"),
    ("[plugins]\nonly = []", "plugins.only"),
])
def test_bad_keys_name_the_key_and_the_file(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value) and str(path) in str(info.value)


def test_bad_config_is_exit_2_with_one_line(tmp_path):
    path = write(tmp_path, "[points\n")
    result = CliRunner().invoke(main, ["submit", "reference", "--config", str(path)])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output and "Traceback" not in result.output


def test_points_from_config_change_the_score(tmp_path):
    path = write(tmp_path, '[points]\n"relu.forward" = 11\n')
    result = CliRunner().invoke(main, ["submit", "reference", "--config", str(path), "--check", "relu",
                                       "--format", "json"])
    report = json.loads(result.output)
    assert {c["id"]: c["max_score"] for c in report["checks"]}["relu.forward"] == 11


def test_alias_from_a_plugin_hook(tmp_path):
    """nncheck_aliases: a plugin maps a course's own class name onto the contract's."""
    plugin = tmp_path / "alias_plugin.py"
    plugin.write_text(textwrap.dedent('''
        import nncheck
        @nncheck.hookimpl
        def nncheck_aliases(config):
            return {"Rectifier": "ReLU"}
    '''))
    sub = tmp_path / "s.py"
    sub.write_text("import numpy as np\nclass Rectifier:\n    def forward(self, x): return np.maximum(x, 0)\n"
                   "    def backward(self, x, g): return g * (x > 0)\n")
    result = CliRunner().invoke(main, ["submit", str(sub), "--plugin", str(plugin), "--check", "relu",
                                       "--format", "json"])
    report = json.loads(result.output)
    assert result.exit_code == 0, report
    assert report["load"]["aliased"] == {"ReLU": "Rectifier"}


def test_plugins_enabled_from_the_config(tmp_path):
    """plugins.enable: a file next to the config, and an importable module."""
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "extra_config_probes.py").write_text(textwrap.dedent('''
        def probe(ns, inputs):
            return {"has": "Dense" in ns}
    '''))
    (tmp_path / "checks" / "extra.py").write_text(textwrap.dedent('''
        import nncheck
        from nncheck.model import Check, Result
        from extra_config_probes import probe

        def verdict(inputs, output):
            return Result.passed() if output["has"] else Result.failed("no Dense")

        @nncheck.hookimpl
        def nncheck_checks(config):
            return [Check("extra.dense_defined", "Dense is defined", probe, verdict, points=1)]
    '''))
    path = write(tmp_path, '[plugins]\nenable = ["checks/extra.py", "nncheck.plugins.relu"]\n')
    runner = CliRunner()
    listed = runner.invoke(main, ["list-checks", "--config", str(path)])
    assert "extra.dense_defined" in listed.output and listed.output.count("relu.forward") == 1
    result = runner.invoke(main, ["submit", "reference", "--config", str(path), "--check", "extra",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    bad = write(tmp_path, '[plugins]\nenable = ["no_such_module_xyz"]\n', name="bad.toml")
    failed = runner.invoke(main, ["list-checks", "--config", str(bad)])
    assert failed.exit_code == 2 and "no_such_module_xyz" in failed.output


def test_an_option_setting_is_taken_out_of_the_pins_and_checked():
    from nncheck.engine import Engine

    cfg = from_mapping({"options": {"l2_convention": "strict", "xavier": "Dense(init='xavier')"}}, "nncheck.toml")
    Engine(cfg, entry_points=False)
    assert cfg.settings["l2_convention"] == "strict"
    assert cfg.options == {"xavier": "Dense(init='xavier')"}  # a pin stays a pin
    assert Engine(Config(), entry_points=False).config.settings["l2_convention"] == "lenient"  # the default
    bad = from_mapping({"options": {"l2_convention": "exact"}}, "nncheck.toml")
    with pytest.raises(ConfigError, match=r"nncheck.toml: options.l2_convention: expected one of 'lenient', 'strict'"):
        Engine(bad, entry_points=False)
