# %% [markdown]
# # Hard 2 · One kernel, three ways: the depthwise convolution
#
# ConvMixer spends its time in two places: the pointwise 1×1 convolutions, which are
# plain matrix products handed to BLAS, and the depthwise k×k convolutions, which no
# BLAS call covers. This lesson writes the depthwise convolution three times:
#
# 1. **Python loops** — the formula, one multiply-add at a time. Obviously right, hopelessly slow.
# 2. **NumPy** (`minimixer.kernels.reference`) — k² whole-array operations, one per kernel tap.
# 3. **Numba** (`minimixer.kernels.fast`) — compiled loops, parallel over image rows,
#    vectorised over channels.
#
# We check that all three agree (they must: the NumPy version is the specification the
# Numba one is tested against) and time them on the layer sizes of the minimixer presets.
#
# The specification, for x ∈ ℝ^{N×H×W×C}, kernel w ∈ ℝ^{k×k×C}, bias b ∈ ℝ^C, stride 1,
# "same" zero padding with t = ⌊(k−1)/2⌋ rows/columns before and k−1−t after:
#
#     y[n, h, v, c] = b[c] + Σ_{i,j < k} x[n, h+i−t, v+j−t, c] · w[i, j, c]   (x = 0 outside)
#
# Run: `python lessons/hard/02_depthwise_three_ways.py [--quick] [--out DIR]`.
# Quick: a few seconds. Full: about 20 seconds on 2 cores (measured: 16–23 s, depending
# on what else runs; it times the MNIST- and CIFAR-10-sized layers too).
# Timings depend on the machine and on what else runs on it; none is asserted.

# %%
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import time

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer.kernels import fast, reference
from _common import parse_args, save, section

args = parse_args("The depthwise convolution as Python loops, NumPy and Numba: agreement and speed.")
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Python loops: the formula, literally
#
# Six nested loops, one multiply-add in the innermost. The `if` skips taps that land
# in the zero padding, so no padded copy is made. Count the work: N·H·W·C·k²
# multiply-adds, each one a trip through the Python interpreter (~50–100 ns).

# %%
section("1. Three implementations")


def depthwise_loops(x, w, b=None):
    """The specification, one multiply-add at a time (slow; for checking and teaching)."""
    n_images, height, width, channels = x.shape
    k = w.shape[0]
    top = (k - 1) // 2                      # zero rows above; the rest (k - 1 - top) go below
    y = np.zeros_like(x)
    for n in range(n_images):
        for h in range(height):
            for v in range(width):
                for c in range(channels):
                    total = 0.0 if b is None else float(b[c])
                    for i in range(k):
                        for j in range(k):
                            row, col = h + i - top, v + j - top
                            if 0 <= row < height and 0 <= col < width:
                                total += x[n, row, col, c] * w[i, j, c]
                    y[n, h, v, c] = total
    return y


# %% [markdown]
# ## 2. NumPy: one whole-array operation per tap
#
# `reference.depthwise_conv2d_forward` pads the input once and then, for each of the k²
# taps (i, j), adds the padded input shifted by (i, j) and multiplied by w[i, j] (a
# C-vector, broadcast over N, H, W). The interpreter now runs only k² iterations, and
# each does N·H·W·C multiply-adds in compiled NumPy code. The price is memory traffic:
# every tap reads a shifted window of the input, writes the product to a temporary
# array and adds that into the whole output, so the data streams through memory
# several times per tap, k² taps in all.
#
# ## 3. Numba: one pass, parallel rows, vectorised channels
#
# `fast.depthwise_conv2d_forward` compiles loops close to version 1 but ordered for
# the hardware. `prange` runs over output rows (n, h) in parallel — each row of y is
# written by exactly one thread, so there is no race. For each output pixel it clips
# the tap ranges at the border (no padded copy) and accumulates the k² taps into that
# pixel's C-vector, whose elements are contiguous in memory (channels-last), so the
# innermost loop over channels becomes SIMD instructions. Each output is written once.
#
# For kernels of 5×5 and larger (the MNIST and CIFAR-10 presets) `fast.py` goes one
# step further. The loop just described loads the output vector, an input vector and
# a weight vector, and stores the output again, for every single multiply-add: the
# arithmetic units spend most of their time waiting for loads and stores. The
# *register-blocked* kernel computes four neighbouring output pixels of a row at once
# and keeps their four running sums in registers while the k taps of a kernel row go
# by, so each weight vector is read once for four pixels and each input vector once
# for up to four outputs. The compiler can keep those sums in registers only if it
# knows how many taps there are, so k is made a constant: there is one small compiled
# entry point per kernel size. The same blocking computes the weight gradient, and
# the input gradient is the forward convolution with the kernel turned by 180°. For
# the digits' 3×3 kernel the simple loop is kept: with three taps per row there is
# little to reuse, and measured, the blocked version was no faster.

