"""Tests for nncheck.load (prepare, plan, statements, notebook, syntax): submission -> load plan."""
import ast
import json
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nncheck.load.notebook import strip_ipython
from nncheck.load.plan import (
    SHIM_MODULES, SHIMS_DIR, ModulePlan, Plan, SubmissionError, Unit, compile_unit,
)
from nncheck.load.prepare import prepare

DENSE = '''\
class Dense(Layer):
    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)
'''

TRAIN_LOOP = '''\
for epoch in range(25):
    for x_batch, y_batch in iterate_minibatches(X_train, y_train, batchsize=32, shuffle=True):
        train(network, x_batch, y_batch)
    train_log.append(np.mean(predict(network, X_train) == y_train))
    clear_output()
    print("Epoch", epoch)
    plt.plot(train_log, label='train accuracy')
    plt.show()
'''


def write_nb(path, cells, counts=True):
    nb = new_notebook()
    n = 0
    for c in cells:
        if isinstance(c, tuple) and c[0] == "md":
            nb.cells.append(new_markdown_cell(c[1]))
        else:
            n += 1
            cell = new_code_cell(c)
            cell.execution_count = n if counts else None
            nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path


def units(plan, module=None):
    mods = plan.modules if module is None else [m for m in plan.modules if m.name == module]
    return [u for m in mods for u in m.units]


def sources(plan, module=None):
    return [u.source for u in units(plan, module)]


def run_plan(plan):
    """Execute a plan the way a worker would (guarded, per unit) -- test only."""
    ns = {"__name__": "submission"}
    errors = []
    for m in plan.modules:
        for u in m.units:
            try:
                exec(compile_unit(u, m.filename), ns)
            except Exception as exc:  # noqa: BLE001
                errors.append((u.label, exc))
    return ns, errors


# ---------------------------------------------------------------- notebooks

def test_magics_and_shell_lines_stripped_line_numbers_kept(tmp_path):
    cell = textwrap.dedent('''\
        %matplotlib inline
        !pip install numpy
        files = !ls
        t = %timeit -o 1 + 1
        np?
        ??np.zeros
        import numpy as np
        s = """
        %d items
        !not shell
        """
        y = (1
        % 2)
        def f(x):
            %time x
            return x / 0
        ''')
    nb = write_nb(tmp_path / "hw.ipynb", [cell])
    plan = prepare(nb, tmp_path / "work")
    assert plan.kind == "notebook" and plan.problems == []
    us = units(plan)
    by_src = {u.source.split("\n")[0]: u for u in us}
    assert by_src["import numpy as np"].lineno == 7
    assert by_src['s = """'].lineno == 8
    assert "%d items" in by_src['s = """'].source and "!not shell" in by_src['s = """'].source
    assert by_src["y = (1"].lineno == 12
    assert by_src["def f(x):"].lineno == 14
    assert not any("%" in u.source.split("\n")[0] or "!" in u.source.split("\n")[0] for u in us)
    ns, errors = run_plan(plan)
    assert errors == [] and ns["s"] == "\n%d items\n!not shell\n" and ns["y"] == 1
    # the error inside f is reported at its line in the cell, under the cell's name
    with pytest.raises(ZeroDivisionError) as exc:
        ns["f"](1)
    frame = traceback.extract_tb(exc.value.__traceback__)[-1]
    assert frame.filename == "hw.ipynb [cell 1]"
    assert frame.lineno == 16
    assert frame.line == "return x / 0"


def test_cell_magics():
    assert strip_ipython("%%bash\necho hi\n")[0] is None
    assert strip_ipython("%%writefile x.py\nprint(1)\n")[0] is None
    assert strip_ipython("%%timeit\nf()\n")[0] is None
    src, why = strip_ipython("%%time\nx = 1\n")
    assert why is None and src == "\nx = 1\n"
    src, _ = strip_ipython("\n%%capture out\nclass A:\n    pass\n")
    assert src.splitlines()[2] == "class A:"
    # help with a comment is real Python and stays
    assert strip_ipython("x = 1  # why?\n")[0] == "x = 1  # why?\n"


