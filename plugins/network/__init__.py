"""Network checks: ``forward``, ``predict`` and ``train`` on the grader's own layers.

The student's network functions are judged independently of the student's
``Dense`` and ``ReLU``: the probes build networks of :class:`RecordingLayer`
objects, fake layers owned by the grader that apply a fixed map (an affine
map with given weights, or tanh) and record every ``forward`` and
``backward`` call: which layer, the input it got, the ``grad_output`` it got
and what it returned. A bug in the student's layers therefore cannot fail
these checks, and the call log shows exactly how ``train`` walked the
network.

The fake layers' math lives in one place (:func:`layer_forward`,
:func:`layer_backward`) used by the probe (through the layers) and by the
verdicts. The expected behaviour is obtained by running the reference's
``forward``/``predict``/``train`` on a fresh network of the same recording
layers, so the expected call log is the reference's own.

Fake layers never raise: a call with a wrongly shaped argument (a student
walking the network forward during backprop, say) is recorded and answered
with zeros, so the verdict sees the whole walk and can name the mistake.
"""
import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import mismatch_details, scale_between
from nncheck.plugins.network.diagnoses import DIAGNOSES
from nncheck.plugins.network.sandboxed import (  # noqa: F401 - the worker-side half
    build_network,
    probe_forward,
    probe_predict,
    probe_train,
)

# --------------------------------------------------------------------------
# The grader's fake layers (shared by probes and verdicts)
# --------------------------------------------------------------------------


def _describe_layer(layers, i):
    spec = layers[i]
    if spec["kind"] == "affine":
        n_in, n_out = spec["W"].shape
        what = f"affine {n_in}->{n_out}"
    else:
        what = "tanh"
    last = ", the last one" if i == len(layers) - 1 else ""
    return f"network[{i}] ({what}{last})"


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def network_inputs(rng):
    """A 5-layer network affine-tanh-affine-tanh-affine with odd widths and a batch != 10."""
    b = int(rng.choice([6, 7, 9, 11, 13]))
    widths = [int(rng.integers(6, 10)), int(rng.integers(5, 9)), int(rng.integers(4, 8)),
              int(rng.integers(3, 6))]
    layers = []
    for j in range(3):
        n_in, n_out = widths[j], widths[j + 1]
        layers.append({"kind": "affine", "W": rng.normal(size=(n_in, n_out)) * 1.5 / np.sqrt(n_in),
                       "b": rng.normal(size=n_out) * 0.5})
        if j < 2:
            layers.append({"kind": "tanh"})
    X = rng.normal(size=(b, widths[0]))
    y = rng.integers(0, widths[-1], size=b)
    return {"layers": layers, "X": X, "y": y}


def answers_network(inputs):
    """The reference's forward/predict/train on the same fake layers: activations, log, loss
    (the only code here that calls the reference)."""
    from nncheck import reference as ref

    layers, X, y = inputs["layers"], inputs["X"], inputs["y"]
    acts = ref.forward(build_network(layers, []), X.copy())
    preds = ref.predict(build_network(layers, []), X.copy())
    log = []
    loss = ref.train(build_network(layers, log), X.copy(), y.copy())
    backward = [c for c in log if c["op"] == "backward"]
    return {"activations": acts, "layer_inputs": [X] + list(acts), "predictions": preds,
            "loss": loss, "backward": backward,
            "per_sample_loss": ref.softmax_crossentropy_with_logits(acts[-1], y),
            "loss_grad": ref.grad_softmax_crossentropy_with_logits(acts[-1], y)}


# --------------------------------------------------------------------------
# Probes (run in the worker)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Verdict helpers
# --------------------------------------------------------------------------

def _same(got, expected, rtol=1e-12, atol=1e-12) -> bool:
    """Equal up to round-off. Activations, layer inputs and grad_outputs are the grader's own
    arrays passed around by the student's code, so they match exactly; 1e-12 only absorbs a copy
    through another dtype path."""
    if isinstance(got, str) or got is None:
        return False
    got = np.asarray(got)
    return got.shape == np.shape(expected) and bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def _which_input(value, layer_inputs):
    """Index ``j`` with ``value`` equal to ``layer_inputs[j]`` (X is 0), or None."""
    for j, cand in enumerate(layer_inputs):
        if _same(value, cand):
            return j
    return None


