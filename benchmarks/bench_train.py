"""Training-step speed of minimixer against PyTorch on the six model presets.

    python benchmarks/bench_train.py                        # all presets, 2 threads, ~5 minutes
    python benchmarks/bench_train.py --quick                # digits presets, a few repeats, prints only
    python benchmarks/bench_train.py --presets mlpmixer-mnist --repeats 5 --out /tmp/bench

For each preset, at the batch size of its training recipe (minimixer/cli.py), this
times one training step (zero_grad -> forward -> cross-entropy -> backward -> AdamW
step) and one inference pass (eval mode, no_grad) of minimixer and of the same model
in PyTorch (built with minimixer.interop.torch.to_torch from the same weights, fed
NCHW images as PyTorch users do; ConvMixers also channels-last). All of them run in
this one process, repetitions interleaved, medians reported. Subprocesses measure
the extra memory a training step needs and the start-up time (Numba compiling with
an empty cache, then loading from a warm one). cProfile shows where a minimixer step
spends its time. benchmarks/README.md explains each measurement.

Writes RESULTS.md and results.json into --out (default benchmarks/; a --quick run
writes only when --out is given). Without PyTorch the tables show minimixer alone.
"""

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (timed repetitions, warm-up repetitions) of each preset in a full run. Chosen so a
# full run stays under ~8 minutes on 2 cores: the CIFAR-10 steps take seconds each.
PLAN = {
    "convmixer-digits": (20, 3),
    "mlpmixer-digits": (20, 3),
    "convmixer-mnist": (7, 1),
    "mlpmixer-mnist": (7, 1),
    "convmixer-cifar10": (3, 1),
    "mlpmixer-cifar10": (3, 1),
}
QUICK_PRESETS = ["convmixer-digits", "mlpmixer-digits"]
IMAGE_SHAPE = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
LEARNING_RATE, WEIGHT_DECAY = 1e-3, 0.05

# The speed targets of the design notes (minimixer ÷ PyTorch, lower is better for minimixer).
TRAIN_TARGET = {"ConvMixer": 0.8, "MLPMixer": 1.1}
INFERENCE_TARGET = {"ConvMixer": 1.0, "MLPMixer": 1.2}
MEMORY_TARGET = 1.5
WARM_START_TARGET_S = 5.0

# The PyTorch columns: "torch" is NCHW (PyTorch's default), "torch_cl" channels-last.
TORCH_COLUMNS = ("torch", "torch_cl")
COLUMN_TITLE = {"minimixer": "minimixer", "torch": "torch NCHW", "torch_cl": "torch channels-last"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", metavar="PRESET", choices=list(PLAN),
                        help="presets to time (default: all six; --quick: the two digits presets)")
    parser.add_argument("--threads", type=int, default=2, help="threads for Numba, BLAS and torch (default 2)")
    parser.add_argument("--repeats", type=int, help="timed repetitions of every preset (default: per preset)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: digits presets, few repeats, small sgemm, no empty-cache compile")
    parser.add_argument("--no-torch", action="store_true", help="time minimixer alone even if torch is installed")
    parser.add_argument("--out", help="folder for RESULTS.md and results.json "
                                      "(default: benchmarks/; with --quick: write nothing)")
    parser.add_argument("--child", choices=["memory", "startup"], help=argparse.SUPPRESS)
    parser.add_argument("--framework", choices=["minimixer", *TORCH_COLUMNS], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1 or (args.repeats is not None and args.repeats < 1):
        parser.error("--threads and --repeats must be positive")
    if args.child and (not args.presets or len(args.presets) != 1):
        parser.error("--child needs exactly one preset")
    args.presets = args.presets or (QUICK_PRESETS if args.quick else list(PLAN))
    return args


def configure_environment(threads):
    """Cap every thread pool at `threads`. Must run before NumPy, Numba or torch is
    imported: BLAS and OpenMP read these variables when they load.

    OPENBLAS_THREAD_TIMEOUT=4 makes idle OpenBLAS threads sleep at once instead of
    spinning (minimixer/performance.py explains why that matters on few cores); set it yourself to override.
    """
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def limit_blas_threads(threads):
    """Also cap BLAS through threadpoolctl when it is installed (belt and braces)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def import_torch(args):
    """torch, or None when it is not installed or --no-torch was given."""
    if args.no_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(args.threads)
    return torch


# ---------------------------------------------------------------- the workloads


def preset_facts(preset):
    """Model class name, dataset, batch size, label smoothing and input shape of a preset."""
    from minimixer import models
    from minimixer.cli import RECIPES

    recipe = RECIPES[preset]
    dataset = models.PRESET_DATASET[preset]
    return dict(model=models.preset_config(preset)["model"], dataset=dataset, batch_size=recipe.batch_size,
                label_smoothing=recipe.label_smoothing,
                input_shape=(recipe.batch_size, *IMAGE_SHAPE[dataset]))


def make_batch(input_shape, seed=0):
    """A fixed batch of normalised-looking float32 images and labels. The values do not
    change the arithmetic (dense float32 work), so random data times the same as real."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.standard_normal(input_shape, dtype=np.float32)
    labels = rng.integers(0, 10, input_shape[0])
    return images, labels


class Contender:
    """One framework running one model: a training step and an inference pass.

    `train_step()` and `inference()` are what the clock sees; switching between train
    and eval mode (`set_training`) happens outside the timed region.
    """

    def __init__(self, name, train_step, inference, set_training):
        self.name = name
        self.train_step = train_step
        self.inference = inference
        self.set_training = set_training


def minimixer_contender(model, images, labels, label_smoothing):
    from minimixer import no_grad, optim
    from minimixer.nn import functional as F

    optimizer = optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)

    def train_step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels, label_smoothing=label_smoothing)
        loss.backward()
        optimizer.step()

    def inference():
        with no_grad():
            model(images)

    return Contender("minimixer", train_step, inference, model.train)


