"""The softmax cross-entropy kernels beyond the training default: the "sum" and "none"
reductions, masked (-inf) logits and empty batches, with fast.py and reference.py
agreeing on each."""

import numpy as np
import pytest
from kernel_cases import DTYPES, TOLERANCE, random

from minimixer.kernels import fast, reference


@pytest.fixture(params=["parallel", "one thread"])
def launch_path(request, monkeypatch):
    """Run small jobs through the parallel path too (normally they stay on one thread)."""
    monkeypatch.setattr(fast, "_PARALLEL_MIN_WORK", 0 if request.param == "parallel" else 1 << 62)
    return request.param


def close(actual, expected, dtype):
    """Equal within the backend tolerance; infinities must sit in the same places."""
    tol = TOLERANCE[np.dtype(dtype).type]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def upstream(reduction, n, dtype):
    return np.linspace(0.5, 2.0, n).astype(dtype) if reduction == "none" else np.asarray(1.5, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("n, k", [(1, 3), (33, 10)])
def test_fast_matches_reference(dtype, reduction, smoothing, masked, n, k, launch_path):
    rng = np.random.default_rng(n + k)
    logits = random(rng, (n, k), dtype, scale=3.0)
    labels = rng.integers(0, k, size=n)
    if masked:  # mask one class per row, never the label
        logits[np.arange(n), (labels + 1) % k] = -np.inf
    outputs = {}
    for backend in (reference, fast):
        loss, probs = backend.softmax_cross_entropy_forward(logits, labels, smoothing, reduction)
        grad = backend.softmax_cross_entropy_backward(probs, labels, smoothing,
                                                      upstream(reduction, n, dtype), reduction)
        assert loss.dtype == probs.dtype == grad.dtype == dtype
        assert loss.shape == ((n,) if reduction == "none" else ())
        assert not np.isnan(loss).any() and np.isfinite(grad).all()
        outputs[backend.__name__] = loss, probs, grad
    for got, want in zip(outputs[fast.__name__], outputs[reference.__name__]):
        close(got, want, dtype)
    loss = outputs[reference.__name__][0]
    # a masked class costs nothing without smoothing, and is impossible (inf) with it
    assert np.isinf(loss).all() if masked and smoothing else np.isfinite(loss).all()


@pytest.mark.parametrize("backend", [reference, fast])
def test_reductions_relate_and_scale_the_gradient(backend):
    rng = np.random.default_rng(0)
    logits, labels = random(rng, (6, 4), np.float64), rng.integers(0, 4, size=6)
    rows, probs = backend.softmax_cross_entropy_forward(logits, labels, 0.2, "none")
    total, _ = backend.softmax_cross_entropy_forward(logits, labels, 0.2, "sum")
    mean, _ = backend.softmax_cross_entropy_forward(logits, labels, 0.2)
    np.testing.assert_allclose([total, mean], [rows.sum(), rows.mean()], rtol=1e-12)
    per_row = backend.softmax_cross_entropy_backward(probs, labels, 0.2, np.arange(6.0), "none")
    summed = backend.softmax_cross_entropy_backward(probs, labels, 0.2, 1.0, "sum")
    averaged = backend.softmax_cross_entropy_backward(probs, labels, 0.2, 1.0)
    np.testing.assert_allclose(per_row, summed * np.arange(6.0)[:, None], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(averaged, summed / 6, rtol=1e-12)


@pytest.mark.parametrize("backend", [reference, fast])
def test_empty_batches_and_unknown_reductions(backend):
    logits, labels = np.zeros((0, 3), np.float32), np.zeros(0, int)
    with pytest.raises(ValueError, match="cross_entropy: the batch is empty"):
        backend.softmax_cross_entropy_forward(logits, labels)
    loss, probs = backend.softmax_cross_entropy_forward(logits, labels, 0.1, "sum")
    assert loss == 0 and probs.shape == (0, 3)
    assert backend.softmax_cross_entropy_backward(probs, labels, 0.1, 1.0, "sum").shape == (0, 3)
    assert backend.softmax_cross_entropy_forward(logits, labels, 0.0, "none")[0].shape == (0,)
    with pytest.raises(ValueError, match="reduction must be one of"):
        backend.softmax_cross_entropy_forward(np.zeros((2, 3)), np.zeros(2, int), 0.0, "avg")
