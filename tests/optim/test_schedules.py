"""Learning-rate schedules: values at the key points, monotone pieces, timing, saving."""

import math

import numpy as np
import pytest

from minimixer import optim

T = 100
LR_MAX = 0.01


@pytest.fixture
def opt(make_param):
    params = [make_param(np.ones((2, 2), dtype=np.float32)), make_param(np.ones(2, dtype=np.float32))]
    return optim.SGD([{"params": params[:1]}, {"params": params[1:], "weight_decay": 0.0}], lr=1.0)


def schedule_values(schedule, steps):
    return np.array([schedule.lr_at(t) for t in range(steps + 1)])


# ---------------------------------------------------------------------- one cycle
def test_one_cycle_key_points(opt):
    schedule = optim.OneCycleLinear(opt, lr_max=LR_MAX, total_steps=T)
    assert schedule.lr_at(0) == 0.0
    assert schedule.lr_at(2 / 5 * T) == pytest.approx(LR_MAX)
    assert schedule.lr_at(4 / 5 * T) == pytest.approx(LR_MAX / 20)
    assert schedule.lr_at(T) == 0.0
    assert schedule.lr_at(T + 10) == 0.0
    assert schedule.lr_at(T / 5) == pytest.approx(LR_MAX / 2)  # halfway up the ramp


def test_one_cycle_pieces_are_monotone_and_linear(opt):
    values = schedule_values(optim.OneCycleLinear(opt, lr_max=LR_MAX, total_steps=T), T)
    rise, fall_1, fall_2 = values[:41], values[40:81], values[80:]
    for piece, sign in [(rise, 1), (fall_1, -1), (fall_2, -1)]:
        differences = np.diff(piece) * sign
        assert np.all(differences > 0)
        np.testing.assert_allclose(differences, differences[0], rtol=1e-9)  # constant slope


def test_one_cycle_sets_the_lr_for_each_update(opt):
    schedule = optim.OneCycleLinear(opt, lr_max=LR_MAX, total_steps=T)
    used = []
    for _ in range(T):
        used.append(opt.param_groups[0]["lr"])
        assert all(group["lr"] == used[-1] for group in opt.param_groups)
        schedule.step()
    assert used[0] == pytest.approx(LR_MAX / 40)  # lr_at(1): never exactly 0
    assert used[0] > 0
    assert max(used) == pytest.approx(LR_MAX) and used.index(max(used)) == 39
    assert used == [schedule.lr_at(k + 1) for k in range(T)]
    assert schedule.get_lr() == [0.0, 0.0]  # past the end


def test_lr_written_into_groups_is_a_python_float(opt):
    optim.OneCycleLinear(opt, lr_max=LR_MAX, total_steps=T)
    assert type(opt.param_groups[0]["lr"]) is float  # np.float64 would upcast float32 updates


def test_float32_params_stay_float32_under_a_schedule(make_param):
    p = make_param(np.ones(4, dtype=np.float32))
    opt = optim.AdamW([p], lr=0.0)
    schedule = optim.OneCycleLinear(opt, lr_max=LR_MAX, total_steps=5)
    for _ in range(5):
        p.grad = np.ones(4, dtype=np.float32)
        opt.step()
        schedule.step()
    assert p.data.dtype == np.float32
    assert np.all(p.data < 1.0)


# ---------------------------------------------------------------------- warm-up cosine
def test_warmup_cosine_key_points(opt):
    schedule = optim.WarmupCosine(opt, lr_max=LR_MAX, total_steps=T, warmup_steps=10, lr_min=1e-4)
    assert schedule.lr_at(0) == 0.0
    assert schedule.lr_at(5) == pytest.approx(LR_MAX / 2)
    assert schedule.lr_at(10) == pytest.approx(LR_MAX)
    assert schedule.lr_at(55) == pytest.approx((LR_MAX + 1e-4) / 2)  # cosine midpoint
    assert schedule.lr_at(T) == pytest.approx(1e-4)
    assert schedule.lr_at(T + 7) == pytest.approx(1e-4)
    assert opt.param_groups[0]["lr"] == pytest.approx(LR_MAX / 10)  # first update: lr_at(1)


def test_warmup_cosine_rises_then_falls(opt):
    values = schedule_values(optim.WarmupCosine(opt, lr_max=LR_MAX, total_steps=T, warmup_steps=10), T)
    assert np.all(np.diff(values[:11]) > 0)
    assert np.all(np.diff(values[10:]) < 0)


def test_warmup_cosine_without_warmup_starts_just_below_lr_max(opt):
    schedule = optim.WarmupCosine(opt, lr_max=LR_MAX, total_steps=T, warmup_steps=0)
    expected = LR_MAX * 0.5 * (1 + math.cos(math.pi / T))
    assert opt.param_groups[0]["lr"] == pytest.approx(expected)
    assert schedule.lr_at(0) == LR_MAX


def test_warmup_cosine_rejects_a_warmup_longer_than_training(opt):
    with pytest.raises(ValueError, match="warmup_steps"):
        optim.WarmupCosine(opt, lr_max=LR_MAX, total_steps=10, warmup_steps=10)


def test_constant(opt):
    schedule = optim.Constant(opt, lr=0.3)
    for _ in range(3):
        assert schedule.get_lr() == [0.3, 0.3]
        assert opt.param_groups[1]["lr"] == 0.3
        schedule.step()


# ---------------------------------------------------------------------- saving
@pytest.mark.parametrize("through_npz", [False, True], ids=["in-memory", "npz-file"])
def test_schedule_state_dict_round_trip(make_param, through_npz, tmp_path):
    def fresh_optimizer():
        return optim.SGD([make_param(np.ones(2))], lr=1.0)

    original = optim.WarmupCosine(fresh_optimizer(), lr_max=LR_MAX, total_steps=T, warmup_steps=10)
    for _ in range(17):
        original.step()
    saved = original.state_dict()
    if through_npz:
        np.savez(tmp_path / "schedule.npz", **saved)
        with np.load(tmp_path / "schedule.npz") as archive:
            saved = dict(archive)

    resumed = optim.WarmupCosine(fresh_optimizer(), lr_max=1.0, total_steps=5, warmup_steps=1)
    resumed.load_state_dict(saved)
    assert repr(resumed) == repr(original)
    assert type(resumed.total_steps) is int and type(resumed.steps_done) is int
    for _ in range(5):
        assert resumed.optimizer.param_groups[0]["lr"] == original.optimizer.param_groups[0]["lr"]
        original.step()
        resumed.step()


def test_schedule_rejects_another_schedules_state(opt):
    saved = optim.OneCycleLinear(opt, lr_max=LR_MAX, total_steps=T).state_dict()
    target = optim.WarmupCosine(opt, lr_max=LR_MAX, total_steps=T, warmup_steps=10)
    with pytest.raises(ValueError, match="expected keys"):
        target.load_state_dict(saved)