def torch_contender(torch, name, mm_model, images, labels, label_smoothing):
    """The same model in PyTorch, from the same weights. name "torch": NCHW tensors
    (PyTorch's default); "torch_cl": model and input in channels-last memory format."""
    from minimixer.interop.torch import to_torch

    model = to_torch(mm_model)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy())
    if name == "torch_cl":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    loss_fn = torch.nn.functional.cross_entropy

    def train_step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y, label_smoothing=label_smoothing)
        loss.backward()
        optimizer.step()

    def inference():
        with torch.no_grad():
            model(x)

    return Contender(name, train_step, inference, model.train)


def torch_columns(facts, torch):
    """Which PyTorch variants to time: NCHW always, channels-last for ConvMixers."""
    if torch is None:
        return []
    return ["torch", "torch_cl"] if facts["model"] == "ConvMixer" else ["torch"]


def build_contenders(preset, torch, only=None, batch_size=None):
    """minimixer and PyTorch contenders of one preset, all from the same initial weights.

    only: build just this one contender. batch_size: override the recipe's.
    """
    import minimixer as mm
    from minimixer import models

    facts = preset_facts(preset)
    if batch_size:
        facts.update(batch_size=batch_size, input_shape=(batch_size, *facts["input_shape"][1:]))
    mm.manual_seed(0)
    model = models.create(preset)
    images, labels = make_batch(facts["input_shape"])
    names = ["minimixer", *torch_columns(facts, torch)]
    contenders = [torch_contender(torch, name, model, images, labels, facts["label_smoothing"])
                  for name in names[1:] if only in (None, name)]
    if only in (None, "minimixer"):
        contenders.insert(0, minimixer_contender(model, images, labels, facts["label_smoothing"]))
    return model, facts, contenders


# ---------------------------------------------------------------- timing


