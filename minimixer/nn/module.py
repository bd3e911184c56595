"""`Parameter` and `Module`: the containers every layer and model is built from.

A Module registers its parameters, buffers (non-learned state such as BatchNorm's
running statistics) and sub-modules in the order they are assigned, so
`named_parameters()` and `state_dict()` come out in a deterministic order with
dotted names like ``blocks.0.token_mlp.fc1.weight`` — the same scheme PyTorch uses.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..autograd import Tensor


# Callables (module, output) told about every module call; `models.summary` uses this
# to record each layer's output shape without changing any model code.
forward_observers: list = []


class Parameter(Tensor):
    """A Tensor that is a learnable weight: requires grad, and Modules collect it."""

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)

    def __repr__(self):
        return "Parameter(" + super().__repr__()[len("tensor("):]


class StateDictError(KeyError):
    """`load_state_dict` found missing, unexpected or mis-shaped entries."""

    def __str__(self):
        return self.args[0]


class Module:
    """Base class of layers and models.

    Subclasses assign Parameters, sub-Modules and buffers (via `register_buffer`) as
    attributes in `__init__` and implement `forward`. Calling the module calls forward.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----------------------------------------------------------- registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep a non-learned array (saved in state_dict, not given to optimizers)."""
        self._buffers[name] = None
        object.__setattr__(self, name, array)

    # ----------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        for observe in forward_observers:
            observe(self, out)
        return out

    # ----------------------------------------------------------- traversal
    def named_modules(self, prefix: str = ""):
        """Yield (dotted name, module) for this module and all descendants, in order."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def children(self):
        return iter(self._modules.values())

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_parameters(self):
        """Yield (dotted name, Parameter) in registration order."""
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for prefix, module in self.named_modules():
            for name in module._buffers:
                yield (f"{prefix}.{name}" if prefix else name), getattr(module, name)

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    # ----------------------------------------------------------- modes and grads
    def train(self, mode: bool = True) -> "Module":
        """Training mode (BatchNorm uses batch statistics and updates running ones)."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode (BatchNorm uses its running statistics)."""
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Convert every parameter and buffer to `dtype` (float64 for gradient checks)."""
        dtype = np.dtype(dtype)
        for p in self.parameters():
            p._data = p.data.astype(dtype)
            p.grad = None
            p.mark_dirty()
        for module in self.modules():
            for name in module._buffers:
                object.__setattr__(module, name, getattr(module, name).astype(dtype))
        return self

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # ----------------------------------------------------------- state
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of all parameters and buffers, keyed by dotted name."""
        state = OrderedDict((n, p.data.copy()) for n, p in self.named_parameters())
        state.update((n, np.array(b, copy=True)) for n, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays from `state` into this module's parameters and buffers.

        Raises StateDictError listing every missing, unexpected and mis-shaped key
        (all of them at once, so one message tells the whole story). Nothing is
        changed when an error is raised.
        """
        targets = dict(self.named_parameters())
        targets.update(self._buffer_owners())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        misshaped = [
            f"{k}: expected {self._shape_of(targets[k])}, got {np.shape(state[k])}"
            for k in targets if k in state and np.shape(state[k]) != self._shape_of(targets[k])
        ]
        problems = []
        if missing and strict:
            problems.append("missing keys: " + ", ".join(missing))
        if unexpected and strict:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if misshaped:
            problems.append("mis-shaped: " + "; ".join(misshaped))
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: " + " | ".join(problems))
        for key, target in targets.items():
            if key in state:
                self._assign(key, target, np.asarray(state[key]))

    def _buffer_owners(self) -> dict:
        owners = {}
        for prefix, module in self.named_modules():
            for name in module._buffers:
                owners[f"{prefix}.{name}" if prefix else name] = (module, name)
        return owners

    @staticmethod
    def _shape_of(target) -> tuple:
        if isinstance(target, Parameter):
            return target.shape
        module, name = target
        return np.shape(getattr(module, name))

    @staticmethod
    def _assign(key, target, value: np.ndarray) -> None:
        if isinstance(target, Parameter):
            target.data = value.astype(target.dtype)
        else:
            module, name = target
            buffer = getattr(module, name)
            buffer[...] = value

    # ----------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """One line of layer-specific facts, shown in `repr` (override in layers)."""
        return ""

    def __repr__(self):
        own = self.num_parameters()
        head = f"{type(self).__name__}({self.extra_repr()})"
        if not self._modules:
            return head + (f"  # {own:,} params" if own else "")
        lines = [f"{type(self).__name__}({self.extra_repr()}" + (f"  # {own:,} params" if own else "")]
        for name, child in self._modules.items():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_text}")
        lines.append(")")
        return "\n".join(lines)
