"""Assignment options I-III: Xavier init, L2 regularisation, Momentum/RMSProp/Adam.

All are ``Dense`` layers; shapes as in ``Dense``: weights ``[n_in, n_out]``,
biases ``[n_out]``.
"""
import numpy as np

from .layers import Dense

__all__ = ["XavierDense", "L2Dense", "MomentumDense", "RMSPropDense", "AdamDense"]


class XavierDense(Dense):
    """Dense layer with Glorot normal init: ``W ~ N(0, 2 / (n_in + n_out))``, biases zero."""

    def __init__(self, input_units, output_units, learning_rate=0.1):
        super().__init__(input_units, output_units, learning_rate)
        std = np.sqrt(2.0 / (input_units + output_units))
        self.weights = np.random.randn(input_units, output_units) * std


class L2Dense(Dense):
    """Dense layer minimising ``CE + alpha * sum(W**2)``: ``dW += 2 * alpha * W``.

    Biases are not regularised and nothing is divided by the batch.
    """

    def __init__(self, input_units, output_units, learning_rate=0.1, alpha=1e-4):
        super().__init__(input_units, output_units, learning_rate)
        self.alpha = alpha

    def _param_gradients(self, input, grad_output):
        grad_weights, grad_biases = super()._param_gradients(input, grad_output)
        return grad_weights + 2.0 * self.alpha * self.weights, grad_biases


class MomentumDense(Dense):
    """Dense layer with momentum: ``v = mu * v - lr * g; W += v`` (same for biases).

    Attributes ``velocity_weights`` ``[n_in, n_out]`` and ``velocity_biases``
    ``[n_out]`` persist between calls.
    """

    def __init__(self, input_units, output_units, learning_rate=0.1, momentum=0.9):
        super().__init__(input_units, output_units, learning_rate)
        self.momentum = momentum
        self.velocity_weights = np.zeros_like(self.weights)
        self.velocity_biases = np.zeros_like(self.biases)

    def _step(self, grad_weights, grad_biases):
        self.velocity_weights = self.momentum * self.velocity_weights - self.learning_rate * grad_weights
        self.velocity_biases = self.momentum * self.velocity_biases - self.learning_rate * grad_biases
        self.weights = self.weights + self.velocity_weights
        self.biases = self.biases + self.velocity_biases


class RMSPropDense(Dense):
    """Dense layer with RMSProp: ``s = d*s + (1-d)*g**2; W -= lr * g / (sqrt(s) + eps)``.

    Attributes ``cache_weights`` ``[n_in, n_out]`` and ``cache_biases`` ``[n_out]``.
    """

    def __init__(self, input_units, output_units, learning_rate=0.001, decay=0.9, epsilon=1e-8):
        super().__init__(input_units, output_units, learning_rate)
        self.decay = decay
        self.epsilon = epsilon
        self.cache_weights = np.zeros_like(self.weights)
        self.cache_biases = np.zeros_like(self.biases)

    def _step(self, grad_weights, grad_biases):
        d = self.decay
        self.cache_weights = d * self.cache_weights + (1 - d) * grad_weights ** 2
        self.cache_biases = d * self.cache_biases + (1 - d) * grad_biases ** 2
        self.weights = self.weights - self.learning_rate * grad_weights / (np.sqrt(self.cache_weights) + self.epsilon)
        self.biases = self.biases - self.learning_rate * grad_biases / (np.sqrt(self.cache_biases) + self.epsilon)


class AdamDense(Dense):
    """Dense layer with Adam (bias-corrected first and second moments).

    ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g**2``,
    ``W -= lr * (m / (1-b1**t)) / (sqrt(v / (1-b2**t)) + eps)``; ``t`` counts steps.
    """

    def __init__(self, input_units, output_units, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(input_units, output_units, learning_rate)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.t = 0
        self.m_weights = np.zeros_like(self.weights)
        self.v_weights = np.zeros_like(self.weights)
        self.m_biases = np.zeros_like(self.biases)
        self.v_biases = np.zeros_like(self.biases)

    def _step(self, grad_weights, grad_biases):
        b1, b2 = self.beta1, self.beta2
        self.t += 1
        self.m_weights = b1 * self.m_weights + (1 - b1) * grad_weights
        self.v_weights = b2 * self.v_weights + (1 - b2) * grad_weights ** 2
        self.m_biases = b1 * self.m_biases + (1 - b1) * grad_biases
        self.v_biases = b2 * self.v_biases + (1 - b2) * grad_biases ** 2
        c1 = 1 - b1 ** self.t
        c2 = 1 - b2 ** self.t
        self.weights = self.weights - self.learning_rate * (self.m_weights / c1) / (np.sqrt(self.v_weights / c2) + self.epsilon)
        self.biases = self.biases - self.learning_rate * (self.m_biases / c1) / (np.sqrt(self.v_biases / c2) + self.epsilon)
