"""General 2-D convolution, channels-last, as im2col + one matmul.

    conv2d(x, weight, bias=None, stride=1, padding=0, groups=1)

x is (N, H, W, C_in) and the weight (kh, kw, C_in/groups, C_out): the layout a
window is read in (row, column, channel), with output channels last. So for
groups=1, ``weight.reshape(kh*kw*C_in, C_out)`` is the matrix that multiplies
each window, exactly as in ``patch_embed``; and a depthwise conv's (k, k, C)
weight is this layout with C_in/groups = 1. A PyTorch Conv2d weight
(C_out, C_in/groups, kh, kw) becomes ours by ``transpose(2, 3, 1, 0)``.

The method: ``im2col`` copies the window under every output pixel into a row,
(N*Ho*Wo, kh*kw*C_in) rows in all, and one BLAS matmul with the weight gives
every output channel at every pixel. With groups, the rows and the weight are
split into `groups` slices along the channels and multiplied as one batched
matmul. Backward: grad_weight = rowsᵀ @ grad_out, grad_rows = grad_out @ weightᵀ,
and ``col2im`` adds each row entry back onto the pixel it came from. The rows
are rebuilt from x in backward rather than saved: they are kh*kw times the size
of x.

The argument helpers here (``as_pair``, ``conv_padding``) are shared with the
pooling ops.
"""

from numbers import Integral

import numpy as np

