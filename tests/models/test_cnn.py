"""The classic CNN: its layers (Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d without running
statistics), the SimpleCNN model and presets, checked against PyTorch where it is
installed, and a short real training run on the digits."""

import math

import numpy as np
import pytest

import minimixer as mm
from minimixer import data, models, nn, optim
from minimixer.nn.mixer_layers import BatchNorm2d

CNN_PRESET_COUNTS = {"cnn-digits": 19_562, "cnn-mnist": 94_186}


def tiny_cnn(**kw):
    return models.SimpleCNN(channels=[4, 8], kernel_size=3, in_channels=kw.pop("in_channels", 1),
                            num_classes=5, **kw)


# ---------------------------------------------------------------- PyTorch twins


def torch_simple_cnn(channels, kernel_size=3, in_channels=1, num_classes=10):
    """SimpleCNN written in torch.nn, NCHW, with the same module names."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    widths = [in_channels] + list(channels)
    stages = [tnn.Sequential(tnn.Conv2d(a, b, kernel_size, padding="same", bias=False),
                             tnn.BatchNorm2d(b), tnn.ReLU(), tnn.MaxPool2d(2))
              for a, b in zip(widths, widths[1:])]

    class TorchSimpleCNN(tnn.Module):
        def __init__(self):
            super().__init__()
            self.stages = tnn.Sequential(*stages)
            self.head = tnn.Linear(channels[-1], num_classes)

        def forward(self, x):
            return self.head(self.stages(x).mean(dim=(2, 3)))

    return TorchSimpleCNN()


def copy_weights_to_torch(model, torch_model):
    """Our state dict into the torch twin: conv (kh,kw,in,out) -> (out,in,kh,kw), Linear transposed."""
    torch = pytest.importorskip("torch")
    target = torch_model.state_dict()
    for name, value in model.state_dict().items():
        if value.ndim == 4:
            value = value.transpose(3, 2, 0, 1)
        elif value.ndim == 2:
            value = value.T
        target[name] = torch.tensor(np.ascontiguousarray(value))
    torch_model.load_state_dict(target)


@pytest.mark.parametrize("name", sorted(CNN_PRESET_COUNTS))
def test_preset_parameter_counts_equal_the_torch_model(name):
    config = models.preset_config(name)
    assert config.pop("model") == "SimpleCNN"
    torch_count = sum(p.numel() for p in torch_simple_cnn(**config).parameters())
    assert models.create(name).num_parameters() == CNN_PRESET_COUNTS[name] == torch_count


@pytest.mark.parametrize("training", [True, False])
def test_simple_cnn_matches_torch_with_the_same_weights(training):
    torch = pytest.importorskip("torch")
    model = tiny_cnn(in_channels=2).to(np.float64)
    twin = torch_simple_cnn([4, 8], 3, 2, 5).double()
    rng = np.random.default_rng(0)
    for name, p in model.named_parameters():  # move away from the trivial BN init
        p.data = p.data + 0.1 * rng.standard_normal(p.shape)
    copy_weights_to_torch(model, twin)
    model.train(training)
    twin.train(training)
    images = rng.standard_normal((3, 9, 10, 2))
    x = mm.tensor(images, requires_grad=True, dtype=np.float64)
    logits = model(x)
    xt = torch.tensor(images.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    logits_t = twin(xt)
    np.testing.assert_allclose(logits.numpy(), logits_t.detach().numpy(), rtol=1e-8, atol=1e-10)
    grad = rng.standard_normal(logits.shape)
    logits.backward(grad)
    logits_t.backward(torch.tensor(grad))
    np.testing.assert_allclose(x.grad, xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-7, atol=1e-10)
    conv = model.stages[1][0].weight.grad
    conv_t = twin.stages[1][0].weight.grad.numpy().transpose(2, 3, 1, 0)
    np.testing.assert_allclose(conv, conv_t, rtol=1e-7, atol=1e-10)
    if training:  # running statistics updated the same way
        np.testing.assert_allclose(model.stages[0][1].running_var,
                                   twin.stages[0][1].running_var.numpy(), rtol=1e-10)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_without_running_stats_matches_torch(mode):
    torch = pytest.importorskip("torch")
    bn = BatchNorm2d(3, track_running_stats=False)
    bn_t = torch.nn.BatchNorm2d(3, track_running_stats=False).double()
    getattr(bn, mode)()
    getattr(bn_t, mode)()
    x = np.random.default_rng(1).standard_normal((4, 5, 5, 3)) * 2 + 1
    y = bn(mm.tensor(x, dtype=np.float64)).numpy()
    y_t = bn_t(torch.tensor(x.transpose(0, 3, 1, 2).copy())).detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(y, y_t, rtol=1e-6, atol=1e-6)
    assert set(bn.state_dict()) == {"weight", "bias"}


# ---------------------------------------------------------------- without torch


def test_batch_norm_without_running_stats_uses_batch_statistics_in_eval():
    bn = BatchNorm2d(2, track_running_stats=False).eval()
    x = np.random.default_rng(2).standard_normal((6, 3, 3, 2)) * 3 + 5
    y = bn(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    assert bn.running_mean is None and bn.running_var is None
    assert "track_running_stats=False" in repr(bn)
    with pytest.raises(ValueError, match="keeps no running statistics"):
        bn.affine()
    tracked = BatchNorm2d(2)
    assert set(tracked.state_dict()) == {"weight", "bias", "running_mean", "running_var"}


def test_conv2d_layer_shapes_and_pytorch_default_init():
    conv = nn.Conv2d(6, 12, (3, 5), stride=2, padding=1, groups=3)
    assert conv.weight.shape == (3, 5, 2, 12) and conv.bias.shape == (12,)
    bound = 1 / math.sqrt(2 * 3 * 5)
    assert np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.bias.numpy()).max() <= bound
    assert np.abs(conv.weight.numpy()).max() > 0.8 * bound  # uniform over the whole range
    y = conv(np.zeros((2, 9, 8, 6), np.float32))
    assert y.shape == (2, 5, 3, 12) and y.dtype == np.float32
    assert nn.Conv2d(3, 4, 3, bias=False).bias is None
    assert "groups=3" in repr(conv) and "stride=(2, 2)" in repr(conv)


def test_pool_layers():
    x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape(2, 4, 6, 3)
    assert nn.MaxPool2d(2)(x).shape == (2, 2, 3, 3)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (2, 4, 6, 3)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).numpy(), x.reshape(2, 2, 2, 3, 2, 3).max(axis=(2, 4)))
    np.testing.assert_allclose(nn.AvgPool2d((4, 6))(x).numpy()[:, 0, 0], x.mean(axis=(1, 2)), rtol=1e-6)
    assert nn.functional.max_pool2d is mm.ops.max_pool2d and nn.functional.conv2d is mm.ops.conv2d


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv2d(3, 4, 0), "kernel_size must be an integer >= 1"),
    (lambda: nn.Conv2d(0, 4, 3), "in_channels must be a positive integer"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), "must both be divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), "must both be divisible by groups"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), "padding='same' needs stride 1"),
    (lambda: nn.Conv2d(3, 4, 2.5), "kernel_size must be an integer"),
    (lambda: nn.MaxPool2d(0), "kernel_size must be an integer >= 1"),
    (lambda: nn.AvgPool2d(2, padding=2), "at most half the kernel size"),
    (lambda: models.SimpleCNN(channels=[]), "at least one stage"),
    (lambda: models.SimpleCNN(channels=[8, 0]), r"channels\[1\] must be a positive integer"),
])
def test_bad_layer_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("layer, shape, message", [
    (nn.Conv2d(3, 4, 3), (2, 8, 8, 2), r"expected input of shape \(N, H, W, 3\)"),
    (nn.Conv2d(3, 4, 3), (8, 8, 3), r"expected input of shape \(N, H, W, 3\)"),
    (nn.MaxPool2d(2), (8, 8, 3), r"expected input of shape \(N, H, W, C\)"),
    (tiny_cnn(), (2, 8, 8, 3), r"expected images of shape \(N, H, W, 1\)"),
    (tiny_cnn(), (2, 3, 8, 1), "too small for 2 stages"),
])
def test_wrong_inputs_raise_clear_errors(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(shape, np.float32))


def test_gradcheck_through_the_whole_model():
    model = tiny_cnn().to(np.float64)
    images = mm.tensor(np.random.default_rng(3).standard_normal((2, 8, 8, 1)), dtype=np.float64)
    params = list(model.parameters())
    assert mm.gradcheck(lambda *_: model(images), *params, random_projections=3)


def test_from_config_rebuilds_the_model_and_its_outputs():
    mm.manual_seed(0)
    model = models.create("cnn-digits").eval()
    clone = models.from_config(dict(model.config, model="SimpleCNN")).eval()
    clone.load_state_dict(model.state_dict())
    images = np.random.default_rng(4).standard_normal((3, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(clone(images).numpy(), model(images).numpy())
    assert models.preset_config("cnn-mnist")["channels"] == [32, 64, 128]
    assert models.preset("cnn-digits").dataset == "digits"


def test_a_checkpoint_of_the_cnn_preset_loads_back(tmp_path):
    from minimixer.train import Recipe, fit, load_model

    train = data.load("digits")
    subset = type(train)(train[0][:128], train[1][:128])
    mm.manual_seed(0)
    model = models.create("cnn-digits")
    fit(model, subset, recipe=Recipe(epochs=1, batch_size=64), out_dir=str(tmp_path), progress=False,
        config=dict(models.preset_config("cnn-digits"), preset="cnn-digits"))
    loaded, _ = load_model(tmp_path)
    images = np.random.default_rng(5).standard_normal((2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(loaded.eval()(images).numpy(), model.eval()(images).numpy())


def test_a_short_training_run_lowers_the_loss():
    train = data.load("digits")
    transform = data.default_transforms("digits", train=False)
    images, labels = transform(train[0][:256]), train[1][:256]
    mm.manual_seed(0)
    model = models.SimpleCNN(channels=[8, 16], in_channels=1)
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for step in range(30):
        batch = slice((step % 4) * 64, (step % 4 + 1) * 64)
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])


def test_show_draws_a_cnn_run_without_patch_filters(tmp_path):
    from minimixer.show import show_run
    from minimixer.train import Recipe, fit

    train = data.load("digits")
    subset = type(train)(train[0][:64], train[1][:64])
    mm.manual_seed(0)
    fit(models.create("cnn-digits"), subset, recipe=Recipe(epochs=1, batch_size=64),
        out_dir=str(tmp_path), progress=False,
        config=dict(models.preset_config("cnn-digits"), preset="cnn-digits"))
    written = {p.split("/")[-1] for p in show_run(str(tmp_path))}
    assert "curves.png" in written and "patch_filters.png" not in written


def test_summary_counts_the_convolutions_flops():
    from minimixer.models.summary import model_flops

    model = models.SimpleCNN(channels=[4, 8], kernel_size=3, in_channels=1)
    # conv 1: 8x8 outputs x 4 channels, 3*3*1 products; conv 2 after pooling: 4x4 x 8, 3*3*4
    convs = 2 * (8 * 8 * 4 * 9 * 1 + 4 * 4 * 8 * 9 * 4)
    head = 2 * 10 * 8
    assert model_flops(model, (1, 8, 8, 1)) == convs + head
