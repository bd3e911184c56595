"""Every core op gradchecked in float64, with inputs kept away from kinks and poles."""

import numpy as np
import pytest

import minimixer as mm
from minimixer import ops

rng = np.random.default_rng(1)


def t(*shape, low=-1.0, high=1.0):
    return mm.tensor(rng.uniform(low, high, size=shape), requires_grad=True, dtype=np.float64)


def away_from_zero(*shape):
    """Values in ±[0.3, 1]: safe for relu and max (no kinks within the step)."""
    v = rng.uniform(0.3, 1.0, size=shape) * rng.choice([-1, 1], size=shape)
    return mm.tensor(v, requires_grad=True, dtype=np.float64)


CASES = {
    "add": (lambda a, b: a + b, lambda: (t(2, 3), t(3))),
    "sub": (lambda a, b: a - b, lambda: (t(2, 1), t(2, 4))),
    "mul": (lambda a, b: a * b, lambda: (t(2, 3), t(2, 3))),
    "div": (lambda a, b: a / b, lambda: (t(2, 3), t(3, low=0.5, high=2.0))),
    "neg": (lambda a: -a, lambda: (t(4),)),
    "pow_const": (lambda a: a**3, lambda: (t(3, 2),)),
    "pow_tensor": (lambda a, b: a**b, lambda: (t(3, low=0.5, high=2), t(3))),
    "exp": (ops.exp, lambda: (t(2, 3),)),
    "log": (ops.log, lambda: (t(2, 3, low=0.5, high=3),)),
    "sqrt": (ops.sqrt, lambda: (t(5, low=0.5, high=3),)),
    "tanh": (ops.tanh, lambda: (t(5),)),
    "relu": (ops.relu, lambda: (away_from_zero(2, 5),)),
    "matmul_2d": (ops.matmul, lambda: (t(3, 4), t(4, 2))),
    "matmul_batched_broadcast": (ops.matmul, lambda: (t(2, 3, 4), t(4, 5))),
    "matmul_batch_dims": (ops.matmul, lambda: (t(2, 1, 3, 4), t(3, 4, 2))),
    "matmul_rows_times_matrix_4d": (ops.matmul, lambda: (t(2, 3, 2, 4), t(4, 3))),
    "matmul_matrix_times_stack": (ops.matmul, lambda: (t(3, 4), t(2, 4, 5))),
    "matmul_matrix_times_4d_stack": (ops.matmul, lambda: (t(3, 4), t(2, 2, 4, 5))),
    "matmul_vector": (ops.matmul, lambda: (t(4), t(4, 3))),
    "matvec": (ops.matmul, lambda: (t(2, 3, 4), t(4))),
    "linear_channels": (ops.linear, lambda: (t(2, 3, 4), t(4, 5), t(5))),
    "linear_tokens": (lambda x, w, b: ops.linear(x, w, b, axis=-2), lambda: (t(2, 3, 4), t(3, 5), t(5))),
    "linear_tokens_no_bias": (lambda x, w: ops.linear(x, w, axis=-2), lambda: (t(2, 3, 4), t(3, 2))),
    "sum_all": (lambda a: a.sum(), lambda: (t(2, 3),)),
    "sum_axis_keep": (lambda a: a.sum(axis=1, keepdims=True), lambda: (t(2, 3, 4),)),
    "sum_axes": (lambda a: a.sum(axis=(0, 2)), lambda: (t(2, 3, 4),)),
    "mean": (lambda a: a.mean(axis=-1), lambda: (t(3, 4),)),
    "max": (lambda a: a.max(axis=1), lambda: (t(3, 5),)),
    "max_keepdims": (lambda a: a.max(axis=0, keepdims=True), lambda: (t(4, 2),)),
    "reshape": (lambda a: a.reshape(6, 2) * mm.tensor(np.arange(12.0).reshape(6, 2), dtype=np.float64), lambda: (t(3, 4),)),
    "transpose": (lambda a: a.transpose(0, 2) @ mm.tensor(np.ones((2, 3)), dtype=np.float64), lambda: (t(2, 3, 4),)),
    "permute": (lambda a: a.permute(2, 0, 1), lambda: (t(2, 3, 4),)),
    "getitem_slice": (lambda a: a[1:, ::2], lambda: (t(3, 4),)),
    "getitem_repeated_index": (lambda a: a[np.array([0, 2, 0])], lambda: (t(3, 2),)),
    "concatenate": (lambda a, b: ops.concatenate([a, b], axis=1), lambda: (t(2, 3), t(2, 1))),
    "softmax": (lambda a: ops.softmax(a, axis=-1), lambda: (t(3, 5),)),
    "softmax_axis0": (lambda a: ops.softmax(a, axis=0), lambda: (t(3, 5),)),
    "log_softmax": (lambda a: ops.log_softmax(a, axis=-1), lambda: (t(3, 5),)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, make_inputs = CASES[name]
    assert mm.gradcheck(fn, *make_inputs())


def test_gelu_gradcheck():
    assert mm.gradcheck(ops.gelu, t(3, 4, low=-3, high=3))


def test_cross_entropy_gradcheck_with_label_smoothing():
    labels = np.array([0, 3, 1])
    for smoothing in (0.0, 0.1):
        assert mm.gradcheck(lambda z: ops.cross_entropy(z, labels, label_smoothing=smoothing), t(3, 4))


@pytest.mark.parametrize(
    "fn, a, b, op_name",
    [
        (lambda a, b: a + b, (2, 3), (4,), "add"),
        (lambda a, b: a * b, (2, 3), (2, 2), "mul"),
        (ops.matmul, (2, 3), (4, 5), "matmul"),
        (lambda a, b: ops.concatenate([a, b], axis=0), (2, 3), (2, 4), "concatenate"),
    ],
)
def test_shape_mismatch_names_op_and_both_shapes(fn, a, b, op_name):
    with pytest.raises(ValueError) as info:
        fn(mm.tensor(np.ones(a)), mm.tensor(np.ones(b)))
    message = str(info.value)
    assert op_name in message and str(a) in message and str(b) in message


def test_linear_matches_matmul_plus_bias_on_both_axes():
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    assert np.allclose(ops.linear(x, w, b).numpy(), x @ w + b)
    w_tokens, b_tokens = rng.standard_normal((3, 6)), rng.standard_normal(6)
    by_transposing = (x.transpose(0, 2, 1) @ w_tokens + b_tokens).transpose(0, 2, 1)
    assert np.allclose(ops.linear(x, w_tokens, b_tokens, axis=-2).numpy(), by_transposing)


@pytest.mark.parametrize("weight, bias, axis, words", [
    ((5, 2), None, -1, "axis -1 has size 4"),
    ((3, 2), (3,), -2, "bias shape"),
    ((4, 2), None, 0, "axis must be -1 or -2"),
])
def test_linear_errors_name_the_problem(weight, bias, axis, words):
    x = mm.tensor(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=words):
        ops.linear(x, np.ones(weight), None if bias is None else np.ones(bias), axis=axis)


def test_reshape_error_names_shapes():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        mm.tensor(np.ones((2, 3))).reshape(4, 2)


def test_transpose_is_a_view_not_a_copy():
    x = mm.tensor(np.ones((2, 3, 4)))
    y = x.transpose(1, 2)
    assert np.shares_memory(x.data, y.data)


def test_large_input_random_projection_gradcheck():
    x = t(40, 50)
    assert mm.gradcheck(lambda a: ops.tanh(a).sum(axis=1), x, random_projections=5)
