"""Option discovery (nncheck.discover): the static scan, pins and [options], what it refuses to
grade, how it wires forms into the option checks without touching the core, and the report."""
from __future__ import annotations

import json
import textwrap

import pytest

from nncheck.discover.apply import _guarded, apply, describe_options
from nncheck.discover.catalogue import builtin
from nncheck.discover.pins import parse_pin
from nncheck.discover.scan import OptionsFound, scan
from nncheck.worker.forms import FORM, UNCONFIRMED
from nncheck.config import ConfigError, from_mapping
from nncheck.engine import Engine
from nncheck.config import Config
from nncheck.model import CheckRecord, Report, Status

DENSE = """
import numpy as np
class Layer:
    def forward(self, input): return input
    def backward(self, input, grad_output): return grad_output
class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1{extra}):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)
{body}
    def forward(self, input): return input @ self.weights + self.biases
    def backward(self, input, grad_output):
        return grad_output @ self.weights.T
"""


def scan_text(tmp_path, text, name="s.py", config=None):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return scan(p, config)


def test_flag_on_dense_is_found_with_its_parameter_and_value(tmp_path):
    d = scan_text(tmp_path, DENSE.format(extra=", init='normal'", body="        if init == 'xavier': pass"))
    form = d.forms["xavier"]
    assert form["class"] == "Dense" and form["kwargs"] == {"init": "xavier"} and form["confirm"] == "behaves"
    assert form["label"] == "Dense(..., init='xavier')"


def test_flag_through_an_attribute_and_lower(tmp_path):
    d = scan_text(tmp_path, DENSE.format(extra=", optimizer='sgd'",
                                         body="        self.opt = optimizer\n"
                                              "        if self.opt.lower() in ('rmsprop', 'rms'): pass"))
    assert d.forms["rmsprop"]["kwargs"] == {"optimizer": "rmsprop"}


@pytest.mark.parametrize("name,option", [("Xavier_Dense", "xavier"), ("DenseXavier", "xavier"),
                                         ("DenseL2", "l2"), ("Dense_L2", "l2"), ("DenseReg", "l2"),
                                         ("Dense_Momentum", "momentum"), ("DenseRMSProp", "rmsprop"),
                                         ("AdamDense_", "adam"), ("GlorotDense", "xavier")])
def test_own_named_subclasses(tmp_path, name, option):
    d = scan_text(tmp_path, DENSE.format(extra="", body="") + f"\nclass {name}(Dense):\n    pass\n")
    assert d.forms[option]["class"] == name and d.forms[option]["kind"] == "class"


def test_canonical_name_wins_and_aliases_count(tmp_path):
    text = DENSE.format(extra="", body="") + "\nclass XavierDense(Dense): pass\nclass Xavier_Dense(Dense): pass\n"
    assert "xavier" not in scan_text(tmp_path, text).forms
    text = DENSE.format(extra="", body="") + "\nclass Dense_reg(Dense): pass\n"
    p = tmp_path / "a.py"
    p.write_text(text)
    assert "l2" not in scan(p, None, {"Dense_reg": "L2Dense"}).forms


def test_helpers_networks_and_functions_are_never_candidates_but_are_reported(tmp_path):
    text = DENSE.format(extra="", body="") + textwrap.dedent("""
        def xavier_init(n_in, n_out):
            return np.random.randn(n_in, n_out) * np.sqrt(2 / (n_in + n_out))
        class XavierNet:
            def __init__(self, sizes): self.layers = [Dense(a, b) for a, b in zip(sizes, sizes[1:])]
            def forward(self, X): return X
            def backward(self, X, g): return g
        class MomentumOptimizerHelper:
            def __init__(self, mu=0.9): self.mu = mu
        class AdamL2Dense(Dense): pass
    """)
    d = scan_text(tmp_path, text)
    assert not any(d.forms.get(o) for o in ("xavier", "momentum", "adam", "l2")), d.forms
    seen = " ".join(d.seen)
    assert "xavier_init" in seen and "XavierNet" in seen and "MomentumOptimizerHelper" in seen
    assert "AdamL2Dense" in seen and "more than one option" in seen


