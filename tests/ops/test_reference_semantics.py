"""Corner cases where minimixer once disagreed with PyTorch's semantics.

Each test names the behaviour it pins down; the PyTorch values are written out by hand
(they are small), so these tests run without PyTorch installed.
"""

import numpy as np
import pytest

import minimixer as mm
from minimixer import ops


def leaf(values, dtype=np.float64):
    return mm.tensor(np.asarray(values, dtype=dtype), requires_grad=True, dtype=dtype)


# ----------------------------------------------------------------- negative axes
@pytest.mark.parametrize("axes", [(-1, 0, 1), (2, -3, -2), (-1, -2, -3)])
def test_permute_with_negative_axes_sends_each_gradient_back(axes):
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    weights = np.random.default_rng(0).normal(size=x.data.transpose(axes).shape)
    (x.permute(*axes) * mm.tensor(weights, dtype=np.float64)).sum().backward()
    inverse = np.argsort([a % 3 for a in axes])
    np.testing.assert_allclose(x.grad, weights.transpose(inverse))


def test_transpose_with_negative_axes_when_shapes_differ():
    x = leaf(np.ones((2, 3, 4)))
    y = x.transpose(-1, 0)                               # (4, 3, 2)
    (y * mm.tensor(np.arange(24.0).reshape(4, 3, 2), dtype=np.float64)).sum().backward()
    np.testing.assert_allclose(x.grad, np.arange(24.0).reshape(4, 3, 2).transpose(2, 1, 0))


@pytest.mark.parametrize("call", [
    lambda x: x.transpose(0, 7),
    lambda x: x.transpose(-3, 0),
    lambda x: x.permute(0, 2),
    lambda x: x.sum(axis=-3),
    lambda x: x.sum(axis=2),
    lambda x: x.mean(axis=(0, 5)),
    lambda x: x.max(axis=-3),
    lambda x: ops.concatenate([x, x], axis=2),
    lambda x: ops.stack([x, x], axis=4),
    lambda x: ops.unsqueeze(x, 3),
])
def test_axis_out_of_range_raises_instead_of_wrapping(call):
    with pytest.raises(ValueError, match="out of range|not a permutation"):
        call(mm.tensor(np.ones((2, 3))))


def test_reduction_names_the_same_axis_twice():
    with pytest.raises(ValueError, match="same dimension twice"):
        mm.tensor(np.ones((2, 3))).sum(axis=(1, -1))


def test_axis_must_be_an_integer():
    with pytest.raises(TypeError, match="axis must be an integer"):
        mm.tensor(np.ones((2, 3))).sum(axis=1.0)


# ----------------------------------------------------------------- 0-d reductions
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [0, -1, None])
def test_zero_dim_reductions_return_the_value(name, axis):
    x = leaf(2.0)
    y = getattr(x, name)(axis) if axis is not None else getattr(x, name)()
    assert y.shape == () and y.item() == 2.0
    y.backward()
    assert x.grad.shape == () and x.grad == 1.0


def test_zero_dim_reduction_rejects_axis_one():
    with pytest.raises(ValueError, match="out of range"):
        mm.tensor(2.0).sum(1)


def test_mean_over_an_empty_axis_is_nan_like_pytorch():
    out = mm.tensor(np.ones((0, 3))).mean(axis=0)
    assert out.shape == (3,) and np.isnan(out.data).all()


def test_max_over_an_empty_axis_is_a_clear_error():
    with pytest.raises(ValueError, match="empty axis"):
        mm.tensor(np.ones((0, 3))).max(axis=0)


def test_max_over_a_full_axis_of_an_empty_tensor_is_empty():
    assert mm.tensor(np.ones((0, 3))).max(axis=1).shape == (0,)


# ----------------------------------------------------------------- matmul with vectors
def test_vector_dot_vector_backward():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    out = a @ b
    assert out.shape == () and out.item() == 32.0
    out.backward()
    np.testing.assert_allclose(a.grad, [4.0, 5.0, 6.0])
    np.testing.assert_allclose(b.grad, [1.0, 2.0, 3.0])


