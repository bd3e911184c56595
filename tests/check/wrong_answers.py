"""A plausible wrong answer for every catalogued mistake, as an edit of the reference solution.

`WRONG[exercise][mistake key]` is a list of (old, new) text replacements applied to
`lessons/exercises/solutions/NN_<exercise>.py`, or ("append", code) to redefine a
function at the end of the file. Every `old` must occur in the solution, so the table
cannot drift away from the solutions unnoticed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "lessons" / "exercises" / "solutions"

DW = 'depthwise_conv2d(x, p["spatial.fn.0.weight"], p["spatial.fn.0.bias"])'
BN1, BN2 = 'p["spatial.fn.2.weight"], p["spatial.fn.2.bias"]', 'p["norm.weight"], p["norm.bias"]'
MATMUL = "return grad_out @ b.T, a.T @ grad_out"
GRAD_X_LINE = "grad_x = grad_xpad[:, before:before + height, before:before + width, :].copy()"
LN_GRAD_X = ("grad_x = rstd * (d_x_hat - d_x_hat.mean(axis=-1, keepdims=True)\n"
             "                     - x_hat * (d_x_hat * x_hat).mean(axis=-1, keepdims=True))")
MIXER_HELPERS = """
def _token(x, p):
    return mlp(x, p["token_mlp.fc1.weight"], p["token_mlp.fc1.bias"],
               p["token_mlp.fc2.weight"], p["token_mlp.fc2.bias"])

def _channel(x, p):
    return mlp(x, p["channel_mlp.fc1.weight"], p["channel_mlp.fc1.bias"],
               p["channel_mlp.fc2.weight"], p["channel_mlp.fc2.bias"])

def _norm(x, p, which):
    return layer_norm(x, p[which + ".weight"], p[which + ".bias"])

def _t(x):
    return x.transpose(0, 2, 1)
