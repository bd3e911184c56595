"""GELU, the Mixers' activation: GELU(x) = x * Phi(x), Phi the normal CDF.

approximate="none" (the default, as in both papers) uses erf exactly;
approximate="tanh" is the older tanh formula. Kernels: ``minimixer.kernels``.
"""

from .. import kernels
from ..autograd import Function, as_tensor


class Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.kernels = kernels.current()
        ctx.approximate = approximate
        ctx.save_for_backward(x)
        return ctx.kernels.gelu_forward(x, approximate)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (ctx.kernels.gelu_backward(x, grad, ctx.approximate),)


def gelu(x, approximate="none"):
    """Elementwise GELU; approximate is "none" (erf, exact) or "tanh"."""
    return Gelu.apply(as_tensor(x), approximate=approximate)
