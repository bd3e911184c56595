"""GELU, the Mixers' activation: GELU(x) = x * Phi(x), Phi the normal CDF.

approximate="none" (the default, as in both papers) uses erf exactly;
approximate="tanh" is the older tanh formula. Kernels: ``minimixer.kernels``.
"""

from ..autograd import as_tensor
from .kernel_function import KernelFunction


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
