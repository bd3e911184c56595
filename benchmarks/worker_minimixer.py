"""The minimixer side of bench_train.py: one process, minimixer's defaults, no PyTorch.

    python benchmarks/worker_minimixer.py facts   SPEC_JSON   # preset facts, sgemm rate, versions
    python benchmarks/worker_minimixer.py step    SPEC_JSON   # serve "train" / "infer" / "profile" on stdin
    python benchmarks/worker_minimixer.py memory  SPEC_JSON   # a training step's extra memory
    python benchmarks/worker_minimixer.py startup SPEC_JSON   # import and first training step times
    python benchmarks/worker_minimixer.py fit     SPEC_JSON   # images/s of fit on real data, and why

`import minimixer` comes first, before NumPy: that is how a minimixer user gets its
defaults (minimixer/performance.py: idle thread pools sleep, freed memory is kept
for reuse). The parent removed those variables from this process's environment, so
they are minimixer's own settings, not the benchmark's. SPEC_JSON carries the preset,
the thread count and what each command needs.
"""

import time

STARTED = time.perf_counter()

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT))  # this checkout's minimixer, also when it is not installed

import minimixer as mm  # noqa: E402  (first: minimixer's settings apply before NumPy loads)

import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402

from minimixer import models, no_grad, optim  # noqa: E402
from minimixer.nn import functional as F  # noqa: E402
from worker_protocol import print_result, serve, step_memory, timed, timed_reply, worker_facts  # noqa: E402

IMAGE_SHAPE = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
# The batch of the timed training and inference steps, per dataset: fixed, so the
# tables stay comparable when a recipe trains with another batch (the CIFAR-10
# MLP-Mixer's recipe uses 32). The `fit` measurement uses the recipe's own batch.
STEP_BATCH = {"digits": 64, "mnist": 128, "cifar10": 128}


# ---------------------------------------------------------------- what a preset is


def recipe_and_dataset(preset):
    """The training recipe of a preset and the dataset it is shaped for."""
    record = models.preset(preset)
    return record.recipe, record.dataset


def preset_facts(preset):
    """Model config, dataset, recipe settings, batch shape, parameters and FLOPs of a preset."""
    from minimixer.models.summary import model_flops

    recipe, dataset = recipe_and_dataset(preset)
    config = models.preset_config(preset)
    model = models.create(preset)
    image_shape = IMAGE_SHAPE[dataset]
    batch = STEP_BATCH[dataset]
    return dict(model=config["model"], config=config, dataset=dataset, batch_size=batch,
                label_smoothing=recipe.label_smoothing, lr=recipe.lr, weight_decay=recipe.weight_decay,
                input_shape=[batch, *image_shape], params=model.num_parameters(),
                forward_flops=batch * model_flops(model, (1, *image_shape)))


