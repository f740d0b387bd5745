"""The reference solution against finite differences, and a short training run."""
import time

import numpy as np
import pytest

from nncheck.gradient_check import numerical_gradient, numerical_gradient_array, rel_error
from nncheck.reference import (
    AdamDense, BatchNorm, Dense, Dropout, L2Dense, MomentumDense, ReLU, RMSPropDense,
    XavierDense, forward, grad_softmax_crossentropy_with_logits, iterate_minibatches,
    predict, softmax_crossentropy_with_logits, train,
)

TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _shapes(rng):
    """A batch size other than 10 and odd layer widths."""
    return int(rng.integers(3, 9)), int(rng.integers(4, 9)), int(rng.integers(3, 8))


def test_relu_backward(rng):
    b, n, _ = _shapes(rng)
    x = rng.normal(size=(b, n))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    dout = rng.normal(size=(b, n))
    layer = ReLU()
    num = numerical_gradient_array(layer.forward, x, dout)
    assert rel_error(layer.backward(x, dout), num) < TOL
    assert np.array_equal(layer.forward(x), np.maximum(x, 0))


@pytest.mark.parametrize("cls", [Dense, XavierDense, L2Dense, MomentumDense, RMSPropDense, AdamDense])
def test_dense_input_grad_uses_weights_before_update(rng, cls):
    b, n_in, n_out = _shapes(rng)
    layer = cls(n_in, n_out, learning_rate=0.5)
    layer.weights = rng.normal(size=(n_in, n_out))
    layer.biases = rng.normal(size=n_out)
    x = rng.normal(size=(b, n_in))
    dout = rng.normal(size=(b, n_out))
    num = numerical_gradient_array(layer.forward, x, dout)
    w_before = layer.weights.copy()
    grad = layer.backward(x, dout)
    assert rel_error(grad, num) < TOL
    assert not np.allclose(layer.weights, w_before), "a learning_rate > 0 must move the weights"


def _param_grads_via_update(cls, w, b_, x, dout, **kw):
    """Run one backward with lr=1 and return ``(W_before - W_after, b_before - b_after)``."""
    layer = cls(w.shape[0], w.shape[1], learning_rate=1.0, **kw)
    layer.weights = w.copy()
    layer.biases = b_.copy()
    layer.backward(x, dout)
    return w - layer.weights, b_ - layer.biases


@pytest.mark.parametrize("cls,kw,alpha", [
    (Dense, {}, 0.0),
    (XavierDense, {}, 0.0),
    (L2Dense, {"alpha": 0.05}, 0.05),
])
def test_dense_param_grads(rng, cls, kw, alpha):
    b, n_in, n_out = _shapes(rng)
    w = rng.normal(size=(n_in, n_out))
    bias = rng.normal(size=n_out)
    x = rng.normal(size=(b, n_in))
    dout = rng.normal(size=(b, n_out)) / b

    def objective(w_, b_):
        # the scalar whose gradient the update follows: sum(dout * out) + alpha * sum(W**2)
        layer = Dense(n_in, n_out)
        layer.weights, layer.biases = w_, b_
        return np.sum(layer.forward(x) * dout) + alpha * np.sum(w_ ** 2)

    num_w = numerical_gradient(lambda w_: objective(w_, bias), w.copy())
    num_b = numerical_gradient(lambda b_: objective(w, b_), bias.copy())
    dw, db = _param_grads_via_update(cls, w, bias, x, dout, **kw)
    assert rel_error(dw, num_w) < TOL
    assert rel_error(db, num_b) < TOL


def test_l2_term_is_two_alpha_w_and_spares_biases(rng):
    w = rng.normal(size=(5, 4))
    bias = rng.normal(size=4)
    x = np.zeros((6, 5))
    dout = np.zeros((6, 4))
    dw, db = _param_grads_via_update(L2Dense, w, bias, x, dout, alpha=0.3)
    assert np.allclose(dw, 2 * 0.3 * w)
    assert np.allclose(db, 0)


