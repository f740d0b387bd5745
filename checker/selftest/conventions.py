"""Correct submissions that differ from the reference only in how they are called.

Two kinds, both graded on every check (docs/calling-conventions.md):

- :func:`fixtures`: the conventions real notebooks use, written out
  (``nncheck selftest`` grades them as correct variants): a ``training=``
  flag passed to every layer, Dropout/BatchNorm switched by an argument,
  callable duck-typed layers, tuples, a step counter, keyword-only options
  and ``*args``/``**kwargs`` pass-through, student names for every parameter.
- :func:`search_variants`: the false-failure search (``tests/test_calling_
  conventions.py``). The reference is rewritten by AST transforms that change
  nothing but the calling convention: extra defaulted parameters on every
  function and method (appended, inserted before the defaults, keyword-only,
  ``*args``/``**kwargs``), a flag passed through from ``forward``/``train``/
  ``predict`` into every layer call (by keyword or position, bool or string),
  renamed positional parameters, keyword-only options.

Everything starts from the reference's own source, so a variant never drifts
from it: when an edit no longer applies, the variant is reported broken.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from nncheck.load.syntax import parse
from nncheck.variants import REFERENCE_DIR, Variant, VariantError, correct

MODULES = ("layers", "loss", "network", "options", "regularization")
SUBMISSION = "submission.py"


def reference_source() -> str:
    """The reference as one module (relative imports dropped: the names are all defined)."""
    parts = [re.sub(r"^from \.\w+ import .*$", "", (REFERENCE_DIR / f"{m}.py").read_text(encoding="utf-8"),
                    flags=re.M) for m in MODULES]
    return "\n\n".join(parts)


class BrokenVariant(Variant):
    """A generated variant whose recipe no longer applies to the reference: selftest says so."""

    def __init__(self, name: str, reason: str, description: str = ""):
        super().__init__(name, "correct", description=description, files={})
        self.reason = reason

    def materialise(self, dest: Path) -> Path:
        raise VariantError(f"variant {self.name}: {self.reason}")


def _variant(name: str, build, description: str) -> Variant:
    try:
        text = build()
        compile(text, SUBMISSION, "exec")
    except (VariantError, SyntaxError, ValueError) as exc:
        return BrokenVariant(name, str(exc), description)
    return correct(name, files={SUBMISSION: text}, description=description)


# ==========================================================================
# AST transforms of the reference
# ==========================================================================

class _Module:
    """The parsed reference with its classes, methods and module-level functions."""

    def __init__(self, source: str):
        self.tree = parse(source)
        self.classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        self.functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}

    def text(self) -> str:
        return ast.unparse(ast.fix_missing_locations(self.tree)) + "\n"

    def methods(self):
        for cls in self.classes.values():
            for node in cls.body:
                if isinstance(node, ast.FunctionDef):
                    yield cls, node

    def defs(self):
        """Every function and method: ``(class or None, FunctionDef)``."""
        yield from self.methods()
        for fn in self.functions.values():
            yield None, fn

    def mro(self, cls):
        seen, todo = [], [cls]
        while todo:
            c = todo.pop(0)
            if c is None or c in seen:
                continue
            seen.append(c)
            todo += [self.classes.get(b.id) for b in c.bases if isinstance(b, ast.Name)]
        return seen

    def find_method(self, classes, name):
        for c in classes:
            for node in c.body:
                if isinstance(node, ast.FunctionDef) and node.name == name:
                    return node
        return None

    def resolve(self, call: ast.Call, cls):
        """``(FunctionDef, is_method)`` a call inside ``cls`` (or a function) reaches, if known."""
        f = call.func
        if isinstance(f, ast.Attribute):
            v = f.value
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "super" and cls:
                return self.find_method(self.mro(cls)[1:], f.attr), True
            if isinstance(v, ast.Name) and v.id == "self" and cls:
                return self.find_method(self.mro(cls), f.attr), True
        if isinstance(f, ast.Name) and f.id in self.functions:
            return self.functions[f.id], False
        return None, False


def _positional(fn: ast.FunctionDef, is_method: bool):
    params = list(fn.args.posonlyargs) + list(fn.args.args)
    return params[1:] if is_method else params


def _is_method(cls, fn) -> bool:
    return cls is not None and not any(isinstance(d, ast.Name) and d.id == "staticmethod"
                                       for d in fn.decorator_list)


def _used_names(fn: ast.FunctionDef) -> set:
    names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    names |= {a.arg for a in ast.walk(fn) if isinstance(a, ast.arg)}
    return names


def keywordize(mod: _Module) -> None:
    """Internal calls pass every argument beyond the callee's required ones by keyword.

    ``super().__init__(input_units, output_units, learning_rate)`` becomes
    ``super().__init__(input_units, output_units, learning_rate=learning_rate)``,
    so parameters can then be inserted or made keyword-only without the
    reference calling itself wrongly.
    """
    for cls, fn in mod.defs():
        for call in [n for n in ast.walk(fn) if isinstance(n, ast.Call)]:
            target, is_method = mod.resolve(call, cls)
            if target is None or any(isinstance(a, ast.Starred) for a in call.args):
                continue
            params = _positional(target, is_method)
            required = len(params) - len(target.args.defaults)
            keep, moved = call.args[:required], call.args[required:]
            if len(moved) > len(params) - required:
                continue
            call.args = keep
            call.keywords = [ast.keyword(arg=p.arg, value=v) for p, v in zip(params[required:], moved)] \
                + call.keywords


def rename(mod: _Module, mapping: dict | None = None, hyper: bool = False) -> None:
    """Rename the parameters the assignment passes by position (required ones, ``shuffle``, Dropout's ``p``).

    ``mapping`` gives student names (``input`` -> ``x``); anything else gets a
    trailing underscore. With ``hyper``, keyword hyperparameters are renamed
    too, through ``mapping`` only (to names the grader knows: ``lr``, ``reg``,
    ``mu`` ...). The same old name always becomes the same new name, so the
    reference's own calls stay right.
    """
    mapping = dict(mapping or {})
    for cls, fn in mod.defs():
        params = _positional(fn, _is_method(cls, fn))
        n_required = len(params) - len(fn.args.defaults)
        used = _used_names(fn)
        renames = {}
        for i, p in enumerate(params):
            positional = i < n_required or p.arg in ("shuffle", "p")
            if not positional and not (hyper and p.arg in mapping):
                continue
            new = mapping.get(p.arg, p.arg + "_")
            while new in used and new != p.arg:
                new += "_"
            renames[p.arg] = new
            used.add(new)
        for p in params:
            if p.arg in renames:
                p.arg = renames[p.arg]
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and node.id in renames:
                node.id = renames[node.id]


def _const(value):
    return ast.Constant(value=value)


def _append_param(fn: ast.FunctionDef, name: str, default) -> None:
    fn.args.args.append(ast.arg(arg=name))
    fn.args.defaults.append(_const(default))


def pass_through(mod: _Module, flag: str, *, layer_default, forward_value, train_value, predict_value,
                 ops=("forward", "backward"), positional: bool = False) -> None:
    """``forward``/``train``/``predict`` take ``flag`` and hand it to every layer call in ``ops``.

    Every layer's ``forward``/``backward`` (in ``ops``) accepts ``flag`` with
    ``layer_default`` and ignores it; ``forward(network, X, flag=forward_value)``
    passes it to each ``layer.forward``, ``train(..., flag=train_value)`` to
    ``forward`` and to each ``backward``, ``predict`` to ``forward``. By keyword
    (``flag=flag``) or, with ``positional``, as the next positional argument.
    """
    for _, fn in mod.methods():
        if fn.name in ops and flag not in _used_names(fn):
            _append_param(fn, flag, layer_default)
    values = {"forward": forward_value, "train": train_value, "predict": predict_value}

    def hand_on(call):
        if positional:
            call.args.append(ast.Name(id=flag, ctx=ast.Load()))
        else:
            call.keywords.append(ast.keyword(arg=flag, value=ast.Name(id=flag, ctx=ast.Load())))

    for name, value in values.items():
        fn = mod.functions.get(name)
        if fn is None:
            raise VariantError(f"the reference has no function {name}")
        _append_param(fn, flag, value)
        for call in [n for n in ast.walk(fn) if isinstance(n, ast.Call)]:
            f = call.func
            to_network = isinstance(f, ast.Name) and f.id == "forward" and "forward" in ops
            to_layer = (isinstance(f, ast.Attribute) and f.attr in ops and f.attr in ("forward", "backward")
                        and not (isinstance(f.value, ast.Name) and f.value.id == "np"))
            if to_network or to_layer:
                hand_on(call)


EXTRA_NAMES = (("verbose", False), ("seed", None), ("step", 0), ("name", None), ("dtype", "float64"),
               ("optimizer", "sgd"))


def _names_from(first: str):
    """:data:`EXTRA_NAMES` starting at ``first`` (each placement tries other names first)."""
    i = [n for n, _ in EXTRA_NAMES].index(first)
    return EXTRA_NAMES[i:] + EXTRA_NAMES[:i]


def extras(mod: _Module, placement: str, names=EXTRA_NAMES) -> None:
    """One more defaulted parameter on every function and method.

    ``placement``: ``"append"`` (last positional), ``"before-defaults"``
    (before the first defaulted parameter: run :func:`keywordize` first),
    ``"keyword-only"`` (after ``*``), ``"varargs"`` (``*args, **kwargs``).
    """
    for _, fn in mod.defs():
        used = _used_names(fn)
        if placement == "varargs":
            if fn.args.vararg is None and "args" not in used:
                fn.args.vararg = ast.arg(arg="args")
            if fn.args.kwarg is None and "kwargs" not in used:
                fn.args.kwarg = ast.arg(arg="kwargs")
            continue
        name, default = next(((n, d) for n, d in names if n not in used), (None, None))
        if name is None:
            raise VariantError(f"no free extra parameter name for {fn.name}")
        if placement == "append":
            _append_param(fn, name, default)
        elif placement == "before-defaults":
            fn.args.args.insert(len(fn.args.args) - len(fn.args.defaults), ast.arg(arg=name))
            fn.args.defaults.insert(0, _const(default))
        elif placement == "keyword-only":
            fn.args.kwonlyargs.append(ast.arg(arg=name))
            fn.args.kw_defaults.append(_const(default))
        else:
            raise ValueError(f"unknown placement {placement!r}")


def keyword_only_options(mod: _Module) -> None:
    """Every defaulted positional parameter becomes keyword-only (``Dense(in, out, *, learning_rate=0.1)``).

    Run :func:`keywordize` first so the reference's own calls pass them by name.
    """
    for _, fn in mod.defs():
        n = len(fn.args.defaults)
        if not n or fn.args.vararg is not None:
            continue
        moved = fn.args.args[-n:]
        fn.args.args = fn.args.args[:-n]
        fn.args.kwonlyargs = moved + fn.args.kwonlyargs
        fn.args.kw_defaults = list(fn.args.defaults) + fn.args.kw_defaults
        fn.args.defaults = []


def transformed(*steps) -> str:
    """The reference source after ``steps`` (each ``step(module)``), in order."""
    mod = _Module(reference_source())
    for step in steps:
        step(mod)
    return mod.text()


# Names students give the parameters (each accepted by the grader's lookups).
STUDENT_NAMES = {
    "input": "x", "grad_output": "dout", "network": "net", "X": "inputs_", "y": "labels",
    "logits": "scores", "reference_answers": "labels", "inputs": "data", "targets": "labels",
    "batchsize": "batch_size", "shuffle": "shuffled", "input_units": "n_in", "output_units": "n_out",
    "units": "num_features", "p": "rate", "grad_weights": "dW", "grad_biases": "db",
}
STUDENT_HYPER_NAMES = {
    "learning_rate": "lr", "alpha": "reg", "decay": "rho", "epsilon": "eps",
    "beta1": "b1", "beta2": "b2",
}


def _rename_students(mod):
    rename(mod, {**STUDENT_NAMES, **STUDENT_HYPER_NAMES}, hyper=True)


def _bool_flag(flag, positional=False, ops=("forward", "backward")):
    return lambda mod: pass_through(mod, flag, layer_default=False, forward_value=False, train_value=True,
                                    predict_value=False, ops=ops, positional=positional)


SEARCH = {
    "extras-appended": ((lambda m: extras(m, "append"),),
                        "one more defaulted parameter at the end of every function and method"),
    "extras-before-defaults": ((keywordize, lambda m: extras(m, "before-defaults", _names_from("seed"))),
                               "one more defaulted parameter before the first defaulted one everywhere "
                               "(Dense(in, out, seed=None, learning_rate=0.1), "
                               "iterate_minibatches(inputs, targets, batchsize, seed=None, shuffle=False))"),
    "extras-keyword-only": ((lambda m: extras(m, "keyword-only", _names_from("step")),),
                            "one more keyword-only defaulted parameter everywhere"),
    "extras-varargs": ((lambda m: extras(m, "varargs"),), "*args and **kwargs on every function and method"),
    "pass-training-keyword": ((_bool_flag("training"),),
                              "forward/train/predict take training= and pass training=training to every "
                              "layer's forward and backward"),
    "pass-training-positional": ((_bool_flag("training", positional=True),),
                                 "the same, passed positionally: layer.forward(input, training)"),
    "pass-mode-string": ((lambda m: pass_through(m, "mode", layer_default="train", forward_value="test",
                                                 train_value="train", predict_value="test"),),
                         "a mode='train'/'test' string passed to every layer call"),
    "pass-optimizer-to-backward": ((lambda m: pass_through(m, "optimizer", layer_default=None,
                                                           forward_value=None, train_value="sgd",
                                                           predict_value=None, ops=("backward",)),),
                                   "train(..., optimizer='sgd') hands its optimizer to every backward"),
    "renamed-positional": ((rename,), "every parameter the assignment passes by position renamed"),
    "keyword-only-options": ((keywordize, keyword_only_options),
                             "every defaulted parameter keyword-only: Dense(in, out, *, learning_rate=0.1), "
                             "Dropout(*, p=0.5), iterate_minibatches(..., *, shuffle=False)"),
    "everything-student-names": ((_rename_students, keywordize, _bool_flag("is_training"),
                                  lambda m: extras(m, "append", _names_from("optimizer")),
                                  lambda m: extras(m, "keyword-only", _names_from("dtype")),
                                  lambda m: extras(m, "varargs")),
                                 "student names, an is_training flag passed through, extra parameters "
                                 "appended and keyword-only, *args/**kwargs, all at once"),
    "everything-keyword-only": ((keywordize, _bool_flag("training"),
                                 lambda m: extras(m, "before-defaults", _names_from("name")),
                                 keyword_only_options, lambda m: extras(m, "varargs")),
                                "a training flag passed through, extra parameters before the defaults, "
                                "every default keyword-only behind *args, **kwargs, all at once"),
}


def search_variants() -> list[Variant]:
    """The false-failure search: the reference in every calling convention :data:`SEARCH` lists."""
    return [_variant(f"convention-search-{name}", lambda steps=steps: transformed(*steps), description)
            for name, (steps, description) in SEARCH.items()]


# ==========================================================================
# Fixtures: the conventions real notebooks use, written out
# ==========================================================================

def _edited(edits) -> str:
    """The reference source with ``(old, new, count)`` edits (``old`` must occur ``count`` times)."""
    text = reference_source()
    for old, new, count in edits:
        found = text.count(old)
        if found != count:
            raise VariantError(f"{old!r} occurs {found} times in the reference, expected {count} "
                               "(did the reference change?)")
        text = text.replace(old, new)
    return text


_FORWARD_LOOP = """    for layer in network:
        input = layer.forward(input)
        activations.append(input)
"""
_TRAIN_LOOP = """    for i in reversed(range(len(network))):
        grad_output = network[i].backward(layer_inputs[i], grad_output)
"""


def _training_flag() -> str:
    """The issue's notebook: forward(network, X, training=False) passes training= to every layer."""
    return _edited([
        ("def forward(self, input):", "def forward(self, input, training=False):", 5),
        ("def forward(network, X):", "def forward(network, X, training=False):", 1),
        ("        input = layer.forward(input)\n",
         "        assert isinstance(layer, Layer), 'every layer is a Layer'\n"
         "        input = layer.forward(input, training=training)\n", 1),
        ("    layer_activations = forward(network, X)\n", "    layer_activations = forward(network, X, training=True)\n", 1),
    ])


def _mode_argument() -> str:
    """Dropout and BatchNorm switch by an argument; forward passes it where a layer's signature has it."""
    return _edited([
        ("import numpy as np\n", "import inspect\nimport numpy as np\n", 5),
        # Dropout: the argument wins (Keras style); the attribute stays for the assignment
        ("""    def forward(self, input):
        \"\"\"``input`` ``[b, n]`` -> ``input * mask`` ``[b, n]`` (a new mask from ``np.random``).\"\"\"
        if not self.training:""", """    def forward(self, input, training=True):
        \"\"\"``input`` ``[b, n]`` -> ``input * mask`` ``[b, n]`` (a new mask from ``np.random``).\"\"\"
        if not training:""", 1),
        ("""    def backward(self, input, grad_output):
        \"\"\"``grad_output`` ``[b, n]`` -> ``grad_output * mask``, the mask of the latest forward.\"\"\"
        if not self.training:""", """    def backward(self, input, grad_output, training=True):
        \"\"\"``grad_output`` ``[b, n]`` -> ``grad_output * mask``, the mask of the latest forward.\"\"\"
        if not training:""", 1),
        # BatchNorm: an argument, when given, sets the attribute
        ("""    def forward(self, input):
        \"\"\"``input`` ``[b, units]`` -> ``gamma * x_hat + beta`` ``[b, units]``.\"\"\"
""", """    def forward(self, input, is_training=None):
        \"\"\"``input`` ``[b, units]`` -> ``gamma * x_hat + beta`` ``[b, units]``.\"\"\"
        if is_training is not None:
            self.training = is_training
""", 1),
        ("def forward(network, X):", "def forward(network, X, training=False):", 1),
        ("        input = layer.forward(input)\n",
         "        flags = inspect.signature(layer.forward).parameters\n"
         "        if 'training' in flags:\n"
         "            input = layer.forward(input, training=training)\n"
         "        elif 'is_training' in flags:\n"
         "            input = layer.forward(input, is_training=training)\n"
         "        else:\n"
         "            input = layer.forward(input)\n", 1),
        ("    layer_activations = forward(network, X)\n", "    layer_activations = forward(network, X, training=True)\n", 1),
    ])


def _duck_typed() -> str:
    """Layers that are not Layer subclasses, called like functions: ``layer(input)``."""
    call = "    def __call__(self, input):\n        return self.forward(input)\n\n"
    return _edited([
        ("class Layer:\n", "class Layer:\n" + call, 1),
        ("class ReLU(Layer):\n", "class ReLU:\n" + call, 1),
        ("class Dense(Layer):\n", "class Dense:\n" + call, 1),
        ("class Dropout(Layer):\n", "class Dropout:\n" + call, 1),
        ("class BatchNorm(Layer):\n", "class BatchNorm:\n" + call, 1),
        ("        input = layer.forward(input)\n", "        input = layer(input)\n", 1),
    ])


def _tuples() -> str:
    """Activations as a tuple, the network walked as a tuple, batches yielded as lists."""
    return _edited([
        ("    activations = []\n    input = X\n" + _FORWARD_LOOP,
         "    activations = ()\n    input = X\n"
         "    for layer in tuple(network):\n"
         "        input = layer.forward(input)\n"
         "        activations += (input,)\n", 1),
        ("    layer_inputs = [X] + layer_activations", "    layer_inputs = (X,) + layer_activations", 1),
        (_TRAIN_LOOP,
         "    for layer, layer_input in zip(reversed(tuple(network)), reversed(layer_inputs[:-1])):\n"
         "        grad_output = layer.backward(layer_input, grad_output)\n", 1),
        ("    return forward(network, X)[-1].argmax(axis=-1)", "    return np.argmax(forward(network, X)[-1], axis=1)", 1),
        ("        yield inputs[excerpt], targets[excerpt]", "        yield [inputs[excerpt], targets[excerpt]]", 1),
    ])


def _step_counter() -> str:
    """A step counter handed to every backward; a training flag tried first, TypeError caught."""
    return _edited([
        ("def backward(self, input, grad_output):", "def backward(self, input, grad_output, step=None):", 5),
        ("def train(network, X, y):", "def train(network, X, y, step=0):", 1),
        ("        grad_output = network[i].backward(layer_inputs[i], grad_output)\n",
         "        grad_output = network[i].backward(layer_inputs[i], grad_output, step=step)\n", 1),
        ("        input = layer.forward(input)\n",
         "        try:\n"
         "            input = layer.forward(input, training=True)\n"
         "        except TypeError:  # a layer without a training flag\n"
         "            input = layer.forward(input)\n", 1),
    ])


_XAVIER_INIT = """    def __init__(self, input_units, output_units, learning_rate=0.1):
        super().__init__(input_units, output_units, learning_rate)
        std = np.sqrt(2.0 / (input_units + output_units))
        self.weights = np.random.randn(input_units, output_units) * std
"""


def _args_kwargs() -> str:
    """``*args``/``**kwargs`` everywhere: pass-through in the network, keyword-only options in the layers."""
    return _edited([
        ("def forward(self, input):", "def forward(self, input, *args, **kwargs):", 5),
        ("def backward(self, input, grad_output):", "def backward(self, input, grad_output, *args, **kwargs):", 5),
        ("def forward(network, X):", "def forward(network, X, *args, **kwargs):", 1),
        ("        input = layer.forward(input)\n", "        input = layer.forward(input, *args, **kwargs)\n", 1),
        ("def train(network, X, y):", "def train(network, X, y, *args, **kwargs):", 1),
        ("    layer_activations = forward(network, X)\n", "    layer_activations = forward(network, X, *args, **kwargs)\n", 1),
        ("        grad_output = network[i].backward(layer_inputs[i], grad_output)\n",
         "        grad_output = network[i].backward(layer_inputs[i], grad_output, *args, **kwargs)\n", 1),
        ("def predict(network, X):", "def predict(network, X, **kwargs):", 1),
        ("    return forward(network, X)[-1].argmax(axis=-1)", "    return forward(network, X, **kwargs)[-1].argmax(axis=-1)", 1),
        ("def iterate_minibatches(inputs, targets, batchsize, shuffle=False):",
         "def iterate_minibatches(inputs, targets, batchsize, *, shuffle=False):", 1),
        ("    def __init__(self, input_units, output_units, learning_rate=0.1):\n        self.learning_rate",
         "    def __init__(self, input_units, output_units, *, learning_rate=0.1):\n        self.learning_rate", 1),
        (_XAVIER_INIT, """    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        n_in, n_out = self.weights.shape
        self.weights = np.random.randn(n_in, n_out) * np.sqrt(2.0 / (n_in + n_out))
""", 1),
        ("""    def __init__(self, input_units, output_units, learning_rate=0.1, alpha=1e-4):
        super().__init__(input_units, output_units, learning_rate)""", """    def __init__(self, *args, alpha=1e-4, **kwargs):
        super().__init__(*args, **kwargs)""", 1),
        ("""    def __init__(self, input_units, output_units, learning_rate=0.1, momentum=0.9):
        super().__init__(input_units, output_units, learning_rate)""", """    def __init__(self, *args, momentum=0.9, **kwargs):
        super().__init__(*args, **kwargs)""", 1),
        ("""    def __init__(self, input_units, output_units, learning_rate=0.001, decay=0.9, epsilon=1e-8):
        super().__init__(input_units, output_units, learning_rate)""", """    def __init__(self, *args, decay=0.9, epsilon=1e-8, **kwargs):
        kwargs.setdefault("learning_rate", 0.001)
        super().__init__(*args, **kwargs)""", 1),
        ("""    def __init__(self, input_units, output_units, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(input_units, output_units, learning_rate)""", """    def __init__(self, *args, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        kwargs.setdefault("learning_rate", 0.001)
        super().__init__(*args, **kwargs)""", 1),
        ("    def __init__(self, p=0.5):", "    def __init__(self, *, p=0.5, **kwargs):", 1),
        ("    def __init__(self, units, learning_rate=0.1, momentum=0.9, epsilon=1e-5):",
         "    def __init__(self, units, *, learning_rate=0.1, momentum=0.9, epsilon=1e-5, **kwargs):", 1),
    ])


FIXTURES = {
    "training-flag": (_training_flag, "forward(network, X, training=False) passes training= to every layer "
                                      "(the issue's notebook); forward asserts isinstance(layer, Layer)"),
    "mode-argument": (_mode_argument, "Dropout switched by forward(input, training=True), BatchNorm by "
                                      "is_training=; forward inspects each layer's signature"),
    "duck-typed": (_duck_typed, "layers that are not Layer subclasses, called as layer(input)"),
    "tuples": (_tuples, "activations and the network as tuples, batches yielded as lists"),
    "step-counter": (_step_counter, "train(network, X, y, step=0) hands a step counter to every backward; "
                                    "forward tries training=True and catches the TypeError"),
    "args-kwargs": (_args_kwargs, "*args/**kwargs pass-through, keyword-only options and shuffle"),
    "student-names": (lambda: transformed(_rename_students),
                      "every parameter under a student's name: forward(net, inputs_), backward(x, dout), "
                      "Dense(n_in, n_out, lr), L2Dense(..., reg), Dropout(rate), ..."),
}


def fixtures() -> list[Variant]:
    """The hand-written calling-convention fixtures, as correct variants graded on every check."""
    return [_variant(f"convention-{name}", build, description) for name, (build, description) in FIXTURES.items()]