def seconds(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def time_interleaved(contenders, repeats, warmup):
    """Run training steps then inference passes of every contender, round after round.

    The order rotates each round so no framework always runs right after the same
    other one. Returns {name: {"train": [s, ...], "inference": [s, ...]}} of the
    rounds after the warm-up.
    """
    times = {c.name: {"train": [], "inference": []} for c in contenders}
    for round_index in range(warmup + repeats):
        shift = round_index % len(contenders)
        order = contenders[shift:] + contenders[:shift]
        timed = round_index >= warmup
        for c in order:
            elapsed = seconds(c.train_step)
            if timed:
                times[c.name]["train"].append(elapsed)
        for c in order:
            c.set_training(False)
            elapsed = seconds(c.inference)
            c.set_training(True)
            if timed:
                times[c.name]["inference"].append(elapsed)
    return times


def sgemm_rate(n, repeats):
    """Median GFLOP/s of an n×n @ n×n float32 NumPy matmul (the machine's matmul roofline)."""
    import numpy as np

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    runs = [seconds(lambda: a @ b) for _ in range(repeats)]
    return dict(n=n, gflops=2 * n**3 / statistics.median(runs) / 1e9, seconds=runs)


def speed_row(runs, flops, batch, sgemm_gflops):
    """Median milliseconds, images/s, GFLOP/s and % of the sgemm rate of timed runs."""
    median = statistics.median(runs)
    gflops = flops / median / 1e9
    return dict(ms=median * 1e3, runs_ms=[r * 1e3 for r in runs], images_per_s=batch / median,
                gflops=gflops, pct_sgemm=100 * gflops / sgemm_gflops)


# ---------------------------------------------------------------- where the time goes


def profile_step(contender, kind="train", top=8):
    """cProfile one minimixer training step (kind="train") or inference pass
    (kind="inference"); the `top` functions by own time."""
    import cProfile
    import pstats

    contender.set_training(kind == "train")
    profiler = cProfile.Profile()
    profiler.runcall(contender.train_step if kind == "train" else contender.inference)
    contender.set_training(True)
    stats = pstats.Stats(profiler).stats
    total = sum(tottime for _, _, tottime, _, _ in stats.values())
    rows = []
    for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.items():
        rows.append(dict(function=_function_label(filename, line, function), calls=calls,
                         own_ms=tottime * 1e3, cumulative_ms=cumtime * 1e3))
    rows.sort(key=lambda r: -r["own_ms"])
    return dict(total_ms=total * 1e3, top=rows[:top])


def _function_label(filename, line, function):
    if filename == "~":  # built-in functions and methods
        return function
    path = Path(filename)
    try:
        path = path.relative_to(ROOT)
    except ValueError:
        path = Path(path.name)
    return f"{path}:{line}({function})"


# ---------------------------------------------------------------- subprocesses


def child_command(args, kind, preset, framework=None):
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--presets", preset,
               "--threads", str(args.threads)]
    if framework:
        command += ["--framework", framework]
    return command


def run_child(command, env=None):
    """Run a child process of this script and return the JSON it prints last."""
    result = subprocess.run(command, capture_output=True, text=True, env=env or dict(os.environ))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def rss_kib(field="VmRSS"):
    """The current resident set size (VmRSS) or its peak since the last reset (VmHWM), KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def reset_peak_rss():
    """Reset the kernel's peak-RSS counter (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def child_memory(args):
    """Extra resident memory a training step needs, in a fresh process.

    First a tiny model of the same architecture takes one step on two images: that
    loads the compiled kernels, starts the thread pools and runs the frameworks' lazy
    set-up, one-time costs that are not training memory. Baseline: RSS once the real
    model, optimizer and batch exist, before their first step. One step (allocates
    optimizer state), then the peak counter is reset and another step runs; that
    peak minus the baseline is what training adds: activations kept for backward,
    gradients, optimizer state, temporaries.
    """
    preset, framework = args.presets[0], args.framework
    import minimixer as mm  # before torch: it sets OMP_WAIT_POLICY, which torch's OpenMP reads

    torch = import_torch(args) if framework != "minimixer" else None
    mm.set_num_threads(args.threads)
    tiny = next(p for p in PLAN if p.split("-")[0] == preset.split("-")[0])
    build_contenders(tiny, torch, only=framework, batch_size=2)[2][0].train_step()
    _, _, contenders = build_contenders(preset, torch, only=framework)
    step = contenders[0].train_step
    baseline = rss_kib()
    step()
    resettable = reset_peak_rss()
    step()
    peak = rss_kib("VmHWM") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    method = ("peak RSS over the second step (VmHWM reset after the first), minus RSS before the first"
              if resettable else "peak RSS of the whole process (ru_maxrss) minus RSS before the first step")
    print(json.dumps(dict(step_mb=(peak - baseline) / 1024, peak_rss_mb=peak / 1024,
                          baseline_rss_mb=baseline / 1024, method=method)))


