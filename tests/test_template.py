"""The student template mirrors the reference API and fails politely."""
import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import nncheck.reference as reference
import nncheck.student_template as template
from nncheck.student_template import assignment
from nncheck.cli.template import write_template

NAMES = list(reference.__all__)


def _public_methods(cls):
    return sorted(n for n, v in vars(cls).items() if callable(v) and not n.startswith("_"))


def _all_public_methods(cls):
    names = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        names.update(n for n, v in vars(klass).items() if callable(v) and not n.startswith("_"))
    return sorted(names)


@pytest.mark.parametrize("name", NAMES)
def test_name_exists_with_same_signature(name):
    assert hasattr(template, name), f"template lacks {name}"
    ref, tpl = getattr(reference, name), getattr(template, name)
    assert inspect.isclass(ref) == inspect.isclass(tpl)
    if inspect.isclass(ref):
        assert inspect.signature(tpl.__init__) == inspect.signature(ref.__init__)
        assert _all_public_methods(tpl) == _all_public_methods(ref)
        for meth in _all_public_methods(ref):
            assert inspect.signature(getattr(tpl, meth)) == inspect.signature(getattr(ref, meth)), meth
        ref_bases = [b.__name__ for b in ref.__mro__[1:] if b is not object]
        tpl_bases = [b.__name__ for b in tpl.__mro__[1:] if b is not object]
        assert tpl_bases == ref_bases
    else:
        assert inspect.signature(tpl) == inspect.signature(ref)


def test_template_all_matches_reference():
    assert sorted(template.__all__) == sorted(NAMES)


FRIENDLY = re.compile(r"^\S+ is not implemented yet: [a-z].{10,}\.$")


def _check_friendly(excinfo, part):
    msg = str(excinfo.value)
    assert FRIENDLY.match(msg), msg
    assert msg.startswith(part), msg


def _calls():
    x = np.ones((3, 4))
    logits = np.zeros((3, 5))
    y = np.array([0, 1, 2])
    relu = template.ReLU()
    dense = object.__new__(template.Dense)
    dropout = template.Dropout()
    bn = object.__new__(template.BatchNorm)
    return [
        ("ReLU.forward", lambda: relu.forward(x)),
        ("ReLU.backward", lambda: relu.backward(x, x)),
        ("Dense.__init__", lambda: template.Dense(4, 2)),
        ("Dense.forward", lambda: dense.forward(x)),
        ("Dense.backward", lambda: dense.backward(x, x)),
        ("softmax_crossentropy_with_logits", lambda: template.softmax_crossentropy_with_logits(logits, y)),
        ("grad_softmax_crossentropy_with_logits", lambda: template.grad_softmax_crossentropy_with_logits(logits, y)),
        ("forward", lambda: template.forward([relu], x)),
        ("predict", lambda: template.predict([relu], x)),
        ("train", lambda: template.train([relu], x, y)),
        ("iterate_minibatches", lambda: list(template.iterate_minibatches(x, y, 2))),
        ("XavierDense.__init__", lambda: template.XavierDense(4, 2)),
        ("L2Dense.backward", lambda: object.__new__(template.L2Dense).backward(x, x)),
        ("MomentumDense.backward", lambda: object.__new__(template.MomentumDense).backward(x, x)),
        ("RMSPropDense.backward", lambda: object.__new__(template.RMSPropDense).backward(x, x)),
        ("AdamDense.backward", lambda: object.__new__(template.AdamDense).backward(x, x)),
        ("Dropout.forward", lambda: dropout.forward(x)),
        ("Dropout.backward", lambda: dropout.backward(x, x)),
        ("BatchNorm.__init__", lambda: template.BatchNorm(4)),
        ("BatchNorm.forward", lambda: bn.forward(x)),
        ("BatchNorm.backward", lambda: bn.backward(x, x)),
    ]


@pytest.mark.parametrize("part,call", _calls(), ids=[c[0] for c in _calls()])
def test_stubs_raise_friendly_not_implemented(part, call):
    with pytest.raises(NotImplementedError) as excinfo:
        call()
    _check_friendly(excinfo, part)


def test_constructors_set_hyperparameters_before_the_stub():
    d = object.__new__(template.Dense)
    with pytest.raises(NotImplementedError):
        template.Dense.__init__(d, 3, 2, learning_rate=0.25)
    assert d.learning_rate == 0.25
    dr = template.Dropout(p=0.2)
    assert dr.p == 0.2 and dr.training is True
    bn = object.__new__(template.BatchNorm)
    with pytest.raises(NotImplementedError):
        template.BatchNorm.__init__(bn, 3, learning_rate=0.3, momentum=0.8)
    assert (bn.learning_rate, bn.momentum, bn.training) == (0.3, 0.8, True)


def test_base_layer_is_complete_identity():
    x = np.arange(6.0).reshape(2, 3)
    layer = template.Layer()
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(x, 2 * x), 2 * x)


def test_template_imports_only_numpy_and_marks_todos():
    source = Path(assignment.__file__).read_text()
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported == {"numpy"}
    todos = len(re.findall(r"^\s+# TODO", source, re.M))
    ends = len(re.findall(r"^\s+# END OF YOUR CODE$", source, re.M))
    assert todos == ends == source.count("raise NotImplementedError(") >= 20


def test_reference_imports_itself_relatively():
    folder = Path(reference.__file__).parent
    for py in folder.glob("*.py"):
        tree = ast.parse(py.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] == "numpy" for a in node.names), py
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in {"numpy", "__future__"}, py


def test_write_template(tmp_path):
    dest = tmp_path / "hw"
    written = write_template(dest)
    assert written == [dest / "assignment.py"]
    assert written[0].read_text() == Path(assignment.__file__).read_text()
    written[0].write_text("# my work\n")
    with pytest.raises(FileExistsError, match="force=True"):
        write_template(dest)
    assert written[0].read_text() == "# my work\n"
    write_template(dest, force=True)
    assert "NotImplementedError" in written[0].read_text()
