# Exercise 5: depthwise convolution, forward pass, "same" padding.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/05_depthwise_conv.py
# or run this file directly: python lessons/exercises/05_depthwise_conv.py
# The checker compares your function with minimixer's NumPy reference kernel on
# random inputs: odd and even kernels, a kernel larger than the image, a batch of
# one image, no bias.
"""Write ConvMixer's spatial mixing step: a k×k depthwise convolution in NumPy.

Input x has shape (N, H, W, C) (channels last), the kernel w has shape (k, k, C)
-- one k×k filter per channel -- and b is a bias of shape (C,) or None. A depthwise
convolution mixes *spatial locations within each channel*: output channel c looks
only at input channel c, at the k×k neighbourhood of each pixel. (Mixing *channels*
at each location is the job of the pointwise 1×1 convolution that follows it.)

"Same" padding keeps the output at H × W: surround the image with zeros, (k-1)//2
rows above and k-1-(k-1)//2 rows below, and likewise columns left and right. For an
odd k that is symmetric; for an even k the extra row/column goes at the bottom/right
(as in PyTorch). With xpad the padded input:

    y[n, h, w, c] = b[c] + sum over i, j in 0..k-1 of  xpad[n, h + i, w + j, c] * w[i, j, c]

This is a cross-correlation (the kernel is not flipped), which is what deep-learning
libraries call a convolution. Use NumPy; loops over the k×k kernel taps are fine
(each tap adds a shifted slice of xpad, scaled per channel). Return a new array of
shape (N, H, W, C) and the dtype of x; do not modify x.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402,F401

EXERCISE = "depthwise_conv"


def depthwise_conv2d(x, w, b=None):
    """x (N, H, W, C), w (k, k, C), b (C,) or None -> y (N, H, W, C), stride 1, 'same' padding."""
    # YOUR CODE
    raise NotImplementedError("depthwise_conv2d")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