def test_helper_imports_kept_as_units(tmp_path):
    nb = write_nb(tmp_path / "hw.ipynb", [
        'import sys\nsys.path.append("..")\nimport tqdm_utils\nimport download_utils',
        "# use the preloaded keras datasets and models\ndownload_utils.link_all_keras_resources()",
        "from __future__ import print_function\nimport numpy as np\nnp.random.seed(42)",
        "from util import eval_numerical_gradient",
        "import matplotlib.pyplot as plt\n%matplotlib inline\n\nfrom preprocessed_mnist import load_dataset\n"
        "X_train, y_train, X_val, y_val, X_test, y_test = load_dataset(flatten=True)",
        "from IPython.display import clear_output",
    ])
    plan = prepare(nb, tmp_path / "work")
    srcs = sources(plan)
    for imp in ["import sys\n", "import tqdm_utils\n", "import download_utils\n",
                "from __future__ import print_function\n", "import numpy as np\n",
                "from util import eval_numerical_gradient\n", "import matplotlib.pyplot as plt\n",
                "from preprocessed_mnist import load_dataset\n", "from IPython.display import clear_output\n"]:
        assert imp in srcs, imp
    assert not any("sys.path.append" in s or "link_all_keras" in s or "seed" in s for s in srcs)
    assert any(s.startswith("X_train, y_train") for s in srcs)
    assert any(d.startswith("cell 2:") for d in plan.dropped)
    # with the shims, all of it loads except the data (which fails in its own unit)
    sys.path.insert(0, str(SHIMS_DIR))
    saved = {k: sys.modules.pop(k) for k in list(sys.modules)
             if k.split(".")[0] in SHIM_MODULES}
    try:
        ns, errors = run_plan(plan)
    finally:
        sys.path.remove(str(SHIMS_DIR))
        for k in list(sys.modules):
            if k.split(".")[0] in SHIM_MODULES:
                del sys.modules[k]
        sys.modules.update(saved)
    assert [lab for lab, _ in errors] == ["cell 5"]
    assert isinstance(errors[0][1], RuntimeError)
    assert callable(ns["eval_numerical_gradient"]) and callable(ns["clear_output"])


def test_broken_cell_reported_rest_loaded(tmp_path):
    nb = write_nb(tmp_path / "hw.ipynb", [
        "import numpy as np",
        "class Layer:\n    pass",
        "def relu(x):\n    return np.maximum(x, 0\n\nz = 1",
        DENSE,
    ])
    plan = prepare(nb, tmp_path / "work")
    assert len(plan.problems) == 1
    assert plan.problems[0].startswith("cell 3 does not parse (line 2")
    assert "the rest was loaded" in plan.problems[0]
    names = {d["name"] for d in plan.used}
    assert names == {"Layer", "Dense"}
    ns, errors = run_plan(plan)
    assert errors == [] and "Dense" in ns and "relu" not in ns


def test_training_loop_and_mixed_cell(tmp_path):
    mixed = DENSE + "\nnetwork = []\nnetwork.append(Dense(784, 100))\nfor i in range(3):\n    print(i)\nprint('done')\n"
    nb = write_nb(tmp_path / "hw.ipynb", [
        "import numpy as np\nclass Layer:\n    pass",
        mixed,
        TRAIN_LOOP,
        "while True:\n    pass",
    ])
    plan = prepare(nb, tmp_path / "work")
    srcs = sources(plan)
    assert DENSE in srcs
    assert "network = []\n" in srcs
    assert not any("append" in s.split("\n")[0] or s.startswith("for") or s.startswith("while")
                   or s.startswith("print") for s in srcs)
    assert plan.dropped == [
        "cell 2: 3 top-level statements (2 calls, a for loop) were not run (experiment code)",
        "cell 3: a top-level for loop (experiment code) was not run",
        "cell 4: a top-level while loop (experiment code) was not run",
    ]
    ns, errors = run_plan(plan)
    assert errors == [] and ns["network"] == [] and ns["Dense"](2, 3).weights.shape == (2, 3)
    dense = next(u for u in units(plan) if u.source.startswith("class Dense"))
    assert dense.lineno == 1 and dense.label == "cell 2"


