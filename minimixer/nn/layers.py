"""General-purpose layers: Linear, Sequential and activation modules.

The Mixer-specific layers live in `mixer_layers.py`.
"""

from .. import ops
from ..errors import require_int
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W + b over the last axis, with W of shape (in_features, out_features).

    W is stored input-major (the transpose of PyTorch's (out, in) layout) so the
    forward pass is one matmul with no transpose. Default initialisation matches
    PyTorch: U(±1/sqrt(in_features)) for both weight and bias.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        in_features = require_int("Linear", "in_features", in_features)
        out_features = require_int("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.kaiming_uniform_default((in_features, out_features), in_features))
        self.bias = Parameter(init.bias_default((out_features,), in_features)) if bias else None

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: expected input with last axis {self.in_features}, got shape {x.shape}"
            )
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features} -> {self.out_features}" + ("" if self.bias is not None else ", bias=False")


class Sequential(Module):
    """Apply modules one after another; they are named "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)


class ReLU(Module):
    def forward(self, x):
        return ops.relu(x)


class Tanh(Module):
    def forward(self, x):
        return ops.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return ops.sigmoid(x)


class LeakyReLU(Module):
    """max(x, 0) + negative_slope * min(x, 0)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """Gaussian Error Linear Unit, x·Φ(x); exact (erf) unless approximate="tanh"."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return ops.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class Identity(Module):
    def forward(self, x):
        return x


class Flatten(Module):
    """(N, ...) -> (N, prod(...))."""

    def forward(self, x):
        return ops.flatten(x, 1)


class Dropout(Module):
    """Zero each entry with probability p while training (scaling the rest by 1/(1-p));
    the identity after `eval()`. Masks come from the generator `mm.manual_seed` seeds."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        ops.dropout(0.0, p, training=False)  # the same ValueError for a bad p, at build time
        self.p = p

    def forward(self, x):
        return ops.dropout(x, self.p, training=self.training)

    def extra_repr(self):
        return f"p={self.p}"
