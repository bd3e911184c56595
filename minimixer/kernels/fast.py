"""Fast kernels in Numba: the same functions and signatures as ``reference.py``.

Each public function is a thin Python wrapper that checks arguments (with the
checks of ``_checks.py``, shared with the reference), makes the inputs contiguous
float arrays (float32 unless the input is already float64; the output dtype
equals the input dtype), allocates the outputs and calls a module-level
``@njit`` kernel.

Rules the kernels follow (see the docstrings for which loop is parallel):

* ``prange`` only runs over independent outputs: every iteration writes its
  own rows of the result. Sums across rows (weight and bias gradients, batch
  statistics) go into a per-chunk partial array indexed by the prange
  variable and are added up after the parallel loop, so there are no races.
  The chunk count does not depend on the thread count (up to 16 threads), so
  results are reproducible.
* Nothing is allocated inside a prange body, except the per-chunk scratch images
  of the blocked depthwise kernels (see there why they must be fresh arrays).
* Small jobs run on the calling thread only (``_launch``): waking the worker
  threads would take longer than the job.
* The inner loop runs over the contiguous channel axis, so LLVM vectorises it.
* ``fastmath`` is only switched on for the small row-sum helpers (so LLVM
  may reorder the additions and vectorise them), never for a whole kernel.
* Constants are made in the array dtype (``x.dtype.type(...)``): a bare
  Python float in Numba is float64 and would silently upcast float32 math.

The first call of each kernel compiles it (about a second each); compiled
code is cached on disk (``cache=True``; NUMBA_CACHE_DIR chooses where).
"""

import math

import numpy as np
from numba import get_num_threads, njit, prange, set_num_threads

from ._checks import (
    check_approximate,
    check_bias_gelu,
    check_cols_shape,
    check_depthwise_shapes,
    check_labels,
    check_patch_length,
    check_patch_size,
    check_reduction,
)
from ._float32_math import exp_in_dtype, normal_cdf_and_gaussian
from .reference import (
    depthwise_padding,
    reduce_rows,
    row_weights,
    same_padding,
    window_output_shape,
)

# --------------------------------------------------------------------------
# Wrapper helpers (plain Python)
# --------------------------------------------------------------------------


def _float_dtype(x):
    """float64 stays float64, everything else computes in float32."""
    return np.dtype(np.float64) if np.asarray(x).dtype == np.float64 else np.dtype(np.float32)


def _contiguous(x, dtype=None):
    """C-contiguous copy of x in ``dtype`` (no copy if it already is one).

    `np.require` keeps a 0-d array 0-d, where `np.ascontiguousarray` would make it 1-d.
    Most arrays already are what the kernel needs; they skip `np.require`'s checks.
    """
    if type(x) is np.ndarray and x.flags.c_contiguous:
        if dtype is None and x.dtype.type in (np.float32, np.float64):
            return x
        if dtype is not None and x.dtype == dtype:
            return x
    return np.require(x, dtype=dtype if dtype is not None else _float_dtype(x), requirements="C")


_MIN_CHUNKS = 16


def _num_chunks(rows):
    """How many row chunks a reduction is split into (see the module docstring)."""
    return max(1, min(rows, max(_MIN_CHUNKS, get_num_threads())))


# Waking the worker threads costs tens of microseconds (much more on a busy
# machine), which is more than a small job takes on one thread. The threshold was
# chosen by timing the digits and MNIST presets' training steps and inference with
# 2 threads at 2^15, 2^17, 2^19 and 2^21: 2^17 was best or within 3 % of the best
# for all of them (at 2^15, the digits MLP-Mixer's step took 6 % longer).
_PARALLEL_MIN_WORK = 1 << 17


def _launch(kernel, work, *args):
    """Call a parallel kernel; jobs under _PARALLEL_MIN_WORK element-operations run
    on the calling thread alone (a prange with one thread is a plain loop)."""
    threads = get_num_threads()
    if work >= _PARALLEL_MIN_WORK or threads == 1:
        return kernel(*args)
    set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        set_num_threads(threads)


# --------------------------------------------------------------------------
# Inner helpers (serial, vectorised over the contiguous last axis)
# --------------------------------------------------------------------------


# The two helpers below run once per pixel and kernel tap, on a few hundred
# channels: a real function call would cost as much as the work, so Numba
# inlines them into the calling kernel (inline="always").


@njit(inline="always")
def _multiply_add(acc, a, b):
    """acc += a * b, elementwise over one channel vector."""
    for c in range(acc.shape[0]):
        acc[c] += a[c] * b[c]


@njit(inline="always")
def _add(acc, a):
    """acc += a over one channel vector."""
    for c in range(acc.shape[0]):
        acc[c] += a[c]


@njit(cache=True, fastmath={"reassoc", "contract"})
def _row_sum(a):
    """sum(a) of one row; reassociation lets LLVM use several SIMD accumulators."""
    total = a.dtype.type(0)
    for c in range(a.shape[0]):
        total += a[c]
    return total


@njit(cache=True, fastmath={"reassoc", "contract"})
def _row_centred_square_sum(a, mean):
    """sum((a - mean)^2) of one row."""
    total = a.dtype.type(0)
    for c in range(a.shape[0]):
        d = a[c] - mean
        total += d * d
    return total


@njit(cache=True, fastmath={"reassoc", "contract"})
def _row_dot(a, b):
    """sum(a * b) of two rows."""
    total = a.dtype.type(0)
    for c in range(a.shape[0]):
        total += a[c] * b[c]
    return total


@njit(cache=True, fastmath={"reassoc", "contract"})
def _row_dot3(a, b, c):
    """sum(a * b * c) of three rows."""
    total = a.dtype.type(0)
    for i in range(a.shape[0]):
        total += a[i] * b[i] * c[i]
    return total


# --------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _patchify_kernel(x, p, out):
    """prange over (image, patch row): each writes its own out[n, r].

    The loops walk each image row from left to right (q, j), so the reads
    are sequential.
    """
    n_img, height, width, channels = x.shape
    rows = height // p
    cols = width // p
    for task in prange(n_img * rows):
        n = task // rows
        r = task % rows
        for i in range(p):
            for q in range(cols):
                for j in range(p):
                    start = (i * p + j) * channels
                    for c in range(channels):
                        out[n, r, q, start + c] = x[n, r * p + i, q * p + j, c]


@njit(parallel=True, cache=True)
def _unpatchify_kernel(patches, p, out):
    """prange over (image, patch row): each writes its own p image rows,
    each row from left to right."""
    n_img, rows, cols, _ = patches.shape
    channels = out.shape[3]
    for task in prange(n_img * rows):
        n = task // rows
        r = task % rows
        for i in range(p):
            for q in range(cols):
                for j in range(p):
                    start = (i * p + j) * channels
                    for c in range(channels):
                        out[n, r * p + i, q * p + j, c] = patches[n, r, q, start + c]


