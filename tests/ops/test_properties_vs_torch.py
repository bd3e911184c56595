"""Property tests: every public op against PyTorch on shapes that Hypothesis chooses.

For each op, Hypothesis draws shapes (0-d tensors, size-0 and size-1 axes, broadcasting
both ways), axes (negative ones too), a dtype (float32 or float64) and whether the input
is a non-contiguous view. The op runs in minimixer and in PyTorch on the same numbers;
outputs must agree, and so must the gradients of a random upstream gradient. Ops with
kernels run on both backends ("numpy" reference and "numba" fast).

An op whose PyTorch counterpart rejects the input must be rejected by minimixer too,
with a ValueError/IndexError/TypeError rather than a crash from deep inside.
"""

import contextlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minimixer as mm
from minimixer import kernels, ops

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOLERANCE = {np.float32: dict(rtol=3e-4, atol=3e-5), np.float64: dict(rtol=1e-9, atol=1e-10)}
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

shapes_0_to_4d = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
dtypes = st.sampled_from([np.float32, np.float64])


@contextlib.contextmanager
def backend(name):
    previous = kernels.get_backend()
    kernels.set_backend(name)
    try:
        yield
    finally:
        kernels.set_backend(previous)


def values(data, shape, dtype, low=-2.0, high=2.0, away_from_zero=0.0):
    """Random numbers of `shape`, maybe as a non-contiguous view (every other column
    of a wider array). `away_from_zero` keeps |v| >= it, clear of kinks at 0."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    v = rng.uniform(low, high, size=shape)
    if away_from_zero:
        v = np.sign(v) * (away_from_zero + np.abs(v))
    v = v.astype(dtype)
    if len(shape) and data.draw(st.booleans(), label="non-contiguous"):
        wide = np.zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype)
        wide[..., ::2] = v
        v = wide[..., ::2]
    return v


def axis_in(data, ndim, label="axis"):
    """An axis of an ndim tensor, negative half the time (0 or -1 for a 0-d tensor)."""
    size = max(ndim, 1)
    return data.draw(st.integers(-size, size - 1), label=label)


@dataclass
class Case:
    """One op: how to draw its inputs, and how each framework computes it."""
    draw: Callable          # data -> (list of arrays that get gradients, dict of options)
    mine: Callable          # (*tensors, **options) -> minimixer Tensor
    theirs: Callable        # (*torch tensors, **options) -> torch tensor
    uses_kernels: bool = False


def check(case: Case, data, backend_name="numpy"):
    dtype = data.draw(dtypes, label="dtype")
    arrays, options = case.draw(data, dtype)
    mine_in = [mm.tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
    theirs_in = [torch.tensor(np.array(a), requires_grad=True) for a in arrays]
    try:
        expected = case.theirs(*theirs_in, **options)
    except (RuntimeError, IndexError, ValueError) as error:  # PyTorch refuses this input
        with pytest.raises((ValueError, IndexError, TypeError)), backend(backend_name):
            case.mine(*mine_in, **options)
        return str(error)
    with backend(backend_name):
        got = case.mine(*mine_in, **options)
    assert got.shape == tuple(expected.shape)
    assert got.dtype == dtype
    np.testing.assert_allclose(got.data, expected.detach().numpy(), **TOLERANCE[dtype])
    if not expected.requires_grad:
        return None
    upstream = np.random.default_rng(1).normal(size=got.shape).astype(dtype)
    with backend(backend_name):
        got.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for mine, theirs in zip(mine_in, theirs_in):
        want = np.zeros(mine.shape, dtype) if theirs.grad is None else theirs.grad.numpy()
        have = np.zeros(mine.shape, dtype) if mine.grad is None else mine.grad
        assert have.shape == mine.shape
        np.testing.assert_allclose(have, want, **TOLERANCE[dtype])
    return None


# ----------------------------------------------------------------------- drawers
def unary(low=-2.0, high=2.0, away_from_zero=0.0, shapes=shapes_0_to_4d):
    def draw(data, dtype):
        shape = data.draw(shapes, label="shape")
        return [values(data, shape, dtype, low, high, away_from_zero)], {}
    return draw


def binary(low=-2.0, high=2.0, second_low=None, second_high=None):
    def draw(data, dtype):
        shapes = data.draw(hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=3), label="shapes")
        a = values(data, shapes.input_shapes[0], dtype, low, high)
        b = values(data, shapes.input_shapes[1], dtype,
                   low if second_low is None else second_low,
                   high if second_high is None else second_high)
        return [a, b], {}
    return draw


def reduction(data, dtype):
    shape = data.draw(shapes_0_to_4d, label="shape")
    ndim = len(shape)
    if ndim and data.draw(st.booleans(), label="several axes"):
        axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                  unique=True), label="axes")
        axis = tuple(a - ndim if data.draw(st.booleans()) else a for a in axes)
    else:
        axis = data.draw(st.none() | st.just(axis_in(data, ndim)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    return [values(data, shape, dtype)], dict(axis=axis, keepdims=keepdims)


def torch_dims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


def along_one_axis(min_dims=0):
    def draw(data, dtype):
        shape = data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=0,
                                           max_side=4), label="shape")
        return [values(data, shape, dtype)], dict(axis=axis_in(data, len(shape)))
    return draw


def draw_unsqueeze(data, dtype):
    shape = data.draw(shapes_0_to_4d, label="shape")
    return [values(data, shape, dtype)], dict(axis=axis_in(data, len(shape) + 1))


def draw_reshape(data, dtype):
    shape = data.draw(shapes_0_to_4d, label="shape")
    size = int(np.prod(shape))
    target = tuple(reversed(shape)) if data.draw(st.booleans()) else (size,)
    if size and target and data.draw(st.booleans(), label="infer"):
        target = target[:-1] + (-1,)
    return [values(data, shape, dtype)], dict(shape=target)


def draw_permute(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
    ndim = len(shape)
    order = data.draw(st.permutations(range(ndim)), label="order")
    order = tuple(a - ndim if data.draw(st.booleans()) else a for a in order)
    return [values(data, shape, dtype)], dict(axes=order)


def draw_transpose(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
    ndim = len(shape)
    return [values(data, shape, dtype)], dict(i=axis_in(data, ndim, "i"), j=axis_in(data, ndim, "j"))


def draw_getitem(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = []
    for n in shape:
        kind = data.draw(st.sampled_from(["slice", "int", "array", "all"]), label="kind")
        if kind == "slice":
            start = data.draw(st.integers(-n, n))
            index.append(slice(start, data.draw(st.integers(-n, n)), data.draw(st.integers(1, 3))))
        elif kind == "int":
            index.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "array" and not any(isinstance(i, list) for i in index):
            index.append(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4)))
        else:
            index.append(slice(None))
    return [values(data, shape, dtype)], dict(index=tuple(index))


def mine_getitem(x, index):
    return x[tuple(mm.tensor(i) if isinstance(i, list) else i for i in index)]


def theirs_getitem(x, index):
    return x[tuple(torch.tensor(i) if isinstance(i, list) else i for i in index)]


def draw_join(new_axis):
    def draw(data, dtype):
        shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
        count = data.draw(st.integers(1, 3), label="count")
        axis = axis_in(data, len(shape) + (1 if new_axis else 0))
        arrays = []
        for _ in range(count):
            this = list(shape)
            if not new_axis:
                this[axis] = data.draw(st.integers(0, 3), label="length")
            arrays.append(values(data, tuple(this), dtype))
        return arrays, dict(axis=axis)
    return draw


def draw_matmul(data, dtype):
    k = data.draw(st.integers(0, 3), label="k")
    kind = data.draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched"]), label="kind")
    batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=0,
                                                        max_side=3), label="batch")
    rows, cols = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    a_shape = {"vv": (k,), "vm": (k,), "mv": batch.input_shapes[0] + (rows, k)}.get(
        kind, batch.input_shapes[0] + (rows, k))
    b_shape = {"vv": (k,), "vm": batch.input_shapes[1] + (k, cols), "mv": (k,)}.get(
        kind, batch.input_shapes[1] + (k, cols))
    if kind == "mm":
        a_shape, b_shape = (rows, k), (k, cols)
    return [values(data, a_shape, dtype), values(data, b_shape, dtype)], {}


def draw_linear(data, dtype):
    lead = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
    k, m = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    axis = data.draw(st.sampled_from([-1, -2]), label="axis")
    x_shape = lead + (k,) if axis == -1 else lead[:-1] + (k, lead[-1])
    if len(x_shape) < 2:
        x_shape = (1,) + x_shape
    return ([values(data, x_shape, dtype), values(data, (k, m), dtype), values(data, (m,), dtype)],
            dict(axis=axis))


def theirs_linear(x, w, b, axis):
    if axis == -1:
        return x @ w + b
    return (x.transpose(-1, -2) @ w + b).transpose(-1, -2)


def draw_linear_gelu(data, dtype):
    arrays, options = draw_linear(data, dtype)
    return arrays, dict(options, approximate=data.draw(st.sampled_from(["none", "tanh"]),
                                                       label="approximate"))


def theirs_linear_gelu(x, w, b, axis, approximate):
    return TF.gelu(theirs_linear(x, w, b, axis), approximate=approximate)


def draw_cross_entropy(data, dtype):
    n, k = data.draw(st.integers(1, 5), label="n"), data.draw(st.integers(1, 5), label="k")
    labels = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="smoothing")
    return [values(data, (n, k), dtype, -4, 4)], dict(labels=labels, label_smoothing=smoothing)


def mine_cross_entropy(logits, labels, label_smoothing):
    return ops.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def theirs_cross_entropy(logits, labels, label_smoothing):
    return TF.cross_entropy(logits, torch.tensor(labels), label_smoothing=label_smoothing)


def draw_channels_last(min_batch_pixels=1, square_multiple=1):
    def draw(data, dtype):
        n = data.draw(st.integers(1, 3), label="n")
        h, w = (square_multiple * data.draw(st.integers(1, 3), label=s) for s in "hw")
        c = data.draw(st.integers(1, 4), label="c")
        if n * h * w < min_batch_pixels:
            n = 2
        return [values(data, (n, h, w, c), dtype)], {}
    return draw


def draw_norm(kind):
    """Inputs of a norm. In float32, a layer norm over one channel is left out: its
    normalised value is 0/sqrt(eps), which PyTorch computes from rounding noise (~1e-5)
    amplified 300-fold, while minimixer gets exactly 0; float64 covers that case."""
    def draw(data, dtype):
        (x,), _ = draw_channels_last(min_batch_pixels=2)(data, dtype)
        if kind == "layer" and dtype == np.float32 and x.shape[-1] == 1:
            x = np.concatenate([x, -x], axis=-1)
        c = x.shape[-1]
        weight, bias = values(data, (c,), dtype, 0.5, 1.5), values(data, (c,), dtype)
        if kind == "layer":
            return [x, weight, bias], {}
        mean, var = values(data, (c,), dtype), values(data, (c,), dtype, 0.5, 2.0)
        return [x, weight, bias], dict(running=(mean, var))
    return draw


def mine_batch_norm(training):
    def run(x, weight, bias, running):
        mean, var = (r.copy() for r in running)
        return ops.batch_norm(x, weight, bias, mean, var, training=training)
    return run


def theirs_batch_norm(training):
    def run(x, weight, bias, running):
        mean, var = (torch.tensor(r.copy()) for r in running)
        y = TF.batch_norm(x.permute(0, 3, 1, 2), mean, var, weight, bias, training=training)
        return y.permute(0, 2, 3, 1)
    return run


def mine_gelu_batch_norm(x, weight, bias, running):
    mean, var = (r.copy() for r in running)
    return ops.gelu_batch_norm(x, weight, bias, mean, var)


def theirs_gelu_batch_norm(x, weight, bias, running):
    mean, var = (torch.tensor(r.copy()) for r in running)
    y = TF.batch_norm(TF.gelu(x.permute(0, 3, 1, 2)), mean, var, weight, bias, training=True)
    return y.permute(0, 2, 3, 1)


def draw_depthwise(data, dtype):
    (x,), _ = draw_channels_last()(data, dtype)
    k = data.draw(st.integers(1, 5), label="k")
    c = x.shape[-1]
    return [x, values(data, (k, k, c), dtype), values(data, (c,), dtype)], {}


def theirs_depthwise(x, weight, bias):
    w = weight.permute(2, 0, 1)[:, None]
    y = TF.conv2d(x.permute(0, 3, 1, 2), w, bias, padding="same", groups=x.shape[-1])
    return y.permute(0, 2, 3, 1)


def draw_patch_embed(data, dtype):
    p = data.draw(st.integers(1, 3), label="p")
    (x,), _ = draw_channels_last(square_multiple=p)(data, dtype)
    d = data.draw(st.integers(1, 4), label="d")
    size = p * p * x.shape[-1]
    return [x, values(data, (size, d), dtype), values(data, (d,), dtype)], dict(patch_size=p)


def theirs_patch_embed(x, weight, bias, patch_size):
    p, c = patch_size, x.shape[-1]
    w = weight.reshape(p, p, c, -1).permute(3, 2, 0, 1).contiguous()
    return TF.conv2d(x.permute(0, 3, 1, 2), w, bias, stride=p).permute(0, 2, 3, 1)


def draw_convmixer_block(data, dtype):
    """x, the two convs' weights and biases; each BatchNorm's (weight, bias, running
    mean, running var) as options (evaluation mode has no gradient for them)."""
    (x, depthwise_weight, depthwise_bias), _ = draw_depthwise(data, dtype)
    c = x.shape[-1]
    weights = [x, depthwise_weight, depthwise_bias, values(data, (c, c), dtype), values(data, (c,), dtype)]

    def norm():
        return (values(data, (c,), dtype, 0.5, 1.5), values(data, (c,), dtype),
                values(data, (c,), dtype), values(data, (c,), dtype, 0.5, 2.0))
    return weights, dict(spatial_norm=norm(), channel_norm=norm())


def mine_convmixer_block(x, dw, db, pw, pb, spatial_norm, channel_norm):
    def affine(weight, bias, mean, var):
        scale = weight / np.sqrt(var + weight.dtype.type(1e-5))
        return scale, bias - mean * scale
    with mm.no_grad():
        return ops.convmixer_block_inference(x, dw, db, affine(*spatial_norm), pw, pb,
                                             affine(*channel_norm))


def theirs_convmixer_block(x, dw, db, pw, pb, spatial_norm, channel_norm):
    def gelu_norm(y, norm):
        weight, bias, mean, var = (torch.tensor(a) for a in norm)
        return TF.batch_norm(TF.gelu(y), mean, var, weight, bias, training=False)
    with torch.no_grad():
        image = x.permute(0, 3, 1, 2)
        spatial = TF.conv2d(image, dw.permute(2, 0, 1)[:, None], db, padding="same", groups=x.shape[-1])
        mixed = image + gelu_norm(spatial, spatial_norm)
        return gelu_norm(TF.conv2d(mixed, pw.T[:, :, None, None], pb), channel_norm).permute(0, 2, 3, 1)


def draw_patchify(data, dtype):
    p = data.draw(st.integers(1, 3), label="p")
    (x,), _ = draw_channels_last(square_multiple=p)(data, dtype)
    return [x], dict(patch_size=p)


def theirs_patchify(x, patch_size):
    n, h, w, c = x.shape
    p = patch_size
    blocks = x.reshape(n, h // p, p, w // p, p, c).permute(0, 1, 3, 2, 4, 5)
    return blocks.reshape(n, h // p, w // p, p * p * c)


def draw_unpatchify(data, dtype):
    (x,), options = draw_patchify(data, dtype)
    channels = x.shape[-1]
    patches = theirs_patchify(torch.tensor(x), options["patch_size"]).numpy()
    return [patches], dict(options, channels=channels)


def theirs_unpatchify(patches, patch_size, channels):
    n, rows, cols, _ = patches.shape
    p = patch_size
    blocks = patches.reshape(n, rows, cols, p, p, channels).permute(0, 1, 3, 2, 4, 5)
    return blocks.reshape(n, rows * p, cols * p, channels)


def draw_global_pool(data, dtype):
    shape = data.draw(hnp.array_shapes(min_dims=3, max_dims=4, min_side=1, max_side=4))
    return [values(data, shape, dtype)], {}


def draw_leaky_relu(data, dtype):
    (x,), _ = unary()(data, dtype)
    return [x], dict(negative_slope=data.draw(st.sampled_from([0.01, 0.2, 1.5]), label="slope"))


def draw_clip(data, dtype):
    (x,), _ = unary()(data, dtype)
    low = data.draw(st.none() | st.floats(-1.5, 1.5, width=16), label="min")
    high = data.draw(st.none() | st.floats(-1.5, 1.5, width=16), label="max")
    return [x], dict(low=-1.0 if low is None and high is None else low, high=high)


def draw_pair_with_reduction(data, dtype):
    shape = data.draw(shapes_0_to_4d, label="shape")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    if reduction == "mean" and 0 in shape:
        reduction = "sum"  # PyTorch's mean of nothing is NaN; minimixer raises a ValueError
    return [values(data, shape, dtype), values(data, shape, dtype)], dict(reduction=reduction)


def draw_dropout(data, dtype):
    """Dropout is random, so only its deterministic cases meet PyTorch here: p = 0, p = 1
    and evaluation mode (its statistics are tested in test_new_ops.py)."""
    (x,), _ = unary()(data, dtype)
    return [x], dict(p=data.draw(st.sampled_from([0.0, 1.0, 0.5]), label="p"),
                     training=data.draw(st.booleans(), label="training"))


def keep_deterministic(p, training):
    return 0.0 if training and 0.0 < p < 1.0 else p


def mine_dropout(x, p, training):
    return ops.dropout(x, keep_deterministic(p, training), training=training)


def theirs_dropout(x, p, training):
    return TF.dropout(x, keep_deterministic(p, training), training=training)


def draw_soft_cross_entropy(data, dtype):
    n, k = data.draw(st.integers(1, 5), label="n"), data.draw(st.integers(1, 5), label="k")
    logits = values(data, (n, k), dtype, -4, 4)
    target = values(data, (n, k), dtype, 0.0, 1.0)
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 1.0]), label="smoothing")
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")
    return [logits, target], dict(label_smoothing=smoothing, reduction=reduction)


def draw_cross_entropy_reduction(data, dtype):
    arrays, options = draw_cross_entropy(data, dtype)
    return arrays, dict(options, reduction=data.draw(st.sampled_from(["sum", "none"])))


def draw_conv2d(data, dtype):
    groups = data.draw(st.integers(1, 3), label="groups")
    c_in, c_out = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    kh, kw = data.draw(st.integers(1, 3), label="kh"), data.draw(st.integers(1, 3), label="kw")
    stride = data.draw(st.integers(1, 2), label="stride")
    padding = data.draw(st.sampled_from([0, 1, (1, 0), "same"]), label="padding")
    if padding == "same":
        stride = 1
    n, h, w = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
    x = values(data, (n, h, w, c_in), dtype)
    weight = values(data, (kh, kw, c_in // groups, c_out), dtype)
    return [x, weight, values(data, (c_out,), dtype)], dict(stride=stride, padding=padding,
                                                            groups=groups)


def theirs_conv2d(x, weight, bias, stride, padding, groups):
    y = TF.conv2d(x.permute(0, 3, 1, 2), weight.permute(3, 2, 0, 1).contiguous(), bias,
                  stride=stride, padding=padding, groups=groups)
    return y.permute(0, 2, 3, 1)


def draw_pool(data, dtype):
    k = data.draw(st.integers(1, 3), label="kernel")
    stride = data.draw(st.none() | st.integers(1, 3), label="stride")
    padding = data.draw(st.integers(0, k // 2), label="padding")
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)),
             data.draw(st.integers(1, 3)))
    return [values(data, shape, dtype)], dict(kernel_size=k, stride=stride, padding=padding)


def theirs_pool(torch_pool):
    def run(x, kernel_size, stride, padding):
        y = torch_pool(x.permute(0, 3, 1, 2), kernel_size, stride, padding)
        return y.permute(0, 2, 3, 1)
    return run


# ----------------------------------------------------------------------- the table
def torch_reduce(name):
    def run(x, axis, keepdims):
        return getattr(torch, name)(x, dim=torch_dims(x, axis), keepdim=keepdims)
    return run


CASES = {
    "add": Case(binary(), ops.add, torch.add),
    "sub": Case(binary(), ops.sub, torch.sub),
    "mul": Case(binary(), ops.mul, torch.mul),
    "div": Case(binary(second_low=0.5, second_high=2.0), ops.div, torch.div),
    "pow": Case(binary(low=0.5, high=2.0), ops.pow, torch.pow),
    "pow_scalar": Case(unary(low=0.5), lambda x: x ** 3.0, lambda x: x ** 3.0),
    "neg": Case(unary(), ops.neg, torch.neg),
    "exp": Case(unary(), ops.exp, torch.exp),
    "log": Case(unary(low=0.1), ops.log, torch.log),
    "sqrt": Case(unary(low=0.1), ops.sqrt, torch.sqrt),
    "tanh": Case(unary(), ops.tanh, torch.tanh),
    "relu": Case(unary(away_from_zero=0.1), ops.relu, torch.relu),
    "sum": Case(reduction, ops.sum, torch_reduce("sum")),
    "mean": Case(reduction, ops.mean, torch_reduce("mean")),
    "max": Case(reduction, ops.max, torch_reduce("amax")),
    "reshape": Case(draw_reshape, lambda x, shape: x.reshape(shape), torch.reshape),
    "flatten": Case(along_one_axis(),
                    lambda x, axis: ops.flatten(x, axis),
                    lambda x, axis: torch.flatten(x, axis)),
    "squeeze": Case(along_one_axis(), ops.squeeze, lambda x, axis: torch.squeeze(x, axis)),
    "unsqueeze": Case(draw_unsqueeze, ops.unsqueeze, lambda x, axis: torch.unsqueeze(x, axis)),
    "permute": Case(draw_permute, lambda x, axes: x.permute(*axes), lambda x, axes: x.permute(*axes)),
    "transpose": Case(draw_transpose, lambda x, i, j: x.transpose(i, j),
                      lambda x, i, j: x.transpose(i, j)),
    "getitem": Case(draw_getitem, mine_getitem, theirs_getitem),
    "concatenate": Case(draw_join(False), lambda *xs, axis: ops.concatenate(xs, axis),
                        lambda *xs, axis: torch.cat(xs, axis)),
    "stack": Case(draw_join(True), lambda *xs, axis: ops.stack(xs, axis),
                  lambda *xs, axis: torch.stack(xs, axis)),
    "matmul": Case(draw_matmul, ops.matmul, torch.matmul),
    "linear": Case(draw_linear, ops.linear, theirs_linear),
    "linear_gelu": Case(draw_linear_gelu, ops.linear_gelu, theirs_linear_gelu, uses_kernels=True),
    "softmax": Case(along_one_axis(), ops.softmax, lambda x, axis: torch.softmax(x, axis)),
    "log_softmax": Case(along_one_axis(), ops.log_softmax,
                        lambda x, axis: torch.log_softmax(x, axis)),
    "gelu": Case(unary(), ops.gelu, TF.gelu, uses_kernels=True),
    "gelu_tanh": Case(unary(), lambda x: ops.gelu(x, approximate="tanh"),
                      lambda x: TF.gelu(x, approximate="tanh"), uses_kernels=True),
    "cross_entropy": Case(draw_cross_entropy, mine_cross_entropy, theirs_cross_entropy,
                          uses_kernels=True),
    "layer_norm": Case(draw_norm("layer"), ops.layer_norm,
                       lambda x, w, b: TF.layer_norm(x, (x.shape[-1],), w, b),
                       uses_kernels=True),
    "batch_norm_train": Case(draw_norm("batch"), mine_batch_norm(True), theirs_batch_norm(True),
                             uses_kernels=True),
    "batch_norm_eval": Case(draw_norm("batch"), mine_batch_norm(False), theirs_batch_norm(False),
                            uses_kernels=True),
    "gelu_batch_norm": Case(draw_norm("batch"), mine_gelu_batch_norm, theirs_gelu_batch_norm,
                            uses_kernels=True),
    "depthwise_conv2d": Case(draw_depthwise, ops.depthwise_conv2d, theirs_depthwise,
                             uses_kernels=True),
    "pointwise_conv2d": Case(lambda d, t: (draw_linear(d, t)[0], {}), ops.pointwise_conv2d,
                             lambda x, w, b: x @ w + b),
    "patch_embed": Case(draw_patch_embed, ops.patch_embed, theirs_patch_embed, uses_kernels=True),
    "convmixer_block_inference": Case(draw_convmixer_block, mine_convmixer_block,
                                      theirs_convmixer_block, uses_kernels=True),
    "patchify": Case(draw_patchify, ops.patchify, theirs_patchify, uses_kernels=True),
    "unpatchify": Case(draw_unpatchify, ops.unpatchify, theirs_unpatchify, uses_kernels=True),
    "global_avg_pool": Case(draw_global_pool, ops.global_avg_pool,
                            lambda x: x.mean(dim=tuple(range(1, x.ndim - 1)))),
    "conv2d": Case(draw_conv2d, ops.conv2d, theirs_conv2d, uses_kernels=True),
    "max_pool2d": Case(draw_pool, ops.max_pool2d, theirs_pool(TF.max_pool2d), uses_kernels=True),
    "avg_pool2d": Case(draw_pool, ops.avg_pool2d, theirs_pool(TF.avg_pool2d), uses_kernels=True),
    "sigmoid": Case(unary(-30, 30), ops.sigmoid, torch.sigmoid),
    "leaky_relu": Case(draw_leaky_relu, ops.leaky_relu, TF.leaky_relu),
    "abs": Case(unary(away_from_zero=0.1), ops.abs, torch.abs),
    "maximum": Case(binary(), ops.maximum, torch.maximum),
    "minimum": Case(binary(), ops.minimum, torch.minimum),
    "clip": Case(draw_clip, lambda x, low, high: ops.clip(x, low, high),
                 lambda x, low, high: torch.clamp(x, low, high)),
    "clamp": Case(draw_clip, lambda x, low, high: x.clamp(low, high),
                  lambda x, low, high: x.clip(low, high)),
    "logsumexp": Case(reduction, ops.logsumexp, torch_reduce("logsumexp")),
    "mse_loss": Case(draw_pair_with_reduction, ops.mse_loss, TF.mse_loss),
    "dropout": Case(draw_dropout, mine_dropout, theirs_dropout),
    "cross_entropy_probabilities": Case(draw_soft_cross_entropy, ops.cross_entropy,
                                        lambda z, t, **o: TF.cross_entropy(z, t, **o)),
    "cross_entropy_reductions": Case(
        draw_cross_entropy_reduction,
        lambda z, labels, label_smoothing, reduction: ops.cross_entropy(
            z, labels, label_smoothing, reduction),
        lambda z, labels, label_smoothing, reduction: TF.cross_entropy(
            z, torch.tensor(labels), label_smoothing=label_smoothing, reduction=reduction),
        uses_kernels=True),
}

PARAMS = [pytest.param(name, b, id=f"{name}-{b}")
          for name, case in CASES.items()
          for b in (["numpy", "numba"] if case.uses_kernels else ["numpy"])]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name, backend_name", PARAMS)
@SETTINGS
@given(data=st.data())
def test_op_matches_torch(name, backend_name, data):
    check(CASES[name], data, backend_name)


COMPARISONS = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt,
               "ge": torch.ge}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@SETTINGS
@given(data=st.data())
def test_comparison_matches_torch(name, data):
    """Comparisons have no gradient: they return NumPy bool arrays, broadcasting both ways.
    Values are drawn from a few integers so that ties (== and <=) happen often."""
    dtype = data.draw(dtypes, label="dtype")
    (a, b), _ = binary()(data, dtype)
    a, b = np.round(a), np.round(b)
    got = getattr(ops, name)(mm.tensor(a, dtype=dtype), mm.tensor(b, dtype=dtype))
    expected = COMPARISONS[name](torch.tensor(a), torch.tensor(b)).numpy()
    assert isinstance(got, np.ndarray) and got.dtype == np.bool_
    np.testing.assert_array_equal(got, expected)


@SETTINGS
@given(data=st.data())
def test_argmax_matches_torch(data):
    """argmax returns int64 indices; on ties both pick the first maximum."""
    dtype = data.draw(dtypes, label="dtype")
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    x = np.round(values(data, shape, dtype))
    axis = data.draw(st.none() | st.just(axis_in(data, len(shape))), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    got = ops.argmax(mm.tensor(x, dtype=dtype), axis=axis, keepdims=keepdims)
    expected = torch.argmax(torch.tensor(x), dim=axis, keepdim=keepdims).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_every_public_op_is_in_the_table():
    """A new op in `minimixer.ops` must get a row here."""
    public = {name for name in dir(ops) if not name.startswith("_") and callable(getattr(ops, name))
              and getattr(getattr(ops, name), "__module__", "").startswith("minimixer.ops.")
              and not isinstance(getattr(ops, name), type)}
    tested = set(CASES) | set(COMPARISONS) | {"argmax"}
    missing = sorted(op for op in public
                     if not any(case == op or case.startswith(op + "_") for case in tested))
    assert not missing, f"ops without a property test against PyTorch: {missing}"