def test_the_notebooks_own_gradient_checks_are_not_run(tmp_path):
    """The original notebook's cell 10 (``numeric_dw = eval_numerical_gradient(...)``, 4,096 calls of the
    student's Dense) cost 0.6 s of every load; nothing graded reads it, so it is not run."""
    notebook = Path(__file__).resolve().parents[1] / "examples" / "submissions" / "original_notebook.ipynb"
    plan = prepare(notebook, tmp_path / "work")
    assert [d for d in plan.dropped if "numerical" in d] == [
        "cell 10: 2 numerical gradient checks (numeric_dw, numeric_db) were not run (experiment code: "
        "nothing graded reads it)",
        "cell 12: a numerical gradient check (numeric_grads) was not run (experiment code: nothing graded reads it)"]
    at = next(k for k, d in enumerate(plan.dropped) if d.startswith("cell 10: 2 numerical"))
    assert plan.dropped[at - 1].startswith("cell 10: ") and plan.dropped[at + 1].startswith("cell 12: ")  # in order
    kept = sources(plan)
    assert not any(s.startswith("numeric_dw") for s in kept)
    # kept: ReLU's check (cell 6) and Dense's input check (cell 9), whose layer `l` a later
    # `grads = l.backward(...)` uses (a layer may keep state from forward); what the checks' cells define
    assert sum(s.startswith("numeric_grads = eval_numerical_gradient") for s in kept) == 2
    assert any(s.startswith("def compute_out_given_wb") for s in kept)


@pytest.mark.parametrize("code, kept", [
    ("g = eval_numerical_gradient(f, x)\n", False),
    ("g: object = util.eval_numerical_gradient(f, x)\n", False),
    ("g, h = eval_numerical_gradient(f, x), 0\n", False),
    ("g = eval_numerical_gradient(f, x)\ndef uses():\n    return g\n", True),        # a definition reads it
    ("g = eval_numerical_gradient(f, x)\ndef uses():\n    return globals()['g']\n", True),
    ("g = eval_numerical_gradient(f, x)\nh = g * 2\n", True),                       # kept code reads it
    ("g = eval_numerical_gradient(lambda x: l.forward(x).sum(), x)\nd = l.backward(x, x)\n", True),
    ("d = l.backward(x, x)\ng = eval_numerical_gradient(lambda x: l.forward(x).sum(), x)\n", False),
    ("o.grad = eval_numerical_gradient(f, x)\n", True),                             # not a plain name
    ("g = numerical_gradient(f, x)\n", True),                                       # not the course's helper
])
def test_which_gradient_checks_are_left_out(tmp_path, code, kept):
    path = tmp_path / "hw.py"
    path.write_text("import numpy as np\nf = x = l = o = None\n" + code)
    plan = prepare(path, tmp_path / "work")
    first = next(line for line in code.splitlines() if "numerical_gradient(" in line)
    assert (first + "\n" in sources(plan)) is kept, sources(plan)
    assert any("numerical gradient check" in d for d in plan.dropped) is not kept


