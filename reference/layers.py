"""Core layers: the identity ``Layer``, ``ReLU`` and the SGD ``Dense`` layer.

Shapes: ``b`` is the batch size, ``n_in``/``n_out`` the numbers of units.
"""
import numpy as np

__all__ = ["Layer", "ReLU", "Dense"]


class Layer:
    """A building block that maps ``input`` to ``output`` and back-propagates.

    The base layer is the identity. Layers with parameters update them inside
    ``backward``.
    """

    def __init__(self):
        """A dummy layer has no parameters."""

    def forward(self, input):
        """Return the output ``[b, n_out]`` for ``input`` ``[b, n_in]`` (identity here)."""
        return input

    def backward(self, input, grad_output):
        """Return d loss / d input ``[b, n_in]`` given d loss / d output ``[b, n_out]``.

        ``input`` is the same array the latest ``forward`` received.
        """
        num_units = input.shape[1]
        d_layer_d_input = np.eye(num_units)
        return np.dot(grad_output, d_layer_d_input)


class ReLU(Layer):
    """Elementwise rectified linear unit ``max(x, 0)``."""

    def __init__(self):
        """ReLU has no parameters."""

    def forward(self, input):
        """``input`` ``[b, n]`` -> ``max(input, 0)`` ``[b, n]``."""
        return np.maximum(input, 0.0)

    def backward(self, input, grad_output):
        """``grad_output`` ``[b, n]`` -> ``grad_output * (input > 0)`` ``[b, n]``."""
        return grad_output * (input > 0)


class Dense(Layer):
    """Affine layer ``x @ W + b`` trained by plain SGD.

    Attributes:
        weights: ``[n_in, n_out]``, initialised ``randn * 0.01``.
        biases: ``[n_out]``, initialised to zeros.
        learning_rate: SGD step size.

    Subclasses change the initialisation (``__init__``), the parameter
    gradients (``_param_gradients``) or the update rule (``_step``).
    """

    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.weights = np.random.randn(input_units, output_units) * 0.01
        self.biases = np.zeros(output_units)

    def forward(self, input):
        """``input`` ``[b, n_in]`` -> ``input @ W + b`` ``[b, n_out]``."""
        return np.dot(input, self.weights) + self.biases

    def backward(self, input, grad_output):
        """Return ``grad_output @ W.T`` ``[b, n_in]`` then take one update step.

        ``grad_output`` ``[b, n_out]`` is already averaged over the batch, so
        the parameter gradients are sums over the batch, not means. The input
        gradient uses the weights *before* the update.
        """
        grad_input = np.dot(grad_output, self.weights.T)
        grad_weights, grad_biases = self._param_gradients(input, grad_output)
        assert grad_weights.shape == self.weights.shape
        assert grad_biases.shape == self.biases.shape
        self._step(grad_weights, grad_biases)
        return grad_input

    def _param_gradients(self, input, grad_output):
        """Return ``(dW [n_in, n_out], db [n_out])``: ``x.T @ g`` and ``g.sum(0)``."""
        return np.dot(input.T, grad_output), grad_output.sum(axis=0)

    def _step(self, grad_weights, grad_biases):
        """Plain SGD: ``W -= lr * dW``, ``b -= lr * db``."""
        self.weights = self.weights - self.learning_rate * grad_weights
        self.biases = self.biases - self.learning_rate * grad_biases
