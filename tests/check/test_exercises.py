"""Every exercise: the solution passes, the skeleton fails as "not written yet", and each
catalogued mistake fails with that mistake named.

The checker runs in this process here (`check_file`); `test_grading_a_class.py` runs it
as teachers do, one separate process per submission.
"""

import importlib
import re
from pathlib import Path

import pytest
from wrong_answers import WRONG, solution_path, write_wrong

from minimixer import check
from minimixer.check import delegation, registry
from minimixer.check.toolkit import Hint

ROOT = Path(__file__).resolve().parents[2]
EXERCISES_DIR = ROOT / "lessons" / "exercises"
SKELETONS = sorted(EXERCISES_DIR.glob("[0-9]*.py"))
SOLUTIONS = sorted((EXERCISES_DIR / "solutions").glob("[0-9]*.py"))
ALL = list(check.EXERCISES.values())
CATALOGUE = [(e, key) for e in ALL for key in e.mistakes]


# ---------------------------------------------------------------------------- the registry
def test_one_module_skeleton_and_solution_per_exercise_numbered_along_the_ladder():
    assert [e.number for e in ALL] == list(range(1, len(ALL) + 1))
    assert [p.name for p in SKELETONS] == [e.skeleton for e in ALL]
    assert [p.name for p in SOLUTIONS] == [e.skeleton for e in ALL]
    levels = [registry.LEVELS.index(e.level) for e in ALL]
    assert levels == sorted(levels) and set(levels) == {0, 1, 2}, "easy first, hard last, every level present"


def test_each_skeleton_names_its_exercise_and_explains_how_to_check_it():
    for exercise, skeleton in zip(ALL, SKELETONS):
        source = skeleton.read_text(encoding="utf-8")
        assert check.find_exercise(source) == exercise.name
        assert source.startswith(f"# Exercise {exercise.number}: ")
        assert f"python -m minimixer check lessons/exercises/{skeleton.name}" in source


def test_every_graded_path_names_something_in_minimixer():
    for exercise in ALL:
        missing = [path for path in exercise.graded if delegation.resolve(path) is None]
        assert not missing, f"{exercise.name}: {missing} no longer exist (renamed?)"


def test_every_exercise_catalogues_typical_mistakes_with_two_hint_levels():
    for exercise in ALL:
        assert len(exercise.mistakes) >= 5, exercise.name
        for key, mistake in exercise.mistakes.items():
            assert mistake.key == key and mistake.nudge and mistake.full and mistake.nudge != mistake.full


# ---------------------------------------------------------------------------- solutions and skeletons
@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.skeleton)
def test_the_reference_solution_passes(exercise):
    report = check.check_file(solution_path(exercise))
    assert report.passed, report.text("full")
    assert report.exercise == exercise.name and report.identified_by == "its EXERCISE line"


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.skeleton)
def test_the_untouched_skeleton_fails_as_not_written(exercise):
    report = check.check_file(EXERCISES_DIR / exercise.skeleton)
    assert report.problem is None and not report.passed
    assert any("not written yet" in r.detail for r in report.failures), report.text()


# ---------------------------------------------------------------------------- the mistake catalogue
def test_every_catalogued_mistake_has_a_wrong_answer_in_the_tests():
    for exercise in ALL:
        assert set(WRONG[exercise.name]) == set(exercise.mistakes), exercise.name


@pytest.mark.parametrize("exercise, key", CATALOGUE, ids=[f"{e.number:02d}-{k}" for e, k in CATALOGUE])
def test_each_catalogued_mistake_fails_and_is_named(exercise, key, tmp_path):
    report = check.check_file(write_wrong(tmp_path, exercise, key))
    assert report.problem is None, report.text()
    assert not report.passed, f"the wrong answer {key} passed:\n{report.text()}"
    named = [r for r in report.failures if r.mistake == key]
    assert named, f"no failure names {key}:\n{report.text('full')}"
    mistake = exercise.mistakes[key]
    assert named[0].nudge == mistake.nudge and named[0].full == mistake.full


def test_the_nudge_does_not_give_the_answer_away(tmp_path):
    """The first failure says what is wrong; only --hints full shows the formula."""
    exercise = check.EXERCISES["backward_rule"]
    report = check.check_file(write_wrong(tmp_path, exercise, "matmul_a_transpose_missing"))
    nudge, full = report.text("nudge"), report.text("full")
    assert "dA = grad_out @ B.T" not in nudge and "dA = grad_out @ B.T" in full
    assert "--hints full" in nudge
    report = check.check_file(write_wrong(tmp_path, exercise, "tanh_sign"))
    assert "1 - tanh(x)²" not in report.text("nudge") and "1 - tanh(x)²" in report.text("full")


# A nudge says what is wrong and where to look; these belong to the formula or the code
# that --hints full reveals (operators, reductions, transposes, squares).
FORMULA_MARKS = ("@", "//", "**", ".sum(", ".mean(", "axis=", "sqrt", ".T", "²", "ᵀ", "transpose(")


@pytest.mark.parametrize("exercise, key", CATALOGUE, ids=[f"{e.number:02d}-{k}" for e, k in CATALOGUE])
def test_no_nudge_of_the_catalogue_writes_out_a_formula(exercise, key):
    mistake = exercise.mistakes[key]
    assert not [mark for mark in FORMULA_MARKS if mark in mistake.nudge], mistake.nudge
    assert mistake.nudge not in mistake.full and mistake.full not in mistake.nudge


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.skeleton)
def test_no_nudge_of_a_checks_general_hint_writes_out_a_formula(exercise):
    """The hints a check gives when no catalogued mistake matches (TANH_HINT, W_HINT, ...)."""
    module = importlib.import_module(f"minimixer.check.ex{exercise.number:02d}_{exercise.name}")
    hints = {name: hint for name, hint in vars(module).items() if name.endswith("_HINT") and isinstance(hint, Hint)}
    assert hints, exercise.name
    for name, hint in hints.items():
        assert not [mark for mark in FORMULA_MARKS if mark in hint.nudge], (name, hint.nudge)


def test_a_batch_of_one_cannot_reveal_the_missing_batch_sum_but_a_batch_of_three_does(tmp_path):
    exercise = check.EXERCISES["depthwise_backward"]
    report = check.check_file(write_wrong(tmp_path, exercise, "depthwise_weight_grad_not_summed_over_batch"))
    results = {r.name: r for r in report.results}
    assert results["a batch of one image"].passed
    first = results["3×3 kernel, a batch of 3 images of 5×6 pixels, 2 channels"]
    assert first.mistake == "depthwise_weight_grad_not_summed_over_batch"
    assert "sum over the batch" in first.full and "every image of the batch" in first.nudge


def test_mistakes_that_only_even_kernels_reveal_fail_only_there(tmp_path):
    report = check.check_file(write_wrong(tmp_path, check.EXERCISES["depthwise_conv"], "depthwise_even_padding_side"))
    failed = {r.name for r in report.failures}
    assert failed and all("even kernel" in name for name in failed), report.text()


def test_the_training_check_waits_for_the_loop_checks(tmp_path):
    report = check.check_file(write_wrong(tmp_path, check.EXERCISES["training_loop"], "loop_no_zero_grad"))
    last_loop_check = report.results[-2]
    assert last_loop_check.status == "skipped" and "must pass first" in last_loop_check.detail


def test_skeleton_titles_match_the_book_page_headers():
    """docs/build.py titles each exercise page from the skeleton's first comment line."""
    for skeleton in SKELETONS:
        first = skeleton.read_text(encoding="utf-8").splitlines()[0]
        assert re.match(r"^# Exercise \d+: .+\.$", first), first
