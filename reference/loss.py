"""Softmax cross-entropy computed from logits (log-softmax), and its gradient."""
import numpy as np

__all__ = ["softmax_crossentropy_with_logits", "grad_softmax_crossentropy_with_logits"]


def _log_softmax(logits):
    """``logits`` ``[b, k]`` -> log-softmax ``[b, k]``, stable (row max subtracted)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_crossentropy_with_logits(logits, reference_answers):
    """Per-sample loss ``-a_correct + log sum_i exp a_i``.

    Args:
        logits: ``[b, k]`` float.
        reference_answers: ``[b]`` int class ids.

    Returns:
        ``[b]`` losses (not averaged).
    """
    logits = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(logits))
    return -_log_softmax(logits)[rows, reference_answers]


def grad_softmax_crossentropy_with_logits(logits, reference_answers):
    """Gradient of the *mean* loss w.r.t. the logits: ``(softmax - onehot) / b``.

    Args:
        logits: ``[b, k]`` float.
        reference_answers: ``[b]`` int class ids.

    Returns:
        ``[b, k]`` gradient.
    """
    logits = np.asarray(logits, dtype=np.float64)
    ones_for_answers = np.zeros_like(logits)
    ones_for_answers[np.arange(len(logits)), reference_answers] = 1
    softmax = np.exp(_log_softmax(logits))
    return (softmax - ones_for_answers) / logits.shape[0]
