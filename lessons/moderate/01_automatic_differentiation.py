# %% [markdown]
# # Moderate 1 · Automatic differentiation, from the chain rule up
#
# Training a Mixer means computing the gradient of one number (the loss) with
# respect to tens of thousands of weights, after a forward pass of hundreds of
# operations. Nobody writes that derivative by hand. minimixer records every
# operation as it runs and then applies the chain rule backwards through the
# record: *reverse-mode automatic differentiation*.
#
# This lesson takes it apart:
#
# 1. the chain rule by hand on a two-line expression, then the same with `mm.tensor`;
# 2. why the backward pass must visit the graph in **topological order**
#    (a diamond-shaped graph, the wrong order, and its wrong answer);
# 3. why that order makes backward cost linear in the graph size, even when the
#    number of paths explodes;
# 4. writing a new differentiable `Function` (Swish) and checking it with
#    `mm.gradcheck`, including what a broken backward looks like in its report.

# %%
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # lessons/ and the repository

import matplotlib.pyplot as plt
import numpy as np

import minimixer as mm
from minimixer import viz
from _common import parse_args, save, section

args = parse_args("Reverse-mode autodiff: chain rule, topological order, gradcheck.")
CHAIN_LENGTH = 40 if args.quick else 400

# %% [markdown]
# ## 1. The chain rule by hand
#
# Take f(x, y) = tanh(x·y + x) and name the intermediate values:
#
#     a = x · y        b = a + x        f = tanh(b)
#
# Going *backwards* from f, each step multiplies by one local derivative:
#
#     ∂f/∂b = 1 − tanh²(b)
#     ∂f/∂a = ∂f/∂b · ∂b/∂a = ∂f/∂b · 1
#     ∂f/∂y = ∂f/∂a · ∂a/∂y = ∂f/∂a · x
#     ∂f/∂x = ∂f/∂a · ∂a/∂x  +  ∂f/∂b · ∂b/∂x = ∂f/∂a · y + ∂f/∂b · 1
#
# Note the last line: x is used twice, so its gradient is a **sum** over both
# uses. Keep that in mind; it is the whole story of section 2.

# %%
section("1. The chain rule by hand, then by minimixer")
x_value, y_value = 0.5, -1.5
a = x_value * y_value
b = a + x_value
f = math.tanh(b)
df_db = 1 - f * f
df_da = df_db * 1.0
df_dy = df_da * x_value
df_dx = df_da * y_value + df_db * 1.0
print(f"forward:  a = {a}, b = {b}, f = tanh(b) = {f:.6f}")
print(f"by hand:  df/dx = {df_dx:.6f}   df/dy = {df_dy:.6f}")

x = mm.tensor(x_value, requires_grad=True, dtype=np.float64)
y = mm.tensor(y_value, requires_grad=True, dtype=np.float64)
out = (x * y + x).tanh()
out.backward()
print(f"minimixer: df/dx = {x.grad.item():.6f}   df/dy = {y.grad.item():.6f}")
assert np.isclose(out.item(), f) and np.isclose(x.grad.item(), df_dx) and np.isclose(y.grad.item(), df_dy)

# %% [markdown]
# ## 2. A diamond, and why the order matters
#
# Now a graph where one value feeds two branches that meet again:
#
#     h = tanh(x)        u = 2·h        v = h·h        z = u + v
#
# The backward pass keeps a running gradient for every node. A node may hand its
# gradient on to its inputs only when it is **complete**, i.e. after every node
# that *uses* it has added its share. Here h is used by u and by v, so h must be
# processed after both. An order with that property (every node after all of its
# users) is a reverse **topological order** of the graph.
#
# Below, the backward pass is written out as data: for each node, its inputs and
# the local derivative towards each. We run it in two orders.

# %%
section("2. The diamond: a right and a wrong backward order")
x_value = 0.8
h = math.tanh(x_value)
local = {                      # node: [(input, d node / d input), ...]
    "z": [("u", 1.0), ("v", 1.0)],
    "u": [("h", 2.0)],
    "v": [("h", 2 * h)],
    "h": [("x", 1 - h * h)],
}


