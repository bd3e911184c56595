"""Reference kernels in plain NumPy: the readable specification.

Every function here takes and returns raw ``np.ndarray`` objects (no autograd).
``fast.py`` implements the same functions with the same signatures in Numba and
is tested against this file, so when the two disagree, this file is right. Both
take their argument checks from ``_checks.py``; the NumPy erf that the exact GELU
needs is built in ``_erf.py``. A backward kernel's upstream gradient is `grad_out`.

Layout is channels-last: images and feature maps are ``(N, H, W, C)``, token
tables are ``(N, S, C)``. The output dtype always equals the input dtype
(float32 stays float32; float64 is used by gradient checks).

Kernel set:

* ``patchify`` / ``unpatchify``            -- cut an image into p x p patches and back
* ``depthwise_conv2d_forward/backward``    -- k x k per-channel conv, "same" padding
                                             (the forward also takes explicit padding)
* ``layer_norm_forward/backward``          -- normalise each row over the last axis
* ``batch_norm_forward/backward``          -- normalise each channel over all other axes
* ``gelu_forward/backward``                -- exact (erf) or tanh-approximated GELU
* ``gelu_batch_norm_forward/backward``     -- training-mode batch norm of GELU(x), for
                                             ConvMixer (GELU's output is not stored)
* ``bias_gelu_forward/backward``           -- GELU(y + bias) after a matmul, for the
                                             MLP-Mixer's MLPs (bias along axis -1 or -2)
* ``softmax_cross_entropy_forward/backward`` -- fused softmax + CE with label smoothing
* ``adamw_update``                         -- one in-place AdamW step
* ``im2col`` / ``col2im``                  -- windows of a general conv2d, and their adjoint
* ``max_pool2d_forward/backward``          -- max over each window (first maximum wins ties)
* ``avg_pool2d_forward/backward``          -- mean over each window, padding counted
"""

import math

import numpy as np

from ._checks import (
    check_approximate,
    check_bias_gelu,
    check_cols_shape,
    check_depthwise_shapes,
    check_labels,
    check_patch_length,
    check_patch_size,
    check_reduction,
)
from ._erf import erf

# --------------------------------------------------------------------------
# Padding
# --------------------------------------------------------------------------


def same_padding(k):
    """PyTorch's padding="same" for stride 1: (before, after) on each spatial axis.

    For an even kernel the extra row/column goes after (bottom/right).
    """
    before = (k - 1) // 2
    return before, k - 1 - before


def depthwise_padding(k, padding):
    """(before, after) zero rows/columns for a depthwise conv with a k x k kernel.

    ``padding`` is "same" (``same_padding(k)``: the output keeps the input's size)
    or a pair of non-negative integers (before, after), the same on both spatial
    axes; (0, 0) is a "valid" convolution. Raise ValueError for anything else.
    """
    if isinstance(padding, str) and padding == "same":
        return same_padding(k)
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in padding):
        return int(padding[0]), int(padding[1])
    raise ValueError(f'depthwise_conv2d: padding must be "same" or a pair (before, after) '
                     f"of non-negative integers, got {padding!r}")


# --------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------


def patchify(x, p):
    """(N, H, W, C) -> (N, H/p, W/p, p*p*C).

    Each patch vector is ordered (row in patch, column in patch, channel), so
    a patch embedding is ``patchify(x, p) @ weight`` with weight (p*p*C, D).
    """
    n, height, width, channels = x.shape
    check_patch_size(height, width, p)
    grid = x.reshape(n, height // p, p, width // p, p, channels)
    grid = grid.transpose(0, 1, 3, 2, 4, 5)  # (N, H/p, W/p, p, p, C)
    return grid.reshape(n, height // p, width // p, p * p * channels)


def unpatchify(patches, p, channels):
    """Inverse of ``patchify``: (N, H/p, W/p, p*p*C) -> (N, H, W, C)."""
    n, rows, cols, size = patches.shape
    check_patch_length(size, p, channels)
    grid = patches.reshape(n, rows, cols, p, p, channels)
    grid = grid.transpose(0, 1, 3, 2, 4, 5)  # (N, H/p, p, W/p, p, C)
    return grid.reshape(n, rows * p, cols * p, channels)


# --------------------------------------------------------------------------
# Depthwise convolution (stride 1, "same" padding, cross-correlation)
# --------------------------------------------------------------------------


def _pad_same(x, k):
    before, after = same_padding(k)
    return np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))


