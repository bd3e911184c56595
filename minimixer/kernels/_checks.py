"""Argument checks of the kernels, shared by ``reference.py`` and ``fast.py``.

Both backends raise the same ValueError, with the same message, for the same bad
input; keeping the checks here leaves ``reference.py`` to the maths it specifies.
"""

import numpy as np


def check_patch_size(height, width, p):
    """Raise ValueError unless a p x p grid tiles an image of height x width."""
    if p < 1:
        raise ValueError(f"patch size must be a positive integer, got {p}")
    if height % p or width % p:
        raise ValueError(
            f"image size {height}x{width} is not divisible by patch size {p}; "
            f"crop or pad the images to a multiple of {p}"
        )


def check_patch_length(size, p, channels):
    """Raise ValueError unless patch vectors of length `size` hold p*p*channels values."""
    if size != p * p * channels:
        raise ValueError(f"unpatchify: last axis {size} != p*p*channels = {p}*{p}*{channels}")


def check_depthwise_shapes(x, w, b):
    """Raise ValueError unless x is (N,H,W,C), w is (k,k,C) and b is (C,) or None."""
    if x.ndim != 4:
        raise ValueError(f"depthwise_conv2d: input must be (N, H, W, C), got shape {x.shape}")
    channels = x.shape[3]
    if w.ndim != 3 or w.shape[0] != w.shape[1] or w.shape[2] != channels:
        raise ValueError(
            f"depthwise_conv2d: weight must be (k, k, C) with C={channels}, got shape {w.shape}"
        )
    if b is not None and b.shape != (channels,):
        raise ValueError(f"depthwise_conv2d: bias must be ({channels},), got shape {b.shape}")


def check_approximate(approximate):
    """Raise ValueError unless GELU's `approximate` is "none" (erf) or "tanh"."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def check_bias_gelu(shape, axis, approximate, bias_shape=None):
    """Raise ValueError unless `axis` is -1 or -2 of an array of `shape`, `approximate`
    a GELU formula and (when given) `bias_shape` (M,) the size of that axis."""
    check_approximate(approximate)
    if axis not in (-1, -2) or len(shape) < -axis:
        raise ValueError(f"bias_gelu: axis must be -1 or -2 of the input, got {axis!r} "
                         f"for shape {shape}")
    if bias_shape is not None and tuple(bias_shape) != (shape[axis],):
        raise ValueError(f"bias_gelu: bias of shape {tuple(bias_shape)} does not fit axis "
                         f"{axis} of shape {shape}")


def check_labels(labels, num_rows, num_classes):
    """Raise ValueError unless labels is an int vector of length num_rows in [0, K).

    Returns the labels as an intp array, ready for indexing.
    """
    labels = np.asarray(labels)
    if labels.shape != (num_rows,):
        raise ValueError(
            f"cross_entropy: labels must have shape ({num_rows},), got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        first = int(labels[np.argmax(bad)])
        raise ValueError(
            f"cross_entropy: label {first} is out of range for K={num_classes} classes "
            f"(labels must be in [0, {num_classes - 1}])"
        )
    return labels.astype(np.intp, copy=False)


REDUCTIONS = ("mean", "sum", "none")


def check_reduction(op, reduction, count):
    """Raise ValueError unless reduction is "mean", "sum" or "none", and a "mean" has
    something to average (count > 0: the mean of no values is undefined)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if reduction == "mean" and count == 0:
        raise ValueError(
            f"{op}: the batch is empty, so its mean loss is undefined; skip empty batches "
            'or use reduction="sum" (which gives 0)'
        )


def check_cols_shape(cols, input_shape, out_shape, kernel_size, stride, padding):
    """Raise ValueError unless col2im's cols are (N, Ho, Wo, kh, kw, C) for this input."""
    n, _, _, channels = input_shape
    if cols.shape != (n, *out_shape, *kernel_size, channels):
        raise ValueError(f"col2im: cols of shape {cols.shape} do not match input {input_shape}, "
                         f"kernel {kernel_size}, stride {stride}, padding {padding}")
