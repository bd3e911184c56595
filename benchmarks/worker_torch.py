"""The PyTorch side of bench_train.py: one process, PyTorch's defaults, no minimixer.

    python benchmarks/worker_torch.py step   SPEC_JSON    # serve "train" / "infer" on stdin
    python benchmarks/worker_torch.py memory SPEC_JSON    # print a training step's extra memory

This is what a PyTorch user runs: the model of benchmarks/torch_models.py on NCHW
images (or channels-last, when SPEC says so), torch.set_num_threads(threads) and
nothing else: the parent starts this process with an environment from which it has
removed the thread-pool and allocator variables minimixer sets for itself
(bench_train.worker_environment), and this file never imports minimixer.

SPEC_JSON (written by bench_train.py): config (a minimixer preset config), input_shape
(N, H, W, C), label_smoothing, lr, weight_decay, layout ("nchw" or "channels_last"),
threads, and for "memory" a tiny config and input shape to warm up with.
"""

import json
import sys

import torch

import torch_models
from worker_protocol import print_result, serve, step_memory, timed_reply, worker_facts


class TorchStep:
    """One model, optimizer and fixed batch: a training step and an inference pass."""

    def __init__(self, config, input_shape, label_smoothing, lr, weight_decay, layout, seed=0):
        torch.manual_seed(seed)
        n, h, w, c = input_shape
        self.model = torch_models.build(config)
        self.images = torch.randn(n, c, h, w)
        self.labels = torch.randint(0, config.get("num_classes", 10), (n,))
        if layout == "channels_last":
            self.model = self.model.to(memory_format=torch.channels_last)
            self.images = self.images.contiguous(memory_format=torch.channels_last)
        self.label_smoothing = label_smoothing
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=weight_decay)

    def train_step(self):
        """zero_grad -> forward -> cross-entropy -> backward -> AdamW step."""
        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(self.images), self.labels,
                                                 label_smoothing=self.label_smoothing)
        loss.backward()
        self.optimizer.step()

    def inference(self):
        """One forward pass without a graph (the model is in eval mode)."""
        with torch.no_grad():
            self.model(self.images)


def from_spec(spec, config_key="config", shape_key="input_shape"):
    return TorchStep(spec[config_key], spec[shape_key], spec["label_smoothing"], spec["lr"],
                     spec["weight_decay"], spec["layout"])


def serve_steps(spec):
    """Answer "train" and "infer" with the seconds of one training step / inference pass."""
    torch.set_num_threads(spec["threads"])
    bench = from_spec(spec)

    def train(_):
        bench.model.train()
        return timed_reply(bench.train_step)

    def infer(_):
        bench.model.eval()
        return timed_reply(bench.inference)

    hello = dict(framework="torch", torch=torch.__version__, threads=torch.get_num_threads(),
                 layout=spec["layout"], params=torch_models.num_parameters(bench.model), **worker_facts())
    serve(hello, dict(train=train, infer=infer))


def measure_memory(spec):
    torch.set_num_threads(spec["threads"])
    state = {}
    result = step_memory(warm_up=lambda: from_spec(spec, "tiny_config", "tiny_input_shape").train_step(),
                         build=lambda: state.update(bench=from_spec(spec)),
                         step=lambda: state["bench"].train_step())
    print_result(result)


if __name__ == "__main__":
    command, spec_json = sys.argv[1], sys.argv[2]
    {"step": serve_steps, "memory": measure_memory}[command](json.loads(spec_json))
