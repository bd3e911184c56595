# Reference solution of exercise 5 (depthwise convolution). Check it with
#     python -m minimixer check lessons/exercises/solutions/05_depthwise_conv.py
"""Depthwise k×k convolution, stride 1, 'same' padding, in NumPy (reference solution).

The formula y[n, h, w, c] = b[c] + sum_{i,j} xpad[n, h+i, w+j, c] w[i, j, c] is
written down literally: `sliding_window_view` gives, without copying, the k×k window
under every output pixel, windows[n, h, w, c, i, j] = xpad[n, h+i, w+j, c], and
`einsum` multiplies each window by its channel's kernel and sums over (i, j).
(minimixer's reference kernel loops over the k*k taps instead, adding one shifted
slice of xpad per tap; both give the same numbers.)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

EXERCISE = "depthwise_conv"


def depthwise_conv2d(x, w, b=None):
    """x (N, H, W, C), w (k, k, C), b (C,) or None -> y (N, H, W, C), stride 1, 'same' padding."""
    k = w.shape[0]
    before = (k - 1) // 2
    after = k - 1 - before                  # the larger half when k is even
    xpad = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(xpad, (k, k), axis=(1, 2))
    y = np.einsum("nhwcij,ijc->nhwc", windows, w)   # (N, H, W, C)
    if b is not None:
        y = y + b
    return y


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
