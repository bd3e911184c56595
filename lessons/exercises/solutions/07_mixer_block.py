# Reference solution of exercise 7 (one MLP-Mixer block). Check it with
#     python -m minimixer check lessons/exercises/solutions/07_mixer_block.py
"""One MLP-Mixer block on an (N, S, C) table (reference solution).

In the paper's notation, with X the S×C table of one image:
    U = X + (W2 σ(W1 LN(X)ᵀ))ᵀ        token mixing: each column (channel) across patches
    Y = U + W4 σ(W3 LN(U))             channel mixing: each row (patch) across channels
Here weights are stored (in, out), so each Linear is `x @ W + b` on the last axis.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

from minimixer.kernels.reference import gelu_forward as gelu  # noqa: E402

EXERCISE = "mixer_block"


def layer_norm(x, weight, bias, eps=1e-5):
    """Normalise over the last axis (mean 0, variance 1), then scale and shift."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def mlp(x, w1, b1, w2, b2):
    """Linear -> GELU -> Linear along the last axis of x."""
    return gelu(x @ w1 + b1) @ w2 + b2


def mixer_block(x, params):
    """x (N, S, C) -> (N, S, C): token mixing, then channel mixing, each with LayerNorm and a skip."""
    p = params
    # 1. token mixing: normalise each patch over its channels, then mix across patches
    normed = layer_norm(x, p["norm1.weight"], p["norm1.bias"]).transpose(0, 2, 1)   # (N, C, S)
    mixed = mlp(normed, p["token_mlp.fc1.weight"], p["token_mlp.fc1.bias"],
                p["token_mlp.fc2.weight"], p["token_mlp.fc2.bias"])
    x = x + mixed.transpose(0, 2, 1)
    # 2. channel mixing: normalise again, then mix the channels inside each patch
    normed = layer_norm(x, p["norm2.weight"], p["norm2.bias"])
    return x + mlp(normed, p["channel_mlp.fc1.weight"], p["channel_mlp.fc1.bias"],
                   p["channel_mlp.fc2.weight"], p["channel_mlp.fc2.bias"])


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
