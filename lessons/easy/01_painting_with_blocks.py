# %% [markdown]
# # Easy 1 · Painting with tiny blocks
#
# Think of a mosaic: a picture made of small square tiles. Step back and you
# see a face or a boat; step close and every tile is just a little square of
# colour. A Mixer looks at pictures the same way. Before it does anything
# clever, it cuts the picture into equal square **blocks** (the books call them
# *patches*), and from then on it only ever works with that list of blocks.
#
# In this lesson we:
#
# 1. cut a real handwritten digit into blocks and look at them,
# 2. write each block down as a short row of numbers (a table with one row per block),
# 3. glue the blocks back together and check that *not a single pixel* changed,
# 4. shuffle the blocks to see that *where* a block sits matters as much as what is in it.
#
# Run it with `python lessons/easy/01_painting_with_blocks.py` (add `--quick`
# for a fast run). The pictures land in `lessons/output/easy/01_painting_with_blocks/`.

# %%
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import data, viz
from minimixer.nn import functional as F
from _common import parse_args, save, section

args = parse_args("Cut a digit into patches, look at them, and put it back together.")
mm.manual_seed(0)

# %% [markdown]
# ## A real digit
#
# minimixer ships with 1,797 tiny handwritten digits, each 8 pixels wide and 8
# pixels tall, split once and for all into 1,438 *training* digits and 359 *test*
# digits (lesson 3 says why). `data.load("digits")` gives the training split, so
# the count printed below is 1,438. Every pixel is one number: 0 is black, 255 is
# white. An image is stored as `(height, width, channels)`; grey pictures have one
# channel.

# %%
section("1. One handwritten digit")
digits = data.load("digits")
image = digits.images[0]                     # shape (8, 8, 1), numbers 0..255
test_count = len(data.load("digits", split="test").labels)
assert len(digits.images) + test_count == 1797, "the two splits together hold all 1,797 digits"
print(f"{len(digits.images)} training digits (+ {test_count} test digits = 1797); "
      f"this one is a {digits.labels[0]}")
print(f"its shape is {image.shape}: 8 rows, 8 columns, 1 channel (grey)")
print("the pixel numbers, row by row:")
print(image[..., 0])

# %% [markdown]
# ## Cutting it into blocks
#
# Let us use blocks of 2 × 2 pixels. An 8 × 8 picture then holds 4 × 4 = 16
# blocks, and each block holds 2 · 2 = 4 numbers. The figure shows the cuts
# on the left and the 16 blocks pulled apart on the right, read like a book:
# left to right, top to bottom.

# %%
section("2. Blocks of 2x2 pixels")
PATCH = 2
fig = viz.plot_patch_grid(image, PATCH)
save(fig, args, "digit_blocks")

# `patchify` does the cutting. It works on a whole stack of pictures at once,
# so we give it a stack of one: shape (1, 8, 8, 1).
stack = image[None].astype(np.float32)
blocks = F.patchify(stack, PATCH).numpy()     # (1, 4, 4, 4): a 4x4 grid of blocks, 4 numbers each
print(f"patchify turns shape {stack.shape} into {blocks.shape}:")
print("  a 4 x 4 grid of blocks, and 4 numbers inside each block")

# %% [markdown]
# ## The blocks as a table
#
# Line the 16 blocks up one under the other and you get a **table**: one row per
# block, one column per number inside the block. This table is what a Mixer
# really works on. (In the next lessons the columns will stop being raw pixels
# and become *features*, numbers the network learns to compute from each block;
# the rows will still be the blocks.)

# %%
section("3. The same blocks written as a table")
table = blocks.reshape(16, 4)
print("block | its 4 pixels (top-left, top-right, bottom-left, bottom-right)")
for number, row in enumerate(table):
    print(f"  {number:>3} | {' '.join(f'{v:5.0f}' for v in row)}")
print(f"table shape: {table.shape} = 16 blocks x 4 numbers")

# Block 5 sits in grid row 1, grid column 1: pixels rows 2-3, columns 2-3.
by_hand = image[2:4, 2:4, 0].reshape(4)
assert np.array_equal(table[5], by_hand), "row 5 of the table should be the pixels of block 5"
print("check: row 5 of the table is exactly the 2x2 square at rows 2-3, columns 2-3")

# %% [markdown]
# ## Putting the picture back together
#
# `unpatchify` glues the blocks back in their places. Cutting and gluing only
# *moves* numbers around, it never changes one, so the glued picture must equal
# the original exactly, pixel for pixel, with no rounding at all. We check this
# on every one of the training digits, not just on one.

# %%
section("4. Cut, then glue back: nothing may change")
all_images = digits.images.astype(np.float32)
glued = F.unpatchify(F.patchify(all_images, PATCH), PATCH, 1).numpy()
assert np.array_equal(glued, all_images), "cutting and gluing must give back the same pixels"
print(f"all {len(all_images)} training digits came back identical, pixel for pixel")