def test_heading_rule(tmp_path):
    nb = write_nb(tmp_path / "hw.ipynb", [
        "import numpy as np\nclass Layer:\n    pass",
        "def train(network, X, y):\n    return 'first'",
        DENSE,
        "def train(network, X, y):\n    return 'core'",
        "network = []",
        ("md", "## Peer-reviewed assignment\n\nCongratulations!"),
        "class Dense_reg(Layer):\n    pass\n\ndef train(network, X, y):\n    return 'experiment'",
        "def train_reg(network, X, y):\n    return 'reg'\nnetwork = [Dense_reg()]",
        "class Dense(Layer):\n    pass",
    ])
    plan = prepare(nb, tmp_path / "work")
    ns, errors = run_plan(plan)
    assert errors == []
    assert ns["train"](None, None, None) == "core"
    assert ns["train_reg"](None, None, None) == "reg"
    assert "Dense_reg" in ns and hasattr(ns["Dense"], "__init__") and ns["network"] == []
    assert ns["Dense"].__init__.__code__.co_argcount == 4  # the core Dense, not the later one
    used = {d["name"]: d["label"] for d in plan.used}
    assert used == {"Layer": "cell 1", "train": "cell 4", "Dense": "cell 3",
                    "Dense_reg": "cell 6", "train_reg": "cell 7"}
    aside = [(d["name"], d["label"]) for d in plan.set_aside]
    assert aside == [("train", "cell 6"), ("network", "cell 7"), ("Dense", "cell 8")]
    reason = plan.set_aside[0]["reason"]
    assert reason == ("redefines train from cell 4 after the 'Peer-reviewed assignment' heading; "
                      "the core is graded on the earlier definition")


def test_without_heading_first_definition_wins(tmp_path):
    cells = [
        "def train(network, X, y):\n    return 'first'",
        "def train(network, X, y):\n    return 'second'",
        "def helper():\n    return 1",
    ]
    nb = write_nb(tmp_path / "hw.ipynb", cells, counts=False)
    plan = prepare(nb, tmp_path / "work")
    ns, _ = run_plan(plan)
    assert ns["train"](0, 0, 0) == "first"
    assert [(d["name"], d["label"]) for d in plan.set_aside] == [("train", "cell 2")]
    assert {d["name"]: d["label"] for d in plan.used} == {"train": "cell 1", "helper": "cell 3"}
    # disabling the heading rule explicitly behaves the same way
    nb2 = write_nb(tmp_path / "hw2.ipynb",
                   cells[:2] + [("md", "# Peer-reviewed assignment")] + cells[2:])
    plan2 = prepare(nb2, tmp_path / "work2", core_until_heading=None)
    assert [d["name"] for d in plan2.set_aside] == ["train"]
    plan3 = prepare(nb2, tmp_path / "work3")
    assert plan3.set_aside == [] and run_plan(plan3)[0]["train"](0, 0, 0) == "second"


def test_label_falls_back_to_code_cell_index(tmp_path):
    nb = new_notebook()
    nb.cells = [new_markdown_cell("hi"), new_code_cell("a = 1"), new_code_cell("b = 2")]
    nb.cells[2].execution_count = 7
    nbformat.write(nb, str(tmp_path / "hw.ipynb"))
    plan = prepare(tmp_path / "hw.ipynb", tmp_path / "w")
    assert [u.label for u in units(plan)] == ["cell 1", "cell 7"]


# ---------------------------------------------------------------- errors

def test_invalid_notebook_json(tmp_path):
    p = tmp_path / "hw.ipynb"
    p.write_text('{"cells": [ oops')
    with pytest.raises(SubmissionError) as exc:
        prepare(p, tmp_path / "w")
    msg = str(exc.value)
    assert msg.startswith("hw.ipynb is not a valid Jupyter notebook:") and "\n" not in msg


def test_json_but_not_notebook(tmp_path):
    p = tmp_path / "hw.ipynb"
    p.write_text("[1, 2, 3]")
    with pytest.raises(SubmissionError, match="not a valid Jupyter notebook"):
        prepare(p, tmp_path / "w")


