"""The depthwise forward kernel's explicit padding: both backends agree, and the
pair that equals "same" gives exactly the "same" result.

The exercise checker uses explicit padding to compute typical wrong answers (the
extra row on the wrong side, no padding at all); the backward pass of "same"
padding is itself a conv with the flipped kernel and the mirrored padding.
"""

import numpy as np
import pytest
from kernel_cases import assert_close, random

from minimixer.kernels import fast, reference


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("padding", [(0, 0), (1, 0), (0, 2), (2, 2), (3, 1)])
def test_both_backends_agree_on_explicit_padding(k, padding):
    rng = np.random.default_rng(k)
    x, w, b = random(rng, (2, 6, 5, 3), np.float32), random(rng, (k, k, 3), np.float32), \
        random(rng, (3,), np.float32)
    before, after = padding
    expected_shape = (2, 6 + before + after - k + 1, 5 + before + after - k + 1, 3)
    if min(expected_shape[1:3]) < 1:
        for backend in (reference, fast):
            with pytest.raises(ValueError, match="does not fit"):
                backend.depthwise_conv2d_forward(x, w, b, padding=padding)
        return
    y = reference.depthwise_conv2d_forward(x, w, b, padding=padding)
    assert y.shape == expected_shape and y.dtype == np.float32
    assert_close(fast.depthwise_conv2d_forward(x, w, b, padding=padding), y, np.float32)


@pytest.mark.parametrize("backend", [reference, fast], ids=["reference", "fast"])
@pytest.mark.parametrize("k", [2, 3, 4])
def test_the_same_pair_equals_same_padding(backend, k):
    rng = np.random.default_rng(10 + k)
    x, w = random(rng, (1, 5, 7, 2), np.float64), random(rng, (k, k, 2), np.float64)
    pair = reference.same_padding(k)
    np.testing.assert_array_equal(backend.depthwise_conv2d_forward(x, w, padding=pair),
                                  backend.depthwise_conv2d_forward(x, w))


def test_valid_padding_is_the_plain_sliding_window_sum():
    rng = np.random.default_rng(0)
    x, w = random(rng, (1, 4, 4, 1), np.float64), random(rng, (3, 3, 1), np.float64)
    y = reference.depthwise_conv2d_forward(x, w, padding=(0, 0))
    by_hand = [[np.sum(x[0, r:r + 3, c:c + 3, 0] * w[..., 0]) for c in range(2)] for r in range(2)]
    np.testing.assert_allclose(y[0, ..., 0], by_hand)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_the_input_gradient_is_a_flipped_kernel_with_mirrored_padding(k):
    rng = np.random.default_rng(20 + k)
    x, w, g = (random(rng, s, np.float64) for s in ((2, 5, 6, 3), (k, k, 3), (2, 5, 6, 3)))
    before, after = reference.same_padding(k)
    grad_x, _, _ = reference.depthwise_conv2d_backward(x, w, g)
    np.testing.assert_allclose(
        reference.depthwise_conv2d_forward(g, w[::-1, ::-1], padding=(after, before)), grad_x, atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", (1,), (1, -1), (1.5, 0), (True, 0), None])
@pytest.mark.parametrize("backend", [reference, fast], ids=["reference", "fast"])
def test_bad_padding_is_refused(backend, padding):
    x, w = np.zeros((1, 4, 4, 1), np.float32), np.zeros((3, 3, 1), np.float32)
    with pytest.raises(ValueError, match="padding must be"):
        backend.depthwise_conv2d_forward(x, w, padding=padding)
