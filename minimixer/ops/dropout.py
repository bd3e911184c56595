"""Dropout: during training, zero each entry with probability p.

Inverted dropout: the kept entries are scaled by 1 / (1 - p), so every entry keeps
its expected value and evaluation needs no rescaling -- in eval mode dropout is the
identity. The backward pass lets the gradient through the same kept entries, with
the same scale.

The mask is drawn from minimixer's global generator (``minimixer.random``), so
``mm.manual_seed(s)`` makes a training run that uses dropout reproducible.
"""

import numbers

import numpy as np

from ..autograd import Function, as_tensor
from ..random import generator


class Dropout(Function):
    """x * mask / (1 - p) with a fresh 0/1 mask (1 with probability 1 - p); the
    gradient goes through the same mask with the same scale."""

    @staticmethod
    def forward(ctx, x, p=0.5):
        if p == 1:  # nothing survives; 1 / (1 - p) would divide by zero
            scaled_mask = np.zeros_like(x)
        else:
            keep = generator().random(x.shape) >= p
            scaled_mask = keep.astype(x.dtype) * x.dtype.type(1 / (1 - p))
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, grad_out):
        (scaled_mask,) = ctx.saved_tensors
        return (grad_out * scaled_mask,)


def dropout(x, p=0.5, training=True):
    """Zero each entry of x with probability p and scale the rest by 1 / (1 - p).

    Returns x itself when not training or when p = 0; p = 1 gives zeros.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"dropout: p is the probability of dropping an entry and must be "
                         f"in [0, 1], got {p!r}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=float(p))
