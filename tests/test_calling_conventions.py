"""Issue 13: no false failures from the grader's own stand-ins and calls.

Every way a correct notebook may be called (extra defaulted parameters,
flags passed on to every layer, keyword-only options, ``*args``/``**kwargs``,
renamed positional parameters, duck-typed layers) passes; a parameter the
assignment's call cannot fill is one sentence at the failing check.

The helpers are tested in-process; the false-failure search grades every
generated variant of the reference end to end (about 25 s on 2 cores).
"""
import abc
import inspect
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nncheck.config import Config
from nncheck.verdicts import SIGNATURE_HINT as HINT, guard, guard_verdict
from nncheck.selftest.conventions import (FIXTURES, SEARCH, BrokenVariant, fixtures, reference_source,
                                         search_variants)
from nncheck.model import Check, Result, Status
from nncheck.plugins.network import sandboxed as net_probes
from nncheck.probes import (SIGNATURE_ERROR, ConventionError, call_as_assignment, call_forward, construct,
                            make_dense, mode_flags, reports_conventions)
from nncheck.selftest import collect_variants

from conftest import by_id

TRAIN = "train(network, X, y)"
MINIBATCHES = "iterate_minibatches(inputs, targets, batchsize, shuffle=False)"


# --------------------------------------------------------------------------
# call_as_assignment: extra defaulted parameters are fine, missing ones are one sentence
# --------------------------------------------------------------------------

def test_extra_defaulted_parameters_get_their_defaults():
    def train(network, X, y, epoch=0, *, verbose=False, **options):
        return (network, X, y, epoch, verbose, options)

    assert call_as_assignment(train, "train", TRAIN, "n", "x", "y") == ("n", "x", "y", 0, False, {})


def test_a_parameter_without_default_is_named_in_one_sentence():
    def train(network, X, y, epoch):
        raise AssertionError("never called")

    with pytest.raises(ConventionError) as info:
        call_as_assignment(train, "train", TRAIN, "n", "x", "y")
    assert str(info.value) == ("`train` needs `epoch`, which the assignment's `train(network, X, y)` "
                               "does not pass: give it a default.")


def test_several_missing_parameters_and_keyword_only_ones():
    def train(network, X, y, epoch, *, lr):
        pass

    with pytest.raises(ConventionError, match=r"needs `epoch` and `lr`, .* give them defaults\."):
        call_as_assignment(train, "train", TRAIN, "n", "x", "y")


def test_no_room_for_an_argument_the_assignment_passes():
    def iterate_minibatches(inputs, targets, batchsize):
        yield inputs, targets

    with pytest.raises(ConventionError) as info:
        call_as_assignment(iterate_minibatches, "iterate_minibatches", MINIBATCHES, [1], [2], 1, False)
    assert str(info.value).startswith("`iterate_minibatches` has no parameter for `shuffle`, which the "
                                      "assignment's `iterate_minibatches(inputs, targets, batchsize, "
                                      "shuffle=False)` passes")


@pytest.mark.parametrize("signature, flag", [
    ("inputs, targets, batchsize, shuffle=False", "shuffle"),
    ("X, Y, bs, shuffled=False", "shuffled"),                      # renamed: positional, as the assignment calls
    ("inputs, targets, batchsize, *, shuffle=False", "shuffle"),   # keyword-only: by its name
    ("inputs, targets, batchsize, seed=None, shuffle=False", "shuffle"),  # an extra before it: by its name
    ("inputs, targets, batchsize, *args, shuffle=False, **kwargs", "shuffle"),
    ("inputs, targets, batchsize, **kwargs", "kwargs.get('shuffle')"),
])
def test_iterate_minibatches_signatures_students_write(signature, flag):
    ns = {}
    exec(f"def f({signature}):\n    return {flag}\n", ns)
    assert call_as_assignment(ns["f"], "iterate_minibatches", MINIBATCHES, [1], [2], 1, True) is True


