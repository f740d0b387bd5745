"""Your very own neural network -- student template.

Fill in every block between ``# TODO`` and ``# END OF YOUR CODE`` (delete the
``raise NotImplementedError`` line when you do). Use only NumPy.

Shapes: ``b`` is the batch size, ``n_in``/``n_out`` numbers of units, ``k``
the number of classes. All arrays are float64 unless said otherwise.

Check your work with ``nncheck submit assignment.py``.
"""
import numpy as np

__all__ = [
    "Layer", "ReLU", "Dense",
    "softmax_crossentropy_with_logits", "grad_softmax_crossentropy_with_logits",
    "forward", "predict", "train", "iterate_minibatches",
    "XavierDense", "L2Dense", "MomentumDense", "RMSPropDense", "AdamDense",
    "Dropout", "BatchNorm",
]


# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------

class Layer:
    """A building block: ``output = layer.forward(input)`` and
    ``grad_input = layer.backward(input, grad_output)``.

    Layers with parameters update them during ``backward``. This base layer
    is the identity and is given to you complete.
    """

    def __init__(self):
        """A dummy layer has no parameters."""

    def forward(self, input):
        """Take ``input`` ``[b, n_in]`` and return the output ``[b, n_out]`` (identity here)."""
        return input

    def backward(self, input, grad_output):
        """Return d loss / d input ``[b, n_in]`` from d loss / d output ``[b, n_out]``.

        Chain rule: d loss / d x = (d loss / d layer) * (d layer / d x).
        """
        num_units = input.shape[1]
        d_layer_d_input = np.eye(num_units)
        return np.dot(grad_output, d_layer_d_input)


