"""Element-wise operations: arithmetic, powers, exp/log and pointwise non-linearities.

Each backward is the local derivative times the upstream gradient. Broadcasting in
binary operations is undone by the engine (`autograd.sum_to`), so these rules can
return gradients of the broadcast shape.
"""

import numpy as np

from ..autograd import Function, Tensor, as_tensor


def _check_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> None:
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(
            f"{op}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together"
        ) from None


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("add", a, b)
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("sub", a, b)
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("mul", a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("div", a, b)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g / b, -g * a / (b * b)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Pow(Function):
    """a ** b for a tensor base and a tensor (or constant) exponent."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("pow", a, b)
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        grad_a = g * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        grad_b = None
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b log a, defined for a > 0.
            grad_b = g * out * np.log(np.where(a > 0, a, 1))
        return (grad_a, grad_b)[: len(ctx.needs_input_grad)]


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * out,)


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return (g / a,)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g / (2 * out),)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * (1 - out * out),)


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * (out > 0),)


def _const_like(x, like: Tensor) -> Tensor:
    """Wrap a Python number or array as a constant of `like`'s dtype (no upcast)."""
    return as_tensor(x, dtype=like.dtype)


def add(a, b):
    a, b = _pair(a, b)
    return Add.apply(a, b)


def sub(a, b):
    a, b = _pair(a, b)
    return Sub.apply(a, b)


def mul(a, b):
    a, b = _pair(a, b)
    return Mul.apply(a, b)


def div(a, b):
    a, b = _pair(a, b)
    return Div.apply(a, b)


def neg(a):
    return Neg.apply(a)


def pow(a, b):
    a, b = _pair(a, b)
    if not b.requires_grad:
        return Pow.apply(a, b.data)
    return Pow.apply(a, b)


def exp(a):
    return Exp.apply(a)


def log(a):
    return Log.apply(a)


def sqrt(a):
    return Sqrt.apply(a)


def tanh(a):
    return Tanh.apply(a)


def relu(a):
    return ReLU.apply(a)


def _pair(a, b):
    """Make both operands Tensors; plain numbers take the dtype of the Tensor one."""
    if isinstance(a, Tensor):
        return a, _const_like(b, a)
    return _const_like(a, b), b
