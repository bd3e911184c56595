# Exercise 7: one MLP-Mixer block, forward pass.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/07_mixer_block.py
# or run this file directly: python lessons/exercises/07_mixer_block.py
# The checker compares your block with minimixer.nn's MixerBlock, given the same
# weights, on random tables (including one with as many patches as channels, where
# a mix-up of the two axes still has the right shape).
"""Write the forward pass of one MLP-Mixer block on an (N, S, C) table.

A Mixer block makes two moves, each "normalise, mix, add back" (pre-norm residual):

    1. token mixing:    x = x + (token MLP applied to LayerNorm1(x), along the token axis)
    2. channel mixing:  x = x + (channel MLP applied to LayerNorm2(x), along the channel axis)

* LayerNorm normalises each patch (each row x[n, s, :]) over its C channels, then
  scales and shifts with its own weight and bias of shape (C,). It comes *before*
  any transpose.
* The token MLP (S -> D_S -> S) mixes the patches: it acts on each channel's column
  x[n, :, c], so transpose to (N, C, S), apply it, transpose back.
* The channel MLP (C -> D_C -> C) mixes the channels inside each patch: it acts
  on each row x[n, s, :] directly.
* Each MLP is Linear -> GELU -> Linear; `mlp` below does exactly that along the
  last axis.

`params` holds the block's weights under the names minimixer's MixerBlock uses in
its state_dict (weights stored as (in, out), so a Linear layer is `x @ W + b`):

    norm1.weight, norm1.bias                           (C,)
    token_mlp.fc1.weight (S, D_S),   token_mlp.fc1.bias (D_S,)
    token_mlp.fc2.weight (D_S, S),   token_mlp.fc2.bias (S,)
    norm2.weight, norm2.bias                           (C,)
    channel_mlp.fc1.weight (C, D_C), channel_mlp.fc1.bias (D_C,)
    channel_mlp.fc2.weight (D_C, C), channel_mlp.fc2.bias (C,)

so `mixer_block(x, MixerBlock(S, C, D_S, D_C).state_dict())` must equal the module's
output. Return a new float32 array of shape (N, S, C); do not modify x.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402

from minimixer.kernels.reference import gelu_forward as gelu  # noqa: E402

EXERCISE = "mixer_block"


def layer_norm(x, weight, bias, eps=1e-5):
    """Normalise over the last axis (mean 0, variance 1), then scale and shift. Given."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def mlp(x, w1, b1, w2, b2):
    """Linear -> GELU -> Linear along the last axis of x. Given."""
    return gelu(x @ w1 + b1) @ w2 + b2


def mixer_block(x, params):
    """x (N, S, C) -> (N, S, C): token mixing, then channel mixing, each with LayerNorm and a skip."""
    # YOUR CODE
    raise NotImplementedError("mixer_block")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
