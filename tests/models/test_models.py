"""Both Mixers: parameter counts, shapes, modes, input checks and whole-model gradients."""

import numpy as np
import pytest

import minimixer as mm
from minimixer import models, nn
from minimixer.nn.mixer_layers import linear_over_tokens

EXPECTED_COUNTS = {
    "convmixer-digits": 21_130,
    "mlpmixer-digits": 72_714,
    "convmixer-mnist": 142_730,
    "mlpmixer-mnist": 835_376,
    "convmixer-cifar10": 594_186,
    "mlpmixer-cifar10": 4_360_970,
    "cnn-digits": 19_562,
    "cnn-mnist": 94_186,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_preset_parameter_counts_equal_the_pytorch_references(name):
    assert models.create(name).num_parameters() == EXPECTED_COUNTS[name]


def test_presets_lists_every_preset_and_unknown_names_fail():
    assert set(models.presets()) == set(EXPECTED_COUNTS)
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        models.create("nope")


def test_design_table_constructor_signatures():
    conv = models.ConvMixer(dim=256, depth=8, kernel_size=5, patch_size=2, in_channels=3, num_classes=10)
    mlp = models.MLPMixer(image_size=32, patch_size=4, in_channels=3, dim=256, depth=8,
                          token_dim=128, channel_dim=1024, num_classes=10)
    assert conv.num_parameters() == 594_186 and mlp.num_parameters() == 4_360_970


def tiny_conv(channels=1, **kw):
    return models.ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=2, in_channels=channels, num_classes=5, **kw)


def tiny_mlp(channels=1):
    return models.MLPMixer(image_size=8, patch_size=2, in_channels=channels, dim=8, depth=2,
                           token_dim=6, channel_dim=12, num_classes=5)


@pytest.mark.parametrize("make", [tiny_conv, tiny_mlp])
def test_forward_shape_accepts_arrays_and_tensors(make):
    model = make(channels=3)
    x = np.random.rand(4, 8, 8, 3).astype(np.float32)
    assert model(x).shape == (4, 5)
    assert model(mm.tensor(x)).shape == (4, 5)
    assert model(x).dtype == np.float32


@pytest.mark.parametrize("make, bad_shape", [
    (tiny_conv, (2, 8, 8, 3)),     # wrong channel count
    (tiny_conv, (8, 8, 1)),        # missing batch axis
    (tiny_mlp, (2, 10, 10, 1)),    # wrong image size
    (tiny_mlp, (2, 1, 8, 8)),      # channels first
])
def test_wrong_input_shape_names_model_expected_and_received(make, bad_shape):
    model = make()
    with pytest.raises(ValueError) as info:
        model(np.zeros(bad_shape, dtype=np.float32))
    message = str(info.value)
    assert type(model).__name__ in message and str(bad_shape) in message and "expected" in message


def test_convmixer_rejects_image_not_divisible_by_patch():
    with pytest.raises(ValueError, match="not divisible by patch_size 2"):
        tiny_conv()(np.zeros((1, 7, 8, 1), dtype=np.float32))


def test_batchnorm_train_and_eval_modes_differ_and_eval_is_batch_independent():
    model = tiny_conv()
    x = np.random.rand(6, 8, 8, 1).astype(np.float32) * 3 + 1
    for _ in range(3):
        model(x)  # training mode: updates running statistics
    model.eval()
    alone = model(x[:1]).data
    together = model(x).data[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)
    model.train()
    assert not np.allclose(model(x).data[:1], alone, atol=1e-4)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convmixer_fused_inference_equals_the_layer_by_layer_forward(backend, dtype):
    """Evaluation under no_grad takes the fused kernels; with a graph it goes layer by layer."""
    mm.manual_seed(3)
    model = models.ConvMixer(dim=8, depth=2, kernel_size=3, patch_size=2, in_channels=1).to(dtype)
    images = np.random.default_rng(3).standard_normal((4, 8, 8, 1))
    model(images)  # one training-mode call gives the BatchNorms non-trivial statistics
    model.eval()
    mm.set_backend(backend)
    try:
        layer_by_layer = model(images).numpy()
        with mm.no_grad():
            fused = model(images).numpy()
    finally:
        mm.set_backend("numba")
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(fused, layer_by_layer, rtol=tolerance, atol=tolerance)


FUSED_TRAINING_MODELS = {
    # each GELU -> BatchNorm pair is one op (ops.gelu_batch_norm)
    "convmixer": lambda: models.ConvMixer(dim=8, depth=2, kernel_size=5, patch_size=1, in_channels=1),
    # each Linear -> GELU pair of the MLPs is one op (ops.linear_gelu)
    "mlpmixer": lambda: models.MLPMixer(image_size=8, patch_size=2, in_channels=1, dim=8, depth=2,
                                        token_dim=6, channel_dim=12),
}


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("architecture", sorted(FUSED_TRAINING_MODELS))
def test_training_with_fused_ops_equals_layer_by_layer(backend, architecture, monkeypatch):
    """In training the Mixers run some pairs of layers as one op; while a forward
    observer watches every layer they call them one by one. Outputs, gradients and
    running statistics must agree."""
    from minimixer.nn import module as module_lib
    images = np.random.default_rng(4).standard_normal((6, 8, 8, 1)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 5])
    runs = []
    mm.set_backend(backend)
    try:
        for observed in (False, True):
            if observed:
                monkeypatch.setattr(module_lib, "forward_observers", [lambda layer, out: None])
                monkeypatch.setattr(mm.nn.mixer_layers, "forward_observers", module_lib.forward_observers)
            mm.manual_seed(4)
            model = FUSED_TRAINING_MODELS[architecture]()
            loss = nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            runs.append([loss.data] + [p.grad for p in model.parameters()]
                        + [np.array(b) for _, b in model.named_buffers()])
    finally:
        mm.set_backend("numba")
    for fused, layer_by_layer in zip(*runs):
        np.testing.assert_allclose(fused, layer_by_layer, rtol=1e-4, atol=1e-5)