def child_startup(args):
    """Process start to the end of the first minimixer training step (no torch here)."""
    started = time.perf_counter()
    import minimixer as mm

    imported = time.perf_counter()
    mm.set_num_threads(args.threads)
    _, _, contenders = build_contenders(args.presets[0], None, only="minimixer")
    built = time.perf_counter()
    first = seconds(contenders[0].train_step)
    finished_at = time.time()
    second = seconds(contenders[0].train_step)
    print(json.dumps(dict(import_s=imported - started, build_s=built - imported, first_step_s=first,
                          second_step_s=second, finished_at=finished_at)))


def measure_memory(args, preset, frameworks):
    return {name: run_child(child_command(args, "memory", preset, name)) for name in frameworks}


def measure_startup(args, preset, cold):
    """Start-up with a warm Numba cache, and (unless quick) first with an empty one.

    The empty cache is a fresh NUMBA_CACHE_DIR: the first process compiles every
    kernel into it, the second loads them. In quick mode the warm run uses this
    process's cache, which the timing above has filled.
    """
    def launch(env):
        launched = time.time()
        result = run_child(child_command(args, "startup", preset), env)
        result["process_to_first_step_s"] = result.pop("finished_at") - launched
        return result

    if not cold:
        return dict(cold=None, warm=launch(dict(os.environ)))
    with tempfile.TemporaryDirectory(prefix="minimixer-bench-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        return dict(cold=launch(env), warm=launch(env))


# ---------------------------------------------------------------- one preset


def bench_preset(args, preset, torch, sgemm_gflops):
    from minimixer.models.summary import model_flops

    model, facts, contenders = build_contenders(preset, torch)
    repeats, warmup = PLAN[preset]
    if args.quick:
        repeats, warmup = 2, 1
    repeats = args.repeats or repeats
    forward_flops = model_flops(model, facts["input_shape"])
    batch = facts["batch_size"]
    print(f"{preset}: batch {batch}, {forward_flops / 1e9:.2f} forward GFLOP, "
          f"{warmup} warm-up + {repeats} timed rounds of {', '.join(c.name for c in contenders)}", flush=True)
    load_before = os.getloadavg()[0]
    times = time_interleaved(contenders, repeats, warmup)
    load_after = os.getloadavg()[0]
    frameworks = {}
    for name, runs in times.items():
        frameworks[name] = dict(train=speed_row(runs["train"], 3 * forward_flops, batch, sgemm_gflops),
                                inference=speed_row(runs["inference"], forward_flops, batch, sgemm_gflops))
        print(f"  {COLUMN_TITLE[name]:<20} train {frameworks[name]['train']['ms']:9.1f} ms   "
              f"inference {frameworks[name]['inference']['ms']:9.1f} ms", flush=True)
    profile = profile_step(contenders[0], "train")
    inference_profile = profile_step(contenders[0], "inference")
    memory = measure_memory(args, preset, list(frameworks)[:2])  # minimixer and torch NCHW
    return dict(model=facts["model"], batch_size=batch, input_shape=list(facts["input_shape"]),
                params=model.num_parameters(), forward_gflop=forward_flops / 1e9, repeats=repeats,
                warmup=warmup, load_average_1min=[load_before, load_after], frameworks=frameworks,
                ratios=ratios(frameworks, memory), memory=memory, profile=profile,
                inference_profile=inference_profile)


def ratios(frameworks, memory):
    """minimixer ÷ each PyTorch column, for train and inference time and step memory."""
    result = {}
    ours = frameworks["minimixer"]
    for name in TORCH_COLUMNS:
        if name in frameworks:
            for kind in ("train", "inference"):
                result[f"{kind}_vs_{name}"] = ours[kind]["ms"] / frameworks[name][kind]["ms"]
    if "torch" in memory:
        result["memory_vs_torch"] = memory["minimixer"]["step_mb"] / memory["torch"]["step_mb"]
    return result


def startup_presets(presets):
    """The smallest chosen preset of each architecture (PLAN lists them small to large):
    compiling does not depend on array sizes."""
    chosen = {}
    for preset in PLAN:
        if preset in presets:
            chosen.setdefault(preset.split("-")[0], preset)
    return list(chosen.values())


# ---------------------------------------------------------------- targets


def evaluate_targets(results, startup, have_torch):
    """One row per target: what, preset, target, measured value, met (None: not measured)."""
    rows = []

    def add(what, preset, target, value, limit):
        met = None if value is None else bool(value <= limit)
        rows.append(dict(what=what, preset=preset, target=target, measured=value, met=met))

    for preset, r in results.items():
        train, inference = TRAIN_TARGET[r["model"]], INFERENCE_TARGET[r["model"]]
        for column in TORCH_COLUMNS:
            if column == "torch_cl" and r["model"] != "ConvMixer":
                continue
            vs = COLUMN_TITLE[column]
            add(f"train time ÷ {vs}", preset, f"≤ {train}×", r["ratios"].get(f"train_vs_{column}"), train)
            add(f"inference time ÷ {vs}", preset, f"≤ {inference}×",
                r["ratios"].get(f"inference_vs_{column}"), inference)
        add("train-step memory ÷ torch NCHW", preset, f"≤ {MEMORY_TARGET}×",
            r["ratios"].get("memory_vs_torch"), MEMORY_TARGET)
    for preset, s in startup.items():
        add("warm start: process start → first step done (s)", preset, f"< {WARM_START_TARGET_S:g} s",
            s["warm"]["process_to_first_step_s"], WARM_START_TARGET_S)
    if not have_torch:
        rows = [r for r in rows if "torch" not in r["what"]]
    return rows


# ---------------------------------------------------------------- machine facts


def machine_info(torch):
    import numba
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = "not started"
    return {
        "CPU": cpu,
        "logical cores": os.cpu_count(),
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "BLAS": blas_description(np),
        "Numba": f"{numba.__version__} (threading layer {layer})",
        "PyTorch": torch.__version__ if torch is not None else "not used",
    }


def blas_description(np):
    try:
        from threadpoolctl import threadpool_info
        return "; ".join(f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
                         for p in threadpool_info() if p["user_api"] == "blas")
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"
    except (KeyError, TypeError, AttributeError):
        return "unknown"


def environment_variables():
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY")
    return {name: os.environ[name] for name in names if name in os.environ}


# ---------------------------------------------------------------- the report


def fmt(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_ms(value):
    if value is None:
        return "—"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def speed_table(report, kind):
    columns = ["minimixer", *[c for c in TORCH_COLUMNS if any(c in r["frameworks"]
                                                              for r in report["presets"].values())]]
    head = ["preset", "batch", "fwd GFLOP"]
    for c in columns:
        title = COLUMN_TITLE[c]
        head += [f"{title} ms", "img/s", "GFLOP/s", "% sgemm"] if c != "torch_cl" else [f"{title} ms"]
    head += [f"mm ÷ {COLUMN_TITLE[c]}" for c in columns[1:]] + ["load before → after"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for preset, r in report["presets"].items():
        cells = [preset, str(r["batch_size"]), fmt(r["forward_gflop"], 2)]
        for c in columns:
            row = r["frameworks"].get(c, {}).get(kind)
            if c == "torch_cl":
                cells.append(fmt_ms(row and row["ms"]))
                continue
            cells += [fmt_ms(row and row["ms"]), fmt(row and row["images_per_s"], 0),
                      fmt(row and row["gflops"]), fmt(row and row["pct_sgemm"])]
        cells += [fmt(r["ratios"].get(f"{kind}_vs_{c}"), 2) + ("×" if f"{kind}_vs_{c}" in r["ratios"] else "")
                  for c in columns[1:]]
        cells.append(" → ".join(fmt(load, 1) for load in r["load_average_1min"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def memory_table(report):
    with_torch = any("torch" in r["memory"] for r in report["presets"].values())
    head = ["preset", "minimixer MB", "minimixer peak RSS MB"]
    if with_torch:
        head += ["torch NCHW MB", "torch peak RSS MB", "mm ÷ torch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for preset, r in report["presets"].items():
        ours = r["memory"]["minimixer"]
        cells = [preset, fmt(ours["step_mb"]), fmt(ours["peak_rss_mb"])]
        if with_torch:
            theirs, ratio = r["memory"].get("torch"), r["ratios"].get("memory_vs_torch")
            cells += [fmt(theirs and theirs["step_mb"]), fmt(theirs and theirs["peak_rss_mb"]),
                      fmt(ratio, 2) + ("×" if ratio is not None else "")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def startup_table(report):
    lines = ["| preset | empty cache: start → first step done s | its first step s | "
             "warm cache: start → first step done s | its import s | its first step s | next step s |",
             "|---|---|---|---|---|---|---|"]
    for preset, s in report["startup"].items():
        cold, warm = s["cold"], s["warm"]
        lines.append(f"| {preset} | {fmt(cold and cold['process_to_first_step_s'], 2)} | "
                     f"{fmt(cold and cold['first_step_s'], 2)} | {fmt(warm['process_to_first_step_s'], 2)} | "
                     f"{fmt(warm['import_s'], 2)} | {fmt(warm['first_step_s'], 2)} | "
                     f"{fmt(warm['second_step_s'], 3)} |")
    return "\n".join(lines)


def targets_table(report):
    lines = ["| target | preset | goal | measured | met? |", "|---|---|---|---|---|"]
    for t in report["targets"]:
        unit = " s" if "(s)" in t["what"] else "×"
        measured = "—" if t["measured"] is None else f"{t['measured']:.2f}{unit}"
        met = "not measured" if t["met"] is None else "met" if t["met"] else "**missed**"
        lines.append(f"| {t['what']} | {t['preset']} | {t['target']} | {measured} | {met} |")
    return "\n".join(lines)


def profile_tables(report, key="profile", what="step"):
    parts = []
    for preset, r in report["presets"].items():
        p = r[key]
        parts.append(f"**{preset}** (one {what} under cProfile: {fmt_ms(p['total_ms'])} ms)\n")
        parts.append("| function | calls | own ms | cumulative ms |\n|---|---|---|---|")
        for row in p["top"]:
            parts.append(f"| `{row['function']}` | {row['calls']} | {fmt_ms(row['own_ms'])} | "
                         f"{fmt_ms(row['cumulative_ms'])} |")
        parts.append("")
    return "\n".join(parts)


def render_markdown(report):
    machine = "\n".join(f"- {key}: {value}" for key, value in report["machine"].items())
    env = ", ".join(f"{k}={v}" for k, v in report["environment"].items())
    load = report["load_average"]
    sgemm = report["sgemm"]
    quick = "\n**Quick run: few repetitions, not representative.**\n" if report["quick"] else ""
    return f"""# Training-step speed: minimixer against PyTorch
{quick}
Command: `{report['command']}`

Date: {report['date']}. Threads: {report['threads']} (Numba, BLAS and torch). Wall time of the run: {report['wall_s']:.0f} s.

{machine}
- Environment: {env}
- Load average (1, 5, 15 min) at the start: {fmt(load['start'][0], 2)}, {fmt(load['start'][1], 2)}, {fmt(load['start'][2], 2)}; at the end: {fmt(load['end'][0], 2)}, {fmt(load['end'][1], 2)}, {fmt(load['end'][2], 2)}
- NumPy float32 matmul ({sgemm['n']}×{sgemm['n']} @ {sgemm['n']}×{sgemm['n']}, median of {len(sgemm['seconds'])}): **{sgemm['gflops']:.1f} GFLOP/s**, the "% sgemm" reference below

Every preset runs at its recipe's batch size (minimixer/cli.py) on a fixed random batch, all frameworks in one process, repetitions interleaved; times are medians. PyTorch runs the model `to_torch` builds from the same minimixer weights, on NCHW input (its default) and, for ConvMixers, also channels-last. FLOPs count 2 × multiply-adds of convolutions and linear maps (`minimixer.models.summary.model_flops`); a training step counts 3 × the forward FLOPs. "mm ÷ torch" below 1 means minimixer is faster. "load before → after" is the 1-minute load average around each preset's timed rounds: the benchmark itself keeps up to {report['threads']} threads busy, so values well above that mean other processes competed for the cores, which slows the multi-threaded steps unevenly. See benchmarks/README.md for the method.

## Training step (zero_grad → forward → cross-entropy → backward → AdamW step)

{speed_table(report, 'train')}

## Inference (eval mode, no_grad)

{speed_table(report, 'inference')}

## Memory of a training step

Extra resident memory (RSS) a training step needs, each framework in a fresh process: a tiny model of the same architecture first takes one step (loading kernels, starting thread pools), then the real model's peak RSS over its second step minus its RSS before the first step: activations kept for backward, gradients, optimizer state, temporaries. The peak RSS columns are the whole process (PyTorch's libraries alone take a few hundred MB).

{memory_table(report)}

## Start-up: Numba compile time and a second process start

A fresh process (no PyTorch) imports minimixer, builds the model and runs training steps. "Empty cache" points NUMBA_CACHE_DIR at a new empty folder, so the first step compiles every kernel; "warm cache" is the next process, loading the compiled kernels from that folder. Compiling does not depend on array sizes, so one preset per architecture is measured.

{startup_table(report)}

## Targets

{targets_table(report)}

For a missed target, the profiles below show where minimixer's time goes, and
benchmarks/README.md ("Where the gaps are") says what would close each gap.

## Where minimixer spends a training step

The functions with the most own time (cProfile) in one minimixer training step, after the timed rounds. A Numba kernel's time shows under its own name; NumPy's matmul and ufuncs show inside the op that calls them (e.g. `ops/linalg.py` forward and backward).

{profile_tables(report)}
## Where minimixer spends an inference pass

The same for one inference pass (eval mode, no_grad).

{profile_tables(report, "inference_profile", "inference pass")}"""


# ---------------------------------------------------------------- main


def main(args):
    started = time.perf_counter()
    load_start = os.getloadavg()
    import minimixer as mm  # before torch: it sets OMP_WAIT_POLICY, which torch's OpenMP reads

    torch = import_torch(args)

    mm.set_num_threads(args.threads)
    limit_blas_threads(args.threads)
    print(f"threads {args.threads}; PyTorch {'not used' if torch is None else torch.__version__}; "
          f"load average {load_start[0]:.2f}", flush=True)
    sgemm = sgemm_rate(1024 if args.quick else 2048, 3 if args.quick else 7)
    print(f"NumPy sgemm {sgemm['n']}³: {sgemm['gflops']:.1f} GFLOP/s", flush=True)

    results = {preset: bench_preset(args, preset, torch, sgemm["gflops"]) for preset in args.presets}
    startup = {}
    for preset in startup_presets(args.presets):
        print(f"start-up of {preset} ({'warm cache' if args.quick else 'empty, then warm cache'})", flush=True)
        startup[preset] = measure_startup(args, preset, cold=not args.quick)
    report = dict(
        command=shlex.join(["python", "benchmarks/bench_train.py", *sys.argv[1:]]),
        quick=args.quick, date=datetime.now().astimezone().isoformat(timespec="seconds"),
        threads=args.threads, machine=machine_info(torch), environment=environment_variables(),
        load_average=dict(start=list(load_start), end=list(os.getloadavg())), sgemm=sgemm,
        presets=results, startup=startup, targets=evaluate_targets(results, startup, torch is not None),
        wall_s=time.perf_counter() - started)
    markdown = render_markdown(report)
    print(markdown)
    out = args.out or (None if args.quick else str(HERE))
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "RESULTS.md").write_text(markdown)
        (Path(out) / "results.json").write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {Path(out) / 'RESULTS.md'} and results.json")


if __name__ == "__main__":
    arguments = parse_args()
    configure_environment(arguments.threads)
    if arguments.child == "memory":
        child_memory(arguments)
    elif arguments.child == "startup":
        child_startup(arguments)
    else:
        main(arguments)
