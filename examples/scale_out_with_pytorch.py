"""Outgrow the CPU: train a minimixer Mixer with PyTorch DistributedDataParallel, bring it back.

What it shows: minimixer has no distributed engine of its own; the way to more cores,
more machines or GPUs is PyTorch. The script builds a minimixer preset (or loads your
checkpoint with --checkpoint), moves it to PyTorch with `to_torch`, trains it with
`DistributedDataParallel` in as many processes as `torchrun` starts, and brings the
result back with `from_torch` as an ordinary minimixer run directory:

    OUT/pytorch_state_dict.pt      the trained weights for PyTorch (torch.load it)
    OUT/checkpoint.npz             the same weights as a minimixer checkpoint, for
                                   `python -m minimixer evaluate --checkpoint OUT`,
                                   `python -m minimixer show OUT` and the examples
    OUT/history.json, .csv, curves.png   loss and accuracy per epoch

Run it (from the repository, after `pip install -e .`; needs `pip install torch`):

    torchrun --standalone --nproc_per_node 2 examples/scale_out_with_pytorch.py \\
        --model convmixer-cifar10 --data-dir DATA            # 2 processes on this machine
    python examples/scale_out_with_pytorch.py                 # one process, the digits
    python examples/scale_out_with_pytorch.py --checkpoint runs/convmixer-digits --epochs 2
    python examples/scale_out_with_pytorch.py --quick         # 1 epoch of 5 steps

Several machines: start `torchrun --nnodes N --nproc_per_node P --rdzv_backend c10d
--rdzv_endpoint HOST:PORT --rdzv_id JOB examples/scale_out_with_pytorch.py ...` on each
of them (the datasets must be on each). The script picks the process-group backend
itself: NCCL with one GPU per process when CUDA is available, otherwise gloo on the
CPU with cores / processes threads each (--threads).

The data are minimixer's: `minimixer.data.load` gives the uint8 NHWC images, a
PyTorch Dataset serves them through a DistributedSampler (each process sees its own
share of every epoch), and every batch goes through `minimixer.data.default_transforms`,
the same augmentation and normalisation (the mean and std of `minimixer.data.info`)
that `fit` and `evaluate` use, so the model brought back sees the inputs it was trained
on. The recipe is the preset's (AdamW, the ConvMixer paper's one-cycle learning rate,
label smoothing, gradient clipping); --batch-size is per process, so N processes take
steps of N x batch-size images, and the learning rate is not rescaled for that (set
--lr yourself). BatchNorm normalises each process's own batch; its running statistics
are those of process 0, which DDP hands to the others at every step.

The checkpoint has no optimizer or schedule state (they were PyTorch's): `python -m
minimixer train --resume` cannot continue it, but this script can (--checkpoint).

PyTorch is required: without it the script says so in one line on stderr and exits
with status 1.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# PyTorch is imported before minimixer so that its thread pool starts with PyTorch's own
# settings (importing minimixer tunes OpenMP's waiting for minimixer's kernels).
try:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler
except ImportError:
    torch = None

import minimixer as mm  # noqa: E402
from minimixer import data, models  # noqa: E402
from minimixer import random as mm_random  # noqa: E402
from minimixer.cli import check_dataset_fits  # noqa: E402
from minimixer.errors import MinimixerError, UsageError  # noqa: E402
from minimixer.train import Recipe, load_model, prepare_out_dir, save_history  # noqa: E402
from minimixer.viz import plot_history  # noqa: E402

MIXER_PRESETS = [name for name in models.presets()
                 if models.preset_config(name)["model"] in ("ConvMixer", "MLPMixer")]
TORCH_WEIGHTS = "pytorch_state_dict.pt"
WARMUP_STEPS = 2          # left out of the steps/s figure: first-call costs, thread start-up
COMPARED_IMAGES = 256     # test images run through both models after the round trip
TOLERANCE = 1e-4          # largest |logit difference| accepted between them
NO_TORCH = ("error: this example needs PyTorch, which is not installed "
            "(install it with: pip install 'minimixer[torch]')")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MIXER_PRESETS, default="convmixer-digits", metavar="PRESET",
                        help="preset to train from fresh weights (default: convmixer-digits); "
                             "one of " + ", ".join(MIXER_PRESETS))
    parser.add_argument("--checkpoint", help="start from this minimixer run directory or checkpoint.npz")
    parser.add_argument("--dataset", choices=data.names(), help="default: the preset's or checkpoint's")
    parser.add_argument("--epochs", type=int, help="epochs (default: the preset's recipe)")
    parser.add_argument("--steps", type=int, help="at most this many steps per epoch (short runs, tests)")
    parser.add_argument("--batch-size", type=int,
                        help="images per step in each process (default: the recipe's)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: the recipe's)")
    parser.add_argument("--weight-decay", type=float, help="AdamW weight decay (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffling and augmentation")
    parser.add_argument("--threads", type=int,
                        help="PyTorch threads per process (default: cores / processes)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 epoch of at most 5 steps")
    parser.add_argument("--data-dir", help="folder holding the datasets (also: MINIMIXER_DATA)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / Path(__file__).stem,
                        help="run directory to write (default: examples/output/<script>)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.steps = 1, min(args.steps or 5, 5)
    for name in ("epochs", "steps", "batch_size", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.lr is not None and not args.lr > 0:
        parser.error("--lr must be positive")
    if args.weight_decay is not None and not args.weight_decay >= 0:
        parser.error("--weight-decay must be zero or positive")
    return args


# ---------------------------------------------------------------------------- processes
@dataclasses.dataclass
class Cluster:
    """Where this process stands: its rank among `world_size` processes, and its device."""

    rank: int
    world_size: int
    device: "torch.device"
    backend: str
    threads: int

    @property
    def leader(self) -> bool:
        """Process 0 prints, saves and converts; the others only train."""
        return self.rank == 0

    def say(self, *parts) -> None:
        if self.leader:
            print(*parts, flush=True)


def join_process_group(threads: int | None) -> Cluster:
    """Start (or join) the process group: NCCL on GPUs, gloo on CPUs.

    Under torchrun the rank and world size come from its environment variables; run
    as a plain script, this process is a group of one (no network, an in-memory store).
    """
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local_rank)
        backend, device = "nccl", torch.device("cuda", local_rank)
    else:
        backend, device = "gloo", torch.device("cpu")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        dist.init_process_group(backend)
    else:
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    torch.set_num_threads(threads or default_threads())
    return Cluster(dist.get_rank(), dist.get_world_size(), device, backend, torch.get_num_threads())


def default_threads() -> int:
    """The cores this process may use, shared evenly by the processes of this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", 1)))


