"""An instructor's own option is discovered exactly like a built-in one, through hooks alone.

The plugin below (two files, as docs/plugins.md lays a plugin out) declares a
made-up option, He initialisation, with its own canonical class (``HeDense``),
the word that names it (``he``), its flag values, and a fingerprint in its
probes module. Nothing in ``checker/`` knows it: the submissions name their
classes their own way (``Dense_He``, ``Dense(..., init='he')``) and still get
graded as the option, and the fingerprint runs in the sandbox.
"""
from __future__ import annotations

import textwrap

import pytest

from nncheck.config import Config
from nncheck.discover.scan import scan
from nncheck.engine import Engine

PROBES = '''
import numpy as np
from nncheck.probes import construct
from nncheck.worker.forms import Unconfirmed, build, discovered, fingerprint, option_class, weights


@discovered
def probe_init(ns, inputs):
    cls = option_class(ns, inputs, "HeDense")
    layer = construct(cls, "HeDense(input_units, output_units)", inputs["n_in"], inputs["n_out"])
    return {"var": float(np.asarray(layer.weights, dtype=float).var())}


@fingerprint
def confirm_he(ns, form, label):
    mine = weights(build(ns, form, 400, 30)).var()
    plain = weights(construct(ns["Dense"], "Dense(input_units, output_units)", 400, 30)).var()
    if abs(np.log(mine / plain)) < np.log(1.5):
        raise Unconfirmed(f"`{label}` draws its weights like plain `Dense` (the he-fingerprint says so)")
'''

PLUGIN = '''
import nncheck
from nncheck.model import Check, Option, Result

from he_probes import confirm_he, probe_init


def inputs(rng):
    return {"n_in": 400, "n_out": 30}


def verdict(inputs, output):
    target = 2.0 / inputs["n_in"]
    if abs(output["var"] / target - 1.0) < 0.25:
        return Result.passed(f"variance {output['var']:.3g}")
    return Result.failed(f"variance {output['var']:.3g}, not 2/in = {target:.3g}", diagnosis="he-wrong-variance")


HE = Option(name="he", canonical="HeDense", families=("he",), label="bonus He initialisation",
            tokens=("he",), flag_values=("he", "kaiming"), switch=True, hyper=("learning_rate",),
            fingerprint=confirm_he)


@nncheck.hookimpl
def nncheck_options(config):
    return [HE]


@nncheck.hookimpl
def nncheck_checks(config):
    return [Check("he.init", "HeDense draws its weights with variance 2/in", probe_init, verdict, inputs,
                  section="bonus", points=2, requires=("HeDense",))]
'''

DENSE = '''
import numpy as np


class Layer:
    def forward(self, input):
        return input

    def backward(self, input, grad_output):
        return grad_output


class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1{extra}):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * ({scale})
        self.biases = np.zeros(output_units)

    def forward(self, input):
        return input @ self.weights + self.biases

    def backward(self, input, grad_output):
        return grad_output @ self.weights.T
'''

OWN_NAMED = DENSE.format(extra="", scale="0.01") + '''

class Dense_He(Dense):
    def __init__(self, input_units, output_units, learning_rate=0.1):
        super().__init__(input_units, output_units, learning_rate)
        self.weights = np.random.randn(input_units, output_units) * np.sqrt(2.0 / input_units)
'''


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("he_plugin")
    (folder / "he_probes.py").write_text(textwrap.dedent(PROBES))
    (folder / "he_plugin.py").write_text(textwrap.dedent(PLUGIN))
    return Engine(Config(), plugin_files=[folder / "he_plugin.py"], entry_points=False)


def _submit(tmp_path, text):
    path = tmp_path / "submission.py"
    path.write_text(text)
    return path


def test_the_plugins_option_is_in_the_engines_catalogue(engine):
    he = engine.options["he"]
    assert he.canonical == "HeDense" and he.fingerprint == "he_probes:confirm_he"
    assert engine.options.for_family("he") is he
    assert [o.name for o in engine.options][:5] == ["xavier", "l2", "momentum", "rmsprop", "adam"]  # built-ins unchanged


def test_a_class_named_for_the_option_is_found_by_the_static_scan(engine, tmp_path):
    found = scan(_submit(tmp_path, OWN_NAMED), engine.config, engine.aliases, engine.options)
    form = found.forms["he"]
    assert form["class"] == "Dense_He" and form["kind"] == "class"
    assert form["evidence"] == "a Dense layer named `Dense_He`"
    assert found.by_family()["he"] is form
    # the built-in scan knows nothing of it
    assert "he" not in scan(_submit(tmp_path, OWN_NAMED)).forms


def test_a_class_of_its_own_name_is_graded_as_the_option(engine, tmp_path):
    report = engine.grade(_submit(tmp_path, OWN_NAMED), only=["he"])
    (check,) = report.checks
    assert str(check.status) == "passed", check.message
    assert check.message.startswith("graded `Dense_He` as bonus He initialisation (a Dense layer named `Dense_He`)")
    assert report.load["options"]["graded"]["he"]["label"] == "Dense_He"
    assert check.details["graded_form"]["label"] == "Dense_He"


def test_a_flag_is_confirmed_in_the_sandbox_by_the_plugins_fingerprint(engine, tmp_path):
    he = "np.sqrt(2.0 / input_units) if init == 'he' else 0.01"
    report = engine.grade(_submit(tmp_path, DENSE.format(extra=", init='small'", scale=he)), only=["he"])
    (check,) = report.checks
    assert str(check.status) == "passed", check.message
    assert check.message.startswith("graded `Dense(..., init='he')` as bonus He initialisation")
    # the same flag drawing like plain Dense: the fingerprint says so, and the check is skipped, not failed
    same = "0.01 if init == 'he' else 0.01"
    report = engine.grade(_submit(tmp_path, DENSE.format(extra=", init='small'", scale=same)), only=["he"])
    (check,) = report.checks
    assert str(check.status) == "skipped", check.message
    assert "the he-fingerprint says so" in check.message


def test_declarations_are_checked_when_the_engine_gathers_them():
    import pluggy

    import nncheck
    from nncheck import hookspecs
    from nncheck.discover.catalogue import collect
    from nncheck.model import Check, Option
    from nncheck.plugins.xavier.sandboxed import probe_init

    def manager(*options):
        class Declares:
            @nncheck.hookimpl
            def nncheck_options(self, config):
                return list(options)
        pm = pluggy.PluginManager("nncheck")
        pm.add_hookspecs(hookspecs)
        pm.register(Declares())
        return pm

    with pytest.raises(ValueError, match="two plugins declare the option 'a'"):
        collect(manager(Option("a", "A", ("a",), "a"), Option("a", "B", ("b",), "b")), Config())
    with pytest.raises(ValueError, match="graded for two options"):
        collect(manager(Option("a", "A", ("f",), "a"), Option("b", "B", ("f",), "b")), Config())
    check = Check("a.x", "t", probe_init, lambda i, o: None, section="bonus")
    with pytest.raises(ValueError, match="not in a module that holds the probes"):
        collect(manager(Option("a", "A", ("a",), "a", fingerprint="elsewhere:confirm")), Config(), [check])
    with pytest.raises(ValueError, match="layer must be one of"):
        Option("a", "A", ("a",), "a", layer="conv")