def test_optimizers_step_as_documented(rng):
    w = rng.normal(size=(5, 4))
    bias = rng.normal(size=4)
    x = rng.normal(size=(7, 5))
    dout = rng.normal(size=(7, 4))
    g_w, g_b = x.T @ dout, dout.sum(0)

    m = MomentumDense(5, 4, learning_rate=0.1, momentum=0.9)
    m.weights, m.biases = w.copy(), bias.copy()
    m.backward(x, dout)
    m.backward(x, dout)
    # v1 = -lr g, v2 = mu v1 - lr g; W2 = W + v1 + v2
    assert np.allclose(m.weights, w - 0.1 * g_w - (0.9 * 0.1 + 0.1) * g_w)
    assert np.allclose(m.biases, bias - 0.1 * g_b - (0.9 * 0.1 + 0.1) * g_b)

    r = RMSPropDense(5, 4, learning_rate=0.01, decay=0.9, epsilon=1e-8)
    r.weights, r.biases = w.copy(), bias.copy()
    r.backward(x, dout)
    s = 0.1 * g_w ** 2
    assert np.allclose(r.weights, w - 0.01 * g_w / (np.sqrt(s) + 1e-8))

    a = AdamDense(5, 4, learning_rate=0.01)
    a.weights, a.biases = w.copy(), bias.copy()
    a.backward(x, dout)
    # first bias-corrected Adam step is lr * g / (|g| + eps)
    assert np.allclose(a.weights, w - 0.01 * g_w / (np.abs(g_w) + 1e-8))
    assert np.allclose(a.biases, bias - 0.01 * g_b / (np.abs(g_b) + 1e-8))


def test_loss_value_and_grad(rng):
    b, _, k = _shapes(rng)
    logits = rng.normal(size=(b, k))
    y = rng.integers(0, k, size=b)
    loss = softmax_crossentropy_with_logits(logits, y)
    assert loss.shape == (b,)
    expected = -logits[np.arange(b), y] + np.log(np.exp(logits).sum(1))
    assert np.allclose(loss, expected)
    num = numerical_gradient(lambda l: softmax_crossentropy_with_logits(l, y).mean(), logits.copy())
    assert rel_error(grad_softmax_crossentropy_with_logits(logits, y), num) < TOL


