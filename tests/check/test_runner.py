"""The checker's machinery on single files: identification, crash locations, delegation,
hint levels, the reports' text, and the command line's usage errors."""

import textwrap

import pytest
from wrong_answers import solution_path

from minimixer import check
from minimixer.check import command, registry
from minimixer.check.delegation import static_findings

DEPTHWISE = check.EXERCISES["depthwise_conv"]


def _write(tmp_path, name: str, body: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- which exercise is it?
def test_a_file_is_identified_by_its_line_then_its_name_then_its_definitions(tmp_path):
    body = "def depthwise_conv2d(x, w, b=None):\n    return x\n"
    assert registry.identify(tmp_path / "x.py", 'EXERCISE = "patches"\n' + body) == ("patches", "its EXERCISE line")
    assert registry.identify(tmp_path / "alice_depthwise_conv.py", "") == ("depthwise_conv", "its file name")
    assert registry.identify(tmp_path / "convmixer_block_v2.py", "")[0] == "convmixer_block"  # longest name wins
    assert registry.identify(tmp_path / "07_mine.py", "")[0] == "mixer_block"
    assert registry.identify(tmp_path / "bob.py", body) == ("depthwise_conv", "the names it defines")
    assert registry.identify(tmp_path / "bob.py", "x = 1\n") == (None, "")


def test_student_names_drop_the_exercise_part_of_a_file_name():
    assert registry.student_name("alice_depthwise_conv") == "alice"
    assert registry.student_name("05_depthwise_conv") == ""
    assert registry.student_name("depthwise_conv-bob") == "bob"
    assert registry.student_name("carol") == "carol"


def test_a_file_nobody_can_identify_is_reported(tmp_path):
    report = check.check_file(_write(tmp_path, "notes.py", "x = 1\n"))
    assert report.problem and "cannot tell which exercise" in report.problem
    assert "EXERCISE" in report.problem_hint


def test_unknown_exercise_and_syntax_errors_are_reported(tmp_path):
    report = check.check_file(_write(tmp_path, "a.py", 'EXERCISE = "no_such_thing"\n'))
    assert report.problem == "unknown exercise 'no_such_thing'." and "depthwise_conv" in report.problem_hint
    report = check.check_file(_write(tmp_path, "b.py", 'EXERCISE = "depthwise_conv"\ndef depthwise_conv2d(x:\n'))
    assert "SyntaxError at line 2" in report.problem


def test_sys_exit_while_importing_is_a_problem_not_a_crash(tmp_path):
    report = check.check_file(_write(tmp_path, "c.py", 'EXERCISE = "depthwise_conv"\nimport sys\nsys.exit(3)\n'))
    assert "called sys.exit(3) while being imported" in report.problem


def test_missing_function_is_reported(tmp_path):
    report = check.check_file(_write(tmp_path, "d.py", 'EXERCISE = "depthwise_conv"\n'))
    assert report.problem == "the file defines no `depthwise_conv2d`."


# ---------------------------------------------------------------------------- crash reports
def test_a_crash_points_at_the_students_line_not_into_a_given_helper(tmp_path):
    """In exercise 7, a wrong shape passed to the given `mlp` surfaces inside `mlp`; the
    report names the student's line that called it."""
    source = solution_path(check.EXERCISES["mixer_block"]).read_text(encoding="utf-8")
    wrong = source.replace('mixed = mlp(normed, p["token_mlp.fc1.weight"]', 'mixed = mlp(normed.transpose(0, 2, 1), '
                           'p["token_mlp.fc1.weight"]')
    path = _write(tmp_path, "crash_mixer_block.py", wrong)
    report = check.check_file(path)
    crash = report.failures[0].detail
    line = next(i for i, text in enumerate(wrong.splitlines(), 1) if "normed.transpose(0, 2, 1)" in text)
    assert f"at line {line} of your file" in crash and "inside the given helper `mlp`" in crash, crash
    lines = wrong.splitlines()
    helper = range(next(i for i, t in enumerate(lines, 1) if t.startswith("def mlp")),
                   next(i for i, t in enumerate(lines, 1) if t.startswith("def mixer_block")))
    assert all(f"line {n} " not in crash for n in helper)


@pytest.mark.parametrize("exercise, anchor, wrong_call, helper", [
    ("layer_norm_backward", "    rows = tuple(range(x.ndim - 1))", "    layer_norm(x, gamma[:-1], gamma)", "layer_norm"),
    ("depthwise_backward", "    grad_b = grad_y.sum(axis=(0, 1, 2))", "    depthwise_conv2d(x, w[:, :, :1].T)",
     "depthwise_conv2d"),
], ids=["04-layer_norm", "06-depthwise_conv2d"])
def test_a_crash_inside_another_given_helper_names_the_students_call(tmp_path, exercise, anchor, wrong_call, helper):
    """Exercises 4 and 6 give a forward helper too: a bad call to it is the student's line."""
    source = solution_path(check.EXERCISES[exercise]).read_text(encoding="utf-8")
    assert anchor in source
    wrong = source.replace(anchor, wrong_call + "\n" + anchor, 1)
    report = check.check_file(_write(tmp_path, f"crash_{exercise}.py", wrong))
    crash = report.failures[0].detail
    line = next(i for i, text in enumerate(wrong.splitlines(), 1) if text == wrong_call)
    assert f"at line {line} of your file: {wrong_call.strip()}" in crash, crash
    assert f"inside the given helper `{helper}`" in crash, crash


def test_function_returning_none_gets_a_hint(tmp_path):
    path = _write(tmp_path, "e.py", """
        EXERCISE = "depthwise_conv"
        def depthwise_conv2d(x, w, b=None):
            y = x * 1
    """)
    assert "forget the `return`" in check.check_file(path).failures[0].nudge


# ---------------------------------------------------------------------------- delegation
def test_reading_the_file_finds_imports_and_attribute_chains(tmp_path):
    source = textwrap.dedent("""
        import minimixer as mm
        from minimixer.kernels import reference as ref
        from minimixer.kernels.fast import depthwise_conv2d_forward as quick
        def depthwise_conv2d(x, w, b=None):
            return mm.kernels.reference.depthwise_conv2d_forward(x, w, b) + ref.depthwise_conv2d_forward(x, w)
        if __name__ == "__main__":
            print(mm.kernels.reference.depthwise_conv2d_forward)   # comparing is fine here
    """)
    found = static_findings(source, DEPTHWISE.graded)
    assert {line for line, _ in found} == {4, 6}
    assert {path for _, path in found} == {"minimixer.kernels.fast.depthwise_conv2d_forward",
                                           "minimixer.kernels.reference.depthwise_conv2d_forward"}


@pytest.mark.parametrize("body", [
    "import minimixer as mm\ndef depthwise_conv2d(x, w, b=None):\n"
    "    return mm.kernels.reference.depthwise_conv2d_forward(x, w, b)\n",
    "import importlib\ndef depthwise_conv2d(x, w, b=None):\n"
    "    m = importlib.import_module('minimixer.kernels.' + 'fast')\n"
    "    try:\n        return getattr(m, 'depthwise_conv2d_forward')(x, w, b)\n"
    "    except Exception:\n        return x\n",
    "import minimixer as mm\ndef depthwise_conv2d(x, w, b=None):\n"
    "    return mm.nn.functional.depthwise_conv2d(x, w, b).numpy()\n",
], ids=["direct", "hidden-behind-getattr", "through-the-op"])
def test_delegating_the_graded_piece_fails_with_a_plain_explanation(tmp_path, body):
    report = check.check_file(_write(tmp_path, "cheat.py", 'EXERCISE = "depthwise_conv"\n' + body))
    assert not report.passed
    own = report.results[-1]
    assert own.name == check.runner.OWN_WORK and own.mistake == "delegates" and not own.passed
    assert "minimixer's own" in report.failures[0].detail + own.detail


def test_the_tripwires_are_removed_after_the_check(tmp_path):
    import numpy as np

    from minimixer.kernels import reference
    check.check_file(_write(tmp_path, "cheat.py", 'EXERCISE = "depthwise_conv"\nimport minimixer as mm\n'
                            "def depthwise_conv2d(x, w, b=None):\n"
                            "    return mm.kernels.reference.depthwise_conv2d_forward(x, w, b)\n"))
    assert reference.depthwise_conv2d_forward.__name__ == "depthwise_conv2d_forward"
    assert reference.depthwise_conv2d_forward.__code__.co_filename.endswith("reference.py")
    assert reference.depthwise_conv2d_forward(np.ones((1, 2, 2, 1)), np.ones((1, 1, 1))).shape == (1, 2, 2, 1)


def test_given_helpers_from_minimixer_are_not_delegation():
    assert check.check_file(solution_path(check.EXERCISES["convmixer_block"])).passed  # uses reference's depthwise


# ---------------------------------------------------------------------------- the command line
def test_list_shows_the_ladder_and_full_hints_show_the_catalogue(capsys):
    assert command.main(["--list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [f"{e.number:02d}" for e in check.EXERCISES.values()]
    assert command.main(["--list", "--hints", "full"]) == 0
    assert "depthwise_weight_grad_not_summed_over_batch:" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    ([], "give exercise files or folders"),
    (["/no/such/place.py"], "no such file or folder"),
    (["--timeout", "0", "x.py"], "must be positive"),
])
def test_usage_errors_exit_with_2(argv, message, capsys):
    assert command.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_python_files_and_a_report_in_a_missing_folder_are_usage_errors(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert command.main([str(tmp_path)]) == 2
    assert "holds no Python files" in capsys.readouterr().err
    path = solution_path(DEPTHWISE)
    assert command.main([str(path), "--csv", str(tmp_path / "missing" / "grades.csv")]) == 2
    assert "its folder does not exist" in capsys.readouterr().err


def test_one_file_prints_its_full_report_and_exits_with_0_or_1(tmp_path, capsys):
    assert command.main([str(solution_path(DEPTHWISE))]) == 0
    out = capsys.readouterr().out
    assert "9 of 9 checks passed: all checks passed." in out and "student" not in out
    skeleton = solution_path(DEPTHWISE).parents[1] / DEPTHWISE.skeleton
    assert command.main([str(skeleton)]) == 1
    assert "not written yet" in capsys.readouterr().out
