"""Convolutions of the two Mixers, channels-last: (N, H, W, C) feature maps.

    patchify / unpatchify      cut into p x p patches (N, H/p, W/p, p*p*C) and back
    patch_embed                conv with kernel = stride = p  ==  patchify + one linear
    depthwise_conv2d           k x k filter per channel, stride 1, "same" padding
    pointwise_conv2d           1 x 1 conv  ==  one linear over the channel axis
    convmixer_block_inference  a whole ConvMixer block in evaluation mode, fused

The array work happens in ``minimixer.kernels`` (NumPy reference or Numba);
matmuls are ``linalg.linear`` (BLAS). The backend is looked up when the forward
pass runs, and the backward pass uses the same one (``KernelFunction``).
"""

from .. import kernels
from ..autograd import as_tensor, as_tensor_or_none, is_grad_enabled, no_grad
from .kernel_function import KernelFunction
from .linalg import linear


class Patchify(KernelFunction):
    @staticmethod
    def forward(ctx, x, patch_size):
        ctx.patch_size, ctx.channels = patch_size, x.shape[-1]
        return ctx.kernels.patchify(x, patch_size)

    @staticmethod
    def backward(ctx, grad_out):
        # patchify only moves numbers around, so its gradient moves them back
        return (ctx.kernels.unpatchify(grad_out, ctx.patch_size, ctx.channels),)


def patchify(x, patch_size):
    """(N, H, W, C) -> (N, H/p, W/p, p*p*C), each patch ordered (row, column, channel)."""
    return Patchify.apply(as_tensor(x), patch_size)


class Unpatchify(KernelFunction):
    @staticmethod
    def forward(ctx, patches, patch_size, channels):
        ctx.patch_size = patch_size
        return ctx.kernels.unpatchify(patches, patch_size, channels)

    @staticmethod
    def backward(ctx, grad_out):
        return (ctx.kernels.patchify(grad_out, ctx.patch_size),)


def unpatchify(patches, patch_size, channels):
    """Inverse of ``patchify``: (N, H/p, W/p, p*p*C) -> (N, H, W, C)."""
    return Unpatchify.apply(as_tensor(patches), patch_size, channels)


def patch_embed(x, weight, bias, patch_size):
    """Patch embedding: x (N,H,W,C), weight (p*p*C, D), bias (D,) or None -> (N, H/p, W/p, D).

    The same as PyTorch's Conv2d(C, D, kernel_size=p, stride=p); a torch weight
    (D, C, p, p) maps to ours by ``transpose(2, 3, 1, 0).reshape(p*p*C, D)``.
    A conv whose windows do not overlap is a Linear layer on the patches:
    ``linear(patchify(x, p), weight, bias)``, one BLAS matmul over all of them.
    """
    x, weight = as_tensor(x), as_tensor(weight)
    size = weight.shape[0] if weight.ndim == 2 else None
    if x.ndim != 4 or size != patch_size * patch_size * x.shape[-1]:
        raise ValueError(
            f"patch_embed: weight {weight.shape} needs input (N, H, W, C) with "
            f"p*p*C = {size} for p={patch_size}, got input {x.shape}"
        )
    return linear(patchify(x, patch_size), weight, bias)


class DepthwiseConv2d(KernelFunction):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight)
        return ctx.kernels.depthwise_conv2d_forward(x, weight, bias)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        need_bias = ctx.has_bias and ctx.needs_input_grad[2]
        grad_x, grad_w, grad_b = ctx.kernels.depthwise_conv2d_backward(x, weight, grad_out, need_bias)
        return (grad_x, grad_w, grad_b) if ctx.has_bias else (grad_x, grad_w)


def depthwise_conv2d(x, weight, bias=None):
    """k x k convolution of each channel on its own: x (N,H,W,C), weight (k,k,C), bias (C,).

    Stride 1 and "same" padding (output size = input size; for an even k the
    extra row/column of zeros goes at the bottom/right, as in PyTorch). Equal to
    PyTorch's conv2d(groups=C, padding="same") with its weight (C,1,k,k)
    permuted to (k,k,C).
    """
    return DepthwiseConv2d.apply(as_tensor(x), as_tensor(weight), as_tensor_or_none(bias))


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


def convmixer_block_inference(x, depthwise_weight, depthwise_bias, spatial_affine,
                              pointwise_weight, pointwise_bias, channel_affine):
    """One ConvMixer block in evaluation mode: two fused kernel passes and one matmul.

    With fixed statistics a BatchNorm is a per-channel affine map y * scale + shift;
    `spatial_affine` and `channel_affine` are the (scale, shift) of the block's two
    BatchNorms. With exact (erf) GELUs the block is

        x1 = x + GELU(depthwise(x) + b1) * scale1 + shift1      one kernel pass
        x2 = GELU(x1 @ W + b2) * scale2 + shift2                one matmul, one kernel pass

    (``kernels.reference`` spells out both passes). Nothing is kept for a backward
    pass, so this refuses to run while a graph is being recorded: call it under
    ``mm.no_grad()``. Returns a Tensor that does not require grad.
    """
    weights = (depthwise_weight, depthwise_bias, pointwise_weight, pointwise_bias)
    if is_grad_enabled() and any(getattr(w, "requires_grad", False) for w in weights):
        raise RuntimeError("convmixer_block_inference records no graph for backward; "
                           "call it under mm.no_grad(), or use the layers one by one")
    backend = kernels.current()
    mixed = backend.residual_depthwise_gelu_affine(
        as_tensor(x).data, as_tensor(depthwise_weight).data, as_tensor(depthwise_bias).data,
        *spatial_affine)
    with no_grad():
        projected = pointwise_conv2d(as_tensor(mixed, dtype=mixed.dtype), pointwise_weight, pointwise_bias)
    out = backend.gelu_affine(projected.data, *channel_affine)
    return as_tensor(out, dtype=out.dtype)