def test_pin_comment_and_config_table(tmp_path):
    text = DENSE.format(extra=", mode=0", body="") + '\n# nncheck: xavier = Dense(mode=2)\n'
    form = scan_text(tmp_path, text).forms["xavier"]
    assert form["kwargs"] == {"mode": 2} and form["pinned"] and form["confirm"] == "none"
    cfg = from_mapping({"options": {"l2": "Dense(l2=...)", "adam": "Dense(optimizer=Adam())"}})
    d = scan_text(tmp_path, DENSE.format(extra="", body=""), config=cfg)
    assert d.forms["l2"]["hyper"] == {"alpha": "l2"}
    assert d.forms["adam"]["kwargs"] == {"optimizer": {"object": "Adam"}}
    bad = scan_text(tmp_path, DENSE.format(extra="", body="") + "# nncheck: xavier = Dense(init=[1, 2])\n"
                    "# nncheck: tanh = Dense\n")
    assert len(bad.seen) == 2 and "unknown option `tanh`" in " ".join(bad.seen)


def test_a_pin_marks_a_hyperparameter_with_ellipsis(tmp_path):
    """`# nncheck: momentum = Dense(update='momentum', beta1=...)` made the grader crash ("cannot send
    ellipsis across the worker boundary"): `...` marks the parameter holding the option's hyperparameter
    (momentum has one), or is left to behaviour (RMSProp's decay and epsilon)."""
    base = DENSE.format(extra=", update='sgd', beta1=0.9, rho=0.9", body="")
    mom = scan_text(tmp_path, base + "\n# nncheck: momentum = Dense(update='momentum', beta1=...)\n").forms["momentum"]
    assert mom["kwargs"] == {"update": "momentum"} and mom["hyper"] == {"momentum": "beta1"}
    rms = scan_text(tmp_path, base + "\n# nncheck: rmsprop = Dense(update='rmsprop', rho=...)\n").forms["rmsprop"]
    assert rms["kwargs"] == {"update": "rmsprop"} and rms["hyper"] == {}
    json.dumps(mom), json.dumps(rms)  # plain data: crosses the worker boundary


def test_config_options_table_is_validated():
    assert from_mapping({"options": {"xavier": "Dense(init='xavier')"}}).options == {
        "xavier": "Dense(init='xavier')"}
    with pytest.raises(ConfigError):
        from_mapping({"options": {"xavier": 3}})


def test_keep_probability_dropout(tmp_path):
    text = DENSE.format(extra="", body="") + textwrap.dedent("""
        class Dropout(Layer):
            def __init__(self, keep_prob=0.5): self.keep_prob = keep_prob
    """)
    assert scan_text(tmp_path, text).forms["dropout"]["keep"] == "keep_prob"


def test_notebook_cells_and_the_heading(tmp_path):
    cells = [{"cell_type": "code", "source": "%matplotlib inline\n" + DENSE.format(extra="", body="")},
             {"cell_type": "markdown", "source": "## Peer-reviewed assignment"},
             {"cell_type": "code", "source": DENSE.format(extra=", init=None", body="        if init == 'glorot': pass")}]
    p = tmp_path / "hw.ipynb"
    p.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    form = scan(p).forms["xavier"]
    assert form["after_heading"] and "cell 2" in form["where"]


def test_apply_leaves_core_checks_alone(engine_checks=None):
    engine = Engine(Config(), entry_points=False)
    d = OptionsFound(forms={"xavier": {"option": "xavier", "kind": "class", "class": "Xavier_Dense",
                                              "label": "Xavier_Dense", "evidence": "e", "where": "w"}})
    out = apply(engine.checks, d)
    for before, after in zip(engine.checks, out):
        if before.family == "xavier":
            assert after.requires == ("Xavier_Dense",) and after is not before
            assert after.inputs(after.rng(0))[FORM]["class"] == "Xavier_Dense"
        else:
            assert after is before


