"""Module registry, state_dict round trips, modes, repr, and Linear's defaults."""

import numpy as np
import pytest

import minimixer as mm
from minimixer import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.second = nn.Linear(8, 3, bias=False)
        self.register_buffer("counter", np.zeros(2, dtype=np.float32))

    def forward(self, x):
        return self.second(self.act(self.first(x)))


def test_named_parameters_are_ordered_and_dotted():
    names = [n for n, _ in TwoLayer().named_parameters()]
    assert names == ["first.weight", "first.bias", "second.weight"]


def test_state_dict_round_trip_restores_outputs():
    a, b = TwoLayer(), TwoLayer()
    x = mm.tensor(np.random.rand(5, 4))
    assert not np.allclose(a(x).data, b(x).data)
    a.counter[:] = 7
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)
    np.testing.assert_array_equal(b.counter, [7, 7])
    assert list(a.state_dict()) == ["first.weight", "first.bias", "second.weight", "counter"]


def test_state_dict_returns_copies():
    m = TwoLayer()
    sd = m.state_dict()
    sd["first.bias"][:] = 123
    assert not np.any(m.first.bias.data == 123)


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    m = TwoLayer()
    before = m.state_dict()
    sd = m.state_dict()
    del sd["first.bias"]
    sd["extra.weight"] = np.zeros(1)
    sd["second.weight"] = np.zeros((3, 8))
    with pytest.raises(nn.StateDictError) as info:
        m.load_state_dict(sd)
    message = str(info.value)
    assert "missing keys: first.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "second.weight: expected (8, 3), got (3, 8)" in message
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_train_eval_propagates_to_children():
    m = TwoLayer()
    m.eval()
    assert all(not sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())


def test_zero_grad_clears_parameter_grads():
    m = TwoLayer()
    m(mm.tensor(np.ones((2, 4)))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_repr_is_an_indented_tree_with_counts():
    text = repr(TwoLayer())
    assert text.splitlines()[0].startswith("TwoLayer(")
    assert "  (first): Linear(4 -> 8)  # 40 params" in text
    assert "(second): Linear(8 -> 3, bias=False)  # 24 params" in text


def test_linear_default_init_matches_pytorch_bounds():
    mm.manual_seed(3)
    layer = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.bias.data).max() <= bound
    # A uniform on [-b, b] has standard deviation b / sqrt(3).
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.1 * bound
    assert layer.weight.dtype == np.float32


def test_manual_seed_makes_init_reproducible():
    mm.manual_seed(11)
    a = nn.Linear(3, 3).weight.data.copy()
    mm.manual_seed(11)
    np.testing.assert_array_equal(a, nn.Linear(3, 3).weight.data)


def test_linear_rejects_wrong_width():
    with pytest.raises(ValueError, match="Linear: expected input with last axis 4"):
        nn.Linear(4, 2)(mm.tensor(np.ones((1, 5))))


def test_sequential_indexing_and_gradcheck():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    assert len(model) == 3 and isinstance(model[1], nn.Tanh)
    assert [n for n, _ in model.named_parameters()][0] == "0.weight"
    w0, b0, w1, b1 = (mm.tensor(p.data, requires_grad=True, dtype=np.float64) for p in model.parameters())
    x = mm.tensor(np.random.rand(5, 3), dtype=np.float64)
    assert mm.gradcheck(lambda w0, b0, w1, b1: mm.ops.tanh(x @ w0 + b0) @ w1 + b1, w0, b0, w1, b1)


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    layer = nn.Linear(6, 4)
    ref = torch.nn.Linear(6, 4)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.data.T))
        ref.bias.copy_(torch.tensor(layer.bias.data))
    x = np.random.rand(3, 6).astype(np.float32)
    out = layer(mm.tensor(x))
    expected = ref(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy().T, rtol=1e-5)