def depthwise_conv2d_forward(x, w, b=None, padding="same"):
    """y[n,h,w,c] = b[c] + sum_{i,j} xpad[n, h+i, w+j, c] * w[i, j, c].

    x (N,H,W,C), w (k,k,C), b (C,) or None. xpad is x with ``padding`` zeros around
    its height and width: "same" (the default) gives y (N,H,W,C); a pair (before,
    after) gives y (N, H+before+after-k+1, W+before+after-k+1, C) (see
    ``depthwise_padding``). Each of the k*k kernel taps adds one shifted copy of the
    padded input, scaled per channel.
    """
    check_depthwise_shapes(x, w, b)
    k = w.shape[0]
    before, after = depthwise_padding(k, padding)
    xpad = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))
    height, width = xpad.shape[1] - k + 1, xpad.shape[2] - k + 1
    if height < 1 or width < 1:
        raise ValueError(f"depthwise_conv2d: a {k}x{k} kernel does not fit the {x.shape[1]}x{x.shape[2]} "
                         f"input padded by {padding!r}")
    y = np.zeros((x.shape[0], height, width, x.shape[3]), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            y += xpad[:, i:i + height, j:j + width, :] * w[i, j]
    if b is not None:
        y += b
    return y


def depthwise_conv2d_backward(x, w, grad_out, need_bias=True):
    """Gradients of ``depthwise_conv2d_forward`` -> (grad_x, grad_w, grad_b).

    Each tap (i, j) of the forward pass read the window xpad[:, i:i+H, j:j+W],
    so its weight gradient is that window times grad_out summed over (N, H, W),
    and it sends grad_out * w[i, j] back into the same window. grad_b is None
    when ``need_bias`` is False.
    """
    check_depthwise_shapes(x, w, None)
    _, height, width, _ = x.shape
    k = w.shape[0]
    before, _ = same_padding(k)
    xpad = _pad_same(x, k)
    grad_xpad = np.zeros_like(xpad)
    grad_w = np.empty_like(w)
    for i in range(k):
        for j in range(k):
            window = xpad[:, i:i + height, j:j + width, :]
            grad_w[i, j] = (window * grad_out).sum(axis=(0, 1, 2))
            grad_xpad[:, i:i + height, j:j + width, :] += grad_out * w[i, j]
    grad_x = np.ascontiguousarray(grad_xpad[:, before:before + height, before:before + width, :])
    grad_b = grad_out.sum(axis=(0, 1, 2)) if need_bias else None
    return grad_x, grad_w, grad_b


# --------------------------------------------------------------------------
# Layer norm: statistics per row over the last axis
# --------------------------------------------------------------------------


def layer_norm_forward(x, gamma, beta, eps):
    """y = (x - mean) * rstd * gamma + beta, with mean/var over the last axis.

    Returns (y, mean, rstd); mean and rstd have shape x.shape[:-1] and are
    what the backward pass needs. var is the biased variance (divide by C).
    """
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    y = centred * rstd * gamma + beta
    return y, mean[..., 0], rstd[..., 0]


def layer_norm_backward(grad_out, x, gamma, mean, rstd):
    """Gradients of ``layer_norm_forward`` -> (grad_x, grad_gamma, grad_beta).

    With xhat = (x - mean) * rstd and g = grad_out * gamma, per row:
    grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat)).
    """
    channels = x.shape[-1]
    xhat = (x - mean[..., None]) * rstd[..., None]
    g = grad_out * gamma
    g_mean = g.mean(axis=-1, keepdims=True)
    gx_mean = (g * xhat).mean(axis=-1, keepdims=True)
    grad_x = rstd[..., None] * (g - g_mean - xhat * gx_mean)
    grad_gamma = (grad_out * xhat).reshape(-1, channels).sum(axis=0)
    grad_beta = grad_out.reshape(-1, channels).sum(axis=0)
    return grad_x, grad_gamma, grad_beta


# --------------------------------------------------------------------------
# Batch norm (training mode): statistics per channel over all other axes
# --------------------------------------------------------------------------


def batch_norm_forward(x, gamma, beta, eps):
    """Training-mode batch norm over every axis but the last.

    x is viewed as (M, C) rows. Returns (y, mean, rstd, biased_var), the last
    three of shape (C,). The running-statistics update (which uses the
    unbiased variance) is the caller's job.
    """
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    mean = rows.mean(axis=0)
    centred = rows - mean
    var = (centred * centred).mean(axis=0)
    rstd = 1.0 / np.sqrt(var + eps)
    y = centred * rstd * gamma + beta
    return y.reshape(x.shape), mean, rstd, var


def batch_norm_apply(x, mean, scale, shift):
    """Evaluation-mode batch norm with fixed statistics: (x - mean) * scale + shift.

    scale = gamma / sqrt(running_var + eps) and shift = beta, all of shape (C,),
    applied along the last axis.
    """
    return (x - mean) * scale + shift


def batch_norm_backward(grad_out, x, gamma, mean, rstd):
    """Gradients of ``batch_norm_forward`` -> (grad_x, grad_gamma, grad_beta).

    With xhat = (x - mean) * rstd over M rows, per channel:
    grad_beta = sum(dy), grad_gamma = sum(dy * xhat),
    grad_x = gamma * rstd * (dy - grad_beta / M - xhat * grad_gamma / M).
    """
    channels = x.shape[-1]
    rows = x.reshape(-1, channels)
    dy = grad_out.reshape(-1, channels)
    m = rows.shape[0]
    xhat = (rows - mean) * rstd
    grad_beta = dy.sum(axis=0)
    grad_gamma = (dy * xhat).sum(axis=0)
    grad_x = (gamma * rstd) * (dy - grad_beta / m - xhat * (grad_gamma / m))
    return grad_x.reshape(x.shape), grad_gamma, grad_beta


# --------------------------------------------------------------------------
# GELU
# --------------------------------------------------------------------------

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TANH_COEFF = 0.044715


def gelu_forward(x, approximate="none"):
    """GELU(x) = x * Phi(x), Phi the standard normal CDF.

    approximate="none": Phi(x) = (1 + erf(x / sqrt 2)) / 2 (exact, the default).
    approximate="tanh": Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
    """
    check_approximate(approximate)
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + _TANH_COEFF * x * x * x)
        return 0.5 * x * (1.0 + np.tanh(inner))
    return 0.5 * x * (1.0 + erf(x * _SQRT_HALF))


