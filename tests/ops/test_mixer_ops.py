"""The Mixer ops (conv, norm, activation, loss, pool) as autograd Functions.

* float64 gradcheck (``minimixer.gradcheck``) of every Function, on both backends;
* the two backends agree through a whole ConvMixer-shaped graph;
* running statistics, evaluation mode, labels and error messages;
* PyTorch as an oracle for values and gradients (skipped without torch).
"""

import numpy as np
import pytest

import minimixer as mm
from minimixer import kernels, ops

BACKENDS = ["numpy", "numba"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    before = kernels.get_backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(before)


def leaf(rng, *shape, scale=1.0, dtype=np.float64):
    return mm.tensor(scale * rng.standard_normal(shape), requires_grad=True, dtype=dtype)


# ---------------------------------------------------------------- gradcheck


def test_gradcheck_patchify_and_unpatchify(backend):
    rng = np.random.default_rng(0)
    assert mm.gradcheck(lambda x: ops.patchify(x, 2), leaf(rng, 2, 4, 6, 3))
    assert mm.gradcheck(lambda p: ops.unpatchify(p, 2, 3), leaf(rng, 2, 2, 3, 12))


@pytest.mark.parametrize("with_bias", [True, False])
def test_gradcheck_patch_embed(backend, with_bias):
    rng = np.random.default_rng(1)
    x, w = leaf(rng, 2, 4, 4, 3), leaf(rng, 12, 5)
    if with_bias:
        assert mm.gradcheck(lambda x, w, b: ops.patch_embed(x, w, b, 2), x, w, leaf(rng, 5))
    else:
        assert mm.gradcheck(lambda x, w: ops.patch_embed(x, w, None, 2), x, w)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_gradcheck_depthwise_conv2d(backend, k):
    rng = np.random.default_rng(k)
    x, w, b = leaf(rng, 2, 5, 4, 3), leaf(rng, k, k, 3), leaf(rng, 3)
    assert mm.gradcheck(ops.depthwise_conv2d, x, w, b)


def test_gradcheck_depthwise_conv2d_without_bias(backend):
    rng = np.random.default_rng(6)
    assert mm.gradcheck(ops.depthwise_conv2d, leaf(rng, 1, 4, 4, 2), leaf(rng, 3, 3, 2))


@pytest.mark.parametrize("shape", [(2, 3, 3, 4), (2, 5, 4)])
def test_gradcheck_pointwise_conv2d(backend, shape):
    rng = np.random.default_rng(7)
    x, w, b = leaf(rng, *shape), leaf(rng, shape[-1], 3), leaf(rng, 3)
    assert mm.gradcheck(ops.pointwise_conv2d, x, w, b)
    assert mm.gradcheck(lambda x, w: ops.pointwise_conv2d(x, w), x, w)


def test_gradcheck_layer_norm(backend):
    rng = np.random.default_rng(8)
    x, w, b = leaf(rng, 2, 3, 6, scale=2.0), leaf(rng, 6), leaf(rng, 6)
    assert mm.gradcheck(ops.layer_norm, x, w, b)
    assert mm.gradcheck(lambda x: ops.layer_norm(x, None, None), x)


def test_gradcheck_batch_norm_training(backend):
    rng = np.random.default_rng(9)
    x, w, b = leaf(rng, 3, 2, 2, 4, scale=2.0), leaf(rng, 4), leaf(rng, 4)
    running_mean, running_var = np.zeros(4), np.ones(4)
    assert mm.gradcheck(
        lambda x, w, b: ops.batch_norm(x, w, b, running_mean, running_var, training=True), x, w, b
    )
    assert mm.gradcheck(lambda x: ops.batch_norm(x, None, None, None, None, training=True), x)


def test_gradcheck_gelu_batch_norm(backend):
    rng = np.random.default_rng(19)
    x, w, b = leaf(rng, 3, 2, 2, 4, scale=2.0), leaf(rng, 4), leaf(rng, 4)
    running_mean, running_var = np.zeros(4), np.ones(4)
    assert mm.gradcheck(lambda x, w, b: ops.gelu_batch_norm(x, w, b, running_mean, running_var), x, w, b)
    assert mm.gradcheck(lambda x: ops.gelu_batch_norm(x, None, None, None, None), x)


def test_gelu_batch_norm_is_batch_norm_of_gelu(backend):
    """Same output, gradients and running statistics as the two ops it replaces."""
    rng = np.random.default_rng(20)
    x_data = (2 * rng.standard_normal((4, 3, 5, 6))).astype(np.float32)
    grad_out = rng.standard_normal(x_data.shape).astype(np.float32)
    w_data, b_data = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    results = []
    for fused in (False, True):
        x, w, b = (mm.Tensor(a.copy(), requires_grad=True) for a in (x_data, w_data, b_data))
        stats = [np.zeros(6, np.float32), np.ones(6, np.float32)]
        if fused:
            y = ops.gelu_batch_norm(x, w, b, *stats, momentum=0.3)
        else:
            y = ops.batch_norm(ops.gelu(x), w, b, *stats, training=True, momentum=0.3)
        y.backward(grad_out)
        results.append([y.data, x.grad, w.grad, b.grad, *stats])
    for two_ops, one_op in zip(*results):
        np.testing.assert_allclose(one_op, two_ops, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, -2])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gradcheck_linear_gelu(backend, axis, approximate):
    rng = np.random.default_rng(21)
    x, w, b = leaf(rng, 2, 3, 4, scale=2.0), leaf(rng, 4 if axis == -1 else 3, 5), leaf(rng, 5)
    assert mm.gradcheck(lambda x, w, b: ops.linear_gelu(x, w, b, axis=axis, approximate=approximate),
                        x, w, b)
    assert mm.gradcheck(lambda x, w: ops.linear_gelu(x, w, None, axis=axis), x, w)


