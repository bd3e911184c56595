"""RESULTS.md of bench_train.py, rendered from its report dict (standard library only)."""

COLUMN_TITLE = {"minimixer": "minimixer", "torch": "torch NCHW", "torch_cl": "torch channels-last"}
TORCH_COLUMNS = ("torch", "torch_cl")
BUSY_LOAD = 1.5  # a 1-minute load average above this at the start means others were busy


def fmt(value, digits=1):
    return "—" if value is None else f"{value:,.{digits}f}"


def fmt_ms(value):
    if value is None:
        return "—"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}×"


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def used_columns(report):
    return [c for c in TORCH_COLUMNS if any(c in r["frameworks"] for r in report["presets"].values())]


def speed_table(report, kind):
    columns = used_columns(report)
    head = ["preset", "batch", "fwd GFLOP", "minimixer ms", "img/s", "GFLOP/s", "% sgemm"]
    head += [f"{COLUMN_TITLE[c]} ms" for c in columns]
    head += [f"mm ÷ {COLUMN_TITLE[c]}" for c in columns]
    if columns:
        head.append("**mm ÷ faster torch**")
    head += ["pause between steps, median / max ms", "load before → after"]
    rows = []
    for preset, r in report["presets"].items():
        ours = r["frameworks"]["minimixer"][kind]
        cells = [preset, str(r["batch_size"]), fmt(r["forward_gflop"], 2), fmt_ms(ours["ms"]),
                 fmt(ours["images_per_s"], 0), fmt(ours["gflops"]), fmt(ours["pct_sgemm"])]
        cells += [fmt_ms(r["frameworks"][c][kind]["ms"]) if c in r["frameworks"] else "—" for c in columns]
        cells += [fmt_ratio(r["ratios"].get(f"{kind}_vs_{c}")) for c in columns]
        if columns:
            cells.append(f"**{fmt_ratio(r['ratios'].get(f'{kind}_vs_best'))}**")
        pause = r["gaps"][kind]["pause"]
        cells.append(f"{pause['median_ms']:.2f} / {pause['max_ms']:.2f}" if pause else "—")
        cells.append(" → ".join(fmt(load, 1) for load in r["load_average_1min"]))
        rows.append(cells)
    return table(head, rows)


def settle_table(report):
    """How long each worker's threads kept running after its training step."""
    names = ["minimixer", *used_columns(report)]
    rows = []
    for preset, r in report["presets"].items():
        settle = r["gaps"]["train"]["settle"]
        rows.append([preset] + [f"{settle[n]['median_ms']:.2f} / {settle[n]['max_ms']:.2f}"
                                if settle.get(n) else "—" for n in names])
    return table(["preset"] + [f"{COLUMN_TITLE[n]} ms, median / max" for n in names], rows)


def memory_table(report):
    columns = [c for c in TORCH_COLUMNS if any(c in r["memory"] for r in report["presets"].values())]
    head = ["preset", "minimixer MB", "minimixer peak RSS MB"]
    head += [f"{COLUMN_TITLE[c]} MB" for c in columns]
    if columns:
        head += ["torch peak RSS MB", "**mm ÷ smaller torch**"]
    rows = []
    for preset, r in report["presets"].items():
        memory = r["memory"]
        cells = [preset, fmt(memory["minimixer"]["step_mb"]), fmt(memory["minimixer"]["peak_rss_mb"])]
        cells += [fmt(memory[c]["step_mb"]) if c in memory else "—" for c in columns]
        if columns:
            peaks = [memory[c]["peak_rss_mb"] for c in columns if c in memory]
            cells += [fmt(max(peaks)) if peaks else "—", f"**{fmt_ratio(r['ratios'].get('memory_vs_best'))}**"]
        rows.append(cells)
    return table(head, rows)


def startup_table(report):
    head = ["preset", "empty cache: start → first step done s", "its first step s",
            "warm cache: start → first step done s", "its import s", "its first step s", "next step s"]
    rows = []
    for preset, s in report["startup"].items():
        cold, warm = s["cold"], s["warm"]
        rows.append([preset, fmt(cold and cold["process_to_first_step_s"], 2), fmt(cold and cold["first_step_s"], 2),
                     fmt(warm["process_to_first_step_s"], 2), fmt(warm["import_s"], 2),
                     fmt(warm["first_step_s"], 2), fmt(warm["second_step_s"], 3)])
    return table(head, rows)