def test_non_utf8_py(tmp_path):
    p = tmp_path / "hw.py"
    p.write_bytes(b"\xff\xfe\x00d\x00e\x00f")
    with pytest.raises(SubmissionError) as exc:
        prepare(p, tmp_path / "w")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("hw.py ")
    p.write_bytes(b"x = '\xe9t\xe9'\n")
    with pytest.raises(SubmissionError, match="not UTF-8"):
        prepare(p, tmp_path / "w2")


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(SubmissionError, match="does not exist"):
        prepare(tmp_path / "nope.py", tmp_path / "w")
    p = tmp_path / "hw.txt"
    p.write_text("x = 1")
    with pytest.raises(SubmissionError, match="not a supported submission"):
        prepare(p, tmp_path / "w")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SubmissionError, match="no .py file"):
        prepare(tmp_path / "empty", tmp_path / "w")


def test_folder_too_large(tmp_path, monkeypatch):
    import nncheck.load.prepare as loader
    monkeypatch.setattr(loader, "MAX_SUBMISSION_BYTES", 100)
    d = tmp_path / "sub"
    d.mkdir()
    (d / "a.py").write_text("x = 1\n")
    (d / "data.bin").write_bytes(b"0" * 200)
    with pytest.raises(SubmissionError, match="50 MB"):
        prepare(d, tmp_path / "w")


# ---------------------------------------------------------------- .py, folders, packages

def test_single_py_file(tmp_path):
    p = tmp_path / "my homework.py"
    p.write_text('"""doc"""\nfrom __future__ import annotations\nimport numpy as np\n'
                 + DENSE + "\nnet = [Dense(2, 3)]\nprint(net)\nif __name__ == '__main__':\n    train()\n"
                 "import os; os.getcwd()\n")
    plan = prepare(p, tmp_path / "w")
    assert plan.kind == "py" and plan.entry == ["submission_my_homework"]
    assert plan.modules[0].filename == "my homework.py"
    assert sources(plan)[:3] == ['"""doc"""\n', "from __future__ import annotations\n", "import numpy as np\n"]
    assert "import os\n" in sources(plan)
    assert plan.dropped == ["my homework.py: 3 top-level statements (2 calls, "
                            "an if __name__ == '__main__' block) were not run (experiment code)"]
    assert (tmp_path / "w" / "my homework.py").read_bytes() == p.read_bytes()
    shadow = tmp_path / "random.py"
    shadow.write_text("x = 1\n")
    assert prepare(shadow, tmp_path / "w2").entry == ["submission_random"]
    ok = tmp_path / "layers.py"
    ok.write_text("x = 1\n")
    assert prepare(ok, tmp_path / "w3").entry == ["layers"]


def test_py_file_that_does_not_parse_is_salvaged(tmp_path):
    p = tmp_path / "hw.py"
    p.write_text("import numpy as np\n\ndef broken(:\n    pass\n\n@staticmethod\ndef ok():\n    return 1\n\nz = 2\n")
    plan = prepare(p, tmp_path / "w")
    assert plan.problems == ["hw.py does not parse (line 3: invalid syntax); "
                             "lines 3-5 were skipped and the rest was loaded"]
    us = units(plan)
    assert [(u.lineno, u.source.split("\n")[0]) for u in us] == [
        (1, "import numpy as np"), (6, "@staticmethod"), (10, "z = 2")]


def test_late_future_import_dropped(tmp_path):
    p = tmp_path / "hw.py"
    p.write_text("import numpy\nfrom __future__ import annotations\nx = 1\n")
    plan = prepare(p, tmp_path / "w")
    assert sources(plan) == ["import numpy\n", "x = 1\n"]
    assert "late __future__ import" in plan.dropped[0]


