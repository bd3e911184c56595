"""Training-step speed of minimixer against PyTorch, each in its own process.

    python benchmarks/bench_train.py                        # all presets, 2 threads, ~10 minutes
    python benchmarks/bench_train.py --quick                # digits presets, a few rounds, prints only
    python benchmarks/bench_train.py --presets mlpmixer-mnist --repeats 5 --out /tmp/bench

What a person choosing between the two libraries gets: each framework runs in its
own worker process with that library's defaults (worker_minimixer.py imports
minimixer and NumPy; worker_torch.py imports torch and the models of
torch_models.py, and calls torch.set_num_threads). This parent process imports
neither library. It starts the workers of one preset, then passes the turn: one
timed training step of each worker at a time, over pipes, the order rotating every
round, so all of them run under the same load; the worker times the step itself.
Warm-up rounds first, medians reported. ConvMixer and CNN presets run in PyTorch in
both memory layouts (NCHW and channels-last), and minimixer is judged against the
faster one.

Other workers measure the extra memory of a training step, the start-up time
(Numba compiling into an empty cache, then loading from the warm one), and the
speed of real `minimixer.train.fit` epochs on real data next to the benchmark's
back-to-back steps. benchmarks/README.md explains each measurement.

Writes RESULTS.md and results.json into --out (default benchmarks/; a --quick run
writes only when --out is given). Without PyTorch the tables show minimixer alone.
"""

import argparse
import importlib.util
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from bench_train_report import render_markdown

HERE = Path(__file__).resolve().parent

# (timed rounds, warm-up rounds) of each preset in a full run, small to large. Chosen
# so a full run takes about ten minutes on an idle 2-core machine.
PLAN = {
    "convmixer-digits": (30, 5),
    "mlpmixer-digits": (30, 5),
    "cnn-digits": (30, 5),
    "convmixer-mnist": (9, 2),
    "mlpmixer-mnist": (9, 2),
    "cnn-mnist": (9, 2),
    "convmixer-cifar10": (5, 1),
    "mlpmixer-cifar10": (5, 1),
}
QUICK_PRESETS = ["convmixer-digits", "mlpmixer-digits"]
QUICK_ROUNDS = (3, 2)
# Batches of real data the fit measurement uses per dataset (None: the whole training
# split). MNIST and CIFAR-10 use a subset: their steps take 0.1-2 s each.
FIT_STEPS = {"digits": None, "mnist": 24, "cifar10": 8}
QUICK_FIT_STEPS = 4

# Variables a worker must not inherit from whoever runs the benchmark: thread-pool
# behaviour, thread counts and allocator settings. Each library then runs with its
# own defaults: PyTorch with nothing but torch.set_num_threads, minimixer with the
# settings `import minimixer` applies itself.
STRIPPED_VARIABLES = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_NUM_THREADS",
                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
                      "GLIBC_TUNABLES", "MINIMIXER_PERFORMANCE_SETTINGS")
STRIPPED_PREFIXES = ("MALLOC_",)

# The targets (minimixer ÷ PyTorch; lower is better for minimixer).
TRAIN_TARGET = 1.0
TRAIN_TARGET_BY_PRESET = {"convmixer-mnist": 0.7, "convmixer-cifar10": 0.7}
INFERENCE_TARGET = 1.0
MEMORY_TARGET = 1.0
WARM_START_TARGET_S = 2.0

# Longest wait for a worker's threads to fall asleep before the next worker's step.
SETTLE_LIMIT_S = 0.05

