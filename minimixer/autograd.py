"""The autograd engine: a `Tensor` that remembers how it was made, and `backward()`.

Every differentiable operation is a `Function` subclass whose `forward` and `backward`
rules sit side by side. Calling `SomeFunction.apply(a, b)` runs `forward` on the raw
NumPy arrays and, when gradients are wanted, records a *node* in the graph: the
function, its context `ctx` (anything forward saved for backward) and its parents.

`Tensor.backward()` then walks that graph once, in reverse topological order, handing
each node the gradient of the loss with respect to its output and collecting the
gradients it returns for its inputs. Three rules shape the design:

* The walk is *iterative* (an explicit stack, no recursion), so a chain of 10,000
  operations does not hit Python's recursion limit.
* Broadcasting is undone in one place: every gradient a `backward` returns is passed
  through `sum_to(grad, input.shape)` by the engine, never inside individual ops.
* Leaf gradients *accumulate*: `x.grad` is added to on every backward pass (as in
  PyTorch), so calling backward twice doubles it. Optimizers call `zero_grad()`.

After a backward pass the graph is freed (saved arrays dropped) unless
`retain_graph=True`; a second pass through a freed graph raises a clear error.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np

from .errors import InputError, InputTypeError

DEFAULT_DTYPE = np.float32
FLOAT_DTYPES = (np.float32, np.float64)

_grad_enabled = True


# --------------------------------------------------------------------------- grad mode
def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run operations without recording a graph (inference, optimizer updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Re-enable graph recording inside a `no_grad()` block."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


# --------------------------------------------------------------------------- helpers
def sum_to(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting: sum `grad` down to `shape`.

    If `x` of shape (3, 1) was broadcast against (2, 3, 4), the gradient arriving for
    the result has shape (2, 3, 4); the gradient for `x` is its sum over the leading
    axis that broadcasting added and over the axis where `x` had length 1.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"sum_to: cannot reduce gradient of shape {grad.shape} to {shape}")
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"sum_to: gradient of shape {grad.shape} does not broadcast to {shape}")
    return grad


# Array kinds converted to float: bool, signed and unsigned integers, floats.
_NUMERIC_KINDS = "buif"
_KIND_NAMES = {"c": "complex numbers (the imaginary part would be lost)",
               "O": "Python objects (None, mixed types, nested sequences)",
               "U": "strings", "S": "bytes", "V": "structured records",
               "M": "dates", "m": "time differences"}


def _as_array(data, dtype=None) -> np.ndarray:
    """Turn user data into a float ndarray (float32 unless `dtype` says otherwise).

    Accepted: numbers, nested lists of numbers, Tensors and arrays of bool, integer
    or float dtype (bools become 0/1, float16 widens exactly). Refused with a
    TypeError: None, complex numbers, strings and object arrays, which NumPy would
    otherwise turn into NaN or silently truncate. Ragged lists raise ValueError.
    """
    if isinstance(data, Tensor):
        data = data.data
    dtype = _float_dtype(dtype)
    if isinstance(data, np.ndarray) and data.dtype.type in FLOAT_DTYPES:
        return np.asarray(data, dtype=dtype)  # the fast path of every op's output
    if data is None:
        raise InputTypeError("tensor: data is None; expected a number, a list of numbers or an array")
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise InputError(f"tensor: cannot make an array of this data ({error})") from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        what = _KIND_NAMES.get(array.dtype.kind, f"dtype {array.dtype}")
        raise InputTypeError(f"tensor: expected numbers, got an array of {what} "
                             f"(dtype {array.dtype}, from {type(data).__name__})")
    return array.astype(dtype, copy=False)


def _float_dtype(dtype) -> np.dtype:
    """The float dtype a new tensor gets: float32 by default, float64 on request."""
    try:
        dtype = np.dtype(DEFAULT_DTYPE if dtype is None else dtype)
    except TypeError:
        raise InputTypeError(f"tensor: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype.type not in FLOAT_DTYPES:
        raise InputTypeError(f"tensor: dtype must be float32 or float64, got {dtype}")
    return dtype


# --------------------------------------------------------------------------- Function
class Context:
    """What a Function's forward leaves for its backward (`ctx` in both rules)."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays that backward will need. Their owners' versions are checked then."""
        self.saved_tensors = arrays


class Function:
    """Base class of every differentiable operation.

    Subclasses write two static methods:

    * ``forward(ctx, *args, **options) -> ndarray`` receives the *arrays* of Tensor
      inputs (plus any non-Tensor arguments as given) and returns the output array.
    * ``backward(ctx, grad_out) -> tuple`` returns one gradient (ndarray or None) per
      Tensor input, in order. The engine unbroadcasts each with `sum_to`.

    Call ``MyFunction.apply(...)``, never ``forward`` directly. A subclass that needs
    something in `ctx` before its forward runs (the kernel backend, see
    ``ops.kernel_function``) overrides `make_context`.
    """

    @staticmethod
    def forward(ctx, *args, **options):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_out):
        raise NotImplementedError

    @classmethod
    def make_context(cls, needs_input_grad: tuple) -> Context:
        """The `ctx` that forward fills and backward reads."""
        return Context(needs_input_grad)

    @classmethod
    def apply(cls, *args, **options) -> "Tensor":
        tensor_inputs = [a for a in args if isinstance(a, Tensor)]
        raw_args = [a._data if isinstance(a, Tensor) else a for a in args]
        needs_grad = tuple(t.requires_grad for t in tensor_inputs)
        track = _grad_enabled and any(needs_grad)
        ctx = cls.make_context(needs_grad)
        out_data = cls.forward(ctx, *raw_args, **options)
        out = Tensor._wrap(out_data, requires_grad=track)
        if track:
            out._node = Node(cls, ctx, tensor_inputs, out)
        return out


class Node:
    """One recorded operation: which Function made a tensor, from which parents."""

    __slots__ = ("function", "ctx", "parents", "saved_versions", "freed")

    def __init__(self, function, ctx, parents, output):
        self.function = function
        self.ctx = ctx
        self.parents = parents
        self.freed = False
        # Remember the version of every tensor whose array backward will read, so that
        # an in-place change made after forward is caught instead of giving wrong grads.
        owners = list(parents) + [output]
        saved_ids = {id(a) for a in ctx.saved_tensors}
        saved = [t for t in owners if id(t._data) in saved_ids]
        self.saved_versions = [(t, t._version) for t in saved]

    def check_versions(self):
        for t, version in self.saved_versions:
            if t._version != version:
                raise RuntimeError(
                    f"{self.function.__name__}.backward: a tensor of shape {t.shape} that "
                    "this operation saved was modified in place after the forward pass "
                    f"(version {version} -> {t._version}); its gradient would be wrong. "
                    "Recompute the forward pass after changing the data, or use a copy."
                )

    def free(self):
        """Drop saved arrays and links to parents so their memory can be reclaimed."""
        self.ctx = None
        self.parents = []
        self.saved_versions = []
        self.freed = True


# --------------------------------------------------------------------------- Tensor
class Tensor:
    """An n-dimensional float array that can record the operations applied to it.

    `data` is the NumPy array (float32 by default, float64 allowed). When
    `requires_grad` is true, operations build a graph and `backward()` fills `.grad`
    (an ndarray of the same shape) of every leaf tensor that requires grad.

    Its operators (`+`, `@`, indexing, ...) and op methods (`.sum()`, `.reshape()`, ...)
    are attached by ``minimixer/ops/__init__.py``, next to the functions they call.
    """

    __array_priority__ = 100  # make `ndarray * Tensor` defer to Tensor.__rmul__

    _ids = itertools.count()

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self._set_fields(_as_array(data, dtype), requires_grad)

    def _set_fields(self, array: np.ndarray, requires_grad: bool) -> None:
        self._data = array
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self._node: Node | None = None
        self._version = 0
        self._retains_grad = False
        self.name: str | None = None
        self._id = next(Tensor._ids)

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """Wrap an op's output array without copying or changing its dtype.

        Every op's output passes here, so a float32/float64 ndarray (the usual case)
        skips the conversions of `tensor()`; anything else goes through them.
        """
        t = cls.__new__(cls)
        if not (isinstance(array, np.ndarray) and array.dtype.type in FLOAT_DTYPES):
            array = np.asarray(array)
            array = _as_array(array, array.dtype)
        t._set_fields(array, requires_grad)
        return t

    # ---------------------------------------------------------------- data and facts
    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value):
        value = _as_array(value, self._data.dtype)  # same checks as mm.tensor (no None, complex...)
        if value.shape != self._data.shape:
            raise ValueError(f"Tensor.data: new shape {value.shape} != {self._data.shape}")
        self._data = value
        self.mark_dirty()

    def mark_dirty(self) -> None:
        """Declare that `data` was changed in place (optimizers call this).

        A graph that saved the old values will refuse to run backward through them.
        """
        self._version += 1

    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self._data

    def item(self) -> float:
        return self._data.item()

    def detach(self) -> "Tensor":
        """A tensor sharing this data but cut from the graph."""
        return Tensor._wrap(self._data, requires_grad=False)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (off by default)."""
        self._retains_grad = True

    def __len__(self):
        return len(self._data)

    def __repr__(self):
        body = np.array2string(self._data, precision=4, threshold=20, separator=", ")
        body = body.replace("\n", "\n       ")
        extras = []
        if self._data.dtype != DEFAULT_DTYPE:
            extras.append(f"dtype={self._data.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn={self._node.function.__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __setitem__(self, index, value):
        """In-place assignment; bumps the version so stale graphs are detected."""
        if self.requires_grad and self.is_leaf and _grad_enabled:
            raise RuntimeError(
                "Tensor.__setitem__: in-place change of a leaf that requires grad; "
                "wrap it in `with mm.no_grad():` if you mean to change the values."
            )
        self._data[index] = value.data if isinstance(value, Tensor) else value
        self.mark_dirty()

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- backward
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the `.grad` of every leaf that requires grad.

        `grad` is the upstream gradient; it may be omitted only for a one-element tensor
        (a loss), where it defaults to 1. Leaf gradients are *added* to what is already
        there. The graph is freed afterwards unless `retain_graph=True`.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad (no graph to walk)")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward: gradient must be given for a non-scalar tensor of shape {self.shape}"
                )
            grad = np.ones_like(self._data)
        grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward: gradient shape {grad.shape} != tensor shape {self.shape}")

        order = _topological_order(self)
        grads = {self._id: grad}
        for t in order:
            g = grads.pop(t._id, None)
            if g is None:
                continue
            if t.is_leaf or t._retains_grad:
                t.grad = g.copy() if t.grad is None else t.grad + g
            if t.is_leaf:
                continue
            node = t._node
            _run_node(node, g, grads)
            if not retain_graph:
                node.free()


