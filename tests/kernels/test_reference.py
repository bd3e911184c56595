"""The NumPy reference against direct definitions, the argument checks of both
backends, and the backend switch."""

import importlib
import math

import numpy as np
import pytest
from kernel_cases import BACKENDS, random

from minimixer import kernels
from minimixer.kernels import fast, reference
from minimixer.kernels._erf import erf


def depthwise_by_loops(x, w, b):
    """The definition, one output number at a time, with zero padding "same"."""
    n_img, height, width, channels = x.shape
    k = w.shape[0]
    top = (k - 1) // 2
    y = np.zeros_like(x)
    for n in range(n_img):
        for h in range(height):
            for col in range(width):
                for c in range(channels):
                    total = b[c]
                    for i in range(k):
                        for j in range(k):
                            hh, ww = h + i - top, col + j - top
                            if 0 <= hh < height and 0 <= ww < width:
                                total += x[n, hh, ww, c] * w[i, j, c]
                    y[n, h, col, c] = total
    return y


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_depthwise_reference_matches_the_loop_definition(k):
    rng = np.random.default_rng(k)
    x, w, b = random(rng, (2, 4, 5, 3), np.float64), random(rng, (k, k, 3), np.float64), \
        random(rng, (3,), np.float64)
    np.testing.assert_allclose(reference.depthwise_conv2d_forward(x, w, b),
                               depthwise_by_loops(x, w, b), rtol=1e-12, atol=1e-12)


def test_depthwise_even_kernel_pads_bottom_right():
    # a 2x2 kernel of ones at the bottom-right corner only sees the pixel itself
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    y = reference.depthwise_conv2d_forward(x, np.ones((2, 2, 1)))
    assert y[0, 2, 2, 0] == 9.0 and y[0, 0, 0, 0] == 1 + 2 + 4 + 5


def test_depthwise_backward_is_the_adjoint_of_forward():
    # <conv(x), g> = <x, grad_x(g)> and = <w, grad_w(g)> (the conv is bilinear)
    rng = np.random.default_rng(0)
    x, w, g = random(rng, (2, 5, 6, 3), np.float64), random(rng, (4, 4, 3), np.float64), \
        random(rng, (2, 5, 6, 3), np.float64)
    inner = np.sum(reference.depthwise_conv2d_forward(x, w) * g)
    grad_x, grad_w, grad_b = reference.depthwise_conv2d_backward(x, w, g)
    assert math.isclose(inner, np.sum(x * grad_x), rel_tol=1e-12)
    assert math.isclose(inner, np.sum(w * grad_w), rel_tol=1e-12)
    np.testing.assert_allclose(grad_b, g.sum(axis=(0, 1, 2)))


def test_patchify_orders_patch_vectors_row_column_channel():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    patches = reference.patchify(x, 2)
    # patch (row 1, col 0) of image 1: pixels (2,0), (2,1), (3,0), (3,1), channels inside
    expected = np.concatenate([x[1, 2, 0], x[1, 2, 1], x[1, 3, 0], x[1, 3, 1]])
    np.testing.assert_array_equal(patches[1, 1, 0], expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_patch_size_must_divide_the_image(backend):
    with pytest.raises(ValueError, match="5x6 is not divisible by patch size 2"):
        backend.patchify(np.zeros((1, 5, 6, 3), np.float32), 2)
    with pytest.raises(ValueError, match="p\\*p\\*channels"):
        backend.unpatchify(np.zeros((1, 2, 2, 7), np.float32), 2, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_depthwise_shape_errors(backend):
    x = np.zeros((1, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="weight must be \\(k, k, C\\) with C=3"):
        backend.depthwise_conv2d_forward(x, np.zeros((3, 3, 2), np.float32))
    with pytest.raises(ValueError, match="input must be \\(N, H, W, C\\)"):
        backend.depthwise_conv2d_forward(x[0], np.zeros((3, 3, 3), np.float32))


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-7, 7, 20001), np.geomspace(1e-300, 1e-2, 50)])
    exact = np.array([math.erf(v) for v in x])
    approx = erf(x)
    np.testing.assert_allclose(approx, exact, rtol=1e-13, atol=0)
    assert np.isnan(erf(np.array([np.nan])))[0]
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1, -1, 0])
    assert erf(np.float32(0.5)).dtype == np.float32


