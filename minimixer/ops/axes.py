"""Axis arguments checked the way PyTorch checks them.

NumPy wraps some out-of-range axes around (`axis % ndim`), which turns a typo such as
`x.sum(axis=5)` on a 4-d tensor into a silent reduction over axis 1. Every op that
takes an axis goes through these two functions instead: an axis must satisfy
-ndim <= axis < ndim, and a 0-d tensor accepts 0 and -1 (both name the tensor itself).
"""

import numpy as np


def normalise_axis(op: str, axis, ndim: int) -> int:
    """`axis` as a non-negative index into `ndim` dimensions, or a clear error."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an integer, got {axis!r}")
    size = ndim if ndim else 1
    if not -size <= axis < size:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} "
                         f"dimension(s) (expected {-size} <= axis < {size})")
    return int(axis) % size


def normalise_axes(op: str, axis, ndim: int) -> tuple:
    """Reduction axes (None = all, an int, or a sequence) as sorted non-negative indices.

    A 0-d tensor has no axis to reduce, so its valid axes give ().
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    axes = tuple(normalise_axis(op, a, ndim) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names the same dimension twice")
    return tuple(sorted(axes)) if ndim else ()
