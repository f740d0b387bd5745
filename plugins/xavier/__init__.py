"""Option I checks: ``XavierDense`` (Glorot initialisation).

* ``xavier.init``: the initial weights have variance ``2 / (in + out)`` or
  ``1 / in`` (CONTRACT option I: both go by "Xavier"; normal or uniform draws
  both accepted), mean 0 and zero biases. He's ``2 / in`` is named and gets
  partial credit. Tested
  statistically on two layer shapes where Xavier, He (``2/in``), LeCun
  (``1/in``) and fan-out schemes differ several-fold; a wrong variance is
  recognised (fan-in only, std used as variance, the default 0.01 scale, a
  uniform draw with the wrong bound, ...).
* ``xavier.forward_backward``: ``XavierDense`` still behaves like ``Dense``
  (forward, input gradient, SGD step), compared with the reference ``Dense``
  after setting the same weights.
* ``xavier.experiment``: the experiment the assignment asks for: a 5-layer
  ReLU network (784-64-64-64-64-10) built from the student's ``XavierDense``
  against the same network with every weight matrix overwritten by
  ``randn * 0.01`` (the default ``Dense`` initialisation), trained a few
  epochs on the embedded MNIST subset by the grader's own loop.

The student's random generator is theirs: nothing here depends on seeding it.
"""
import inspect

import numpy as np

import nncheck
from nncheck.verdicts import guard
from nncheck.data import load_dataset
from nncheck.model import Check, Fail, Result
from nncheck.verdicts import as_array, check_array, mismatch_details, near, require_finite, scale_between
from nncheck.probes import GraderReLU, array_or_description, train_step
from nncheck.plugins.xavier.diagnoses import DIAGNOSES
from nncheck.plugins.xavier.option import XAVIER
from nncheck.plugins.xavier.sandboxed import (  # noqa: F401 - the worker-side half
    probe_experiment,
    probe_forward_backward,
    probe_init,
)

# --------------------------------------------------------------------------
# Shared probe helpers (run in the worker; plain NumPy only)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# xavier.init
# --------------------------------------------------------------------------
# Two shapes where the candidate schemes differ several-fold:
#   wide-in  (~600 -> ~40):  Xavier 2/640, LeCun 1/600 (x0.53), fan-out 2/40 (x16)
#   wide-out (~30 -> ~500):  Xavier 2/530, He 2/30 (x18), LeCun 1/30 (x9)
LAYERS_PER_SHAPE = 3
HE_CREDIT = 0.5  # He's 2/in: another named scheme (CONTRACT option I), partial credit
Z = 6.0  # two-sided normal tail 2e-9 per test; 4 tests (mean and variance per shape) < 1e-8 together


def init_inputs(rng):
    a = (int(rng.integers(560, 641)), int(rng.integers(32, 49)))
    b = (int(rng.integers(24, 37)), int(rng.integers(450, 561)))
    return {"shapes": [list(a)] * LAYERS_PER_SHAPE + [list(b)] * LAYERS_PER_SHAPE}


def _candidates(n_in, n_out):
    """Known wrong schemes: (short name, variance, what the student did, in words)."""
    s = n_in + n_out
    return [
        ("He (fan-in only)", 2.0 / n_in,
         "variance 2 / input_units: the fan-in-only He scheme (std sqrt(2 / input_units), or a uniform "
         "bound sqrt(6 / input_units))"),
        ("uniform +-1/sqrt(in)", 1.0 / (3.0 * n_in),
         "a uniform draw U(-1/sqrt(input_units), 1/sqrt(input_units)), whose variance is 1 / (3 input_units)"),
        ("fan-out only", 2.0 / n_out, "variance 2 / output_units: fan-out only"),
        ("fan-out only (1/out)", 1.0 / n_out, "variance 1 / output_units: fan-out only"),
        ("std used as variance", (2.0 / s) ** 2,
         "standard deviation 2 / (in + out): the variance was used as the standard deviation "
         "(its square root is missing), so the variance is (2 / (in + out))**2"),
        ("half Xavier", 1.0 / s, "variance 1 / (in + out): the factor 2 is missing"),
        ("uniform with bound sqrt(2/(in+out))", 2.0 / (3.0 * s),
         "a uniform draw U(-sqrt(2/(in+out)), sqrt(2/(in+out))): a uniform U(-a, a) has variance a**2 / 3, "
         "so the bound must be sqrt(6 / (in + out))"),
        ("normal with std sqrt(6/(in+out))", 6.0 / s,
         "a normal draw with std sqrt(6 / (in + out)): that is the bound of the uniform Xavier draw, not the "
         "std of the normal one"),
        ("default 0.01", 1e-4,
         "std 0.01: the default Dense initialisation (randn * 0.01), so the Xavier weights were not set or "
         "were overwritten"),
    ]