class ReLU(Layer):
    """Elementwise rectified linear unit ``max(x, 0)``."""

    def __init__(self):
        """ReLU has no parameters."""

    def forward(self, input):
        """Apply ReLU elementwise: ``input`` ``[b, n]`` -> ``[b, n]``."""
        # TODO: return max(input, 0) elementwise (try np.maximum).
        raise NotImplementedError("ReLU.forward is not implemented yet: return the elementwise maximum of input and 0.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """Gradient w.r.t. the ReLU input: ``grad_output`` ``[b, n]`` -> ``[b, n]``."""
        # TODO: let the gradient through only where input > 0.
        raise NotImplementedError("ReLU.backward is not implemented yet: multiply grad_output by the mask input > 0.")
        # END OF YOUR CODE


class Dense(Layer):
    """Affine layer ``f(x) = x @ W + b`` trained by SGD.

    Attributes:
        learning_rate: SGD step size.
        weights: ``[n_in, n_out]``, small random numbers (``randn * 0.01``).
        biases: ``[n_out]``, zeros.
    """

    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        # TODO: initialise self.weights [input_units, output_units] with small
        # random numbers (np.random.randn(...) * 0.01) and self.biases [output_units] with zeros.
        raise NotImplementedError("Dense.__init__ is not implemented yet: create self.weights with small random numbers and self.biases with zeros.")
        # END OF YOUR CODE

    def forward(self, input):
        """Affine transformation: ``input`` ``[b, n_in]`` -> ``input @ W + b`` ``[b, n_out]``."""
        # TODO: compute the affine transformation.
        raise NotImplementedError("Dense.forward is not implemented yet: return input @ weights + biases.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """Return ``grad_input`` ``[b, n_in]`` and take one SGD step on weights and biases.

        ``grad_output`` ``[b, n_out]`` is already divided by the batch size: the
        parameter gradients are *sums* over the batch. Compute ``grad_input``
        with the weights *before* you update them.
        """
        # TODO: grad_input = grad_output @ W.T; dW = input.T @ grad_output;
        # db = grad_output summed over the batch; then W -= lr * dW, b -= lr * db.
        raise NotImplementedError("Dense.backward is not implemented yet: compute grad_input, then take an SGD step on weights and biases.")
        # END OF YOUR CODE


def softmax_crossentropy_with_logits(logits, reference_answers):
    """Per-sample cross-entropy from ``logits`` ``[b, k]`` and int ``reference_answers`` ``[b]``.

    Returns ``[b]`` losses ``-a_correct + log sum_i exp a_i`` (not averaged).
    Subtract each row's maximum first to keep ``exp`` from overflowing.
    """
    # TODO: compute the log-softmax loss for each sample.
    raise NotImplementedError("softmax_crossentropy_with_logits is not implemented yet: return -logit_of_correct_class + log(sum(exp(logits))) for each sample.")
    # END OF YOUR CODE


def grad_softmax_crossentropy_with_logits(logits, reference_answers):
    """Gradient of the *mean* loss w.r.t. ``logits`` ``[b, k]``: ``(softmax - onehot) / b``."""
    # TODO: compute softmax(logits) - onehot(reference_answers), divided by the batch size.
    raise NotImplementedError("grad_softmax_crossentropy_with_logits is not implemented yet: return (softmax - one_hot) divided by the batch size.")
    # END OF YOUR CODE


def forward(network, X):
    """Apply the layers of ``network`` (a list) to ``X`` ``[b, n_in]`` in order.

    Returns a list with one activation per layer; the last one is the logits ``[b, k]``.
    """
    # TODO: feed each layer's output into the next layer and collect the outputs.
    raise NotImplementedError("forward is not implemented yet: apply each layer in turn and return the list of their outputs.")
    # END OF YOUR CODE


def predict(network, X):
    """Return the predicted class ids ``[b]`` (int) for ``X`` ``[b, n_in]``."""
    # TODO: take the argmax of the logits (the last activation).
    raise NotImplementedError("predict is not implemented yet: return the argmax of the network's logits for each sample.")
    # END OF YOUR CODE


def train(network, X, y):
    """Train ``network`` on one batch ``X`` ``[b, n_in]``, ``y`` ``[b]`` and return the mean loss.

    Run ``forward`` to get every layer's activation, compute the loss and its
    gradient, then call ``layer.backward`` for every layer from the last to the
    first (layer ``i`` gets its own input: ``X`` for the first layer, the
    previous activation otherwise). Each Dense layer updates itself.
    """
    # TODO: forward, loss, loss gradient, then backward through all layers in reverse order.
    raise NotImplementedError("train is not implemented yet: run forward, compute the loss gradient and call backward on every layer from last to first.")
    # END OF YOUR CODE


def iterate_minibatches(inputs, targets, batchsize, shuffle=False):
    """Yield ``(x, y)`` minibatches of at most ``batchsize`` rows, each sample once per pass.

    Without ``shuffle`` keep the order; with ``shuffle`` use a fresh random
    permutation (``np.random.permutation``). Keep ``x`` and ``y`` rows paired.
    """
    # TODO: yield inputs[idx], targets[idx] for consecutive slices of the (shuffled) indices.
    raise NotImplementedError("iterate_minibatches is not implemented yet: yield paired slices of inputs and targets, shuffled when asked.")
    # END OF YOUR CODE


# ---------------------------------------------------------------------------
# Option I: initialisation
# ---------------------------------------------------------------------------

class XavierDense(Dense):
    """Dense layer with Xavier/Glorot initialisation: ``Var(W) = 2 / (n_in + n_out)``.

    Attributes as in ``Dense``: ``weights`` ``[n_in, n_out]``, ``biases`` ``[n_out]`` (zeros).
    """

    def __init__(self, input_units, output_units, learning_rate=0.1):
        self.learning_rate = learning_rate
        # TODO: initialise self.weights with std sqrt(2 / (input_units + output_units)) and self.biases with zeros.
        raise NotImplementedError("XavierDense.__init__ is not implemented yet: draw weights with variance 2 / (input_units + output_units) and zero biases.")
        # END OF YOUR CODE


# ---------------------------------------------------------------------------
# Option II: regularisation
# ---------------------------------------------------------------------------

class L2Dense(Dense):
    """Dense layer minimising ``crossentropy + alpha * sum(W**2)``.

    In ``backward`` add ``2 * alpha * W`` to ``dW`` ``[n_in, n_out]``; do not
    regularise the biases and do not divide by the batch size.
    """

    def __init__(self, input_units, output_units, learning_rate=0.1, alpha=1e-4):
        self.alpha = alpha
        super().__init__(input_units, output_units, learning_rate)

    def backward(self, input, grad_output):
        """Like ``Dense.backward`` (returns ``[b, n_in]``), with ``dW += 2 * alpha * W``."""
        # TODO: as Dense.backward, adding the L2 penalty's gradient to dW.
        raise NotImplementedError("L2Dense.backward is not implemented yet: do Dense's SGD step with 2 * alpha * weights added to the weight gradient.")
        # END OF YOUR CODE


# ---------------------------------------------------------------------------
# Option III: optimisation
# ---------------------------------------------------------------------------

class MomentumDense(Dense):
    """Dense layer with momentum SGD: ``v = mu * v - lr * g; W += v`` (weights and biases).

    Keep the velocities (``[n_in, n_out]`` and ``[n_out]``) between calls.
    """

    def __init__(self, input_units, output_units, learning_rate=0.1, momentum=0.9):
        self.momentum = momentum
        super().__init__(input_units, output_units, learning_rate)
        # TODO: create zero velocities shaped like self.weights and self.biases.
        raise NotImplementedError("MomentumDense.__init__ is not implemented yet: create zero velocities for the weights and the biases.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """Return ``grad_input`` ``[b, n_in]`` and take one momentum step."""
        # TODO: compute grad_input and the gradients as in Dense, then update velocities and parameters.
        raise NotImplementedError("MomentumDense.backward is not implemented yet: update the velocities with the gradients, then move the parameters by them.")
        # END OF YOUR CODE


class RMSPropDense(Dense):
    """Dense layer with RMSProp: ``s = decay*s + (1-decay)*g**2; W -= lr * g / (sqrt(s) + eps)``.

    Keep the squared-gradient averages (``[n_in, n_out]`` and ``[n_out]``) between calls.
    """

    def __init__(self, input_units, output_units, learning_rate=0.001, decay=0.9, epsilon=1e-8):
        self.decay = decay
        self.epsilon = epsilon
        super().__init__(input_units, output_units, learning_rate)
        # TODO: create zero squared-gradient averages shaped like self.weights and self.biases.
        raise NotImplementedError("RMSPropDense.__init__ is not implemented yet: create zero squared-gradient averages for the weights and the biases.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """Return ``grad_input`` ``[b, n_in]`` and take one RMSProp step."""
        # TODO: compute grad_input and the gradients as in Dense, then the RMSProp update.
        raise NotImplementedError("RMSPropDense.backward is not implemented yet: update the squared-gradient averages and divide the step by their square root.")
        # END OF YOUR CODE


class AdamDense(Dense):
    """Dense layer with Adam and bias correction.

    ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g**2``,
    ``W -= lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - b1**t)``,
    ``v_hat = v / (1 - b2**t)`` and ``t`` the number of steps taken so far.
    """

    def __init__(self, input_units, output_units, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        super().__init__(input_units, output_units, learning_rate)
        # TODO: create zero first and second moments for weights and biases, and a step counter t = 0.
        raise NotImplementedError("AdamDense.__init__ is not implemented yet: create zero moment estimates and a step counter.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """Return ``grad_input`` ``[b, n_in]`` and take one Adam step."""
        # TODO: compute grad_input and the gradients as in Dense, then the bias-corrected Adam update.
        raise NotImplementedError("AdamDense.backward is not implemented yet: update both moment estimates, correct their bias and take the Adam step.")
        # END OF YOUR CODE


# ---------------------------------------------------------------------------
# Bonus: Dropout and Batch normalisation
# ---------------------------------------------------------------------------

class Dropout(Layer):
    """Inverted dropout with drop probability ``p``.

    Training (``self.training`` is True): zero each unit with probability ``p``
    and scale the kept ones by ``1 / (1 - p)``; ``backward`` uses the same mask
    as the latest ``forward``. Evaluation (``training = False``): identity.
    """

    def __init__(self, p=0.5):
        self.p = p
        self.training = True

    def forward(self, input):
        """``input`` ``[b, n]`` -> ``[b, n]`` with units dropped (training) or unchanged (eval)."""
        # TODO: draw and store a mask (np.random.rand(...) >= p), apply it and rescale.
        raise NotImplementedError("Dropout.forward is not implemented yet: drop units with probability p, rescale the rest and remember the mask.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """``grad_output`` ``[b, n]`` -> ``grad_input`` ``[b, n]`` through the stored mask."""
        # TODO: apply the mask (and scale) of the latest forward to grad_output.
        raise NotImplementedError("Dropout.backward is not implemented yet: multiply grad_output by the mask and scale of the latest forward.")
        # END OF YOUR CODE


class BatchNorm(Layer):
    """Batch normalisation with learned scale ``gamma`` and shift ``beta`` (``[units]`` each).

    Training: normalise with the batch mean and (biased) variance, update
    ``running_mean``/``running_var`` as ``momentum * running + (1 - momentum) * batch``,
    and in ``backward`` return the full gradient through the batch statistics
    and take an SGD step on ``gamma`` and ``beta``. Evaluation
    (``training = False``): normalise with the running statistics.
    """

    def __init__(self, units, learning_rate=0.1, momentum=0.9, epsilon=1e-5):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.epsilon = epsilon
        self.training = True
        # TODO: gamma = ones, beta = zeros, running_mean = zeros, running_var = ones, each [units].
        raise NotImplementedError("BatchNorm.__init__ is not implemented yet: create gamma, beta, running_mean and running_var of size units.")
        # END OF YOUR CODE

    def forward(self, input):
        """``input`` ``[b, units]`` -> ``gamma * x_hat + beta`` ``[b, units]``."""
        # TODO: normalise with batch statistics (training, and update the running ones) or running statistics (eval).
        raise NotImplementedError("BatchNorm.forward is not implemented yet: normalise input, then scale by gamma and shift by beta.")
        # END OF YOUR CODE

    def backward(self, input, grad_output):
        """``grad_output`` ``[b, units]`` -> ``grad_input`` ``[b, units]``; SGD step on gamma and beta."""
        # TODO: back-propagate through the normalisation (including the batch mean and variance), then update gamma and beta.
        raise NotImplementedError("BatchNorm.backward is not implemented yet: compute grad_input through the batch statistics, then update gamma and beta.")
        # END OF YOUR CODE
