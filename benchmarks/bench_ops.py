"""Per-op speed: forward + backward of each Mixer op, NumPy reference vs Numba vs PyTorch.

A kernel-development tool, not a user-facing comparison: PyTorch runs *inside*
minimixer's process here, so it inherits minimixer's settings (OMP_WAIT_POLICY=PASSIVE,
which makes its OpenMP threads sleep between ops, and the glibc allocator settings of
minimixer/performance.py). That is deliberate: the question here is which of
minimixer's kernels is slow next to a reference kernel doing the same maths, and
equal thread and allocator conditions isolate the kernels from those policies (each
op also runs as a bare autograd Function, without the graph engine, which no user
runs either). What a person choosing a library gets, each framework in its own
process with its own defaults, is measured by bench_train.py.

    python benchmarks/bench_ops.py                 # 2 threads, writes benchmarks/RESULTS_ops.md
    python benchmarks/bench_ops.py --quick         # small shapes, a few seconds, no file

Each op runs its autograd Function's ``forward`` then ``backward`` directly (the
exact arithmetic the engine runs, without graph bookkeeping) on the "numpy"
and "numba" backends; PyTorch (if installed) runs the same op with
``torch.autograd.grad``. Implementations are interleaved round by round and the
median is reported, so a busy machine slows all of them alike.

Sizes are those of the CIFAR-10 models at batch 128: ConvMixer-256/8 (k=5,
p=2) feature maps (128, 16, 16, 256) and MLP-Mixer tokens (128, 64, 256).

Numba compile times are measured for real: the run uses a fresh, empty Numba
cache directory, so each kernel's first call compiles it; a second process then
times the same first calls with that cache warm.

Thread pools: Numba (OpenMP), OpenBLAS and PyTorch (its own OpenMP) each keep
their worker threads spinning for a while after a call. On 2 cores a spinning
pool steals the CPU from the next one (measured: up to 2x slower ops). So
this script sets OPENBLAS_THREAD_TIMEOUT=4 before NumPy is imported, and
`import minimixer` sets OMP_WAIT_POLICY=PASSIVE (unless already set), which
PyTorch, imported afterwards, reads as well: idle workers then sleep at once.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="threads for Numba, BLAS and torch")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (median)")
    parser.add_argument("--quick", action="store_true", help="small shapes; print only")
    parser.add_argument("--out", default=str(HERE / "RESULTS_ops.md"), help="results file")
    parser.add_argument("--first-calls-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def configure_environment(threads):
    """Must run before NumPy/Numba/torch are imported (they read these at load time)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))
    sys.path.insert(0, str(ROOT))
    if "NUMBA_CACHE_DIR" in os.environ:
        return None
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="minimixer-bench-cache-")
    return os.environ["NUMBA_CACHE_DIR"]


# ---------------------------------------------------------------- the ops to time


