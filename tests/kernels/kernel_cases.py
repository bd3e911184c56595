"""Shared helpers for the kernel tests: random inputs, tolerances, the no-JIT switch.

Under NUMBA_DISABLE_JIT=1 the "fast" kernels run as plain Python loops, so the
tests marked ``needs_jit`` (many or larger shapes) are skipped there; the rest
use shapes small enough for Python loops.
"""

import os

import numpy as np
import pytest

from minimixer.kernels import fast, reference

NO_JIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")

needs_jit = pytest.mark.skipif(NO_JIT, reason="too slow as plain Python (NUMBA_DISABLE_JIT=1)")

BACKENDS = [reference, fast]
DTYPES = [np.float32, np.float64]
KERNEL_SIZES = [1, 2, 3, 4, 5, 7, 9]

# relative tolerance between the two backends (different summation orders)
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-11}


def random(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def assert_close(actual, expected, dtype, tol=None):
    """allclose with an absolute tolerance relative to the largest expected value."""
    tol = TOLERANCE[np.dtype(dtype).type] if tol is None else tol
    expected = np.asarray(expected)
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale)


def assert_all_close(actual, expected, dtype, tol=None):
    """assert_close over matching tuples of arrays (None must match None)."""
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        if e is None:
            assert a is None
        else:
            assert_close(a, e, dtype, tol)


def transposed_view(rng, shape, dtype):
    """A non-contiguous array of the given shape: a view with axes 1 and 2 swapped."""
    n, h, w, c = shape
    base = random(rng, (n, w, h, c), dtype)
    view = base.transpose(0, 2, 1, 3)
    assert not view.flags.c_contiguous or h == 1 or w == 1
    return view
