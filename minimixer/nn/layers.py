"""General-purpose layers: Linear, Sequential and activation modules.

The Mixer-specific layers live in `mixer_layers.py`.
"""

from .. import ops
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
        return ops.reshape(x, (x.shape[0], -1))
