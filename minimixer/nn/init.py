"""Weight initialisers, written out so a reader sees the numbers behind each scheme.

All take a shape and a NumPy Generator and return a float32 array. `fan_in` is the
number of inputs feeding one output unit (for a Linear (in, out) weight: `in`).
"""

import math

import numpy as np

from .. import random as mm_random


def uniform(shape, bound: float, rng=None) -> np.ndarray:
    rng = rng or mm_random.generator()
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def kaiming_uniform_default(shape, fan_in: int, rng=None) -> np.ndarray:
    """PyTorch's default for Linear and Conv weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    (It is kaiming_uniform with a = sqrt(5), which simplifies to this bound.)
    """
    return uniform(shape, 1.0 / math.sqrt(fan_in), rng)


def bias_default(shape, fan_in: int, rng=None) -> np.ndarray:
    """PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return uniform(shape, 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0, rng)


def lecun_normal(shape, fan_in: int, rng=None) -> np.ndarray:
    """LeCun normal: N(0, 1/fan_in), truncated at two standard deviations (as in JAX/Flax)."""
    rng = rng or mm_random.generator()
    std = math.sqrt(1.0 / fan_in) / 0.87962566103423978  # std of a unit normal truncated at ±2
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    return (values * std).astype(np.float32)


def normal(shape, std: float, rng=None) -> np.ndarray:
    rng = rng or mm_random.generator()
    return (rng.standard_normal(size=shape) * std).astype(np.float32)