def test_required_arguments_go_by_position_whatever_the_names():
    """The assignment calls train(network, X, y) positionally: a signature that swaps the names is
    called positionally too, not rescued by name."""
    def train(network, y, X):
        return X

    assert call_as_assignment(train, "train", TRAIN, "n", "x", "y") == "y"


def test_a_type_error_inside_the_students_code_is_not_a_convention_problem():
    def train(network, X, y, epoch=0):
        return len(5)  # the student's own bug

    with pytest.raises(TypeError) as info:
        call_as_assignment(train, "train", TRAIN, "n", "x", "y")
    assert not isinstance(info.value, ConventionError)


def test_layer_methods_and_constructors_are_named_by_class():
    class ReLU:
        def __init__(self, name):
            self.name = name

    class Dense:
        def forward(self, input, training):
            return input

    with pytest.raises(ConventionError, match=r"^`ReLU` needs `name`, which the assignment's `ReLU\(\)`"):
        construct(ReLU, "ReLU()")
    with pytest.raises(ConventionError, match=r"^`Dense.forward` needs `training`, which the assignment's "
                                              r"`layer.forward\(input\)` does not pass"):
        call_forward(Dense(), np.ones((2, 2)))


@pytest.mark.parametrize("init, how", [
    ("input_units, output_units, learning_rate=0.1", "keyword learning_rate"),
    ("n_in, n_out, lr=0.1, init='normal', seed=None", "keyword lr"),
    ("input_units, output_units, *, learning_rate=0.1", "keyword learning_rate"),
    ("n_in, n_out, rate=0.1", "third positional argument"),
    ("*args, **kwargs", "keyword learning_rate (**kwargs)"),
    ("n_in, n_out, **kwargs", "keyword learning_rate (**kwargs)"),
])
def test_make_dense_passes_the_rate_whatever_it_is_called(init, how):
    ns = {}
    exec(f"class Dense:\n    def __init__(self, {init}):\n"
         "        a = locals()\n"
         "        kw = a.get('kwargs') or {}\n"
         "        self.rate = a.get('learning_rate', a.get('lr', a.get('rate', kw.get('learning_rate'))))\n"
         "        if self.rate is None and a.get('args'):\n            self.rate = a['args'][2]\n", ns)
    layer, passed = make_dense(ns["Dense"], "Dense", 3, 2, 0.25)
    assert (layer.rate, passed) == (0.25, how)


def test_mode_flags_name_the_students_flag():
    class Dropout:
        def forward(self, input, training=True):
            return input

        def backward(self, input, grad_output, *, is_training=None):
            return grad_output

    layer = Dropout()
    assert mode_flags(layer.forward, False) == {"training": False}
    assert mode_flags(layer.backward, True) == {"is_training": True}
    assert mode_flags(lambda input: input, True) == {}
    assert mode_flags(lambda input, mode="train": input, True) == {}  # a string mode: not guessed


# --------------------------------------------------------------------------
# The network checks' stand-in layers
# --------------------------------------------------------------------------

LAYERS = [{"kind": "affine", "W": np.eye(3), "b": np.zeros(3)}, {"kind": "tanh"}]


def test_stand_ins_take_and_record_extra_arguments():
    log = []
    a, b = net_probes.build_network(LAYERS, log)
    x = np.ones((2, 3))
    a.forward(x, training=True)
    b.forward(x, True, "sgd")
    b(x)  # calling a layer is calling forward
    a.backward(x, np.ones((2, 3)), optimizer="adam", step=3)
    assert [c["op"] for c in log] == ["forward", "forward", "forward", "backward"]
    assert log[0]["extra"] == {"kwargs": {"training": True}}
    assert log[1]["extra"] == {"args": [True, "sgd"]}
    assert "extra" not in log[2]
    assert log[3]["extra"] == {"kwargs": {"optimizer": "adam", "step": 3}}
    with pytest.raises(TypeError):
        a.forward()  # as Python itself would say


