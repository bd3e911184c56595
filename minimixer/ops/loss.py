"""Losses: cross-entropy on logits (softmax and log fused in one stable step) and MSE.

cross_entropy, as PyTorch's F.cross_entropy: the loss of row n is
-sum_k target_k * log softmax(logits)_k, where the target is either

* class indices (N,): target = (1 - label_smoothing) * onehot(label) + label_smoothing / K.
  Its gradient is simply softmax(logits) - target. This is the training case, so it
  runs in the fused kernels (``minimixer.kernels``);
* class probabilities (N, K), as for mixup or distillation: target =
  (1 - label_smoothing) * p + label_smoothing / K, in plain NumPy here. It is
  differentiable in both logits and target.

reduction="mean" (the default) averages the row losses, "sum" adds them, "none"
returns them. The mean of an empty batch raises a ValueError instead of giving NaN.

mse_loss is the mean (or sum, or each) of (input - target) ** 2.
"""

import numpy as np

from ..autograd import Function, Tensor, as_tensor
from ..kernels._checks import check_reduction
from ..kernels.reference import reduce_rows, row_weights
from .kernel_function import KernelFunction
from .softmax import _log_softmax


def _label_array(labels):
    """Class indices as an int array; a Tensor of whole numbers is accepted too."""
    if isinstance(labels, Tensor):
        values = labels.data
        if not np.array_equal(values, np.round(values)):
            raise ValueError("cross_entropy: labels must be whole numbers (class indices)")
        return values.astype(np.int64)
    return np.asarray(labels)


class CrossEntropy(KernelFunction):
    """Cross-entropy against class indices (fused softmax + NLL kernels)."""

    @staticmethod
    def forward(ctx, logits, labels=None, label_smoothing=0.0, reduction="mean"):
        loss, probs = ctx.kernels.softmax_cross_entropy_forward(logits, labels, label_smoothing,
                                                                reduction)
        ctx.labels, ctx.label_smoothing, ctx.reduction = labels, label_smoothing, reduction
        ctx.save_for_backward(probs)
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        (probs,) = ctx.saved_tensors
        return (ctx.kernels.softmax_cross_entropy_backward(probs, ctx.labels, ctx.label_smoothing,
                                                           grad_out, ctx.reduction),)


class SoftTargetCrossEntropy(Function):
    """Cross-entropy against class probabilities (N, K); gradients for logits and target.

    d(row loss)/d(logits) = softmax(logits) * sum(target) - target (the familiar
    probs - target when the target row sums to 1; PyTorch does not require it to), and
    d(row loss)/d(p) = -(1 - label_smoothing) * log softmax(logits).
    """

    @staticmethod
    def forward(ctx, logits, target, label_smoothing=0.0, reduction="mean"):
        n, k = logits.shape
        check_reduction("cross_entropy", reduction, n)
        target = target.astype(logits.dtype, copy=False)
        if label_smoothing:
            dtype = logits.dtype.type
            target = target * dtype(1 - label_smoothing) + dtype(label_smoothing / k)
        log_probs = _log_softmax(logits, (1,))
        # A class with target 0 adds 0, even if its logit is -inf (a masked class), where
        # 0 * -inf would be NaN (PyTorch gives NaN there; 0 is the limit of p log q).
        terms = np.multiply(target, log_probs, out=np.zeros_like(log_probs), where=target != 0)
        ctx.save_for_backward(log_probs, target)
        ctx.label_smoothing, ctx.reduction = label_smoothing, reduction
        return reduce_rows(-terms.sum(axis=1), reduction).astype(logits.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        log_probs, target = ctx.saved_tensors
        weights = row_weights(grad_out, len(log_probs), ctx.reduction, log_probs.dtype)
        grad_logits = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_logits = (np.exp(log_probs) * target.sum(axis=1, keepdims=True) - target) * weights
        if ctx.needs_input_grad[1]:
            grad_target = -(1 - ctx.label_smoothing) * log_probs * weights
        return grad_logits, grad_target


def cross_entropy(logits, target, label_smoothing=0.0, reduction="mean"):
    """Softmax cross-entropy of logits (N, K), as torch.nn.functional.cross_entropy.

    target: class indices (N,) -- an int array, or a Tensor of whole numbers -- with
    values in [0, K); or class probabilities (N, K), a float array or Tensor.
    label_smoothing in [0, 1] mixes the target with the uniform distribution.
    reduction: "mean" (over rows), "sum" or "none" (the N row losses).
    """
    logits = as_tensor(logits)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if logits.ndim == 2 and logits.shape[1] == 0:
        raise ValueError(f"cross_entropy: logits {logits.shape} have no classes (K = 0)")
    if _is_probabilities(target):
        target = as_tensor(target, dtype=logits.dtype)
        if logits.ndim != 2 or target.shape != logits.shape:
            raise ValueError(
                f"cross_entropy: expected logits (N, K) and class probabilities of the same shape, "
                f"got logits {logits.shape} and target {target.shape}"
            )
        return SoftTargetCrossEntropy.apply(logits, target, label_smoothing=label_smoothing,
                                            reduction=reduction)
    labels = _label_array(target)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(
            f"cross_entropy: expected logits (N, K) and labels (N,), got logits {logits.shape} "
            f"and labels {labels.shape} (a float target must be class probabilities (N, K))"
        )
    return CrossEntropy.apply(logits, labels=labels, label_smoothing=label_smoothing,
                              reduction=reduction)


def _is_probabilities(target) -> bool:
    """A float target with two axes holds class probabilities; anything else, indices.

    (A Tensor is always float, so a 1-D Tensor is read as whole-number class indices.)
    """
    if isinstance(target, Tensor):
        return target.ndim == 2
    target = np.asarray(target)
    return target.ndim == 2 and np.issubdtype(target.dtype, np.floating)


class MSELoss(Function):
    """Mean (or sum, or each) of (input - target) ** 2.

    The gradient is 2 * (input - target) for input and its negative for target, times
    the upstream gradient (divided by the number of entries for "mean").
    """

    @staticmethod
    def forward(ctx, input, target, reduction="mean"):
        check_reduction("mse_loss", reduction, input.size)
        diff = input - target.astype(input.dtype, copy=False)
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        squares = diff * diff
        if reduction == "none":
            return squares
        total = squares.mean() if reduction == "mean" else squares.sum()
        return np.asarray(total, dtype=input.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (diff,) = ctx.saved_tensors
        if ctx.reduction == "mean":
            grad_out = grad_out / diff.dtype.type(diff.size)
        grad_input = 2 * diff * grad_out
        return grad_input, (-grad_input if ctx.needs_input_grad[1] else None)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error between input and target of the same shape.

    reduction: "mean" (over all entries), "sum", or "none" (the squared errors).
    Shapes must match exactly: broadcasting (N, 1) against (N,) would silently compare
    every prediction with every target, so it is an error here (PyTorch only warns).
    """
    input = as_tensor(input)
    target = as_tensor(target, dtype=input.dtype)
    if input.shape != target.shape:
        raise ValueError(
            f"mse_loss: input shape {input.shape} and target shape {target.shape} differ; "
            "reshape one of them to match"
        )
    return MSELoss.apply(input, target, reduction=reduction)