def _run_node(node: Node, grad_out: np.ndarray, grads: dict) -> None:
    """Call one node's backward rule and add its results into `grads`."""
    if node.freed:
        raise RuntimeError(
            f"{node.function.__name__}.backward: the graph was already freed by an earlier "
            "backward(); pass retain_graph=True to the first call to go through it twice."
        )
    node.check_versions()
    input_grads = node.function.backward(node.ctx, grad_out)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(node.parents):
        raise RuntimeError(
            f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
            f"for {len(node.parents)} inputs"
        )
    for parent, g in zip(node.parents, input_grads):
        if g is None or not parent.requires_grad:
            continue
        g = sum_to(np.asarray(g, dtype=parent.dtype), parent.shape)
        previous = grads.get(parent._id)
        grads[parent._id] = g if previous is None else previous + g


def _topological_order(root: Tensor) -> list:
    """Tensors reachable from `root`, each listed before all of its parents.

    An explicit stack replaces recursion: a node is emitted after all its parents have
    been emitted (post-order), and the list is reversed at the end.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, parents_done = stack.pop()
        if parents_done:
            order.append(t)
            continue
        if t._id in visited:
            continue
        visited.add(t._id)
        stack.append((t, True))
        if t._node is not None:
            for p in t._node.parents:
                if p.requires_grad and p._id not in visited:
                    stack.append((p, False))
    order.reverse()
    return order


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Create a Tensor from an array, list or number (float32 unless `dtype` is given).

    `dtype` may be float32 (the default) or float64. The input is converted:

    * float32 / float64 arrays: to `dtype` (float64 data becomes float32 by default);
    * float16, integer and bool arrays and Python numbers: to `dtype` (True -> 1.0);
    * None, complex numbers, strings and object arrays: TypeError, never NaN or a
      silently dropped imaginary part;
    * ragged nested lists: ValueError.

    The data is copied only when a dtype conversion requires it.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(x, dtype=None) -> Tensor:
    """Return `x` itself if it is a Tensor, else wrap it (constants in expressions)."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def as_tensor_or_none(x) -> Tensor | None:
    """`as_tensor(x)`, but None stays None: an optional bias or norm weight."""
    return None if x is None else as_tensor(x)