# ---------------------------------------------------------------------------- the run
@dataclasses.dataclass
class Plan:
    """What to train on what: the starting model, its names and the recipe."""

    model: object            # the minimixer model to start from
    preset: str | None
    dataset: str
    recipe: Recipe
    steps_limit: int | None
    history: list            # earlier epochs of a checkpoint we continue


def make_plan(args) -> Plan:
    """The starting minimixer model (fresh preset or checkpoint) and the recipe to follow."""
    history = []
    if args.checkpoint:
        model, meta = load_model(args.checkpoint)
        preset, dataset = meta["config"].get("preset"), args.dataset or meta["config"].get("dataset")
        history = meta["history"]
        if type(model).__name__ not in ("ConvMixer", "MLPMixer"):
            raise UsageError(f"{args.checkpoint} holds a {type(model).__name__}; PyTorch interop "
                             "supports ConvMixer and MLPMixer")
    else:
        preset, dataset = args.model, args.dataset or models.preset(args.model).dataset
        mm.manual_seed(args.seed)
        model = models.create(preset, num_classes=data.info(dataset).num_classes)
    if dataset not in data.names():
        raise UsageError(f"{args.checkpoint} names no dataset minimixer knows; give --dataset")
    if preset in models.presets():
        check_dataset_fits(preset, dataset)
    recipe = preset_recipe(preset, args)
    return Plan(model, preset, dataset, recipe, args.steps, history)


