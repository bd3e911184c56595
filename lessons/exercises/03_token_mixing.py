# Exercise 3: the token-mixing MLP of MLP-Mixer.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/03_token_mixing.py
# or run this file directly: python lessons/exercises/03_token_mixing.py
# The checker compares your function with minimixer's TokenMixingMLP on random
# tables, including a batch of one image and a table with as many patches as
# channels (where mixing along the wrong axis still gives the right shape).
"""Apply an MLP along the token axis of a "patches × channels" table.

MLP-Mixer keeps each image as a table x of shape (N, S, C): N images, S patches
(tokens), C channels. Its token-mixing MLP lets the patches talk to each other. For
every image n and every channel c, take that channel's column x[n, :, c] -- its S
values, one per patch -- and send it through the same two-layer MLP:

    h   = gelu(column @ w1 + b1)        w1 (S, D_S), b1 (D_S,)
    out = h @ w2 + b2                   w2 (D_S, S), b2 (S,)

and write `out` back as that channel's new column. The weights are shared by all
channels and all images, and they do not depend on the input: a fixed, learned way
of combining positions (this is not attention).

The usual way: transpose the table to (N, C, S), so the S values of one channel sit
along the last axis, apply the MLP there (a matmul acts on the last axis), then
transpose back. Use plain NumPy and the `gelu` imported below (the exact, erf-based
GELU that minimixer uses). Return a new float32 array of shape (N, S, C); do not
modify x.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402,F401

from minimixer.kernels.reference import gelu_forward as gelu  # noqa: E402,F401

EXERCISE = "token_mixing"


def token_mixing(x, w1, b1, w2, b2):
    """x (N, S, C) -> (N, S, C): the MLP S -> D_S -> S applied to every channel's column."""
    # YOUR CODE
    raise NotImplementedError("token_mixing")


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
