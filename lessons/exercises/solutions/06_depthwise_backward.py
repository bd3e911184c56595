# Reference solution of exercise 6 (the depthwise convolution's backward pass).
# Check it with
#     python -m minimixer check lessons/exercises/solutions/06_depthwise_backward.py
"""The depthwise convolution's gradients, one loop over the k*k taps (reference solution).

The forward pass adds, for each tap (i, j), the window xpad[:, i:i+H, j:j+W, :]
times w[i, j]. Reversing each of those additions:

* the window's share of grad_w[i, j] is window * grad_y, summed over everything but
  the channel: the batch, the rows and the columns (the same weight served them all);
* the window's share of the padded input's gradient is grad_y * w[i, j], added back
  into the same window; grad_x is that gradient without its padding rows/columns;
* grad_b is grad_y summed over the batch, the rows and the columns.

The grad_x loop is itself a depthwise convolution of grad_y with the flipped
kernel w[::-1, ::-1] and the padding mirrored (after above/left, before below/right);
minimixer's Numba kernel computes it that way.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

EXERCISE = "depthwise_backward"


def depthwise_conv2d(x, w, b=None):
    """The forward pass: x (N, H, W, C), w (k, k, C), b (C,) or None -> y (N, H, W, C)."""
    _, height, width, _ = x.shape
    k = w.shape[0]
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    xpad = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    y = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            y += xpad[:, i:i + height, j:j + width, :] * w[i, j]
    return y if b is None else y + b


def depthwise_conv2d_backward(x, w, grad_y):
    """-> (grad_x (N, H, W, C), grad_w (k, k, C), grad_b (C,)) for y = depthwise_conv2d(x, w, b)."""
    _, height, width, _ = x.shape
    k = w.shape[0]
    before, after = (k - 1) // 2, k - 1 - (k - 1) // 2
    xpad = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    grad_xpad = np.zeros_like(xpad)
    grad_w = np.zeros_like(w)
    for i in range(k):
        for j in range(k):
            window = xpad[:, i:i + height, j:j + width, :]
            grad_w[i, j] = (window * grad_y).sum(axis=(0, 1, 2))       # batch, rows, columns
            grad_xpad[:, i:i + height, j:j + width, :] += grad_y * w[i, j]
    grad_x = grad_xpad[:, before:before + height, before:before + width, :].copy()
    grad_b = grad_y.sum(axis=(0, 1, 2))
    return grad_x, grad_w, grad_b


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
