"""Engine semantics: accumulation, reused nodes, diamonds, freeing, mutation checks."""

import sys

import numpy as np
import pytest

import minimixer as mm


def test_backward_gives_grad_of_input_shape_and_dtype():
    x = mm.tensor(np.ones((2, 3)), requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.shape == (2, 3) and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, 2 * np.ones((2, 3)))


def test_default_dtype_is_float32_and_float64_is_kept_when_asked():
    assert mm.tensor(np.ones(3)).dtype == np.float32
    assert mm.tensor([1, 2]).dtype == np.float32
    x = mm.tensor(np.ones(3), dtype=np.float64, requires_grad=True)
    y = x * 2.0 + 1
    assert y.dtype == np.float64
    with pytest.raises(TypeError):
        mm.tensor([1], dtype=np.int32)


def test_python_scalars_do_not_upcast_float32():
    x = mm.tensor(np.ones(3), requires_grad=True)
    for y in (x * 2.5, 2.5 - x, x / 3.0, x**2, 1.0 / x):
        assert y.dtype == np.float32


def test_backward_twice_with_retained_graph_doubles_leaf_grads():
    x = mm.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_second_backward_through_freed_graph_raises():
    x = mm.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        y.backward()


def test_reused_node_b_equals_a_plus_a():
    a = mm.tensor([3.0], requires_grad=True)
    b = a + a
    b.backward(np.ones(1))
    np.testing.assert_allclose(a.grad, [2.0])


def test_diamond_graph_sums_both_paths():
    # a -> b = 2a, c = a^2 -> d = b * c = 2a^3 ; dd/da = 6a^2
    a = mm.tensor([2.0], requires_grad=True, dtype=np.float64)
    b, c = a * 2, a * a
    (b * c).sum().backward()
    np.testing.assert_allclose(a.grad, [24.0])


def test_long_chain_does_not_hit_recursion_limit():
    x = mm.tensor([1.0], requires_grad=True, dtype=np.float64)
    y = x
    n = max(10_000, sys.getrecursionlimit() + 1000)
    for _ in range(n):
        y = y + 1e-4
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0])


def test_no_grad_records_nothing():
    x = mm.tensor([1.0], requires_grad=True)
    with mm.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    with mm.no_grad():
        with mm.enable_grad():
            assert (x * 2).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = mm.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 3).detach()
    assert not d.requires_grad and d.is_leaf
    z = (x * d).sum()
    z.backward()
    np.testing.assert_allclose(x.grad, d.data)


def test_inplace_change_of_saved_tensor_is_detected():
    x = mm.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = (h * h).sum()  # Mul saves h
    with mm.no_grad():
        h[0] = 10.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_data_assignment_after_forward_is_detected():
    w = mm.nn.Parameter(np.ones(2))
    y = (w * w).sum()
    w.data = np.full(2, 3.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_change_of_unsaved_input_is_fine():
    x = mm.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = (h + 1.0).sum()  # Add saves nothing
    with mm.no_grad():
        h[0] = 5.0
    y.backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])


def test_setitem_on_leaf_requiring_grad_is_refused():
    x = mm.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 2.0


def test_nonscalar_backward_needs_a_gradient():
    x = mm.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="non-scalar"):
        (x * 2).backward()


def test_intermediate_grads_are_not_kept_unless_asked():
    x = mm.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    k = x * 3
    k.retain_grad()
    ((h * k).sum()).backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad, h.data)


def test_sum_to_undoes_broadcasting():
    g = np.ones((2, 3, 4))
    assert mm.sum_to(g, (3, 1)).shape == (3, 1)
    np.testing.assert_allclose(mm.sum_to(g, (3, 1)), np.full((3, 1), 8.0))
    np.testing.assert_allclose(mm.sum_to(g, (4,)), np.full((4,), 6.0))
    with pytest.raises(ValueError):
        mm.sum_to(g, (5,))


def test_broadcast_grads_are_unbroadcast():
    a = mm.tensor(np.ones((2, 3)), requires_grad=True)
    b = mm.tensor(np.ones((3,)), requires_grad=True)
    (a * b).sum().backward()
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])


def test_repr_mentions_grad_fn_and_dtype():
    x = mm.tensor([1.0], requires_grad=True, dtype=np.float64)
    assert "requires_grad=True" in repr(x) and "float64" in repr(x)
    assert "grad_fn=Mul" in repr(x * 2)


def test_to_dot_lists_ops_and_tensors():
    a = mm.tensor([1.0], requires_grad=True)
    a.name = "a"
    dot = mm.to_dot((a * a + a).sum())
    assert dot.startswith("digraph")
    for word in ("Mul", "Add", "Sum", "a\\n"):
        assert word in dot
    assert dot.count("->") >= 5


def test_custom_function_with_save_for_backward():
    class Cube(mm.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return (3 * x**2 * g,)

    x = mm.tensor([2.0], requires_grad=True, dtype=np.float64)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, [12.0])
    assert mm.gradcheck(Cube.apply, mm.tensor(np.random.rand(4), requires_grad=True))


def test_gradcheck_reports_a_wrong_backward_readably():
    class Wrong(mm.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return (g,)  # should be 2 x g

    x = mm.tensor(np.linspace(1, 2, 5), requires_grad=True)
    with pytest.raises(mm.GradcheckError, match="disagree") as info:
        mm.gradcheck(Wrong.apply, x)
    assert "analytic" in str(info.value) and "numeric" in str(info.value)
    with pytest.raises(mm.GradcheckError, match="directional"):
        mm.gradcheck(Wrong.apply, x, random_projections=3)
