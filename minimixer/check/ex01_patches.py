"""Exercise 1 (easy): cut pictures into p×p blocks (patchify) and glue them back (unpatchify).

The table has one row per block, blocks read like a book, each row the block's pixels
row by row with the channel fastest: minimixer's `kernels.reference.patchify` reshaped
to (N, S, p*p*C). The typical wrong answers are other orders of the same numbers: a
plain reshape (strips, not blocks), the grid read column by column, a block read
column by column or channel first, the grid not flattened.
"""

from __future__ import annotations

import numpy as np

from ..kernels import reference
from .registry import Exercise
from .toolkit import Failure, Hint, call, expect_close, maybe, rng_for

EXERCISE = Exercise(
    number=1, name="patches", level="easy", title="cut pictures into blocks and glue them back",
    needs=("patchify", "unpatchify"),
    graded=("minimixer.kernels.reference.patchify", "minimixer.kernels.reference.unpatchify",
            "minimixer.kernels.fast.patchify", "minimixer.kernels.fast.unpatchify",
            "minimixer.ops.conv.patchify", "minimixer.ops.conv.unpatchify",
            "minimixer.ops.conv.Patchify.forward", "minimixer.ops.conv.Unpatchify.forward"))
check, mistake = EXERCISE.check, EXERCISE.mistake

STRIPS = mistake(
    "patches_plain_reshape",
    "your rows hold pixels from a strip of the picture, not from a square block. Look at row 0: "
    "which pixels should it hold, and which does it hold?",
    "a plain reshape cuts the picture into strips. Reshape to (N, H/p, p, W/p, p, C), move the "
    "two block axes to the front with transpose(0, 1, 3, 2, 4, 5), then reshape to (N, S, p*p*C) "
    "(or copy block by block in two loops).")
COLUMN_ORDER = mistake(
    "patches_grid_column_by_column",
    "every block is right, but the blocks are listed in another order: read the grid like a book.",
    "list the blocks row by row of the grid: block r*(W/p) + c is grid row r, column c; you went "
    "down the columns first.")
BLOCK_TRANSPOSED = mistake(
    "patches_block_column_by_column",
    "each row holds the right pixels in the wrong order: inside a block, read the pixels like a book too.",
    "inside a block, go row by row (i, then j): the block's axes are (row, column, channel); yours "
    "has row and column swapped.")
CHANNEL_FIRST = mistake(
    "patches_channel_first",
    "each row holds the right numbers in the wrong order: which changes fastest along a row, "
    "the pixel or the channel?",
    "inside a block the channel changes fastest: order each row (row, column, channel), as "
    "minimixer's PatchEmbed weight expects, not (channel, row, column).")
GRID_KEPT = mistake(
    "patches_grid_not_flattened",
    "your result keeps the blocks on a grid: the table has one row per block.",
    "flatten the grid: the table's shape is (N, S, p*p*C) with S = (H/p)*(W/p).")
GLUE_STRIPS = mistake(
    "unpatchify_plain_reshape",
    "your glued pictures are scrambled: gluing must undo every step of cutting, in reverse order.",
    "a plain reshape puts the numbers back as strips. Reshape to (N, H/p, W/p, p, p, C), "
    "transpose(0, 1, 3, 2, 4, 5), then reshape to (N, H, W, C) (or copy block by block).")
GLUE_COLUMN_ORDER = mistake(
    "unpatchify_grid_column_by_column",
    "every block lands in the wrong place: the table lists the blocks row by row of the grid, "
    "so fill the grid in that order too.",
    "row s of the table is grid row s // (W/p), column s % (W/p); you filled the grid column by column.")
SILENT_CROP = mistake(
    "patches_silent_crop",
    "with blocks that cannot tile the picture, your function returned a table anyway: what should "
    "happen to the pixels left over?",
    "3×3 blocks cannot tile an 8×8 picture: raise ValueError instead of dropping the last pixels.")

PATCH_HINT = Hint("cut a 4×4 picture holding 0..15 (np.arange(16).reshape(1, 4, 4, 1)) into 2×2 blocks "
                  "and compare your table with the one in the docstring.",
                  "table[n, r*(W/p) + c] = images[n, r*p:(r+1)*p, c*p:(c+1)*p, :].reshape(-1).")


def expected_table(images, p):
    return reference.patchify(images, p).reshape(images.shape[0], -1, p * p * images.shape[3])