def gelu_backward(x, grad_out, approximate="none"):
    """grad_x = grad_out * d GELU / dx.

    Exact: d/dx [x Phi(x)] = Phi(x) + x * phi(x), phi the normal density.
    Tanh: with u = sqrt(2/pi)(x + 0.044715 x^3) and t = tanh(u),
    d/dx = (1 + t)/2 + x/2 * (1 - t^2) * sqrt(2/pi) * (1 + 3 * 0.044715 x^2).
    """
    check_approximate(approximate)
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + _TANH_COEFF * x * x * x)
        t = np.tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _TANH_COEFF * x * x)
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner
    else:
        cdf = 0.5 * (1.0 + erf(x * _SQRT_HALF))
        pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        slope = cdf + x * pdf
    return grad_out * slope


def gelu_batch_norm_forward(x, gamma, beta, eps):
    """Training-mode batch norm of GELU(x) (exact GELU) -> (y, mean, rstd, biased_var).

    ConvMixer applies BatchNorm right after every GELU. Taken as one function, the
    GELU output need not be stored for the backward pass: it can be recomputed from
    x, which the GELU derivative needs anyway. The statistics are those of GELU(x).
    """
    return batch_norm_forward(gelu_forward(x), gamma, beta, eps)


def gelu_batch_norm_backward(grad_out, x, gamma, mean, rstd):
    """Gradients of ``gelu_batch_norm_forward`` -> (grad_x, grad_gamma, grad_beta):
    the batch-norm gradients at GELU(x), then the chain rule through the GELU."""
    grad_gelu, grad_gamma, grad_beta = batch_norm_backward(grad_out, gelu_forward(x), gamma, mean, rstd)
    return gelu_backward(x, grad_gelu), grad_gamma, grad_beta