def test_stand_ins_mirror_the_students_layer():
    class Layer:
        def __init__(self):
            self.params = []
            self.log = ["the student's own log"]
            self.forward(np.zeros((1, 3)))  # not a call the student's network functions made

        def forward(self, x, training=False):
            return x

        def backward(self, grad_output, input, **kwargs):  # the student's own order
            return grad_output

        def parameters(self):
            return self.params

    log = []
    layer = net_probes.build_network(LAYERS, log, base=Layer)[0]
    assert isinstance(layer, Layer) and layer.parameters() == [] and log == []
    assert list(inspect.signature(layer.forward).parameters) == ["x", "training"]
    x, g = np.full((2, 3), 2.0), np.ones((2, 3))
    layer.forward(x=x, training=True)
    layer.backward(g, x)
    assert np.array_equal(log[0]["input"], x) and log[0]["extra"] == {"kwargs": {"training": True}}
    assert np.array_equal(log[1]["input"], x) and np.array_equal(log[1]["grad_output"], g)


@pytest.mark.parametrize("kind", ["abstract", "init-needs-arguments", "not-a-class"])
def test_odd_student_layers_fall_back_to_plain_stand_ins(kind):
    if kind == "abstract":
        class Layer(abc.ABC):
            @abc.abstractmethod
            def parameters(self):
                ...
    elif kind == "init-needs-arguments":
        class Layer:
            def __init__(self, name):
                self.name = name
    else:
        Layer = object()
    log = []
    network = net_probes.build_network(LAYERS, log, base=Layer)
    network[0].forward(np.ones((2, 3)))
    assert log and log[0]["ok"]


def test_the_issue_network_forward_passes_training_to_every_layer():
    """forward(network, X, training=False) handing training= on: the report's TypeError is gone."""
    ns = {}
    exec("class Layer:\n"
         "    def forward(self, input, training=False):\n        return input\n"
         "def forward(network, X, training=False):\n"
         "    acts = []\n"
         "    for layer in network:\n"
         "        X = layer.forward(X, training=training)\n"
         "        acts.append(X)\n"
         "    return acts\n", ns)
    out = net_probes.probe_forward(ns, {"layers": LAYERS, "X": np.ones((2, 3))})
    assert out["activations"]["kind"] == "list" and len(out["calls"]) == 2
    assert all(c["extra"] == {"kwargs": {"training": False}} for c in out["calls"])


# --------------------------------------------------------------------------
# From probe to report: a signature problem is a failed check with the sentence
# --------------------------------------------------------------------------

def test_probe_returns_the_sentence_and_the_verdict_fails_with_it():
    @reports_conventions
    def probe(ns, inputs):
        return {"out": call_as_assignment(ns["train"], "train", TRAIN, 1, 2, 3)}

    def train(network, X, y, epoch):
        pass

    output = probe({"train": train}, {})
    assert set(output) == {SIGNATURE_ERROR}
    verdict = guard_verdict(lambda inputs, output: Result.passed())
    result = verdict({}, output)
    assert result.status is Status.FAILED and result.message == output[SIGNATURE_ERROR] and result.hint == HINT
    assert verdict({}, {"out": 1}).status is Status.PASSED
    check = guard([Check("x.y", "t", probe, verdict)])[0]
    assert check.verdict is verdict  # guarded once


def test_every_builtin_verdict_is_guarded(engine):
    for check in engine.checks:
        assert getattr(check.verdict, "__nncheck_guarded__", False), check.id


