"""Optimizers without torch: they minimise, keep dtypes, save and resume, and reject bad input."""

import numpy as np
import pytest

from minimixer import kernels, optim

# (class, settings) pairs covering every update path.
OPTIMIZERS = [
    (optim.SGD, dict(lr=0.05)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3)),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (optim.Adam, dict(lr=0.05)),
    (optim.Adam, dict(lr=0.05, weight_decay=1e-3)),
    (optim.AdamW, dict(lr=0.05, weight_decay=1e-3)),
]


def optimizer_id(case):
    cls, kwargs = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def quadratic_problem(seed=0):
    """f(x) = 1/2 x'Ax - b'x with A symmetric positive definite (condition number 10)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    a = (q * np.linspace(1.0, 10.0, 6)) @ q.T
    b = rng.standard_normal(6)
    return a.astype(np.float32), b.astype(np.float32)


def quadratic_loss(a, b, x):
    return float(0.5 * x @ a @ x - b @ x)


@pytest.mark.parametrize("case", OPTIMIZERS, ids=optimizer_id)
def test_minimises_a_quadratic(make_param, case):
    cls, kwargs = case
    a, b = quadratic_problem()
    x = make_param(np.zeros(6, dtype=np.float32))
    opt = cls([x], **kwargs)
    best = quadratic_loss(a, b, np.linalg.solve(a, b))
    start_gap = quadratic_loss(a, b, x.data) - best
    for _ in range(300):
        opt.zero_grad()
        x.grad = a @ x.data - b
        opt.step()
    final_gap = quadratic_loss(a, b, x.data) - best
    assert final_gap < 1e-3 * start_gap


@pytest.mark.parametrize("case", OPTIMIZERS, ids=optimizer_id)
def test_float32_stays_float32_and_updates_in_place(make_param, case):
    cls, kwargs = case
    rng = np.random.default_rng(0)
    params = [make_param(rng.standard_normal(s).astype(np.float32)) for s in [(5, 4), (4,)]]
    arrays_before = [p.data for p in params]
    opt = cls(params, **kwargs)
    for _ in range(3):
        for p in params:
            p.grad = rng.standard_normal(p.data.shape).astype(np.float32)
        opt.step()
    for p, before in zip(params, arrays_before):
        assert p.data.dtype == np.float32
        assert p.data is before
        for buffer in opt.state[p].values():
            if isinstance(buffer, np.ndarray):
                assert buffer.dtype == np.float32


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("case", OPTIMIZERS, ids=optimizer_id)
def test_a_transposed_parameter_gets_the_same_update_as_a_contiguous_one(make_param, case, backend):
    """Weights loaded from another layout may be non-contiguous views; the update of
    such a parameter lands in its own array, whatever the backend."""
    cls, kwargs = case
    rng = np.random.default_rng(1)
    start = rng.standard_normal((4, 5)).astype(np.float32)
    transposed = make_param(start.T)  # keeps the column-major layout: not C-contiguous
    contiguous = make_param(start.T.copy())
    assert not transposed.data.flags.c_contiguous
    before = kernels.get_backend()
    kernels.set_backend(backend)
    try:
        opts = [cls([transposed], **kwargs), cls([contiguous], **kwargs)]
        for _ in range(3):
            grad = rng.standard_normal((5, 4)).astype(np.float32)
            for p, opt in zip((transposed, contiguous), opts):
                p.grad = grad
                opt.step()
    finally:
        kernels.set_backend(before)
    np.testing.assert_allclose(transposed.data, contiguous.data, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", OPTIMIZERS, ids=optimizer_id)
def test_float64_stays_float64(make_param, case):
    cls, kwargs = case
    p = make_param(np.ones(3))
    opt = cls([p], **kwargs)
    p.grad = np.full(3, 0.5)
    opt.step()
    assert p.data.dtype == np.float64


def test_step_skips_params_without_grad_and_marks_updated_ones_dirty(stand_in_param):
    with_grad, without_grad = stand_in_param(np.ones(3)), stand_in_param(np.ones(2))
    opt = optim.SGD([with_grad, without_grad], lr=0.5)
    with_grad.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(with_grad.data, np.full(3, 0.5))
    np.testing.assert_array_equal(without_grad.data, np.ones(2))
    assert with_grad.dirty_count == 1
    assert without_grad.dirty_count == 0


def test_zero_grad_sets_grads_to_none(make_param):
    params = [make_param(np.ones(2)), make_param(np.ones(3))]
    opt = optim.Adam(params)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_param_groups_fill_in_defaults(make_param):
    first, second = make_param(np.ones((2, 2))), make_param(np.ones(2))
    opt = optim.AdamW([{"params": [first], "lr": 0.1}, {"params": [second], "weight_decay": 0.0}], lr=0.01)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["weight_decay"] == 0.01
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["weight_decay"] == 0.0
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)


def test_repr_lists_groups_and_hyperparameters(make_param):
    opt = optim.SGD([make_param(np.ones(2))], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (")
    assert "Parameter Group 0" in text and "lr: 0.1" in text and "momentum: 0.9" in text


# ---------------------------------------------------------------------- saving and resuming
def train_steps(opt, params, grad_rng, steps):
    for _ in range(steps):
        for p in params:
            p.grad = grad_rng.standard_normal(p.data.shape).astype(p.data.dtype)
        opt.step()


@pytest.mark.parametrize("through_npz", [False, True], ids=["in-memory", "npz-file"])
@pytest.mark.parametrize("case", OPTIMIZERS, ids=optimizer_id)
def test_state_dict_round_trip_continues_identically(make_param, case, through_npz, tmp_path):
    cls, kwargs = case
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,)]
    params = [make_param(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    groups = [{"params": params[:1]}, {"params": params[1:], "weight_decay": 0.0}]
    original = cls(groups, **kwargs)
    train_steps(original, params, np.random.default_rng(1), steps=3)

    saved = original.state_dict()
    if through_npz:
        np.savez(tmp_path / "opt.npz", **optim.flatten_state_dict(saved))
        with np.load(tmp_path / "opt.npz") as archive:
            saved = optim.unflatten_state_dict(archive)
    resumed_params = [make_param(p.data) for p in params]
    resumed = cls([{"params": resumed_params[:1]}, {"params": resumed_params[1:]}], **kwargs)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[1]["weight_decay"] == 0.0
    assert repr(resumed) == repr(original)

    train_steps(original, params, np.random.default_rng(2), steps=3)
    train_steps(resumed, resumed_params, np.random.default_rng(2), steps=3)
    for p, q in zip(params, resumed_params):
        np.testing.assert_array_equal(p.data, q.data)
        assert q.data.dtype == np.float32


def test_state_dict_is_a_snapshot(make_param):
    p = make_param(np.ones(3))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    exp_avg_then = saved["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], exp_avg_then)
    assert saved["state"][0]["step"] == 1


def test_flattened_state_dict_holds_only_arrays(make_param):
    p = make_param(np.ones((2, 2)))
    opt = optim.AdamW([p])
    p.grad = np.ones((2, 2))
    opt.step()
    flat = optim.flatten_state_dict(opt.state_dict())
    assert all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in flat.items())
    assert {"state.0.exp_avg", "state.0.step", "param_groups.0.lr", "param_groups.0.params"} <= set(flat)


def make_trained(make_param, cls, shapes, **kwargs):
    params = [make_param(np.ones(s)) for s in shapes]
    opt = cls(params, **kwargs)
    for p in params:
        p.grad = np.ones(p.data.shape)
    opt.step()
    return opt


def test_load_rejects_a_different_number_of_groups(make_param):
    saved = make_trained(make_param, optim.Adam, [(2,), (3,)]).state_dict()
    a, b = make_param(np.ones(2)), make_param(np.ones(3))
    target = optim.Adam([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="1 param groups.*2"):
        target.load_state_dict(saved)


def test_load_rejects_a_different_number_of_params(make_param):
    saved = make_trained(make_param, optim.Adam, [(2,), (3,)]).state_dict()
    target = optim.Adam([make_param(np.ones(2))])
    with pytest.raises(ValueError, match="group 0 has 2 params"):
        target.load_state_dict(saved)


def test_load_rejects_a_buffer_of_the_wrong_shape(make_param):
    saved = make_trained(make_param, optim.SGD, [(2,), (3,)], lr=0.1, momentum=0.9).state_dict()
    target = optim.SGD([make_param(np.ones(2)), make_param(np.ones(4))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"state\[1\]\['momentum_buffer'\] has shape \(3,\)"):
        target.load_state_dict(saved)


def test_load_rejects_another_optimizers_state(make_param):
    saved = make_trained(make_param, optim.SGD, [(2,)], lr=0.1, momentum=0.9).state_dict()
    target = optim.Adam([make_param(np.ones(2))])
    with pytest.raises(ValueError, match="unknown hyperparameters.*dampening"):
        target.load_state_dict(saved)


# ---------------------------------------------------------------------- invalid settings
def test_rejects_invalid_settings(make_param):
    p = make_param(np.ones(2))
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="weight_decay"):
        optim.AdamW([p], weight_decay=-0.1)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        optim.Adam([{"params": [p], "momentum": 0.9}])


def test_rejects_bad_parameter_lists(make_param):
    p = make_param(np.ones(2))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single parameter"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="expected parameters"):
        optim.SGD([np.ones(2)], lr=0.1)


def test_accepts_a_generator_of_parameters(make_param):
    params = [make_param(np.ones(2)) for _ in range(3)]
    opt = optim.SGD((p for p in params), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == 3


def test_load_rejects_state_for_a_parameter_no_group_lists(make_param):
    saved = make_trained(make_param, optim.Adam, [(2,)]).state_dict()
    saved["state"][5] = saved["state"].pop(0)
    with pytest.raises(ValueError, match="parameter 5"):
        optim.Adam([make_param(np.ones(2))]).load_state_dict(saved)


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_small_parameters_updated_together_match_one_at_a_time(make_param, cls, monkeypatch):
    """Batched small parameters (different shapes, step counts, a transposed one) get
    exactly the update each would get alone."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in [(3, 4), (5,), (2, 3, 2), (4, 3)]]

    def run(batch_limit):
        monkeypatch.setattr(cls, "BATCH_LIMIT", batch_limit)
        params = [make_param(a) for a in arrays]
        params[3].data = np.ascontiguousarray(arrays[3].T).T  # a transposed, non-contiguous one
        assert not params[3].data.flags.c_contiguous
        optimizer = cls(params, lr=0.1, weight_decay=0.01)
        for step in range(4):
            for i, p in enumerate(params):
                skips = i == 1 and step % 2 == 1  # one parameter misses every other step
                p.grad = None if skips else rng_grads[step][i].copy()
            optimizer.step()
        return [p.data.copy() for p in params], optimizer.state_dict()

    grad_rng = np.random.default_rng(1)
    rng_grads = [[grad_rng.standard_normal(a.shape).astype(np.float32) for a in arrays] for _ in range(4)]
    together, together_state = run(1 << 16)
    alone, alone_state = run(0)
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a, b)
    for index, state in alone_state["state"].items():
        assert together_state["state"][index]["step"] == state["step"]
        np.testing.assert_array_equal(together_state["state"][index]["exp_avg_sq"], state["exp_avg_sq"])
