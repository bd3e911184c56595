# Reference solution of exercise 8 (one ConvMixer block). Check it with
#     python -m minimixer check lessons/exercises/solutions/08_convmixer_block.py
"""One ConvMixer block on (N, H, W, C) feature maps, training mode (reference solution).

BatchNorm's statistics run over everything but the channel axis: the batch and both
spatial axes, so each channel is normalised by numbers from every image. (LayerNorm,
in MLP-Mixer, normalises each token over its channels instead.) The skip connection
wraps the whole spatial step; the channel step has none, exactly as in the paper's
PyTorch code: Residual(Sequential(conv_dw, GELU, BN)), then conv_1x1, GELU, BN.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

from minimixer.kernels.reference import depthwise_conv2d_forward as depthwise_conv2d  # noqa: E402
from minimixer.kernels.reference import gelu_forward as gelu  # noqa: E402

EXERCISE = "convmixer_block"


def batch_norm(x, weight, bias, eps=1e-5):
    """Training-mode BatchNorm of x (N, H, W, C): each channel over axes (0, 1, 2), then scale and shift."""
    mean = x.mean(axis=(0, 1, 2))
    var = x.var(axis=(0, 1, 2))                     # biased: divides by N*H*W
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def convmixer_block(x, params):
    """x (N, H, W, C) -> (N, H, W, C): depthwise -> GELU -> BN with a skip, then pointwise -> GELU -> BN."""
    p = params
    spatial = gelu(depthwise_conv2d(x, p["spatial.fn.0.weight"], p["spatial.fn.0.bias"]))
    x = x + batch_norm(spatial, p["spatial.fn.2.weight"], p["spatial.fn.2.bias"])
    mixed = gelu(x @ p["pointwise.weight"] + p["pointwise.bias"])
    return batch_norm(mixed, p["norm.weight"], p["norm.bias"])


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