def sgemm_rate(n, repeats):
    """Median GFLOP/s of an n×n @ n×n float32 NumPy matmul (the machine's matmul roofline)."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    runs = [timed(lambda: a @ b) for _ in range(repeats)]
    return dict(n=n, gflops=2 * n**3 / statistics.median(runs) / 1e9, seconds=runs)


def machine_info():
    """CPU, library versions, BLAS and Numba threading layer (after a kernel has run)."""
    import numba

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
    return {"CPU": cpu, "logical cores": os.cpu_count(), "Python": platform.python_version(),
            "NumPy": np.__version__, "BLAS": blas_description(),
            "Numba": f"{numba.__version__} (threading layer {layer})"}


def blas_description():
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


def run_facts(spec):
    mm.set_num_threads(spec["threads"])
    n, repeats = (1024, 3) if spec.get("quick") else (2048, 7)
    print_result(dict(presets={p: preset_facts(p) for p in spec["presets"]}, sgemm=sgemm_rate(n, repeats),
                      minimixer=mm.__version__, **worker_facts()))


# ---------------------------------------------------------------- the timed step


class MinimixerStep:
    """One preset's model, AdamW (the recipe's lr and weight decay) and a fixed batch.

    The batch is random normalised-looking images: the pixel values do not change
    the amount of float32 work.
    """

    def __init__(self, preset, batch_size=None, seed=0):
        recipe, dataset = recipe_and_dataset(preset)
        mm.manual_seed(seed)
        self.model = models.create(preset)
        rng = np.random.default_rng(seed)
        batch = batch_size or STEP_BATCH[dataset]
        self.images = rng.standard_normal((batch, *IMAGE_SHAPE[dataset]), dtype=np.float32)
        self.labels = rng.integers(0, 10, batch)
        self.label_smoothing = recipe.label_smoothing
        self.optimizer = optim.AdamW(self.model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)

    def train_step(self):
        """zero_grad -> forward -> cross-entropy -> backward -> AdamW step."""
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(self.images), self.labels, label_smoothing=self.label_smoothing)
        loss.backward()
        self.optimizer.step()

    def inference(self):
        """One forward pass without a graph (the model is in eval mode)."""
        with no_grad():
            self.model(self.images)


def profile(call, repeats=1, top=8):
    """cProfile `repeats` calls; the `top` functions by own time, per call (averages).

    One call of a small step is a few milliseconds, and profiling it once measures
    mostly chance: the average over several calls is steadier.
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    for _ in range(repeats):
        profiler.runcall(call)
    stats = pstats.Stats(profiler).stats
    rows = [dict(function=function_label(filename, line, function), calls=calls / repeats,
                 own_ms=own * 1e3 / repeats, cumulative_ms=cumulative * 1e3 / repeats)
            for (filename, line, function), (_, calls, own, cumulative, _) in stats.items()]
    rows.sort(key=lambda r: -r["own_ms"])
    return dict(total_ms=sum(r["own_ms"] for r in rows), repeats=repeats, top=rows[:top])


def function_label(filename, line, function):
    if filename == "~":  # built-in functions and methods
        return function
    path = Path(filename)
    try:
        path = path.relative_to(ROOT)
    except ValueError:
        path = Path(path.name)
    return f"{path}:{line}({function})"


def serve_steps(spec):
    """Answer "train" / "infer" with seconds, "profile train|infer N" with a cProfile table
    (averaged over N calls), "info" with the machine facts."""
    mm.set_num_threads(spec["threads"])
    bench = MinimixerStep(spec["preset"])

    def train(_):
        bench.model.train()
        return timed_reply(bench.train_step)

    def infer(_):
        bench.model.eval()
        return timed_reply(bench.inference)

    def profile_command(argument):
        kind, _, repeats = argument.partition(" ")
        bench.model.train(kind == "train")
        return profile(bench.train_step if kind == "train" else bench.inference, int(repeats or 1))

    hello = dict(framework="minimixer", threads=mm.get_num_threads(), params=bench.model.num_parameters(),
                 **worker_facts())
    serve(hello, dict(train=train, infer=infer, profile=profile_command, info=lambda _: machine_info()))


# ---------------------------------------------------------------- one-shot measurements


def run_memory(spec):
    mm.set_num_threads(spec["threads"])
    state = {}
    result = step_memory(warm_up=lambda: MinimixerStep(spec["tiny_preset"], batch_size=2).train_step(),
                         build=lambda: state.update(bench=MinimixerStep(spec["preset"])),
                         step=lambda: state["bench"].train_step())
    print_result(result)


def run_startup(spec):
    """Process start to the end of the first training step (the parent adds Python's start)."""
    imported = time.perf_counter()
    mm.set_num_threads(spec["threads"])
    bench = MinimixerStep(spec["preset"])
    built = time.perf_counter()
    first = timed(bench.train_step)
    finished_at = time.time()
    second = timed(bench.train_step)
    print_result(dict(import_s=imported - STARTED, build_s=built - imported, first_step_s=first,
                      second_step_s=second, finished_at=finished_at))


# ---------------------------------------------------------------- steps as fit runs them


def load_training_images(dataset, data_dir, count):
    """The first `count` training images of `dataset` (all of them if fewer), or a reason why not."""
    from minimixer import data

    if dataset != "digits" and not data_dir:
        return None, f"{dataset} needs MINIMIXER_DATA or --data-dir"
    try:
        train_set = data.load(dataset, "train", data_dir=data_dir, download=False)
    except Exception as error:  # noqa: BLE001  (any loading problem means: skip, with the reason)
        return None, f"{dataset} not loaded from {data_dir}: {type(error).__name__}: {error}"
    return type(train_set)(train_set[0][:count], train_set[1][:count]), None