def make_cases(np, quick):
    """(name, size note, Function, input arrays, needs grad per tensor, options, work) per op.

    work = ("GFLOP", n) for matmul-like ops (forward + backward floating-point
    operations) or ("GB", n) for memory-bound ones (each input and output array
    of forward and backward counted once).
    """
    from minimixer.ops import activation, conv, linalg, loss, norm, pool

    rng = np.random.default_rng(0)
    n, hw, c, k, p = (8, 8, 32, 5, 2) if quick else (128, 16, 16 * 16, 5, 2)
    tokens, classes = (16, 10) if quick else (64, 10)
    f32 = np.float32

    def arr(*shape):
        return rng.standard_normal(shape).astype(f32)

    fmap = (n, hw, hw, c)
    size = n * hw * hw * c
    gb = 4e-9  # bytes -> GB for float32
    images = rng.uniform(0, 1, (n, hw * p, hw * p, 3)).astype(f32)
    return [
        ("patch_embed", f"{images.shape} p={p} -> {c}", patch_embed_function(conv, linalg),
         [images, arr(p * p * 3, c), arr(c)], (False, True, True), {"patch_size": p},
         ("GFLOP", 2 * 2 * size * p * p * 3 / 1e9)),
        ("depthwise_conv2d", f"{fmap} k={k}", conv.DepthwiseConv2d,
         [arr(*fmap), arr(k, k, c), arr(c)], (True, True, True), {},
         ("GFLOP", 3 * 2 * size * k * k / 1e9)),
        ("pointwise_conv2d", f"{fmap} -> {c}", linalg.RowsTimesMatrix,
         [arr(*fmap), arr(c, c), arr(c)], (True, True, True), {},
         ("GFLOP", 3 * 2 * size * c / 1e9)),
        ("gelu", f"{fmap} exact", activation.Gelu,
         [arr(*fmap)], (True,), {"approximate": "none"}, ("GB", 5 * size * gb)),
        ("batch_norm (train)", f"{fmap}", norm.BatchNormTraining,
         [arr(*fmap), arr(c), arr(c)], (True, True, True),
         {"running_mean": np.zeros(c, f32), "running_var": np.ones(c, f32)}, ("GB", 5 * size * gb)),
        ("layer_norm", f"{(n, tokens, c)}", norm.LayerNorm,
         [arr(n, tokens, c), arr(c), arr(c)], (True, True, True), {}, ("GB", 5 * n * tokens * c * gb)),
        ("global_avg_pool", f"{fmap}", pool.GlobalAvgPool,
         [arr(*fmap)], (True,), {}, ("GB", 2 * size * gb)),
        ("cross_entropy", f"({n}, {classes}) ls=0.1", loss.CrossEntropy,
         [arr(n, classes)], (True,), {"labels": rng.integers(0, classes, n), "label_smoothing": 0.1},
         ("GB", 3 * n * classes * gb)),
    ]


def patch_embed_function(conv, linalg):
    """patch_embed as the engine runs it: a Patchify Function, then one RowsTimesMatrix
    (the BLAS matmul); its backward needs no image gradient, so only the matmul's runs."""
    from types import SimpleNamespace

    class PatchEmbed:
        @staticmethod
        def make_context(needs):
            return SimpleNamespace(patchify=make_context(conv.Patchify, (False,)),
                                   linear=make_context(linalg.RowsTimesMatrix, needs))

        @staticmethod
        def forward(ctx, images, weight, bias, patch_size):
            patches = conv.Patchify.forward(ctx.patchify, images, patch_size)
            return linalg.RowsTimesMatrix.forward(ctx.linear, patches, weight, bias)

        @staticmethod
        def backward(ctx, grad_out):
            return linalg.RowsTimesMatrix.backward(ctx.linear, grad_out)

    return PatchEmbed


def make_context(function, needs):
    """The `ctx` a Function's forward fills (with its kernels, for kernel-backed ops)."""
    return function.make_context(needs)


def minimixer_runner(np, kernels, function, arrays, needs, options, backend):
    """One forward + backward of an op's Function on the given backend."""
    upstream = {}

    def run():
        kernels.set_backend(backend)
        ctx = make_context(function, needs)
        out = function.forward(ctx, *arrays, **options)
        if "grad" not in upstream:
            upstream["grad"] = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        function.backward(ctx, upstream["grad"])
    return run