def test_loss_is_stable_for_large_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0]])
    y = np.array([0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = softmax_crossentropy_with_logits(logits, y)
        grad = grad_softmax_crossentropy_with_logits(logits, y)
    assert np.allclose(loss, [0.0, 1.0 + np.log1p(np.exp(-1.0))])
    assert np.all(np.isfinite(grad))


def test_xavier_variance():
    np.random.seed(0)
    layer = XavierDense(600, 400)
    assert abs(layer.weights.mean()) < 1e-3
    assert layer.weights.var() == pytest.approx(2 / (600 + 400), rel=0.02)
    assert np.all(layer.biases == 0)


def test_dense_init():
    np.random.seed(0)
    layer = Dense(128, 150)
    assert 1e-3 < layer.weights.std() < 1e-1
    assert layer.weights.shape == (128, 150) and np.all(layer.biases == 0)


def _batchnorm(rng, units, lr=0.0):
    bn = BatchNorm(units, learning_rate=lr)
    bn.gamma = rng.normal(size=units)
    bn.beta = rng.normal(size=units)
    return bn


def test_batchnorm_input_grad(rng):
    b, n, _ = _shapes(rng)
    x = rng.normal(loc=2.0, scale=3.0, size=(b, n))
    dout = rng.normal(size=(b, n))
    bn = _batchnorm(rng, n)
    num = numerical_gradient_array(bn.forward, x, dout)
    bn.forward(x)
    assert rel_error(bn.backward(x, dout), num) < 1e-5


def test_batchnorm_param_grads(rng):
    b, n, _ = _shapes(rng)
    x = rng.normal(loc=-1.0, scale=2.0, size=(b, n))
    dout = rng.normal(size=(b, n))
    gamma, beta = rng.normal(size=n), rng.normal(size=n)

    def out(g, bt):
        bn = BatchNorm(n)
        bn.gamma, bn.beta = g, bt
        return bn.forward(x)

    num_g = numerical_gradient_array(lambda g: out(g, beta), gamma.copy(), dout)
    num_b = numerical_gradient_array(lambda bt: out(gamma, bt), beta.copy(), dout)
    bn = BatchNorm(n, learning_rate=1.0)
    bn.gamma, bn.beta = gamma.copy(), beta.copy()
    bn.forward(x)
    bn.backward(x, dout)
    assert rel_error(gamma - bn.gamma, num_g) < TOL
    assert rel_error(beta - bn.beta, num_b) < TOL


def test_batchnorm_running_stats_and_eval(rng):
    x = rng.normal(loc=3.0, scale=2.0, size=(50, 4))
    bn = BatchNorm(4, momentum=0.9)
    assert bn.training and np.all(bn.running_var == 1) and np.all(bn.running_mean == 0)
    bn.forward(x)
    assert np.allclose(bn.running_mean, 0.1 * x.mean(0))
    assert np.allclose(bn.running_var, 0.9 + 0.1 * x.var(0))
    bn.training = False
    y = bn.forward(x[:3])
    assert np.allclose(y, (x[:3] - bn.running_mean) / np.sqrt(bn.running_var + bn.epsilon))
    dout = rng.normal(size=(3, 4))
    bn.learning_rate = 0.0
    num = numerical_gradient_array(bn.forward, x[:3].copy(), dout)
    assert rel_error(bn.backward(x[:3], dout), num) < TOL


def test_dropout_backward_and_modes(rng):
    b, n, _ = _shapes(rng)
    x = rng.normal(size=(b, n * 10))
    dout = rng.normal(size=x.shape)
    layer = Dropout(p=0.3)
    assert layer.training

    def f(x_):
        np.random.seed(7)  # the same mask at every evaluation
        return layer.forward(x_)

    num = numerical_gradient_array(f, x, dout)
    out = f(x)
    grad = layer.backward(x, dout)
    assert rel_error(grad, num) < TOL
    kept = out != 0
    assert np.allclose(out[kept], x[kept] / 0.7)
    assert np.allclose(grad[~kept], 0)

    big = np.ones((200, 200))
    np.random.seed(1)
    frac = (layer.forward(big) == 0).mean()
    assert frac == pytest.approx(0.3, abs=0.02)
    layer.training = False
    assert np.array_equal(layer.forward(x), x)
    assert np.array_equal(layer.backward(x, dout), dout)


def test_iterate_minibatches_keeps_last_partial_batch():
    X = np.arange(23 * 2).reshape(23, 2)
    y = np.arange(23)
    batches = list(iterate_minibatches(X, y, 5))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    assert np.array_equal(np.concatenate([b[1] for b in batches]), y)
    np.random.seed(0)
    shuffled = list(iterate_minibatches(X, y, 5, shuffle=True))
    ys = np.concatenate([b[1] for b in shuffled])
    assert sorted(ys) == list(y) and not np.array_equal(ys, y)
    for xb, yb in shuffled:
        assert np.array_equal(xb[:, 0] // 2, yb)


def test_train_backprops_every_layer_in_reverse(rng):
    np.random.seed(3)
    net = [Dense(6, 5), ReLU(), Dense(5, 4)]
    X = rng.normal(size=(7, 6))
    y = rng.integers(0, 4, size=7)
    before = [l.weights.copy() for l in (net[0], net[2])]
    acts = forward(net, X)
    assert len(acts) == 3 and acts[-1].shape == (7, 4)
    loss = train(net, X, y)
    assert loss == pytest.approx(softmax_crossentropy_with_logits(acts[-1], y).mean())
    assert not np.allclose(net[0].weights, before[0])
    assert not np.allclose(net[2].weights, before[1])
    assert predict(net, X).shape == (7,)


def test_default_network_trains_on_embedded_mnist():
    from nncheck.data import load_dataset

    X_train, y_train, X_val, y_val = load_dataset()
    np.random.seed(0)
    network = [Dense(784, 100), ReLU(), Dense(100, 200), ReLU(), Dense(200, 10)]
    start = time.perf_counter()
    for _ in range(15):
        for xb, yb in iterate_minibatches(X_train, y_train, batchsize=32, shuffle=True):
            train(network, xb, yb)
    acc = float(np.mean(predict(network, X_val) == y_val))
    print(f"validation accuracy {acc:.3f} after 15 epochs in {time.perf_counter() - start:.1f} s")
    # measured: 0.914 with np.random.seed(0) (0.909-0.919 over seeds 0-3), ~1.3 s
    assert acc > 0.88