def backward_in_order(order):
    """Visit nodes in `order`; each passes its gradient so far on to its inputs."""
    grad = {"z": 1.0}
    for node in order:
        for parent, derivative in local.get(node, []):
            grad[parent] = grad.get(parent, 0.0) + grad.get(node, 0.0) * derivative
    return grad["x"]


right = backward_in_order(["z", "u", "v", "h", "x"])
wrong = backward_in_order(["z", "u", "h", "v", "x"])       # h goes before v has added its share
print(f"topological order z, u, v, h, x : dz/dx = {right:.6f}")
print(f"h visited too early z, u, h, v, x: dz/dx = {wrong:.6f}   (the path through v is lost)")

x = mm.tensor(x_value, requires_grad=True, dtype=np.float64)
x.name = "x"
h_t = x.tanh()
h_t.name = "h"
u_t, v_t = 2 * h_t, h_t * h_t
u_t.name, v_t.name = "u", "v"
z_t = u_t + v_t
z_t.name = "z"
dot_text = mm.to_dot(z_t)            # read the graph before backward() frees it
nodes, edges = mm.graph(z_t)         # the same graph as plain data: nodes and edges
save(viz.plot_graph(z_t), args, "diamond_graph")
z_t.backward()
numeric = (math.tanh(x_value + 1e-6) * 2 + math.tanh(x_value + 1e-6) ** 2
           - math.tanh(x_value - 1e-6) * 2 - math.tanh(x_value - 1e-6) ** 2) / 2e-6
print(f"minimixer: dz/dx = {x.grad.item():.6f}     finite difference: {numeric:.6f}")
assert np.isclose(x.grad.item(), right) and np.isclose(right, numeric, atol=1e-8)
assert not np.isclose(wrong, right)

# %% [markdown]
# minimixer finds such an order itself. `mm.to_dot` prints the recorded graph
# as Graphviz DOT text: boxes are tensors (name and shape; the constant 2 is the
# nameless `()` box), ellipses are operations, arrows point from inputs to
# results. `v = h·h` uses h twice, so the DOT text lists the edge from h into v's
# `Mul` **twice**, once per factor: the diamond again in miniature. (The drawing
# `diamond_graph.png` puts those two arrows exactly on top of each other, so there
# you see a single arrow h → Mul; the check below counts them in the text.) From
# the edges we can compute a topological order ourselves
# (Kahn's algorithm: repeatedly take a node none of whose inputs is still
# waiting), and reverse it for the backward pass.

# %%
print(dot_text)
node_named = {label.split("\n")[0]: n for n, (_, label) in nodes.items()}   # h, v, ... -> DOT id
v_operation = next(source for source, target in edges if target == node_named["v"])   # the Mul making v
h_into_mul = edges.count((node_named["h"], v_operation))
assert h_into_mul == 2, "h feeds v's Mul twice, once per factor"
print(f"the edge h -> Mul (the one computing v = h*h) appears {h_into_mul} times in the DOT text")
inputs_left = {n: 0 for n in nodes}
users = {n: [] for n in nodes}
for source, target in edges:
    inputs_left[target] += 1
    users[source].append(target)
ready = [n for n in nodes if inputs_left[n] == 0]
forward_order = []
while ready:
    node = ready.pop()
    forward_order.append(node)
    for user in users[node]:
        inputs_left[user] -= 1
        if inputs_left[user] == 0:
            ready.append(user)
assert len(forward_order) == len(nodes), "a graph with a cycle has no topological order"
backward_order = forward_order[::-1]
labels = [nodes[n][1].split("\n")[0] for n in backward_order]
print("backward order (tensors by name, operations by type):")
print("  " + " -> ".join(labels))
position = {n: i for i, n in enumerate(backward_order)}
assert all(position[target] < position[source] for source, target in edges)
print("check: every node comes after all of its users")