def _shape_name(kurt):
    if kurt < 2.2:
        return "uniform-looking (kurtosis %.2f; 1.8 for a uniform draw)" % kurt
    if kurt < 3.6:
        return "normal-looking (kurtosis %.2f; 3 for a normal draw)" % kurt
    return "heavy-tailed (kurtosis %.2f)" % kurt


def verdict_init(inputs, output, z=Z):
    shapes = [tuple(s) for s in inputs["shapes"]]
    groups: dict = {}
    for k, (n_in, n_out) in enumerate(shapes):
        what = f"XavierDense({n_in}, {n_out}).weights"
        got = output["weights"][k]
        arr = as_array(got, what)
        if arr.shape == (n_out, n_in) and n_in != n_out:
            raise Fail(Result.failed(
                f"{what} has shape {arr.shape}: rows and columns are swapped.",
                hint="weights must be [input_units, output_units], as in Dense.",
                expected_shape=[n_in, n_out], got_shape=list(arr.shape)))
        arr = as_array(arr, what, (n_in, n_out))
        require_finite(arr, what)
        bias = as_array(output["biases"][k], f"XavierDense({n_in}, {n_out}).biases", (n_out,))
        if np.any(bias != 0):
            raise Fail(Result.failed(
                f"XavierDense({n_in}, {n_out}) starts with non-zero biases (largest |b| = {np.abs(bias).max():.3g}).",
                hint="Only the weights get the Xavier scale; initialise the biases with np.zeros(output_units).",
                diagnosis="xavier-biases-not-zero"))
        group = groups.setdefault((n_in, n_out), [])
        if not any(np.array_equal(arr, other) for other in group):  # a re-seeded generator repeats draws
            group.append(arr)

    stats = []
    for (n_in, n_out), arrays in groups.items():
        w = np.concatenate([a.ravel() for a in arrays])
        n = w.size
        target = 2.0 / (n_in + n_out)  # the definition of Glorot's variance (CONTRACT §1 option I)
        mean = float(w.mean())
        var = float(((w - mean) ** 2).mean())
        kurt = float(((w - mean) ** 4).mean() / var ** 2) if var > 0 else 0.0
        # Var(w^2) = (kurtosis - 1) * var^2; use at least the normal's 2 (a uniform's 0.8 is narrower)
        rel_sd = float(np.sqrt((max(kurt, 3.0) - 1.0) / n))
        stats.append({"shape": [n_in, n_out], "layers": len(arrays), "samples": n, "mean": mean,
                      "variance": var, "expected_variance": target, "ratio": var / target,
                      "kurtosis": kurt, "ci_half_width": z * rel_sd, "rel_sd": rel_sd})
    details = {"statistics": stats, "z": z,
               "false_failure_probability": "< 1e-8 (z = %g per test, 2 shapes x (mean, variance))" % z}

    for st in stats:
        n_in, n_out = st["shape"]
        if st["variance"] == 0.0:
            return Result.failed(
                f"XavierDense({n_in}, {n_out}) starts with all weights equal ({st['mean']:.3g}).",
                hint="Draw random weights: np.random.randn(input_units, output_units) * np.sqrt(2 / (input_units + output_units)).",
                diagnosis="xavier-wrong-variance", **details)

    wrong = [st for st in stats if abs(st["ratio"] - 1.0) > st["ci_half_width"]]
    if wrong and all(abs(st["variance"] * st["shape"][0] - 1.0) <= st["ci_half_width"] for st in stats):
        # CONTRACT option I: 1/in is the other variance that goes by "Xavier" (the derivation the
        # notebook links to, Caffe's xavier filler): as good as Glorot's 2/(in+out)
        wrong = []
        details["accepted_variance"] = "1/in"
    if wrong:
        found = _recognise(stats, z)
        parts = [f"({st['shape'][0]} -> {st['shape'][1]}: variance {st['variance']:.3g}, expected "
                 f"2/({st['shape'][0]}+{st['shape'][1]}) = {st['expected_variance']:.3g}, "
                 f"ratio {st['ratio']:.3g})" for st in stats]
        shape_words = _shape_name(stats[0]["kurtosis"])
        he = found is not None and found[0].startswith("He")
        if found is not None:
            name, words = found
            message = (f"The initial weights' variance is not 2 / (input_units + output_units): "
                       f"they look like {words}. Measured {' '.join(parts)}; the draws are {shape_words}.")
            details["recognised"] = name
        else:
            message = (f"The initial weights' variance is not 2 / (input_units + output_units) "
                       f"{' '.join(parts)}; the draws are {shape_words}.")
        return Result.failed(
            message,
            hint="Xavier/Glorot: np.random.randn(input_units, output_units) * np.sqrt(2 / (input_units + output_units)), "
                 "or a uniform draw on [-sqrt(6 / (in + out)), +sqrt(6 / (in + out))].",
            diagnosis="xavier-wrong-variance", fraction=HE_CREDIT if he else 0.0, **details)

    for st in stats:
        se = np.sqrt(st["variance"] / st["samples"])
        if abs(st["mean"]) > z * se:
            n_in, n_out = st["shape"]
            return Result.failed(
                f"The initial weights of XavierDense({n_in}, {n_out}) are not centred on 0: their mean is "
                f"{st['mean']:.3g}, {abs(st['mean']) / se:.1f} standard errors away from 0.",
                hint="Use a zero-mean draw: np.random.randn (not np.random.rand, which is in [0, 1)), "
                     "or np.random.uniform(-limit, limit).",
                diagnosis="xavier-not-centred", **details)
    kinds = {_shape_name(st["kurtosis"]).split(" ")[0] for st in stats}
    if details.get("accepted_variance") == "1/in":
        return Result.passed(f"variance within the {z:g}-sigma interval of 1/in on both shapes (the fan-in "
                             f"Xavier variance; Glorot's 2/(in+out) is accepted too)", **details)
    return Result.passed(f"variance within the {z:g}-sigma interval of 2/(in+out) on both shapes "
                         f"({', '.join(sorted(kinds))} draws)", **details)


