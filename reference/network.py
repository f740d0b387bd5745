"""A network is a plain list of layers: forward, predict, one SGD step, minibatches."""
import numpy as np

from .loss import grad_softmax_crossentropy_with_logits, softmax_crossentropy_with_logits

__all__ = ["forward", "predict", "train", "iterate_minibatches"]


def forward(network, X):
    """Apply the layers in order.

    Args:
        network: list of layers.
        X: ``[b, n_in]`` inputs.

    Returns:
        list with one activation per layer; the last is the logits ``[b, k]``.
    """
    activations = []
    input = X
    for layer in network:
        input = layer.forward(input)
        activations.append(input)
    assert len(activations) == len(network)
    return activations


def predict(network, X):
    """``X`` ``[b, n_in]`` -> predicted class ids ``[b]`` (argmax of the logits)."""
    return forward(network, X)[-1].argmax(axis=-1)


def train(network, X, y):
    """One training step on a batch: forward, loss, backward through every layer.

    Args:
        network: list of layers (each updates its own parameters in ``backward``).
        X: ``[b, n_in]`` inputs.
        y: ``[b]`` int labels.

    Returns:
        the mean loss over the batch (float).
    """
    layer_activations = forward(network, X)
    layer_inputs = [X] + layer_activations  # layer_inputs[i] is network[i]'s input
    logits = layer_activations[-1]

    loss = softmax_crossentropy_with_logits(logits, y)
    grad_output = grad_softmax_crossentropy_with_logits(logits, y)

    for i in reversed(range(len(network))):
        grad_output = network[i].backward(layer_inputs[i], grad_output)

    return float(np.mean(loss))


def iterate_minibatches(inputs, targets, batchsize, shuffle=False):
    """Yield ``(x [<=batchsize, ...], y [<=batchsize])`` pairs covering the data once.

    Without ``shuffle`` the order is kept; with ``shuffle`` a fresh permutation
    is drawn from ``np.random``. The last, partial batch is kept.
    """
    assert len(inputs) == len(targets)
    n = len(inputs)
    indices = np.random.permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batchsize):
        excerpt = indices[start:start + batchsize]
        yield inputs[excerpt], targets[excerpt]
