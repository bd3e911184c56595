"""`KernelFunction`: a Function whose array work is done by ``minimixer.kernels``.

Its `ctx.kernels` is the backend module (``kernels.fast`` or ``kernels.reference``)
that was active when the forward pass ran. The backward pass uses that same module,
so calling ``mm.set_backend`` between forward and backward cannot mix the two.
"""

from .. import kernels
from ..autograd import Context, Function


class KernelFunction(Function):
    """Base class of the ops that call kernels: forward and backward read `ctx.kernels`."""

    @classmethod
    def make_context(cls, needs_input_grad: tuple) -> Context:
        ctx = super().make_context(needs_input_grad)
        ctx.kernels = kernels.current()
        return ctx
