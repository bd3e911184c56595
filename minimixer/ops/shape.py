"""Operations that move numbers around without changing them.

reshape (and its special cases flatten, squeeze, unsqueeze), transpose/permute,
indexing, concatenation and stacking. Their backward rules put each gradient entry
back where its value came from. Transpose returns a *view* (no
copy): the token-mixing step of MLP-Mixer relies on this.
"""

import numpy as np

from ..autograd import Function, Tensor
from .axes import normalise_axis


def _axes_argument(axes):
    """Accept both `f(x, 1, 2)` and `f(x, (1, 2))`."""
    return axes[0] if len(axes) == 1 and not np.isscalar(axes[0]) else axes


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {a.shape} into {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, grad_out):
        return (grad_out.reshape(ctx.shape),)


def reshape(a, *shape):
    """The same numbers in a new shape (one entry may be -1, inferred)."""
    return Reshape.apply(a, tuple(_axes_argument(shape)))


def flatten(a, start_axis=0, end_axis=-1):
    """Merge axes start_axis..end_axis into one, as `torch.flatten(x, start_dim, end_dim)`."""
    shape = a.shape
    start = normalise_axis("flatten", start_axis, len(shape))
    end = normalise_axis("flatten", end_axis, len(shape))
    if start > end:
        raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis}")
    merged = int(np.prod(shape[start:end + 1]))
    return reshape(a, shape[:start] + (merged,) + shape[end + 1:])


def squeeze(a, axis=None):
    """Drop length-1 axes: all of them, or only `axis` (a no-op if it is not length 1,
    as in PyTorch)."""
    shape = a.shape
    if axis is None:
        return reshape(a, tuple(n for n in shape if n != 1))
    axes = (axis,) if np.isscalar(axis) else tuple(axis)
    drop = {normalise_axis("squeeze", ax, len(shape)) for ax in axes}
    return reshape(a, tuple(n for i, n in enumerate(shape) if not (i in drop and n == 1)))


def unsqueeze(a, axis):
    """Insert a length-1 axis at position `axis` (-ndim-1 <= axis <= ndim)."""
    shape = a.shape
    axis = normalise_axis("unsqueeze", axis, len(shape) + 1)
    return reshape(a, shape[:axis] + (1,) + shape[axis:])


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        axes = tuple(normalise_axis("permute", ax, a.ndim) for ax in axes)
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"permute: axes {axes} are not a permutation for shape {a.shape}")
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad_out):
        return (grad_out.transpose(np.argsort(ctx.axes)),)


def permute(a, *axes):
    """Reorder all axes: output axis i is input axis axes[i] (negative axes allowed)."""
    return Permute.apply(a, tuple(_axes_argument(axes)))


def transpose(a, *axes):
    """Swap two axes (`transpose(x, 1, 2)`, as in PyTorch) or reverse all (`transpose(x)`).

    More than two axes are read as a full permutation (as `permute`). Returns a view.
    """
    axes = _axes_argument(axes)
    ndim = len(a.shape)
    if len(axes) == 0:
        axes = tuple(reversed(range(ndim)))
    elif len(axes) == 2:
        i, j = (normalise_axis("transpose", ax, ndim) for ax in axes)
        order = list(range(ndim))
        order[i], order[j] = order[j], order[i]
        axes = tuple(order)
    return Permute.apply(a, tuple(axes))


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, grad_out):
        grad_a = np.zeros(ctx.shape, dtype=grad_out.dtype)
        np.add.at(grad_a, ctx.index, grad_out)  # add.at handles repeated indices correctly
        return (grad_a,)


def _index_array(index) -> np.ndarray:
    """A Tensor used as an index: whole numbers become an int64 array."""
    values = index.data
    if not np.array_equal(values, np.round(values)):
        raise IndexError("getitem: a Tensor used as an index must hold whole numbers")
    return values.astype(np.int64)


def getitem(a, index):
    """`a[index]` with NumPy's rules; Tensors inside the index are read as integer arrays."""
    if isinstance(index, Tensor):
        index = _index_array(index)
    elif isinstance(index, tuple):
        index = tuple(_index_array(i) if isinstance(i, Tensor) else i for i in index)
    return GetItem.apply(a, index)


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ValueError("concatenate: expected at least one tensor")
        axis = normalise_axis("concatenate", axis, arrays[0].ndim)
        try:
            out = np.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = " and ".join(str(a.shape) for a in arrays)
            raise ValueError(f"concatenate: shapes {shapes} do not match off axis {axis}") from None
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(np.split(grad_out, ctx.splits, axis=ctx.axis))


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis (`torch.cat`)."""
    return Concatenate.apply(*tensors, axis=axis)


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ValueError("stack: expected at least one tensor")
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
        ctx.axis = normalise_axis("stack", axis, arrays[0].ndim + 1)
        return np.stack(arrays, axis=ctx.axis)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(np.moveaxis(grad_out, ctx.axis, 0))


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis (`torch.stack`)."""
    return Stack.apply(*tensors, axis=axis)
