# Exercise 8: one ConvMixer block, forward pass.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/08_convmixer_block.py
# or run this file directly: python lessons/exercises/08_convmixer_block.py
# The checker compares your block with minimixer.nn's ConvMixerBlock in training
# mode, given the same weights, on batches of one and of several images and with an
# even kernel, and checks your batch_norm on its own.
"""Write the forward pass of one ConvMixer block on a batch of feature maps (N, H, W, C).

A ConvMixer block makes two moves (Trockman & Kolter, "Patches Are All You Need?"):

    1. spatial mixing, with a skip:  x = x + BatchNorm1(GELU(DepthwiseConv_k×k(x)))
    2. channel mixing, no skip:      x = BatchNorm2(GELU(PointwiseConv_1×1(x)))

* The depthwise convolution (exercise 5) is given: `depthwise_conv2d(x, w, b)`,
  "same" padding, so the feature map keeps its size.
* The pointwise (1×1) convolution is a Linear layer applied at every pixel: with its
  weight stored (C_in, C_out), it is `x @ weight + bias` on the last axis.
* GELU is given: `gelu(x)`, the exact (erf) form.
* Write `batch_norm` first. In training mode BatchNorm normalises each *channel*
  c with the mean and the biased variance (divide by the count, as np.var does) of
  all its values: over the batch, the rows and the columns (axes 0, 1, 2), then
  scales by weight[c] and shifts by bias[c]:
      y = (x - mean) / sqrt(var + eps) * weight + bias
  (The running statistics in `params` are only for evaluation mode; ignore them.)

`params` holds the block's weights under the names of minimixer's ConvMixerBlock
state_dict:

    spatial.fn.0.weight (k, k, C), spatial.fn.0.bias (C,)       the depthwise conv
    spatial.fn.2.weight (C,),      spatial.fn.2.bias (C,)       BatchNorm 1
    pointwise.weight (C, C),       pointwise.bias (C,)          the pointwise conv
    norm.weight (C,),              norm.bias (C,)               BatchNorm 2

so `convmixer_block(x, ConvMixerBlock(C, k).state_dict())` must equal the module's
output in training mode. Return a new float32 array of shape (N, H, W, C); do not
modify x.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402,F401

from minimixer.kernels.reference import depthwise_conv2d_forward as depthwise_conv2d  # noqa: E402,F401
from minimixer.kernels.reference import gelu_forward as gelu  # noqa: E402,F401

EXERCISE = "convmixer_block"


def batch_norm(x, weight, bias, eps=1e-5):
    """Training-mode BatchNorm of x (N, H, W, C): each channel over axes (0, 1, 2), then scale and shift."""
    # YOUR CODE
    raise NotImplementedError("batch_norm")


def convmixer_block(x, params):
    """x (N, H, W, C) -> (N, H, W, C): depthwise -> GELU -> BN with a skip, then pointwise -> GELU -> BN."""
    # YOUR CODE
    raise NotImplementedError("convmixer_block")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
