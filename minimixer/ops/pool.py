"""Global average pooling: the mean over every position, one vector per image.

(N, H, W, C) -> (N, C) for ConvMixer's feature maps, (N, S, C) -> (N, C) for
MLP-Mixer's tokens. Plain NumPy: a mean needs no special kernel.
"""

import numpy as np

from ..autograd import Function, as_tensor


class GlobalAvgPool(Function):
    @staticmethod
    def forward(ctx, x):
        if x.ndim < 3:
            raise ValueError(
                f"global_avg_pool: input must be (N, ..., C) with at least one axis to pool, "
                f"got shape {x.shape}"
            )
        ctx.shape = x.shape
        return x.mean(axis=tuple(range(1, x.ndim - 1)))

    @staticmethod
    def backward(ctx, grad):
        # every position contributed 1/count of the mean
        shape = ctx.shape
        count = int(np.prod(shape[1:-1]))
        grad_x = np.empty(shape, dtype=grad.dtype)
        grad_x[...] = (grad / count).reshape(shape[0], *([1] * (len(shape) - 2)), shape[-1])
        return (grad_x,)


def global_avg_pool(x):
    """Mean over all axes except the first (batch) and the last (channels)."""
    return GlobalAvgPool.apply(as_tensor(x))