def fit_table(report):
    head = ["preset", "real images", "fit epoch img/s", "same step back to back img/s", "**fit ÷ back to back**",
            "step benchmark img/s (earlier)", "data ms / batch", "step after data ms", "fit's extras ms",
            "step back to back ms", "step after an idle pause ms", "after data ÷ back to back"]
    rows, skipped = [], []
    for preset, fit in report["fit"].items():
        if "skipped" in fit:
            skipped.append(f"- {preset}: skipped ({fit['skipped']})")
            continue
        parts, gap = fit["parts"], fit["gap"]
        after, back = parts["step"]["median_ms"], parts["back_to_back_step"]["median_ms"]
        rows.append([preset, f"{fit['images']:,} ({fit['steps']} steps)", fmt(gap["fit_images_per_s"], 0),
                     fmt(gap["back_to_back_images_per_s"], 0), f"**{gap['fit_per_back_to_back']:.2f}**",
                     fmt(gap["benchmark_images_per_s"], 0), fmt_ms(parts["data"]["median_ms"]), fmt_ms(after),
                     fmt_ms(parts["extras"]["median_ms"]), fmt_ms(back),
                     fmt_ms(parts["after_pause_step"]["median_ms"]), f"{after / back:.2f}"])
    return table(head, rows) + ("\n\n" + "\n".join(skipped) if skipped else "")


def targets_table(report):
    rows = []
    for t in report["targets"]:
        unit = t["unit"]
        measured = "—" if t["measured"] is None else f"{t['measured']:.2f}{unit}"
        if t["against"]:
            measured += f" (vs {COLUMN_TITLE[t['against']]})"
        met = "not measured" if t["met"] is None else "met" if t["met"] else "**missed**"
        rows.append([t["what"], t["preset"], t["target"], measured, met])
    return table(["target", "preset", "goal", "measured", "met?"], rows)


def profile_tables(report, key, what):
    parts = []
    for preset, r in report["presets"].items():
        p = r[key]
        repeats = p.get("repeats", 1)
        parts.append(f"**{preset}** (one {what} under cProfile: {fmt_ms(p['total_ms'])} ms, "
                     f"mean of {repeats})\n")
        parts.append(table(["function", "calls", "own ms", "cumulative ms"],
                           [[f"`{row['function']}`", f"{row['calls']:g}", fmt_ms(row["own_ms"]),
                             fmt_ms(row["cumulative_ms"])] for row in p["top"]]))
        parts.append("")
    return "\n".join(parts)


def workers_section(report):
    """What each worker process loaded and the thread/allocator variables it saw."""
    first = next(iter(report["presets"].values()))
    lines = []
    for name, hello in first["workers"].items():
        env = ", ".join(f"{k}={v}" for k, v in hello["environment"].items()) or "none of them set"
        lines.append(f"- {COLUMN_TITLE[name]} worker: minimixer imported: {hello['imports_minimixer']}, "
                     f"torch imported: {hello['imports_torch']}, threads {hello['threads']}; "
                     f"thread-pool variables: {env}; MALLOC_ variables: {', '.join(hello['malloc_variables']) or 'none'}")
    parent = ", ".join(f"{k} {'imported' if v else 'not imported'}" for k, v in report["parent_imports"].items())
    lines.append(f"- parent process: {parent}")
    return "\n".join(lines)


def busy_warning(report):
    """A warning line when other processes were busy at the start of the run."""
    load = report["load_average"]["start"][0]
    if load <= BUSY_LOAD:
        return ""
    return (f"- **The machine was busy** (1-minute load average {load:.2f} at the start). PyTorch's OpenMP "
            "threads spin-wait by default and slow down many times over when another process holds a core; "
            "its times here, and so the ratios, are far from what a quiet machine gives.\n")


