"""The sliding-window kernels (im2col / col2im, max and average pooling): the Numba
versions agree with the NumPy reference, and the reference is right on small cases.

Geometries cover odd and even kernels, strides above and below the kernel size
(overlapping and gapped windows), asymmetric padding, one channel and batch 1.
The shapes are small so the file also runs without the JIT (test_without_jit.py).
"""

import numpy as np
import pytest
from kernel_cases import DTYPES, assert_close, needs_jit, random, transposed_view

from minimixer.kernels import fast, reference

# (kernel_size, stride, padding ((top, bottom), (left, right)))
GEOMETRIES = [
    ((1, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 2), (2, 2), ((0, 0), (0, 0))),
    ((3, 3), (1, 1), ((1, 1), (1, 1))),
    ((3, 3), (2, 2), ((1, 1), (1, 1))),
    ((2, 3), (1, 2), ((1, 0), (1, 1))),   # even x odd kernel, "same"-like asymmetric padding
    ((4, 2), (3, 1), ((2, 1), (0, 1))),
]
SHAPES = [(1, 5, 4, 1), (2, 7, 6, 3)]


@pytest.fixture(params=["parallel", "one thread"])
def launch_path(request, monkeypatch):
    """Run small jobs through the parallel path too (normally they stay on one thread)."""
    monkeypatch.setattr(fast, "_PARALLEL_MIN_WORK", 0 if request.param == "parallel" else 1 << 62)


def pool_geometry(geometry):
    """The pools take symmetric padding of at most half the kernel."""
    (kh, kw), stride, ((top, _), (left, _)) = geometry
    return (kh, kw), stride, ((min(top, kh // 2),) * 2, (min(left, kw // 2),) * 2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_im2col_and_col2im(dtype, geometry, launch_path):
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        x = random(rng, shape, dtype)
        cols = fast.im2col(x, *geometry)
        np.testing.assert_array_equal(cols, reference.im2col(x, *geometry))
        grad_cols = random(rng, cols.shape, dtype)
        grad_x = fast.col2im(grad_cols, x.shape, *geometry)
        assert_close(grad_x, reference.col2im(grad_cols, x.shape, *geometry), dtype)
        assert cols.dtype == grad_x.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool(dtype, geometry, launch_path):
    rng = np.random.default_rng(1)
    geometry = pool_geometry(geometry)
    for shape in SHAPES:
        x = np.round(random(rng, shape, dtype) * 2) / 2  # many ties
        y, taps = fast.max_pool2d_forward(x, *geometry)
        ref_y, ref_taps = reference.max_pool2d_forward(x, *geometry)
        np.testing.assert_array_equal(y, ref_y)
        np.testing.assert_array_equal(taps, ref_taps)
        grad_out = random(rng, y.shape, dtype)
        grad_x = fast.max_pool2d_backward(grad_out, taps, x.shape, *geometry)
        assert_close(grad_x, reference.max_pool2d_backward(grad_out, taps, x.shape, *geometry), dtype)
        assert y.dtype == grad_x.dtype == dtype and taps.dtype == np.int32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_avg_pool(dtype, geometry, launch_path):
    rng = np.random.default_rng(2)
    geometry = pool_geometry(geometry)
    for shape in SHAPES:
        x = random(rng, shape, dtype)
        y = fast.avg_pool2d_forward(x, *geometry)
        assert_close(y, reference.avg_pool2d_forward(x, *geometry), dtype)
        grad_out = random(rng, y.shape, dtype)
        grad_x = fast.avg_pool2d_backward(grad_out, x.shape, *geometry)
        assert_close(grad_x, reference.avg_pool2d_backward(grad_out, x.shape, *geometry), dtype)
        assert y.dtype == grad_x.dtype == dtype


def test_window_kernels_accept_non_contiguous_inputs():
    rng = np.random.default_rng(3)
    x = transposed_view(rng, (2, 5, 6, 3), np.float32)
    geometry = ((3, 3), (2, 1), ((1, 1), (1, 1)))
    np.testing.assert_array_equal(fast.im2col(x, *geometry), reference.im2col(x, *geometry))
    np.testing.assert_array_equal(fast.max_pool2d_forward(x, *geometry)[0],
                                  reference.max_pool2d_forward(x, *geometry)[0])
    assert_close(fast.avg_pool2d_forward(x, *geometry), reference.avg_pool2d_forward(x, *geometry),
                 np.float32)


@needs_jit
def test_window_kernels_on_a_larger_batch():
    """Enough work to take the parallel path for real, with rows split across threads."""
    rng = np.random.default_rng(4)
    x = random(rng, (16, 14, 14, 8), np.float32)
    geometry = ((3, 3), (1, 1), ((1, 1), (1, 1)))
    cols = fast.im2col(x, *geometry)
    np.testing.assert_array_equal(cols, reference.im2col(x, *geometry))
    assert_close(fast.col2im(cols, x.shape, *geometry), reference.col2im(cols, x.shape, *geometry),
                 np.float32)
    y, taps = fast.max_pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))
    np.testing.assert_array_equal(y, x.reshape(16, 7, 2, 7, 2, 8).max(axis=(2, 4)))


# ---------------------------------------------------------------- the reference itself


@pytest.mark.parametrize("backend", [reference, fast])
def test_im2col_and_col2im_are_adjoint(backend):
    """<im2col(x), c> = <x, col2im(c)>: col2im is exactly the gradient of im2col."""
    rng = np.random.default_rng(5)
    for geometry in GEOMETRIES:
        x = random(rng, (2, 6, 5, 2), np.float64)
        cols = backend.im2col(x, *geometry)
        c = random(rng, cols.shape, np.float64)
        assert np.isclose(np.sum(cols * c), np.sum(x * backend.col2im(c, x.shape, *geometry)))


@pytest.mark.parametrize("backend", [reference, fast])
def test_max_pool_ties_go_to_the_first_maximum(backend):
    x = np.zeros((1, 2, 2, 1))
    y, taps = backend.max_pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))
    assert y.item() == 0 and taps.item() == 0
    grad = backend.max_pool2d_backward(np.ones_like(y), taps, x.shape, (2, 2), (2, 2), ((0, 0), (0, 0)))
    np.testing.assert_array_equal(grad[0, :, :, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize("backend", [reference, fast])
def test_max_pool_padding_never_wins_and_nan_propagates(backend):
    x = np.full((1, 3, 3, 2), -5.0)
    x[0, 1, 1, 1] = np.nan
    y, taps = backend.max_pool2d_forward(x, (3, 3), (1, 1), ((1, 1), (1, 1)))
    assert np.all(y[..., 0] == -5.0)            # -inf padding lost to the real -5s
    assert np.all(np.isnan(y[..., 1]))          # every window holds the NaN
    assert taps[0, 0, 0, 0] == 4                # window at (0, 0): first real pixel is tap (1, 1)


@pytest.mark.parametrize("backend", [reference, fast])
def test_avg_pool_counts_the_padding(backend):
    x = np.ones((1, 2, 2, 1))
    y = backend.avg_pool2d_forward(x, (2, 2), (2, 2), ((1, 1), (1, 1)))
    np.testing.assert_allclose(y[0, :, :, 0], [[0.25, 0.25], [0.25, 0.25]])


def test_a_window_larger_than_the_padded_input_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        reference.window_output_shape(2, 2, (4, 4), (1, 1), ((0, 0), (1, 0)))
