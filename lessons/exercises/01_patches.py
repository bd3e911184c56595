# Exercise 1: cut a picture into blocks and glue it back.
#
# Check your work (from the repository root):
#     python -m minimixer check lessons/exercises/01_patches.py
# or run this file directly: python lessons/exercises/01_patches.py
# The checker cuts small pictures with your function and with minimixer's, compares
# the tables, glues them back, and tries a block size that does not fit.
"""Write the first step of every Mixer: cutting pictures into blocks (patches).

Easy lesson 1 cuts a digit into 2 × 2 blocks and writes them down as a table with
one row per block. Now you write the two functions that do it.

A stack of pictures `images` has shape (N, H, W, C): N pictures, H rows, W columns,
C channels (1 for grey pictures, 3 for colour). With blocks of p × p pixels:

1. `patchify(images, p)` returns the table, shape (N, S, p*p*C), where S is the
   number of blocks, (H/p) * (W/p).
   * The blocks are listed like the words of a book: the top row of blocks from
     left to right, then the next row of blocks, and so on.
   * Each row of the table lists its block's numbers the same way: the block's top
     row of pixels from left to right, then its next row, ...; for each pixel, all
     its C channels one after the other.
   * If p does not divide H or W, the blocks cannot tile the picture: raise a
     ValueError (do not drop pixels silently).
2. `unpatchify(table, p, height, width)` does the opposite: it glues the blocks of
   the table back into pictures of shape (N, height, width, C).

Cutting and gluing only *move* numbers: keep the dtype of the input (the digits are
uint8) and do not change the input. Loops over the blocks are fine: slice one block
with `images[:, top:top + p, left:left + p, :]` and make it a row with
`.reshape(N, -1)`. (Faster, and worth trying afterwards: one `reshape`, one
`transpose` and another `reshape`.)

Try it out:
    image = np.arange(16).reshape(1, 4, 4, 1)
    patchify(image, 2)[0]      # 4 rows: [0 1 4 5], [2 3 6 7], [8 9 12 13], [10 11 14 15]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))  # the repository, for `import minimixer`

import numpy as np  # noqa: E402

EXERCISE = "patches"


def patchify(images, p):
    """images (N, H, W, C) -> table (N, S, p*p*C), one row per p×p block, S = (H/p)*(W/p)."""
    # YOUR CODE
    raise NotImplementedError("patchify")


def unpatchify(table, p, height, width):
    """table (N, S, p*p*C) -> images (N, height, width, C): the blocks glued back in place."""
    # YOUR CODE
    raise NotImplementedError("unpatchify")


if __name__ == "__main__":
    from minimixer.check import main

    try:
        print(patchify(np.arange(16).reshape(1, 4, 4, 1), 2)[0])
    except NotImplementedError:
        print("patchify is not written yet.")
    sys.exit(main([__file__, *sys.argv[1:]]))  # flags such as --hints full work here too
