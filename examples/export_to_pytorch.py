"""Export a trained Mixer to PyTorch, check that both give the same logits, save the weights.

What it shows: `minimixer.interop.torch.to_torch` turns a minimixer model into an
equivalent `torch.nn.Module` (NCHW input, PyTorch's usual layer names) holding the
same weights. The script trains a small model (or loads yours with --checkpoint),
runs the same test images through both, prints the largest logit difference
(asserted below 1e-4), saves the PyTorch state dict with `torch.save`, and loads
that file back into minimixer with `from_torch` to show the round trip.

Run it (from the repository, after `pip install -e .`; needs `pip install torch`):

    python examples/export_to_pytorch.py                              # trains convmixer-digits
    python examples/export_to_pytorch.py --model mlpmixer-digits
    python examples/export_to_pytorch.py --checkpoint runs/convmixer-digits
    python examples/export_to_pytorch.py --quick                      # 1 epoch on 512 images

PyTorch is required: without it the script says so in one line on stderr and exits
with status 1, before training anything.
"""

import argparse
import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np

import minimixer as mm
from minimixer import data, models
from minimixer.train import fit
from minimixer.train import load_model

TOLERANCE = 1e-4
COMPARED_IMAGES = 256


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="export this run directory or checkpoint.npz (no training)")
    parser.add_argument("--model", choices=["convmixer-digits", "mlpmixer-digits"],
                        default="convmixer-digits", help="preset to train when no checkpoint is given")
    parser.add_argument("--quick", action="store_true", help="train for 1 epoch on 512 images only")
    parser.add_argument("--epochs", type=int, help="epochs (default: the preset's recipe)")
    parser.add_argument("--data-dir", help="folder holding the checkpoint's dataset, if not the digits")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / Path(__file__).stem,
                        help="folder for the run and the .pt file (default: examples/output/<script>)")
    return parser.parse_args()


def train_small_model(args):
    """Train a digits preset into args.out; returns (model, dataset name, name)."""
    recipe = models.preset(args.model).recipe
    train = data.load("digits", "train")
    if args.epochs:
        recipe = dataclasses.replace(recipe, epochs=args.epochs)
    if args.quick:
        recipe = dataclasses.replace(recipe, epochs=1)
        train = data.Dataset(train.images[:512], train.labels[:512])
    mm.manual_seed(recipe.seed)
    model = models.create(args.model)
    fit(model, train, data.load("digits", "test"), recipe, dataset_name="digits", out_dir=str(args.out),
        config=dict(models.preset_config(args.model), preset=args.model))
    return model, "digits", args.model


def export_and_check(model, dataset, name, args):
    """to_torch, compare logits on test images, save the state dict, load it back."""
    # Imported only now: with torch loaded before training starts, the Numba kernels
    # ran about twice as slow on a 2-core machine (two OpenMP thread pools competing).
    import torch
    from minimixer.interop.torch import from_torch, to_torch

    model.eval()  # BatchNorm uses its running statistics; to_torch copies the mode
    torch_model = to_torch(model)
    test = data.load(dataset, "test", data_dir=args.data_dir)
    images = data.default_transforms(dataset, train=False)(test.images[:COMPARED_IMAGES])
    with mm.no_grad():
        ours = model(images).numpy()
    with torch.no_grad():  # PyTorch takes channels first: NHWC -> NCHW
        theirs = torch_model(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()
    difference = float(np.abs(ours - theirs).max())
    same_class = float(np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1)))
    print(f"{name} on {len(images)} {dataset} test images: largest |logit difference| {difference:.2e} "
          f"(logits up to {np.abs(ours).max():.1f}); same predicted class for {same_class:.1%}")
    assert difference < TOLERANCE, f"minimixer and PyTorch logits differ by {difference:.2e}"

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{name}.pt"
    torch.save(torch_model.state_dict(), path)
    print(f"wrote {path}  (PyTorch: model.load_state_dict(torch.load(path)))")

    back = from_torch(torch.load(path)).eval()  # the model's shape is read from the weights
    with mm.no_grad():
        assert np.array_equal(back(images).numpy(), ours), "the round trip changed the logits"
    print("loaded it back with from_torch: the same logits, bit for bit")


def main():
    args = parse_args()
    if importlib.util.find_spec("torch") is None:
        sys.exit("error: this example needs PyTorch, which is not installed "
                 "(install it with: pip install 'minimixer[torch]')")
    if args.checkpoint:
        model, meta = load_model(args.checkpoint)
        dataset, name = meta["config"]["dataset"], meta["config"].get("preset", type(model).__name__)
    else:
        model, dataset, name = train_small_model(args)
    export_and_check(model, dataset, name, args)


if __name__ == "__main__":
    main()