def _recognise(stats, z):
    """The known wrong scheme that fits every shape, if any: ``(name, words)``."""
    best = None
    for idx in range(len(_candidates(1, 1))):
        worst = 0.0
        fits = True
        for st in stats:
            name, variance, words = _candidates(*st["shape"])[idx]
            r = st["variance"] / variance
            worst = max(worst, abs(np.log(r)))
            if abs(r - 1.0) > st["ci_half_width"] + 0.03:  # a little slack: this only names the mistake
                fits = False
        if fits and (best is None or worst < best[0]):
            best = (worst, name, words)
    return None if best is None else (best[1], best[2])


# --------------------------------------------------------------------------
# xavier.forward_backward
# --------------------------------------------------------------------------
def fb_inputs(rng):
    b = int(rng.choice([5, 6, 7, 9, 11, 13]))
    n_in, n_out = int(rng.integers(6, 13)), int(rng.integers(4, 10))
    return {"x": rng.normal(size=(b, n_in)), "grad_output": rng.normal(size=(b, n_out)) / b,
            "W": rng.normal(size=(n_in, n_out)) * 0.5, "b": rng.normal(size=n_out),
            "lr": float(rng.uniform(0.05, 0.3))}


def answers_forward_backward(inputs):
    """The reference Dense's forward, grad_input and parameters after one step on these inputs
    (the only code of the check that calls the reference)."""
    from nncheck import reference as ref

    W, b, lr = inputs["W"], inputs["b"], inputs["lr"]
    reference = ref.Dense(W.shape[0], W.shape[1], learning_rate=lr)
    reference.weights, reference.biases = W.copy(), b.copy()
    out = reference.forward(inputs["x"])
    grad_input = reference.backward(inputs["x"], inputs["grad_output"])
    return {"out": out, "grad_input": grad_input, "weights": reference.weights, "biases": reference.biases}