from ..autograd import as_tensor, as_tensor_or_none
from ..kernels.reference import same_padding
from .kernel_function import KernelFunction
from .linalg import as_rows


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def as_pair(value, name, minimum):
    """An int or a pair of ints -> (rows, columns); ValueError for anything else or below `minimum`."""
    if _is_int(value):
        pair = (value, value)
    else:
        pair = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(pair) != 2 or not all(_is_int(v) and v >= minimum for v in pair):
        raise ValueError(f"{name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_padding(padding, kernel_size, stride):
    """PyTorch's conv padding forms -> ((top, bottom), (left, right)).

    An int or a pair pads both sides of an axis equally; "valid" means none;
    "same" (stride 1 only) keeps the size, with the extra row/column of an even
    kernel at the bottom/right, as PyTorch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
        return tuple(same_padding(k) for k in kernel_size)
    rows, cols = as_pair(padding, "conv2d: padding", 0)
    return (rows, rows), (cols, cols)


def check_conv2d_shapes(x, weight, bias, groups):
    """ValueError unless x (N,H,W,C_in), weight (kh,kw,C_in/groups,C_out), bias (C_out,) fit."""
    if x.ndim != 4:
        raise ValueError(f"conv2d: input must be (N, H, W, C) channels-last, got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be (kh, kw, C_in/groups, C_out), got shape {weight.shape}")
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive integer, got {groups!r}")
    group_in, out_channels = weight.shape[2], weight.shape[3]
    if x.shape[3] != group_in * groups:
        raise ValueError(
            f"conv2d: input has {x.shape[3]} channels but weight {weight.shape} with groups={groups} "
            f"expects {group_in * groups}"
        )
    if out_channels % groups:
        raise ValueError(f"conv2d: {out_channels} output channels are not divisible by groups={groups}")
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"conv2d: bias must have shape ({out_channels},), got {bias.shape}")


def _grouped_rows(cols, groups):
    """cols (N, Ho, Wo, kh, kw, C_in) -> (groups, N*Ho*Wo, kh*kw*C_in/groups): one row table
    per group, each row a window ordered (row, column, channel of that group)."""
    *_, kh, kw, channels = cols.shape
    taps = kh * kw
    rows = cols.reshape(-1, taps, groups, channels // groups).transpose(2, 0, 1, 3)
    return rows.reshape(groups, -1, taps * (channels // groups))


def _ungrouped_cols(grouped, cols_shape):
    """Inverse of ``_grouped_rows``: (groups, M, kh*kw*C_in/groups) -> cols_shape."""
    groups = grouped.shape[0]
    *_, kh, kw, channels = cols_shape
    split = grouped.reshape(groups, -1, kh * kw, channels // groups).transpose(1, 2, 0, 3)
    return split.reshape(cols_shape)


def _grouped_weight(weight, groups):
    """(kh, kw, C_in/groups, C_out) -> (groups, kh*kw*C_in/groups, C_out/groups)."""
    out_channels = weight.shape[3]
    return weight.reshape(-1, groups, out_channels // groups).transpose(1, 0, 2)


def _ungrouped_weight(grouped, weight_shape):
    """Inverse of ``_grouped_weight``."""
    return grouped.transpose(1, 0, 2).reshape(weight_shape)


def _ungrouped_output(grouped, out_shape):
    """(groups, M, C_out/groups) -> (N, Ho, Wo, C_out), group g's channels in block g."""
    return grouped.transpose(1, 0, 2).reshape(out_shape)


class Conv2d(KernelFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, groups):
        check_conv2d_shapes(x, weight, bias, groups)
        ctx.geometry = (weight.shape[:2], stride, padding)
        ctx.groups, ctx.has_bias = groups, bias is not None
        cols = ctx.kernels.im2col(x, *ctx.geometry)
        grouped = np.matmul(_grouped_rows(cols, groups), _grouped_weight(weight, groups))
        y = _ungrouped_output(grouped, cols.shape[:3] + (weight.shape[3],))
        if bias is not None:
            y += bias
        ctx.save_for_backward(x, weight)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        needs, groups = ctx.needs_input_grad, ctx.groups
        # (N, Ho, Wo, C_out) -> (groups, M, C_out/groups), the layout of the forward product
        grad_grouped = np.ascontiguousarray(
            grad_out.reshape(-1, groups, weight.shape[3] // groups).transpose(1, 0, 2))
        grad_x = grad_w = None
        if needs[0]:
            grad_rows = np.matmul(grad_grouped, _grouped_weight(weight, groups).transpose(0, 2, 1))
            cols_shape = grad_out.shape[:3] + weight.shape[:2] + (x.shape[3],)
            grad_cols = _ungrouped_cols(grad_rows, cols_shape)
            grad_x = ctx.kernels.col2im(grad_cols, x.shape, *ctx.geometry)
        if needs[1]:
            rows = _grouped_rows(ctx.kernels.im2col(x, *ctx.geometry), groups)
            grad_w = _ungrouped_weight(np.matmul(rows.transpose(0, 2, 1), grad_grouped), weight.shape)
        if not ctx.has_bias:
            return grad_x, grad_w
        grad_b = as_rows(grad_out).sum(axis=0) if needs[2] else None
        return grad_x, grad_w, grad_b


def conv2d(x, weight, bias=None, stride=1, padding=0, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch), channels-last.

    x (N, H, W, C_in), weight (kh, kw, C_in/groups, C_out), bias (C_out,) or None
    -> (N, Ho, Wo, C_out) with Ho = (H + pad_top + pad_bottom - kh) // stride + 1.
    stride: int or (rows, cols). padding: int, (rows, cols), "valid" or "same"
    (stride 1 only). groups splits the channels into independent convolutions:
    output block g sees only input block g (groups = C_in = C_out is a depthwise
    conv). Equal to ``torch.nn.functional.conv2d`` on NCHW tensors with the weight
    permuted by ``transpose(3, 2, 0, 1)``.
    """
    x, weight, bias = as_tensor(x), as_tensor(weight), as_tensor_or_none(bias)
    if weight.ndim == 4 and (weight.shape[0] < 1 or weight.shape[1] < 1):
        raise ValueError(f"conv2d: kernel size must be at least 1x1, got weight {weight.shape}")
    stride = as_pair(stride, "conv2d: stride", 1)
    pad = conv_padding(padding, tuple(weight.shape[:2]), stride) if weight.ndim == 4 else None
    return Conv2d.apply(x, weight, bias, stride, pad, groups)
