"""Element-wise operations: arithmetic, powers, exp/log and pointwise non-linearities.

Each backward is the local derivative times the upstream gradient. Broadcasting in
binary operations is undone by the engine (`autograd.sum_to`), so these rules can
return gradients of the broadcast shape.

Where a function has a kink (relu, leaky_relu, abs, maximum/minimum, clip) the
gradient *at* the kink follows PyTorch, so results agree with it exactly.
"""

import numpy as np

from ..autograd import Function, Tensor, as_tensor


def _check_broadcast(op: str, a: np.ndarray, b: np.ndarray) -> None:
    if np.shape(a) == np.shape(b):  # the common case, and cheaper than the full rule
        return
    try:
        np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(
            f"{op}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together"
        ) from None


def _pair(a, b):
    """Make both operands Tensors; plain numbers take the dtype of the Tensor one."""
    if isinstance(a, Tensor):
        return a, _const_like(b, a)
    return _const_like(a, b), b


def _const_like(x, like: Tensor) -> Tensor:
    """Wrap a Python number or array as a constant of `like`'s dtype (no upcast)."""
    return as_tensor(x, dtype=like.dtype)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("add", a, b)
        return a + b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out


def add(a, b):
    a, b = _pair(a, b)
    return Add.apply(a, b)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("sub", a, b)
        return a - b

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, -grad_out


def sub(a, b):
    a, b = _pair(a, b)
    return Sub.apply(a, b)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("mul", a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out * b, grad_out * a


def mul(a, b):
    a, b = _pair(a, b)
    return Mul.apply(a, b)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("div", a, b)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out / b, -grad_out * a / (b * b)


def div(a, b):
    a, b = _pair(a, b)
    return Div.apply(a, b)


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad_out):
        return (-grad_out,)


def neg(a):
    return Neg.apply(a)


class Pow(Function):
    """a ** b for a tensor base and a tensor (or constant) exponent."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("pow", a, b)
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved_tensors
        grad_a = grad_out * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        grad_b = None
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b log a, defined for a > 0.
            grad_b = grad_out * out * np.log(np.where(a > 0, a, 1))
        return (grad_a, grad_b)[: len(ctx.needs_input_grad)]


def pow(a, b):
    a, b = _pair(a, b)
    if not b.requires_grad:
        return Pow.apply(a, b.data)
    return Pow.apply(a, b)


class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return (grad_out * out,)


def exp(a):
    return Exp.apply(a)


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return (grad_out / a,)


def log(a):
    return Log.apply(a)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return (grad_out / (2 * out),)


def sqrt(a):
    return Sqrt.apply(a)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return (grad_out * (1 - out * out),)


def tanh(a):
    return Tanh.apply(a)


class ReLU(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return (grad_out * (out > 0),)


def relu(a):
    return ReLU.apply(a)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed from exp(-|x|) so it never overflows."""

    @staticmethod
    def forward(ctx, a):
        e = np.exp(-np.abs(a))  # in (0, 1]: exp of a large |x| underflows to 0, harmlessly
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return (grad_out * out * (1 - out),)


def sigmoid(a):
    """Logistic function 1 / (1 + exp(-a)), stable for any |a|."""
    return Sigmoid.apply(as_tensor(a))


class LeakyReLU(Function):
    """x for x > 0, negative_slope * x otherwise (slope, not 1, at x = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        positive = a > 0
        ctx.save_for_backward(positive)
        ctx.slope = a.dtype.type(negative_slope)
        return np.where(positive, a, a * ctx.slope)

    @staticmethod
    def backward(ctx, grad_out):
        (positive,) = ctx.saved_tensors
        return (np.where(positive, grad_out, grad_out * ctx.slope),)


def leaky_relu(a, negative_slope=0.01):
    """a where a > 0, negative_slope * a elsewhere (torch.nn.functional.leaky_relu)."""
    return LeakyReLU.apply(as_tensor(a), negative_slope=negative_slope)


class Abs(Function):
    """|x|; its gradient sign(x) is 0 at x = 0 (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return (grad_out * np.sign(a),)


def abs(a):
    """Element-wise absolute value (gradient 0 at 0)."""
    return Abs.apply(as_tensor(a))


def _split_by_winner(grad_out, a_wins, tie):
    """Gradients of (a, b) for a max/min: all to the winner, half each on a tie."""
    share_a = np.where(a_wins, 1.0, np.where(tie, 0.5, 0.0)).astype(grad_out.dtype)
    return grad_out * share_a, grad_out * (1 - share_a)


class Maximum(Function):
    """Element-wise max of two broadcast tensors; on a tie each input gets half the gradient.

    Halving at ties (PyTorch's rule) keeps the gradient of maximum(x, x) equal to that
    of x: the two halves add up to 1.
    """

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("maximum", a, b)
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return _split_by_winner(grad_out, a > b, a == b)


def maximum(a, b):
    """Element-wise maximum of a and b, broadcast together; ties share the gradient."""
    a, b = _pair(a, b)
    return Maximum.apply(a, b)


class Minimum(Function):
    """Element-wise min of two broadcast tensors; ties split the gradient as in `Maximum`."""

    @staticmethod
    def forward(ctx, a, b):
        _check_broadcast("minimum", a, b)
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return _split_by_winner(grad_out, a < b, a == b)


def minimum(a, b):
    """Element-wise minimum of a and b, broadcast together; ties share the gradient."""
    a, b = _pair(a, b)
    return Minimum.apply(a, b)


class Clip(Function):
    """x limited to [min, max]; gradient 1 where min <= x <= max (boundaries included,
    as in torch.clamp), 0 where the value was clipped. min and max are constants."""

    @staticmethod
    def forward(ctx, a, min=None, max=None):
        inside = np.ones(a.shape, dtype=bool)
        if min is not None:
            inside &= a >= min
        if max is not None:
            inside &= a <= max
        ctx.save_for_backward(inside)
        return np.clip(a, min, max).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        (inside,) = ctx.saved_tensors
        return (grad_out * inside,)


def clip(a, min=None, max=None):
    """Limit a to [min, max] (either bound may be None); torch.clamp's values and gradient.

    The bounds are numbers or arrays that broadcast to a's shape, treated as constants
    (no gradient flows to them). If min > max every entry becomes max, as in NumPy and
    PyTorch.
    """
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    a = as_tensor(a)
    low = None if min is None else _bound_array(min, a, "min")
    high = None if max is None else _bound_array(max, a, "max")
    return Clip.apply(a, min=low, max=high)


clamp = clip


def _bound_array(value, like: Tensor, name: str):
    """A clip bound as a constant array of `like`'s dtype that broadcasts to its shape."""
    value = np.asarray(value.data if isinstance(value, Tensor) else value, dtype=like.dtype)
    try:
        np.broadcast_to(value, like.shape)
    except ValueError:
        raise ValueError(
            f"clip: {name} of shape {value.shape} does not broadcast to the input shape "
            f"{like.shape}"
        ) from None
    return value
