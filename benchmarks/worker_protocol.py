"""What every benchmark worker process shares: the pipe protocol and memory counters.

Standard library only, so importing it loads neither minimixer nor PyTorch.

A worker answers on its standard output with one JSON object per line: first a
"hello" (what it built, its library versions, its environment), then one answer per
command line it reads on standard input ("train", "infer", ...). Anything else the
process prints (library warnings, progress) is sent to standard error, so the reply
channel carries replies only. The worker measures each timed call itself with
`time.perf_counter` around exactly that call; the parent only passes the turn.
"""

import json
import os
import sys
import time

# Variables a worker reports, so the report shows what each library ran with.
REPORTED_VARIABLES = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT",
                      "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                      "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "GLIBC_TUNABLES")


def reply_channel():
    """A text stream on the original standard output; fd 1 then points at stderr.

    After this, a stray print() or a C library writing to fd 1 cannot corrupt the
    replies the parent parses.
    """
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def send(channel, message):
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def serve(hello, handlers):
    """Send `hello`, then answer commands until "quit" or end of input.

    handlers: {command word: function(argument string) -> JSON-able dict}. A failing
    handler is answered with {"error": ...} so the parent can report it.
    """
    channel = reply_channel()
    send(channel, dict(hello, ready=True))
    for line in sys.stdin:
        word, _, argument = line.strip().partition(" ")
        if word == "quit":
            break
        try:
            send(channel, handlers[word](argument))
        except Exception as error:  # noqa: BLE001  (reported to the parent, which stops)
            send(channel, {"error": f"{type(error).__name__}: {error}"})


def timed(call):
    """Seconds `call()` takes, by perf_counter around exactly that call."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def timed_reply(call):
    """The answer to a timed command: seconds of `call()` and when it started and ended.

    perf_counter is the system-wide monotonic clock on Linux, so the parent can also
    compute the pauses between the steps of different workers from start and end.
    """
    start = time.perf_counter()
    call()
    end = time.perf_counter()
    return dict(seconds=end - start, start=start, end=end)


def worker_facts():
    """What the parent checks about a worker: which libraries it loaded, its variables."""
    return dict(pid=os.getpid(), imports_minimixer="minimixer" in sys.modules,
                imports_torch="torch" in sys.modules,
                environment={name: os.environ[name] for name in REPORTED_VARIABLES if name in os.environ},
                malloc_variables=sorted(name for name in os.environ if name.startswith("MALLOC_")))


# ---------------------------------------------------------------- memory counters


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


def step_memory(warm_up, build, step):
    """Extra resident memory one training step needs, in MB (see benchmarks/README.md).

    warm_up(): one step of a tiny model of the same architecture (loads kernels, starts
    thread pools). build(): makes the real model, optimizer and batch. step(): one
    training step. Baseline: RSS after build(); one step (creates optimizer state);
    then the peak over a second step, after resetting the peak counter.
    """
    import resource

    warm_up()
    build()
    baseline = rss_kib()
    step()
    resettable = reset_peak_rss()
    step()
    peak = rss_kib("VmHWM") if resettable else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    method = ("peak RSS over the second step (VmHWM reset after the first), minus RSS before the first"
              if resettable else "peak RSS of the whole process (ru_maxrss) minus RSS before the first step")
    return dict(step_mb=(peak - baseline) / 1024, peak_rss_mb=peak / 1024, baseline_rss_mb=baseline / 1024,
                method=method, **worker_facts())


def print_result(result):
    """The one-shot workers' (memory, start-up, fit) way to answer: a JSON last line."""
    sys.__stdout__.write(json.dumps(result) + "\n")
    sys.__stdout__.flush()
