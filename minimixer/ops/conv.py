"""Convolutions of the two Mixers, channels-last: (N, H, W, C) feature maps.

    patchify / unpatchify   cut into p x p patches (N, H/p, W/p, p*p*C) and back
    patch_embed             conv with kernel = stride = p  ==  patchify + one matmul
    depthwise_conv2d        k x k filter per channel, stride 1, "same" padding
    pointwise_conv2d        1 x 1 conv  ==  one matmul over the channel axis

The array work happens in ``minimixer.kernels`` (NumPy reference or Numba);
matmuls go straight to NumPy (BLAS). The backend is looked up when the forward
pass runs, and the backward pass uses the same one.
"""

import numpy as np

from .. import kernels
from ..autograd import Function, as_tensor
from .linalg import linear


def _optional_tensor(x):
    return None if x is None else as_tensor(x)


def _rows(a):
    """View a (..., C) array as (M, C) rows (a copy only if it is not contiguous)."""
    return a.reshape(-1, a.shape[-1])


class Patchify(Function):
    @staticmethod
    def forward(ctx, x, patch_size):
        ctx.kernels = kernels.current()
        ctx.patch_size, ctx.channels = patch_size, x.shape[-1]
        return ctx.kernels.patchify(x, patch_size)

    @staticmethod
    def backward(ctx, grad):
        # patchify only moves numbers around, so its gradient moves them back
        return (ctx.kernels.unpatchify(grad, ctx.patch_size, ctx.channels),)


class Unpatchify(Function):
    @staticmethod
    def forward(ctx, patches, patch_size, channels):
        ctx.kernels = kernels.current()
        ctx.patch_size = patch_size
        return ctx.kernels.unpatchify(patches, patch_size, channels)

    @staticmethod
    def backward(ctx, grad):
        return (ctx.kernels.patchify(grad, ctx.patch_size),)


def patchify(x, patch_size):
    """(N, H, W, C) -> (N, H/p, W/p, p*p*C), each patch ordered (row, column, channel)."""
    return Patchify.apply(as_tensor(x), patch_size)


def unpatchify(patches, patch_size, channels):
    """Inverse of ``patchify``: (N, H/p, W/p, p*p*C) -> (N, H, W, C)."""
    return Unpatchify.apply(as_tensor(patches), patch_size, channels)


class PatchEmbed(Function):
    """y = patchify(x) @ weight + bias: a conv with kernel = stride = p as one matmul."""

    @staticmethod
    def forward(ctx, x, weight, bias, patch_size):
        size = weight.shape[0]
        if x.ndim != 4 or size != patch_size * patch_size * x.shape[-1]:
            raise ValueError(
                f"patch_embed: weight {weight.shape} needs input (N, H, W, C) with "
                f"p*p*C = {size} for p={patch_size}, got input {x.shape}"
            )
        ctx.kernels = kernels.current()
        ctx.patch_size, ctx.channels, ctx.has_bias = patch_size, x.shape[-1], bias is not None
        patches = ctx.kernels.patchify(x, patch_size)  # (N, H/p, W/p, p*p*C)
        y = _rows(patches) @ weight
        if bias is not None:
            y += bias
        ctx.save_for_backward(patches, weight)
        return y.reshape(patches.shape[:-1] + (weight.shape[1],))

    @staticmethod
    def backward(ctx, grad):
        patches, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g = _rows(grad)
        grad_x = None
        if needs[0]:
            grad_patches = (g @ weight.T).reshape(patches.shape)
            grad_x = ctx.kernels.unpatchify(grad_patches, ctx.patch_size, ctx.channels)
        grad_w = _rows(patches).T @ g if needs[1] else None
        if not ctx.has_bias:
            return grad_x, grad_w
        return grad_x, grad_w, (g.sum(axis=0) if needs[2] else None)


def patch_embed(x, weight, bias, patch_size):
    """Patch embedding: x (N,H,W,C), weight (p*p*C, D), bias (D,) or None -> (N, H/p, W/p, D).

    The same as PyTorch's Conv2d(C, D, kernel_size=p, stride=p); a torch weight
    (D, C, p, p) maps to ours by ``transpose(2, 3, 1, 0).reshape(p*p*C, D)``.
    """
    return PatchEmbed.apply(as_tensor(x), as_tensor(weight), _optional_tensor(bias), patch_size)


class DepthwiseConv2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.kernels = kernels.current()
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight)
        return ctx.kernels.depthwise_conv2d_forward(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_bias = ctx.has_bias and ctx.needs_input_grad[2]
        grad_x, grad_w, grad_b = ctx.kernels.depthwise_conv2d_backward(x, weight, grad, need_bias)
        return (grad_x, grad_w, grad_b) if ctx.has_bias else (grad_x, grad_w)


def depthwise_conv2d(x, weight, bias=None):
    """k x k convolution of each channel on its own: x (N,H,W,C), weight (k,k,C), bias (C,).

    Stride 1 and "same" padding (output size = input size; for an even k the
    extra row/column of zeros goes at the bottom/right, as in PyTorch). Equal to
    PyTorch's conv2d(groups=C, padding="same") with its weight (C,1,k,k)
    permuted to (k,k,C).
    """
    return DepthwiseConv2d.apply(as_tensor(x), as_tensor(weight), _optional_tensor(bias))


def pointwise_conv2d(x, weight, bias=None):
    """1 x 1 convolution: x (..., C_in) @ weight (C_in, C_out) + bias (C_out,).

    It is a Linear layer applied at every pixel, so it is `linalg.linear`: one BLAS
    call on the (pixels, C_in) view, the bias added in place.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.shape[-1] != weight.shape[0]:
        raise ValueError(
            f"pointwise_conv2d: input has {x.shape[-1]} channels but weight {weight.shape} "
            f"expects {weight.shape[0]}"
        )
    return linear(x, weight, bias)