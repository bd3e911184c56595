"""Cross-entropy on logits, softmax and log fused in one stable step.

loss = mean over rows of -sum_k target_k * log softmax(logits)_k, with target
(1 - label_smoothing) * onehot(label) + label_smoothing / K, as PyTorch's
F.cross_entropy(logits, labels, label_smoothing=...). Its gradient is simply
(softmax(logits) - target) / N. Kernels: ``minimixer.kernels``.
"""

import numpy as np

from .. import kernels
from ..autograd import Function, Tensor, as_tensor


def _label_array(labels):
    """Class indices as an int array; a Tensor of whole numbers is accepted too."""
    if isinstance(labels, Tensor):
        values = labels.data
        if not np.array_equal(values, np.round(values)):
            raise ValueError("cross_entropy: labels must be whole numbers (class indices)")
        return values.astype(np.int64)
    return np.asarray(labels)


class CrossEntropy(Function):
    @staticmethod
    def forward(ctx, logits, labels=None, label_smoothing=0.0):
        ctx.kernels = kernels.current()
        loss, probs = ctx.kernels.softmax_cross_entropy_forward(logits, labels, label_smoothing)
        ctx.labels, ctx.label_smoothing = labels, label_smoothing
        ctx.save_for_backward(probs)
        return loss

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        return (ctx.kernels.softmax_cross_entropy_backward(probs, ctx.labels, ctx.label_smoothing, grad),)


def cross_entropy(logits, labels, label_smoothing=0.0):
    """Mean softmax cross-entropy of logits (N, K) against integer labels (N,).

    labels: an int array (or a Tensor of whole numbers) with values in [0, K).
    label_smoothing in [0, 1] mixes the one-hot target with the uniform one.
    """
    logits = as_tensor(logits)
    labels = _label_array(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(
            f"cross_entropy: expected logits (N, K) and labels (N,), got logits {logits.shape} "
            f"and labels {labels.shape}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    return CrossEntropy.apply(logits, labels=labels, label_smoothing=label_smoothing)