def preset_recipe(preset: str | None, args) -> Recipe:
    """The preset's recipe with the command line's changes (AdamW and one-cycle always)."""
    changes = {name: getattr(args, name) for name in ("epochs", "batch_size", "lr", "weight_decay")
               if getattr(args, name) is not None}
    recipe = models.preset(preset).recipe if preset in models.presets() else Recipe()
    return dataclasses.replace(recipe, optimizer="adamw", schedule="onecycle",
                               seed=args.seed, **changes)


class MinimixerImages:
    """A minimixer Dataset (uint8 NHWC images, int64 labels) as a PyTorch map-style dataset.

    Items stay uint8 and channels-last; `MinimixerBatches` turns a list of them into
    one normalised NCHW batch, so augmentation runs once per batch, vectorised.
    """

    def __init__(self, dataset):
        self.images, self.labels = dataset.images, dataset.labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]


class MinimixerBatches:
    """collate_fn: stack uint8 images, run minimixer's transforms, hand PyTorch NCHW tensors.

    The transforms are `minimixer.data.default_transforms(dataset, train)`: the crops and
    flips of `fit`, then ToFloat and Normalize with the dataset's mean and std from
    `minimixer.data.info`. Each process draws its augmentation from its own generator.
    """

    def __init__(self, dataset: str, train: bool, seed: int, rank: int):
        self.transform = data.default_transforms(dataset, train=train)
        self.rng = np.random.default_rng([seed, rank])

    def __call__(self, items):
        images = np.stack([image for image, _ in items])
        labels = np.array([label for _, label in items], dtype=np.int64)
        return as_nchw(self.transform(images, self.rng)), torch.from_numpy(labels)


def as_nchw(images: np.ndarray) -> "torch.Tensor":
    """A float32 NHWC batch as the NCHW tensor PyTorch's layers take.

    A view, no copy: the result is NCHW with channels-last strides, a memory format
    PyTorch's convolutions run fast in on the CPU.
    """
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).permute(0, 3, 1, 2)


def make_loader(train_set, plan: Plan, cluster: Cluster) -> "DataLoader":
    """Batches of this process's share of the training set, reshuffled every epoch."""
    images = MinimixerImages(train_set)
    sampler = DistributedSampler(images, num_replicas=cluster.world_size, rank=cluster.rank,
                                 shuffle=True, seed=plan.recipe.seed, drop_last=True)
    to_batch = MinimixerBatches(plan.dataset, plan.recipe.augment, plan.recipe.seed, cluster.rank)
    loader = DataLoader(images, batch_size=plan.recipe.batch_size, sampler=sampler, drop_last=True,
                        collate_fn=to_batch)
    if len(loader) == 0:
        raise UsageError(f"{len(train_set.labels):,} training images make no full batch of "
                         f"{plan.recipe.batch_size} in each of {cluster.world_size} processes; "
                         "use a smaller --batch-size")
    return loader


def make_optimizer(module, recipe: Recipe) -> "torch.optim.AdamW":
    """AdamW without weight decay on biases and norm parameters (minimixer's rule)."""
    decay = [p for p in module.parameters() if p.ndim > 1]
    no_decay = [p for p in module.parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr)


def one_cycle(lr_max: float, total_steps: int):
    """lr_at(t): the ConvMixer paper's piecewise-linear one-cycle, as minimixer's OneCycleLinear."""
    knots = [0.0, 0.4 * total_steps, 0.8 * total_steps, total_steps]
    return lambda t: float(np.interp(t, knots, [0.0, lr_max, lr_max / 20, 0.0]))


