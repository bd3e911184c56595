"""The error function erf, vectorised in NumPy (NumPy has no erf ufunc).

``reference.gelu_forward`` needs erf for the exact GELU, x * (1 + erf(x / sqrt 2)) / 2.
This module builds one from Chebyshev interpolants tabulated once with ``math.erf``.
(The Numba kernels compute GELU another way, see ``_float32_math.py``.)
"""

import math

import numpy as np

# erf has no NumPy ufunc, so we build one from two smooth pieces, each tabulated
# once (here, with math.erf) as a degree-16 Chebyshev interpolant:
#   |x| <  2.5:  erf(x) = x * P(x^2),               P(u) ~ erf(sqrt u) / sqrt u
#   |x| >= 2.5:  erf(x) = 1 - exp(-x^2) * Q(|x|),   Q(x) ~ erfc(x) exp(x^2)
# Both are accurate to a few 1e-14 relative; beyond |x| = 6, erf is 1 in float64.
_ERF_SPLIT = 2.5
_ERF_LIMIT = 6.0
_ERF_DEGREE = 16


def _to_unit_interval(z, a, b):
    """Map z in [a, b] linearly onto [-1, 1], the domain of a Chebyshev series."""
    return (2.0 * z - (a + b)) / (b - a)


def chebyshev_fit(f, a, b, degree):
    """Chebyshev coefficients of the scalar function f on [a, b].

    The series is in the variable t = _to_unit_interval(z, a, b); f is sampled
    at the degree + 1 Chebyshev points, which lie strictly inside (a, b).
    """
    f = np.vectorize(f)
    return np.polynomial.chebyshev.chebinterpolate(
        lambda t: f(a + (b - a) * (t + 1.0) / 2.0), degree
    )


def erf_over_sqrt(u):
    """erf(sqrt u) / sqrt u for u > 0: a smooth function of u, easy to interpolate."""
    return math.erf(math.sqrt(u)) / math.sqrt(u)


_ERF_SMALL = chebyshev_fit(erf_over_sqrt, 0.0, _ERF_SPLIT**2, _ERF_DEGREE)
_ERFC_SCALED_LARGE = chebyshev_fit(
    lambda z: math.erfc(z) * math.exp(z * z), _ERF_SPLIT, _ERF_LIMIT, _ERF_DEGREE
)


def erf(x):
    """Vectorised error function in the dtype of x (float32 or float64)."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    ax = np.abs(x).astype(dtype).reshape(-1)  # 1-D copy: works for 0-d input too
    chebval = np.polynomial.chebyshev.chebval
    u = np.minimum(ax * ax, _ERF_SPLIT**2)
    out = ax * chebval(_to_unit_interval(u, 0.0, _ERF_SPLIT**2), _ERF_SMALL.astype(dtype))
    large = ax >= _ERF_SPLIT
    z = np.minimum(ax[large], _ERF_LIMIT)
    scaled = chebval(_to_unit_interval(z, _ERF_SPLIT, _ERF_LIMIT), _ERFC_SCALED_LARGE.astype(dtype))
    out[large] = 1.0 - np.exp(-z * z) * scaled
    return np.copysign(out.reshape(x.shape), x).astype(dtype, copy=False)