def test_unconfirmed_and_unbuildable_forms_are_skipped_not_failed():
    form = {"option": "l2", "label": "Dense(..., l2=...)", "evidence": "a parameter", "pinned": False}
    verdict = _guarded(lambda i, o: pytest.fail("the verdict must not run"), form)
    r = verdict({}, {UNCONFIRMED: "it does not shrink the weights"})
    assert r.status is Status.SKIPPED and "Dense(..., l2=...)" in r.message
    r = verdict({}, {"signature_error": "`Dense` needs `x`"})
    assert r.status is Status.SKIPPED


def test_inherited_bug_names_the_base_class(tmp_path):
    text = DENSE.format(extra="", body="") + "\nclass Xavier_Dense(Dense):\n    pass\n"
    d = scan_text(tmp_path, text)
    rec = CheckRecord("xavier.forward_backward", "t", "options", Status.FAILED, 0, 4, message="m",
                      diagnosis=["dense-grad-divided-by-batch"])
    report = describe_options(Report("s.py", [rec], load={}), d)
    c = report.checks[0]
    assert "inherited-from-dense" in c.diagnosis and "`Dense.backward`" in c.message
    assert c.message.startswith("graded `Xavier_Dense` as option I")


def test_scan_of_a_big_notebook_parses_each_cell_once_and_caps_candidates(tmp_path, monkeypatch):
    """Discovery's cost grows with the notebook, not with its square: three times a real notebook
    (60 code cells, each with a Dense and a subclass) is parsed once per cell, and no option keeps
    more than MAX_CANDIDATES candidates to fingerprint. (Its time is measured, not asserted, by
    benchmarks/bench_discovery.py.)"""
    from nncheck.discover import sources
    from nncheck.discover.candidates import MAX_CANDIDATES

    body = DENSE.format(extra=", init='x'", body="        if init == 'xavier': pass")
    cells = [{"cell_type": "code", "source": body + f"\nclass Extra{i}(Dense): pass\n"} for i in range(60)]
    p = tmp_path / "big.ipynb"
    p.write_text(json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    parsed = []
    real = sources.parse
    monkeypatch.setattr(sources, "parse", lambda code, *a, **k: parsed.append(code) or real(code, *a, **k))
    sources._parse_cached.cache_clear()
    found = scan(p)
    assert len(parsed) == 60, len(parsed)
    assert found.candidates and all(len(c) <= MAX_CANDIDATES + 1 for c in found.candidates.values()), \
        {o: len(c) for o, c in found.candidates.items()}


def _rec(cid, section, status, score=0.0, maximum=1.0, message=""):
    return CheckRecord(cid, cid, section, status, score, maximum, message=message)


def test_reports_show_the_counted_option_first_and_collapse_the_rest():
    from nncheck.report.html import render_html
    from nncheck.report.text import render_json, render_text

    na = "not attempted: no {} in the submission"
    checks = [_rec("relu.forward", "core", Status.PASSED, 1, 1),
              _rec("xavier.init", "options", Status.SKIPPED, message=na.format("XavierDense")),
              _rec("l2.grad", "options", Status.SKIPPED, message="not graded: saw DenseL2 (...), but it ..."),
              _rec("momentum.trajectory", "options", Status.SKIPPED, message=na.format("MomentumDense")),
              _rec("adam.trajectory", "options", Status.PASSED, 12, 12, message="graded `DenseAdam` as ..."),
              _rec("dropout.train_forward", "bonus", Status.SKIPPED, message=na.format("Dropout"))]
    report = Report("s.py", checks, load={"ok": True, "options": {
        "graded": {"adam": {"label": "DenseAdam", "evidence": "a Dense layer named `DenseAdam`", "where": "s.py"}},
        "several": {"adam": "several candidates for option III (Adam): ... # nncheck: adam = Dense(opt='adam')"},
        "not_graded": ["`XavierNet` looks like option I, but it is not a layer"]}},
        sections={"options": {"score": 12, "max_score": 12, "counted": ["adam"], "attempted": ["adam"]}})
    text = render_text(report)
    lines = text.splitlines()
    options = lines.index(next(line for line in lines if line.startswith("options")))
    assert "adam.trajectory" in lines[options + 1]                  # the option that counted first
    assert "l2.grad" in lines[options + 2]                          # seen but not graded: still shown
    assert "  not attempted: xavier, momentum" in lines
    assert "  not attempted: dropout" in lines
    assert "xavier.init" not in text and "graded `DenseAdam` as option III (Adam)" in text
    assert "# nncheck: adam = " in text and "seen but not graded: `XavierNet`" in text
    html = render_html(report)
    assert "not attempted: xavier, momentum" in html and html.index("adam.trajectory") < html.index("l2.grad")
    assert "xavier.init" not in html
    assert "xavier.init" in render_json(report)                     # JSON keeps every check


def test_boolean_switches_named_for_an_option_are_flags_and_never_coefficients(tmp_path):
    d = scan_text(tmp_path, DENSE.format(extra=", lambd=0.001, l2=False, xavier=False, use_rms=False, bias=True",
                                         body=""))
    assert d.forms["xavier"]["kwargs"] == {"xavier": True} and d.forms["xavier"]["baseline"] == {"xavier": False}
    assert d.forms["rmsprop"]["kwargs"] == {"use_rms": True}
    l2 = d.forms["l2"]
    assert l2["kwargs"] == {"l2": True} and l2["hyper"] == {"alpha": "lambd"}  # the switch is not the coefficient
    assert "momentum" not in d.forms and "adam" not in d.forms  # bias=True says no option


def test_an_l2_switch_without_a_coefficient_is_reported_not_graded(tmp_path):
    d = scan_text(tmp_path, DENSE.format(extra=", use_l2=False", body=""))
    assert "l2" not in d.forms
    assert any("switch `use_l2`" in s and "no parameter for the L2 coefficient" in s for s in d.seen), d.seen


def test_a_flag_on_by_default_is_compared_with_its_other_value(tmp_path):
    d = scan_text(tmp_path, DENSE.format(extra=", init='xavier'",
                                         body="        if init == 'xavier': pass\n        elif init == 'small': pass"))
    assert d.forms["xavier"]["kwargs"] == {"init": "xavier"} and d.forms["xavier"]["baseline"] == {"init": "small"}


@pytest.mark.parametrize("name,option", [("Dense_RMS", "rmsprop"), ("Dense_rms", "rmsprop"),
                                         ("DenseNorms", None), ("Dense_m", None)])
def test_short_words_count_only_as_whole_words_of_a_name(tmp_path, name, option):
    d = scan_text(tmp_path, DENSE.format(extra="", body="") + f"\nclass {name}(Dense):\n    pass\n")
    found = [o for o, f in d.forms.items() if f["class"] == name]
    assert found == ([option] if option else []), found


def test_backward_alpha_and_the_backward_pin(tmp_path):
    text = DENSE.format(extra="", body="").replace("def backward(self, input, grad_output):",
                                                   "def backward(self, input, grad_output, alpha=0.0):")
    assert scan_text(tmp_path, text).forms["l2"]["backward_hyper"] == {"alpha": "alpha"}
    pinned = scan_text(tmp_path, "# nncheck: l2 = Dense.backward(lam=...)\n" + DENSE.format(extra="", body=""))
    assert pinned.forms["l2"]["backward_hyper"] == {"alpha": "lam"} and pinned.forms["l2"]["pinned"]
    bad = parse_pin(builtin(), "xavier", "Dense.backward(lam=...)", "here", "pin")
    assert isinstance(bad, str) and "not a class name" in bad


def test_a_string_valued_flag_is_never_its_own_l2_coefficient(tmp_path):
    """`penalty='none'` compared with 'l2' says L2 is chosen by the flag; the flag's name looks like a
    coefficient ("penal"), but a parameter whose default is a string cannot hold one."""
    d = scan_text(tmp_path, DENSE.format(extra=", penalty='none'", body="        if penalty == 'l2': pass"))
    assert "l2" not in d.forms
    assert any("`penalty`" in s and "no parameter for the L2 coefficient" in s for s in d.seen), d.seen
    d = scan_text(tmp_path, DENSE.format(extra=", penalty='none', reg_strength=0.0",
                                         body="        if penalty == 'l2': pass"))
    assert d.forms["l2"]["kwargs"] == {"penalty": "l2"} and d.forms["l2"]["hyper"] == {"alpha": "reg_strength"}