class StepTimer:
    """Steps per second after the first WARMUP_STEPS (which pay for first-call set-up)."""

    def __init__(self):
        self.steps_seen = self.timed_steps = 0
        self.timed_seconds = 0.0
        self.last = time.perf_counter()

    def restart(self) -> None:
        """Start the clock again (after an evaluation, which is not a training step)."""
        self.last = time.perf_counter()

    def tick(self) -> None:
        """One step ended (its data loading included)."""
        now = time.perf_counter()
        if self.steps_seen >= WARMUP_STEPS:
            self.timed_steps += 1
            self.timed_seconds += now - self.last
        self.steps_seen += 1
        self.last = now

    def steps_per_second(self) -> float:
        return self.timed_steps / self.timed_seconds if self.timed_seconds else float("nan")


# ---------------------------------------------------------------------------- training
def train_epoch(ddp_model, loader, optimizer, lr_at, plan: Plan, epoch: int, first_step: int,
                timer: StepTimer, cluster: Cluster) -> dict:
    """One epoch in every process; returns the record of it, summed over all processes."""
    ddp_model.train()
    loader.sampler.set_epoch(epoch)
    sums = torch.zeros(3, dtype=torch.float64, device=cluster.device)  # loss, correct, seen
    start, step, lr = time.perf_counter(), first_step, 0.0
    for step_in_epoch, (images, labels) in enumerate(loader):
        if plan.steps_limit is not None and step_in_epoch >= plan.steps_limit:
            break
        images, labels = images.to(cluster.device), labels.to(cluster.device)
        lr = lr_at(step + 1)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        logits = ddp_model(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=plan.recipe.label_smoothing)
        loss.backward()  # DDP averages the gradients over all processes here
        if plan.recipe.clip_norm:
            torch.nn.utils.clip_grad_norm_(ddp_model.parameters(), plan.recipe.clip_norm)
        optimizer.step()
        sums += torch.stack([loss.detach().double() * len(labels),
                             (logits.argmax(1) == labels).sum().double(),
                             torch.tensor(float(len(labels)), dtype=torch.float64, device=cluster.device)])
        step += 1
        timer.tick()
    dist.all_reduce(sums)
    seconds = time.perf_counter() - start
    loss_sum, correct, seen = sums.tolist()
    return dict(epoch=epoch + 1, train_loss=loss_sum / seen, train_acc=correct / seen, lr=lr,
                seconds=seconds, images_per_s=seen / seconds, steps=step - first_step)


def share_process_0_statistics(module) -> None:
    """Give every process process 0's BatchNorm running statistics (as DDP does each step)."""
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)


def evaluate_shards(module, test_set, dataset: str, cluster: Cluster, batch_size: int = 256) -> tuple:
    """(loss, accuracy) on the whole test set, each process taking every world_size-th image."""
    share_process_0_statistics(module)
    module.eval()
    to_batch = MinimixerBatches(dataset, train=False, seed=0, rank=cluster.rank)
    share = slice(cluster.rank, None, cluster.world_size)
    images, labels = test_set.images[share], test_set.labels[share]
    sums = torch.zeros(3, dtype=torch.float64, device=cluster.device)
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            x, y = to_batch(list(zip(images[start:start + batch_size], labels[start:start + batch_size])))
            x, y = x.to(cluster.device), y.to(cluster.device)
            logits = module(x)
            sums += torch.stack([F.cross_entropy(logits, y, reduction="sum").double(),
                                 (logits.argmax(1) == y).sum().double(),
                                 torch.tensor(float(len(y)), dtype=torch.float64, device=cluster.device)])
    dist.all_reduce(sums)
    module.train()
    loss_sum, correct, seen = sums.tolist()
    return loss_sum / seen, correct / seen