def test_layer_norm_reference_normalises_rows():
    rng = np.random.default_rng(1)
    x = random(rng, (6, 16), np.float64, scale=5.0) + 3.0
    y, mean, rstd = reference.layer_norm_forward(x, np.ones(16), np.zeros(16), 0.0)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(mean, x.mean(axis=1))
    np.testing.assert_allclose(rstd, 1 / x.std(axis=1))


def test_batch_norm_reference_returns_biased_variance():
    rng = np.random.default_rng(2)
    x = random(rng, (4, 3, 3, 5), np.float64)
    _, mean, rstd, var = reference.batch_norm_forward(x, np.ones(5), np.zeros(5), 1e-5)
    rows = x.reshape(-1, 5)
    np.testing.assert_allclose(mean, rows.mean(axis=0))
    np.testing.assert_allclose(var, rows.var(axis=0))
    np.testing.assert_allclose(rstd, 1 / np.sqrt(rows.var(axis=0) + 1e-5))


def test_cross_entropy_reference_by_hand():
    logits = np.array([[2.0, 0.0, -1.0]])
    log_probs = logits - np.log(np.exp(logits).sum())
    ls = 0.3
    expected = -((1 - ls) * log_probs[0, 1] + ls * log_probs[0].mean())
    loss, probs = reference.softmax_cross_entropy_forward(logits, np.array([1]), ls)
    assert math.isclose(float(loss), expected, rel_tol=1e-12)
    np.testing.assert_allclose(probs, np.exp(log_probs))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [10, -1])
def test_labels_out_of_range_name_the_label_and_k(backend, bad):
    logits = np.zeros((3, 10), np.float32)
    with pytest.raises(ValueError, match=f"label {bad} is out of range for K=10"):
        backend.softmax_cross_entropy_forward(logits, np.array([0, bad, 2]))
    with pytest.raises(ValueError, match="labels must have shape \\(3,\\)"):
        backend.softmax_cross_entropy_forward(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="must be integers"):
        backend.softmax_cross_entropy_forward(logits, np.array([0.0, 1.0, 2.0]))


def test_adamw_reference_first_step_by_hand():
    # after one step m = (1-b1) g, v = (1-b2) g^2, so the update is lr * g / (|g| + eps')
    param, grad = np.array([1.0, -2.0]), np.array([0.5, -4.0])
    exp_avg, exp_avg_sq = np.zeros(2), np.zeros(2)
    lr, wd, eps = 0.1, 0.01, 1e-8
    reference.adamw_update(param, grad, exp_avg, exp_avg_sq, lr, 0.9, 0.999, eps, wd, 1)
    expected = np.array([1.0, -2.0]) * (1 - lr * wd) - lr * grad / (np.abs(grad) + eps)
    np.testing.assert_allclose(param, expected, rtol=1e-12)
    np.testing.assert_allclose(exp_avg, 0.1 * grad)
    np.testing.assert_allclose(exp_avg_sq, 0.001 * grad**2)


# ---------------------------------------------------------------- backend switch


@pytest.fixture
def restore_backend():
    before = kernels.get_backend()
    yield
    kernels.set_backend(before)


def test_set_backend_switches_current_module(restore_backend):
    kernels.set_backend("numpy")
    assert kernels.get_backend() == "numpy" and kernels.current() is reference
    kernels.set_backend("numba")
    assert kernels.get_backend() == "numba" and kernels.current() is fast


def test_unknown_backend_is_rejected(restore_backend):
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        kernels.set_backend("cuda")


def test_default_backend_comes_from_the_environment(monkeypatch, restore_backend):
    try:
        monkeypatch.setenv("MINIMIXER_BACKEND", "numpy")
        assert importlib.reload(kernels).get_backend() == "numpy"
        monkeypatch.delenv("MINIMIXER_BACKEND")
        assert importlib.reload(kernels).get_backend() == "numba"
        monkeypatch.setenv("MINIMIXER_BACKEND", "gpu")
        with pytest.raises(ValueError, match="unknown backend 'gpu'"):
            importlib.reload(kernels)
    finally:
        monkeypatch.delenv("MINIMIXER_BACKEND", raising=False)
        importlib.reload(kernels)