def _name_value(j, n):
    if j == 0:
        return "X (the network's input)"
    if j == n:
        return f"the logits (network[{j - 1}]'s output)"
    return f"network[{j - 1}]'s output"


def _sentences(items, limit=2):
    """At most ``limit`` sentences joined, with a count of the rest."""
    text = "; ".join(items[:limit])
    if len(items) > limit:
        text += f"; and {len(items) - limit} more like these"
    return text


def _forward_problems(calls, layers, layer_inputs):
    """Sentences describing how the logged forward calls differ from a clean forward pass."""
    fwd = [c for c in calls if c["op"] == "forward"]
    n = len(layers)
    if not fwd:
        return ["no layer's forward was called"]
    first = [c["layer"] for c in fwd[:n]]
    if first != list(range(min(n, len(fwd)))) or len(fwd) < n:
        return [f"the layers' forward was called in the order {[c['layer'] for c in fwd][:12]}, "
                f"expected {list(range(n))} (network[0] first, each layer once)"]
    problems = []
    for c in fwd[:n]:
        i = c["layer"]
        if not _same(c["input"], layer_inputs[i]):
            j = _which_input(c["input"], layer_inputs)
            got = _name_value(j, n) if j is not None else "something else"
            problems.append(f"network[{i}].forward got {got} instead of {_name_value(i, n)}")
    return [_sentences(problems)] if problems else []


def _get_array(plain, what):
    if plain.get("kind") == "none":
        raise Fail(Result.failed(f"{what} returned None.", hint="Did you forget a `return` statement?"))
    if plain.get("kind") != "array":
        raise Fail(Result.failed(f"{what} returned a {plain.get('type')}, not a number or an array."))
    return plain["value"]


# --------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------


def verdict_forward(inputs, output, answers=None):
    exp = answers or answers_network(inputs)
    layers, X = inputs["layers"], inputs["X"]
    acts, layer_inputs = exp["activations"], exp["layer_inputs"]
    n = len(layers)
    got = output["activations"]
    calls = output.get("calls") or []
    if got.get("kind") != "list":
        if got.get("kind") == "none":
            raise Fail(Result.failed("forward(network, X) returned None.",
                                     hint="Return the list `activations` at the end of forward."))
        if got.get("kind") == "array" and _same(got["value"], acts[-1]):
            return Result.failed(
                "forward(network, X) returned only the logits, not the list of all activations.",
                hint="Append every layer's output to a list and return the list; predict and train "
                     "take the last element as the logits.", diagnosis="forward-returns-logits-only")
        return Result.failed(f"forward(network, X) returned a {got.get('type')}, not a list of activations.",
                             hint="Return a list with one array per layer.")
    items = [it.get("value") if it.get("kind") == "array" else None for it in got["items"]]
    if len(items) == n + 1 and _same(items[0], X) and all(_same(a, e) for a, e in zip(items[1:], acts)):
        return Result.failed(
            f"forward(network, X) returned {n + 1} arrays for a network of {n} layers: "
            "the list starts with X itself.",
            hint="Return one activation per layer (the layers' outputs), not X; train builds "
                 "[X] + activations itself.", diagnosis="forward-includes-input")
    if len(items) != n:
        return Result.failed(
            f"forward(network, X) returned {len(items)} activations for a network of {n} layers.",
            hint="Append exactly one activation per layer, in order; the last one is the logits.",
            expected_len=n, got_len=len(items))
    if all(_same(a, e) for a, e in zip(items, acts)):
        return Result.passed()
    bad = next(i for i, (a, e) in enumerate(zip(items, acts)) if not _same(a, e))
    problems = _forward_problems(calls, layers, layer_inputs)
    fwd = [c for c in calls if c["op"] == "forward"]
    if any(c["layer"] > 0 and _same(c["input"], X) for c in fwd):
        return Result.failed(
            "forward applies the layers to X instead of to the previous layer's output ("
            + "; ".join(problems) + ").",
            hint="Feed each layer the output of the one before: input = layer.forward(input).",
            diagnosis="forward-not-chained")
    if all(_same(a, e) for a, e in zip(items, layer_inputs[:n])):
        return Result.failed(
            "forward's list holds each layer's input (starting with X), not its output, so the "
            "last element is not the logits.",
            hint="Append the output of layer.forward to the list, after calling it.",
            diagnosis="forward-activations-shifted")
    why = f" ({'; '.join(problems)})" if problems else ""
    arr = items[bad]
    details = mismatch_details(np.asarray(arr, dtype=float), acts[bad]) if arr is not None else {}
    return Result.failed(
        f"forward(network, X)[{bad}] is not the output of {_describe_layer(layers, bad)}{why}.",
        hint="activations[i] must be network[i].forward(activations[i-1]) (X for i = 0).",
        **details)