# The PyTorch columns: "torch" is NCHW (PyTorch's default), "torch_cl" channels-last.
TORCH_LAYOUTS = {"torch": "nchw", "torch_cl": "channels_last"}
CONV_MODELS = ("ConvMixer", "SimpleCNN")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", metavar="PRESET", choices=list(PLAN),
                        help="presets to time (default: all; --quick: the ConvMixer and MLP-Mixer digits presets)")
    parser.add_argument("--threads", type=int, default=2, help="threads of each framework (default 2)")
    parser.add_argument("--repeats", type=int, help="timed rounds of every preset (default: per preset)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: digits presets, few rounds, small sgemm, no empty-cache compile")
    parser.add_argument("--no-torch", action="store_true", help="time minimixer alone even if torch is installed")
    parser.add_argument("--no-settle", action="store_true",
                        help="start each step right after the previous one, even while that worker's "
                             "threads still spin (to measure what the overlap costs)")
    parser.add_argument("--data-dir", default=os.environ.get("MINIMIXER_DATA"),
                        help="folder with MNIST and CIFAR-10 for the fit measurement (default: $MINIMIXER_DATA)")
    parser.add_argument("--out", help="folder for RESULTS.md and results.json "
                                      "(default: benchmarks/; with --quick: write nothing)")
    args = parser.parse_args(argv)
    if args.threads < 1 or (args.repeats is not None and args.repeats < 1):
        parser.error("--threads and --repeats must be positive")
    if args.threads > (os.cpu_count() or 1):
        parser.error(f"--threads {args.threads}: this machine has {os.cpu_count()} logical cores")
    args.presets = args.presets or (QUICK_PRESETS if args.quick else list(PLAN))
    return args


def torch_available(args):
    """Whether PyTorch is installed, found without importing it (this process stays clean)."""
    return not args.no_torch and importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------- worker processes


def worker_environment(base=None):
    """A copy of `base` (default os.environ) without the STRIPPED_* variables."""
    base = os.environ if base is None else base
    return {name: value for name, value in base.items()
            if name not in STRIPPED_VARIABLES and not name.startswith(STRIPPED_PREFIXES)}


def worker_command(framework, command, spec):
    script = HERE / ("worker_minimixer.py" if framework == "minimixer" else "worker_torch.py")
    return [sys.executable, str(script), command, json.dumps(spec)]


class WorkerError(RuntimeError):
    pass


class Worker:
    """A step-serving worker: send a command line, read one JSON reply line."""

    def __init__(self, name, framework, spec, env=None):
        self.name = name
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(worker_command(framework, "step", spec), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr, text=True, bufsize=1,
                                        env=env or worker_environment())
        self.hello = None

    def read(self):
        line = self.process.stdout.readline()
        reply = json.loads(line) if line else {"error": "the worker ended"}
        if "error" in reply:
            raise WorkerError(f"{self.name}: {reply['error']}\n{self.stderr_tail()}")
        return reply

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def wait_ready(self):
        self.hello = self.read()
        return self.hello

    def stderr_tail(self, chars=3000):
        self.stderr.seek(0)
        return self.stderr.read()[-chars:]

    def close(self):
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.stderr.close()