def train(plan: Plan, cluster: Cluster, args):
    """to_torch, then DDP training for the planned epochs; returns (module, history, timer)."""
    from minimixer.interop.torch import to_torch

    train_set = data.load(plan.dataset, "train", data_dir=args.data_dir)
    test_set = data.load(plan.dataset, "test", data_dir=args.data_dir)
    # Channels-last weights match the channels-last batches of `as_nchw` (faster
    # convolutions on the CPU; DDP wants gradients laid out like their weights).
    module = to_torch(plan.model.train()).to(cluster.device, memory_format=torch.channels_last)
    on_gpu = cluster.device.type == "cuda"
    ddp_model = DistributedDataParallel(module, device_ids=[cluster.device.index] if on_gpu else None)
    loader = make_loader(train_set, plan, cluster)
    steps_per_epoch = min(len(loader), plan.steps_limit or len(loader))
    optimizer = make_optimizer(module, plan.recipe)
    lr_at = one_cycle(plan.recipe.lr, plan.recipe.epochs * steps_per_epoch)
    cluster.say(f"{type(plan.model).__name__} ({plan.preset or 'from checkpoint'}, "
                f"{plan.model.num_parameters():,} parameters) on {plan.dataset}: world size "
                f"{cluster.world_size} (backend {cluster.backend}, device {cluster.device.type}, "
                f"{cluster.threads} PyTorch thread{'s' * (cluster.threads != 1)} per process), "
                f"{plan.recipe.epochs} epoch(s) of {steps_per_epoch} steps, batch "
                f"{plan.recipe.batch_size} per process = {plan.recipe.batch_size * cluster.world_size} "
                f"per step, peak lr {plan.recipe.lr:g}")
    history, timer = list(plan.history), StepTimer()
    for epoch in range(plan.recipe.epochs):
        record = train_epoch(ddp_model, loader, optimizer, lr_at, plan, len(plan.history) + epoch,
                             epoch * steps_per_epoch, timer, cluster)
        record["test_loss"], record["test_acc"] = evaluate_shards(module, test_set, plan.dataset, cluster)
        timer.restart()
        history.append(record)
        cluster.say(f"epoch {record['epoch']}  train loss {record['train_loss']:.4f} acc "
                    f"{record['train_acc']:.4f}  test loss {record['test_loss']:.4f} acc "
                    f"{record['test_acc']:.4f}  {record['images_per_s']:.0f} img/s  {record['seconds']:.1f}s")
    return module, history, timer


def report_speed(timer: StepTimer, images_per_step: int, cluster: Cluster) -> None:
    """Steps/s and images/s of the whole group, warm-up steps and evaluations left out."""
    steps_per_s = timer.steps_per_second()
    cluster.say(f"speed: {timer.timed_steps} steps after {WARMUP_STEPS} warm-up steps: "
                f"{steps_per_s:.3f} steps/s, {steps_per_s * images_per_step:.1f} images/s "
                f"({cluster.world_size} process(es) x {cluster.threads} thread(s))")


def weights_digest(module) -> str:
    """sha256 of every parameter and buffer: equal digests mean identical models."""
    digest = hashlib.sha256()
    for name, value in module.state_dict().items():
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_processes_agree(module, cluster: Cluster) -> None:
    """Every process must end with the same weights: the proof that they trained as one."""
    share_process_0_statistics(module)
    digests = [None] * cluster.world_size
    dist.all_gather_object(digests, weights_digest(module))
    for rank, digest in enumerate(digests):
        cluster.say(f"rank {rank}: weights sha256 {digest}")
    if len(set(digests)) != 1:
        raise RuntimeError("the processes ended with different weights: they did not train in sync")
    cluster.say(f"weights identical on all {cluster.world_size} ranks")


# ---------------------------------------------------------------------------- bringing it back
def bring_back(module, plan: Plan, history: list, cluster: Cluster, args) -> Path:
    """Process 0: save the PyTorch weights, `from_torch` them, check the logits, write the run."""
    from minimixer.interop.torch import from_torch

    out = Path(prepare_out_dir(args.out)).parent
    state = {key: value.detach().cpu().contiguous() for key, value in module.state_dict().items()}
    torch.save(state, out / TORCH_WEIGHTS)
    kind = type(plan.model).__name__
    model = from_torch(state, config=dict(plan.model.config, model=kind)).eval()
    compare_logits(model, module, plan.dataset, args.data_dir)
    save_minimixer_checkpoint(out, model, run_config(model, plan, cluster), history)
    save_history(history, str(out))
    plt.close(plot_history(history, save=str(out / "curves.png"), title=plan.preset or kind))
    print(f"wrote {out / TORCH_WEIGHTS} (PyTorch) and {out / 'checkpoint.npz'} (minimixer)\n"
          f"next: python -m minimixer evaluate --checkpoint {out}\n"
          f"      python -m minimixer show {out}", flush=True)
    return out