# %% [markdown]
# ## 3. Why not just follow every path?
#
# Another way to get dz/dx is to sum, over every path from x to z, the product
# of local derivatives along it. That is correct, but a chain of k diamonds has
# 2^k paths. The topological backward pass visits each node once and reaches the
# same sum: it is dynamic programming over the graph, linear in its size.
#
# We chain many diamonds, each `y -> 0.3·y + 0.7·y` (so z = x exactly and
# dz/dx = 1), and run minimixer's backward on it.

# %%
section(f"3. A chain of {CHAIN_LENGTH} diamonds")
x = mm.tensor(1.0, requires_grad=True, dtype=np.float64)
y = x
for _ in range(CHAIN_LENGTH):
    y = 0.3 * y + 0.7 * y
start = time.perf_counter()
y.backward()
elapsed = time.perf_counter() - start
print(f"paths from x to z: 2^{CHAIN_LENGTH} = {float(2 ** CHAIN_LENGTH):.3e}")
print(f"operations in the graph: {3 * CHAIN_LENGTH}; backward took {elapsed * 1e3:.1f} ms")
print(f"dz/dx = {x.grad.item():.12f} (exact answer 1)")
assert np.isclose(x.grad.item(), 1.0, atol=1e-9)

# %% [markdown]
# ## 4. Writing a new operation: Swish, checked by gradcheck
#
# Swish (also called SiLU) is x·σ(x), with σ the logistic sigmoid. Its derivative
# by the product rule, using σ' = σ(1 − σ):
#
#     d/dx [x·σ(x)] = σ(x) + x·σ(x)·(1 − σ(x))
#
# A minimixer operation is a `Function` with a `forward` on NumPy arrays and a
# `backward` that turns the gradient of the output into gradients of the inputs.
# `ctx.save_for_backward` keeps what backward will need. (We compute σ as
# ½(1 + tanh(x/2)), an exact identity that never overflows.)

# %%
section("4. A Swish Function and gradcheck")


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Swish(mm.Function):
    @staticmethod
    def forward(ctx, x):
        s = sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved_tensors
        return (grad_out * (s + x * s * (1.0 - s)),)


class SwishForgotProductRule(Swish):
    """A typical slip: differentiating x·σ(x) as if x were a constant factor."""

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved_tensors
        return (grad_out * x * s * (1.0 - s),)


class SwishSignSlip(Swish):
    """A subtler slip: σ' written as σ(1 + σ)."""

    @staticmethod
    def backward(ctx, grad_out):
        x, s = ctx.saved_tensors
        return (grad_out * (s + x * s * (1.0 + s)),)


rng = np.random.default_rng(0)
inputs = mm.tensor(rng.uniform(-3, 3, size=(3, 4)), requires_grad=True)
assert mm.gradcheck(Swish.apply, inputs)
print("Swish: gradcheck passed (float64 central differences, every entry)")

for broken in (SwishForgotProductRule, SwishSignSlip):
    try:
        mm.gradcheck(broken.apply, inputs)
    except mm.GradcheckError as report:
        print(f"\n{broken.__name__}: gradcheck says")
        print("  " + str(report).replace("\n", "\n  ").splitlines()[0])
        for line in str(report).splitlines()[1:4]:
            print("  " + line)
    else:
        raise AssertionError(f"gradcheck should have caught {broken.__name__}")

# %% [markdown]
# The figure compares the three backward rules with the finite-difference slope
# on a line of points. The product-rule slip is off almost everywhere; the sign
# slip only where x·σ² is large, so it would slip past a test at x = 0 alone.
# This is why gradcheck uses random inputs and a random upstream gradient.

# %%
line = np.linspace(-5, 5, 201)


def slope_of(function):
    point = mm.tensor(line, requires_grad=True, dtype=np.float64)
    function.apply(point).backward(np.ones_like(line))
    return point.grad