def test_vector_times_batched_matrices_sums_over_the_batch():
    a, b = leaf(np.ones(3)), leaf(np.arange(24.0).reshape(2, 3, 4))
    (a @ b).sum().backward()
    np.testing.assert_allclose(a.grad, np.arange(24.0).reshape(2, 3, 4).sum(axis=(0, 2)))
    np.testing.assert_allclose(b.grad, np.ones((2, 3, 4)))


@pytest.mark.parametrize("shapes", [((0,), (0, 3)), ((3, 0), (0,)), ((0,), (0,)), ((2, 0), (0, 4))])
def test_zero_length_inner_axis_gives_zero_products_and_empty_gradients(shapes):
    a, b = leaf(np.ones(shapes[0])), leaf(np.ones(shapes[1]))
    out = a @ b
    assert np.all(out.data == 0)
    (out * 1.0).sum().backward()
    assert a.grad.shape == shapes[0] and b.grad.shape == shapes[1]


# ----------------------------------------------------------------- indexing
def test_tensor_inside_a_tuple_index():
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    y = x[:, mm.tensor([0, 2]), :]
    np.testing.assert_array_equal(y.data, x.data[:, [0, 2], :])
    y.sum().backward()
    expected = np.zeros((2, 3, 4))
    expected[:, [0, 2], :] = 1
    np.testing.assert_array_equal(x.grad, expected)


def test_tensor_index_must_hold_whole_numbers():
    with pytest.raises(IndexError, match="whole numbers"):
        mm.tensor(np.ones(3))[mm.tensor([0.5])]


def test_boolean_mask_index_gradient():
    x = leaf([[1.0, -2.0], [-3.0, 4.0]])
    y = x[x.data > 0]
    np.testing.assert_array_equal(y.data, [1.0, 4.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0], [0.0, 1.0]])


# ----------------------------------------------------------------- new shape ops
def test_flatten_squeeze_unsqueeze_stack_shapes():
    x = mm.tensor(np.ones((2, 1, 3, 1)))
    assert ops.flatten(x).shape == (6,)
    assert ops.flatten(x, 1).shape == (2, 3)
    assert ops.flatten(x, -3, -2).shape == (2, 3, 1)
    assert ops.squeeze(x).shape == (2, 3)
    assert ops.squeeze(x, 1).shape == (2, 3, 1)
    assert ops.squeeze(x, 0).shape == (2, 1, 3, 1)          # not length 1: unchanged
    assert ops.squeeze(x, (1, -1)).shape == (2, 3)
    assert ops.unsqueeze(x, -1).shape == (2, 1, 3, 1, 1)
    assert ops.unsqueeze(x, 0).shape == (1, 2, 1, 3, 1)
    assert ops.stack([x, x, x], axis=-1).shape == (2, 1, 3, 1, 3)


def test_stack_sends_each_slice_its_gradient():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((2, 3)))
    weights = np.arange(12.0).reshape(2, 2, 3)
    (ops.stack([a, b], axis=1) * mm.tensor(weights, dtype=np.float64)).sum().backward()
    np.testing.assert_array_equal(a.grad, weights[:, 0])
    np.testing.assert_array_equal(b.grad, weights[:, 1])


def test_stack_rejects_different_shapes():
    with pytest.raises(ValueError, match="one shape"):
        ops.stack([mm.tensor(np.ones(2)), mm.tensor(np.ones(3))])


def test_flatten_rejects_reversed_axes():
    with pytest.raises(ValueError, match="comes after"):
        ops.flatten(mm.tensor(np.ones((2, 3))), 1, 0)


@pytest.mark.parametrize("op, make", [
    ("flatten", lambda x: ops.flatten(x, 1)),
    ("squeeze", lambda x: ops.squeeze(x[:, :1], 1)),
    ("unsqueeze", lambda x: ops.unsqueeze(x, 1)),
    ("stack", lambda x: ops.stack([x, x * 2.0], axis=-1)),
])
def test_new_shape_ops_pass_gradcheck(op, make):
    x = leaf(np.random.default_rng(3).normal(size=(2, 3, 2)))
    mm.gradcheck(make, x)
