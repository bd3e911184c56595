"""The classic-CNN ops (conv2d, max_pool2d, avg_pool2d) as autograd Functions.

* float64 gradcheck on both backends, no torch needed;
* PyTorch as the oracle for values and gradients over kernel sizes, strides,
  paddings ("same" included), groups and odd/even image sizes;
* argument errors say what is wrong.
"""

import numpy as np
import pytest

import minimixer as mm
from minimixer import kernels, ops

# (in_channels, out_channels, kernel, stride, padding, groups)
CONV_CASES = [
    (3, 4, 1, 1, 0, 1),
    (3, 4, 3, 1, 1, 1),
    (2, 5, 3, 2, 1, 1),
    (4, 6, 2, 1, 0, 2),
    (4, 4, 3, 1, "same", 4),        # depthwise
    (3, 2, (2, 3), (1, 2), (1, 0), 1),
    (2, 4, 4, 1, "same", 1),        # even kernel: extra padding bottom/right
    (6, 3, (3, 1), (3, 1), (0, 2), 3),
]
# (kernel, stride, padding)
POOL_CASES = [(2, None, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 0)), (1, None, 0), (4, 3, 2)]
IMAGE_SIZES = [(7, 6), (8, 8)]


@pytest.fixture(params=["numpy", "numba"])
def backend(request):
    before = kernels.get_backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(before)


def leaf(rng, *shape, dtype=np.float64):
    return mm.tensor(rng.standard_normal(shape), requires_grad=True, dtype=dtype)


def conv_weight_shape(cin, cout, kernel, groups):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    return kh, kw, cin // groups, cout


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("case", CONV_CASES[1:6])
def test_gradcheck_conv2d(backend, case):
    cin, cout, kernel, stride, padding, groups = case
    rng = np.random.default_rng(0)
    x, w = leaf(rng, 2, 6, 5, cin), leaf(rng, *conv_weight_shape(cin, cout, kernel, groups))
    b = leaf(rng, cout)
    assert mm.gradcheck(lambda x, w, b: ops.conv2d(x, w, b, stride, padding, groups), x, w, b)


def test_gradcheck_conv2d_without_bias(backend):
    rng = np.random.default_rng(1)
    x, w = leaf(rng, 1, 5, 5, 2), leaf(rng, 3, 3, 2, 3)
    assert mm.gradcheck(lambda x, w: ops.conv2d(x, w, stride=2, padding=1), x, w)


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("case", POOL_CASES[:4])
def test_gradcheck_pools(backend, pool, case):
    rng = np.random.default_rng(2)
    kernel, stride, padding = case
    # distinct values, well apart, so no finite-difference step changes a max
    x = mm.tensor(rng.permutation(2 * 7 * 6 * 3).reshape(2, 7, 6, 3) * 0.1, requires_grad=True,
                  dtype=np.float64)
    assert mm.gradcheck(lambda x: getattr(ops, pool)(x, kernel, stride, padding), x)


def test_conv2d_with_one_group_per_channel_is_depthwise_conv2d(backend):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 6, 5, 4)), rng.standard_normal((3, 3, 4)), rng.standard_normal(4)
    general = ops.conv2d(x, w[:, :, None, :], b, padding="same", groups=4).numpy()
    np.testing.assert_allclose(general, ops.depthwise_conv2d(x, w, b).numpy(), rtol=1e-5, atol=1e-5)


