"""The extension story: hooks documented and tested, --plugin files, entry points
in a real virtual environment, and nncheck.testing in a few lines."""
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from nncheck import hookspecs
from nncheck.cli import main
from nncheck.testing import assert_catches, assert_passes, mutate_reference

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "nncheck-leakyrelu"

HOOKS = [name for name, fn in vars(hookspecs).items() if name.startswith("nncheck_") and callable(fn)]

PROBES_FILE = textwrap.dedent('''
    """The worker side of the one-off check: runs in the sandbox, returns plain data."""

    def probe(ns, inputs):
        return {"lr": float(ns["Dense"](3, 2, learning_rate=0.25).learning_rate)}
''')

PLUGIN_FILE = textwrap.dedent('''
    """A one-off instructor check: Dense keeps its learning_rate attribute."""
    import nncheck
    from nncheck.model import Check, Result

    from custom_lr_probes import probe

    def verdict(inputs, output):
        if output["lr"] == 0.25:
            return Result.passed()
        return Result.failed("Dense does not store learning_rate", diagnosis="custom-lr")

    @nncheck.hookimpl
    def nncheck_checks(config):
        return [Check("custom.lr", "Dense stores its learning rate", probe, verdict,
                      requires=("Dense",), points=1)]
''')


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc) > 60 and (":return:" in doc or ":param" in doc), f"{hook} lacks documentation"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook):
    """As datasette does: a hook no test mentions is a hook nobody knows works."""
    tests = Path(__file__).parent
    mentions = [p for p in tests.glob("test_*.py") if p.name != Path(__file__).name and hook in p.read_text()]
    mentions += [p for p in (REPO / "examples").rglob("*.py") if hook in p.read_text()]
    assert mentions, f"no test or example exercises {hook}"


def test_plugin_file_adds_a_check(tmp_path):
    plugin = tmp_path / "my_checks.py"
    plugin.write_text(PLUGIN_FILE)
    (plugin.parent / "custom_lr_probes.py").write_text(PROBES_FILE)
    runner = CliRunner()
    listed = runner.invoke(main, ["list-checks", "--plugin", str(plugin)])
    assert "custom.lr" in listed.output
    shown = runner.invoke(main, ["plugins", "--plugin", str(plugin)])
    assert "my_checks" in shown.output and "file" in shown.output
    result = runner.invoke(main, ["submit", "reference", "--plugin", str(plugin), "--check", "custom",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"custom.lr"' in result.output and '"passed"' in result.output


def test_broken_plugin_file_is_a_usage_error(tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text("import nncheck\nraise RuntimeError('oops')\n")
    result = CliRunner().invoke(main, ["list-checks", "--plugin", str(plugin)])
    assert result.exit_code == 2 and "failed to import" in result.output


def test_testing_helpers_in_a_few_lines(tmp_path):
    assert_passes("nncheck.reference", "relu", tmp_path=tmp_path, entry_points=False)
    bad = mutate_reference("layers.py", "return grad_output * (input > 0)", "return grad_output")
    assert_catches(bad, "relu", "relu-backward-not-masked", checks="relu", tmp_path=tmp_path,
                   entry_points=False)


@pytest.mark.slow
@pytest.mark.xdist_group("plugin-venv")
def test_entry_point_plugin_in_a_fresh_virtualenv(tmp_path, example_plugins_venv):
    """pip-install nncheck and the example package into a new venv; the checks run from the entry point."""
    # --system-site-packages reuses numpy & co. already installed; nncheck and the plugins are
    # installed into the venv itself (a regular, non-editable install), once for the session
    # (tests/conftest.py: example_plugins_venv, shared with test_example_option_plugin.py)
    py = example_plugins_venv / "python"
    nncheck = example_plugins_venv / "nncheck"
    shown = subprocess.run([str(nncheck), "plugins"], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert "entry point (nncheck-leakyrelu 0.1.0)" in shown.stdout
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    secrets = [f"{site}/nncheck/reference/layers.py", f"{site}/nncheck_leakyrelu/reference.py",
               f"{site}/nncheck_leakyrelu/plugin.py", f"{site}/nncheck/plugins/dense/__init__.py"]
    assert all(os.path.exists(p) for p in secrets)  # a regular install: the references sit in site-packages
    submission = tmp_path / "leaky.py"
    submission.write_text("import numpy as np\nclass LeakyReLU:\n    def __init__(self, slope=0.01):\n"
                          "        self.slope = slope\n    def forward(self, x):\n"
                          "        return np.where(x > 0, x, self.slope * x)\n"
                          "    def backward(self, x, g):\n        return g * (x > 0)\n"
                          "def _peek(paths):\n    seen = []\n    for p in paths:\n        try:\n"
                          "            seen.append(p + ':' + str(len(open(p).read())))\n"
                          "        except OSError as e:\n            pass\n    return seen\n"
                          f"_seen = print('SEEN', _peek({secrets!r}))\n")
    proc = subprocess.run([str(nncheck), "submit", str(submission), "--check", "leakyrelu", "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    import json
    report = json.loads(proc.stdout)
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses == {"leakyrelu.forward": "passed", "leakyrelu.backward": "failed"}
    if shutil.which("bwrap"):  # the installed packages' references are covered inside the sandbox
        assert report["isolation"]["layer"] == "bubblewrap"
        assert "SEEN []" in report["load"]["output"], report["load"]["output"]
    # selftest holds the installed example to the built-in bar: its mutant is caught, its variant passes
    selftest = subprocess.run([str(nncheck), "selftest", "--variant", "leakyrelu"], capture_output=True,
                              text=True, cwd=tmp_path)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "leakyrelu-good" in selftest.stdout and "leakyrelu-relu-backward" in selftest.stdout
    # the installed copy of nncheck is the one that ran, not this checkout
    where = subprocess.run([str(py), "-c", "import nncheck; print(nncheck.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path, check=True).stdout
    assert str(example_plugins_venv.parent) in where