def torch_runner(torch, name, arrays, options, channels_last):
    """The same op in PyTorch (NCHW unless channels_last), timed as forward + autograd.grad."""
    F = torch.nn.functional
    memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def nchw(a, grad=True):
        t = torch.from_numpy(a.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=memory_format)
        return t.requires_grad_(grad)

    def leaf(a):
        return torch.from_numpy(a.copy()).requires_grad_()

    if name == "patch_embed":
        images, w, b = arrays
        p = options["patch_size"]
        x = nchw(images, grad=False)
        tw = leaf(w.reshape(p, p, 3, -1).transpose(3, 2, 0, 1))
        inputs, tb = [tw], leaf(b)
        inputs.append(tb)
        forward = lambda: F.conv2d(x, tw, tb, stride=p)  # noqa: E731
    elif name == "depthwise_conv2d":
        x, w, b = nchw(arrays[0]), leaf(arrays[1].transpose(2, 0, 1)[:, None]), leaf(arrays[2])
        inputs = [x, w, b]
        forward = lambda: F.conv2d(x, w, b, padding="same", groups=x.shape[1])  # noqa: E731
    elif name == "pointwise_conv2d":
        x, w, b = nchw(arrays[0]), leaf(arrays[1].T[:, :, None, None]), leaf(arrays[2])
        inputs = [x, w, b]
        forward = lambda: F.conv2d(x, w, b)  # noqa: E731
    elif name == "gelu":
        x = nchw(arrays[0])
        inputs = [x]
        forward = lambda: F.gelu(x)  # noqa: E731
    elif name == "batch_norm (train)":
        x, w, b = nchw(arrays[0]), leaf(arrays[1]), leaf(arrays[2])
        rm, rv = torch.zeros(w.shape[0]), torch.ones(w.shape[0])
        inputs = [x, w, b]
        forward = lambda: F.batch_norm(x, rm, rv, w, b, training=True)  # noqa: E731
    elif name == "layer_norm":
        x, w, b = leaf(arrays[0]), leaf(arrays[1]), leaf(arrays[2])
        inputs = [x, w, b]
        forward = lambda: F.layer_norm(x, w.shape, w, b)  # noqa: E731
    elif name == "global_avg_pool":
        x = nchw(arrays[0])
        inputs = [x]
        forward = lambda: x.mean(dim=(2, 3))  # noqa: E731
    elif name == "cross_entropy":
        x = leaf(arrays[0])
        labels = torch.from_numpy(options["labels"])
        inputs = [x]
        forward = lambda: F.cross_entropy(x, labels, label_smoothing=options["label_smoothing"])  # noqa: E731
    else:
        raise KeyError(name)
    cache = {}

    def run():
        out = forward()
        if "grad" not in cache:
            cache["grad"] = torch.randn_like(out)
        torch.autograd.grad(out, inputs, cache["grad"])
    return run


def adamw_runners(np, kernels, torch, quick):
    """AdamW over one flat array as large as the CIFAR MLP-Mixer (4,360,970 parameters)."""
    count = 100_000 if quick else 4_360_970
    rng = np.random.default_rng(2)
    start, grad = rng.standard_normal(count).astype(np.float32), rng.standard_normal(count).astype(np.float32)
    runners = {}
    for backend in ("numpy", "numba"):
        state = [start.copy(), np.zeros(count, np.float32), np.zeros(count, np.float32), [0]]

        def run(backend=backend, state=state):
            param, exp_avg, exp_avg_sq, step = state
            step[0] += 1
            getattr(kernels, "fast" if backend == "numba" else "reference").adamw_update(
                param, grad, exp_avg, exp_avg_sq, 1e-3, 0.9, 0.999, 1e-8, 0.05, step[0])
        runners[backend] = run
    if torch is not None:
        tp = torch.nn.Parameter(torch.from_numpy(start.copy()))
        tp.grad = torch.from_numpy(grad)
        opt = torch.optim.AdamW([tp], lr=1e-3, weight_decay=0.05)
        runners["torch"] = opt.step
    return f"({count:,},) flat", runners, ("GB", 7 * count * 4e-9)


# ---------------------------------------------------------------- timing


def calibrate(run, target=0.03):
    """Warm up and choose how many calls make one sample of about `target` seconds."""
    run()
    start = time.perf_counter()
    run()
    once = time.perf_counter() - start
    return max(1, int(target / max(once, 1e-7)))


def sample(run, number):
    start = time.perf_counter()
    for _ in range(number):
        run()
    return (time.perf_counter() - start) / number