# %%
print("loops:  depthwise_loops (this file)")
print("NumPy:  minimixer.kernels.reference.depthwise_conv2d_forward")
print("Numba:  minimixer.kernels.fast.depthwise_conv2d_forward"
      f"  ({mm.get_num_threads()} threads)")

# %% [markdown]
# ## 4. They agree
#
# Small random cases, chosen to hit the corners of the specification: odd and even k
# (for even k the extra padding goes bottom/right), a non-square image, a kernel wider
# than the image, a batch of one, no bias. Float32 sums in different orders differ in
# the last bits, hence a tolerance rather than equality.

# %%
section("2. Agreement on odd, even and oversized kernels")
# The first call of a Numba kernel in a process loads its machine code from the disk
# cache, or compiles it when there is none (a second or so): time it on its own.
start = time.perf_counter()
fast.depthwise_conv2d_forward(np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 2), np.float32))
print(f"first Numba call (load from cache or compile): {time.perf_counter() - start:.3f} s")
CASES = [  # (N, H, W, C, k, bias)
    (2, 5, 5, 3, 3, True),
    (1, 6, 7, 4, 2, True),
    (2, 5, 4, 3, 4, False),
    (1, 3, 3, 2, 5, True),
    (1, 6, 6, 1, 1, True),
]
for n, h, v, c, k, with_bias in CASES:
    x = rng.standard_normal((n, h, v, c)).astype(np.float32)
    w = rng.standard_normal((k, k, c)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32) if with_bias else None
    by_loops = depthwise_loops(x, w, b)
    by_numpy = reference.depthwise_conv2d_forward(x, w, b)
    by_numba = fast.depthwise_conv2d_forward(x, w, b)
    worst = max(np.abs(by_loops - by_numpy).max(), np.abs(by_numba - by_numpy).max())
    print(f"x {str((n, h, v, c)):<14} k={k} bias={str(with_bias):<5}  largest difference {worst:.1e}")
    assert by_numpy.dtype == by_numba.dtype == np.float32
    assert np.allclose(by_loops, by_numpy, atol=1e-5) and np.allclose(by_numba, by_numpy, atol=1e-5)

# The backward pass has the same two implementations; they agree as well.
x = rng.standard_normal((2, 7, 6, 5)).astype(np.float32)
w = rng.standard_normal((4, 4, 5)).astype(np.float32)
grad_y = rng.standard_normal(x.shape).astype(np.float32)
for got, want, name in zip(fast.depthwise_conv2d_backward(x, w, grad_y),
                           reference.depthwise_conv2d_backward(x, w, grad_y), ["grad_x", "grad_w", "grad_b"]):
    assert np.allclose(got, want, atol=1e-4), name
print("backward (grad_x, grad_w, grad_b): Numba agrees with NumPy")

# %% [markdown]
# ## 5. Timing
#
# Each measurement is the best of a few repeats (the minimum is the least disturbed
# by other programs). The loops run only on the smallest size: at the preset sizes they would take minutes.
# The layer sizes are one depthwise layer of each ConvMixer preset, at a training
# batch size: digits (64 images, 8×8 grid, 64 channels, k 3), MNIST (128, 14×14, 128,
# k 7) and CIFAR-10 (128, 16×16, 256, k 5).

# %%
section("3. Timing")