"""


def _mixer(body: str) -> tuple:
    return ("append", MIXER_HELPERS + "\ndef mixer_block(x, p):\n" + textwrap.indent(textwrap.dedent(body), "    "))


WRONG = {
    "patches": {
        "patches_plain_reshape": [("    return table\n",
                                   "    return images.reshape(n, rows * cols, p * p * channels)\n")],
        "patches_grid_column_by_column": [("table[:, r * cols + c]", "table[:, c * rows + r]")],
        "patches_block_column_by_column": [("block.reshape(n, -1)", "block.transpose(0, 2, 1, 3).reshape(n, -1)")],
        "patches_channel_first": [("block.reshape(n, -1)", "block.transpose(0, 3, 1, 2).reshape(n, -1)")],
        "patches_grid_not_flattened": [("    return table\n", "    return table.reshape(n, rows, cols, -1)\n")],
        "unpatchify_plain_reshape": [("    return images\n", "    return table.reshape(n, height, width, channels)\n")],
        "unpatchify_grid_column_by_column": [("block = table[:, r * cols + c]", "block = table[:, c * rows + r]")],
        "patches_silent_crop": [('        raise ValueError(f"{p}x{p} blocks cannot tile a {height}x{width} picture")\n',
                                 "        pass\n")],
    },
    "backward_rule": {
        "tanh_sign": [("return (grad_out * (1 - y * y),)", "return (-grad_out * (1 - y * y),)")],
        "tanh_used_x": [("ctx.save_for_backward(y)", "ctx.save_for_backward(x)")],
        "tanh_applied_twice": [("return (grad_out * (1 - y * y),)", "return (grad_out * (1 - np.tanh(y) ** 2),)")],
        "tanh_ignores_grad_out": [("return (grad_out * (1 - y * y),)", "return (1 - y * y,)")],
        "tanh_slope_not_squared": [("return (grad_out * (1 - y * y),)", "return (grad_out * (1 - y),)")],
        "tanh_passes_grad_out": [("return (grad_out * (1 - y * y),)", "return (grad_out,)")],
        "matmul_a_transpose_missing": [(MATMUL, "return grad_out @ b, a.T @ grad_out")],
        "matmul_a_factor_order": [(MATMUL, "return b.T @ grad_out, a.T @ grad_out")],
        "matmul_b_transpose_missing": [(MATMUL, "return grad_out @ b.T, a @ grad_out")],
        "matmul_b_factor_order": [(MATMUL, "return grad_out @ b.T, grad_out @ a.T")],
        "matmul_gradients_swapped": [(MATMUL, "return a.T @ grad_out, grad_out @ b.T")],
        "matmul_sign": [(MATMUL, "return -(grad_out @ b.T), -(a.T @ grad_out)")],
    },
    "token_mixing": {
        "token_mixing_channel_axis": [("columns = x.transpose(0, 2, 1)", "columns = x"),
                                      ("return mixed.transpose(0, 2, 1)", "return mixed")],
        "token_mixing_not_transposed_back": [("return mixed.transpose(0, 2, 1)", "return mixed")],
        "token_mixing_tanh_gelu": [("gelu(columns @ w1 + b1)", 'gelu(columns @ w1 + b1, "tanh")')],
        "token_mixing_relu": [("gelu(columns @ w1 + b1)", "(columns @ w1 + b1).clip(0)")],
        "token_mixing_no_activation": [("gelu(columns @ w1 + b1)", "(columns @ w1 + b1)")],
        "token_mixing_first_bias_missing": [("columns @ w1 + b1", "columns @ w1")],
        "token_mixing_second_bias_missing": [("hidden @ w2 + b2", "hidden @ w2")],
    },
    "layer_norm_backward": {
        "layer_norm_statistics_as_constants": [(LN_GRAD_X, "grad_x = rstd * d_x_hat")],
        "layer_norm_variance_path_missing": [(LN_GRAD_X, "grad_x = rstd * (d_x_hat - "
                                                         "d_x_hat.mean(axis=-1, keepdims=True))")],
        "layer_norm_mean_path_missing": [(LN_GRAD_X, "grad_x = rstd * (d_x_hat - x_hat * "
                                                     "(d_x_hat * x_hat).mean(axis=-1, "
                                                     "keepdims=True))")],
        "layer_norm_gamma_forgotten": [("d_x_hat = grad_y * gamma", "d_x_hat = grad_y")],
        "layer_norm_parameter_grads_not_summed": [("grad_gamma = (grad_y * x_hat).sum(axis=rows)",
                                                   "grad_gamma = grad_y * x_hat"),
                                                  ("grad_beta = grad_y.sum(axis=rows)", "grad_beta = grad_y")],
        "layer_norm_parameter_grads_first_axis_only": [("rows = tuple(range(x.ndim - 1))", "rows = 0")],
        "layer_norm_parameter_grads_averaged": [("(grad_y * x_hat).sum(axis=rows)", "(grad_y * x_hat).mean(axis=rows)"),
                                                ("grad_y.sum(axis=rows)", "grad_y.mean(axis=rows)")],
        "layer_norm_gamma_grad_uses_x": [("(grad_y * x_hat).sum(axis=rows)", "(grad_y * x).sum(axis=rows)")],
        "layer_norm_unbiased_variance": [("((x - mean) ** 2).mean(axis=-1, keepdims=True) + eps)",
                                          "((x - mean) ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1) + eps)")],
        "layer_norm_eps_missing": [("keepdims=True) + eps)", "keepdims=True))")],
        "layer_norm_sign": [("grad_x = rstd * (", "grad_x = -rstd * (")],
        "layer_norm_gamma_beta_swapped": [("grad_gamma.astype(x.dtype), grad_beta.astype(x.dtype)",
                                           "grad_beta.astype(x.dtype), grad_gamma.astype(x.dtype)")],
    },
    "depthwise_conv": {
        "depthwise_kernel_transposed": [('"nhwcij,ijc->nhwc"', '"nhwcij,jic->nhwc"')],
        "depthwise_kernel_flipped": [("windows, w)", "windows, w[::-1, ::-1])")],
        "depthwise_even_padding_side": [("before = (k - 1) // 2", "before = k // 2")],
        "depthwise_even_padding_symmetric": [("before = (k - 1) // 2", "before = k // 2"),
                                             ("after = k - 1 - before", "after = before")],
        "depthwise_no_padding": [("xpad = np.pad(x, ((0, 0), (before, after), (before, after), (0, 0)))", "xpad = x")],
        "depthwise_bias_missing": [("        y = y + b", "        y = y")],
    },
    "depthwise_backward": {
        "depthwise_weight_grad_not_summed_over_batch": [("(window * grad_y).sum(axis=(0, 1, 2))",
                                                         "(window[0] * grad_y[0]).sum(axis=(0, 1))")],
        "depthwise_weight_grad_averaged_over_batch": [("(window * grad_y).sum(axis=(0, 1, 2))",
                                                       "(window * grad_y).mean(axis=0).sum(axis=(0, 1))")],
        "depthwise_weight_grad_transposed": [("grad_w[i, j] =", "grad_w[j, i] =")],
        "depthwise_weight_grad_flipped": [("grad_w[i, j] =", "grad_w[k - 1 - i, k - 1 - j] =")],
        "depthwise_bias_grad_not_summed_over_batch": [("grad_b = grad_y.sum(axis=(0, 1, 2))",
                                                       "grad_b = grad_y[0].sum(axis=(0, 1))")],
        "depthwise_bias_grad_averaged": [("grad_b = grad_y.sum(axis=(0, 1, 2))",
                                          "grad_b = grad_y.mean(axis=(0, 1, 2))")],
        "depthwise_input_grad_kernel_not_flipped": [(GRAD_X_LINE, "grad_x = depthwise_conv2d(grad_y, w)")],
        "depthwise_input_grad_padding_side": [(GRAD_X_LINE, "grad_x = grad_xpad[:, after:after + height, "
                                                            "after:after + width, :].copy()")],
        "depthwise_input_grad_not_cropped": [(GRAD_X_LINE, "grad_x = grad_xpad")],
    },
    "mixer_block": {
        "block_token_skip_missing": [("x = x + mixed.transpose(0, 2, 1)", "x = mixed.transpose(0, 2, 1)")],
        "block_channel_skip_missing": [("return x + mlp(normed,", "return mlp(normed,")],
        "block_post_norm": _mixer("""
            x = _norm(x + _t(_token(_t(x), p)), p, "norm1")
            return _norm(x + _channel(x, p), p, "norm2")
        """),
        "block_steps_swapped": _mixer("""
            x = x + _channel(_norm(x, p, "norm2"), p)
            return x + _t(_token(_t(_norm(x, p, "norm1")), p))
        """),
        "block_norm1_in_channel_step": [('layer_norm(x, p["norm2.weight"], p["norm2.bias"])',
                                         'layer_norm(x, p["norm1.weight"], p["norm1.bias"])')],
        "block_norm2_in_token_step": [('layer_norm(x, p["norm1.weight"], p["norm1.bias"])',
                                       'layer_norm(x, p["norm2.weight"], p["norm2.bias"])')],
        "block_norm_after_transpose": _mixer("""
            x = x + _t(_token(_norm(_t(x), p, "norm1"), p))
            return x + _channel(_norm(x, p, "norm2"), p)
        """),
        "block_token_transpose_missing": _mixer("""
            x = x + _token(_norm(x, p, "norm1"), p)
            return x + _channel(_norm(x, p, "norm2"), p)
        """),
        "block_norms_missing": _mixer("""
            x = x + _t(_token(_t(x), p))
            return x + _channel(x, p)
        """),
    },
    "convmixer_block": {
        "batch_norm_over_channels": [("mean = x.mean(axis=(0, 1, 2))", "mean = x.mean(axis=-1, keepdims=True)"),
                                     ("var = x.var(axis=(0, 1, 2))", "var = x.var(axis=-1, keepdims=True)")],
        "batch_norm_per_image": [("mean = x.mean(axis=(0, 1, 2))", "mean = x.mean(axis=(1, 2), keepdims=True)"),
                                 ("var = x.var(axis=(0, 1, 2))", "var = x.var(axis=(1, 2), keepdims=True)")],
        "batch_norm_unbiased_variance": [("var = x.var(axis=(0, 1, 2))", "var = x.var(axis=(0, 1, 2), ddof=1)")],
        "batch_norm_scale_shift_missing": [("/ np.sqrt(var + eps) * weight + bias", "/ np.sqrt(var + eps)")],
        "convmixer_skip_missing": [("x = x + batch_norm(spatial,", "x = batch_norm(spatial,")],
        "convmixer_skip_misplaced": [(f"gelu({DW})", f"gelu(x + {DW})"),
                                     ("x = x + batch_norm(spatial,", "x = batch_norm(spatial,")],
        "convmixer_skip_on_pointwise": [(f"return batch_norm(mixed, {BN2})", f"return x + batch_norm(mixed, {BN2})")],
        "convmixer_batch_norm_before_gelu": ("append", f"""