def graph(root: Tensor) -> tuple:
    """The recorded graph that produced `root`, as plain data: (nodes, edges).

    nodes: {node id: (kind, label)} where kind is "box" for a tensor (labelled with its
    name, if set, and its shape) and "ellipse" for an operation (its Function's name);
    edges: [(source id, target id)], one per use, so `h * h` lists h -> Mul twice.
    Take it before `backward()`, which frees the graph. `to_dot` and `viz.plot_graph`
    both draw from this.
    """
    nodes, edges = {}, []
    seen, stack = set(), [root]
    while stack:
        t = stack.pop()
        if t._id in seen:
            continue
        seen.add(t._id)
        nodes[f"t{t._id}"] = ("box", (t.name + "\n" if t.name else "") + f"{t.shape}")
        if t._node is not None:
            op = f"op{t._id}"
            nodes[op] = ("ellipse", t._node.function.__name__)
            edges.append((op, f"t{t._id}"))
            for p in t._node.parents:
                edges.append((f"t{p._id}", op))
                stack.append(p)
    return nodes, edges


def to_dot(root: Tensor, name: str = "graph") -> str:
    """The graph that produced `root` as Graphviz DOT text (no graphviz needed).

    Tensors are boxes labelled with their name (if set) and shape; operations are
    ellipses. Render with `dot -Tpng` if you have it, or read it as text.
    """
    nodes, edges = graph(root)
    lines = [f"digraph {name} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node, (kind, label) in nodes.items():
        escaped = label.replace("\n", "\\n")
        lines.append(f'  {node} [shape={kind}, label="{escaped}"];')
    lines.extend(f"  {source} -> {target};" for source, target in edges)
    lines.append("}")
    return "\n".join(lines) + "\n"