@pytest.mark.parametrize("axis", [-1, -2])
def test_linear_gelu_is_gelu_of_linear(backend, axis):
    """Same output and gradients as the two ops it replaces, in float32."""
    rng = np.random.default_rng(22)
    x_data = rng.standard_normal((4, 6, 5)).astype(np.float32)
    k = x_data.shape[axis]
    w_data, b_data = rng.standard_normal((k, 7)).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    results = []
    for fused in (False, True):
        x, w, b = (mm.Tensor(a.copy(), requires_grad=True) for a in (x_data, w_data, b_data))
        y = ops.linear_gelu(x, w, b, axis=axis) if fused else ops.gelu(ops.linear(x, w, b, axis=axis))
        y.backward(np.cos(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
        results.append([y.data, x.grad, w.grad, b.grad])
    for two_ops, one_op in zip(*results):
        assert one_op.shape == two_ops.shape
        np.testing.assert_allclose(one_op, two_ops, rtol=1e-5, atol=1e-5)


def test_linear_gelu_names_itself_in_shape_errors():
    with pytest.raises(ValueError, match="linear_gelu: input axis -1 has size 3"):
        ops.linear_gelu(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5))


def test_gradcheck_batch_norm_evaluation(backend):
    rng = np.random.default_rng(10)
    x, w, b = leaf(rng, 3, 2, 2, 4), leaf(rng, 4), leaf(rng, 4)
    running_mean, running_var = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    assert mm.gradcheck(
        lambda x, w, b: ops.batch_norm(x, w, b, running_mean, running_var, training=False), x, w, b
    )


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gradcheck_gelu(backend, approximate):
    rng = np.random.default_rng(11)
    assert mm.gradcheck(lambda x: ops.gelu(x, approximate=approximate), leaf(rng, 4, 7, scale=3.0))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 6, 5)])
def test_gradcheck_global_avg_pool(backend, shape):
    rng = np.random.default_rng(12)
    assert mm.gradcheck(ops.global_avg_pool, leaf(rng, *shape))


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_gradcheck_cross_entropy(backend, smoothing):
    rng = np.random.default_rng(13)
    labels = np.array([0, 3, 2, 3, 1])
    assert mm.gradcheck(lambda z: ops.cross_entropy(z, labels, smoothing), leaf(rng, 5, 4, scale=2.0))


# ---------------------------------------------------------------- backends agree


def conv_mixer_loss(images, labels, params, stats):
    """A one-block ConvMixer written with the ops directly."""
    embed_w, embed_b, dw_w, dw_b, pw_w, pw_b, ln_w, ln_b, head_w = params
    x = ops.patch_embed(images, embed_w, embed_b, 2)
    x = ops.batch_norm(ops.gelu(x), None, None, *stats[0], training=True)
    x = x + ops.batch_norm(ops.gelu(ops.depthwise_conv2d(x, dw_w, dw_b)), None, None, *stats[1],
                           training=True)
    x = ops.batch_norm(ops.gelu(ops.pointwise_conv2d(x, pw_w, pw_b), approximate="tanh"), None, None,
                       *stats[2], training=True)
    features = ops.layer_norm(ops.global_avg_pool(x), ln_w, ln_b)
    return ops.cross_entropy(features @ head_w, labels, label_smoothing=0.1)