def _cut_mistakes(images, p):
    n, height, width, c = images.shape
    grid = images.reshape(n, height // p, p, width // p, p, c)
    flat = (n, -1, p * p * c)
    return [(maybe(lambda: images.reshape(flat)), STRIPS),
            (maybe(lambda: grid.transpose(0, 3, 1, 2, 4, 5).reshape(flat)), COLUMN_ORDER),
            (maybe(lambda: grid.transpose(0, 1, 3, 4, 2, 5).reshape(flat)), BLOCK_TRANSPOSED),
            (maybe(lambda: grid.transpose(0, 1, 3, 5, 2, 4).reshape(flat)), CHANNEL_FIRST),
            (maybe(lambda: reference.patchify(images, p)), GRID_KEPT)]


def _glue_mistakes(table, p, height, width):
    n, _, size = table.shape
    c = size // (p * p)
    by_columns = table.reshape(n, width // p, height // p, p, p, c).transpose(0, 2, 1, 3, 4, 5)
    return [(maybe(lambda: table.reshape(n, height, width, c)), GLUE_STRIPS),
            (maybe(lambda: by_columns.transpose(0, 1, 3, 2, 4, 5).reshape(n, height, width, c)),
             GLUE_COLUMN_ORDER)]


def _pictures(title, n, height, width, c):
    """Pictures whose pixels are all different, so that every misplaced number shows."""
    order = rng_for(title).permutation(n * height * width * c)
    return order.reshape(n, height, width, c).astype(np.float32)


def _expect_cut(module, title, n, height, width, c, p):
    images = _pictures(title, n, height, width, c)
    got = call(module, "patchify", images.copy(), p, error_hint=PATCH_HINT)
    expect_close(f"patchify(images, {p})", got, expected_table(images, p), mistakes=_cut_mistakes(images, p),
                 hint=PATCH_HINT, shape_hint=Hint(f"the table has one row per block: (N, S, p*p*C) = "
                                                  f"({n}, {(height // p) * (width // p)}, {p * p * c})."))


@check("one 4×4 picture, one channel, 2×2 blocks")
def _small(module):
    _expect_cut(module, "patches small", 1, 4, 4, 1, 2)


@check("two 6×4 pictures with 3 channels, 2×2 blocks (not square, several channels)")
def _channels(module):
    _expect_cut(module, "patches channels", 2, 6, 4, 3, 2)


@check("blocks of one pixel, and one block as large as the picture")
def _extremes(module):
    _expect_cut(module, "patches one pixel", 2, 3, 5, 2, 1)
    _expect_cut(module, "patches whole", 2, 4, 4, 2, 4)


@check("unpatchify glues a table back into pictures")
def _glue(module):
    images = _pictures("patches glue", 2, 6, 8, 3)
    table = expected_table(images, 2)
    got = call(module, "unpatchify", table.copy(), 2, 6, 8,
               error_hint=Hint("unpatchify(table, p, height, width) undoes patchify step by step."))
    expect_close("unpatchify(table, 2, 6, 8)", got, images, mistakes=_glue_mistakes(table, 2, 6, 8),
                 hint=Hint("glue a table you cut yourself and compare it with the picture you started from.",
                           "images[n, r*p:(r+1)*p, c*p:(c+1)*p, :] = table[n, r*(W/p) + c].reshape(p, p, C)."))


@check("cut, then glue back: the 8×8 digits-sized pictures come back unchanged")
def _round_trip(module):
    images = _pictures("patches round trip", 5, 8, 8, 1)
    table = call(module, "patchify", images.copy(), 4, error_hint=PATCH_HINT)
    back = call(module, "unpatchify", table, 4, 8, 8)
    expect_close("unpatchify(patchify(images, 4), 4, 8, 8)", back, images,
                 hint=Hint("cutting and gluing only move numbers: every pixel must come back to its place.",
                           "unpatchify must undo exactly what patchify does, step by step in reverse."))


@check("refuses 3×3 blocks on an 8×8 picture (ValueError)")
def _refuses(module):
    images = _pictures("patches refuse", 1, 8, 8, 1)
    try:
        got = module.patchify(images, 3)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001
        raise Failure(f"patchify(images, 3) raised {type(error).__name__}: {error}",
                      Hint("raise a ValueError with a message saying what does not fit.",
                           "check `height % p` and `width % p` first: `raise ValueError(...)`.")) from None
    raise Failure(f"patchify(images, 3) returned {type(got).__name__} "
                  f"{getattr(got, 'shape', '')} instead of raising ValueError.", SILENT_CROP)


@check("uint8 pictures stay uint8; the input is left unchanged")
def _dtype(module):
    images = (_pictures("patches dtype", 2, 4, 4, 1) * 7 % 256).astype(np.uint8)
    before = images.copy()
    got = call(module, "patchify", images, 2, error_hint=PATCH_HINT)
    got = np.asarray(got)
    if got.dtype != np.uint8:
        raise Failure(f"patchify turned uint8 pictures into {got.dtype}.",
                      Hint("cutting only moves numbers: keep the input's dtype (np.empty(..., dtype=images.dtype)).",
                           "create the table with dtype=images.dtype, or use reshape/transpose, which keep it."))
    if not np.array_equal(images, before):
        raise Failure("patchify changed its input.", Hint("copy from the pictures; never write into them."))