def bias_gelu_forward(y, bias, axis=-1, approximate="none"):
    """(pre, GELU(pre)) with pre = y + bias, the bias running along `axis` of y.

    The tail of a Linear layer followed by a GELU, the first half of every MLP-Mixer
    MLP: y is the matmul's product; axis=-1 adds bias[j] to column j (channel
    mixing), axis=-2 adds bias[i] to row i of each (M, C) slice (token mixing). `pre`
    is what the GELU's backward pass needs.
    """
    check_bias_gelu(y.shape, axis, approximate, bias.shape)
    pre = y + (bias if axis == -1 else bias[:, None])
    return pre, gelu_forward(pre, approximate)


def bias_gelu_backward(pre, grad_out, axis=-1, approximate="none"):
    """Gradients of ``bias_gelu_forward`` -> (grad_pre, grad_bias).

    grad_pre = grad_out * GELU'(pre) is also the gradient of y (adding a bias passes
    gradients through); grad_bias sums grad_pre over every axis but `axis`.
    """
    check_bias_gelu(pre.shape, axis, approximate)
    grad_pre = gelu_backward(pre, grad_out, approximate)
    summed = tuple(a for a in range(pre.ndim) if a != pre.ndim + axis)
    return grad_pre, grad_pre.sum(axis=summed)



# --------------------------------------------------------------------------
# Inference fusions of the ConvMixer block (evaluation mode, no autograd)
# --------------------------------------------------------------------------
# In evaluation mode a BatchNorm is a fixed per-channel affine map, y * scale + shift
# with scale = gamma / sqrt(running_var + eps) and shift = beta - running_mean * scale.
# So a whole ConvMixer block is two elementwise tails on two linear maps:
#     x1 = x + GELU(depthwise(x) + b1) * scale1 + shift1
#     x2 = GELU(x1 @ W + b2) * scale2 + shift2
# These two functions are those tails; the fast backend computes each in one pass.


def gelu_affine(y, scale, shift):
    """GELU(y) * scale + shift along the last axis (exact GELU): GELU then eval-mode BN."""
    return gelu_forward(y) * scale + shift


def residual_depthwise_gelu_affine(x, w, b, scale, shift):
    """x + GELU(depthwise(x, w) + b) * scale + shift: a ConvMixer spatial-mixing step."""
    return x + gelu_affine(depthwise_conv2d_forward(x, w, b), scale, shift)


# --------------------------------------------------------------------------
# Softmax cross-entropy (PyTorch label smoothing and reductions)
# --------------------------------------------------------------------------


