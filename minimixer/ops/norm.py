"""Normalisation layers' maths, channels-last.

    layer_norm       each row (token, pixel) normalised over its channels (the last axis)
    batch_norm       each channel normalised over all other axes (batch and space)
    gelu_batch_norm  batch_norm(gelu(x)) in training, without storing gelu(x)

Training-mode statistics and their gradients come from ``minimixer.kernels``;
the running-statistics update and evaluation mode (a fixed per-channel affine)
are a few NumPy lines here.
"""

import numpy as np

from ..autograd import Tensor, as_tensor, as_tensor_or_none
from .kernel_function import KernelFunction
from .linalg import as_rows


def _affine_or_identity(weight, bias, channels, dtype):
    """The weight and bias to compute with: ones/zeros stand in for missing ones."""
    gamma = np.ones(channels, dtype) if weight is None else weight
    beta = np.zeros(channels, dtype) if bias is None else bias
    return gamma, beta


def _grads_for_present(ctx, grad_x, grad_weight, grad_bias):
    """One gradient per Tensor input: x, then weight and bias only if they were given."""
    grads = [grad_x]
    if ctx.has_weight:
        grads.append(grad_weight)
    if ctx.has_bias:
        grads.append(grad_bias)
    return tuple(grads)


def _check_channels(name, x, weight, bias):
    channels = x.shape[-1]
    for label, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != (channels,):
            raise ValueError(f"{name}: {label} must have shape ({channels},), got {p.shape}")


class LayerNorm(KernelFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, eps=1e-5):
        _check_channels("layer_norm", x, weight, bias)
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        gamma, beta = _affine_or_identity(weight, bias, x.shape[-1], x.dtype)
        y, mean, rstd = ctx.kernels.layer_norm_forward(x, gamma, beta, eps)
        ctx.save_for_backward(x, gamma, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, gamma, mean, rstd = ctx.saved_tensors
        grad_x, grad_gamma, grad_beta = ctx.kernels.layer_norm_backward(grad_out, x, gamma, mean, rstd)
        return _grads_for_present(ctx, grad_x, grad_gamma, grad_beta)


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """Normalise over the last axis: (x - mean) / sqrt(var + eps) * weight + bias.

    weight and bias have shape (C,); None means no scale / no shift. var is the
    biased variance, as in PyTorch's F.layer_norm(x, (C,), weight, bias, eps).
    """
    return LayerNorm.apply(as_tensor(x), as_tensor_or_none(weight), as_tensor_or_none(bias), eps=eps)


class BatchNormTraining(KernelFunction):
    """Batch statistics; updates the running statistics (in place) during forward.

    gelu_first=True normalises GELU(x) instead of x, with kernels that keep x and
    not GELU(x) for the backward pass (see `gelu_batch_norm`).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, momentum=0.1, eps=1e-5,
                gelu_first=False):
        _check_channels("batch_norm", x, weight, bias)
        count = x.size // x.shape[-1]
        if count < 2:
            raise ValueError(
                f"batch_norm: training needs more than one value per channel, got input {x.shape}"
            )
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        gamma, beta = _affine_or_identity(weight, bias, x.shape[-1], x.dtype)
        ctx.gelu_first = gelu_first
        forward = ctx.kernels.gelu_batch_norm_forward if gelu_first else ctx.kernels.batch_norm_forward
        y, mean, rstd, var = forward(x, gamma, beta, eps)
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * (count / (count - 1))  # unbiased, as PyTorch
        ctx.save_for_backward(x, gamma, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, gamma, mean, rstd = ctx.saved_tensors
        backward = ctx.kernels.gelu_batch_norm_backward if ctx.gelu_first else ctx.kernels.batch_norm_backward
        grad_x, grad_gamma, grad_beta = backward(grad_out, x, gamma, mean, rstd)
        return _grads_for_present(ctx, grad_x, grad_gamma, grad_beta)


class BatchNormEvaluation(KernelFunction):
    """Fixed statistics: y = (x - running_mean) * rstd * weight + bias, rstd = 1/sqrt(var + eps)."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, eps=1e-5):
        _check_channels("batch_norm", x, weight, bias)
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        gamma, beta = _affine_or_identity(weight, bias, x.shape[-1], x.dtype)
        mean = np.asarray(running_mean, x.dtype)
        rstd = (1 / np.sqrt(np.asarray(running_var, x.dtype) + eps)).astype(x.dtype)
        ctx.save_for_backward(x, gamma, mean, rstd)
        return ctx.kernels.batch_norm_apply(x, mean, rstd * gamma, beta)

    @staticmethod
    def backward(ctx, grad_out):
        x, gamma, mean, rstd = ctx.saved_tensors
        grad_x = grad_out * (rstd * gamma) if ctx.needs_input_grad[0] else None
        grad_gamma = as_rows((x - mean) * rstd * grad_out).sum(axis=0)
        grad_beta = as_rows(grad_out).sum(axis=0)
        return _grads_for_present(ctx, grad_x, grad_gamma, grad_beta)


def _buffer(a):
    """Running statistics may be plain arrays or Tensors; update the array in place."""
    return a.data if isinstance(a, Tensor) else a


def batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation over every axis but the last (channels-last BatchNorm2d).

    training=True: normalise with the batch mean and biased variance, and update
    running_mean / running_var in place: r = (1 - momentum) * r + momentum * stat,
    with the *unbiased* variance (n / (n - 1)), exactly as PyTorch. Either may be
    None to skip tracking. training=False: normalise with the running statistics.
    """
    x, weight, bias = as_tensor(x), as_tensor_or_none(weight), as_tensor_or_none(bias)
    running_mean, running_var = _buffer(running_mean), _buffer(running_var)
    if training:
        return BatchNormTraining.apply(x, weight, bias, running_mean=running_mean,
                                       running_var=running_var, momentum=momentum, eps=eps)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    return BatchNormEvaluation.apply(x, weight, bias, running_mean=running_mean,
                                     running_var=running_var, eps=eps)


def gelu_batch_norm(x, weight, bias, running_mean, running_var, momentum=0.1, eps=1e-5):
    """batch_norm(gelu(x), ..., training=True) as one op (exact GELU).

    ConvMixer puts a BatchNorm after every GELU. Done as two ops, training keeps
    GELU's output alive until the backward pass; as one op it keeps only x (which
    GELU's derivative needs anyway) and evaluates the GELU once in the forward and
    once in the backward pass: one feature map less per pair, and fewer passes over
    memory. Same numbers as
    the two ops, up to float rounding; the running statistics are updated the same way.
    """
    x, weight, bias = as_tensor(x), as_tensor_or_none(weight), as_tensor_or_none(bias)
    return BatchNormTraining.apply(x, weight, bias, running_mean=_buffer(running_mean),
                                   running_var=_buffer(running_var), momentum=momentum, eps=eps,
                                   gelu_first=True)
