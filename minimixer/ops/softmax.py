"""softmax, log_softmax and logsumexp along an axis, computed stably (shifted by the max).

logsumexp(x) = log(sum(exp(x))) is the normaliser of both softmaxes: log_softmax(x) =
x - logsumexp(x), and the gradient of logsumexp is softmax(x).
"""

import numpy as np

from ..autograd import Function, as_tensor
from .axes import normalise_axes, normalise_axis


def _softmax_axes(op: str, axis, shape: tuple) -> tuple:
    """One axis, checked (a ValueError naming it and the shape), as a tuple for NumPy.

    A 0-d tensor accepts axis 0 or -1 and is its own single-entry row: it gives ().
    """
    try:
        axis = normalise_axis(op, axis, len(shape))
    except ValueError as error:
        raise ValueError(f"{error}; input shape {shape}") from None
    return (axis,) if shape else ()


def _shifted(x: np.ndarray, axes: tuple):
    """(m, x - m, log(sum(exp(x - m)))) with m the max over `axes` (kept as length-1 axes).

    Shifting by the max keeps exp from overflowing. A row whose max is not finite
    (all -inf, or an empty row) is not shifted, so it sums to log(0) = -inf, not NaN.
    """
    top = np.max(x, axis=axes, keepdims=True, initial=-np.inf)
    top = np.where(np.isfinite(top), top, 0).astype(x.dtype, copy=False)
    shifted = x - top
    with np.errstate(divide="ignore"):
        return top, shifted, np.log(np.exp(shifted).sum(axis=axes, keepdims=True))


def _logsumexp(x: np.ndarray, axes: tuple) -> np.ndarray:
    top, _, log_total = _shifted(x, axes)
    return top + log_total


def _log_softmax(x: np.ndarray, axes: tuple) -> np.ndarray:
    _, shifted, log_total = _shifted(x, axes)
    return shifted - log_total  # subtract the shift first: exact for large logits


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axes = _softmax_axes("softmax", axis, x.shape)
        out = np.exp(_log_softmax(x, ctx.axes))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        # Jacobian-vector product: s * (grad_out - sum(grad_out * s)).
        (s,) = ctx.saved_tensors
        return (s * (grad_out - (grad_out * s).sum(axis=ctx.axes, keepdims=True)),)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`: each slice becomes a probability vector."""
    return Softmax.apply(as_tensor(x), axis=axis)


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis=-1):
        ctx.axes = _softmax_axes("log_softmax", axis, x.shape)
        out = _log_softmax(x, ctx.axes)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return (grad_out - np.exp(out) * grad_out.sum(axis=ctx.axes, keepdims=True),)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, without forming the (possibly 0) probabilities."""
    return LogSoftmax.apply(as_tensor(x), axis=axis)


class LogSumExp(Function):
    """log(sum(exp(x))) over axes; the gradient is softmax(x) times the upstream gradient."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = normalise_axes("logsumexp", axis, x.ndim)
        ctx.keepdims = keepdims
        out = _logsumexp(x, ctx.axes)
        ctx.save_for_backward(x, out)
        return out if keepdims else np.squeeze(out, axis=ctx.axes)

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        if not ctx.keepdims:
            grad_out = np.expand_dims(grad_out, ctx.axes)
        with np.errstate(invalid="ignore"):  # a row of only -inf: NaN, as in PyTorch
            return (grad_out * np.exp(x - out),)


def logsumexp(x, axis, keepdims=False):
    """log(sum(exp(x))) over `axis` (an int, a tuple, or None for all), computed stably.

    Empty axes give -inf (the log of an empty sum), as in PyTorch.
    """
    return LogSumExp.apply(as_tensor(x), axis=axis, keepdims=keepdims)
