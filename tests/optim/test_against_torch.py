"""Each optimizer against torch.optim: same float64 parameters, same gradients, same steps."""

import numpy as np
import pytest

from minimixer import optim

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (3,), (2, 2, 5)]
STEPS = 6


def single_group(params):
    return params


def two_groups(params):
    """Different lr and weight decay per group, the second group falling back to defaults."""
    return [{"params": params[:2], "lr": 0.05, "weight_decay": 0.1}, {"params": params[2:]}]


CASES = [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (optim.AdamW, torch.optim.AdamW, dict(lr=0.02, betas=(0.85, 0.95), weight_decay=0.3)),
]


def case_id(case):
    ours, _, kwargs = case
    return ours.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def run_side_by_side(make_param, ours_cls, torch_cls, kwargs, build_params, lr_per_step=None,
                     dtype=np.float64, rtol=1e-6, atol=1e-12):
    """Step both optimizers on identical gradients; compare parameters after every step.

    Parameter 1 gets no gradient on step 2, which both libraries must skip.
    """
    rng = np.random.default_rng(0)
    initial = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours_params = [make_param(a) for a in initial]
    torch_params = [torch.tensor(a, requires_grad=True) for a in initial]
    ours = ours_cls(build_params(ours_params), **kwargs)
    theirs = torch_cls(build_params(torch_params), **kwargs)
    for step in range(STEPS):
        if lr_per_step is not None:
            for opt in (ours, theirs):
                for group in opt.param_groups:
                    group["lr"] = lr_per_step[step]
        for i, (p, tp) in enumerate(zip(ours_params, torch_params)):
            if i == 1 and step == 2:
                p.grad, tp.grad = None, None
                continue
            g = rng.standard_normal(p.data.shape).astype(dtype)
            p.grad = g.copy()
            tp.grad = torch.from_numpy(g.copy())
        ours.step()
        theirs.step()
        for p, tp in zip(ours_params, torch_params):
            assert p.data.dtype == dtype
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=rtol, atol=atol)
    return ours, theirs


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_single_group(make_param, case):
    ours_cls, torch_cls, kwargs = case
    run_side_by_side(make_param, ours_cls, torch_cls, kwargs, single_group)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_with_param_groups(make_param, case):
    ours_cls, torch_cls, kwargs = case
    run_side_by_side(make_param, ours_cls, torch_cls, kwargs, two_groups)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_in_float32(make_param, case):
    ours_cls, torch_cls, kwargs = case
    run_side_by_side(make_param, ours_cls, torch_cls, kwargs, two_groups, dtype=np.float32, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [CASES[2], CASES[5], CASES[7]], ids=case_id)
def test_matches_torch_when_lr_changes_every_step(make_param, case):
    ours_cls, torch_cls, kwargs = case
    lrs = np.linspace(0.001, 0.05, STEPS).tolist()
    run_side_by_side(make_param, ours_cls, torch_cls, kwargs, single_group, lr_per_step=lrs)


@pytest.mark.parametrize("case", [CASES[1], CASES[5], CASES[7]], ids=case_id)
def test_state_dict_layout_matches_torch(make_param, case):
    ours_cls, torch_cls, kwargs = case
    ours, theirs = run_side_by_side(make_param, ours_cls, torch_cls, kwargs, two_groups)
    ours_sd, torch_sd = ours.state_dict(), theirs.state_dict()
    assert [g["params"] for g in ours_sd["param_groups"]] == [g["params"] for g in torch_sd["param_groups"]]
    assert sorted(ours_sd["state"]) == sorted(torch_sd["state"])
    for index, buffers in ours_sd["state"].items():
        assert set(buffers) == set(torch_sd["state"][index])
        for name, value in buffers.items():
            np.testing.assert_allclose(value, torch_sd["state"][index][name].numpy(), rtol=1e-6, atol=1e-12)


def test_clip_grad_norm_matches_torch(make_param):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(shape) * 3 for shape in SHAPES]
    ours_params = [make_param(np.zeros(shape)) for shape in SHAPES]
    torch_params = [torch.zeros(shape, dtype=torch.float64, requires_grad=True) for shape in SHAPES]
    for p, tp, g in zip(ours_params, torch_params, grads):
        p.grad, tp.grad = g.copy(), torch.from_numpy(g.copy())
    ours_norm = optim.clip_grad_norm(ours_params, max_norm=2.0)
    torch_norm = torch.nn.utils.clip_grad_norm_(torch_params, max_norm=2.0)
    assert ours_norm == pytest.approx(torch_norm.item(), rel=1e-12)
    for p, tp in zip(ours_params, torch_params):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12)
