"""PyTorch interop: the same logits and gradients in PyTorch, exact round trips, clear errors."""

import os
import subprocess
import sys

import numpy as np
import pytest

import minimixer as mm
from minimixer import models, nn

torch = pytest.importorskip("torch")

from minimixer.interop.torch import (  # noqa: E402  (needs torch)
    TorchMLPMixer,
    from_torch,
    from_torch_layout,
    load_torch_state_dict,
    to_torch,
    to_torch_layout,
    torch_conv_mixer,
    torch_state_dict,
)

F = nn.functional

SMALL = {
    "convmixer-1ch": lambda: models.ConvMixer(dim=16, depth=2, kernel_size=3, patch_size=2,
                                              in_channels=1, num_classes=10),
    "convmixer-3ch": lambda: models.ConvMixer(dim=16, depth=2, kernel_size=3, patch_size=2,
                                              in_channels=3, num_classes=10),
    "convmixer-even-kernel": lambda: models.ConvMixer(dim=16, depth=2, kernel_size=4, patch_size=2,
                                                      in_channels=3, num_classes=7),
    "mlpmixer": lambda: models.MLPMixer(image_size=8, patch_size=2, in_channels=3, dim=16, depth=2,
                                        token_dim=8, channel_dim=32, num_classes=10),
}

PRESET_COUNTS = {
    "convmixer-digits": 21_130,
    "mlpmixer-digits": 72_714,
    "convmixer-mnist": 142_730,
    "mlpmixer-mnist": 835_376,
    "convmixer-cifar10": 594_186,
    "mlpmixer-cifar10": 4_360_970,
}


def images_for(model, rng, n):
    size, channels = model.config.get("image_size", 8), model.config["in_channels"]
    return rng.standard_normal((n, size, size, channels)).astype(np.float32)


def nchw(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2)


def prepared(name, rng):
    """A small model whose every weight is off its initial value (the MLP-Mixer head
    starts at zero, norms at one) and whose BatchNorm statistics have seen two batches,
    so a swapped or mis-laid array shows up in the outputs."""
    model = SMALL[name]()
    for p in model.parameters():
        p.data = (p.data + 0.1 * rng.standard_normal(p.shape)).astype(np.float32)
    with mm.no_grad():
        for _ in range(2):
            model(images_for(model, rng, 6))
    return model


def gradient_is_zero_in_exact_arithmetic(name):
    """The token MLP's output bias adds one number per token to all its channels; every
    later reader of the table is a LayerNorm over channels, which removes exactly that."""
    return name.endswith("mlp_tokens.fc2.bias")


def assert_relative_close(ours, theirs, name, rtol=1e-3):
    """Largest difference within rtol of the largest entry (entries near 0 have no
    meaningful relative error)."""
    if gradient_is_zero_in_exact_arithmetic(name):
        assert np.abs(ours).max() < 1e-6 and np.abs(theirs).max() < 1e-6, name
        return
    scale = float(np.abs(theirs).max())
    error = float(np.abs(ours - theirs).max())
    assert scale > 0, f"{name}: the PyTorch gradient is all zeros, so the test shows nothing"
    assert error <= rtol * scale, f"{name}: max difference {error:.3g}, largest gradient {scale:.3g}"


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", list(SMALL))
def test_torch_model_gives_the_same_logits_gradients_and_statistics(name, mode):
    rng = np.random.default_rng(1)
    model = prepared(name, rng).train(mode == "train")
    torch_model = to_torch(model)
    assert torch_model.training == model.training

    x = images_for(model, rng, 4)
    labels = rng.integers(0, model.config["num_classes"], size=4)
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    torch_logits = torch_model(nchw(x))
    torch_loss = torch.nn.functional.cross_entropy(torch_logits, torch.from_numpy(labels))
    torch_loss.backward()

    np.testing.assert_allclose(logits.numpy(), torch_logits.detach().numpy(), atol=1e-4)
    assert abs(float(loss.numpy()) - torch_loss.item()) < 1e-4
    ours = to_torch_layout(model, {name: p.grad for name, p in model.named_parameters()})
    theirs = {name: p.grad.numpy() for name, p in torch_model.named_parameters()}
    assert list(ours) == list(theirs)
    for key in theirs:
        assert_relative_close(ours[key], theirs[key], key)
    # In training mode both updated their running statistics during that forward pass.
    our_stats = to_torch_layout(model, dict(model.named_buffers()))
    for key, value in our_stats.items():
        np.testing.assert_allclose(value, torch_model.state_dict()[key].numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=key)


@pytest.mark.parametrize("name", list(SMALL))
def test_from_torch_of_to_torch_is_exact(name):
    model = prepared(name, np.random.default_rng(2)).eval()
    back = from_torch(to_torch(model))
    assert type(back) is type(model)
    assert back.config == model.config
    assert not back.training
    ours, theirs = model.state_dict(), back.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype == np.float32, key
        assert ours[key].tobytes() == theirs[key].tobytes(), key


def test_from_torch_accepts_a_state_dict_with_a_given_config():
    model = prepared("convmixer-3ch", np.random.default_rng(3))
    back = from_torch(torch_state_dict(model), config=model.config)
    assert isinstance(back, models.ConvMixer) and back.config == model.config
    x = images_for(model, np.random.default_rng(4), 2)
    np.testing.assert_array_equal(back.eval()(x).numpy(), model.eval()(x).numpy())