def fit_like_epoch(preset, train_set, recipe, dataset, back_to_back):
    """One epoch of the loop `minimixer.train.fit` runs, with a stopwatch on each part.

    Per batch: "data" is the DataLoader delivering it (indexing, augmentation, float
    conversion); "step" is zero_grad -> forward -> cross-entropy -> backward -> AdamW
    step, the benchmark's step, here right after the data; "extras" is what fit adds:
    reading the loss, gradient clipping, the schedule and the accuracy count. Then the
    same step `back_to_back` times in a row on the last batch, for comparison, and as
    often after an idle pause as long as loading a batch took ("after_pause_step"):
    if a step after data is slow but one after a pause is not, the data work itself
    (its memory traffic and allocations) slows the step; if both are slow, idleness
    (sleeping threads, cooled caches) does.
    """
    from minimixer.data import DataLoader, default_transforms
    from minimixer.optim import clip_grad_norm
    from minimixer.train import make_optimizer, make_schedule

    mm.manual_seed(recipe.seed)
    model = models.create(preset)
    loader = DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed,
                        drop_last=True, transform=default_transforms(dataset, train=recipe.augment))
    optimizer = make_optimizer(model, recipe)
    schedule = make_schedule(optimizer, recipe, steps_per_epoch=len(loader))
    parts = {"data": [], "step": [], "extras": []}
    batches = iter(loader)
    clock = time.perf_counter
    for _ in range(len(loader)):
        t0 = clock()
        images, labels = next(batches)
        t1 = clock()
        optimizer.zero_grad()
        logits = model(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=recipe.label_smoothing)
        loss.backward()
        t2 = clock()
        float(loss.data)
        if recipe.clip_norm:
            clip_grad_norm(model.parameters(), recipe.clip_norm)
        t3 = clock()
        optimizer.step()
        t4 = clock()
        schedule.step()
        int(np.sum(np.argmax(logits.data, axis=1) == labels))
        t5 = clock()
        parts["data"].append(t1 - t0)
        parts["step"].append((t2 - t1) + (t4 - t3))
        parts["extras"].append((t3 - t2) + (t5 - t4))

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels, label_smoothing=recipe.label_smoothing).backward()
        optimizer.step()

    step()  # the first step in a row still follows the accuracy count
    parts["back_to_back_step"] = [timed(step) for _ in range(back_to_back)]
    parts["after_pause_step"] = []
    pause = statistics.median(parts["data"])
    for _ in range(back_to_back):
        time.sleep(pause)
        parts["after_pause_step"].append(timed(step))
    return {name: dict(median_ms=1e3 * statistics.median(runs), total_s=sum(runs), count=len(runs))
            for name, runs in parts.items()}


def run_fit(spec):
    """images/s of one `fit` epoch on real training images, and the fit-like loop's parts."""
    from minimixer.train import fit

    mm.set_num_threads(spec["threads"])
    preset = spec["preset"]
    recipe, dataset = recipe_and_dataset(preset)
    recipe = dataclasses.replace(recipe, epochs=1)
    train_set, reason = load_training_images(dataset, spec.get("data_dir"), spec["steps"] * recipe.batch_size)
    if train_set is None:
        print_result(dict(skipped=reason))
        return
    parts = fit_like_epoch(preset, train_set, recipe, dataset, spec["back_to_back"])  # also loads kernels and warms the heap
    mm.manual_seed(recipe.seed)
    model = models.create(preset)
    started = time.perf_counter()
    history = fit(model, train_set, None, recipe=recipe, dataset_name=dataset, progress=False)
    print_result(dict(images=len(train_set[1]), batch_size=recipe.batch_size,
                      steps=len(train_set[1]) // recipe.batch_size, fit_seconds=time.perf_counter() - started,
                      fit_images_per_s=history[-1]["images_per_s"], parts=parts,
                      clip_norm=recipe.clip_norm, augment=recipe.augment))


COMMANDS = {"facts": run_facts, "step": serve_steps, "memory": run_memory, "startup": run_startup,
            "fit": run_fit}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](json.loads(sys.argv[2]))