def verdict_forward_backward(inputs, output, answers=None, rtol=1e-6):
    answers = answers or answers_forward_backward(inputs)
    W, b, x, g, lr = inputs["W"], inputs["b"], inputs["x"], inputs["grad_output"], inputs["lr"]
    batch = len(x)
    exp_out, exp_gin = answers["out"], answers["grad_input"]
    # rtol 1e-6: float64 results of different operation orders agree to ~1e-12; the
    # observed gradient (W - W_after) / lr loses ~1e-14 more.
    check_array(output["out"], exp_out, "XavierDense.forward(x)", rtol=rtol, atol=1e-9,
                hint="XavierDense only changes the initialisation: forward is input @ weights + biases, as in Dense.")
    W_after = require_finite(as_array(output["W_after"], "XavierDense.weights after backward", W.shape),
                             "XavierDense.weights after backward")
    b_after = require_finite(as_array(output["b_after"], "XavierDense.biases after backward", b.shape),
                             "XavierDense.biases after backward")
    for got_after, before, expected_after, what in ((W_after, W, answers["weights"], "weight"),
                                                    (b_after, b, answers["biases"], "bias")):
        got = (before - got_after) / lr
        expected = (before - expected_after) / lr
        if np.allclose(got, expected, rtol=rtol, atol=1e-9):
            continue
        s = scale_between(got, expected)
        if s is not None and near(s, 1.0 / batch):
            code, words = "dense-grad-divided-by-batch", (
                f"the {what} gradient is divided by the batch size ({batch}); grad_output is already averaged")
        elif s is not None and near(s, -1.0):
            code, words = "dense-update-sign", f"the {what} update goes uphill (+ lr * gradient instead of -)"
        elif s is not None and abs(s) < 1e-9:
            code, words = "dense-params-not-updated", f"the {what}s do not change in backward"
        else:
            code, words = None, f"the {what} update is not -learning_rate * gradient"
        raise Fail(Result.failed(
            f"XavierDense must still train like Dense, but {words} (learning rate passed as "
            f"{output.get('lr_passed_as')}).",
            hint="Inherit backward from Dense (class XavierDense(Dense)) and change only __init__.",
            diagnosis=code, **mismatch_details(got, expected)))
    got_gin = as_array(output["grad_input"], "XavierDense.backward(x, grad_output)", exp_gin.shape)
    if not np.allclose(got_gin, exp_gin, rtol=rtol, atol=1e-9):
        if np.allclose(got_gin, g @ W_after.T, rtol=rtol, atol=1e-9):
            raise Fail(Result.failed(
                "XavierDense.backward returns grad_output @ W.T computed with the weights after the update.",
                hint="Compute grad_input before changing the weights.",
                diagnosis="dense-grad-input-after-update"))
        check_array(got_gin, exp_gin, "XavierDense.backward(x, grad_output)", rtol=rtol, atol=1e-9,
                    hint="grad_input = grad_output @ weights.T, with the weights before the update.")
    return Result.passed()


# --------------------------------------------------------------------------
# xavier.experiment
# --------------------------------------------------------------------------
SIZES = (784, 64, 64, 64, 64, 10)
EXP_TRAIN, EXP_EPOCHS, EXP_BATCH, EXP_LR = 2000, 3, 32, 0.1
EXP_MARGIN = 0.10  # Xavier's validation accuracy must beat the 0.01-init network's by 10 points


def exp_inputs(rng, epochs=EXP_EPOCHS):
    return {"train_idx": rng.permutation(4000)[:EXP_TRAIN],
            "perms": np.stack([rng.permutation(EXP_TRAIN) for _ in range(epochs)]),
            "init_seed": int(rng.integers(2 ** 31)), "sizes": list(SIZES), "batch": EXP_BATCH, "lr": EXP_LR}


def verdict_experiment(inputs, output, margin=EXP_MARGIN):
    xav = [float(a) for a in output["xavier_val_acc"]]
    base = [float(a) for a in output["baseline_val_acc"]]
    details = {
        "curves": {"option": xav, "baseline": base,
                   "option_train_loss": [float(v) for v in output["xavier_loss"]],
                   "baseline_train_loss": [float(v) for v in output["baseline_loss"]]},
        "metric": "validation accuracy after each epoch",
        "criterion": f"the Xavier network's final validation accuracy beats the randn*0.01 network's by "
                     f">= {margin * 100:g} points",
        "network": "-".join(str(s) for s in inputs["sizes"]) + " with ReLU, "
                   f"{len(inputs['train_idx'])} MNIST digits, {len(inputs['perms'])} epochs, batch "
                   f"{inputs['batch']}, learning rate {inputs['lr']}",
        "baseline_top_class_share": output["baseline_top_class_share"],
    }
    gain = xav[-1] - base[-1]
    collapse = ""
    if output["baseline_top_class_share"] > 0.9:
        collapse = (f" The randn*0.01 network predicts one class for "
                    f"{output['baseline_top_class_share'] * 100:.0f}% of the digits: its signal vanishes "
                    "through the 5 layers.")
    if gain >= margin:
        return Result.passed(f"Xavier reaches {xav[-1]:.1%} validation accuracy vs {base[-1]:.1%} "
                             f"with randn*0.01.{collapse}", **details)
    return Result.failed(
        f"In the deep-network experiment your XavierDense network reaches {xav[-1]:.1%} validation accuracy "
        f"and the randn*0.01 network {base[-1]:.1%}: Xavier should win by at least {margin * 100:g} points.",
        hint="Check xavier.init: with variance 2/(in+out) the activations keep their scale through the "
             "5 layers and the network learns within a few epochs.", **details)