@pytest.mark.parametrize("build", [
    lambda: torch_conv_mixer(dim=12, depth=3, kernel_size=5, patch_size=2, in_channels=3, num_classes=4),
    lambda: TorchMLPMixer(image_size=8, patch_size=4, in_channels=2, dim=12, depth=3, token_dim=6,
                          channel_dim=20, num_classes=4),
], ids=["convmixer", "mlpmixer"])
def test_weights_trained_in_torch_give_the_same_predictions_here(build):
    torch.manual_seed(0)
    torch_model = build()
    channels = next(torch_model.parameters()).shape[1]
    x = torch.randn(6, channels, 8, 8)
    optimizer = torch.optim.SGD(torch_model.parameters(), lr=0.5)
    for _ in range(2):  # BatchNorm statistics and num_batches_tracked move off their start
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(torch_model(x), torch.tensor([0, 1, 2, 3, 0, 1])).backward()
        optimizer.step()
    torch_model.eval()

    model = from_torch(torch_model)
    assert not model.training
    with torch.no_grad():
        expected = torch_model(x).numpy()
    np.testing.assert_allclose(model(x.permute(0, 2, 3, 1).numpy()).numpy(), expected, atol=1e-4)


def test_to_torch_copies_the_weights():
    model = prepared("mlpmixer", np.random.default_rng(5))
    before = model.state_dict()
    torch_model = to_torch(model)
    with torch.no_grad():
        for p in torch_model.parameters():
            p.add_(1.0)
    after = model.state_dict()
    assert all(np.array_equal(before[key], after[key]) for key in before)


def test_layout_conversions_invert_each_other():
    model = prepared("convmixer-even-kernel", np.random.default_rng(6))
    state = model.state_dict()
    torch_state = to_torch_layout(model, state)
    assert torch_state["0.weight"].shape == (16, 3, 2, 2)
    assert torch_state["3.0.fn.0.weight"].shape == (16, 1, 4, 4)
    assert torch_state["3.1.weight"].shape == (16, 16, 1, 1)
    assert torch_state["7.weight"].shape == (7, 16)
    back = from_torch_layout(model, torch_state)
    assert all(np.array_equal(back[key], state[key]) for key in state)


def test_patch_vector_order_is_row_column_channel():
    """Entry (row, col, channel) of a patch feeds output d through weight row (row*p + col)*C + channel."""
    model = SMALL["convmixer-3ch"]()
    torch_weight = to_torch_layout(model, {"patch_embed.weight": model.patch_embed.weight})["0.weight"]
    p, channels = 2, 3
    for row, col, channel, d in [(0, 1, 2, 5), (1, 0, 1, 0), (1, 1, 0, 15)]:
        ours = model.patch_embed.weight.numpy()[(row * p + col) * channels + channel, d]
        assert torch_weight[d, channel, row, col] == ours


def test_missing_key_is_named_with_its_shape():
    model = SMALL["convmixer-3ch"]()
    state = torch_state_dict(model)
    del state["3.1.weight"]
    with pytest.raises(nn.StateDictError, match=r"missing keys: 3\.1\.weight \(16, 16, 1, 1\)"):
        load_torch_state_dict(model, state)


def test_misshaped_key_is_named_with_both_shapes_and_nothing_changes():
    model = SMALL["mlpmixer"]()
    before = model.state_dict()
    state = torch_state_dict(prepared("mlpmixer", np.random.default_rng(7)))
    state["blocks.1.mlp_tokens.fc1.weight"] = torch.zeros(8, 15)
    with pytest.raises(nn.StateDictError,
                       match=r"mis-shaped: blocks\.1\.mlp_tokens\.fc1\.weight: expected \(8, 16\), got \(8, 15\)"):
        load_torch_state_dict(model, state)
    after = model.state_dict()
    assert all(np.array_equal(before[key], after[key]) for key in before)


def test_unexpected_key_is_named_but_batch_counters_are_accepted():
    model = SMALL["convmixer-1ch"]()
    state = torch_state_dict(model)
    assert "2.num_batches_tracked" in state
    load_torch_state_dict(model, state)
    state["8.weight"] = torch.zeros(3, 3)
    with pytest.raises(nn.StateDictError, match=r"unexpected keys: 8\.weight \(3, 3\)"):
        load_torch_state_dict(model, state)


def test_from_torch_explains_unrecognised_or_incomplete_weights():
    with pytest.raises(ValueError, match="cannot tell which model"):
        from_torch({"fc.weight": torch.zeros(2, 2)})
    state = torch_state_dict(SMALL["convmixer-1ch"]())
    del state["7.weight"]
    with pytest.raises(nn.StateDictError, match=r"missing key 7\.weight"):
        from_torch(state)


@pytest.mark.parametrize("name", list(PRESET_COUNTS))
def test_preset_parameter_counts_are_the_same_in_torch(name):
    config = models.preset_config(name)
    kind = config.pop("model")
    torch_model = torch_conv_mixer(**config) if kind == "ConvMixer" else TorchMLPMixer(**config)
    torch_count = sum(p.numel() for p in torch_model.parameters())
    assert torch_count == PRESET_COUNTS[name] == models.create(name).num_parameters()


def test_minimixer_imports_without_torch_and_interop_says_how_to_install_it():
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(mm.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo_root, os.environ.get("PYTHONPATH", "")]))
    code = (
        "import sys\n"
        "import minimixer, minimixer.models, minimixer.interop\n"
        "assert 'torch' not in sys.modules, 'importing minimixer imported torch'\n"
        "sys.modules['torch'] = None  # as if torch were not installed\n"
        "try:\n"
        "    import minimixer.interop.torch\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pip install 'minimixer[torch]'" in result.stdout
