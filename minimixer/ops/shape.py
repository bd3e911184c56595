"""Operations that move numbers around without changing them.

reshape, transpose/permute, indexing and concatenation. Their backward rules put
each gradient entry back where its value came from. Transpose returns a *view* (no
copy): the token-mixing step of MLP-Mixer relies on this.
"""

import numpy as np

from ..autograd import Function, Tensor


class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {a.shape} into {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx.shape),)


class Permute(Function):
    @staticmethod
    def forward(ctx, a, axes):
        if sorted(ax % a.ndim for ax in axes) != list(range(a.ndim)):
            raise ValueError(f"permute: axes {tuple(axes)} are not a permutation for shape {a.shape}")
        ctx.axes = tuple(axes)
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return (g.transpose(np.argsort(ctx.axes)),)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        np.add.at(grad, ctx.index, g)  # add.at handles repeated indices correctly
        return (grad,)


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        try:
            out = np.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = " and ".join(str(a.shape) for a in arrays)
            raise ValueError(f"concatenate: shapes {shapes} do not match off axis {axis}") from None
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return out

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.splits, axis=ctx.axis))


def reshape(a, *shape):
    shape = shape[0] if len(shape) == 1 and not np.isscalar(shape[0]) else shape
    return Reshape.apply(a, tuple(shape))


def permute(a, *axes):
    axes = axes[0] if len(axes) == 1 and not np.isscalar(axes[0]) else axes
    return Permute.apply(a, tuple(axes))


def transpose(a, *axes):
    """Swap two axes (`transpose(x, 1, 2)`, as in PyTorch) or reverse all (`transpose(x)`).

    More than two axes are read as a full permutation (as `permute`). Returns a view.
    """
    axes = axes[0] if len(axes) == 1 and not np.isscalar(axes[0]) else axes
    if len(axes) == 0:
        axes = tuple(reversed(range(a.ndim)))
    elif len(axes) == 2:
        i, j = (ax % a.ndim for ax in axes)
        order = list(range(a.ndim))
        order[i], order[j] = order[j], order[i]
        axes = tuple(order)
    return Permute.apply(a, tuple(axes))


def getitem(a, index):
    if isinstance(index, Tensor):
        index = index.data.astype(np.int64)
    return GetItem.apply(a, index)


def concatenate(tensors, axis=0):
    return Concatenate.apply(*tensors, axis=axis)