# --------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------
@nncheck.hookimpl
def nncheck_diagnoses(config):
    return list(DIAGNOSES)


@nncheck.hookimpl
def nncheck_checks(config):
    z = config.tolerance("xavier.init", Z)
    fb_rtol = config.tolerance("xavier.forward_backward", 1e-6)
    margin = config.tolerance("xavier.experiment", EXP_MARGIN)
    return guard([
        Check("xavier.init", "XavierDense draws weights with variance 2/(in+out), mean 0, zero biases",
              probe_init, lambda i, o: verdict_init(i, o, z), init_inputs, section="options", points=10,
              requires=("XavierDense",), entry="{cls}.__init__",
              hint="weights = np.random.randn(in, out) * np.sqrt(2 / (in + out)); biases = np.zeros(out)."),
        Check("xavier.forward_backward", "XavierDense still computes and trains like Dense",
              probe_forward_backward, lambda i, o, a=None: verdict_forward_backward(i, o, a, fb_rtol),
              fb_inputs,
              section="options", points=4, requires=("XavierDense",), answers=answers_forward_backward,
              hint="Subclass Dense and change only the initialisation."),
        Check("xavier.experiment", "Xavier init beats randn*0.01 on a 5-layer network (MNIST)",
              probe_experiment, lambda i, o: verdict_experiment(i, o, margin),
              exp_inputs, section="options", points=6,
              requires=("XavierDense",), after=("xavier.forward_backward",), timeout=20,
              downstream=("xavier.", "dense.", "relu."), full_edition_only=True,  # the grader's stand-ins
              hint="With randn*0.01 a deep ReLU network's signal vanishes; Xavier keeps it."),
    ])


@nncheck.hookimpl
def nncheck_options(config):
    return [XAVIER]


@nncheck.hookimpl(specname="nncheck_selftest_variants")
def nncheck_selftest_form_variants(config):
    """The option in the forms students write it: an own-named class, a flag, a switch (selftest.py)."""
    from nncheck.plugins.xavier.selftest import form_variants

    return form_variants()


@nncheck.hookimpl
def nncheck_selftest_variants(config):
    from nncheck.variants import correct, mutant

    std_line = "std = np.sqrt(2.0 / (input_units + output_units))"
    draw_line = "self.weights = np.random.randn(input_units, output_units) * std"
    return [
        mutant("xavier-fan-in-he", "xavier", "xavier-wrong-variance", "options.py",
               std_line, "std = np.sqrt(2.0 / input_units)",
               "He initialisation (fan-in only) instead of Xavier"),
        mutant("xavier-std-as-variance", "xavier", "xavier-wrong-variance", "options.py",
               std_line, "std = 2.0 / (input_units + output_units)",
               "the variance 2/(in+out) used as the standard deviation"),
        mutant("xavier-default-scale", "xavier", "xavier-wrong-variance", "options.py",
               draw_line, "pass",
               "XavierDense keeps Dense's randn * 0.01 weights"),
        mutant("xavier-uniform-fan-in-bound", "xavier", "xavier-wrong-variance", "options.py",
               draw_line,
               "self.weights = np.random.uniform(-1 / np.sqrt(input_units), 1 / np.sqrt(input_units), "
               "(input_units, output_units))",
               "uniform draw with the fan-in bound 1/sqrt(in)"),
        mutant("xavier-nonzero-bias", "xavier", "xavier-biases-not-zero", "options.py",
               draw_line, draw_line + "; self.biases = np.random.randn(output_units) * std",
               "random biases"),
        mutant("xavier-rand-not-randn", "xavier", "xavier-not-centred", "options.py",
               draw_line,
               "self.weights = (np.random.rand(input_units, output_units) - 0.45) * np.sqrt(12) * std",
               "a draw that is not centred on 0"),
        correct("xavier-uniform", [(
            "options.py", draw_line,
            "limit = np.sqrt(6.0 / (input_units + output_units)); "
            "self.weights = np.random.uniform(-limit, limit, size=(input_units, output_units))")],
            description="uniform Xavier U(-sqrt(6/(in+out)), +sqrt(6/(in+out)))", families=("xavier",)),
        correct("xavier-fan-in", [("options.py", std_line, "std = np.sqrt(1.0 / input_units)")],
                description="Xavier with variance 1/in (the notebook's derivation, Caffe's filler)",
                families=("xavier",)),
        correct("xavier-default-rng-normal", [(
            "options.py", draw_line,
            "self.weights = np.random.default_rng().normal(0.0, std, size=(input_units, output_units))")],
            description="an unseeded numpy Generator, normal(0, std)", families=("xavier",)),
    ]