def compare_logits(model, module, dataset: str, data_dir) -> None:
    """The minimixer model must give the PyTorch model's logits on the same test images."""
    test = data.load(dataset, "test", data_dir=data_dir)
    images = data.default_transforms(dataset, train=False)(test.images[:COMPARED_IMAGES])
    module.eval()
    with torch.no_grad():
        theirs = module(as_nchw(images).to(next(module.parameters()).device)).cpu().numpy()
    with mm.no_grad():
        ours = model(images).numpy()
    difference = float(np.abs(ours - theirs).max())
    print(f"from_torch: largest |logit difference| to PyTorch on {len(images)} test images "
          f"{difference:.2e} (logits up to {np.abs(theirs).max():.1f})", flush=True)
    if difference > TOLERANCE * max(1.0, float(np.abs(theirs).max())):
        raise RuntimeError(f"the model brought back differs from PyTorch's by {difference:.2e}")


def run_config(model, plan: Plan, cluster: Cluster) -> dict:
    """The checkpoint's config: what `load_model` rebuilds the model from, plus the run's facts."""
    recipe = dataclasses.replace(plan.recipe, batch_size=plan.recipe.batch_size * cluster.world_size,
                                 extra=dict(plan.recipe.extra, trained_with="PyTorch DistributedDataParallel",
                                            world_size=cluster.world_size, backend=cluster.backend,
                                            batch_size_per_process=plan.recipe.batch_size,
                                            steps_per_epoch_limit=plan.steps_limit))
    config = dict(model.config, model=type(model).__name__, dataset=plan.dataset,
                  recipe=dataclasses.asdict(recipe))
    if plan.preset:
        config["preset"] = plan.preset
    return config


def save_minimixer_checkpoint(out: Path, model, config: dict, history: list) -> None:
    """OUT/checkpoint.npz in the format of `minimixer.train.save_checkpoint`, weights only.

    It holds the model and the metadata `evaluate`, `show` and `load_model` read (epoch,
    history, config with model, preset, dataset and recipe). It has no optimizer, schedule
    or data-order state: the training ran in PyTorch, so the run cannot be resumed in
    minimixer with `--resume`; start a new run from the weights instead. Written
    atomically, like every minimixer checkpoint.
    """
    arrays = {f"model/{key}": value for key, value in model.state_dict().items()}
    arrays["meta/json"] = np.array(json.dumps({"epoch": len(history), "history": history,
                                               "config": config, "init_rng": mm_random.get_state()}))
    path = out / "checkpoint.npz"
    temporary = out / f"checkpoint.npz.tmp-{os.getpid()}.npz"
    try:
        np.savez(temporary, **arrays)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


# ---------------------------------------------------------------------------- main
def main(argv=None) -> int:
    args = parse_args(argv)
    if torch is None:
        print(NO_TORCH, file=sys.stderr)
        return 1
    cluster = join_process_group(args.threads)
    try:
        plan = make_plan(args)
        if cluster.leader:
            prepare_out_dir(args.out)  # an unwritable --out fails now, not after the training
        module, history, timer = train(plan, cluster, args)
        report_speed(timer, plan.recipe.batch_size * cluster.world_size, cluster)
        check_processes_agree(module, cluster)
        if cluster.leader:
            bring_back(module, plan, history, cluster, args)
    except MinimixerError as error:
        print(f"{Path(__file__).name}: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
