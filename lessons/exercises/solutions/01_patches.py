# Reference solution of exercise 1 (cut a picture into blocks and glue it back).
# Check it with
#     python -m minimixer check lessons/exercises/solutions/01_patches.py
"""patchify and unpatchify with two loops over the grid of blocks (reference solution).

Block (r, c) of the grid covers rows r*p .. r*p+p-1 and columns c*p .. c*p+p-1, and
it is row r*(W/p) + c of the table: reading the grid like a book. `reshape(N, -1)`
reads a block's (p, p, C) pixels row by row, channel fastest, which is the order
asked for. unpatchify runs the same loops and copies in the other direction.

Without loops, the same in three steps (minimixer's `kernels.reference.patchify`):
images.reshape(N, H/p, p, W/p, p, C) splits each axis into (block, pixel in block);
.transpose(0, 1, 3, 2, 4, 5) puts the two block axes first; .reshape(N, S, p*p*C)
flattens them. A plain images.reshape(N, S, p*p*C) without the transpose would cut
the picture into strips instead of square blocks.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent.parent))  # the repository

import numpy as np  # noqa: E402

EXERCISE = "patches"


def patchify(images, p):
    """images (N, H, W, C) -> table (N, S, p*p*C), one row per p×p block, S = (H/p)*(W/p)."""
    n, height, width, channels = images.shape
    if height % p or width % p:
        raise ValueError(f"{p}x{p} blocks cannot tile a {height}x{width} picture")
    rows, cols = height // p, width // p
    table = np.empty((n, rows * cols, p * p * channels), dtype=images.dtype)
    for r in range(rows):
        for c in range(cols):
            block = images[:, r * p:(r + 1) * p, c * p:(c + 1) * p, :]
            table[:, r * cols + c] = block.reshape(n, -1)
    return table


def unpatchify(table, p, height, width):
    """table (N, S, p*p*C) -> images (N, height, width, C): the blocks glued back in place."""
    n, _, size = table.shape
    rows, cols, channels = height // p, width // p, size // (p * p)
    images = np.empty((n, height, width, channels), dtype=table.dtype)
    for r in range(rows):
        for c in range(cols):
            block = table[:, r * cols + c].reshape(n, p, p, channels)
            images[:, r * p:(r + 1) * p, c * p:(c + 1) * p, :] = block
    return images


if __name__ == "__main__":
    from minimixer.check import main

    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
