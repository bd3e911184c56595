"""Both kernel backends against PyTorch as an oracle (values and every gradient).

Layout: our arrays are channels-last (N, H, W, C); torch's conv wants
(N, C, H, W) and weight (C, 1, k, k), so the tests permute on the way in/out.
"""

import numpy as np
import pytest
from kernel_cases import BACKENDS, KERNEL_SIZES, NO_JIT, assert_all_close, assert_close, random

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = [
    pytest.mark.skipif(NO_JIT, reason="the oracle runs on the compiled kernels"),
    pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning"),
]

DTYPE = np.float64  # compare in float64 so that differences are real, not rounding


def _leaf(a):
    return torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", KERNEL_SIZES)
def test_depthwise_matches_torch_conv2d_groups(backend, k):
    rng = np.random.default_rng(k)
    n, h, w, c = 2, 7, 6, 4
    x, weight, bias = random(rng, (n, h, w, c), DTYPE), random(rng, (k, k, c), DTYPE), \
        random(rng, (c,), DTYPE)
    grad_out = random(rng, (n, h, w, c), DTYPE)

    tx = _leaf(x.transpose(0, 3, 1, 2))
    tw = _leaf(weight.transpose(2, 0, 1)[:, None])
    tb = _leaf(bias)
    ty = F.conv2d(tx, tw, tb, padding="same", groups=c)
    ty.backward(torch.tensor(grad_out.transpose(0, 3, 1, 2)))

    assert_close(backend.depthwise_conv2d_forward(x, weight, bias),
                 ty.detach().numpy().transpose(0, 2, 3, 1), DTYPE)
    expected = (tx.grad.numpy().transpose(0, 2, 3, 1), tw.grad.numpy()[:, 0].transpose(1, 2, 0),
                tb.grad.numpy())
    assert_all_close(backend.depthwise_conv2d_backward(x, weight, grad_out), expected, DTYPE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_depthwise_float32_matches_torch(backend):
    rng = np.random.default_rng(0)
    x, weight = random(rng, (4, 8, 8, 16), np.float32), random(rng, (5, 5, 16), np.float32)
    ty = F.conv2d(torch.tensor(x.transpose(0, 3, 1, 2)), torch.tensor(weight.transpose(2, 0, 1)[:, None]),
                  padding="same", groups=16)
    assert_close(backend.depthwise_conv2d_forward(x, weight), ty.numpy().transpose(0, 2, 3, 1),
                 np.float32, tol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_norm_matches_torch(backend):
    rng = np.random.default_rng(1)
    x = random(rng, (3, 5, 12), DTYPE, scale=2.0) + 1.0
    gamma, beta, grad_out = random(rng, (12,), DTYPE), random(rng, (12,), DTYPE), random(rng, x.shape, DTYPE)
    tx, tg, tb = _leaf(x), _leaf(gamma), _leaf(beta)
    ty = F.layer_norm(tx, (12,), tg, tb, eps=1e-5)
    ty.backward(torch.tensor(grad_out))
    y, mean, rstd = backend.layer_norm_forward(x, gamma, beta, 1e-5)
    assert_close(y, ty.detach().numpy(), DTYPE)
    assert_all_close(backend.layer_norm_backward(grad_out, x, gamma, mean, rstd),
                     (tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy()), DTYPE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_norm_matches_torch_training_mode(backend):
    rng = np.random.default_rng(2)
    x = random(rng, (4, 3, 5, 6), DTYPE, scale=2.0) - 1.0
    gamma, beta, grad_out = random(rng, (6,), DTYPE), random(rng, (6,), DTYPE), random(rng, x.shape, DTYPE)
    tx, tg, tb = _leaf(x.transpose(0, 3, 1, 2)), _leaf(gamma), _leaf(beta)
    running_mean, running_var = torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)
    ty = F.batch_norm(tx, running_mean, running_var, tg, tb, training=True, momentum=1.0, eps=1e-5)
    ty.backward(torch.tensor(grad_out.transpose(0, 3, 1, 2)))

    y, mean, rstd, var = backend.batch_norm_forward(x, gamma, beta, 1e-5)
    assert_close(y, ty.detach().numpy().transpose(0, 2, 3, 1), DTYPE)
    # with momentum 1 torch's running stats are the batch mean and the unbiased variance
    count = x.size // 6
    assert_close(mean, running_mean.numpy(), DTYPE)
    assert_close(var * count / (count - 1), running_var.numpy(), DTYPE)
    assert_all_close(backend.batch_norm_backward(grad_out, x, gamma, mean, rstd),
                     (tx.grad.numpy().transpose(0, 2, 3, 1), tg.grad.numpy(), tb.grad.numpy()), DTYPE)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_matches_torch(backend, approximate, dtype):
    rng = np.random.default_rng(3)
    x = random(rng, (1000,), dtype, scale=3.0)
    grad_out = random(rng, x.shape, dtype)
    tx = _leaf(x)
    ty = F.gelu(tx, approximate=approximate)
    ty.backward(torch.tensor(grad_out))
    tol = 2e-6 if dtype == np.float32 else 1e-12
    assert_close(backend.gelu_forward(x, approximate), ty.detach().numpy(), dtype, tol)
    assert_close(backend.gelu_backward(x, grad_out, approximate), tx.grad.numpy(), dtype, tol)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_matches_torch(backend, smoothing):
    rng = np.random.default_rng(4)
    logits = random(rng, (16, 10), DTYPE, scale=3.0)
    labels = rng.integers(0, 10, size=16)
    tl = _leaf(logits)
    tloss = F.cross_entropy(tl, torch.tensor(labels), label_smoothing=smoothing)
    tloss.backward(torch.tensor(2.0, dtype=torch.float64))
    loss, probs = backend.softmax_cross_entropy_forward(logits, labels, smoothing)
    assert_close(loss, tloss.item(), DTYPE)
    grad = backend.softmax_cross_entropy_backward(probs, labels, smoothing, np.asarray(2.0))
    assert_close(grad, tl.grad.numpy(), DTYPE)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adamw_matches_torch_optim(backend, dtype):
    rng = np.random.default_rng(5)
    start = random(rng, (6, 4), dtype)
    grads = [random(rng, (6, 4), dtype) for _ in range(4)]
    hyper = dict(lr=3e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)

    tp = torch.nn.Parameter(torch.tensor(start))
    opt = torch.optim.AdamW([tp], **hyper)
    param, exp_avg, exp_avg_sq = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for step, g in enumerate(grads, start=1):
        tp.grad = torch.tensor(g)
        opt.step()
        backend.adamw_update(param, g, exp_avg, exp_avg_sq, hyper["lr"], *hyper["betas"],
                             hyper["eps"], hyper["weight_decay"], step)
    state = opt.state[tp]
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert_close(param, tp.detach().numpy(), dtype, tol)
    assert_close(exp_avg, state["exp_avg"].numpy(), dtype, tol)
    assert_close(exp_avg_sq, state["exp_avg_sq"].numpy(), dtype, tol)
