"""The everyday ops beyond the Mixers: sigmoid, leaky_relu, abs, maximum/minimum, clip,
logsumexp, comparisons and argmax, dropout, mse_loss, and cross_entropy's reductions,
class-probability targets and masked (-inf) logits.

* float64 gradcheck of every differentiable op (no torch needed);
* exact gradients at kinks and ties, numerical stability, error messages;
* Hypothesis properties over random shapes (0-d, size-1 and size-0 axes, broadcasting
  both ways, float32 and float64);
* PyTorch as an oracle for values and gradients (skipped without torch).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minimixer as mm
from minimixer import kernels, nn, ops, optim

F = nn.functional
BACKENDS = ["numpy", "numba"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    before = kernels.get_backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(before)


def leaf(values, dtype=np.float64):
    return mm.tensor(np.array(values, dtype=dtype), requires_grad=True, dtype=dtype)


def away_from(rng, shape, kinks=(0.0,), gap=0.2, low=-2.0, high=2.0):
    """Uniform values with none closer than `gap` to a kink (finite differences there
    would straddle it)."""
    v = rng.uniform(low, high, size=shape)
    for k in kinks:
        near = np.abs(v - k) < gap
        v[near] = k + np.where(v[near] >= k, gap, -gap)
    return leaf(v)


def seeded_dropout(p):
    """Dropout with the same mask on every call (gradcheck evaluates fn many times)."""

    def fn(x):
        mm.manual_seed(7)
        return ops.dropout(x, p)

    return fn


# ---------------------------------------------------------------- gradcheck (float64)

def _gradcheck_cases():
    r = np.random.default_rng(0)
    n = lambda *shape: leaf(r.standard_normal(shape))  # noqa: E731
    return {
        "sigmoid": (ops.sigmoid, [n(3, 4)]),
        "sigmoid_saturated": (ops.sigmoid, [leaf([-30.0, -8.0, 8.0, 30.0])]),
        "leaky_relu": (ops.leaky_relu, [away_from(r, (3, 4))]),
        "leaky_relu_slope": (lambda x: F.leaky_relu(x, 0.3), [away_from(r, (5,))]),
        "abs": (ops.abs, [away_from(r, (2, 3))]),
        "abs_operator": (abs, [away_from(r, (4,))]),
        "maximum_rows_cols": (ops.maximum, [n(3, 1), n(1, 4)]),
        "maximum_b_broadcast": (ops.maximum, [n(2, 3, 4), n(4)]),
        "minimum_a_broadcast": (ops.minimum, [n(4), n(2, 3, 4)]),
        "minimum_method": (lambda a, b: a.minimum(b), [n(3, 2), n(3, 2)]),
        "clip": (lambda x: ops.clip(x, -0.5, 0.5),
                 [away_from(r, (3, 5), kinks=(-0.5, 0.5), gap=0.1)]),
        "clip_min": (lambda x: x.clip(min=0.2), [away_from(r, (6,), kinks=(0.2,))]),
        "clip_max": (lambda x: x.clamp(max=-0.1), [away_from(r, (6,), kinks=(-0.1,))]),
        "clip_array_bounds": (lambda x: ops.clip(x, np.array([-1.0, 0.0, 0.5]), 1.0),
                              [away_from(r, (2, 3), kinks=(-1.0, 0.0, 0.5, 1.0), gap=0.1)]),
        "logsumexp": (lambda x: ops.logsumexp(x, 1), [n(3, 4)]),
        "logsumexp_keepdims": (lambda x: x.logsumexp(0, keepdims=True), [n(3, 4)]),
        "logsumexp_axes": (lambda x: ops.logsumexp(x, (0, 2)), [n(2, 3, 4)]),
        "logsumexp_all": (lambda x: ops.logsumexp(x, None), [n(2, 3)]),
        "logsumexp_0d": (lambda x: ops.logsumexp(x, 0), [n()]),
        "dropout": (seeded_dropout(0.4), [n(4, 5)]),
        "mse_mean": (ops.mse_loss, [n(3, 4), n(3, 4)]),
        "mse_sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"), [n(5), n(5)]),
        "mse_none": (lambda a, b: ops.mse_loss(a, b, reduction="none"), [n(2, 3), n(2, 3)]),
        "mse_0d": (ops.mse_loss, [n(), n()]),
    }


GRADCHECK_CASES = _gradcheck_cases()


@pytest.mark.parametrize("name", sorted(GRADCHECK_CASES))
def test_gradcheck(name):
    fn, inputs = GRADCHECK_CASES[name]
    assert mm.gradcheck(fn, *inputs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_gradcheck_cross_entropy_with_labels(backend, reduction, smoothing):
    rng = np.random.default_rng(3)
    logits = leaf(2 * rng.standard_normal((5, 4)))
    labels = np.array([0, 3, 2, 3, 1])
    assert mm.gradcheck(lambda z: ops.cross_entropy(z, labels, smoothing, reduction=reduction),
                        logits)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_gradcheck_cross_entropy_with_probabilities(reduction, smoothing):
    rng = np.random.default_rng(4)
    logits = leaf(2 * rng.standard_normal((4, 3)))
    target = leaf(rng.dirichlet(np.ones(3), size=4) * 1.3)  # rows need not sum to 1
    assert mm.gradcheck(lambda z, t: ops.cross_entropy(z, t, smoothing, reduction=reduction),
                        logits, target)


# ---------------------------------------------------------------- kinks, ties, stability

def test_kink_gradients_follow_pytorch_rules():
    x = leaf([-1.0, 0.0, 2.0])
    ops.abs(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 1.0])
    x = leaf([-1.0, 0.0, 2.0])
    ops.leaky_relu(x, 0.1).sum().backward()
    np.testing.assert_allclose(x.grad, [0.1, 0.1, 1.0])
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    ops.clip(x, -1.0, 1.0).sum().backward()  # the boundaries themselves pass the gradient
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_maximum_and_minimum_split_ties_in_half():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 5.0])
    ops.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 5.0])
    ops.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])
    x = leaf([3.0, -1.0])
    ops.maximum(x, x).sum().backward()  # the halves add up: d max(x, x) / dx = 1
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_clip_with_min_above_max_gives_max_and_no_gradient():
    x = leaf([0.0, 1.5, 3.0])
    y = ops.clip(x, 2.0, 1.0)
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = leaf([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no warnings either
        y = ops.sigmoid(x)
        y.sum().backward()
    assert y.dtype == dtype and np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[3] == 0.5
    assert 0 < y.data[2] < 1e-8  # exp(-20): small but not rounded to 0
    assert x.grad[0] == 0.0 and x.grad[3] == 0.25


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_stable_and_handles_minus_infinity(dtype):
    x = mm.tensor([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, -np.inf], [-np.inf, -np.inf]],
                  dtype=dtype)
    out = ops.logsumexp(x, 1).data
    np.testing.assert_allclose(out[:3], [1000 + np.log(2), -1000 + np.log(2), 0.0], rtol=1e-6)
    assert out[3] == -np.inf and out.dtype == dtype
    assert ops.logsumexp(mm.tensor(np.zeros((2, 0))), 1).data.tolist() == [-np.inf, -np.inf]


def test_softmax_of_a_0d_tensor_is_one():
    x = leaf(3.0)
    assert ops.softmax(x).item() == 1.0 and ops.log_softmax(x, 0).item() == 0.0
    assert ops.logsumexp(x, -1).item() == 3.0


# ---------------------------------------------------------------- comparisons and argmax

def test_comparison_operators_give_bool_arrays_and_broadcast_both_ways():
    x = mm.tensor([[1.0, 2.0, 3.0]])
    y = mm.tensor([[2.0], [3.0]])
    expected = {"==": [[0, 1, 0], [0, 0, 1]], "!=": [[1, 0, 1], [1, 1, 0]],
                "<": [[1, 0, 0], [1, 1, 0]], "<=": [[1, 1, 0], [1, 1, 1]],
                ">": [[0, 0, 1], [0, 0, 0]], ">=": [[0, 1, 1], [0, 0, 1]]}
    results = {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}
    for op, result in results.items():
        assert isinstance(result, np.ndarray) and result.dtype == bool, op
        np.testing.assert_array_equal(result, np.array(expected[op], bool), err_msg=op)
    np.testing.assert_array_equal(ops.lt(y, x), x > y.data)       # array on the right
    np.testing.assert_array_equal(y.data <= x, ops.ge(x, y))      # array on the left
    np.testing.assert_array_equal(2.0 < x, [[False, False, True]])  # number on the left
    np.testing.assert_array_equal(x.eq(2), [[False, True, False]])
    with pytest.raises(ValueError, match=r"eq: shapes \(1, 3\) and \(2,\) cannot be broadcast"):
        ops.eq(x, np.zeros(2))


def test_a_comparison_mask_is_a_constant_in_arithmetic():
    x = leaf([-1.0, 2.0, -3.0, 4.0])
    (x * (x > 0)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 1.0])


def test_accuracy_reads_like_pytorch():
    logits = mm.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert (logits.argmax(axis=1) == np.array([1, 0, 0])).mean() == pytest.approx(2 / 3)


def test_tensors_stay_usable_as_dict_keys_set_members_and_optimizer_parameters():
    a, b = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(3))  # equal values, distinct tensors
    assert len({a, b}) == 2 and {a: 1, b: 2}[b] == 2
    assert a in [a] and a in {a} and b not in {a}
    assert (a == None) is False and (a != None) is True  # noqa: E711
    assert (a == "a") is False
    with pytest.raises(TypeError):
        a < None  # noqa: B015
    with pytest.raises(ValueError, match="ambiguous"):
        a in [b]  # noqa: B015  (== compares values, as in PyTorch)
    opt = optim.AdamW([a, b], lr=0.1)
    a.grad, b.grad = np.ones(3, np.float32), -np.ones(3, np.float32)
    opt.step()
    assert np.all(a.data < 1) and np.all(b.data > 1)
    assert opt.state[a] is not opt.state[b]


def test_argmax():
    x = mm.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]])
    out = x.argmax(axis=1)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [1, 0])  # the first of tied maxima
    np.testing.assert_array_equal(ops.argmax(x, axis=0), [1, 0, 1])
    np.testing.assert_array_equal(ops.argmax(x, -1, keepdims=True), [[1], [0]])
    assert ops.argmax(x).shape == () and int(ops.argmax(x)) == 3
    assert int(ops.argmax(mm.tensor(2.0), axis=0)) == 0
    assert ops.argmax(np.zeros((0, 3)), axis=1).shape == (0,)
    with pytest.raises(ValueError, match=r"argmax: .*empty axis of shape \(2, 0\)"):
        ops.argmax(np.zeros((2, 0)), axis=1)
    with pytest.raises(ValueError, match="argmax: axis 2 is out of range"):
        x.argmax(axis=2)


# ---------------------------------------------------------------- dropout

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_scales_kept_entries_and_its_gradient(dtype):
    x = leaf(np.arange(1.0, 2001.0).reshape(40, 50), dtype)
    y = ops.dropout(x, p=0.25)
    kept = y.data != 0
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data[kept], x.data[kept] / 0.75, rtol=1e-6)
    assert 0.2 < 1 - kept.mean() < 0.3
    y.backward(np.full(x.shape, 2.0))
    np.testing.assert_allclose(x.grad, np.where(kept, 2 / 0.75, 0.0), rtol=1e-6)


def test_dropout_edge_probabilities_and_eval_mode():
    x = leaf(np.ones((3, 4)))
    assert ops.dropout(x, 0.0) is x and ops.dropout(x, 0.7, training=False) is x
    y = ops.dropout(x, 1.0)
    assert np.all(y.data == 0)
    y.sum().backward()
    assert np.all(x.grad == 0)
    for bad in [-0.1, 1.5, float("nan"), "0.5"]:
        with pytest.raises(ValueError, match=r"dropout: p .* must be in \[0, 1\]"):
            ops.dropout(x, bad)


def test_dropout_is_reproducible_with_manual_seed():
    x = np.ones((8, 8))
    mm.manual_seed(3)
    first = ops.dropout(x, 0.5).data
    second = ops.dropout(x, 0.5).data
    mm.manual_seed(3)
    assert np.array_equal(ops.dropout(x, 0.5).data, first)
    assert not np.array_equal(first, second)


def test_dropout_module_follows_train_and_eval():
    layer = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = mm.tensor(np.ones((16, 4)))
    assert np.any(layer(x).data == 0)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer[0](x).data)
    assert repr(layer[1]) == "Dropout(p=0.5)"
    with pytest.raises(ValueError, match="dropout"):
        nn.Dropout(2)


# ---------------------------------------------------------------- losses: errors and masking

@pytest.mark.parametrize("target", [np.zeros(0, int), np.zeros((0, 3))], ids=["labels", "probs"])
def test_cross_entropy_of_an_empty_batch(backend, target):
    logits = leaf(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="cross_entropy: the batch is empty"):
        ops.cross_entropy(logits, target)
    total = ops.cross_entropy(logits, target, reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert logits.grad.shape == (0, 3)
    assert ops.cross_entropy(logits, target, reduction="none").shape == (0,)


def test_loss_argument_errors():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        ops.cross_entropy(logits, [0, 1], reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        ops.cross_entropy(logits, np.full((2, 3), 1 / 3), reduction="batchmean")
    with pytest.raises(ValueError, match=r"class probabilities of the same shape.*target \(2, 2\)"):
        ops.cross_entropy(logits, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be integers"):
        ops.cross_entropy(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3, 1\) and target shape \(3,\)"):
        ops.mse_loss(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="mse_loss: the batch is empty"):
        ops.mse_loss(np.zeros(0), np.zeros(0))
    assert ops.mse_loss(np.zeros(0), np.zeros(0), reduction="sum").item() == 0.0


@pytest.mark.parametrize("op", [ops.softmax, ops.log_softmax])
def test_softmax_axis_out_of_range_is_a_clear_value_error(op):
    with pytest.raises(ValueError, match=rf"{op.__name__}: axis 5 is out of range.*shape \(2, 3\)"):
        op(mm.tensor(np.zeros((2, 3))), 5)
    with pytest.raises(ValueError, match="axis -3"):
        op(mm.tensor(np.zeros((2, 3))), -3)


def masked_logits():
    return np.array([[2.0, -np.inf, 0.5, -1.0], [-np.inf, 1.0, 3.0, -np.inf]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignores_masked_classes(backend, reduction):
    logits, labels = leaf(masked_logits()), np.array([0, 2])
    loss = ops.cross_entropy(logits, labels, reduction=reduction)
    # the same rows with the masked classes left out
    row0, row1 = masked_logits()[0, [0, 2, 3]], masked_logits()[1, [1, 2]]
    rows = [np.log(np.exp(row0).sum()) - row0[0], np.log(np.exp(row1).sum()) - row1[1]]
    expected = {"mean": np.mean(rows), "sum": np.sum(rows), "none": rows}[reduction]
    np.testing.assert_allclose(loss.data, expected, rtol=1e-12)
    loss.backward(np.ones(loss.shape))
    assert np.all(np.isfinite(logits.grad)) and np.all(logits.grad[np.isinf(masked_logits())] == 0)


def test_cross_entropy_with_smoothing_on_a_masked_class_is_infinite(backend):
    # The smoothed target puts weight on the impossible class: PyTorch gives inf too.
    loss = ops.cross_entropy(masked_logits(), [0, 2], label_smoothing=0.1)
    assert loss.item() == np.inf


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_one_hot_probabilities_equal_labels_even_with_masked_classes(backend, reduction):
    labels = np.array([0, 2])
    from_labels = leaf(masked_logits())
    from_probs = leaf(masked_logits())
    a = ops.cross_entropy(from_labels, labels, reduction=reduction)
    b = ops.cross_entropy(from_probs, np.eye(4)[labels], reduction=reduction)
    np.testing.assert_allclose(b.data, a.data, rtol=1e-12)
    a.backward(np.ones(a.shape))
    b.backward(np.ones(b.shape))
    np.testing.assert_allclose(from_probs.grad, from_labels.grad, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- Hypothesis properties

DTYPES = st.sampled_from([np.float32, np.float64])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                          max_side=3)
TOL = {np.float32: 2e-6, np.float64: 1e-12}
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def draw_array(data, dtype, shape, low=-10.0, high=10.0):
    elements = st.floats(low, high, width=32, allow_subnormal=False)
    return data.draw(hnp.arrays(dtype, shape, elements=elements))


def draw_axis(data, ndim, allow_none=False):
    choices = list(range(-max(ndim, 1), max(ndim, 1))) + ([None] if allow_none else [])
    return data.draw(st.sampled_from(choices))


def backward_ones(fn, x):
    t = mm.tensor(x, requires_grad=True, dtype=x.dtype)
    out = fn(t)
    out.backward(np.ones(out.shape, out.dtype))
    return out.data, t.grad


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shape=SHAPES)
def test_pointwise_ops_properties(data, dtype, shape):
    x = draw_array(data, dtype, shape, -1e4, 1e4)
    tol = TOL[dtype]
    y, g = backward_ones(ops.sigmoid, x)
    half_tanh = np.tanh(x.astype(np.float64) / 2)  # sigmoid(x) = (1 + tanh(x/2)) / 2, stable
    assert y.dtype == dtype and y.shape == shape and g.shape == shape
    np.testing.assert_allclose(y, (1 + half_tanh) / 2, rtol=tol, atol=tol)
    np.testing.assert_allclose(g, (1 - half_tanh**2) / 4, rtol=10 * tol, atol=tol)

    slope = data.draw(st.sampled_from([0.0, 0.01, 0.5, 2.0]))
    y, g = backward_ones(lambda t: ops.leaky_relu(t, slope), x)
    np.testing.assert_allclose(y, np.where(x > 0, x, slope * x.astype(np.float64)), rtol=tol)
    np.testing.assert_array_equal(g, np.where(x > 0, 1.0, dtype(slope)))

    y, g = backward_ones(ops.abs, x)
    np.testing.assert_array_equal(y, np.abs(x))
    np.testing.assert_array_equal(g, np.sign(x))

    low, high = sorted(data.draw(st.lists(st.floats(-1e4, 1e4, width=32), min_size=2, max_size=2)))
    y, g = backward_ones(lambda t: ops.clip(t, low, high), x)
    assert y.dtype == dtype and np.all((y >= low) & (y <= high))
    np.testing.assert_array_equal(y, np.minimum(np.maximum(x, dtype(low)), dtype(high)))
    np.testing.assert_array_equal(g, ((x >= dtype(low)) & (x <= dtype(high))).astype(dtype))


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shapes=PAIRS)
def test_maximum_minimum_and_comparisons_broadcast_both_ways(data, dtype, shapes):
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    small = st.integers(-2, 2).map(float)  # few values: many ties
    a = data.draw(hnp.arrays(dtype, shape_a, elements=small))
    b = data.draw(hnp.arrays(dtype, shape_b, elements=small))
    upstream = draw_array(data, dtype, out_shape)
    for op, reference in ((ops.maximum, np.maximum), (ops.minimum, np.minimum)):
        ta, tb = mm.tensor(a, True, dtype=dtype), mm.tensor(b, True, dtype=dtype)
        out = op(ta, tb)
        assert out.dtype == dtype and out.shape == out_shape
        np.testing.assert_array_equal(out.data, reference(a, b))
        out.backward(upstream)
        assert ta.grad.shape == shape_a and tb.grad.shape == shape_b
        # every output's gradient goes to a, to b, or half to each: none is lost
        total = np.float64(ta.grad.sum()) + np.float64(tb.grad.sum())
        np.testing.assert_allclose(total, upstream.astype(np.float64).sum(), rtol=1e-5, atol=1e-4)
        swapped_b = mm.tensor(b, True, dtype=dtype)
        op(swapped_b, mm.tensor(a, dtype=dtype)).backward(upstream)
        np.testing.assert_allclose(swapped_b.grad, tb.grad, rtol=TOL[dtype])
    ta, tb = mm.tensor(a, dtype=dtype), mm.tensor(b, dtype=dtype)
    for result, expected in ((ta == tb, a == b), (ta != tb, a != b), (ta < tb, a < b),
                             (ta <= tb, a <= b), (ta > tb, a > b), (ta >= tb, a >= b),
                             (a < tb, a < b), (ta > b, a > b)):
        assert result.dtype == bool and result.shape == out_shape
        np.testing.assert_array_equal(result, expected)


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shape=SHAPES, keepdims=st.booleans())
def test_logsumexp_properties(data, dtype, shape, keepdims):
    x = draw_array(data, dtype, shape, -50, 50)
    axis = draw_axis(data, len(shape), allow_none=True)
    y, g = backward_ones(lambda t: ops.logsumexp(t, axis, keepdims=keepdims), x)
    axes = () if not shape else (tuple(range(len(shape))) if axis is None else (axis % len(shape),))
    with np.errstate(divide="ignore"):
        expected = np.log(np.exp(x.astype(np.float64)).sum(axis=axes, keepdims=keepdims))
    assert y.dtype == dtype and y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=TOL[dtype], atol=TOL[dtype])
    # its gradient is softmax: positive, one per reduced slice
    assert np.all(g >= 0) and g.shape == shape
    slices = np.sum(g, axis=axes)
    np.testing.assert_allclose(slices, np.where(np.sum(np.ones(shape), axis=axes) > 0, 1.0, 0.0),
                               rtol=1e-5)
    # shifting the input shifts the output
    shifted = ops.logsumexp(mm.tensor(x + dtype(3), dtype=dtype), axis, keepdims=keepdims).data
    np.testing.assert_allclose(shifted, y + 3, rtol=1e-5, atol=1e-4)


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shape=SHAPES)
def test_softmax_properties(data, dtype, shape):
    x = draw_array(data, dtype, shape, -30, 30)
    axis = draw_axis(data, len(shape))
    s, g = backward_ones(lambda t: ops.softmax(t, axis), x)
    log_s = ops.log_softmax(mm.tensor(x, dtype=dtype), axis).data
    assert s.dtype == log_s.dtype == dtype and s.shape == log_s.shape == shape
    row_sums = s.sum(axis=axis) if shape else s
    empty_rows = bool(shape) and shape[axis] == 0
    np.testing.assert_allclose(row_sums, 0.0 if empty_rows else 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.exp(log_s.astype(np.float64)), s, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g, 0.0, atol=1e-5)  # softmax sums to 1: d(sum)/dx = 0
    with pytest.raises(ValueError, match="out of range"):
        ops.softmax(mm.tensor(x, dtype=dtype), max(len(shape), 1))


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shape=SHAPES, keepdims=st.booleans())
def test_argmax_properties(data, dtype, shape, keepdims):
    x = draw_array(data, dtype, shape)
    axis = draw_axis(data, len(shape), allow_none=True)
    empty = x.size == 0 and (axis is None or not shape or shape[axis] == 0)
    if empty:
        with pytest.raises(ValueError, match="empty axis"):
            ops.argmax(x, axis, keepdims)
        return
    index = ops.argmax(mm.tensor(x, dtype=dtype), axis, keepdims)
    assert index.dtype == np.int64
    if axis is None or not shape:
        assert x.reshape(-1)[int(index.reshape(-1)[0])] == x.max()
        return
    expected = np.argmax(x, axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(index, expected)
    winners = np.take_along_axis(x, np.expand_dims(index, axis) if not keepdims else index, axis)
    np.testing.assert_array_equal(np.squeeze(winners, axis), x.max(axis=axis))


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shape=SHAPES, p=st.floats(0, 1))
def test_dropout_properties(data, dtype, shape, p):
    x = draw_array(data, dtype, shape, 0.5, 10)  # no zeros: a zero output means dropped
    upstream = draw_array(data, dtype, shape)
    t = mm.tensor(x, True, dtype=dtype)
    y = ops.dropout(t, p)
    assert y.dtype == dtype and y.shape == shape
    kept = y.data != 0
    if p == 1:
        assert not kept.any()
    else:
        np.testing.assert_allclose(y.data[kept], x[kept] / (1 - p), rtol=1e-5)
    y.backward(upstream)
    expected = np.where(kept, upstream / (1 - p) if p < 1 else 0, 0)
    np.testing.assert_allclose(t.grad, expected, rtol=1e-5, atol=1e-30)


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, shape=SHAPES,
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_mse_loss_properties(data, dtype, shape, reduction):
    x, target = draw_array(data, dtype, shape), draw_array(data, dtype, shape)
    ti, tt = mm.tensor(x, True, dtype=dtype), mm.tensor(target, True, dtype=dtype)
    if reduction == "mean" and x.size == 0:
        with pytest.raises(ValueError, match="empty"):
            ops.mse_loss(ti, tt)
        return
    loss = ops.mse_loss(ti, tt, reduction=reduction)
    diff = x.astype(np.float64) - target
    count = max(x.size, 1) if reduction == "mean" else 1
    expected = {"mean": np.mean(diff**2) if x.size else 0, "sum": np.sum(diff**2), "none": diff**2}
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.data, expected[reduction], rtol=1e-5, atol=1e-30)
    loss.backward(np.ones(loss.shape, dtype))
    np.testing.assert_allclose(ti.grad, 2 * diff / count, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tt.grad, -2 * diff / count, rtol=1e-5, atol=1e-5)


@PROPERTY_SETTINGS
@given(data=st.data(), dtype=DTYPES, n=st.integers(0, 5), k=st.integers(1, 5),
       smoothing=st.sampled_from([0.0, 0.1, 1.0]),
       reduction=st.sampled_from(["mean", "sum", "none"]),
       backend_name=st.sampled_from(BACKENDS))
def test_cross_entropy_properties(data, dtype, n, k, smoothing, reduction, backend_name):
    logits = draw_array(data, dtype, (n, k))
    labels = np.asarray(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), int)
    onehot = np.eye(k, dtype=dtype)[labels]
    before = kernels.get_backend()
    kernels.set_backend(backend_name)
    try:
        if reduction == "mean" and n == 0:
            for target in (labels, onehot):
                with pytest.raises(ValueError, match="empty"):
                    ops.cross_entropy(logits, target)
            return
        results = []
        for target in (labels, onehot):
            z = mm.tensor(logits, True, dtype=dtype)
            loss = ops.cross_entropy(z, target, smoothing, reduction=reduction)
            loss.backward(np.ones(loss.shape, dtype))
            results.append((loss, z.grad))
    finally:
        kernels.set_backend(before)
    z64 = logits.astype(np.float64)
    log_probs = z64 - z64.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    smoothed = (1 - smoothing) * onehot + smoothing / k
    rows = -(smoothed * log_probs).sum(axis=1)
    expected = {"mean": rows.mean() if n else 0, "sum": rows.sum(), "none": rows}[reduction]
    grad = (np.exp(log_probs) - smoothed) / (n if reduction == "mean" else 1)
    for loss, g in results:  # class indices and their one-hot probabilities agree
        assert loss.dtype == dtype and g.dtype == dtype
        np.testing.assert_allclose(loss.data, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(g, grad, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- PyTorch as the oracle

def against_torch(mine, theirs, *arrays, rtol=1e-10, atol=1e-12, upstream_seed=0):
    """Run `mine` on float64 Tensors and `theirs` on torch tensors; compare outputs and
    the gradients of every input under the same random upstream gradient."""
    torch = pytest.importorskip("torch")
    ours = [leaf(a) for a in arrays]
    reference = [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]
    out, expected = mine(*ours), theirs(*reference)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(upstream_seed).standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for i, (a, b) in enumerate(zip(ours, reference)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"input {i}")


KINKY = np.array([-3.0, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 2.0, 30.0, -30.0])


def test_sigmoid_leaky_relu_abs_match_torch():
    torch = pytest.importorskip("torch")
    x = np.concatenate([KINKY, [-800.0, 800.0], np.random.default_rng(1).standard_normal(6)])
    against_torch(ops.sigmoid, torch.sigmoid, x)
    against_torch(lambda t: t.sigmoid(), lambda t: torch.nn.functional.sigmoid(t), x)
    against_torch(ops.leaky_relu, torch.nn.functional.leaky_relu, x)
    against_torch(lambda t: F.leaky_relu(t, 0.2),
                  lambda t: torch.nn.functional.leaky_relu(t, 0.2), x)
    against_torch(abs, torch.abs, x)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)),
                                    ((4,), (2, 3, 4)), ((), (2, 3))])
def test_maximum_minimum_match_torch_with_ties_and_broadcasting(shapes):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, b = (rng.integers(-2, 3, size=s).astype(float) for s in shapes)
    against_torch(ops.maximum, torch.maximum, a, b)
    against_torch(ops.minimum, torch.minimum, a, b)
    against_torch(lambda p, q: p.maximum(q), torch.maximum, b, a)


@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (0.0, None), (None, 1.0), (1.0, -1.0)])
def test_clip_matches_torch_clamp_including_boundaries(bounds):
    torch = pytest.importorskip("torch")
    low, high = bounds
    against_torch(lambda t: ops.clip(t, low, high), lambda t: torch.clamp(t, low, high), KINKY)
    against_torch(lambda t: t.clamp(low, high), lambda t: t.clip(low, high), KINKY.reshape(2, 5))


@pytest.mark.parametrize("axis, keepdims", [(1, False), (-1, True), ((0, 2), False), (0, True)])
def test_logsumexp_matches_torch(axis, keepdims):
    torch = pytest.importorskip("torch")
    x = 3 * np.random.default_rng(3).standard_normal((3, 4, 5))
    x[0, 0, :] = 1000.0
    x[1, :, 2] = -np.inf
    against_torch(lambda t: ops.logsumexp(t, axis, keepdims=keepdims),
                  lambda t: torch.logsumexp(t, axis, keepdim=keepdims), x)


def test_comparisons_and_argmax_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a = rng.integers(-2, 3, size=(3, 1, 4)).astype(float)
    b = rng.integers(-2, 3, size=(5, 1)).astype(float)
    ta, tb = torch.tensor(a), torch.tensor(b)
    ma, mb = mm.tensor(a, dtype=np.float64), mm.tensor(b, dtype=np.float64)
    for ours, theirs in ((ma == mb, ta == tb), (ma != mb, ta != tb), (ma < mb, ta < tb),
                         (ma <= mb, ta <= tb), (ma > mb, ta > tb), (ma >= mb, ta >= tb)):
        np.testing.assert_array_equal(ours, theirs.numpy())
    x = rng.integers(0, 3, size=(4, 5, 6)).astype(float)  # many ties
    tx, mx = torch.tensor(x), mm.tensor(x)
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(mx.argmax(axis), tx.argmax(axis).numpy())
        np.testing.assert_array_equal(mx.argmax(axis, keepdims=True),
                                      tx.argmax(axis, keepdim=True).numpy())
    assert int(mx.argmax()) == int(tx.argmax())


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_dropout_follows_torch_rule(p):
    """Masks are random, so check both libraries obey the same rule: out = x * m / (1 - p)
    and grad = g * m / (1 - p) for a 0/1 mask m (p = 1: all zeros); identical in eval."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).uniform(0.5, 2.0, size=(30, 40))
    g = np.random.default_rng(6).standard_normal(x.shape)
    outputs = []
    for run in ("minimixer", "torch"):
        if run == "minimixer":
            t = leaf(x)
            y = F.dropout(t, p)
            y.backward(g)
            out, grad = y.data, t.grad
        else:
            t = torch.tensor(x, requires_grad=True)
            y = torch.nn.functional.dropout(t, p)
            y.backward(torch.tensor(g))
            out, grad = y.detach().numpy(), t.grad.numpy()
        kept = out != 0
        scale = 0.0 if p == 1 else 1 / (1 - p)
        np.testing.assert_allclose(out, np.where(kept, x * scale, 0), rtol=1e-12, err_msg=run)
        np.testing.assert_allclose(grad, np.where(kept, g * scale, 0), rtol=1e-12, err_msg=run)
        outputs.append(kept.mean())
    assert abs(outputs[0] - outputs[1]) < 0.08  # the same keep rate, 1 - p
    in_eval = F.dropout(mm.tensor(x, dtype=np.float64), p, training=False).data
    np.testing.assert_array_equal(
        in_eval, torch.nn.functional.dropout(torch.tensor(x), p, training=False).numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    against_torch(lambda a, b: F.mse_loss(a, b, reduction=reduction),
                  lambda a, b: torch.nn.functional.mse_loss(a, b, reduction=reduction),
                  rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("target_kind", ["labels", "probabilities"])
def test_cross_entropy_matches_torch(backend, reduction, smoothing, target_kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    logits = 2 * rng.standard_normal((6, 5))
    if target_kind == "labels":
        labels = rng.integers(0, 5, size=6)
        against_torch(
            lambda z: F.cross_entropy(z, labels, smoothing, reduction=reduction),
            lambda z: torch.nn.functional.cross_entropy(
                z, torch.tensor(labels), reduction=reduction, label_smoothing=smoothing),
            logits)
    else:
        probs = rng.dirichlet(np.ones(5), size=6)
        against_torch(
            lambda z, p: F.cross_entropy(z, p, smoothing, reduction=reduction),
            lambda z, p: torch.nn.functional.cross_entropy(
                z, p, reduction=reduction, label_smoothing=smoothing),
            logits, probs)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_masked_logits_matches_torch(backend, smoothing):
    torch = pytest.importorskip("torch")
    labels = np.array([0, 2])
    against_torch(
        lambda z: F.cross_entropy(z, labels, smoothing, reduction="none"),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels), reduction="none",
                                                    label_smoothing=smoothing),
        masked_logits())


def test_activation_layers_wrap_their_ops():
    x = mm.tensor(np.linspace(-2, 2, 9))
    np.testing.assert_allclose(mm.nn.Sigmoid()(x).data, ops.sigmoid(x).data)
    np.testing.assert_allclose(mm.nn.LeakyReLU(0.2)(x).data, ops.leaky_relu(x, 0.2).data)
    assert "negative_slope=0.2" in repr(mm.nn.LeakyReLU(0.2))
