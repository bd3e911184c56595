"""The optimizers driving real minimixer layers and the autograd engine."""

import numpy as np
import pytest

mm = pytest.importorskip("minimixer")
nn = pytest.importorskip("minimixer.nn")
from minimixer import optim  # noqa: E402


def regression_problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = x @ rng.standard_normal((5, 2)).astype(np.float32) + 0.5
    return mm.tensor(x), mm.tensor(y)


def mean_squared_error(layer, x, y):
    error = layer(x) - y
    return (error * error).mean()


def test_adamw_with_schedule_and_clipping_fits_a_linear_layer():
    x, y = regression_problem()
    layer = nn.Linear(5, 2)
    opt = optim.AdamW(optim.param_groups_no_decay(layer, weight_decay=1e-4), lr=0.0)
    schedule = optim.WarmupCosine(opt, lr_max=0.1, total_steps=150, warmup_steps=10)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = mean_squared_error(layer, x, y)
        loss.backward()
        optim.clip_grad_norm(layer.parameters(), max_norm=5.0)
        opt.step()
        schedule.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-2 * losses[0]
    assert all(p.dtype == np.float32 for p in layer.parameters())


def test_a_graph_built_before_a_step_is_reported_stale():
    x, y = regression_problem()
    layer = nn.Linear(5, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    mean_squared_error(layer, x, y).backward()
    stale_loss = mean_squared_error(layer, x, y)
    opt.step()  # changes the weights that stale_loss's graph saved
    with pytest.raises(RuntimeError, match="modified in place"):
        stale_loss.backward()