def test_folder_of_modules(tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "main.py").write_text("from layers import Dense\nfrom losses import loss\nnet = [Dense()]\nnet[0].go()\n")
    (d / "layers.py").write_text("import numpy as np\nclass Dense:\n    pass\n")
    (d / "losses.py").write_text("import layers\ndef loss():\n    return 0\n")
    (d / "data").mkdir()
    (d / "data" / "x.txt").write_text("data")
    (d / "__pycache__").mkdir()
    (d / "__pycache__" / "junk.pyc").write_bytes(b"x")
    plan = prepare(d, tmp_path / "w")
    assert plan.kind == "folder"
    assert plan.entry == ["layers", "losses", "main"]
    assert [m.name for m in plan.modules] == ["layers", "losses", "main"]
    assert [m.filename for m in plan.modules] == ["layers.py", "losses.py", "main.py"]
    assert (tmp_path / "w" / "data" / "x.txt").read_text() == "data"
    assert not (tmp_path / "w" / "__pycache__").exists()
    assert plan.dropped == ["main.py: a top-level call (experiment code) was not run"]


def test_folder_with_one_notebook(tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    write_nb(d / "homework.ipynb", ["x = 1"])
    plan = prepare(d, tmp_path / "w")
    assert plan.kind == "notebook" and plan.modules[0].filename == "homework.ipynb"
    assert (tmp_path / "w" / "homework.ipynb").exists()


def test_package_with_relative_imports(tmp_path):
    d = tmp_path / "my-net"
    (d / "optim").mkdir(parents=True)
    (d / "__init__.py").write_text("from .layers import Dense\nfrom .losses import loss\n")
    (d / "layers.py").write_text("from . import losses\nclass Dense:\n    pass\n")
    (d / "losses.py").write_text("def loss():\n    return 0\n")
    (d / "optim" / "__init__.py").write_text("from ..layers import Dense\n")
    plan = prepare(d, tmp_path / "w")
    assert plan.kind == "package" and plan.entry == ["submission_my_net"]
    names = [m.name for m in plan.modules]
    assert set(names) == {"submission_my_net", "submission_my_net.layers",
                          "submission_my_net.losses", "submission_my_net.optim"}
    assert names.index("submission_my_net.losses") < names.index("submission_my_net.layers") \
        < names.index("submission_my_net")
    pkg = next(m for m in plan.modules if m.name == "submission_my_net")
    assert pkg.is_package and pkg.filename == "submission_my_net/__init__.py"
    assert (tmp_path / "w" / "submission_my_net" / "layers.py").exists()
    # relative imports resolve when the copy is imported normally
    out = subprocess.run([sys.executable, "-c",
                          "import submission_my_net as p, submission_my_net.optim as o; "
                          "print(p.Dense is o.Dense, p.loss())"],
                         cwd=tmp_path / "w", capture_output=True, text=True)
    assert out.stdout.split() == ["True", "0"], out.stderr


def test_original_untouched(tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "a.py").write_text("x = 1\nfor i in range(3):\n    pass\n")
    nbp = write_nb(tmp_path / "hw.ipynb", ["%matplotlib inline\nx = 1", "print(x)"])
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in [d / "a.py", nbp]}
    listing = sorted(os.listdir(d))
    prepare(d, tmp_path / "w1")
    prepare(nbp, tmp_path / "w2")
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    assert sorted(os.listdir(d)) == listing


# ---------------------------------------------------------------- plan and compile

def test_plan_json_round_trip(tmp_path):
    nb = write_nb(tmp_path / "hw.ipynb", [
        "import numpy as np\nclass Layer:\n    pass", "def f(:", TRAIN_LOOP,
        ("md", "# Peer-reviewed assignment"), "class Layer:\n    pass"])
    plan = prepare(nb, tmp_path / "w")
    assert plan.problems and plan.dropped and plan.set_aside and plan.used
    data = json.loads(json.dumps(plan.to_json()))
    again = Plan.from_json(data)
    assert again == plan
    assert isinstance(again.modules[0], ModulePlan) and isinstance(again.modules[0].units[0], Unit)