def render_markdown(report):
    machine = "\n".join(f"- {key}: {value}" for key, value in report["machine"].items())
    load = report["load_average"]
    sgemm = report["sgemm"]
    quick = "\n**Quick run: few repetitions, not representative.**\n" if report["quick"] else ""
    return f"""# Training-step speed: minimixer against PyTorch, each in its own process
{quick}
Command: `{report['command']}`

Date: {report['date']}. Threads: {report['threads']} per framework. Wall time of the run: {report['wall_s']:.0f} s.

{machine}
{busy_warning(report)}- Load average (1, 5, 15 min) at the start: {fmt(load['start'][0], 2)}, {fmt(load['start'][1], 2)}, {fmt(load['start'][2], 2)}; at the end: {fmt(load['end'][0], 2)}, {fmt(load['end'][1], 2)}, {fmt(load['end'][2], 2)}
- NumPy float32 matmul ({sgemm['n']}×{sgemm['n']} @ {sgemm['n']}×{sgemm['n']}, median of {len(sgemm['seconds'])}, in a minimixer process): **{sgemm['gflops']:.1f} GFLOP/s**, the "% sgemm" reference below

**How this was measured.** Each framework runs in its own worker process with that library's defaults, as a person trying each would run it: the minimixer worker imports minimixer (which applies its own thread and allocator settings) and NumPy; the PyTorch worker imports only torch, calls `torch.set_num_threads({report['threads']})` and runs the models of `benchmarks/torch_models.py` (same layers and parameter counts as minimixer's presets). Both start from an environment without thread-pool or allocator variables. A parent process that imports neither library passes the turn over pipes: one timed step of each worker at a time, the order rotating every round, so every framework runs under the same load; each worker times its own step with `perf_counter`. Warm-up rounds first; times are medians. The "pause between steps" column is the time from one step's end to the next step's start (see "Between steps"). Every preset runs at its recipe's batch size (`minimixer/models/presets.py`, with the recipe's label smoothing, learning rate and weight decay) on a fixed random batch. Convolutional models run in PyTorch in NCHW (its default) and channels-last; minimixer is judged against the faster of the two. FLOPs count 2 × multiply-adds of convolutions and linear maps; a training step counts 3 × the forward FLOPs. Ratios below 1 mean minimixer is faster. "load before → after" is the 1-minute load average around each preset's rounds: the benchmark keeps about {report['threads']} threads busy, so values well above that mean other processes shared the cores. See benchmarks/README.md.

{workers_section(report)}

## Training step (zero_grad → forward → cross-entropy → backward → AdamW step)

{speed_table(report, 'train')}

## Inference (eval mode, no_grad)

{speed_table(report, 'inference')}

## Between steps

After each step the parent waits until every thread of that worker sleeps before it gives the next worker its turn: a thread pool may keep its threads spinning after a step (PyTorch's OpenMP does by default), which in that library's own loop readies them for its next step, but here would take cores from the other framework's step. The table shows how long each worker's threads kept running after a training step (the wait is capped at 50 ms); the "pause between steps" above is that wait plus passing the turn over the pipe.

{settle_table(report)}

## Memory of a training step

Extra resident memory (RSS) a training step needs, each framework (and PyTorch layout) in a fresh process: a tiny model of the same architecture first takes one step (loading kernels, starting thread pools), then the real model's peak RSS over its second step minus its RSS before the first step: activations kept for backward, gradients, optimizer state, temporaries. The peak RSS columns are the whole process (PyTorch's libraries alone take a few hundred MB). The ratio is against the PyTorch layout that needs less.

{memory_table(report)}

## Start-up: Numba compile time and a second process start

A fresh process (no PyTorch) imports minimixer, builds the model and runs training steps. "Empty cache" points NUMBA_CACHE_DIR at a new empty folder, so the first step compiles every kernel; "warm cache" is the next process, loading the compiled kernels from that folder. Compiling does not depend on array sizes, so one preset per architecture is measured.

{startup_table(report)}

## Steps as `fit` runs them

One epoch of `minimixer.train.fit` on real training images (the bundled digits; the first batches of MNIST and the CIFAR-10 subset from `{report['data_dir'] or 'MINIMIXER_DATA'}`), in a fresh minimixer process after one instrumented epoch of the same loop has loaded the kernels. Its images/s are compared with the same training step run back to back in that process seconds before ("fit ÷ back to back": the gap fit adds), and, for reference, with the step benchmark above, timed minutes earlier (the machine's speed drifts by up to ±20 % over minutes, for both frameworks alike, so that column mixes the gap with the drift). The instrumented epoch splits each batch of fit's loop into the DataLoader delivering it (indexing, augmentation, conversion), the training step right after it, and what fit adds to the step (reading the loss, gradient clipping, the schedule, the accuracy count); then the same step runs back to back on one batch in that process, and as often after an idle pause as long as loading a batch took. Medians per batch.

{fit_table(report)}

## Targets

{targets_table(report)}

For a missed target, the profiles below show where minimixer's time goes, and
benchmarks/README.md ("Where the gaps are") says what would close each gap.

## Where minimixer spends a training step

The functions with the most own time (cProfile) in one minimixer training step, after the timed rounds: the mean over as many steps as take about half a second (profiling slows small steps down: compare the totals with the timed medians). A Numba kernel's time shows under its own name; NumPy's matmul and ufuncs show inside the op that calls them (e.g. `ops/linalg.py` forward and backward).

{profile_tables(report, "profile", "step")}
## Where minimixer spends an inference pass

The same for one inference pass (eval mode, no_grad).

{profile_tables(report, "inference_profile", "inference pass")}"""
