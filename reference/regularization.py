"""Bonus layers that behave differently in training and evaluation: Dropout, BatchNorm.

Both have a ``training`` attribute (``True`` after construction).
"""
import numpy as np

from .layers import Layer

__all__ = ["Dropout", "BatchNorm"]


class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``p``, scale kept ones by ``1/(1-p)``.

    Attributes:
        p: drop probability.
        training: when False the layer is the identity.
        mask: ``[b, n]`` scaled keep-mask of the latest training ``forward``.
    """

    def __init__(self, p=0.5):
        self.p = p
        self.training = True
        self.mask = None

    def forward(self, input):
        """``input`` ``[b, n]`` -> ``input * mask`` ``[b, n]`` (a new mask from ``np.random``)."""
        if not self.training:
            return input
        keep = np.random.rand(*input.shape) >= self.p
        self.mask = keep / (1.0 - self.p)
        return input * self.mask

    def backward(self, input, grad_output):
        """``grad_output`` ``[b, n]`` -> ``grad_output * mask``, the mask of the latest forward."""
        if not self.training:
            return grad_output
        return grad_output * self.mask


class BatchNorm(Layer):
    """Batch normalisation over the batch axis, with learned scale and shift.

    Attributes:
        gamma, beta: ``[units]`` scale (ones) and shift (zeros), updated by SGD.
        running_mean, running_var: ``[units]`` (zeros, ones), updated in training as
            ``running = momentum * running + (1 - momentum) * batch_stat``
            (biased batch variance).
        training: when False, normalise with the running statistics.
    """

    def __init__(self, units, learning_rate=0.1, momentum=0.9, epsilon=1e-5):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.epsilon = epsilon
        self.gamma = np.ones(units)
        self.beta = np.zeros(units)
        self.running_mean = np.zeros(units)
        self.running_var = np.ones(units)
        self.training = True

    def _stats(self, input):
        """Return ``(mean [units], var [units])`` used to normalise ``input`` ``[b, units]``."""
        if self.training:
            return input.mean(axis=0), input.var(axis=0)
        return self.running_mean, self.running_var

    def forward(self, input):
        """``input`` ``[b, units]`` -> ``gamma * x_hat + beta`` ``[b, units]``."""
        mean, var = self._stats(input)
        if self.training:
            m = self.momentum
            self.running_mean = m * self.running_mean + (1 - m) * mean
            self.running_var = m * self.running_var + (1 - m) * var
        x_hat = (input - mean) / np.sqrt(var + self.epsilon)
        return self.gamma * x_hat + self.beta

    def backward(self, input, grad_output):
        """``grad_output`` ``[b, units]`` -> grad_input ``[b, units]``, then SGD on gamma/beta.

        In training the gradient flows through the batch mean and variance
        (recomputed from ``input``); in evaluation they are constants.
        """
        mean, var = self._stats(input)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        x_hat = (input - mean) * inv_std

        grad_gamma = (grad_output * x_hat).sum(axis=0)
        grad_beta = grad_output.sum(axis=0)
        grad_x_hat = grad_output * self.gamma
        if self.training:
            grad_input = inv_std * (
                grad_x_hat
                - grad_x_hat.mean(axis=0)
                - x_hat * (grad_x_hat * x_hat).mean(axis=0)
            )
        else:
            grad_input = grad_x_hat * inv_std

        self.gamma = self.gamma - self.learning_rate * grad_gamma
        self.beta = self.beta - self.learning_rate * grad_beta
        return grad_input
