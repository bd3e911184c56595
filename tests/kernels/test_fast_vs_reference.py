"""The Numba kernels (fast.py) agree with the NumPy specification (reference.py).

Shapes include batch 1, one channel, odd and even kernels, rows that do not
divide evenly into the reduction chunks, and non-contiguous views; every
kernel is run in float32 and float64 and must return the input dtype.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_cases import (
    DTYPES,
    KERNEL_SIZES,
    assert_all_close,
    assert_close,
    needs_jit,
    random,
    transposed_view,
)

from minimixer.kernels import fast, reference

IMAGE_SHAPES = [(1, 5, 4, 1), (2, 6, 7, 3), (3, 9, 8, 5)]


@pytest.fixture(params=["parallel", "one thread"])
def launch_path(request, monkeypatch):
    """Run small jobs through the parallel path too (normally they stay on one thread)."""
    threshold = 0 if request.param == "parallel" else 1 << 62
    monkeypatch.setattr(fast, "_PARALLEL_MIN_WORK", threshold)
    return request.param


def _check_dtypes(outputs, dtype):
    for out in outputs:
        if out is not None:
            assert out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2, 3])
def test_patchify_roundtrip(dtype, p, launch_path):
    rng = np.random.default_rng(p)
    x = random(rng, (2, 6, 3 * p, 4), dtype)
    ref = reference.patchify(x, p)
    out = fast.patchify(x, p)
    assert out.dtype == dtype and out.shape == (2, 6 // p, 3, p * p * 4)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(fast.unpatchify(out, p, 4), x)
    np.testing.assert_array_equal(reference.unpatchify(ref, p, 4), x)


def test_patchify_accepts_a_transposed_view():
    rng = np.random.default_rng(0)
    x = transposed_view(rng, (2, 4, 6, 3), np.float32)
    np.testing.assert_array_equal(fast.patchify(x, 2), reference.patchify(x, 2))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", KERNEL_SIZES)
def test_depthwise_forward_and_backward(dtype, k, launch_path):
    rng = np.random.default_rng(k)
    for shape in IMAGE_SHAPES:
        c = shape[3]
        x, w, b = random(rng, shape, dtype), random(rng, (k, k, c), dtype), random(rng, (c,), dtype)
        grad_out = random(rng, shape, dtype)
        y = fast.depthwise_conv2d_forward(x, w, b)
        assert_close(y, reference.depthwise_conv2d_forward(x, w, b), dtype)
        grads = fast.depthwise_conv2d_backward(x, w, grad_out)
        assert_all_close(grads, reference.depthwise_conv2d_backward(x, w, grad_out), dtype)
        _check_dtypes((y,) + grads, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 4, 5])
def test_convmixer_inference_fusions(dtype, k, launch_path):
    rng = np.random.default_rng(10 + k)
    for shape in IMAGE_SHAPES:
        c = shape[3]
        x, w, b = random(rng, shape, dtype, scale=2.0) - 0.5, random(rng, (k, k, c), dtype), random(rng, (c,), dtype)
        scale, shift = random(rng, (c,), dtype), random(rng, (c,), dtype) - 0.5
        fused = fast.residual_depthwise_gelu_affine(x, w, b, scale, shift)
        assert_close(fused, reference.residual_depthwise_gelu_affine(x, w, b, scale, shift), dtype)
        tail = fast.gelu_affine(x, scale, shift)
        assert_close(tail, reference.gelu_affine(x, scale, shift), dtype)
        _check_dtypes((fused, tail), dtype)


@pytest.mark.parametrize("backend", [reference, fast])
def test_depthwise_without_bias_and_without_bias_grad(backend):
    rng = np.random.default_rng(1)
    x, w = random(rng, (2, 5, 5, 3), np.float64), random(rng, (3, 3, 3), np.float64)
    zero_bias = np.zeros(3)
    np.testing.assert_allclose(backend.depthwise_conv2d_forward(x, w),
                               backend.depthwise_conv2d_forward(x, w, zero_bias))
    grad_x, grad_w, grad_b = backend.depthwise_conv2d_backward(x, w, x, need_bias=False)
    assert grad_b is None and grad_x.shape == x.shape and grad_w.shape == w.shape


def test_depthwise_accepts_non_contiguous_inputs():
    rng = np.random.default_rng(2)
    x = transposed_view(rng, (2, 6, 5, 4), np.float32)
    w = random(rng, (4, 3, 3), np.float32).transpose(1, 2, 0)  # (3, 3, 4) view
    grad_out = transposed_view(rng, (2, 6, 5, 4), np.float32)
    assert_close(fast.depthwise_conv2d_forward(x, w), reference.depthwise_conv2d_forward(x, w),
                 np.float32)
    assert_all_close(fast.depthwise_conv2d_backward(x, w, grad_out),
                     reference.depthwise_conv2d_backward(x, w, grad_out), np.float32)


@needs_jit
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12), c=st.integers(1, 9),
       k=st.sampled_from(KERNEL_SIZES), seed=st.integers(0, 2**16))
def test_depthwise_random_shapes(n, h, w, c, k, seed):
    rng = np.random.default_rng(seed)
    x, weight, b = random(rng, (n, h, w, c), np.float32), random(rng, (k, k, c), np.float32), None
    grad_out = random(rng, (n, h, w, c), np.float32)
    assert_close(fast.depthwise_conv2d_forward(x, weight, b),
                 reference.depthwise_conv2d_forward(x, weight, b), np.float32)
    assert_all_close(fast.depthwise_conv2d_backward(x, weight, grad_out),
                     reference.depthwise_conv2d_backward(x, weight, grad_out), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (7, 5), (2, 17, 33), (40, 8)])
def test_layer_norm(dtype, shape, launch_path):
    rng = np.random.default_rng(3)
    x = random(rng, shape, dtype, scale=3.0) + 1.5
    gamma, beta = random(rng, shape[-1:], dtype), random(rng, shape[-1:], dtype)
    outputs = fast.layer_norm_forward(x, gamma, beta, 1e-5)
    expected = reference.layer_norm_forward(x, gamma, beta, 1e-5)
    assert_all_close(outputs, expected, dtype)
    assert outputs[1].shape == shape[:-1] and outputs[2].shape == shape[:-1]
    _, mean, rstd = expected
    grad_out = random(rng, shape, dtype)
    grads = fast.layer_norm_backward(grad_out, x, gamma, mean, rstd)
    assert_all_close(grads, reference.layer_norm_backward(grad_out, x, gamma, mean, rstd), dtype)
    _check_dtypes(outputs + grads, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 1), (2, 3, 3, 1), (1, 4, 5, 6), (3, 7, 6, 4), (50, 3)])
def test_batch_norm(dtype, shape, launch_path):
    rng = np.random.default_rng(4)
    x = random(rng, shape, dtype, scale=2.0) - 0.5
    gamma, beta = random(rng, shape[-1:], dtype), random(rng, shape[-1:], dtype)
    outputs = fast.batch_norm_forward(x, gamma, beta, 1e-5)
    expected = reference.batch_norm_forward(x, gamma, beta, 1e-5)
    assert_all_close(outputs, expected, dtype)
    _, mean, rstd, _ = expected
    grad_out = random(rng, shape, dtype)
    grads = fast.batch_norm_backward(grad_out, x, gamma, mean, rstd)
    assert_all_close(grads, reference.batch_norm_backward(grad_out, x, gamma, mean, rstd), dtype)
    _check_dtypes(outputs + grads, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 1), (2, 3, 3, 1), (3, 7, 6, 4), (50, 3)])
def test_gelu_batch_norm(dtype, shape, launch_path):
    rng = np.random.default_rng(7)
    x = random(rng, shape, dtype, scale=4.0) - 1.5
    gamma, beta = random(rng, shape[-1:], dtype), random(rng, shape[-1:], dtype)
    outputs = fast.gelu_batch_norm_forward(x, gamma, beta, 1e-5)
    expected = reference.gelu_batch_norm_forward(x, gamma, beta, 1e-5)
    assert_all_close(outputs, expected, dtype)
    _, mean, rstd, _ = expected
    grad_out = random(rng, shape, dtype)
    grads = fast.gelu_batch_norm_backward(grad_out, x, gamma, mean, rstd)
    assert_all_close(grads, reference.gelu_batch_norm_backward(grad_out, x, gamma, mean, rstd), dtype)
    _check_dtypes(outputs + grads, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape, axis", [((5, 3), -1), ((2, 7, 6), -1), ((50, 9), -1),
                                         ((3, 4, 5), -2), ((17, 6, 2), -2), ((2, 3, 0), -2)])
def test_bias_gelu(dtype, approximate, shape, axis, launch_path):
    rng = np.random.default_rng(8)
    y = random(rng, shape, dtype, scale=4.0) - 1.5
    bias = random(rng, (shape[axis],), dtype)
    pre, out = fast.bias_gelu_forward(y.copy(), bias, axis, approximate)
    expected_pre, expected_out = reference.bias_gelu_forward(y.copy(), bias, axis, approximate)
    tol = 1e-6 if dtype == np.float32 else None  # the float32 GELU is good to a few ulp
    assert_close(pre, expected_pre, dtype)
    assert_close(out, expected_out, dtype, tol)
    grad_out = random(rng, shape, dtype)
    grad_pre, grad_bias = fast.bias_gelu_backward(pre, grad_out, axis, approximate)
    expected_grad_pre, expected_grad_bias = reference.bias_gelu_backward(pre, grad_out, axis, approximate)
    assert_close(grad_pre, expected_grad_pre, dtype, tol)
    assert_close(grad_bias, expected_grad_bias, dtype, tol)
    assert grad_bias.shape == bias.shape
    _check_dtypes((pre, out, grad_pre, grad_bias), dtype)


@pytest.mark.parametrize("backend", [reference, fast])
def test_bias_gelu_rejects_a_bias_that_does_not_fit(backend):
    with pytest.raises(ValueError, match="bias of shape"):
        backend.bias_gelu_forward(np.zeros((2, 3), np.float32), np.zeros(2, np.float32), -1)
    with pytest.raises(ValueError, match="axis"):
        backend.bias_gelu_backward(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32), 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_apply(dtype, launch_path):
    rng = np.random.default_rng(6)
    mean, scale, shift = (random(rng, (7,), dtype) for _ in range(3))
    for x in (random(rng, (3, 5, 4, 7), dtype) - 0.5, transposed_view(rng, (3, 5, 4, 7), dtype)):
        y = fast.batch_norm_apply(x, mean, scale, shift)
        assert_close(y, reference.batch_norm_apply(x, mean, scale, shift), dtype)
        _check_dtypes([y], dtype)


def test_norms_accept_a_transposed_view():
    rng = np.random.default_rng(5)
    x = transposed_view(rng, (2, 3, 4, 5), np.float32)
    gamma, beta = random(rng, (5,), np.float32), random(rng, (5,), np.float32)
    for name in ("layer_norm_forward", "batch_norm_forward"):
        assert_all_close(getattr(fast, name)(x, gamma, beta, 1e-5),
                         getattr(reference, name)(x, gamma, beta, 1e-5), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu(dtype, approximate, launch_path):
    rng = np.random.default_rng(6)
    x = np.concatenate([random(rng, (300,), dtype, scale=3.0),
                        np.array([0.0, -0.0, 1e-30, 5.0, -5.0, 9.0, -9.0, 30.0, -30.0], dtype)])
    x = x.reshape(3, 103)[:, ::2]  # non-contiguous
    grad_out = random(rng, x.shape, dtype)
    y = fast.gelu_forward(x, approximate)
    grad_x = fast.gelu_backward(x, grad_out, approximate)
    # the float32 GELU of _float32_math is good to a few ulp: a slightly looser bound
    tol = 1e-6 if dtype == np.float32 else None
    assert_close(y, reference.gelu_forward(x, approximate), dtype, tol)
    assert_close(grad_x, reference.gelu_backward(x, grad_out, approximate), dtype, tol)
    _check_dtypes((y, grad_x), dtype)


@pytest.mark.parametrize("backend", [reference, fast])
def test_gelu_rejects_unknown_approximation(backend):
    with pytest.raises(ValueError, match="approximate"):
        backend.gelu_forward(np.zeros(3, np.float32), "sigmoid")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("n, k", [(1, 1), (1, 10), (7, 3), (33, 10)])
def test_softmax_cross_entropy(dtype, smoothing, n, k, launch_path):
    rng = np.random.default_rng(n * k)
    logits = random(rng, (n, k), dtype, scale=4.0)
    labels = rng.integers(0, k, size=n)
    loss, probs = fast.softmax_cross_entropy_forward(logits, labels, smoothing)
    expected_loss, expected_probs = reference.softmax_cross_entropy_forward(logits, labels, smoothing)
    assert loss.shape == () and loss.dtype == dtype and probs.dtype == dtype
    assert_close(loss, expected_loss, dtype)
    assert_close(probs, expected_probs, dtype)
    grad = fast.softmax_cross_entropy_backward(probs, labels, smoothing, np.asarray(1.5, dtype))
    expected = reference.softmax_cross_entropy_backward(probs, labels, smoothing, 1.5)
    assert grad.dtype == dtype
    assert_close(grad, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adamw_update(dtype, launch_path):
    rng = np.random.default_rng(7)
    shape = (5, 7)
    states = {}
    for backend in (reference, fast):
        param = random(np.random.default_rng(8), shape, dtype)
        exp_avg, exp_avg_sq = np.zeros(shape, dtype), np.zeros(shape, dtype)
        for step in range(1, 4):
            grad = random(rng, shape, dtype)
            backend.adamw_update(param, grad, exp_avg, exp_avg_sq, lr=1e-2, beta1=0.9,
                                 beta2=0.999, eps=1e-8, weight_decay=0.05, step=step)
        rng = np.random.default_rng(7)  # same gradients for the second backend
        states[backend] = (param, exp_avg, exp_avg_sq)
        assert all(a.dtype == dtype for a in states[backend])
    assert_all_close(states[fast], states[reference], dtype)


def test_fast_adamw_updates_non_contiguous_arrays_in_place():
    rng = np.random.default_rng(9)
    results = {}
    for backend in (reference, fast):
        param = random(np.random.default_rng(10), (4, 3), np.float32).T  # not C-contiguous
        exp_avg, exp_avg_sq = np.zeros((4, 3), np.float32).T, np.zeros((3, 4), np.float32)
        grad = random(rng, (3, 4), np.float32)
        backend.adamw_update(param, grad, exp_avg, exp_avg_sq, 1e-2, 0.9, 0.999, 1e-8, 0.05, 1)
        results[backend] = (param, exp_avg, exp_avg_sq)
        rng = np.random.default_rng(9)
    assert_all_close(results[fast], results[reference], np.float32)


def test_fast_adamw_refuses_state_of_another_dtype():
    param = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="exp_avg must be a float32 array of shape"):
        fast.adamw_update(param, param, np.zeros((3, 4)), param.copy(), 1e-3, 0.9, 0.999, 1e-8, 0.0, 1)


@pytest.mark.parametrize("shape, k", [((3, 14, 14, 20), 7), ((2, 5, 6, 17), 9), ((2, 16, 16, 32), 5),
                                      ((1, 7, 4, 3), 5)])
def test_blocked_depthwise_kernels_agree_with_the_reference(shape, k, launch_path):
    """The register-blocked kernels (float32, odd k >= 5, width >= 4): widths that are
    not a multiple of four, maps smaller than the kernel, channel counts that do not
    fill a vector; forward, both gradients and the fused inference step."""
    rng = np.random.default_rng(k)
    c = shape[3]
    x, w, b = random(rng, shape, np.float32), random(rng, (k, k, c), np.float32), random(rng, (c,), np.float32)
    grad_out = random(rng, shape, np.float32)
    scale, shift = random(rng, (c,), np.float32), random(rng, (c,), np.float32)
    assert fast._use_blocked(x, k)
    assert_close(fast.depthwise_conv2d_forward(x, w, b), reference.depthwise_conv2d_forward(x, w, b), np.float32)
    assert_all_close(fast.depthwise_conv2d_backward(x, w, grad_out),
                     reference.depthwise_conv2d_backward(x, w, grad_out), np.float32)
    assert_close(fast.residual_depthwise_gelu_affine(x, w, b, scale, shift),
                 reference.residual_depthwise_gelu_affine(x, w, b, scale, shift), np.float32)
    grad_x, grad_w, grad_b = fast.depthwise_conv2d_backward(x, w, grad_out, need_bias=False)
    assert grad_b is None
