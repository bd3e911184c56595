"""Reductions: sum, mean and max over axes, with or without keepdims.

Backward spreads the upstream gradient back over the reduced axes: evenly for sum
and mean, and only to the winning entries for max (split between ties).
"""

import numpy as np

from ..autograd import Function
from .axes import normalise_axes


def _restore_reduced_axes(grad_out: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes (as length 1) so `grad_out` broadcasts against the input."""
    return grad_out if keepdims else np.expand_dims(grad_out, axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = normalise_axes("sum", axis, a.ndim), keepdims, a.shape
        return np.asarray(a.sum(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, grad_out):
        grad_out = _restore_reduced_axes(grad_out, ctx.axes, ctx.keepdims)
        return (np.broadcast_to(grad_out, ctx.shape),)


def sum(a, axis=None, keepdims=False):
    return Sum.apply(a, axis=axis, keepdims=keepdims)


class Mean(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims, ctx.shape = normalise_axes("mean", axis, a.ndim), keepdims, a.shape
        ctx.count = int(np.prod([a.shape[i] for i in ctx.axes]))
        total = a.sum(axis=ctx.axes, keepdims=keepdims)
        with np.errstate(invalid="ignore"):  # the mean over an empty axis is NaN, as in PyTorch
            return np.asarray(total / a.dtype.type(ctx.count))

    @staticmethod
    def backward(ctx, grad_out):
        grad_out = _restore_reduced_axes(grad_out, ctx.axes, ctx.keepdims) / (ctx.count or 1)
        return (np.broadcast_to(grad_out, ctx.shape),)


def mean(a, axis=None, keepdims=False):
    return Mean.apply(a, axis=axis, keepdims=keepdims)


class Max(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        ctx.axes, ctx.keepdims = normalise_axes("max", axis, a.ndim), keepdims
        if any(a.shape[i] == 0 for i in ctx.axes):
            raise ValueError(f"max: cannot take the maximum over an empty axis of shape {a.shape}")
        out = np.asarray(a.max(axis=ctx.axes, keepdims=True))
        ctx.save_for_backward(a, out)
        return out if keepdims else np.squeeze(out, axis=ctx.axes)

    @staticmethod
    def backward(ctx, grad_out):
        a, out = ctx.saved_tensors
        winners = (a == out).astype(a.dtype)
        winners /= winners.sum(axis=ctx.axes, keepdims=True)
        return (winners * _restore_reduced_axes(grad_out, ctx.axes, ctx.keepdims),)


def max(a, axis=None, keepdims=False):
    return Max.apply(a, axis=axis, keepdims=keepdims)
