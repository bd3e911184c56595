"""The call-free float32 exp and normal CDF behind the GELU kernels meet the accuracy
their module docstring states, measured against double-precision math."""

import math

import numpy as np
import pytest
from numba import njit

from minimixer.kernels import _float32_math as f32


@njit(cache=True)
def _exp_all(a, out):
    for i in range(a.shape[0]):
        out[i] = f32.exp_float32(a[i])


@njit(cache=True)
def _gelu_parts_all(v, cdf, gaussian):
    for i in range(v.shape[0]):
        cdf[i], gaussian[i] = f32.normal_cdf_and_gaussian(v[i])


def _exact_cdf(v):
    """Phi(v) in double precision without cancellation in the lower tail."""
    return np.array([0.5 * math.erfc(-x / math.sqrt(2.0)) for x in v.astype(np.float64)])


def _relative_error(actual, exact):
    return np.abs(actual.astype(np.float64) - exact) / np.abs(exact)


def test_exp_is_accurate_to_float32_rounding():
    a = np.linspace(-80, 88, 200_001, dtype=np.float32)
    out = np.empty_like(a)
    _exp_all(a, out)
    assert out.dtype == np.float32
    assert _relative_error(out, np.exp(a.astype(np.float64))).max() < 3e-7


def test_exp_clamps_instead_of_overflowing():
    out = np.empty(4, np.float32)
    _exp_all(np.array([-1e4, -200.0, 200.0, 1e4], np.float32), out)
    assert np.all(np.isfinite(out)) and np.all(out > 0)


@pytest.mark.parametrize("low, high, bound", [(-2.0, 9.0, 6e-7), (-5.0, -2.0, 1e-6)])
def test_gelu_relative_error_within_the_stated_bounds(low, high, bound):
    v = np.linspace(low, high, 100_001, dtype=np.float32)
    v = v[v != 0]
    cdf = np.empty_like(v)
    gaussian = np.empty_like(v)
    _gelu_parts_all(v, cdf, gaussian)
    assert _relative_error(v * cdf, v * _exact_cdf(v)).max() < bound
    near = np.abs(v) < 5
    exact_gaussian = np.exp(-0.5 * v[near].astype(np.float64) ** 2)
    assert _relative_error(gaussian[near], exact_gaussian).max() < 1e-6


def test_gelu_far_tail_is_within_1e_11_of_zero():
    v = np.linspace(-30, -5, 10_001, dtype=np.float32)
    cdf = np.empty_like(v)
    gaussian = np.empty_like(v)
    _gelu_parts_all(v, cdf, gaussian)
    assert np.abs(v * cdf - v * _exact_cdf(v)).max() < 1e-11


def test_float64_keeps_the_library_functions():
    v = np.linspace(-6, 6, 1001)
    cdf = np.empty_like(v)
    gaussian = np.empty_like(v)
    _gelu_parts_all(v, cdf, gaussian)
    np.testing.assert_allclose(cdf, _exact_cdf(v), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(gaussian, np.exp(-0.5 * v * v), rtol=1e-15)


def test_two_to_the_is_exact():
    for n in (-126, -1, 0, 1, 127):
        assert f32.two_to_the(np.float32(n)) == np.float32(2.0) ** n