def test_mlp_mixer_head_starts_at_zero_so_all_classes_equally_likely():
    logits = tiny_mlp()(np.random.rand(3, 8, 8, 1).astype(np.float32))
    np.testing.assert_array_equal(logits.data, np.zeros((3, 5)))


def test_token_mixing_without_transpose_equals_transpose_then_linear():
    layer = nn.Linear(6, 4)
    x = mm.tensor(np.random.rand(2, 6, 3))
    direct = linear_over_tokens(x, layer).data
    via_transpose = layer(x.transpose(1, 2)).transpose(1, 2).data
    np.testing.assert_allclose(direct, via_transpose, rtol=1e-5, atol=1e-6)


def check_parameter_gradients(model, loss_fn, directions=3, eps=1e-6, seed=0):
    """Directional-derivative check of every parameter's gradient, in float64."""
    rng = np.random.default_rng(seed)
    model.zero_grad()
    loss_fn().backward()
    for name, p in model.named_parameters():
        analytic = np.zeros_like(p.data) if p.grad is None else p.grad
        original = p.data.copy()
        for _ in range(directions):
            v = rng.standard_normal(p.shape)
            with mm.no_grad():
                p.data = original + eps * v
                plus = float(loss_fn().data)
                p.data = original - eps * v
                minus = float(loss_fn().data)
                p.data = original
            numeric = (plus - minus) / (2 * eps)
            predicted = float(np.sum(analytic * v))
            assert np.isclose(predicted, numeric, rtol=1e-4, atol=1e-7), (name, predicted, numeric)


@pytest.mark.parametrize("make", [tiny_conv, tiny_mlp])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_whole_model_gradients_in_float64(make, mode):
    previous = mm.get_backend()
    mm.set_backend("numpy")
    try:
        model = make().to(np.float64)
        getattr(model, mode)()
        x = mm.tensor(np.random.rand(3, 8, 8, 1), dtype=np.float64, requires_grad=True)
        labels = np.array([0, 3, 1])
        if mode == "train":  # BatchNorm normalises with the batch's own statistics
            loss_fn = lambda: nn.functional.cross_entropy(model(x), labels, label_smoothing=0.1)
        else:
            model.train()
            model(x)  # give BatchNorm non-trivial running statistics
            model.eval()
            loss_fn = lambda: nn.functional.cross_entropy(model(x), labels)
        if isinstance(model, models.MLPMixer):  # a zero head would hide every other gradient
            model.head.weight.data = np.random.default_rng(1).standard_normal(model.head.weight.shape)
        check_parameter_gradients(model, loss_fn)
        assert mm.gradcheck(lambda inp: model(inp), x, random_projections=4)
    finally:
        mm.set_backend(previous)


def test_repr_shows_tree_and_counts():
    text = repr(models.create("convmixer-digits"))
    assert text.startswith("ConvMixer(dim=64, depth=4, kernel_size=3, patch_size=1")
    assert "# 21,130 params" in text.splitlines()[0]
    assert "(depthwise" not in text and "DepthwiseConv2d(64, kernel_size=3)  # 640 params" in text


def test_summary_lists_layers_with_shapes_params_and_flops():
    model = models.create("mlpmixer-digits")
    text = models.summary(model, (2, 8, 8, 1), show=False)
    assert "patch_embed" in text and "(2, 4, 4, 64)" in text
    assert "blocks.0.token_mlp" in text and "(2, 16, 64)" in text
    total = text.splitlines()[-1]
    assert "72,714" in total
    # FLOPs of one image: patch embed 16*4*64*2, per block token 2*2*16*32*64 + channel 2*2*16*64*128, head 2*64*10
    per_image = 16 * 4 * 64 * 2 + 4 * (2 * 2 * 16 * 32 * 64 + 2 * 2 * 16 * 64 * 128) + 2 * 64 * 10
    assert models.summary.__module__  # the function is importable from models
    from minimixer.models.summary import model_flops
    assert model_flops(model, (2, 8, 8, 1)) == 2 * per_image


def test_state_dict_round_trip_includes_batchnorm_buffers():
    a, b = tiny_conv(), tiny_conv()
    a(np.random.rand(4, 8, 8, 1).astype(np.float32))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = np.random.rand(2, 8, 8, 1).astype(np.float32)
    np.testing.assert_array_equal(a(x).data, b(x).data)
    assert any(k.endswith("running_var") for k in a.state_dict())