def test_backends_agree_through_a_conv_mixer_graph():
    rng = np.random.default_rng(14)
    images = rng.uniform(0, 1, (4, 8, 8, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    shapes = [(12, 8), (8,), (3, 3, 8), (8,), (8, 8), (8,), (8,), (8,), (8, 3)]
    start = [0.5 * rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = {}
    for name in BACKENDS:
        kernels.set_backend(name)
        params = [mm.tensor(a.copy(), requires_grad=True) for a in start]
        stats = [(np.zeros(8, np.float32), np.ones(8, np.float32)) for _ in range(3)]
        loss = conv_mixer_loss(images, labels, params, stats)
        loss.backward()
        assert loss.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in params)
        results[name] = (loss.item(), [p.grad for p in params], stats)
    kernels.set_backend("numba")
    (loss_np, grads_np, stats_np), (loss_nb, grads_nb, stats_nb) = results["numpy"], results["numba"]
    assert np.isclose(loss_np, loss_nb, rtol=1e-5)
    for g_np, g_nb in zip(grads_np, grads_nb):
        np.testing.assert_allclose(g_nb, g_np, rtol=1e-3, atol=1e-5 * max(1, np.abs(g_np).max()))
    for pair_np, pair_nb in zip(stats_np, stats_nb):
        for a, b in zip(pair_np, pair_nb):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- behaviour


def test_batch_norm_running_statistics_use_the_unbiased_variance(backend):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 2, 2, 4)).astype(np.float32)
    running_mean, running_var = np.zeros(4, np.float32), np.ones(4, np.float32)
    ops.batch_norm(x, None, None, running_mean, running_var, training=True, momentum=0.25)
    rows = x.reshape(-1, 4)
    np.testing.assert_allclose(running_mean, 0.25 * rows.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(running_var, 0.75 + 0.25 * rows.var(axis=0, ddof=1), rtol=1e-5)
    assert running_mean.dtype == np.float32


def test_batch_norm_evaluation_uses_running_statistics():
    x = np.full((2, 1, 1, 2), 3.0, np.float32)
    y = ops.batch_norm(x, np.array([2.0, 1.0]), np.array([0.0, 1.0]), np.array([1.0, 3.0]),
                       np.array([4.0, 1.0]), training=False, eps=0.0)
    np.testing.assert_allclose(y.data[0, 0, 0], [2.0 * (3 - 1) / 2, 1.0])


def test_batch_norm_training_needs_two_values_per_channel():
    with pytest.raises(ValueError, match="more than one value per channel"):
        ops.batch_norm(np.ones((1, 1, 1, 3)), None, None, None, None, training=True)


def test_cross_entropy_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"cross_entropy: .*logits \(4, 3\) and labels \(5,\)"):
        ops.cross_entropy(np.zeros((4, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match=r"cross_entropy: .*logits \(4,\)"):
        ops.cross_entropy(np.zeros(4), np.zeros(4, int))


def test_cross_entropy_accepts_label_tensors(backend):
    logits = mm.tensor(np.random.default_rng(16).standard_normal((3, 5)), requires_grad=True)
    from_array = ops.cross_entropy(logits, np.array([4, 0, 2]))
    from_tensor = ops.cross_entropy(logits, mm.tensor([4, 0, 2]))
    assert from_array.item() == pytest.approx(from_tensor.item())
    with pytest.raises(ValueError, match="whole numbers"):
        ops.cross_entropy(logits, mm.tensor([0.5, 0, 2]))


def test_global_avg_pool_needs_an_axis_to_pool():
    with pytest.raises(ValueError, match="global_avg_pool"):
        ops.global_avg_pool(np.zeros((2, 3)))


def test_patch_embed_rejects_a_mismatched_weight():
    with pytest.raises(ValueError, match="patch_embed"):
        ops.patch_embed(np.zeros((1, 4, 4, 3)), np.zeros((8, 5)), None, 2)


def graph_operations(out):
    """Names of the Functions recorded in the (tree-shaped) graph that produced `out`."""
    names, stack = [], [out]
    while stack:
        t = stack.pop()
        if t._node is not None:
            names.append(t._node.function.__name__)
            stack.extend(t._node.parents)
    return sorted(names)


def test_patch_embed_is_patchify_then_one_linear():
    x = mm.tensor(np.ones((2, 4, 4, 3)), requires_grad=True)
    w, b = mm.tensor(np.ones((12, 5)), requires_grad=True), mm.tensor(np.ones(5), requires_grad=True)
    assert graph_operations(ops.patch_embed(x, w, b, 2)) == ["Patchify", "RowsTimesMatrix"]


def test_functional_linear_records_one_node():
    x = mm.tensor(np.ones((2, 3, 4)), requires_grad=True)
    w, b = mm.tensor(np.ones((4, 5)), requires_grad=True), mm.tensor(np.ones(5), requires_grad=True)
    assert graph_operations(mm.nn.functional.linear(x, w, b)) == ["RowsTimesMatrix"]


def test_backward_uses_the_backend_that_ran_the_forward_pass():
    x = mm.tensor(np.random.default_rng(17).standard_normal((2, 3)), requires_grad=True)
    before = kernels.get_backend()
    kernels.set_backend("numpy")
    try:
        y = ops.gelu(x)
        kernels.set_backend("numba")
        assert y._node.ctx.kernels is kernels.reference
        y.sum().backward()
    finally:
        kernels.set_backend(before)
    np.testing.assert_allclose(x.grad, kernels.reference.gelu_backward(x.data, np.ones((2, 3))))


def test_convmixer_block_inference_refuses_to_run_while_recording_a_graph():
    c = 3
    weights = [mm.tensor(np.ones(shape), requires_grad=True) for shape in ((3, 3, c), (c,), (c, c), (c,))]
    affine = (np.ones(c), np.zeros(c))
    with pytest.raises(RuntimeError, match="no_grad"):
        ops.convmixer_block_inference(np.ones((1, 4, 4, c)), weights[0], weights[1], affine,
                                      weights[2], weights[3], affine)


def test_gelu_is_a_tensor_method():
    x = mm.tensor([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(x.gelu().data, ops.gelu(x).data)


# ---------------------------------------------------------------- PyTorch oracle


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _pairs(torch, rng, *shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [mm.tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _nchw(t):
    return t.permute(0, 3, 1, 2)


def _nhwc(t):
    return t.permute(0, 2, 3, 1)


def _compare(torch, ours_out, theirs_out, ours, theirs, rng):
    grad = rng.standard_normal(ours_out.shape)
    ours_out.backward(grad)
    theirs_out.backward(torch.tensor(grad))
    np.testing.assert_allclose(ours_out.data, theirs_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")
@pytest.mark.parametrize("k", [2, 3, 5])
def test_conv_mixer_ops_match_torch(torch, backend, k):
    """patch embedding, depthwise and pointwise convs against torch's Conv2d maths."""
    F = torch.nn.functional
    rng = np.random.default_rng(17)
    (x, pe_w, pe_b, dw_w, dw_b, pw_w, pw_b), (tx, tpe_w, tpe_b, tdw_w, tdw_b, tpw_w, tpw_b) = _pairs(
        torch, rng, (2, 8, 8, 3), (12, 6), (6,), (k, k, 6), (6,), (6, 5), (5,)
    )
    y = ops.pointwise_conv2d(ops.depthwise_conv2d(ops.patch_embed(x, pe_w, pe_b, 2), dw_w, dw_b),
                             pw_w, pw_b)
    # our weights expressed in torch's layouts
    t_pe = tpe_w.reshape(2, 2, 3, 6).permute(3, 2, 0, 1)      # (D, C, p, p)
    t_dw = tdw_w.permute(2, 0, 1).unsqueeze(1)                # (C, 1, k, k)
    t_pw = tpw_w.t().reshape(5, 6, 1, 1)                      # (C_out, C_in, 1, 1)
    t = F.conv2d(_nchw(tx), t_pe, tpe_b, stride=2)
    t = F.conv2d(t, t_dw, tdw_b, padding="same", groups=6)
    t = _nhwc(F.conv2d(t, t_pw, tpw_b))
    _compare(torch, y, t, [x, pe_w, pe_b, dw_w, dw_b, pw_w, pw_b],
             [tx, tpe_w, tpe_b, tdw_w, tdw_b, tpw_w, tpw_b], rng)


def test_norms_gelu_pool_and_loss_match_torch(torch, backend):
    F = torch.nn.functional
    rng = np.random.default_rng(18)
    (x, bn_w, bn_b, ln_w, ln_b), (tx, tbn_w, tbn_b, tln_w, tln_b) = _pairs(
        torch, rng, (3, 4, 4, 6), (6,), (6,), (6,), (6,)
    )
    labels = np.array([5, 0, 3])
    running = (np.zeros(6), np.ones(6))
    t_running = (torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64))

    h = ops.batch_norm(ops.gelu(x), bn_w, bn_b, *running, training=True)
    h = ops.layer_norm(ops.gelu(ops.global_avg_pool(h), approximate="tanh"), ln_w, ln_b)
    loss = ops.cross_entropy(h, labels, label_smoothing=0.1)

    t = _nhwc(F.batch_norm(_nchw(F.gelu(tx)), *t_running, tbn_w, tbn_b, training=True))
    t = F.layer_norm(F.gelu(t.mean(dim=(1, 2)), approximate="tanh"), (6,), tln_w, tln_b)
    t_loss = F.cross_entropy(t, torch.tensor(labels), label_smoothing=0.1)

    _compare(torch, loss, t_loss, [x, bn_w, bn_b, ln_w, ln_b], [tx, tbn_w, tbn_b, tln_w, tln_b], rng)
    for ours, theirs in zip(running, t_running):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)