def time_interleaved(table, rounds):
    """table: {row: {impl: run}} -> {row: {impl: median seconds}}, rounds interleaved."""
    import statistics

    numbers = {row: {impl: calibrate(run) for impl, run in impls.items()} for row, impls in table.items()}
    samples = {row: {impl: [] for impl in impls} for row, impls in table.items()}
    for _ in range(rounds):
        for row, impls in table.items():
            for impl, run in impls.items():
                samples[row][impl].append(sample(run, numbers[row][impl]))
    return {row: {impl: statistics.median(s) for impl, s in impls.items()} for row, impls in samples.items()}


# ---------------------------------------------------------------- compile times


def first_call_times(np, kernels, cases):
    """Seconds of the first numba forward+backward of each op (compiles unless cached)."""
    times = {}
    for name, _, function, arrays, needs, options, _ in cases:
        first = arrays[0][:2] if arrays[0].ndim >= 3 else arrays[0]  # compiling does not depend on size
        small = [first] + arrays[1:]
        run = minimixer_runner(np, kernels, function, small, needs, options, "numba")
        start = time.perf_counter()
        run()
        times[name] = time.perf_counter() - start
    param = np.zeros(4, np.float32)
    start = time.perf_counter()
    kernels.fast.adamw_update(param, param.copy(), param.copy(), param.copy(), 1e-3, 0.9, 0.999,
                              1e-8, 0.0, 1)
    times["adamw_update"] = time.perf_counter() - start
    return times


def warm_cache_first_calls(args):
    """Run this script again with --first-calls-only: same cache dir, now warm."""
    command = [sys.executable, __file__, "--first-calls-only", "--threads", str(args.threads)]
    if args.quick:
        command.append("--quick")
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), check=True)
    times = {}
    for line in result.stdout.splitlines():
        name, _, seconds = line.rpartition(" ")
        times[name] = float(seconds)
    return times


# ---------------------------------------------------------------- Python loops


def python_loop_depthwise(x, w, b):
    """The depthwise forward pass written as plain Python loops (the slow baseline)."""
    n_img, height, width, channels = x.shape
    k = w.shape[0]
    top = (k - 1) // 2
    y = [[[[0.0] * channels for _ in range(width)] for _ in range(height)] for _ in range(n_img)]
    for n in range(n_img):
        for h in range(height):
            for col in range(width):
                for c in range(channels):
                    total = float(b[c])
                    for i in range(k):
                        for j in range(k):
                            hh, ww = h + i - top, col + j - top
                            if 0 <= hh < height and 0 <= ww < width:
                                total += float(x[n, hh, ww, c]) * float(w[i, j, c])
                    y[n][h][col][c] = total
    return y


def python_loop_comparison(np, kernels):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 8, 8, 16)).astype(np.float32)
    w, b = rng.standard_normal((5, 5, 16)).astype(np.float32), np.zeros(16, np.float32)
    expected = np.array(python_loop_depthwise(x, w, b), dtype=np.float32)
    np.testing.assert_allclose(kernels.fast.depthwise_conv2d_forward(x, w, b), expected, rtol=1e-4, atol=1e-4)
    result = {}
    for label, run in (("Python loops", lambda: python_loop_depthwise(x, w, b)),
                       ("NumPy reference", lambda: kernels.reference.depthwise_conv2d_forward(x, w, b)),
                       ("Numba", lambda: kernels.fast.depthwise_conv2d_forward(x, w, b))):
        number = calibrate(run, target=0.05)
        result[label] = min(sample(run, number) for _ in range(3))
    return x.shape, w.shape, result


# ---------------------------------------------------------------- report