def best_of(fn, repeats):
    """Shortest wall-clock time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


SIZES = {  # label: (N, H, W, C, k)
    "tiny (loops too)": (1, 8, 8, 8, 3) if args.quick else (2, 14, 14, 16, 7),
    "digits layer": (64, 8, 8, 64, 3),
    "MNIST layer": (32 if args.quick else 128, 14, 14, 128, 7),
}
if not args.quick:
    SIZES["CIFAR-10 layer"] = (128, 16, 16, 256, 5)
repeats = 5 if args.quick else 10

rows = []
for label, (n, h, v, c, k) in SIZES.items():
    x = rng.standard_normal((n, h, v, c)).astype(np.float32)
    w = rng.standard_normal((k, k, c)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    flops = 2 * n * h * v * c * k * k
    row = {"label": label, "shape": (n, h, v, c, k), "gflop": flops / 1e9}
    if label.startswith("tiny"):
        row["loops"] = best_of(lambda: depthwise_loops(x, w, b), 1)
    row["numpy"] = best_of(lambda: reference.depthwise_conv2d_forward(x, w, b), repeats)
    row["numba"] = best_of(lambda: fast.depthwise_conv2d_forward(x, w, b), repeats)
    row["numpy_bwd"] = best_of(lambda: reference.depthwise_conv2d_backward(x, w, g), repeats)
    row["numba_bwd"] = best_of(lambda: fast.depthwise_conv2d_backward(x, w, g), repeats)
    rows.append(row)


def ms(seconds):
    return f"{seconds * 1e3:10.2f}" if seconds is not None else f"{'-':>10}"


def ratio(slow, quick):
    """NumPy time / Numba time, printed as a speed-up factor."""
    return f"{slow / quick:>9.2f}x"


print(f"\n{'layer':<18}{'(N, H, W, C, k)':<24}{'loops ms':>10}{'NumPy ms':>10}{'Numba ms':>10}"
      f"{'speed-up':>10}{'Numba GFLOP/s':>15}")
for r in rows:
    print(f"{r['label']:<18}{str(r['shape']):<24}{ms(r.get('loops'))}{ms(r['numpy'])}{ms(r['numba'])}"
          f"{ratio(r['numpy'], r['numba'])}{r['gflop'] / r['numba']:>15.2f}")
print(f"\nbackward pass (grad_x, grad_w, grad_b):")
print(f"{'layer':<18}{'NumPy ms':>10}{'Numba ms':>10}{'speed-up':>10}")
for r in rows:
    print(f"{r['label']:<18}{ms(r['numpy_bwd'])}{ms(r['numba_bwd'])}{ratio(r['numpy_bwd'], r['numba_bwd'])}")
tiny = rows[0]
print(f"\nat the tiny size, NumPy is {tiny['loops'] / tiny['numpy']:,.1f}x faster than the loops, "
      f"Numba {tiny['loops'] / tiny['numba']:,.1f}x")

# %% [markdown]
# Read the table with the machine in mind. Every call has a fixed cost — argument
# checks, allocating the output and, for Numba, waking the worker threads of the
# parallel loop. That is microseconds on an idle machine but can reach milliseconds
# when other programs keep the cores busy, and then NumPy wins at small sizes. The
# larger the layer, the more the one-pass Numba kernel pulls ahead, and the backward
# pass (two convolution-like passes plus a reduction) gains the most.
#
# Threads: Numba's `prange` splits the rows among `mm.get_num_threads()` threads. On
# a machine shared with other work, two threads rarely give a full 2×; on a busy one
# they can even be slower than one, because a thread that waits for a core stalls
# the whole parallel loop. NumPy's matrix products have a thread pool of their own
# (BLAS); when both pools want the same two cores, small matrix products can become
# 10-100x slower. The training lessons (3-5) therefore run BLAS on one thread.

# %%
largest = rows[-1]
n, h, v, c, k = largest["shape"]
x = rng.standard_normal((n, h, v, c)).astype(np.float32)
w = rng.standard_normal((k, k, c)).astype(np.float32)
threads_before = mm.get_num_threads()
by_threads = {}
for threads in sorted({1, threads_before}):
    mm.set_num_threads(threads)
    by_threads[threads] = best_of(lambda: fast.depthwise_conv2d_forward(x, w), repeats)
mm.set_num_threads(threads_before)
for threads, seconds in by_threads.items():
    print(f"{largest['label']}, Numba forward with {threads} thread(s): {seconds * 1e3:.2f} ms")

# %%
fig, (ax_fwd, ax_bwd) = plt.subplots(1, 2, figsize=(11, 4))
labels = [r["label"] for r in rows]
positions = np.arange(len(rows))
for ax, suffix, title in [(ax_fwd, "", "forward"), (ax_bwd, "_bwd", "backward")]:
    impls = [("loops", "Python loops", "tab:grey"), ("numpy", "NumPy reference", "tab:blue"),
             ("numba", "Numba", "tab:orange")]
    if suffix:
        impls = impls[1:]
    width = 0.8 / len(impls)
    for offset, (key, name, colour) in enumerate(impls):
        values = [r.get(key + suffix) for r in rows]
        heights = [v * 1e3 if v is not None else np.nan for v in values]
        ax.bar(positions + (offset - (len(impls) - 1) / 2) * width, heights, width, label=name, color=colour)
    ax.set_xticks(positions, labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds (log scale)")
    ax.set_title(f"depthwise conv, {title}")
    ax.legend(fontsize=8)
save(fig, args, "depthwise_timings")

# %% [markdown]
# ## Try this
#
# 1. Time `reference` with a float64 input: how much of NumPy's time is memory traffic?
#    (float64 doubles the bytes but not the number of multiply-adds.)
# 2. Rewrite `depthwise_loops` with the channel loop innermost vectorised as a NumPy
#    slice (`x[n, row, col, :] * w[i, j, :]`). How close do you get to the reference?
# 3. Swap the layout: store x as (N, C, H, W) (channels first) and time
#    `reference.depthwise_conv2d_forward` after `np.moveaxis`. Which layout suits
#    which implementation, and why does minimixer pick channels-last?
# 4. Run with `NUMBA_DISABLE_JIT=1`: the Numba kernel runs as plain Python. The
#    agreement checks still pass — and you see why the timing table needs compiling.
# 5. The depthwise conv does 2k² FLOPs per output value, the pointwise conv 2C. For the
#    MNIST preset (k 7, C 128), which of the two dominates the FLOPs, and which the time?