def test_conv2d_with_kernel_equal_to_stride_is_patch_embed(backend):
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 8, 6, 3)), rng.standard_normal((2, 2, 3, 5)), rng.standard_normal(5)
    np.testing.assert_allclose(ops.conv2d(x, w, b, stride=2).numpy(),
                               ops.patch_embed(x, w.reshape(12, 5), b, 2).numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- PyTorch as the oracle


def to_nchw(a):
    return np.ascontiguousarray(np.asarray(a).transpose(0, 3, 1, 2))


def to_nhwc(a):
    return np.asarray(a).transpose(0, 2, 3, 1)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("size", IMAGE_SIZES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_torch(backend, case, size):
    torch = pytest.importorskip("torch")
    cin, cout, kernel, stride, padding, groups = case
    rng = np.random.default_rng(5)
    x_np = rng.standard_normal((2, *size, cin)).astype(np.float32)
    w_np = rng.standard_normal(conv_weight_shape(cin, cout, kernel, groups)).astype(np.float32)
    b_np = rng.standard_normal(cout).astype(np.float32)
    x, w, b = (mm.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    y = ops.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(grad_y)

    xt = torch.tensor(to_nchw(x_np), requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(w_np.transpose(3, 2, 0, 1)), requires_grad=True)
    bt = torch.tensor(b_np, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding, groups=groups)
    yt.backward(torch.tensor(to_nchw(grad_y)))

    tol = dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(y.numpy(), to_nhwc(yt.detach().numpy()), **tol)
    np.testing.assert_allclose(x.grad, to_nhwc(xt.grad.numpy()), **tol)
    np.testing.assert_allclose(w.grad, wt.grad.numpy().transpose(2, 3, 1, 0), **tol)
    np.testing.assert_allclose(b.grad, bt.grad.numpy(), **tol)


@pytest.mark.parametrize("size", IMAGE_SIZES)
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pools_match_torch(backend, pool, case, size):
    """Values rounded to halves make ties common: the gradient must pick the same pixel."""
    torch = pytest.importorskip("torch")
    kernel, stride, padding = case
    rng = np.random.default_rng(6)
    x_np = (np.round(rng.standard_normal((2, *size, 3)) * 2) / 2).astype(np.float32)
    x = mm.tensor(x_np, requires_grad=True)
    y = getattr(ops, pool)(x, kernel, stride, padding)
    grad_y = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(grad_y)

    xt = torch.tensor(to_nchw(x_np), requires_grad=True)
    yt = getattr(torch.nn.functional, pool)(xt, kernel, stride, padding)
    yt.backward(torch.tensor(to_nchw(grad_y)))
    np.testing.assert_allclose(y.numpy(), to_nhwc(yt.detach().numpy()), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad, to_nhwc(xt.grad.numpy()), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- argument errors


@pytest.mark.parametrize("call, message", [
    (lambda x, w: ops.conv2d(x[0], w), r"input must be \(N, H, W, C\)"),
    (lambda x, w: ops.conv2d(x, w[0]), r"weight must be \(kh, kw, C_in/groups, C_out\)"),
    (lambda x, w: ops.conv2d(x, w, groups=2), "input has 4 channels but weight"),
    (lambda x, w: ops.conv2d(x[..., :2], w[:, :, :1, :5], groups=2), "not divisible by groups=2"),
    (lambda x, w: ops.conv2d(x, w, np.zeros(5)), r"bias must have shape \(6,\)"),
    (lambda x, w: ops.conv2d(x, w, stride=0), "stride must be an integer >= 1"),
    (lambda x, w: ops.conv2d(x, w, padding=-1), "padding must be an integer >= 0"),
    (lambda x, w: ops.conv2d(x, w, stride=2, padding="same"), "padding='same' needs stride 1"),
    (lambda x, w: ops.conv2d(x, w, padding="full"), "padding must be an int, a pair"),
    (lambda x, w: ops.conv2d(x[:, :2, :2], w), "does not fit"),
    (lambda x, w: ops.conv2d(x, np.zeros((0, 3, 4, 6))), "kernel size must be at least 1x1"),
    (lambda x, w: ops.max_pool2d(x, 0), "kernel_size must be an integer >= 1"),
    (lambda x, w: ops.max_pool2d(x, 2, padding=2), "at most half the kernel size"),
    (lambda x, w: ops.avg_pool2d(x[0], 2), r"input must be \(N, H, W, C\)"),
    (lambda x, w: ops.avg_pool2d(x, (2, 2, 2)), "or a pair of them"),
    (lambda x, w: ops.avg_pool2d(x, 8), "does not fit"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    x, w = np.zeros((2, 5, 5, 4)), np.zeros((3, 3, 4, 6))
    with pytest.raises(ValueError, match=message):
        call(x, w)
