"""The reference LeakyReLU: ``x`` where positive, ``slope * x`` elsewhere."""
import numpy as np


class LeakyReLU:
    """``LeakyReLU(slope=0.01)``; ``forward``/``backward`` on ``[batch, units]`` arrays."""

    def __init__(self, slope=0.01):
        self.slope = slope

    def forward(self, input):
        return np.where(input > 0, input, self.slope * input)

    def backward(self, input, grad_output):
        return grad_output * np.where(input > 0, 1.0, self.slope)
