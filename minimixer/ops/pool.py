"""Pooling, channels-last.

    global_avg_pool   the mean over every position, one vector per image:
                      (N, H, W, C) -> (N, C) for ConvMixer's feature maps,
                      (N, S, C) -> (N, C) for MLP-Mixer's tokens. Plain NumPy.
    max_pool2d        max over each k x k window          (kernels: reference / fast)
    avg_pool2d        mean over each k x k window         (kernels: reference / fast)

The windowed pools follow PyTorch: stride defaults to the kernel size, windows
never run past the padded image (ceil_mode=False), padding is at most half the
kernel. Max pooling pads with -inf and sends each window's gradient to the first
maximum; average pooling pads with zeros and always divides by kh * kw
(count_include_pad=True).
"""

import numpy as np

from ..autograd import Function, as_tensor
from .conv2d import as_pair
from .kernel_function import KernelFunction


class GlobalAvgPool(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim < 3:
            raise ValueError(
                f"global_avg_pool: input must be (N, ..., C) with at least one axis to pool, "
                f"got shape {x.shape}"
            )
        ctx.shape = x.shape
        return x.mean(axis=tuple(range(1, x.ndim - 1)))

    @staticmethod
    def backward(ctx, grad_out):
        # every position contributed 1/count of the mean
        shape = ctx.shape
        count = int(np.prod(shape[1:-1]))
        grad_x = np.empty(shape, dtype=grad_out.dtype)
        grad_x[...] = (grad_out / count).reshape(shape[0], *([1] * (len(shape) - 2)), shape[-1])
        return (grad_x,)


def global_avg_pool(x):
    """Mean over all axes except the first (batch) and the last (channels)."""
    return GlobalAvgPool.apply(as_tensor(x))


def _pool_geometry(name, x, kernel_size, stride, padding):
    """Check a pool's arguments -> (kernel_size, stride, padding) in the kernels' tuple form."""
    if x.ndim != 4:
        raise ValueError(f"{name}: input must be (N, H, W, C) channels-last, got shape {x.shape}")
    kernel_size = as_pair(kernel_size, f"{name}: kernel_size", 1)
    stride = kernel_size if stride is None else as_pair(stride, f"{name}: stride", 1)
    pad = as_pair(padding, f"{name}: padding", 0)
    if pad[0] > kernel_size[0] // 2 or pad[1] > kernel_size[1] // 2:
        raise ValueError(
            f"{name}: padding {padding!r} must be at most half the kernel size {kernel_size} "
            "(as in PyTorch), so that every window holds at least one real pixel"
        )
    return kernel_size, stride, ((pad[0], pad[0]), (pad[1], pad[1]))


class MaxPool2d(KernelFunction):
    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry, ctx.input_shape = geometry, x.shape
        y, taps = ctx.kernels.max_pool2d_forward(x, *geometry)
        ctx.save_for_backward(taps)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (taps,) = ctx.saved_tensors
        return (ctx.kernels.max_pool2d_backward(grad_out, taps, ctx.input_shape, *ctx.geometry),)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over each kernel_size window of x (N, H, W, C) -> (N, Ho, Wo, C).

    kernel_size, stride, padding: int or (rows, cols); stride defaults to
    kernel_size. Ho = (H + 2 * padding - kh) // stride + 1, as in PyTorch's
    F.max_pool2d. A tie goes to the first maximum in the window (row by row).
    """
    x = as_tensor(x)
    geometry = _pool_geometry("max_pool2d", x, kernel_size, stride, padding)
    return MaxPool2d.apply(x, geometry)


class AvgPool2d(KernelFunction):
    @staticmethod
    def forward(ctx, x, geometry):
        ctx.geometry, ctx.input_shape = geometry, x.shape
        return ctx.kernels.avg_pool2d_forward(x, *geometry)

    @staticmethod
    def backward(ctx, grad_out):
        return (ctx.kernels.avg_pool2d_backward(grad_out, ctx.input_shape, *ctx.geometry),)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each kernel_size window of x (N, H, W, C) -> (N, Ho, Wo, C).

    Arguments as in ``max_pool2d``. Zero padding counts towards the mean
    (divisor kh * kw), PyTorch's default count_include_pad=True.
    """
    x = as_tensor(x)
    geometry = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding)
    return AvgPool2d.apply(x, geometry)
