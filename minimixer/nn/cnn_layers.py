"""The layers of a classic CNN, channels-last: (N, H, W, C) in and out.

    Conv2d      k×k convolution with stride, padding and groups   (ops.conv2d)
    MaxPool2d   max over each window                              (ops.max_pool2d)
    AvgPool2d   mean over each window                             (ops.avg_pool2d)

A classic CNN stacks conv -> norm -> ReLU -> pool stages, halving the resolution and
widening the channels as it goes; the Mixers keep one shape throughout. The
arguments and defaults are PyTorch's, so a model written with torch.nn reads the same.
"""

from numbers import Integral

from .. import ops
from ..ops.conv2d import as_pair, conv_padding
from . import init
from .module import Module, Parameter


def _positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_image_batch(layer, x, channels=None):
    """ValueError unless x is (N, H, W, C), with C = `channels` when given."""
    if len(x.shape) != 4 or (channels is not None and x.shape[-1] != channels):
        expected = f"(N, H, W, {channels})" if channels is not None else "(N, H, W, C)"
        raise ValueError(f"{layer}: expected input of shape {expected} (channels last), got {x.shape}")


class Conv2d(Module):
    """2-D convolution: weight (kh, kw, in_channels/groups, out_channels), bias (out_channels,).

    The weight is stored in the order a window is read (row, column, channel), output
    channels last; PyTorch's (out, in/groups, kh, kw) weight maps to it by
    ``transpose(2, 3, 1, 0)``. padding: int, pair, "valid" or "same" (stride 1).
    Init as PyTorch: kaiming_uniform(a=sqrt(5)) for the weight and U(±1/sqrt(fan_in))
    for the bias, both with bound 1/sqrt(fan_in), fan_in = in_channels/groups * kh * kw.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 groups: int = 1, bias: bool = True):
        super().__init__()
        in_channels = _positive_int(in_channels, "Conv2d: in_channels")
        out_channels = _positive_int(out_channels, "Conv2d: out_channels")
        groups = _positive_int(groups, "Conv2d: groups")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_pair(kernel_size, "Conv2d: kernel_size", 1)
        self.stride = as_pair(stride, "Conv2d: stride", 1)
        self.padding = padding if isinstance(padding, str) else as_pair(padding, "Conv2d: padding", 0)
        conv_padding(self.padding, self.kernel_size, self.stride)  # fail now on a bad padding
        shape = (*self.kernel_size, in_channels // groups, out_channels)
        fan_in = shape[0] * shape[1] * shape[2]
        self.weight = Parameter(init.kaiming_uniform_default(shape, fan_in))
        self.bias = Parameter(init.bias_default((out_channels,), fan_in)) if bias else None

    def forward(self, x):
        _check_image_batch("Conv2d", x, self.in_channels)
        return ops.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                          groups=self.groups)

    def extra_repr(self):
        text = f"{self.in_channels} -> {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            text += f", stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class _Pool2d(Module):
    """Arguments shared by the window pools; stride defaults to kernel_size (PyTorch)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = as_pair(kernel_size, f"{name}: kernel_size", 1)
        self.stride = self.kernel_size if stride is None else as_pair(stride, f"{name}: stride", 1)
        self.padding = as_pair(padding, f"{name}: padding", 0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{name}: padding {self.padding} must be at most half the "
                             f"kernel size {self.kernel_size}")

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride}"
        return text + (f", padding={self.padding}" if self.padding != (0, 0) else "")


class MaxPool2d(_Pool2d):
    """Max over each window of (N, H, W, C); padding counts as -inf. See ops.max_pool2d."""

    def forward(self, x):
        _check_image_batch("MaxPool2d", x)
        return ops.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over each window of (N, H, W, C), zero padding included. See ops.avg_pool2d."""

    def forward(self, x):
        _check_image_batch("AvgPool2d", x)
        return ops.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