def convmixer_block(x, p):
    x = x + gelu(batch_norm({DW}, {BN1}))
    return gelu(batch_norm(x @ p["pointwise.weight"] + p["pointwise.bias"], {BN2}))
"""),
        "convmixer_batch_norms_swapped": [(BN1, "FIRST"), (BN2, BN1), ("FIRST", BN2)],
        "convmixer_gelu_missing": [(f"gelu({DW})", f"({DW})"), ("mixed = gelu(x @", "mixed = (x @")],
        "convmixer_pointwise_transposed": [('x @ p["pointwise.weight"]', 'x @ p["pointwise.weight"].T')],
    },
    "training_loop": {
        "loop_last_batch_dropped": [("for start in range(0, len(order), batch_size):",
                                     "for start in range(0, len(order) - batch_size + 1, batch_size):")],
        "loop_not_shuffled": [("order = rng.permutation(len(images))", "order = np.arange(len(images))")],
        "loop_same_order_every_epoch": [("order = rng.permutation(len(images))",
                                         "order = np.random.default_rng(0).permutation(len(images))")],
        "loop_no_train_mode": [("    model.train()\n", "")],
        "loop_no_zero_grad": [("        optimizer.zero_grad()\n", "")],
        "loop_labels_not_shuffled_with_images": [("labels[batch])", "labels[start:start + batch_size])")],
        "loop_loss_summed": [("labels[batch])", 'labels[batch], reduction="sum")')],
        "loop_softmax_before_cross_entropy": [("F.cross_entropy(model(images[batch])",
                                               "F.cross_entropy(F.softmax(model(images[batch]))")],
        "loop_step_before_backward": [("        loss.backward()\n        optimizer.step()\n",
                                       "        optimizer.step()\n        loss.backward()\n")],
        "loop_no_step": [("        optimizer.step()\n", "")],
        "loop_returns_last_batch_loss": [("    return total / len(order)", "    return float(loss.item())")],
        "loop_returns_loss_sum": [("total += float(loss.item()) * len(batch)", "total += float(loss.item())"),
                                  ("    return total / len(order)", "    return total")],
        "accuracy_no_eval_mode": [("    model.eval()\n", "")],
        "accuracy_count_not_fraction": [("return correct / len(images)", "return correct")],
        "accuracy_first_batch_only": [("for start in range(0, len(images), batch_size):",
                                       "for start in range(0, batch_size, batch_size):"),
                                      ("return correct / len(images)", "return correct / batch_size")],
        "accuracy_records_graph": [("    with mm.no_grad():\n        for start", "    if True:\n        for start")],
    },
}


def solution_path(exercise) -> Path:
    return SOLUTIONS / exercise.skeleton


def wrong_source(exercise, key: str) -> str:
    """The reference solution of `exercise` with mistake `key` made."""
    source = solution_path(exercise).read_text(encoding="utf-8")
    edit = WRONG[exercise.name][key]
    if isinstance(edit, tuple) and edit[0] == "append":
        return source + "\n" + edit[1]
    for old, new in edit:
        assert old in source, f"{exercise.skeleton}: {old!r} is not in the solution any more"
        source = source.replace(old, new, 1)
    return source


def write_wrong(folder: Path, exercise, key: str, name: str | None = None) -> Path:
    path = folder / (name or f"{key}.py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(wrong_source(exercise, key), encoding="utf-8")
    return path