def verdict_predict(inputs, output, answers=None):
    exp = answers or answers_network(inputs)
    expected = exp["predictions"]
    logits = exp["activations"][-1]
    b, k = logits.shape
    got = _get_array(output["predictions"], "predict(network, X)")
    forward_note = ""
    problems = _forward_problems(output.get("calls") or [], inputs["layers"], exp["layer_inputs"])
    if problems:
        forward_note = " The forward pass it ran was wrong too: " + "; ".join(problems) + " (see network.forward)."
    if got.shape == (b, k):
        if _same(got, logits):
            return Result.failed("predict(network, X) returns the logits, not the predicted classes.",
                                 hint="Return logits.argmax(axis=-1): one class id per sample.",
                                 diagnosis="predict-not-argmax")
        return Result.failed(f"predict(network, X) returns an array of shape {got.shape} (one row of "
                             "scores per sample), not one class id per sample." + forward_note,
                             hint="Return logits.argmax(axis=-1).", diagnosis="predict-not-argmax")
    if got.shape == (k,) and np.array_equal(got, logits.argmax(axis=0)):
        return Result.failed("predict(network, X) takes the argmax over the batch (axis 0), not over "
                             "the classes.", hint="Use logits.argmax(axis=-1) (or axis=1).",
                             diagnosis="predict-wrong-axis")
    if got.shape != (b,):
        return Result.failed(f"predict(network, X) has shape {got.shape}, expected ({b},): one class id "
                             "per sample." + forward_note, hint="Return logits.argmax(axis=-1).",
                             expected_shape=[b], got_shape=list(got.shape))
    if got.dtype.kind == "b" or (got.dtype.kind == "f" and not np.all(got == np.round(got))):
        return Result.failed(f"predict(network, X) returns {got.dtype} values, not integer class ids.",
                             hint="argmax returns integer class ids; return them as they are.")
    if np.array_equal(got.astype(np.int64), expected):
        return Result.passed()
    if np.array_equal(got.astype(np.int64), logits.argmin(axis=-1)):
        return Result.failed("predict(network, X) picks the class with the smallest logit.",
                             hint="The predicted class has the largest logit: argmax, not argmin.",
                             diagnosis="predict-not-argmax")
    wrong = int(np.sum(got.astype(np.int64) != expected))
    return Result.failed(f"predict(network, X) gives the wrong class for {wrong} of {b} samples." + forward_note,
                         hint="predict should return forward(network, X)[-1].argmax(axis=-1).",
                         expected=expected, got=got)


def _loss_problem(plain, exp, config_rtol):
    """(code, sentence) if train's return value is not the mean loss, else None."""
    mean = exp["loss"]
    per_sample = exp["per_sample_loss"]
    b = len(per_sample)
    if plain.get("kind") == "none":
        return ("train-loss-not-returned", "train returned None instead of the mean loss")
    if plain.get("kind") != "array":
        return ("train-loss-not-returned", f"train returned a {plain.get('type')} instead of the mean loss")
    value = np.asarray(plain["value"], dtype=np.float64)
    if value.size == b and b > 1 and np.allclose(value.ravel(), per_sample, rtol=config_rtol, atol=1e-12):
        return ("train-loss-not-averaged", "train returned the per-sample losses instead of their mean")
    if value.size != 1:
        return (None, f"train returned an array of shape {value.shape} instead of a single number (the mean loss)")
    v = float(value.ravel()[0])
    if abs(v - mean) <= config_rtol * abs(mean) + 1e-12:
        return None
    if abs(v - mean * b) <= config_rtol * abs(mean * b):
        return ("train-loss-not-averaged", f"train returned the sum of the losses ({v:.6g}) instead of their mean "
                f"({mean:.6g})")
    return (None, f"train returned {v:.6g}, but the mean cross-entropy of the batch is {mean:.6g}")