def patchify(x, p):
    """(N, H, W, C) -> (N, H/p, W/p, p*p*C), patch vector ordered (row, col, channel)."""
    x = _contiguous(x, np.asarray(x).dtype)
    n, height, width, channels = x.shape
    check_patch_size(height, width, p)
    out = np.empty((n, height // p, width // p, p * p * channels), dtype=x.dtype)
    _launch(_patchify_kernel, x.size, x, p, out)
    return out


def unpatchify(patches, p, channels):
    """Inverse of ``patchify``: (N, H/p, W/p, p*p*C) -> (N, H, W, C)."""
    patches = _contiguous(patches, np.asarray(patches).dtype)
    n, rows, cols, size = patches.shape
    check_patch_length(size, p, channels)
    out = np.empty((n, rows * p, cols * p, channels), dtype=patches.dtype)
    _launch(_unpatchify_kernel, patches.size, patches, p, out)
    return out


# --------------------------------------------------------------------------
# Depthwise convolution (stride 1, "same" padding, cross-correlation)
# --------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _depthwise_forward_kernel(x, w, b, y):
    """y[n,h,col,:] = b + sum over valid taps of x[n, h+i-top, col+j-top, :] * w[i,j,:].

    prange over output rows (n, h): each iteration writes only y[n, h], so
    rows are independent. Taps that fall in the zero padding are skipped by
    clipping the i and j ranges instead of padding the input.
    """
    n_img, height = x.shape[0], x.shape[1]
    for row in prange(n_img * height):
        _depthwise_row(x, w, b, row // height, row % height, y)


@njit(inline="always")
def _depthwise_row(x, w, b, n, h, out):
    """out[n, h] = b + the depthwise sums along one output row."""
    for col in range(x.shape[2]):
        _depthwise_pixel(x, w, b, n, h, col, out[n, h, col])


@njit(inline="always")
def _depthwise_pixel(x, w, b, n, h, col, out):
    """out[:] = b + the depthwise sum at pixel (n, h, col), all channels at once."""
    height, width = x.shape[1], x.shape[2]
    k = w.shape[0]
    top = (k - 1) // 2
    out[:] = b
    for i in range(max(0, top - h), min(k, height + top - h)):
        for j in range(max(0, top - col), min(k, width + top - col)):
            _multiply_add(out, x[n, h + i - top, col + j - top], w[i, j])


@njit(parallel=True, cache=True)
def _depthwise_grad_input_kernel(grad_out, w, grad_x):
    """grad_x[n,h,col,:] = sum over taps of grad_out[n, h-i+top, col-j+top, :] * w[i,j,:].

    The forward pass read x[h'] for outputs h = h' - i + top, so the input
    gradient is a correlation of grad_out with the flipped kernel. prange over
    input rows (n, h): each iteration writes only grad_x[n, h].
    """
    n_img, height, width, _ = grad_out.shape
    k = w.shape[0]
    top = (k - 1) // 2
    for row in prange(n_img * height):
        n = row // height
        h = row % height
        i_lo = max(0, h + top - height + 1)
        i_hi = min(k, h + top + 1)
        for col in range(width):
            out = grad_x[n, h, col]
            out[:] = 0
            j_lo = max(0, col + top - width + 1)
            j_hi = min(k, col + top + 1)
            for i in range(i_lo, i_hi):
                for j in range(j_lo, j_hi):
                    _multiply_add(out, grad_out[n, h - i + top, col - j + top], w[i, j])


@njit(parallel=True, cache=True)
def _depthwise_grad_weight_kernel(x, grad_out, partial_w, partial_b):
    """Per-chunk partial sums of grad_w[i,j,:] = sum x[n, h+i-top, col+j-top, :] * grad_out[n,h,col,:].

    Every output pixel adds to every weight, so the weight gradient is a sum
    over all rows. prange over chunks of output rows: chunk t accumulates only
    into partial_w[t] and partial_b[t]; the caller adds the chunks up.
    """
    n_img, height, width, _ = x.shape
    k = partial_w.shape[1]
    top = (k - 1) // 2
    rows = n_img * height
    n_chunks = partial_w.shape[0]
    for t in prange(n_chunks):
        acc_w = partial_w[t]
        acc_b = partial_b[t]
        for row in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            n = row // height
            h = row % height
            i_lo = max(0, top - h)
            i_hi = min(k, height + top - h)
            for col in range(width):
                gy = grad_out[n, h, col]
                _add(acc_b, gy)
                j_lo = max(0, top - col)
                j_hi = min(k, width + top - col)
                for i in range(i_lo, i_hi):
                    for j in range(j_lo, j_hi):
                        _multiply_add(acc_w[i, j], x[n, h + i - top, col + j - top], gy)


# The kernels above load the output vector, an input vector and a weight vector and
# store the output again for every multiply-add, so they run at a fraction of what
# the FMA units can do. The blocked kernels below keep the sums of four
# neighbouring output pixels in registers while the k taps of a kernel row go by:
# each weight vector is loaded once for four pixels and each input vector once for
# up to four outputs. They need k to be a compile-time constant (so that LLVM
# unrolls the tap loop and vectorises the channel loop underneath it): one small
# entry point per kernel size in _BLOCKED_SIZES calls the shared code with its k.
# Input images are copied one at a time into a scratch image with k//2 zero
# columns on each side, so no tap needs a bounds check along a row.
# Two details decide whether LLVM vectorises these loops, so keep them: the scratch
# images are allocated inside the prange body (a fresh array cannot overlap the
# output, which spares LLVM the overlap checks that make it give up), and the pixel
# offset is written ``col + 1 + j``, not ``col + j + 1`` (measured: the second form
# leaves the weight-gradient loop scalar and three times slower).
# Measured with 2 threads on a 2-core AVX-512 machine, float32, 128 images: for
# 14x14x128 maps and k=7 the forward pass went from 6.1 to 4.9 ms and the backward
# pass from 16.0 to 12.2 ms; for 16x16x256 and k=5 from 12.2 to 6.6 and from 24.8
# to 15.7 ms.


# k=3 is left to the simple kernels: with only three taps per row there is little
# to reuse, and on the digits' 8x8x64 maps the blocked kernels were no faster while
# their compilation added seven seconds to the first run.
_BLOCKED_SIZES = (5, 7, 9)


@njit(inline="always")
def _depthwise_block_of_four(padded, w, b, h, col, out, k):
    """out[h, col:col+4] = b + the depthwise sums of four pixels of one output row.

    padded is the input image with (k-1)//2 zero columns on both sides, so pixel
    col + j of a padded row is tap j of output col. Rows outside the image are
    skipped by clipping i.
    """
    top = (k - 1) // 2
    o0 = out[h, col]
    o1 = out[h, col + 1]
    o2 = out[h, col + 2]
    o3 = out[h, col + 3]
    o0[:] = b
    o1[:] = b
    o2[:] = b
    o3[:] = b
    for i in range(max(0, top - h), min(k, padded.shape[0] + top - h)):
        row = padded[h + i - top]
        w_row = w[i]
        for c in range(out.shape[2]):
            a0 = o0[c]
            a1 = o1[c]
            a2 = o2[c]
            a3 = o3[c]
            for j in range(k):
                tap = w_row[j, c]
                a0 += row[col + j, c] * tap
                a1 += row[col + 1 + j, c] * tap
                a2 += row[col + 2 + j, c] * tap
                a3 += row[col + 3 + j, c] * tap
            o0[c] = a0
            o1[c] = a1
            o2[c] = a2
            o3[c] = a3


@njit(inline="always")
def _residual_gelu_affine_row(x_row, out_row, scale, shift):
    """out_row = x_row + GELU(out_row) * scale + shift, over one (W, C) row.

    A loop of its own (the row is still in cache): inside the tap loops LLVM would
    not vectorise the erf.
    """
    for col in range(out_row.shape[0]):
        for c in range(out_row.shape[1]):
            v = out_row[col, c]
            cdf, _ = normal_cdf_and_gaussian(v)
            out_row[col, c] = x_row[col, c] + v * cdf * scale[c] + shift[c]


@njit(inline="always")
def _depthwise_images_blocked(x, w, b, chunks, y, k, fused, scale, shift):
    """y = depthwise(x, w) + b, or with fused=True x + GELU(that) * scale + shift.

    prange over chunks of images; each chunk copies its images one at a time into
    its own scratch image, whose border columns stay zero. Each output row is covered by blocks
    of four pixels; when the width is not a multiple of four the last block
    overlaps the one before it and writes a few pixels twice, with the same values.
    """
    n_img, height, width = x.shape[0], x.shape[1], x.shape[2]
    top = (k - 1) // 2
    for t in prange(chunks):
        image = np.zeros((height, width + k - 1, x.shape[3]), x.dtype)
        for n in range(t * n_img // chunks, (t + 1) * n_img // chunks):
            image[:, top:top + width] = x[n]
            for h in range(height):
                for start in range(0, width, 4):
                    _depthwise_block_of_four(image, w, b, h, min(start, width - 4), y[n], k)
                if fused:
                    _residual_gelu_affine_row(x[n, h], y[n, h], scale, shift)


@njit(inline="always")
def _depthwise_grad_weight_block_of_four(padded, grad_padded, h, col, acc_w, acc_b, k):
    """Add four output pixels' share to acc_w[i, j, :] and acc_b[:].

    grad_padded is grad_out with zero columns up to a multiple of four, so a block
    never needs to stop early; the four output gradients stay in registers while
    every tap of a kernel row is updated.
    """
    top = (k - 1) // 2
    g0 = grad_padded[h, col]
    g1 = grad_padded[h, col + 1]
    g2 = grad_padded[h, col + 2]
    g3 = grad_padded[h, col + 3]
    for c in range(acc_b.shape[0]):
        acc_b[c] += (g0[c] + g1[c]) + (g2[c] + g3[c])
    for i in range(max(0, top - h), min(k, padded.shape[0] + top - h)):
        row = padded[h + i - top]
        acc_row = acc_w[i]
        for c in range(grad_padded.shape[2]):
            d0 = g0[c]
            d1 = g1[c]
            d2 = g2[c]
            d3 = g3[c]
            for j in range(k):
                acc_row[j, c] += (row[col + j, c] * d0 + row[col + 1 + j, c] * d1
                                  + row[col + 2 + j, c] * d2 + row[col + 3 + j, c] * d3)


@njit(inline="always")
def _depthwise_grad_weight_blocked(x, grad_out, partial_w, partial_b, k):
    """Per-chunk partial sums of the weight and bias gradients (chunks of images).

    prange over chunks t: chunk t adds only into partial_w[t] and partial_b[t] and
    works in its own scratch images: `image` (x, zero columns on both sides) and
    `grad_image` (grad_out, zero columns on the right up to a multiple of four).
    """
    n_img, height, width = x.shape[0], x.shape[1], x.shape[2]
    top = (k - 1) // 2
    chunks = partial_w.shape[0]
    padded_width = -(-width // 4) * 4
    for t in prange(chunks):
        image = np.zeros((height, padded_width + k - 1, x.shape[3]), x.dtype)
        grad_image = np.zeros((height, padded_width, x.shape[3]), x.dtype)
        acc_w, acc_b = partial_w[t], partial_b[t]
        for n in range(t * n_img // chunks, (t + 1) * n_img // chunks):
            image[:, top:top + width] = x[n]
            grad_image[:, :width] = grad_out[n]
            for h in range(height):
                for col in range(0, padded_width, 4):
                    _depthwise_grad_weight_block_of_four(image, grad_image, h, col, acc_w, acc_b, k)


# One compiled entry point per kernel size: the constant k is what lets LLVM unroll.


@njit(parallel=True, cache=True)
def _depthwise_images_k5(x, w, b, chunks, y, fused, scale, shift):
    _depthwise_images_blocked(x, w, b, chunks, y, 5, fused, scale, shift)


@njit(parallel=True, cache=True)
def _depthwise_images_k7(x, w, b, chunks, y, fused, scale, shift):
    _depthwise_images_blocked(x, w, b, chunks, y, 7, fused, scale, shift)


@njit(parallel=True, cache=True)
def _depthwise_images_k9(x, w, b, chunks, y, fused, scale, shift):
    _depthwise_images_blocked(x, w, b, chunks, y, 9, fused, scale, shift)


@njit(parallel=True, cache=True)
def _depthwise_grad_weight_k5(x, grad_out, partial_w, partial_b):
    _depthwise_grad_weight_blocked(x, grad_out, partial_w, partial_b, 5)


@njit(parallel=True, cache=True)
def _depthwise_grad_weight_k7(x, grad_out, partial_w, partial_b):
    _depthwise_grad_weight_blocked(x, grad_out, partial_w, partial_b, 7)


@njit(parallel=True, cache=True)
def _depthwise_grad_weight_k9(x, grad_out, partial_w, partial_b):
    _depthwise_grad_weight_blocked(x, grad_out, partial_w, partial_b, 9)


_BLOCKED_IMAGES = dict(zip(_BLOCKED_SIZES, (_depthwise_images_k5, _depthwise_images_k7,
                                           _depthwise_images_k9)))
_BLOCKED_GRAD_WEIGHT = dict(zip(_BLOCKED_SIZES, (_depthwise_grad_weight_k5, _depthwise_grad_weight_k7,
                                                 _depthwise_grad_weight_k9)))


def _use_blocked(x, k):
    """The blocked kernels cover float32 maps at least four pixels wide and odd k in
    _BLOCKED_SIZES; everything else (float64 gradient checks included) takes the
    simple kernels, which also compile faster."""
    return x.dtype == np.float32 and k in _BLOCKED_SIZES and x.shape[2] >= 4


def _image_chunks(x):
    return _num_chunks(x.shape[0])


def _depthwise_blocked(x, w, b, fused=False, scale=None, shift=None):
    """Run the blocked forward (or fused inference) kernel for kernel size w.shape[0]."""
    k = w.shape[0]
    out = np.empty_like(x)
    scale = b if scale is None else scale
    shift = b if shift is None else shift
    _launch(_BLOCKED_IMAGES[k], x.size * k * k, x, w, b, _image_chunks(x), out, fused, scale, shift)
    return out


def _depthwise_grad_weight_blocked_sums(x, grad_out, k):
    """(partial_w, partial_b) from the blocked weight-gradient kernel."""
    channels = x.shape[3]
    chunks = _image_chunks(x)
    partial_w = np.zeros((chunks, k, k, channels), x.dtype)
    partial_b = np.zeros((chunks, channels), x.dtype)
    _launch(_BLOCKED_GRAD_WEIGHT[k], x.size * k * k, x, grad_out, partial_w, partial_b)
    return partial_w, partial_b


def depthwise_conv2d_forward(x, w, b=None, padding="same"):
    """x (N,H,W,C), w (k,k,C), b (C,) or None -> y; "same" or (before, after) padding.

    See reference.py. The Numba kernel computes "same" padding; other padding
    goes through ``_depthwise_explicit_padding``.
    """
    x = _contiguous(x)
    w = _contiguous(w, x.dtype)
    b = np.zeros(x.shape[-1], x.dtype) if b is None else _contiguous(b, x.dtype)
    check_depthwise_shapes(x, w, b)
    pads = depthwise_padding(w.shape[0], padding)
    if pads != same_padding(w.shape[0]):
        return _depthwise_explicit_padding(x, w, b, *pads)
    if _use_blocked(x, w.shape[0]):
        return _depthwise_blocked(x, w, b)
    y = np.empty_like(x)
    _launch(_depthwise_forward_kernel, x.size * w.shape[0] ** 2, x, w, b, y)
    return y


def _depthwise_explicit_padding(x, w, b, before, after):
    """The conv of x padded by (before, after), as the centre of a "same" conv.

    With xp = x zero-padded by (before, after), the "same" output at row h + top
    (top = (k-1)//2) sums xp[h .. h+k-1], exactly the padded conv's row h; the
    crop keeps those rows and columns.
    """
    k = w.shape[0]
    xp = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    height, width = xp.shape[1] - k + 1, xp.shape[2] - k + 1
    if height < 1 or width < 1:
        raise ValueError(f"depthwise_conv2d: a {k}x{k} kernel does not fit the {x.shape[1]}x{x.shape[2]} "
                         f"input padded by {(before, after)!r}")
    top = (k - 1) // 2
    same = depthwise_conv2d_forward(xp, w, b)
    return np.ascontiguousarray(same[:, top:top + height, top:top + width, :])


def depthwise_conv2d_backward(x, w, grad_out, need_bias=True):
    """-> (grad_x, grad_w, grad_b or None); see reference.py."""
    x = _contiguous(x)
    w = _contiguous(w, x.dtype)
    grad_out = _contiguous(grad_out, x.dtype)
    check_depthwise_shapes(x, w, None)
    k = w.shape[0]
    if _use_blocked(x, k):
        # For odd k the padding is symmetric, so the input gradient is the forward
        # conv of grad_out with the kernel turned by 180 degrees.
        flipped = np.ascontiguousarray(w[::-1, ::-1])
        grad_x = _depthwise_blocked(grad_out, flipped, np.zeros(x.shape[3], x.dtype))
        partial_w, partial_b = _depthwise_grad_weight_blocked_sums(x, grad_out, k)
        return grad_x, partial_w.sum(axis=0), partial_b.sum(axis=0) if need_bias else None
    grad_x = np.empty_like(x)
    work = x.size * w.shape[0] ** 2
    _launch(_depthwise_grad_input_kernel, work, grad_out, w, grad_x)
    chunks = _num_chunks(x.shape[0] * x.shape[1])
    partial_w = np.zeros((chunks,) + w.shape, dtype=x.dtype)
    partial_b = np.zeros((chunks, x.shape[3]), dtype=x.dtype)
    _launch(_depthwise_grad_weight_kernel, work, x, grad_out, partial_w, partial_b)
    grad_b = partial_b.sum(axis=0) if need_bias else None
    return grad_x, partial_w.sum(axis=0), grad_b


# --------------------------------------------------------------------------
# Layer norm: statistics per row over the last axis
# --------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _layer_norm_forward_kernel(x, gamma, beta, eps, y, mean, rstd):
    """prange over rows: each row computes its own mean/rstd and writes y[r]."""
    rows, channels = x.shape
    one = x.dtype.type(1)
    count = x.dtype.type(channels)
    for r in prange(rows):
        xr = x[r]
        m = _row_sum(xr) / count
        var = _row_centred_square_sum(xr, m) / count
        s = one / math.sqrt(var + eps)
        mean[r] = m
        rstd[r] = s
        for c in range(channels):
            y[r, c] = (xr[c] - m) * s * gamma[c] + beta[c]


@njit(parallel=True, cache=True)
def _layer_norm_backward_kernel(grad_out, x, gamma, mean, rstd, grad_x, partial_gamma, partial_beta):
    """prange over chunks of rows: grad_x rows are independent; the gamma and
    beta gradients (sums over rows) go into partial_*[chunk]."""
    rows, channels = x.shape
    count = x.dtype.type(channels)
    n_chunks = partial_gamma.shape[0]
    for t in prange(n_chunks):
        acc_gamma = partial_gamma[t]
        acc_beta = partial_beta[t]
        for r in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            m = mean[r]
            s = rstd[r]
            dy = grad_out[r]
            xr = x[r]
            out = grad_x[r]
            # out temporarily holds xhat, then the input gradient
            for c in range(channels):
                out[c] = (xr[c] - m) * s
            g_mean = _row_dot(dy, gamma) / count
            gx_mean = _row_dot3(dy, gamma, out) / count
            for c in range(channels):
                xhat = out[c]
                acc_gamma[c] += dy[c] * xhat
                acc_beta[c] += dy[c]
                out[c] = s * (dy[c] * gamma[c] - g_mean - xhat * gx_mean)


def layer_norm_forward(x, gamma, beta, eps):
    """-> (y, mean, rstd), normalising over the last axis; see reference.py."""
    x = _contiguous(x)
    shape = x.shape
    rows = x.reshape(-1, shape[-1])
    gamma = _contiguous(gamma, x.dtype)
    beta = _contiguous(beta, x.dtype)
    y = np.empty_like(rows)
    mean = np.empty(rows.shape[0], x.dtype)
    rstd = np.empty(rows.shape[0], x.dtype)
    _launch(_layer_norm_forward_kernel, x.size, rows, gamma, beta, x.dtype.type(eps), y, mean, rstd)
    return y.reshape(shape), mean.reshape(shape[:-1]), rstd.reshape(shape[:-1])


def layer_norm_backward(grad_out, x, gamma, mean, rstd):
    """-> (grad_x, grad_gamma, grad_beta); see reference.py."""
    x = _contiguous(x)
    shape = x.shape
    channels = shape[-1]
    rows = x.reshape(-1, channels)
    dy = _contiguous(grad_out, x.dtype).reshape(-1, channels)
    gamma = _contiguous(gamma, x.dtype)
    mean = _contiguous(mean, x.dtype).reshape(-1)
    rstd = _contiguous(rstd, x.dtype).reshape(-1)
    grad_x = np.empty_like(rows)
    chunks = _num_chunks(rows.shape[0])
    partial_gamma = np.zeros((chunks, channels), x.dtype)
    partial_beta = np.zeros((chunks, channels), x.dtype)
    _launch(_layer_norm_backward_kernel, x.size, dy, rows, gamma, mean, rstd, grad_x, partial_gamma,
            partial_beta)
    return grad_x.reshape(shape), partial_gamma.sum(axis=0), partial_beta.sum(axis=0)


# --------------------------------------------------------------------------
# Batch norm (training mode): statistics per channel over all other rows
# --------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _column_sums_kernel(x, shift, square, partial):
    """partial[t] = sum over the rows of chunk t of (x - shift), or of its square.

    prange over chunks: chunk t writes only partial[t].
    """
    rows, channels = x.shape
    n_chunks = partial.shape[0]
    for t in prange(n_chunks):
        acc = partial[t]
        for r in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            for c in range(channels):
                d = x[r, c] - shift[c]
                acc[c] += d * d if square else d


@njit(parallel=True, cache=True)
def _batch_norm_grad_sums_kernel(grad_out, x, mean, rstd, partial_beta, partial_gamma):
    """partial_beta[t] = sum dy and partial_gamma[t] = sum dy * xhat over chunk t's rows."""
    rows, channels = x.shape
    n_chunks = partial_beta.shape[0]
    for t in prange(n_chunks):
        acc_beta = partial_beta[t]
        acc_gamma = partial_gamma[t]
        for r in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            for c in range(channels):
                dy = grad_out[r, c]
                acc_beta[c] += dy
                acc_gamma[c] += dy * (x[r, c] - mean[c]) * rstd[c]


@njit(parallel=True, cache=True)
def _scale_shift_kernel(x, centre, scale, shift, y):
    """y = (x - centre) * scale + shift per channel; prange over rows (independent)."""
    rows, channels = x.shape
    for r in prange(rows):
        for c in range(channels):
            y[r, c] = (x[r, c] - centre[c]) * scale[c] + shift[c]


@njit(parallel=True, cache=True)
def _batch_norm_grad_input_kernel(grad_out, x, mean, scale, mean_dy, mean_dy_xhat, rstd, grad_x):
    """grad_x = scale * (dy - mean(dy) - xhat * mean(dy * xhat)), scale = gamma * rstd.

    prange over rows: each writes only grad_x[r].
    """
    rows, channels = x.shape
    for r in prange(rows):
        for c in range(channels):
            xhat = (x[r, c] - mean[c]) * rstd[c]
            grad_x[r, c] = scale[c] * (grad_out[r, c] - mean_dy[c] - xhat * mean_dy_xhat[c])


def _column_mean(rows, shift, square):
    """Mean over rows of (rows - shift) or its square, via per-chunk partial sums."""
    partial = np.zeros((_num_chunks(rows.shape[0]), rows.shape[1]), rows.dtype)
    _launch(_column_sums_kernel, rows.size, rows, shift, square, partial)
    return partial.sum(axis=0) / rows.dtype.type(rows.shape[0])


def batch_norm_forward(x, gamma, beta, eps):
    """-> (y, mean, rstd, biased_var), statistics over all axes but the last."""
    x = _contiguous(x)
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    gamma = _contiguous(gamma, x.dtype)
    beta = _contiguous(beta, x.dtype)
    mean = _column_mean(rows, np.zeros(channels, x.dtype), False)
    var = _column_mean(rows, mean, True)  # two passes: no cancellation in E[x^2] - E[x]^2
    rstd = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
    y = np.empty_like(rows)
    _launch(_scale_shift_kernel, rows.size, rows, mean, rstd * gamma, beta, y)
    return y.reshape(x.shape), mean, rstd, var


def batch_norm_apply(x, mean, scale, shift):
    """Evaluation-mode batch norm, (x - mean) * scale + shift: one pass instead of
    NumPy's three (subtract, multiply, add), each writing a full temporary."""
    x = _contiguous(x)
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    y = np.empty_like(rows)
    _launch(_scale_shift_kernel, rows.size, rows, _contiguous(mean, x.dtype),
            _contiguous(scale, x.dtype), _contiguous(shift, x.dtype), y)
    return y.reshape(x.shape)


def batch_norm_backward(grad_out, x, gamma, mean, rstd):
    """-> (grad_x, grad_gamma, grad_beta); see reference.py."""
    x = _contiguous(x)
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    dy = _contiguous(grad_out, x.dtype).reshape(-1, channels)
    gamma = _contiguous(gamma, x.dtype)
    mean = _contiguous(mean, x.dtype)
    rstd = _contiguous(rstd, x.dtype)
    chunks = _num_chunks(rows.shape[0])
    partial_beta = np.zeros((chunks, channels), x.dtype)
    partial_gamma = np.zeros((chunks, channels), x.dtype)
    _launch(_batch_norm_grad_sums_kernel, rows.size, dy, rows, mean, rstd, partial_beta, partial_gamma)
    grad_beta = partial_beta.sum(axis=0)
    grad_gamma = partial_gamma.sum(axis=0)
    count = x.dtype.type(rows.shape[0])
    grad_x = np.empty_like(rows)
    _launch(
        _batch_norm_grad_input_kernel, rows.size, dy, rows, mean, gamma * rstd, grad_beta / count, grad_gamma / count, rstd, grad_x
    )
    return grad_x.reshape(x.shape), grad_gamma, grad_beta


# --------------------------------------------------------------------------
# GELU followed by training-mode batch norm (ConvMixer)
# --------------------------------------------------------------------------
# ConvMixer puts a BatchNorm after every GELU. As two ops, training keeps GELU's
# output g alive until the backward pass. These kernels keep only x (GELU's
# derivative needs it anyway) and evaluate the GELU once in each direction:
# forward, one pass writes g into the output array while it sums g per channel,
# a second pass sums (g - mean)^2 and a third normalises the array in place
# (the GELU costs several memory passes, so it is not recomputed); backward, one pass
# recomputes g and GELU'(x) into two scratch arrays while it sums dy and
# dy * ghat, and a second pass combines them into grad_x. Compared with the two
# ops: one stored feature map fewer per pair, and fewer passes over memory.


@njit(parallel=True, cache=True)
def _gelu_column_sums_kernel(x, g, partial):
    """g = GELU(x) and partial[t] = sum of g over chunk t's rows. prange over chunks:
    chunk t writes its own rows of g and its own partial sums."""
    rows, channels = x.shape
    n_chunks = partial.shape[0]
    for t in prange(n_chunks):
        acc = partial[t]
        for r in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            for c in range(channels):
                v = x[r, c]
                cdf, _ = normal_cdf_and_gaussian(v)
                g[r, c] = v * cdf
                acc[c] += v * cdf


@njit(parallel=True, cache=True)
def _gelu_batch_norm_grad_sums_kernel(grad_out, x, mean, rstd, g, slope, partial_beta, partial_gamma):
    """g = GELU(x), slope = GELU'(x); partial_beta[t] = sum dy and partial_gamma[t] =
    sum dy * ghat over chunk t's rows, ghat = (g - mean) * rstd."""
    rows, channels = x.shape
    n_chunks = partial_beta.shape[0]
    inv_sqrt_2pi = x.dtype.type(1.0 / math.sqrt(2.0 * math.pi))
    for t in prange(n_chunks):
        acc_beta = partial_beta[t]
        acc_gamma = partial_gamma[t]
        for r in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            for c in range(channels):
                v = x[r, c]
                cdf, gaussian = normal_cdf_and_gaussian(v)
                g[r, c] = v * cdf
                slope[r, c] = cdf + v * inv_sqrt_2pi * gaussian
                dy = grad_out[r, c]
                acc_beta[c] += dy
                acc_gamma[c] += dy * (v * cdf - mean[c]) * rstd[c]


@njit(parallel=True, cache=True)
def _gelu_batch_norm_grad_input_kernel(grad_out, g, slope, mean, scale, mean_dy, mean_dy_ghat, rstd):
    """slope = GELU'(x) * scale * (dy - mean(dy) - ghat * mean(dy * ghat)), in place
    in `slope`, which becomes grad_x. prange over rows."""
    rows, channels = g.shape
    for r in prange(rows):
        for c in range(channels):
            ghat = (g[r, c] - mean[c]) * rstd[c]
            slope[r, c] *= scale[c] * (grad_out[r, c] - mean_dy[c] - ghat * mean_dy_ghat[c])


def gelu_batch_norm_forward(x, gamma, beta, eps):
    """-> (y, mean, rstd, biased_var) of training-mode batch norm of GELU(x); see reference.py."""
    x = _contiguous(x)
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    partial = np.zeros((_num_chunks(rows.shape[0]), channels), x.dtype)
    y = np.empty_like(rows)  # GELU(x) until the last pass normalises it in place
    _launch(_gelu_column_sums_kernel, rows.size, rows, y, partial)
    mean = partial.sum(axis=0) / x.dtype.type(rows.shape[0])
    var = _column_mean(y, mean, True)
    rstd = (1 / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
    scale = rstd * _contiguous(gamma, x.dtype)
    _launch(_scale_shift_kernel, rows.size, y, mean, scale, _contiguous(beta, x.dtype), y)
    return y.reshape(x.shape), mean, rstd, var


def gelu_batch_norm_backward(grad_out, x, gamma, mean, rstd):
    """-> (grad_x, grad_gamma, grad_beta) of gelu_batch_norm_forward, from x alone."""
    x = _contiguous(x)
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    dy = _contiguous(grad_out, x.dtype).reshape(-1, channels)
    mean = _contiguous(mean, x.dtype)
    rstd = _contiguous(rstd, x.dtype)
    chunks = _num_chunks(rows.shape[0])
    partial_beta = np.zeros((chunks, channels), x.dtype)
    partial_gamma = np.zeros((chunks, channels), x.dtype)
    g = np.empty_like(rows)
    grad_x = np.empty_like(rows)  # holds GELU'(x) until the second pass
    _launch(_gelu_batch_norm_grad_sums_kernel, rows.size, dy, rows, mean, rstd, g, grad_x,
            partial_beta, partial_gamma)
    grad_beta = partial_beta.sum(axis=0)
    grad_gamma = partial_gamma.sum(axis=0)
    count = x.dtype.type(rows.shape[0])
    _launch(_gelu_batch_norm_grad_input_kernel, rows.size, dy, g, grad_x, mean,
            _contiguous(gamma, x.dtype) * rstd, grad_beta / count, grad_gamma / count, rstd)
    return grad_x.reshape(x.shape), grad_gamma, grad_beta


# --------------------------------------------------------------------------
# GELU
# --------------------------------------------------------------------------

# Both formulas need exp (and the exact one the normal CDF); in float32 they come
# from ``_float32_math``, written without library calls so that LLVM vectorises
# these loops (a call per element makes GELU several times slower).


@njit(inline="always")
def _tanh_gate(v, one, two_k, cubic):
    """(1 + tanh(u)) / 2 = sigmoid(2u) with u = k (v + cubic v^3), two_k = 2k: one exp,
    no cancellation. The constants come in v's dtype."""
    return one / (one + exp_in_dtype(-two_k * (v + cubic * v * v * v)))


@njit(inline="always")
def _gelu_value(v, use_tanh, like):
    """GELU(v), exact or tanh-approximated, with constants in the dtype of array `like`
    (inlined, so LLVM hoists them out of the caller's loop)."""
    if use_tanh:
        one = like.dtype.type(1)
        two_k = like.dtype.type(2.0 * math.sqrt(2.0 / math.pi))
        return v * _tanh_gate(v, one, two_k, like.dtype.type(0.044715))
    cdf, _ = normal_cdf_and_gaussian(v)
    return v * cdf


@njit(inline="always")
def _gelu_slope(v, use_tanh, like):
    """GELU'(v), exact or tanh-approximated, constants in the dtype of array `like`."""
    one = like.dtype.type(1)
    if use_tanh:
        # with s = sigmoid(2u): d/dv [v s] = s + 2 v s (1 - s) du/dv
        two_k = like.dtype.type(2.0 * math.sqrt(2.0 / math.pi))
        s = _tanh_gate(v, one, two_k, like.dtype.type(0.044715))
        return s + v * s * (one - s) * two_k * (one + like.dtype.type(3 * 0.044715) * v * v)
    # d/dv [v Phi(v)] = Phi(v) + v phi(v), phi(v) = exp(-v^2/2) / sqrt(2 pi)
    cdf, gaussian = normal_cdf_and_gaussian(v)
    return cdf + v * like.dtype.type(1.0 / math.sqrt(2.0 * math.pi)) * gaussian


@njit(parallel=True, cache=True)
def _gelu_forward_kernel(x, use_tanh, y):
    """Elementwise GELU; prange over elements (each writes only y[i])."""
    for i in prange(x.shape[0]):
        y[i] = _gelu_value(x[i], use_tanh, x)


@njit(parallel=True, cache=True)
def _gelu_backward_kernel(x, grad_out, use_tanh, grad_x):
    """Elementwise GELU derivative times grad_out; prange over elements."""
    for i in prange(x.shape[0]):
        grad_x[i] = grad_out[i] * _gelu_slope(x[i], use_tanh, x)


def gelu_forward(x, approximate="none"):
    """Elementwise GELU, exact (erf) or tanh-approximated; see reference.py."""
    check_approximate(approximate)
    x = _contiguous(x)
    y = np.empty_like(x)
    _launch(_gelu_forward_kernel, x.size, x.reshape(-1), approximate == "tanh", y.reshape(-1))
    return y


def gelu_backward(x, grad_out, approximate="none"):
    """grad_out * GELU'(x); see reference.py."""
    check_approximate(approximate)
    x = _contiguous(x)
    grad_out = _contiguous(grad_out, x.dtype)
    grad_x = np.empty_like(x)
    _launch(_gelu_backward_kernel, x.size, x.reshape(-1), grad_out.reshape(-1), approximate == "tanh",
            grad_x.reshape(-1))
    return grad_x


# --------------------------------------------------------------------------
# Bias then GELU after a matmul (the first Linear of each MLP-Mixer MLP)
# --------------------------------------------------------------------------
# As two steps, adding the bias is a pass over the Linear's output and the GELU
# another; backward, the bias gradient is a pass over GELU's input gradient. Here
# each direction is one pass. The array is viewed as (rows, P) with the bias laid out
# along one row (`_bias_row`), so one kernel serves both axes.


@njit(parallel=True, cache=True)
def _bias_gelu_forward_kernel(y, bias_row, use_tanh, out):
    """y += bias_row in every row (in place: y becomes GELU's input) and
    out = GELU(y). prange over rows."""
    for r in prange(y.shape[0]):
        for p in range(y.shape[1]):
            v = y[r, p] + bias_row[p]
            y[r, p] = v
            out[r, p] = _gelu_value(v, use_tanh, y)


@njit(parallel=True, cache=True)
def _bias_gelu_backward_kernel(pre, grad_out, use_tanh, grad_pre, partial):
    """grad_pre = grad_out * GELU'(pre) and partial[t] = its sum over chunk t's rows.
    prange over chunks: chunk t writes its own rows and its own partial sums."""
    rows, width = pre.shape
    n_chunks = partial.shape[0]
    for t in prange(n_chunks):
        acc = partial[t]
        for r in range(t * rows // n_chunks, (t + 1) * rows // n_chunks):
            for p in range(width):
                g = grad_out[r, p] * _gelu_slope(pre[r, p], use_tanh, pre)
                grad_pre[r, p] = g
                acc[p] += g


def _as_bias_rows(y, axis):
    """(y viewed as 2-D rows, how often each bias value repeats along a row).

    axis=-1: rows of length M, the bias once along each. axis=-2: y (..., M, C) as
    rows of length M*C, each bias value repeated C times (bias[i] runs along row i
    of every (M, C) slice).
    """
    width = y.shape[-1] * (1 if axis == -1 else y.shape[-2])
    return y.reshape(y.size // width if width else 0, width), (1 if axis == -1 else y.shape[-1])


def bias_gelu_forward(y, bias, axis=-1, approximate="none"):
    """(pre, GELU(pre)), pre = y + bias along `axis`, written into y's memory when y
    is already a contiguous float array; see reference.py."""
    check_bias_gelu(y.shape, axis, approximate, np.shape(bias))
    y = _contiguous(y)
    rows, repeat = _as_bias_rows(y, axis)
    bias_row = np.repeat(_contiguous(bias, y.dtype), repeat)
    out = np.empty_like(rows)
    _launch(_bias_gelu_forward_kernel, rows.size, rows, bias_row, approximate == "tanh", out)
    return y, out.reshape(y.shape)


def bias_gelu_backward(pre, grad_out, axis=-1, approximate="none"):
    """(grad_pre, grad_bias) of bias_gelu_forward; see reference.py."""
    check_bias_gelu(pre.shape, axis, approximate)
    pre = _contiguous(pre)
    rows, repeat = _as_bias_rows(pre, axis)
    grad_rows = _contiguous(grad_out, pre.dtype).reshape(rows.shape)
    partial = np.zeros((_num_chunks(rows.shape[0]), rows.shape[1]), pre.dtype)
    grad_pre = np.empty_like(rows)
    _launch(_bias_gelu_backward_kernel, rows.size, rows, grad_rows, approximate == "tanh",
            grad_pre, partial)
    grad_bias = partial.sum(axis=0).reshape(pre.shape[axis], repeat).sum(axis=1)
    return grad_pre.reshape(pre.shape), grad_bias


# --------------------------------------------------------------------------
# Inference fusions of the ConvMixer block (see reference.py)
# --------------------------------------------------------------------------
# Evaluation mode without autograd keeps no intermediate results, so the elementwise
# tail of each half of the block -- GELU, the BatchNorm's fixed affine map and (for
# spatial mixing) the residual add -- is applied while each value is still in a
# register: one pass over the feature map instead of four.


@njit(parallel=True, cache=True)
def _gelu_affine_kernel(y, scale, shift, out):
    """out = GELU(y) * scale + shift per channel; prange over rows (independent)."""
    rows, channels = y.shape
    for r in prange(rows):
        for c in range(channels):
            v = y[r, c]
            cdf, _ = normal_cdf_and_gaussian(v)
            out[r, c] = v * cdf * scale[c] + shift[c]


@njit(parallel=True, cache=True)
def _residual_depthwise_gelu_affine_kernel(x, w, b, scale, shift, out):
    """out[n,h,col] = x + GELU(depthwise + b) * scale + shift; prange over (n, h) rows."""
    n_img, height = x.shape[0], x.shape[1]
    for row in prange(n_img * height):
        n = row // height
        h = row % height
        _depthwise_row(x, w, b, n, h, out)
        _residual_gelu_affine_row(x[n, h], out[n, h], scale, shift)


def gelu_affine(y, scale, shift):
    """GELU(y) * scale + shift along the last axis, in one pass; see reference.py."""
    y = _contiguous(y)
    rows = y.reshape(-1, y.shape[-1])
    out = np.empty_like(rows)
    _launch(_gelu_affine_kernel, rows.size, rows, _contiguous(scale, y.dtype),
            _contiguous(shift, y.dtype), out)
    return out.reshape(y.shape)


def residual_depthwise_gelu_affine(x, w, b, scale, shift):
    """x + GELU(depthwise(x, w) + b) * scale + shift, in one pass; see reference.py."""
    x = _contiguous(x)
    w = _contiguous(w, x.dtype)
    b = _contiguous(b, x.dtype)
    check_depthwise_shapes(x, w, b)
    scale, shift = _contiguous(scale, x.dtype), _contiguous(shift, x.dtype)
    if _use_blocked(x, w.shape[0]):
        return _depthwise_blocked(x, w, b, True, scale, shift)
    out = np.empty_like(x)
    _launch(_residual_depthwise_gelu_affine_kernel, x.size * w.shape[0] ** 2, x, w, b,
            scale, shift, out)
    return out


# --------------------------------------------------------------------------
# Softmax cross-entropy
# --------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _softmax_cross_entropy_kernel(logits, labels, smoothing, probs, losses):
    """prange over rows: each row writes its own probs[r] and losses[r]."""
    rows, k = logits.shape
    one = logits.dtype.type(1)
    count = logits.dtype.type(k)
    for r in prange(rows):
        row = logits[r]
        top = row.max()
        total = logits.dtype.type(0)
        for c in range(k):
            total += math.exp(row[c] - top)
        log_total = math.log(total)
        for c in range(k):
            probs[r, c] = math.exp(row[c] - top - log_total)
        nll = -(row[labels[r]] - top - log_total)
        if smoothing != 0:  # only then: 0 * (the -inf mean of a masked row) would be NaN
            mean_log_prob = _row_sum(row) / count - top - log_total
            losses[r] = (one - smoothing) * nll - smoothing * mean_log_prob
        else:
            losses[r] = nll


@njit(parallel=True, cache=True)
def _softmax_cross_entropy_backward_kernel(probs, labels, smoothing, scales, grad):
    """grad = (probs - target) * scales[r]; prange over rows (independent)."""
    rows, k = probs.shape
    one = probs.dtype.type(1)
    off = smoothing / probs.dtype.type(k)
    for r in prange(rows):
        scale = scales[r]
        for c in range(k):
            grad[r, c] = (probs[r, c] - off) * scale
        grad[r, labels[r]] -= (one - smoothing) * scale


def softmax_cross_entropy_forward(logits, labels, label_smoothing=0.0, reduction="mean"):
    """-> (loss: 0-d for "mean"/"sum", (N,) for "none"; probs); see reference.py."""
    logits = _contiguous(logits)
    n, k = logits.shape
    labels = np.ascontiguousarray(check_labels(labels, n, k))
    check_reduction("cross_entropy", reduction, n)
    probs = np.empty_like(logits)
    losses = np.empty(n, logits.dtype)
    smoothing = logits.dtype.type(label_smoothing)
    _launch(_softmax_cross_entropy_kernel, logits.size, logits, labels, smoothing, probs, losses)
    return reduce_rows(losses, reduction).astype(logits.dtype, copy=False), probs


def softmax_cross_entropy_backward(probs, labels, label_smoothing, grad_out, reduction="mean"):
    """-> grad_logits = (probs - target) * row_weights(grad_out); see reference.py."""
    probs = _contiguous(probs)
    n, k = probs.shape
    labels = np.ascontiguousarray(check_labels(labels, n, k))
    grad = np.empty_like(probs)
    scales = np.ascontiguousarray(np.broadcast_to(
        row_weights(grad_out, n, reduction, probs.dtype).reshape(-1), (n,)))
    _launch(_softmax_cross_entropy_backward_kernel, probs.size, probs, labels,
            probs.dtype.type(label_smoothing), scales, grad)
    return grad


# --------------------------------------------------------------------------
# AdamW
# --------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _adamw_kernel(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, decay, step_size,
                  bias_correction2_sqrt):
    """In-place AdamW on flat arrays; prange over elements (each touches only index i)."""
    one = param.dtype.type(1)
    for i in prange(param.shape[0]):
        g = grad[i]
        m = beta1 * exp_avg[i] + (one - beta1) * g
        v = beta2 * exp_avg_sq[i] + (one - beta2) * g * g
        exp_avg[i] = m
        exp_avg_sq[i] = v
        param[i] = param[i] * decay - step_size * m / (math.sqrt(v) / bias_correction2_sqrt + eps)


def adamw_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW step, in place on param, exp_avg and exp_avg_sq; see reference.py.

    The three updated arrays must share the param's float dtype and shape. The
    kernel runs on C-contiguous arrays: one in another layout (a transposed weight)
    is updated through a contiguous copy that is then written back into it.
    """
    updated = (param, exp_avg, exp_avg_sq)
    for name, array in zip(("param", "exp_avg", "exp_avg_sq"), updated):
        if array.dtype != param.dtype or array.shape != param.shape:
            raise ValueError(
                f"adamw_update: {name} must be a {param.dtype} array of shape {param.shape}, "
                f"got {array.dtype} {array.shape}"
            )
    flat = [_contiguous(array, param.dtype) for array in updated]
    dtype = param.dtype.type
    _launch(
        _adamw_kernel, param.size, flat[0].reshape(-1), _contiguous(grad, param.dtype).reshape(-1),
        flat[1].reshape(-1), flat[2].reshape(-1),
        dtype(beta1), dtype(beta2), dtype(eps),
        dtype(1.0 - lr * weight_decay),         # decoupled weight decay factor
        dtype(lr / (1.0 - beta1**step)),        # step size with bias correction 1
        dtype(math.sqrt(1.0 - beta2**step)),    # sqrt of bias correction 2
    )
    for array, result in zip(updated, flat):
        if result is not array:
            array[...] = result


# --------------------------------------------------------------------------
# Sliding windows: general conv2d (im2col / col2im), max and average pooling
# --------------------------------------------------------------------------
# Geometry as in reference.py: kernel_size (kh, kw), stride (sh, sw), padding
# ((top, bottom), (left, right)); output pixel (ho, wo) reads input pixel
# (ho*sh - top + i, wo*sw - left + j) at tap (i, j). The kernels skip taps that
# fall on the padding instead of building a padded copy.
#
# Forward kernels run prange over output rows (n, ho). The backward kernels
# *gather*: prange over input rows (n, h), each collecting what the windows
# that read row h send back. A scatter over output rows would race wherever
# windows overlap (stride < kernel).


@njit(inline="always")
def _window_row(oh, i, sh, top, height):
    """Input row that tap row i of output row oh reads, or -1 if it is padding."""
    h = oh * sh - top + i
    return h if 0 <= h < height else -1


@njit(inline="always")
def _reading_output_row(h, i, sh, top, out_h):
    """Output row whose tap row i reads input row h, or -1 if there is none."""
    t = h + top - i
    if t < 0 or t % sh != 0 or t // sh >= out_h:
        return -1
    return t // sh


@njit(parallel=True, cache=True)
def _im2col_kernel(x, sh, sw, top, left, cols):
    """cols[n, ho, wo, i, j, :] = x[n, ho*sh - top + i, wo*sw - left + j, :] or 0 on padding.

    prange over output rows (n, ho): each writes only cols[n, ho].
    """
    n_img, height, width, _ = x.shape
    out_h, out_w, kh, kw = cols.shape[1], cols.shape[2], cols.shape[3], cols.shape[4]
    for row in prange(n_img * out_h):
        n = row // out_h
        oh = row % out_h
        for ow in range(out_w):
            for i in range(kh):
                h = _window_row(oh, i, sh, top, height)
                for j in range(kw):
                    w = _window_row(ow, j, sw, left, width)
                    if h >= 0 and w >= 0:
                        cols[n, oh, ow, i, j] = x[n, h, w]
                    else:
                        cols[n, oh, ow, i, j] = 0


@njit(parallel=True, cache=True)
def _col2im_kernel(cols, sh, sw, top, left, grad_x):
    """grad_x[n, h, w, :] = sum of the cols entries that were read from pixel (h, w).

    prange over input rows (n, h): each writes only grad_x[n, h].
    """
    n_img, out_h, out_w, kh, kw, _ = cols.shape
    height, width = grad_x.shape[1], grad_x.shape[2]
    for row in prange(n_img * height):
        n = row // height
        h = row % height
        grad_x[n, h] = 0
        for i in range(kh):
            oh = _reading_output_row(h, i, sh, top, out_h)
            if oh < 0:
                continue
            for ow in range(out_w):
                for j in range(kw):
                    w = _window_row(ow, j, sw, left, width)
                    if w >= 0:
                        _add(grad_x[n, h, w], cols[n, oh, ow, i, j])


def _geometry(kernel_size, stride, padding):
    """Plain ints for the kernels: (kh, kw, sh, sw, top, left)."""
    (kh, kw), (sh, sw), ((top, _), (left, _)) = kernel_size, stride, padding
    return int(kh), int(kw), int(sh), int(sw), int(top), int(left)


def im2col(x, kernel_size, stride, padding):
    """(N, H, W, C) -> cols (N, Ho, Wo, kh, kw, C); see reference.py."""
    x = _contiguous(x)
    n, height, width, channels = x.shape
    out_h, out_w = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw, sh, sw, top, left = _geometry(kernel_size, stride, padding)
    cols = np.empty((n, out_h, out_w, kh, kw, channels), dtype=x.dtype)
    _launch(_im2col_kernel, cols.size, x, sh, sw, top, left, cols)
    return cols


def col2im(cols, input_shape, kernel_size, stride, padding):
    """Adjoint of ``im2col``: cols (N, Ho, Wo, kh, kw, C) -> (N, H, W, C); see reference.py."""
    cols = _contiguous(cols)
    _, height, width, _ = input_shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    check_cols_shape(cols, input_shape, out_shape, kernel_size, stride, padding)
    _, _, sh, sw, top, left = _geometry(kernel_size, stride, padding)
    grad_x = np.empty(tuple(input_shape), dtype=cols.dtype)
    _launch(_col2im_kernel, cols.size, cols, sh, sw, top, left, grad_x)
    return grad_x


@njit(parallel=True, cache=True)
def _max_pool_forward_kernel(x, kh, kw, sh, sw, top, left, y, taps):
    """y = max over each window, taps = index i*kw + j of the winning tap.

    The first real tap is taken whatever its value, later ones only if strictly
    greater or NaN: PyTorch's tie rule. prange over output rows (n, ho).
    """
    n_img, height, width, channels = x.shape
    out_h, out_w = y.shape[1], y.shape[2]
    for row in prange(n_img * out_h):
        n = row // out_h
        oh = row % out_h
        for ow in range(out_w):
            best = y[n, oh, ow]
            won = taps[n, oh, ow]
            best[:] = -np.inf
            won[:] = -1
            for i in range(kh):
                h = _window_row(oh, i, sh, top, height)
                if h < 0:
                    continue
                for j in range(kw):
                    w = _window_row(ow, j, sw, left, width)
                    if w < 0:
                        continue
                    v = x[n, h, w]
                    for c in range(channels):
                        if v[c] > best[c] or v[c] != v[c] or won[c] < 0:
                            best[c] = v[c]
                            won[c] = i * kw + j


@njit(parallel=True, cache=True)
def _max_pool_backward_kernel(grad_out, taps, kh, kw, sh, sw, top, left, grad_x):
    """grad_x[n, h, w, c] = sum of grad_out over the windows whose winning tap was (h, w).

    prange over input rows (n, h): each writes only grad_x[n, h].
    """
    n_img, height, width, channels = grad_x.shape
    out_h, out_w = grad_out.shape[1], grad_out.shape[2]
    for row in prange(n_img * height):
        n = row // height
        h = row % height
        grad_x[n, h] = 0
        for i in range(kh):
            oh = _reading_output_row(h, i, sh, top, out_h)
            if oh < 0:
                continue
            for ow in range(out_w):
                for j in range(kw):
                    w = _window_row(ow, j, sw, left, width)
                    if w < 0:
                        continue
                    tap = i * kw + j
                    won = taps[n, oh, ow]
                    g = grad_out[n, oh, ow]
                    out = grad_x[n, h, w]
                    for c in range(channels):
                        if won[c] == tap:
                            out[c] += g[c]


@njit(parallel=True, cache=True)
def _avg_pool_forward_kernel(x, kh, kw, sh, sw, top, left, y):
    """y = (sum of the real taps of each window) / (kh * kw); prange over output rows."""
    n_img, height, width, _ = x.shape
    out_h, out_w = y.shape[1], y.shape[2]
    scale = x.dtype.type(1) / x.dtype.type(kh * kw)
    for row in prange(n_img * out_h):
        n = row // out_h
        oh = row % out_h
        for ow in range(out_w):
            out = y[n, oh, ow]
            out[:] = 0
            for i in range(kh):
                h = _window_row(oh, i, sh, top, height)
                if h < 0:
                    continue
                for j in range(kw):
                    w = _window_row(ow, j, sw, left, width)
                    if w >= 0:
                        _add(out, x[n, h, w])
            for c in range(out.shape[0]):
                out[c] *= scale


@njit(parallel=True, cache=True)
def _avg_pool_backward_kernel(grad_out, kh, kw, sh, sw, top, left, grad_x):
    """grad_x[n, h, w] = sum over the windows that read (h, w) of grad_out / (kh * kw).

    prange over input rows (n, h): each writes only grad_x[n, h].
    """
    n_img, height, width, channels = grad_x.shape
    out_h, out_w = grad_out.shape[1], grad_out.shape[2]
    scale = grad_out.dtype.type(1) / grad_out.dtype.type(kh * kw)
    for row in prange(n_img * height):
        n = row // height
        h = row % height
        grad_x[n, h] = 0
        for i in range(kh):
            oh = _reading_output_row(h, i, sh, top, out_h)
            if oh < 0:
                continue
            for ow in range(out_w):
                for j in range(kw):
                    w = _window_row(ow, j, sw, left, width)
                    if w >= 0:
                        _add(grad_x[n, h, w], grad_out[n, oh, ow])
        for w in range(width):
            for c in range(channels):
                grad_x[n, h, w, c] *= scale


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max over each window -> (y, taps int32); see reference.py."""
    x = _contiguous(x)
    n, height, width, channels = x.shape
    out_h, out_w = window_output_shape(height, width, kernel_size, stride, padding)
    geometry = _geometry(kernel_size, stride, padding)
    y = np.empty((n, out_h, out_w, channels), dtype=x.dtype)
    taps = np.empty(y.shape, dtype=np.int32)
    _launch(_max_pool_forward_kernel, y.size * geometry[0] * geometry[1], x, *geometry, y, taps)
    return y, taps


def max_pool2d_backward(grad_out, taps, input_shape, kernel_size, stride, padding):
    """Each window's gradient to its winning tap, summed per pixel; see reference.py."""
    grad_out = _contiguous(grad_out)
    taps = np.ascontiguousarray(taps, dtype=np.int32)
    geometry = _geometry(kernel_size, stride, padding)
    grad_x = np.empty(tuple(input_shape), dtype=grad_out.dtype)
    _launch(_max_pool_backward_kernel, grad_out.size * geometry[0] * geometry[1], grad_out, taps,
            *geometry, grad_x)
    return grad_x


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Mean over each window, padding counted; see reference.py."""
    x = _contiguous(x)
    n, height, width, channels = x.shape
    out_h, out_w = window_output_shape(height, width, kernel_size, stride, padding)
    geometry = _geometry(kernel_size, stride, padding)
    y = np.empty((n, out_h, out_w, channels), dtype=x.dtype)
    _launch(_avg_pool_forward_kernel, y.size * geometry[0] * geometry[1], x, *geometry, y)
    return y


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride, padding):
    """grad / (kh * kw) to every pixel of each window; see reference.py."""
    grad_out = _contiguous(grad_out)
    geometry = _geometry(kernel_size, stride, padding)
    grad_x = np.empty(tuple(input_shape), dtype=grad_out.dtype)
    _launch(_avg_pool_backward_kernel, grad_out.size * geometry[0] * geometry[1], grad_out, *geometry,
            grad_x)
    return grad_x