finite_difference = (line + 1e-6) * sigmoid(line + 1e-6) - (line - 1e-6) * sigmoid(line - 1e-6)
finite_difference /= 2e-6
assert np.allclose(slope_of(Swish), finite_difference, atol=1e-7)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
left.plot(line, line * sigmoid(line), color="black")
left.set_title("Swish: x·σ(x)")
left.grid(alpha=0.3)
right.plot(line, finite_difference, color="black", linewidth=4, alpha=0.3, label="finite difference")
right.plot(line, slope_of(Swish), label="Swish.backward")
right.plot(line, slope_of(SwishForgotProductRule), "--", label="forgot product rule")
right.plot(line, slope_of(SwishSignSlip), ":", label="σ' = σ(1+σ) slip")
right.set_ylim(-1, 3)
right.set_title("its derivative: three backward rules")
right.legend(fontsize=8)
right.grid(alpha=0.3)
save(fig, args, "swish_backward")

# %% [markdown]
# ## 5. Why gradcheck works in float64
#
# The central difference (f(x+ε) − f(x−ε)) / 2ε has two errors: truncation,
# which shrinks like ε², and rounding, which grows like (machine precision)/ε.
# In float32 (precision about 1e-7) the best ε is large, around 1e-2, and the
# error stays above about 1e-6: too coarse to tell a small bug from noise. In
# float64 (precision about 2e-16) it drops to around 1e-11. So gradcheck copies
# the inputs to float64 and uses ε = 1e-6.

# %%
section("5. Finite-difference error in float32 and float64")
point = 1.3
exact = sigmoid(point) + point * sigmoid(point) * (1 - sigmoid(point))
steps = np.logspace(-10, -1, 37)
errors = {}
for dtype in (np.float32, np.float64):
    x0, errs = dtype(point), []
    for eps in steps:
        e = dtype(eps)
        plus, minus = (x0 + e) * sigmoid(x0 + e), (x0 - e) * sigmoid(x0 - e)
        errs.append(abs(float((plus - minus) / (dtype(2) * e)) - exact))
    errors[dtype.__name__] = np.array(errs)
    best = int(np.argmin(errs))
    print(f"{dtype.__name__}: smallest error {errs[best]:.1e} at eps = {steps[best]:.0e}")
assert errors["float64"].min() < 1e-8 < errors["float32"].min()

fig, ax = plt.subplots(figsize=(6, 4))
for name, errs in errors.items():
    ax.loglog(steps, np.maximum(errs, 1e-17), "o-", markersize=3, label=name)
ax.axvline(1e-6, color="0.5", linestyle=":", label="gradcheck's eps")
ax.set_xlabel("step ε")
ax.set_ylabel("|finite difference − exact|")
ax.set_title("central difference error: rounding (left) vs truncation (right)")
ax.legend()
ax.grid(alpha=0.3, which="both")
save(fig, args, "finite_difference_error")

# %% [markdown]
# ## What we saw
#
# * Backward = chain rule applied from the output, multiplying local derivatives,
#   **adding** over the different uses of a value.
# * A node's gradient is complete only after all its users have contributed, so the
#   walk goes in reverse topological order; a wrong order silently loses paths.
# * That order also makes backward linear in graph size, though paths grow exponentially.
# * A new op is a `Function` with `forward` and `backward`; `mm.gradcheck` compares
#   its backward with float64 finite differences and names the entries that disagree.
#
# ## Try this
#
# 1. Change `local` so that z = u·v instead of u + v. Which local derivatives change?
# 2. Write a `Square` Function whose backward returns `2 * grad_out` (forgot the x)
#    and read gradcheck's report. At which inputs would it accidentally pass?
# 3. Call `mm.gradcheck(Swish.apply, inputs, eps=1e-2)`. Does the correct Swish still pass?
#    What about `eps=1e-12`?
# 4. Run `y.backward()` twice in section 3. What does minimixer say, and why is the
#    graph freed after the first call?
