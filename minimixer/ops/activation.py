"""GELU, the Mixers' activation: GELU(x) = x * Phi(x), Phi the normal CDF.

approximate="none" (the default, as in both papers) uses erf exactly;
approximate="tanh" is the older tanh formula. Kernels: ``minimixer.kernels``.

    gelu         the activation on its own
    linear_gelu  gelu(linear(x, weight, bias, axis)) as one Function: the first half
                 of every MLP-Mixer MLP, with the bias and the GELU in one pass
"""

import numpy as np

from ..autograd import as_tensor
from .kernel_function import KernelFunction
from .linalg import as_rows, check_linear, linear, matrix_times_stack_grads, rows_times_matrix_grads


class Gelu(KernelFunction):
    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        return ctx.kernels.gelu_forward(x, approximate)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return (ctx.kernels.gelu_backward(x, grad_out, ctx.approximate),)


def gelu(x, approximate="none"):
    """Elementwise GELU; approximate is "none" (erf, exact) or "tanh"."""
    return Gelu.apply(as_tensor(x), approximate=approximate)


class LinearGelu(KernelFunction):
    """GELU(x @ weight + bias) along axis -1, or GELU(weightᵀ @ x + bias) along axis -2.

    The matmul is NumPy's (BLAS), as in `linear`. As separate ops, adding the bias is
    one pass over the product and the GELU a second; here the kernel
    ``bias_gelu_forward`` does both in one pass, and backward ``bias_gelu_backward``
    applies GELU's slope and sums the bias gradient in one pass too. It keeps what the
    two ops would keep: x for the weight gradient and GELU's input for its slope.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, axis=-1, approximate="none"):
        ctx.axis, ctx.approximate = axis, approximate
        if axis == -1:
            product = (as_rows(x) @ weight).reshape(x.shape[:-1] + (weight.shape[1],))
        else:
            product = np.matmul(weight.T, x)
        pre, out = ctx.kernels.bias_gelu_forward(product, bias, axis, approximate)
        ctx.save_for_backward(x, weight, pre)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight, pre = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad
        grad_pre, grad_bias = ctx.kernels.bias_gelu_backward(pre, grad_out, ctx.axis, ctx.approximate)
        if ctx.axis == -1:
            grad_x, grad_weight = rows_times_matrix_grads(x, weight, grad_pre, need_x, need_weight)
        else:  # the product was weightᵀ @ x: the gradient of weightᵀ, transposed back
            grad_weight_t, grad_x = matrix_times_stack_grads(weight.T, x, grad_pre, need_weight, need_x)
            grad_weight = None if grad_weight_t is None else np.ascontiguousarray(grad_weight_t.T)
        return grad_x, grad_weight, (grad_bias if need_bias else None)


def linear_gelu(x, weight, bias=None, axis=-1, approximate="none"):
    """gelu(linear(x, weight, bias, axis), approximate), the same numbers in fewer
    passes over memory (see `LinearGelu`). Without a bias it is the two ops."""
    x, weight, bias = check_linear("linear_gelu", x, weight, bias, axis)
    if bias is None:
        return gelu(linear(x, weight, None, axis), approximate)
    return LinearGelu.apply(x, weight, bias, axis=axis, approximate=approximate)