def make_verdict_train(config):
    loss_rtol = config.tolerance("network.train", 1e-7)  # stable vs plain log-sum-exp: ~1e-15

    def verdict_train(inputs, output, answers=None):
        return _judge_train(inputs, output, loss_rtol, answers)

    return verdict_train


def _judge_train(inputs, output, loss_rtol, answers=None):
    exp = answers or answers_network(inputs)
    layers = inputs["layers"]
    n = len(layers)
    layer_inputs = exp["layer_inputs"]
    calls = output.get("calls") or []
    back = [c for c in calls if c["op"] == "backward"]
    seq = [int(c["layer"]) for c in back]
    problems = []  # (code or None, sentence, hint)

    fwd_problems = _forward_problems(calls, layers, layer_inputs)
    if fwd_problems:
        problems.append((None, "the forward pass train ran was wrong: " + "; ".join(fwd_problems),
                         "train should start with layer_activations = forward(network, X); "
                         "fix network.forward first."))

    # 1. every layer exactly once, last to first
    structure_ok = seq == list(range(n - 1, -1, -1))
    if not back:
        problems.append(("backprop-skips-layer", "train never called backward on any layer",
                         "After computing the loss gradient, call backward on every layer, from the "
                         "last to the first, passing on what each call returns."))
    else:
        missing = [i for i in range(n) if i not in seq]
        if missing:
            names = ", ".join(_describe_layer(layers, i) for i in missing)
            why = ""
            if n - 1 in missing:
                why = (" A loop over network[:-1] (or zip(..., network[:-1])) leaves out the last layer, "
                       "the one that produces the logits.")
            problems.append(("backprop-skips-layer", f"backward was never called on {names}." + why,
                             "Call backward on every layer, the last one included."))
        repeated = sorted({i for i in seq if seq.count(i) > 1})
        if repeated:
            problems.append(("backprop-repeats-layer",
                             "backward was called more than once on "
                             + ", ".join(_describe_layer(layers, i) for i in repeated)
                             + f" (order of calls: {seq[:20]})",
                             "Each layer's backward takes an SGD step, so call it exactly once per batch."))
        order = []
        for i in seq:
            if i not in order:
                order.append(i)
        if len(order) > 1 and order != sorted(order, reverse=True):
            if order == sorted(order):
                sentence = (f"backward was called in forward order (layers {order}): network[0] first. "
                            "Backpropagation starts at the last layer, where the loss gradient is")
            else:
                sentence = f"backward was called on the layers in the order {order}, not from last to first"
            problems.append(("backprop-wrong-order", sentence,
                             "Go from the last layer to the first: for i in reversed(range(len(network))), "
                             "or for layer in network[::-1]."))

    # 2. each backward got the input that layer got in its latest forward (the correct
    #    layer_inputs[i] whenever the forward pass was right)
    latest = {}
    for c in (calls if not fwd_problems else []):  # downstream of a wrong forward: not judged
        i = int(c["layer"])
        if c["op"] == "forward":
            latest[i] = c["input"]
            continue
        if i not in latest:
            sentence = f"network[{i}].backward was called before network[{i}].forward"
        elif _same(c["input"], latest[i]):
            continue
        else:
            j = _which_input(c["input"], layer_inputs)
            if j == i + 1:
                sentence = (f"network[{i}].backward got its own output, {_name_value(j, n)}, instead of its "
                            f"input, {_name_value(i, n)}")
            elif j is not None:
                sentence = (f"network[{i}].backward got {_name_value(j, n)} instead of its input, "
                            f"{_name_value(i, n)}")
            elif isinstance(c["input"], str):
                sentence = f"network[{i}].backward got {c['input']} as its input instead of an array"
            else:
                sentence = (f"network[{i}].backward got an input that is not the one network[{i}].forward "
                            "got")
        problems.append(("backprop-wrong-input", sentence,
                         "layer_inputs = [X] + layer_activations; network[i].backward gets layer_inputs[i] "
                         "(the layer's input), not layer_inputs[i + 1] (its output)."))
        break  # one example is enough

    # 3. the gradient chain: loss gradient first, then what the previous backward returned
    if structure_ok:
        first = back[0]["grad_output"]
        expected_first = exp["loss_grad"]
        if fwd_problems:
            pass  # the logits were wrong, so was their loss gradient: the forward note says it
        elif not _same(first, expected_first, rtol=1e-7, atol=1e-12):  # stable vs plain softmax: ~1e-15
            s = scale_between(np.asarray(first, dtype=float), expected_first) \
                if not isinstance(first, str) and np.shape(first) == expected_first.shape else None
            if s is not None and abs(s - len(inputs["X"])) < 1e-6 * len(inputs["X"]):
                problems.append(("loss-grad-not-divided-by-batch",
                                 "backprop started from (softmax - onehot) without the division by the "
                                 "batch size",
                                 "This comes from grad_softmax_crossentropy_with_logits (see loss.grad): "
                                 "divide by the batch size there."))
            elif s is not None and abs(s + 1) < 1e-6:
                problems.append((None, "backprop started from minus the loss gradient",
                                 "Start from grad_softmax_crossentropy_with_logits(logits, y) as it is."))
            else:
                what = ("the per-sample loss values" if not isinstance(first, str) and _same(
                    np.ravel(first), exp["per_sample_loss"], rtol=1e-7) else "a different grad_output")
                problems.append((None, f"backprop did not start from the loss gradient (softmax - onehot) / b "
                                       f"of the logits: the last layer's backward got {what}",
                                 "grad_output for the last layer is grad_softmax_crossentropy_with_logits("
                                 "logits, y); check that function too (loss.grad)."))
        for prev, c in zip(back, back[1:]):
            if _same(c["grad_output"], prev["returned"], rtol=1e-9, atol=1e-12):
                continue
            if _same(c["grad_output"], first, rtol=1e-9, atol=1e-12):
                sentence = (f"network[{c['layer']}].backward got the loss gradient again, not what "
                            f"network[{prev['layer']}].backward returned")
            else:
                sentence = (f"network[{c['layer']}].backward did not get what network[{prev['layer']}].backward "
                            "returned as its grad_output")
            problems.append(("backprop-grad-not-chained", sentence,
                             "Keep the result: grad_output = layer.backward(input, grad_output), and pass it "
                             "to the next layer down."))
            break

    # 4. the return value
    lp = _loss_problem(output["loss"], exp, loss_rtol) if not fwd_problems else None
    if lp is not None:
        code, sentence = lp
        problems.append((code, sentence, "Return the mean of softmax_crossentropy_with_logits(logits, y) "
                                         "over the batch (a float)."))

    if not problems:
        return Result.passed()
    codes = []
    for code, _, _ in problems:
        if code and code not in codes:
            codes.append(code)
    message = "train(network, X, y): " + "; ".join(p[1].rstrip(".") for p in problems) + "."
    hints = []
    for _, _, hint in problems:
        if hint not in hints:
            hints.append(hint)
    return Result.failed(message, hint=" ".join(hints), diagnosis=codes,
                         backward_order=seq, expected_order=list(range(n - 1, -1, -1)))


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------


