"""The worker side of the LeakyReLU checks: runs inside nncheck's sandbox.

A probe calls the student's code and returns plain data (numbers, strings,
NumPy arrays). This module is the only part of the plugin the sandbox sees,
so it imports nothing but NumPy and the standard library: never the
reference, never a verdict.
"""


def probe(ns, inputs):
    """Forward and backward of the student's ``LeakyReLU(slope)`` on the grader's inputs."""
    layer = ns["LeakyReLU"](slope=inputs["slope"])
    x = inputs["x"].copy()
    out = layer.forward(x)
    return {"out": out, "grad_input": layer.backward(x, inputs["grad_output"].copy())}