def machine_info(np, numba, torch):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas['name']} {blas['version']}"
    except Exception:  # noqa: BLE001  (the BLAS description is informative only)
        blas = "unknown"
    return {
        "CPU": f"{cpu}, {os.cpu_count()} logical cores",
        "Python": platform.python_version(),
        "NumPy": f"{np.__version__} ({blas})",
        "Numba": f"{numba.__version__} (threading layer {numba.threading_layer()})",
        "PyTorch": torch.__version__ if torch is not None else "not installed",
        "Load average (1 min)": f"{LOAD_AT_START:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "Environment": ", ".join(f"{k}={os.environ[k]}" for k in
                                 ("OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY")),
    }


def fmt_ms(seconds):
    return "—" if seconds is None else (f"{seconds * 1e3:.1f}" if seconds >= 1e-3 else f"{seconds * 1e3:.3f}")


def fmt_rate(work, seconds):
    unit, amount = work
    if seconds is None:
        return "—"
    return f"{amount / seconds:.1f} {unit}/s"


LOAD_AT_START = os.getloadavg()[0]
IMPLS = ["numpy", "numba", "torch", "torch_cl"]
IMPL_TITLES = {"numpy": "NumPy ref", "numba": "Numba", "torch": "torch NCHW", "torch_cl": "torch ch-last"}


def results_table(notes, works, medians):
    head = ("| op | shape | " + " | ".join(f"{IMPL_TITLES[i]} ms" for i in IMPLS)
            + " | Numba rate | torch / Numba |")
    lines = [head, "|" + "---|" * (len(IMPLS) + 5)]
    for row, times in medians.items():
        cells = [fmt_ms(times.get(i)) for i in IMPLS]
        torch_times = [times[i] for i in ("torch", "torch_cl") if i in times]
        ratio = f"{min(torch_times) / times['numba']:.2f}x" if torch_times else "—"
        lines.append(f"| {row} | {notes[row]} | " + " | ".join(cells)
                     + f" | {fmt_rate(works[row], times['numba'])} | {ratio} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    own_cache = configure_environment(args.threads)
    try:
        run_benchmark(args, argv)
    finally:
        if own_cache:
            shutil.rmtree(own_cache, ignore_errors=True)


def run_benchmark(args, argv):
    import numba
    import numpy as np

    import minimixer as mm
    from minimixer import kernels
    try:
        import torch
    except ImportError:
        torch = None

    mm.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    cases = make_cases(np, args.quick)

    if args.first_calls_only:
        for name, seconds in first_call_times(np, kernels, cases).items():
            print(name, seconds)
        return

    print(f"Numba cache: {os.environ['NUMBA_CACHE_DIR']}; first calls compile the kernels ...", flush=True)
    compile_times = first_call_times(np, kernels, cases)
    cached_times = warm_cache_first_calls(args)

    table, notes, works = {}, {}, {}
    for name, note, function, arrays, needs, options, work in cases:
        row = {backend: minimixer_runner(np, kernels, function, arrays, needs, options, backend)
               for backend in ("numpy", "numba")}
        if torch is not None:
            row["torch"] = torch_runner(torch, name, arrays, options, channels_last=False)
            if name in ("patch_embed", "depthwise_conv2d", "pointwise_conv2d", "batch_norm (train)"):
                row["torch_cl"] = torch_runner(torch, name, arrays, options, channels_last=True)
        table[name], notes[name], works[name] = row, note, work
    notes["adamw_update"], table["adamw_update"], works["adamw_update"] = adamw_runners(
        np, kernels, torch, args.quick)

    print(f"timing {len(table)} ops x {args.rounds} interleaved rounds ...", flush=True)
    start = time.perf_counter()
    medians = time_interleaved(table, args.rounds)
    timing_seconds = time.perf_counter() - start
    loop_shape, loop_kernel, loops = python_loop_comparison(np, kernels)

    info = machine_info(np, numba, torch)
    command = "python benchmarks/bench_ops.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report = render(command.strip(), info, args, notes, works, medians, compile_times, cached_times,
                    loop_shape, loop_kernel, loops, timing_seconds)
    print(report)
    if not args.quick:
        Path(args.out).write_text(report)
        print(f"wrote {args.out}")


