"""clip_grad_norm against a direct computation; the no-decay parameter split."""

import numpy as np
import pytest

from minimixer import optim


def params_with_grads(make_param, grads):
    params = []
    for g in grads:
        p = make_param(np.zeros(g.shape, dtype=g.dtype))
        p.grad = g.copy()
        params.append(p)
    return params


def random_grads(dtype=np.float64, scale=1.0):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in [(4, 5), (5,), (3, 3, 2)]]


def test_clip_returns_the_norm_before_clipping_and_scales_to_max_norm(make_param):
    grads = random_grads(scale=3.0)
    params = params_with_grads(make_param, grads)
    expected_norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    assert expected_norm > 1.0

    total = optim.clip_grad_norm(params, max_norm=1.0)

    assert type(total) is float
    assert total == pytest.approx(expected_norm, rel=1e-12)
    scale = 1.0 / (expected_norm + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * scale, rtol=1e-12)
    clipped_norm = np.sqrt(sum(np.sum(p.grad**2) for p in params))
    assert clipped_norm == pytest.approx(1.0, rel=1e-5)


def test_clip_leaves_small_gradients_alone(make_param):
    grads = random_grads(scale=0.01)
    params = params_with_grads(make_param, grads)
    total = optim.clip_grad_norm(params, max_norm=5.0)
    assert total < 5.0
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad, g)


def test_clip_ignores_missing_grads_and_handles_none_at_all(make_param):
    grads = random_grads(scale=3.0)
    params = params_with_grads(make_param, grads)
    params[1].grad = None
    expected = np.sqrt(np.sum(grads[0] ** 2) + np.sum(grads[2] ** 2))
    assert optim.clip_grad_norm(params, max_norm=1.0) == pytest.approx(expected, rel=1e-12)
    assert params[1].grad is None
    assert optim.clip_grad_norm([make_param(np.ones(2))], max_norm=1.0) == 0.0


def test_clip_with_infinity_norm(make_param):
    grads = random_grads(scale=3.0)
    params = params_with_grads(make_param, grads)
    expected = max(np.max(np.abs(g)) for g in grads)
    assert optim.clip_grad_norm(params, max_norm=0.5, norm_type=np.inf) == pytest.approx(expected)
    assert max(np.max(np.abs(p.grad)) for p in params) == pytest.approx(0.5, rel=1e-5)


def test_clip_keeps_float32_and_does_not_write_into_the_old_grad(make_param):
    grads = random_grads(np.float32, scale=3.0)
    params = params_with_grads(make_param, grads)
    read_only = params[0].grad
    read_only.flags.writeable = False
    optim.clip_grad_norm(params, max_norm=1.0)
    assert all(p.grad.dtype == np.float32 for p in params)
    np.testing.assert_array_equal(read_only, grads[0])


# ---------------------------------------------------------------------- no-decay groups
def test_one_dimensional_params_go_to_the_no_decay_group(make_param):
    weight, bias, norm_scale = make_param(np.ones((3, 2))), make_param(np.ones(3)), make_param(np.ones(3))
    conv = make_param(np.ones((2, 3, 3, 4)))
    named = [("fc.weight", weight), ("fc.bias", bias), ("norm.weight", norm_scale), ("conv.weight", conv)]
    groups = optim.param_groups_no_decay(named, weight_decay=0.05)
    assert len(groups) == 2
    assert groups[0]["weight_decay"] == 0.05
    assert [id(p) for p in groups[0]["params"]] == [id(weight), id(conv)]
    assert groups[1]["weight_decay"] == 0.0
    assert [id(p) for p in groups[1]["params"]] == [id(bias), id(norm_scale)]


def test_no_decay_groups_from_a_module_skip_empty_groups_and_shared_params(make_param):
    weight = make_param(np.ones((3, 2)))

    class TiedModel:
        def named_parameters(self):
            yield "encoder.weight", weight
            yield "decoder.weight", weight

    groups = optim.param_groups_no_decay(TiedModel(), weight_decay=0.1)
    assert len(groups) == 1 and len(groups[0]["params"]) == 1


def test_no_decay_groups_from_a_real_linear_layer():
    nn = pytest.importorskip("minimixer.nn")
    layer = nn.Linear(4, 3)
    groups = optim.param_groups_no_decay(layer, weight_decay=0.1)
    assert [id(p) for p in groups[0]["params"]] == [id(layer.weight)]
    assert [id(p) for p in groups[1]["params"]] == [id(layer.bias)]


def test_adamw_with_no_decay_groups_leaves_biases_undecayed(make_param):
    weight, bias = make_param(np.ones((2, 2))), make_param(np.ones(2))
    opt = optim.AdamW(optim.param_groups_no_decay([("w", weight), ("b", bias)], 0.5), lr=0.1)
    weight.grad, bias.grad = np.zeros((2, 2)), np.zeros(2)
    opt.step()
    np.testing.assert_allclose(weight.data, np.full((2, 2), 1 - 0.1 * 0.5))
    np.testing.assert_array_equal(bias.data, np.ones(2))