def softmax_cross_entropy_forward(logits, labels, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy of softmax(logits) against smoothed one-hot targets.

    logits (N, K), labels int (N,). The target of row n is
    (1 - ls) * onehot(labels[n]) + ls / K, as in PyTorch. Returns (loss, probs (N, K)):
    loss is a 0-d array of the logits dtype for reduction "mean" or "sum", the N row
    losses for "none".

    A -inf logit (a masked class) has probability 0. Unless it is the label, it adds
    nothing to the loss when ls = 0; with ls > 0 the target gives it weight ls / K
    and the loss is +inf, as in PyTorch.
    """
    n, k = logits.shape
    labels = check_labels(labels, n, k)
    check_reduction("cross_entropy", reduction, n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    per_row = -log_probs[np.arange(n), labels]
    if label_smoothing:  # only then: 0 * (the -inf mean of a masked row) would be NaN
        per_row = (1.0 - label_smoothing) * per_row - label_smoothing * log_probs.mean(axis=1)
    return reduce_rows(per_row, reduction).astype(logits.dtype, copy=False), np.exp(log_probs)


def softmax_cross_entropy_backward(probs, labels, label_smoothing, grad_out, reduction="mean"):
    """grad_logits = (probs - target) * row_weights(grad_out): the upstream gradient,
    divided by N for "mean", one value per row for "none"."""
    n, k = probs.shape
    labels = check_labels(labels, n, k)
    grad = probs - label_smoothing / k
    grad[np.arange(n), labels] -= 1.0 - label_smoothing
    grad *= row_weights(grad_out, n, reduction, probs.dtype)
    return grad


def reduce_rows(per_row, reduction):
    """Row losses (N,) -> their mean or sum as a 0-d array, or themselves for "none"."""
    if reduction == "none":
        return per_row
    return np.asarray(per_row.mean() if reduction == "mean" else per_row.sum())


def row_weights(grad_out, n, reduction, dtype):
    """d(loss)/d(row loss) times the upstream gradient, shaped to scale (N, K) rows:
    a 0-d array for "mean" (grad / N) and "sum" (grad), an (N, 1) column for "none"."""
    dtype = np.dtype(dtype)
    grad_out = np.asarray(grad_out, dtype=dtype)
    if reduction == "none":
        return grad_out.reshape(n, 1)
    return grad_out / dtype.type(n) if reduction == "mean" else grad_out


# --------------------------------------------------------------------------
# AdamW
# --------------------------------------------------------------------------


def adamw_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, step):
    """One AdamW step, in place on param, exp_avg and exp_avg_sq (PyTorch's math).

    Decoupled weight decay: param *= 1 - lr * weight_decay, then the Adam step
    param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
    with m, v the running first and second moments and t = step (>= 1).
    """
    param *= 1.0 - lr * weight_decay
    exp_avg *= beta1
    exp_avg += (1.0 - beta1) * grad
    exp_avg_sq *= beta2
    exp_avg_sq += (1.0 - beta2) * grad * grad
    bias_correction1 = 1.0 - beta1**step
    bias_correction2 = 1.0 - beta2**step
    denom = np.sqrt(exp_avg_sq) / math.sqrt(bias_correction2) + eps
    param -= (lr / bias_correction1) * exp_avg / denom


# --------------------------------------------------------------------------
# Sliding windows: general conv2d (im2col / col2im), max and average pooling
# --------------------------------------------------------------------------
# Every window kernel takes the same geometry, as plain tuples of ints:
#     kernel_size (kh, kw), stride (sh, sw), padding ((top, bottom), (left, right)).
# Output pixel (ho, wo) looks at the window whose tap (i, j) is input pixel
# (ho * sh - top + i, wo * sw - left + j); taps outside the image are padding.
# Windows never run past the padded image (PyTorch's ceil_mode=False).


def window_output_shape(height, width, kernel_size, stride, padding):
    """(Ho, Wo) for sliding a kh x kw window with the given stride and padding.

    Ho = (H + top + bottom - kh) // sh + 1, likewise Wo; ValueError if the
    window does not fit into the padded image even once.
    """
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = kernel_size, stride, padding
    padded_h, padded_w = height + top + bottom, width + left + right
    if padded_h < kh or padded_w < kw:
        raise ValueError(
            f"a {kh}x{kw} window does not fit into a {height}x{width} input with padding "
            f"{padding} (padded size {padded_h}x{padded_w})"
        )
    return (padded_h - kh) // sh + 1, (padded_w - kw) // sw + 1


def _pad_spatial(x, padding, value=0.0):
    """x (N, H, W, C) with `value` rows/columns added around H and W."""
    (top, bottom), (left, right) = padding
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _tap_view(padded, i, j, out_shape, stride):
    """What tap (i, j) reads in every window: padded[:, i + sh*ho, j + sw*wo, :], a view.

    Writing into the view writes into `padded`, which is how the backward
    passes scatter gradients back.
    """
    (out_h, out_w), (sh, sw) = out_shape, stride
    return padded[:, i:i + sh * (out_h - 1) + 1:sh, j:j + sw * (out_w - 1) + 1:sw, :]


def _crop_padding(padded, padding, height, width):
    """The inverse of _pad_spatial: the H x W image inside the padding, contiguous."""
    (top, _), (left, _) = padding
    return np.ascontiguousarray(padded[:, top:top + height, left:left + width, :])


def im2col(x, kernel_size, stride, padding):
    """(N, H, W, C) -> cols (N, Ho, Wo, kh, kw, C): the window under every output pixel.

    cols[n, ho, wo] is the kh x kw x C window read by output pixel (ho, wo),
    zeros where it hangs over the padding. A convolution is then one matmul:
    cols viewed as (N*Ho*Wo, kh*kw*C) rows times a (kh*kw*C, C_out) weight.
    Built one tap at a time: tap (i, j) of every window is a strided view.
    """
    n, height, width, channels = x.shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw = kernel_size
    padded = _pad_spatial(x, padding)
    cols = np.empty((n, *out_shape, kh, kw, channels), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j, :] = _tap_view(padded, i, j, out_shape, stride)
    return cols


def col2im(cols, input_shape, kernel_size, stride, padding):
    """Adjoint of ``im2col``: add every window entry back onto the pixel it was read from.

    cols (N, Ho, Wo, kh, kw, C) -> (N, H, W, C) for input_shape (N, H, W, C).
    A pixel read by several windows (stride < kernel) receives the sum of
    their entries; entries that fell on the padding are dropped. This turns
    the gradient of the cols into the gradient of the image.
    """
    _, height, width, _ = input_shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw = kernel_size
    check_cols_shape(cols, input_shape, out_shape, kernel_size, stride, padding)
    padded = _pad_spatial(np.zeros(input_shape, dtype=cols.dtype), padding)
    for i in range(kh):
        for j in range(kw):
            view = _tap_view(padded, i, j, out_shape, stride)
            view += cols[:, :, :, i, j, :]
    return _crop_padding(padded, padding, height, width)


def max_pool2d_forward(x, kernel_size, stride, padding):
    """Max over each window -> (y (N, Ho, Wo, C), taps int32 of the same shape).

    taps[n, ho, wo, c] = i * kw + j says which tap of the window held the
    maximum; backward sends the gradient there. Padding counts as -inf and
    never wins. As in PyTorch, the *first* maximum in row-major tap order wins
    a tie (later taps must be strictly greater), and a NaN wins (it propagates).
    """
    n, height, width, channels = x.shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw = kernel_size
    padded = _pad_spatial(x, padding, -np.inf)
    real = _pad_spatial(np.ones((1, height, width, 1), dtype=bool), padding, False)
    y = np.full((n, *out_shape, channels), -np.inf, dtype=x.dtype)
    taps = np.full(y.shape, -1, dtype=np.int32)
    for i in range(kh):
        for j in range(kw):
            window = _tap_view(padded, i, j, out_shape, stride)
            first_real = (taps < 0) & _tap_view(real, i, j, out_shape, stride)
            take = (window > y) | np.isnan(window) | first_real
            y = np.where(take, window, y)
            taps[take] = i * kw + j
    return y, taps


def max_pool2d_backward(grad_out, taps, input_shape, kernel_size, stride, padding):
    """Gradient of ``max_pool2d_forward``: each window's gradient goes to its winning tap.

    Pixels that won several overlapping windows add up their gradients.
    """
    _, height, width, _ = input_shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw = kernel_size
    padded = _pad_spatial(np.zeros(input_shape, dtype=grad_out.dtype), padding)
    for i in range(kh):
        for j in range(kw):
            view = _tap_view(padded, i, j, out_shape, stride)
            view += np.where(taps == i * kw + j, grad_out, 0)
    return _crop_padding(padded, padding, height, width)


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """Mean over each window -> (N, Ho, Wo, C).

    The divisor is always kh * kw, padding included (PyTorch's default,
    count_include_pad=True): padded zeros count as values.
    """
    n, height, width, channels = x.shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw = kernel_size
    padded = _pad_spatial(x, padding)
    total = np.zeros((n, *out_shape, channels), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            total += _tap_view(padded, i, j, out_shape, stride)
    return total / x.dtype.type(kh * kw)


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride, padding):
    """Gradient of ``avg_pool2d_forward``: every pixel of a window gets grad / (kh * kw)."""
    _, height, width, _ = input_shape
    out_shape = window_output_shape(height, width, kernel_size, stride, padding)
    kh, kw = kernel_size
    share = grad_out / grad_out.dtype.type(kh * kw)
    padded = _pad_spatial(np.zeros(input_shape, dtype=grad_out.dtype), padding)
    for i in range(kh):
        for j in range(kw):
            view = _tap_view(padded, i, j, out_shape, stride)
            view += share
    return _crop_padding(padded, padding, height, width)
