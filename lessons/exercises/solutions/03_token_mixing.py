# Reference solution of exercise 3 (token mixing). Check it with
#     python -m minimixer check lessons/exercises/solutions/03_token_mixing.py
"""The token-mixing MLP on an (N, S, C) table (reference solution).

Transposing puts each channel's S patch values on the last axis, where a matmul
acts; after the MLP, the second transpose restores the (N, S, C) layout.
minimixer's own `linear_over_tokens` skips the copies by computing w1ᵀ @ x, which
multiplies every (S, C) slice at once -- the same numbers.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

from minimixer.kernels.reference import gelu_forward as gelu  # noqa: E402

EXERCISE = "token_mixing"


def token_mixing(x, w1, b1, w2, b2):
    """x (N, S, C) -> (N, S, C): the MLP S -> D_S -> S applied to every channel's column."""
    columns = x.transpose(0, 2, 1)          # (N, C, S): one row per channel
    hidden = gelu(columns @ w1 + b1)        # (N, C, D_S)
    mixed = hidden @ w2 + b2                # (N, C, S)
    return mixed.transpose(0, 2, 1)         # back to (N, S, C)


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