def render(command, info, args, notes, works, medians, compile_times, cached_times,
           loop_shape, loop_kernel, loops, timing_seconds):
    dw = medians["depthwise_conv2d"]
    lines = [
        "# Per-op speed: NumPy reference vs Numba vs PyTorch (all in one process)",
        "",
        "**A kernel-development comparison, not what a PyTorch user gets.** PyTorch runs inside "
        "minimixer's process, with minimixer's thread and allocator settings (OMP_WAIT_POLICY=PASSIVE, "
        "glibc malloc thresholds), so every kernel is compared under the same conditions. For "
        "minimixer against PyTorch as each library's users run them (separate processes, each "
        "library's defaults) see RESULTS.md (bench_train.py).",
        "",
        f"Command: `{command}` (threads={args.threads}, {args.rounds} interleaved rounds, medians; "
        f"timing took {timing_seconds:.0f} s).",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "Forward + backward of each op, float32. minimixer runs the op's autograd Function "
        "(`forward` then `backward`) on each backend; PyTorch runs the same maths with "
        "`torch.autograd.grad`, in its default NCHW layout and, for convs and batch norm, "
        "also channels-last. patch_embed's input is the images, so no input gradient is "
        "computed (as in training). pointwise_conv2d and patch_embed's matmuls are NumPy/BLAS "
        "on both backends. Rates: GFLOP/s counts forward + backward multiply-adds as 2 FLOPs; "
        "GB/s counts each input and output array of forward and backward once (a lower bound "
        "of the real traffic). torch / Numba > 1 means Numba is faster than the faster torch layout.",
        "",
        results_table(notes, works, medians),
        "",
        "Reading these numbers: when the load average is above the number of cores, other "
        "processes compete for them. The Numba kernels and PyTorch then slow down by a similar "
        "factor (interleaving keeps their ratio fair), but OpenBLAS's multi-threaded sgemm, "
        "behind the patch_embed and pointwise_conv2d rows, slows down erratically (several-fold, "
        "changing from call to call): on a busy machine those two rows measure the contention, "
        "not minimixer. Rerun on an idle machine for them.",
        "",
        "## Depthwise conv against PyTorch",
        "",
    ]
    if "torch" in dw:
        lines.append(
            f"At (128, 16, 16, 256), k=5: Numba {dw['numba'] * 1e3:.1f} ms forward + backward; torch "
            f"{dw['torch'] * 1e3:.1f} ms in NCHW ({dw['torch'] / dw['numba']:.1f}x slower) and "
            f"{dw['torch_cl'] * 1e3:.1f} ms channels-last ({dw['torch_cl'] / dw['numba']:.1f}x slower)."
            if not args.quick else "(quick mode: small shapes, ratios not meaningful)")
    else:
        lines.append("PyTorch is not installed: no comparison.")
    lines += [
        "",
        "## Numba against plain Python loops",
        "",
        f"Depthwise forward on {loop_shape}, kernel {loop_kernel} (best of 3):",
        "",
        "| implementation | ms | Numba speed-up |",
        "|---|---|---|",
        *[f"| {label} | {t * 1e3:.3f} | {t / loops['Numba']:.1f}x |" for label, t in loops.items()],
        "",
        "## First call of each Numba op (float32 forward + backward)",
        "",
        "Empty cache = compiling the kernels; warm cache = loading them from NUMBA_CACHE_DIR "
        "in a fresh process.",
        "",
        "| op | empty cache s | warm cache s |",
        "|---|---|---|",
        *[f"| {name} | {seconds:.2f} | {cached_times.get(name, float('nan')):.2f} |"
          for name, seconds in compile_times.items()],
        f"| total | {sum(compile_times.values()):.1f} | {sum(cached_times.values()):.1f} |",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