def test_issue_notebook_end_to_end(engine, write_py):
    """The real notebook's convention passes the network checks; a parameter without default fails one
    check with the sentence, not every check with a TypeError."""
    source = (reference_source()
              .replace("def forward(self, input):", "def forward(self, input, training=False):")
              .replace("def forward(network, X):", "def forward(network, X, training=False):")
              .replace("input = layer.forward(input)", "input = layer.forward(input, training=training)"))
    report = engine.grade(write_py(source), only=["network", "training"])
    assert all(c.status is Status.PASSED for c in report.checks), [(c.id, c.message) for c in report.checks]

    bad = source.replace("def train(network, X, y):", "def train(network, X, y, epoch):")
    checks = by_id(engine.grade(write_py(bad, "bad.py"), only=["network", "training"]))
    for cid in ("network.train", "training.accuracy"):
        assert checks[cid].status is Status.FAILED, (cid, checks[cid].status, checks[cid].message)
        assert checks[cid].message == ("`train` needs `epoch`, which the assignment's `train(network, X, y)` "
                                       "does not pass: give it a default.")
    assert checks["network.forward"].status is Status.PASSED


def test_a_layer_method_without_default_fails_its_checks_with_the_sentence(engine, write_py):
    source = reference_source().replace(
        '    def forward(self, input):\n        """``input`` ``[b, n]`` -> ``max(input, 0)`` ``[b, n]``."""',
        '    def forward(self, input, training):\n        """ReLU."""')
    checks = by_id(engine.grade(write_py(source), only=["relu"]))
    assert checks["relu.forward"].status is Status.FAILED
    assert checks["relu.forward"].message.startswith("`ReLU.forward` needs `training`, which the assignment's "
                                                     "`layer.forward(input)` does not pass")


# --------------------------------------------------------------------------
# Fixtures (graded in nncheck selftest) and the false-failure search
# --------------------------------------------------------------------------

def test_fixtures_are_correct_variants_of_the_selftest(engine):
    zoo = {v.name: v for v in collect_variants(engine)}
    for v in fixtures():
        assert not isinstance(v, BrokenVariant), (v.name, getattr(v, "reason", ""))
        assert zoo[v.name].kind == "correct" and zoo[v.name].families is None
    assert len(FIXTURES) >= 7


def test_search_variants_change_only_the_calling_convention():
    reference = reference_source()
    variants = search_variants()
    assert len(variants) == len(SEARCH) >= 10
    for v in variants:
        assert not isinstance(v, BrokenVariant), (v.name, getattr(v, "reason", ""))
        text = v.files["submission.py"]
        assert text != reference and "def train(" in text, v.name
    texts = {v.name: v.files["submission.py"] for v in variants}
    assert "layer.forward(input, training=training)" in texts["convention-search-pass-training-keyword"]
    assert "layer.forward(input, training)" in texts["convention-search-pass-training-positional"]
    assert "shuffle=False, seed=None" not in texts["convention-search-extras-before-defaults"]
    assert "seed=None, shuffle=False" in texts["convention-search-extras-before-defaults"]
    assert "*, shuffle=False" in texts["convention-search-keyword-only-options"]


def test_false_failure_search(engine):
    """Grade every calling-convention variant of the reference: every check it runs must pass.

    The two combined variants run every check; the others skip the option
    experiments (training on MNIST with the same construction and layer calls
    as each option's trajectory check, most of the time and no other calling
    path), which keeps the search near 25 s on 2 cores.
    """
    variants = search_variants()
    experiments = [c.id for c in engine.checks if c.id.endswith(".experiment")]
    assert len(experiments) == 5
    rest = [c.id for c in engine.checks if c.id not in experiments]
    with tempfile.TemporaryDirectory(prefix="nncheck-conventions-") as scratch:
        def grade(v):
            only = None if v.name.startswith("convention-search-everything") else rest
            report = engine.grade(v.materialise(Path(scratch)), seed=0, only=only)
            assert len(report.checks) == len(engine.checks) - (0 if only is None else len(experiments))
            return v.name, [(c.id, str(c.status), c.message) for c in report.checks
                            if c.status is not Status.PASSED], report.load.get("ok", True)

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(grade, variants))
    failures = {name: bad for name, bad, loaded in results if bad or not loaded}
    assert failures == {}, failures