@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    return guard([
        Check("network.forward", "forward returns every layer's output, each fed the previous one",
              probe_forward, verdict_forward, network_inputs, points=5, requires=("forward",), entry="forward",
              answers=answers_network,
              hint="activations[i] = network[i].forward(activations[i-1]), starting from X; return the list."),
        Check("network.predict", "predict returns the argmax class of the logits",
              probe_predict, verdict_predict, network_inputs, points=5, requires=("predict",),
              answers=answers_network,
              hint="predict should return forward(network, X)[-1].argmax(axis=-1)."),
        Check("network.train", "train backpropagates through every layer, last to first, and returns the mean loss",
              probe_train, make_verdict_train(config), network_inputs, points=10, requires=("train",),
              answers=answers_network,
              hint="forward, loss gradient, then grad_output = network[i].backward(layer_inputs[i], grad_output) "
                   "for i from the last layer to the first; return the mean loss."),
    ])


_TRAIN_LOOP = """    for i in reversed(range(len(network))):
        grad_output = network[i].backward(layer_inputs[i], grad_output)
"""
_FORWARD_LOOP = """    for layer in network:
        input = layer.forward(input)
        activations.append(input)
"""


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    # the calling-convention fixtures (issue 13) ride with the network family, where the grader
    # hands student code its own stand-ins; each is graded on every check
    from nncheck.selftest.conventions import fixtures as convention_fixtures
    from nncheck.variants import correct, mutant

    return convention_fixtures() + [
        mutant("train-forward-order", "network", "backprop-wrong-order", "network.py",
               "for i in reversed(range(len(network))):", "for i in range(len(network)):",
               "backward called from the first layer to the last"),
        mutant("train-skips-last-layer", "network", "backprop-skips-layer", "network.py",
               "for i in reversed(range(len(network))):", "for i in reversed(range(len(network) - 1)):",
               "the last layer's backward is never called"),
        mutant("train-notebook-zip", "network", "backprop-skips-layer", "network.py", _TRAIN_LOOP,
               "    layer_inputs = layer_inputs[:-1]\n"
               "    for input, layer in zip(layer_inputs[:-1], network[:-1]):\n"
               "        grad_output = layer.backward(input, grad_output)\n",
               "the original notebook's student code: skips the last layer and goes forward"),
        mutant("train-output-as-input", "network", "backprop-wrong-input", "network.py",
               "grad_output = network[i].backward(layer_inputs[i], grad_output)",
               "grad_output = network[i].backward(layer_inputs[i + 1], grad_output)",
               "each layer's backward gets its output instead of its input"),
        mutant("train-grad-not-chained", "network", "backprop-grad-not-chained", "network.py",
               "grad_output = network[i].backward(layer_inputs[i], grad_output)",
               "network[i].backward(layer_inputs[i], grad_output)",
               "the result of backward is thrown away: every layer gets the loss gradient"),
        mutant("train-returns-sum", "network", "train-loss-not-averaged", "network.py",
               "return float(np.mean(loss))", "return float(np.sum(loss))",
               "train returns the summed loss"),
        mutant("forward-not-chained", "network", "forward-not-chained", "network.py", _FORWARD_LOOP,
               "    for layer in network:\n        activations.append(layer.forward(X))\n",
               "every layer is applied to X"),
        mutant("predict-returns-logits", "network", "predict-not-argmax", "network.py",
               "return forward(network, X)[-1].argmax(axis=-1)", "return forward(network, X)[-1]",
               "predict returns the logits"),
        mutant("predict-axis-0", "network", "predict-wrong-axis", "network.py",
               "return forward(network, X)[-1].argmax(axis=-1)", "return forward(network, X)[-1].argmax(axis=0)",
               "argmax over the batch"),
        correct("train-index-loop-slice", edits=[("network.py", _TRAIN_LOOP,
                "    for i in range(len(network))[::-1]:\n"
                "        layer = network[i]\n"
                "        grad_output = layer.backward(layer_inputs[i], grad_output)\n")],
                description="explicit reversed index loop with a slice", families=("network",)),
        correct("train-zip-reversed", edits=[
            ("network.py", _TRAIN_LOOP,
             "    for layer, layer_input in zip(network[::-1], layer_inputs[-2::-1]):\n"
             "        grad_output = layer.backward(layer_input, grad_output)\n"),
            ("network.py", "return float(np.mean(loss))", "return np.mean(loss)")],
                description="zip over reversed layers and inputs; returns np.float64", families=("network",)),
        correct("forward-while-loop", edits=[("network.py", _FORWARD_LOOP,
                "    i = 0\n"
                "    while i < len(network):\n"
                "        activations.append(network[i].forward(activations[-1] if activations else X))\n"
                "        i += 1\n")],
                description="forward with a while loop", families=("network",)),
        correct("forward-comprehension", edits=[
            ("network.py", _FORWARD_LOOP,
             "    activations = [input := layer.forward(input) for layer in network]\n"),
            ("network.py", "return forward(network, X)[-1].argmax(axis=-1)",
             "logits = forward(network, X)[-1]\n    return np.argmax(logits, axis=1)")],
                description="forward as a list comprehension; predict with np.argmax(axis=1)",
                families=("network",)),
    ]