def run_once(framework, command, spec, env=None):
    """Run a one-shot worker (facts, memory, start-up, fit); the JSON of its last line."""
    argv = worker_command(framework, command, spec)
    result = subprocess.run(argv, capture_output=True, text=True, env=env or worker_environment())
    if result.returncode != 0:
        raise WorkerError(f"{framework} {command} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def step_spec(args, facts, layout=None, tiny=None):
    """What a worker needs to build a preset's model, optimizer and batch."""
    spec = dict(preset=facts["preset"], threads=args.threads, config=facts["config"],
                input_shape=facts["input_shape"], label_smoothing=facts["label_smoothing"],
                lr=facts["lr"], weight_decay=facts["weight_decay"])
    if layout:
        spec["layout"] = layout
    if tiny:
        spec.update(tiny_preset=tiny["preset"], tiny_config=tiny["config"],
                    tiny_input_shape=[2, *tiny["input_shape"][1:]])
    return spec


def torch_columns(facts, have_torch):
    """The PyTorch variants of a preset: NCHW always, channels-last for convolutional models."""
    if not have_torch:
        return []
    return list(TORCH_LAYOUTS) if facts["model"] in CONV_MODELS else ["torch"]


# ---------------------------------------------------------------- interleaved timing


def running_threads(pid):
    """How many threads of process `pid` are running or runnable (Linux; 0 elsewhere)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    running = 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read()
        except OSError:  # the thread just ended
            continue
        running += fields[fields.rindex(")") + 2] == "R"
    return running


def settle(pid, limit_s=SETTLE_LIMIT_S, poll_s=0.0002):
    """Wait until every thread of worker `pid` sleeps (at most `limit_s`); seconds waited.

    After a step, a thread pool may keep its threads spinning for a while before they
    sleep (PyTorch's OpenMP does by default, ~10-15 ms on 2 cores). In the worker's
    own loop the next step would use them; here the next step is another
    framework's, which would share its cores with that spinning. So the next step
    starts only once this worker is idle.
    """
    start = time.perf_counter()
    while running_threads(pid) and time.perf_counter() - start < limit_s:
        time.sleep(poll_s)
    return time.perf_counter() - start


def interleave(workers, command, rounds, warmup, wait_for_idle=True):
    """One `command` of each worker at a time, the order rotating each round.

    Returns ({name: [seconds of the timed rounds]}, {"pause": [...], "settle": {name: [...]}}):
    a pause runs from one worker's step end to the next worker's step start (both
    clocks are the system's monotonic clock); settle, per worker, is the part of it
    spent waiting for that worker's threads to sleep after its step (see `settle`).
    """
    times = {w.name: [] for w in workers}
    gaps, last_end = {"pause": [], "settle": {w.name: [] for w in workers}}, None
    for round_index in range(warmup + rounds):
        shift = round_index % len(workers)
        for worker in workers[shift:] + workers[:shift]:
            reply = worker.ask(command)
            if last_end is not None:
                gaps["pause"].append(reply["start"] - last_end)
            last_end = reply["end"]
            if round_index >= warmup:
                times[worker.name].append(reply["seconds"])
            if wait_for_idle:
                gaps["settle"][worker.name].append(settle(worker.process.pid))
    return times, gaps


def start_workers(args, facts, have_torch):
    """The minimixer worker and the PyTorch workers of one preset, all started at once."""
    workers = [Worker("minimixer", "minimixer", step_spec(args, facts))]
    for name in torch_columns(facts, have_torch):
        workers.append(Worker(name, "torch", step_spec(args, facts, TORCH_LAYOUTS[name])))
    try:
        for worker in workers:
            worker.wait_ready()
    except WorkerError:
        for worker in workers:
            worker.close()
        raise
    return workers


def profile_repeats(runs, seconds=0.5, most=20):
    """How many calls to profile: about `seconds` of them (at least 1, at most `most`)."""
    return max(1, min(most, round(seconds / statistics.median(runs))))


def speed_row(runs, flops, batch, sgemm_gflops):
    """Median milliseconds, images/s, GFLOP/s and % of the sgemm rate of timed runs."""
    median = statistics.median(runs)
    gflops = flops / median / 1e9
    return dict(ms=median * 1e3, runs_ms=[r * 1e3 for r in runs], images_per_s=batch / median,
                gflops=gflops, pct_sgemm=100 * gflops / sgemm_gflops)


def summary_ms(values):
    """Median and largest of `values` (seconds), in ms; None for none."""
    return dict(median_ms=1e3 * statistics.median(values), max_ms=1e3 * max(values)) if values else None


def gap_summary(gaps):
    """The pauses between steps, and each worker's settle waits, summarised in ms."""
    return dict(pause=summary_ms(gaps["pause"]),
                settle={name: summary_ms(values) for name, values in gaps["settle"].items()})


def time_preset(args, facts, have_torch, sgemm_gflops):
    """Interleaved training steps, then inference passes, then minimixer's profiles."""
    repeats, warmup = QUICK_ROUNDS if args.quick else PLAN[facts["preset"]]
    repeats = args.repeats or repeats
    workers = start_workers(args, facts, have_torch)
    names = ", ".join(w.name for w in workers)
    progress(f"{facts['preset']}: batch {facts['batch_size']}, {facts['forward_flops'] / 1e9:.2f} forward GFLOP, "
             f"{warmup} warm-up + {repeats} timed rounds of {names}")
    try:
        load_before = os.getloadavg()[0]
        train, train_gaps = interleave(workers, "train", repeats, warmup, not args.no_settle)
        inference, inference_gaps = interleave(workers, "infer", repeats, max(warmup, 2), not args.no_settle)
        load_after = os.getloadavg()[0]
        minimixer = workers[0]
        profiles = dict(profile=minimixer.ask(f"profile train {profile_repeats(train['minimixer'])}"),
                        inference_profile=minimixer.ask(f"profile infer {profile_repeats(inference['minimixer'])}"),
                        machine=minimixer.ask("info"))
        hellos = {w.name: w.hello for w in workers}
    finally:
        for worker in workers:
            worker.close()
    frameworks = {name: dict(train=speed_row(train[name], 3 * facts["forward_flops"], facts["batch_size"],
                                             sgemm_gflops),
                             inference=speed_row(inference[name], facts["forward_flops"], facts["batch_size"],
                                                 sgemm_gflops))
                  for name in train}
    for name, row in frameworks.items():
        progress(f"  {name:<10} train {row['train']['ms']:9.1f} ms   inference {row['inference']['ms']:9.1f} ms")
    return dict(frameworks=frameworks, repeats=repeats, warmup=warmup, load_average_1min=[load_before, load_after],
                gaps=dict(train=gap_summary(train_gaps), inference=gap_summary(inference_gaps)),
                workers=hellos, **profiles)


# ---------------------------------------------------------------- memory, start-up, fit


def measure_memory(args, facts, tiny, have_torch):
    """Extra memory of a training step, each framework (and PyTorch layout) in a fresh process.

    A full run starts them one after the other (the large presets need GBs each); a
    quick run all at once (resident memory does not depend on what else runs).
    """
    jobs = {"minimixer": ("minimixer", step_spec(args, facts, tiny=tiny))}
    for name in torch_columns(facts, have_torch):
        jobs[name] = ("torch", step_spec(args, facts, TORCH_LAYOUTS[name], tiny))
    if not args.quick:
        return {name: run_once(framework, "memory", spec) for name, (framework, spec) in jobs.items()}
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(run_once, framework, "memory", spec) for name, (framework, spec) in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def measure_startup(args, preset, cold):
    """Start-up with a warm Numba cache, and (unless quick) first with an empty one.

    The empty cache is a fresh NUMBA_CACHE_DIR: the first process compiles every
    kernel into it, the second loads them. In quick mode the warm run uses the
    cache the timing has just used.
    """
    spec = dict(preset=preset, threads=args.threads)

    def launch(env):
        launched = time.time()
        result = run_once("minimixer", "startup", spec, env)
        result["process_to_first_step_s"] = result.pop("finished_at") - launched
        return result

    if not cold:
        return dict(cold=None, warm=launch(worker_environment()))
    with tempfile.TemporaryDirectory(prefix="minimixer-bench-cache-") as cache:
        env = dict(worker_environment(), NUMBA_CACHE_DIR=cache)
        return dict(cold=launch(env), warm=launch(env))


def measure_fit(args, facts):
    """One real fit epoch on real data, and the parts of a fit step (worker_minimixer.run_fit)."""
    steps = QUICK_FIT_STEPS if args.quick else FIT_STEPS[facts["dataset"]]
    spec = dict(preset=facts["preset"], threads=args.threads, data_dir=args.data_dir,
                steps=steps if steps else 10**6, back_to_back=3 if args.quick else 10)
    return run_once("minimixer", "fit", spec)


def fit_gap(fit, step_row):
    """fit's images/s against back-to-back steps: those of the fit process, timed seconds
    before the epoch, and those of the step benchmark, timed minutes earlier (None if
    fit was skipped). The machine's speed drifts by ±20 % over minutes (both frameworks
    alike, which is why the step benchmark interleaves), so the first is the fair one."""
    if "skipped" in fit:
        return None
    back_to_back = fit["batch_size"] / (fit["parts"]["back_to_back_step"]["median_ms"] / 1e3)
    return dict(fit_images_per_s=fit["fit_images_per_s"], back_to_back_images_per_s=back_to_back,
                fit_per_back_to_back=fit["fit_images_per_s"] / back_to_back,
                benchmark_images_per_s=step_row["images_per_s"],
                fit_per_benchmark=fit["fit_images_per_s"] / step_row["images_per_s"])


def first_of_each_model(presets, facts):
    """The smallest chosen preset of each model class (PLAN lists them small to large):
    compiling does not depend on array sizes."""
    chosen = {}
    for preset in PLAN:
        if preset in presets:
            chosen.setdefault(facts[preset]["model"], preset)
    return list(chosen.values())


def tiny_preset(preset):
    """The digits preset of the same model family: what the memory workers warm up with."""
    return preset.split("-")[0] + "-digits"


# ---------------------------------------------------------------- ratios and targets


def ratios(frameworks, memory):
    """minimixer ÷ each PyTorch column, and ÷ the faster (or smaller) PyTorch layout."""
    result = {}
    ours = frameworks["minimixer"]
    columns = [c for c in TORCH_LAYOUTS if c in frameworks]
    for kind in ("train", "inference"):
        for name in columns:
            result[f"{kind}_vs_{name}"] = ours[kind]["ms"] / frameworks[name][kind]["ms"]
        if columns:
            fastest = min(columns, key=lambda c: frameworks[c][kind]["ms"])
            result[f"{kind}_vs_best"], result[f"{kind}_best"] = result[f"{kind}_vs_{fastest}"], fastest
    memory_columns = [c for c in TORCH_LAYOUTS if c in memory]
    for name in memory_columns:
        result[f"memory_vs_{name}"] = memory["minimixer"]["step_mb"] / memory[name]["step_mb"]
    if memory_columns:
        smallest = min(memory_columns, key=lambda c: memory[c]["step_mb"])
        result["memory_vs_best"], result["memory_best"] = result[f"memory_vs_{smallest}"], smallest
    return result


def evaluate_targets(results, startup):
    """One row per target: what, preset, goal, measured value, met (None: not measured)."""
    rows = []

    def add(what, preset, limit, value, unit="×", against=None):
        met = None if value is None else bool(value <= limit)
        rows.append(dict(what=what, preset=preset, target=f"≤ {limit:g}{unit}", limit=limit, unit=unit,
                         measured=value, against=against, met=met))

    for preset, r in results.items():
        ratio = r["ratios"]
        if "train_vs_best" not in ratio:
            continue
        add("train step ÷ faster PyTorch layout", preset, TRAIN_TARGET_BY_PRESET.get(preset, TRAIN_TARGET),
            ratio["train_vs_best"], against=ratio["train_best"])
        add("inference ÷ faster PyTorch layout", preset, INFERENCE_TARGET, ratio["inference_vs_best"],
            against=ratio["inference_best"])
        add("train-step memory ÷ smaller PyTorch layout", preset, MEMORY_TARGET, ratio.get("memory_vs_best"),
            against=ratio.get("memory_best"))
    for preset, s in startup.items():
        add("warm cache: process start → first step done", preset, WARM_START_TARGET_S,
            s["warm"]["process_to_first_step_s"], unit=" s")
    return rows


# ---------------------------------------------------------------- main


def bench_preset(args, facts, facts_by_preset, have_torch, sgemm_gflops):
    """Everything measured for one preset."""
    result = dict(model=facts["model"], dataset=facts["dataset"], batch_size=facts["batch_size"],
                  input_shape=facts["input_shape"], params=facts["params"],
                  forward_gflop=facts["forward_flops"] / 1e9)
    result.update(time_preset(args, facts, have_torch, sgemm_gflops))
    progress(f"  memory of a {facts['preset']} training step")
    result["memory"] = measure_memory(args, facts, facts_by_preset[tiny_preset(facts["preset"])], have_torch)
    result["ratios"] = ratios(result["frameworks"], result["memory"])
    return result


def fit_all(args, results, facts_by_preset):
    """The fit measurement of every preset (quick: digits presets only)."""
    fits = {}
    for preset, r in results.items():
        if args.quick and facts_by_preset[preset]["dataset"] != "digits":
            continue
        progress(f"fit epoch of {preset} on real {facts_by_preset[preset]['dataset']} images")
        fit = measure_fit(args, facts_by_preset[preset])
        fit["gap"] = fit_gap(fit, r["frameworks"]["minimixer"]["train"])
        fits[preset] = fit
    return fits


RUN_STARTED = time.perf_counter()


def progress(message):
    """A progress line, prefixed with the seconds since the run started."""
    print(f"[{time.perf_counter() - RUN_STARTED:5.0f} s] {message}", flush=True)


def main(args):
    started = time.perf_counter()
    load_start = os.getloadavg()
    have_torch = torch_available(args)
    progress(f"threads {args.threads}; PyTorch {'used' if have_torch else 'not used'}; "
             f"load average {load_start[0]:.2f}")
    needed = sorted({*args.presets, *map(tiny_preset, args.presets)}, key=list(PLAN).index)
    facts = run_once("minimixer", "facts", dict(presets=needed, threads=args.threads, quick=args.quick))
    facts_by_preset = {p: dict(f, preset=p) for p, f in facts["presets"].items()}
    sgemm = facts["sgemm"]
    progress(f"NumPy sgemm {sgemm['n']}³: {sgemm['gflops']:.1f} GFLOP/s")

    results = {p: bench_preset(args, facts_by_preset[p], facts_by_preset, have_torch, sgemm["gflops"])
               for p in args.presets}
    startup = {}
    for preset in first_of_each_model(args.presets, facts_by_preset):
        progress(f"start-up of {preset} ({'warm cache' if args.quick else 'empty, then warm cache'})")
        startup[preset] = measure_startup(args, preset, cold=not args.quick)
    fits = fit_all(args, results, facts_by_preset)
    first = next(iter(results.values()))
    machine = dict(first.pop("machine"), PyTorch=next((w["torch"] for r in results.values()
                                                      for w in r["workers"].values() if "torch" in w), "not used"))
    for r in results.values():
        r.pop("machine", None)
    report = dict(
        command=shlex.join(["python", "benchmarks/bench_train.py", *sys.argv[1:]]),
        quick=args.quick, date=datetime.now().astimezone().isoformat(timespec="seconds"),
        threads=args.threads, machine=machine, parent_imports=parent_imports(),
        load_average=dict(start=list(load_start), end=list(os.getloadavg())), sgemm=sgemm,
        presets=results, startup=startup, fit=fits, data_dir=args.data_dir,
        targets=evaluate_targets(results, startup), wall_s=time.perf_counter() - started)
    write_report(args, report)


def parent_imports():
    """Proof that this process loaded neither library."""
    return {name: name in sys.modules for name in ("minimixer", "torch", "numpy")}


def write_report(args, report):
    markdown = render_markdown(report)
    progress("done")
    print(markdown)
    out = args.out or (None if args.quick else str(HERE))
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "RESULTS.md").write_text(markdown)
        (Path(out) / "results.json").write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {Path(out) / 'RESULTS.md'} and results.json")


if __name__ == "__main__":
    main(parse_args())