def test_compile_unit_keeps_line_numbers(tmp_path):
    p = tmp_path / "layers.py"
    p.write_text("import numpy as np\n\n\n@staticmethod\n"
                 "def boom():\n    x = 1\n    raise ValueError('line 7')\n\ny = 1 / 0\n")
    plan = prepare(p, tmp_path / "w")
    mod = plan.modules[0]
    for u in mod.units:
        code = compile_unit(u, mod.filename)
        assert code.co_filename == "layers.py"
        first = min(ln for _, _, ln in code.co_lines() if ln)
        assert first == u.lineno
        assert ast.parse(u.source)  # each unit is valid Python on its own
    ns = {}
    exec(compile_unit(mod.units[0], mod.filename), ns)
    with pytest.raises(ZeroDivisionError) as exc:
        exec(compile_unit(mod.units[2], mod.filename), ns)
    assert traceback.extract_tb(exc.value.__traceback__)[-1].lineno == 9
    exec(compile_unit(mod.units[1], mod.filename), ns)
    with pytest.raises(ValueError) as exc:
        ns["boom"].__func__()
    frame = traceback.extract_tb(exc.value.__traceback__)[-1]
    assert (frame.filename, frame.lineno, frame.line) == ("layers.py", 7, "raise ValueError('line 7')")
    with pytest.raises(SyntaxError) as exc:
        compile_unit(Unit(source="x = (\n", lineno=40, label="cell 3"), "hw.ipynb")
    assert exc.value.lineno == 40 and exc.value.filename == "hw.ipynb [cell 3]"


def test_shims_import_cleanly():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(SHIMS_DIR)!r})
        import tqdm_utils, download_utils, util, preprocessed_mnist
        import matplotlib, matplotlib.pyplot as plt
        import IPython, IPython.display
        import tqdm, tqdm.auto, tqdm.notebook
        import numpy as np
        for name in {sorted(SHIM_MODULES)!r}:
            assert sys.modules[name].__file__.startswith({str(SHIMS_DIR)!r}), name
        assert not any(m.startswith("nncheck") for m in sys.modules)
        fig, ax = plt.subplots(); ax.plot([1, 2]); plt.show()
        fig, (a, b) = plt.subplots(1, 2); a[0].set_title("x")
        IPython.display.clear_output(); IPython.display.display(IPython.display.HTML("x"))
        download_utils.link_all_keras_resources(); download_utils.anything_else(1, k=2)
        assert tqdm_utils.tqdm_notebook_failsafe([1, 2], desc="x") == [1, 2]
        assert tqdm.tqdm([3]) == [3] and tqdm.auto.trange(2) == range(2)
        x = np.random.randn(3, 4)
        g = util.eval_numerical_gradient(lambda v: (v ** 3).sum(), x)
        assert np.allclose(g, 3 * x ** 2, atol=1e-5), g
        d = np.random.randn(3, 4)
        ga = util.eval_numerical_gradient_array(lambda v: np.sin(v), x, d)
        assert np.allclose(ga, np.cos(x) * d, atol=1e-6)
        try:
            preprocessed_mnist.load_dataset(flatten=True)
        except RuntimeError as e:
            assert type(e).__name__ == "DataLoaderReplaced" and "nncheck's own data" in str(e)
        else:
            raise AssertionError("load_dataset did not raise")
        print("OK")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0 and out.stdout.strip() == "OK", out.stderr


def test_parse_is_quiet_and_raises_what_ast_parse_raises():
    """The one parse every grader-side module uses (serialised for threads): a student's odd escape
    is not the grader's warning, and a syntax error is still a SyntaxError."""
    import warnings

    from nncheck.load.syntax import parse

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = parse('def f():\n    """\\l is not an escape"""\n', "student.py")
    assert tree.body[0].name == "f"
    with pytest.raises(SyntaxError):
        parse("def f(:\n", "student.py")
    assert parse("Dense(init='xavier')", mode="eval").body.func.id == "Dense"