# %% [markdown]
# ## Does the order of the blocks matter?
#
# Shuffle the 16 blocks and glue them back in the wrong places. The pixels are
# all still there (the same numbers, just moved), yet the digit is gone. So a
# picture is not only *what* is in each block, it is also *where* each block
# sits. A Mixer needs one tool for each: one that looks **inside** a block,
# and one that **mixes between** blocks. That is the next lesson.

# %%
section("5. The same blocks in a shuffled order")
rng = np.random.default_rng(0)
order = rng.permutation(16)
shuffled_table = table[order]
shuffled_picture = F.unpatchify(shuffled_table.reshape(1, 4, 4, 4), PATCH, 1).numpy()[0]
same_numbers = np.array_equal(np.sort(shuffled_picture.ravel()), np.sort(image.ravel()))
assert same_numbers, "shuffling blocks only moves pixels around"
moved = int(np.sum(shuffled_picture != image))
print(f"the same 64 pixel values, yet {moved} of the 64 positions now hold a different value")

fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
for ax, picture, title in ((axes[0], image, "the blocks in order"),
                           (axes[1], shuffled_picture, "the same blocks, shuffled")):
    ax.imshow(picture[..., 0], cmap="gray", vmin=0, vmax=255)
    for k in range(1, 4):
        ax.axhline(k * PATCH - 0.5, color="gold", linewidth=1)
        ax.axvline(k * PATCH - 0.5, color="gold", linewidth=1)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, args, "shuffled_blocks")

# %% [markdown]
# ## Big blocks or small blocks?
#
# The block size is a choice. Tiny blocks (1 × 1, a single pixel each) give many
# rows with little in each; one giant block gives a single row holding the whole
# picture. Mixers sit in between. The blocks must tile the picture exactly, so
# for 8 × 8 the sizes 1, 2, 4 and 8 work and 3 does not.

# %%
section("6. Different block sizes")
sizes = [1, 2, 4, 8]
fig, axes = plt.subplots(1, len(sizes), figsize=(10, 2.9))
for ax, size in zip(axes, sizes):
    count = (8 // size) ** 2
    blocks_word = "block " if count == 1 else "blocks"
    print(f"block size {size}: {count:>2} {blocks_word} of {size}x{size} pixels")
    ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
    for k in range(1, 8 // size):
        ax.axhline(k * size - 0.5, color="gold", linewidth=1)
        ax.axvline(k * size - 0.5, color="gold", linewidth=1)
    ax.set_title(f"{size}x{size}: {count} {blocks_word.strip()}")
    ax.set_xticks([])
    ax.set_yticks([])
save(fig, args, "block_sizes")

try:
    F.patchify(stack, 3)
except ValueError as error:
    print(f"block size 3 is refused: {error}")
else:
    raise AssertionError("3x3 blocks cannot tile an 8x8 picture; patchify should refuse")

# %% [markdown]
# ## A bigger digit (if you have MNIST)
#
# MNIST digits are 28 × 28 pixels. If the MNIST files are on your computer (set
# the environment variable `MINIMIXER_DATA` to the folder holding them), we cut
# one into 7 × 7 blocks: a 4 × 4 grid of 16 blocks again, but now each block
# holds 49 numbers. Nothing is downloaded here; without the files this step is
# skipped.

# %%
section("7. A 28x28 MNIST digit")
try:
    mnist = data.load("mnist", split="test", download=False)
except data.DatasetNotFoundError:
    mnist = None
    print("MNIST not found (set MINIMIXER_DATA to use it); skipping this step")
if mnist is not None:
    big = mnist.images[0]
    fig = viz.plot_patch_grid(big, 7)
    save(fig, args, "mnist_blocks")
    big_stack = mnist.images[:1000].astype(np.float32)
    glued = F.unpatchify(F.patchify(big_stack, 7), 7, 1).numpy()
    assert np.array_equal(glued, big_stack)
    print(f"a {big.shape[0]}x{big.shape[1]} '{mnist.labels[0]}' cut into 16 blocks of 7x7 = 49 numbers;")
    print("1000 MNIST digits glued back identical")

# %% [markdown]
# ## What we saw
#
# * A Mixer starts by cutting a picture into equal square blocks (patches).
# * Written one under the other, the blocks form a table: a row per block.
# * Cutting and gluing back is exact: the numbers only move, none change.
# * *Where* a block sits matters: shuffled blocks no longer make a digit.
#
# ## Try this
#
# 1. Change `PATCH` to 4. How many rows does the table have now, and how many numbers per row?
# 2. Look at `digits.images[7]` instead of `digits.images[0]`: which blocks are all zeros?
# 3. Shuffle only two blocks (swap `order[0]` and `order[1]` in a sorted order). Can you still read the digit?
# 4. With MNIST available, try blocks of 4 × 4 pixels: how many blocks does a 28 × 28 digit give?
