"""Grading a class: 30 mixed submissions, one command, bounded time, correct reports.

The folder holds correct work, catalogued mistakes, crashes (an exception, a segfault,
os._exit), endless loops (one that even swallows the stop signal, one at import time),
submissions that call minimixer's own implementation, a sys.exit at import, a huge
allocation and megabytes of printing. Each runs in its own process with a 5 s limit
per check; the command must survive them all and report each one correctly.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from wrong_answers import solution_path, write_wrong

from minimixer import check
from minimixer.check import command

E = check.EXERCISES
ROOT = Path(__file__).resolve().parents[2]

CORRECT = ["patches", "backward_rule", "token_mixing", "layer_norm_backward", "depthwise_conv",
           "depthwise_backward", "mixer_block", "convmixer_block"]
WRONG = [("patches", "patches_plain_reshape"), ("backward_rule", "tanh_sign"),
         ("token_mixing", "token_mixing_channel_axis"),
         ("layer_norm_backward", "layer_norm_parameter_grads_first_axis_only"),
         ("depthwise_conv", "depthwise_even_padding_side"),
         ("depthwise_backward", "depthwise_weight_grad_not_summed_over_batch"),
         ("mixer_block", "block_post_norm"), ("convmixer_block", "convmixer_skip_missing"),
         ("convmixer_block", "batch_norm_per_image"), ("backward_rule", "matmul_gradients_swapped")]
HEAD = 'EXERCISE = "depthwise_conv"\nimport numpy as np\n'
ODD = {  # student file name -> (source, expected submission status)
    "raises_depthwise_conv.py": ("import numpy as np\ndef depthwise_conv2d(x, w, b=None):\n"
                                 "    return x[:, :, :, 99]\n", "failed"),
    "segfault.py": (HEAD + "import ctypes\ndef depthwise_conv2d(x, w, b=None):\n    ctypes.string_at(0)\n", "crashed"),
    "exits_hard.py": (HEAD + "import os\ndef depthwise_conv2d(x, w, b=None):\n    os._exit(7)\n", "crashed"),
    "loops.py": (HEAD + "def depthwise_conv2d(x, w, b=None):\n    while True:\n        pass\n", "timeout"),
    "loops_stubbornly.py": (HEAD + "def depthwise_conv2d(x, w, b=None):\n    while True:\n        try:\n"
                            "            while True:\n                pass\n        except BaseException:\n"
                            "            pass\n", "timeout"),
    "loops_on_import.py": (HEAD + "while True:\n    pass\n", "error"),
    "cheats_directly.py": (HEAD + "from minimixer.kernels.reference import depthwise_conv2d_forward\n"
                           "def depthwise_conv2d(x, w, b=None):\n    return depthwise_conv2d_forward(x, w, b)\n",
                           "failed"),
    "cheats_quietly.py": (HEAD + "import importlib\ndef depthwise_conv2d(x, w, b=None):\n"
                          "    kernels = importlib.import_module('minimixer.kern' + 'els.fast')\n"
                          "    return getattr(kernels, 'depthwise_conv2d_' + 'forward')(x, w, b)\n", "failed"),
    "cheats_with_a_layer.py": (HEAD + "import minimixer as mm\ndef depthwise_conv2d(x, w, b=None):\n"
                               "    layer = mm.nn.DepthwiseConv2d(x.shape[-1], w.shape[0])\n"
                               "    layer.weight.data, layer.bias.data = w, b if b is not None else 0 * w[0, 0]\n"
                               "    with mm.no_grad():\n        return layer(x).numpy()\n", "failed"),
    "exits_on_import.py": (HEAD + "import sys\nsys.exit(1)\n", "error"),
    "allocates.py": (HEAD + "def depthwise_conv2d(x, w, b=None):\n    return np.ones((40000, 40000))\n", "failed"),
}


def _build_class(folder: Path) -> tuple:
    """30 submissions, files at the top and folders per student.

    Returns ({student: expected status}, {student: expected exercise}).
    """
    expected, exercise_of = {}, {}
    for i, name in enumerate(CORRECT):
        student = f"pass{i}"
        target = folder / student / E[name].skeleton if i % 2 else folder / f"{student}_{name}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(solution_path(E[name]).read_text(encoding="utf-8"), encoding="utf-8")
        expected[student], exercise_of[student] = "passed", name
    for i, (name, key) in enumerate(WRONG):
        student = f"wrong{i}"
        write_wrong(folder, E[name], key, name=f"{student}/{E[name].skeleton}" if i % 2 else f"{student}.py")
        expected[student], exercise_of[student] = "failed", name
    for name, (source, status) in ODD.items():
        (folder / name).write_text(source, encoding="utf-8")
        student = Path(name).stem.removesuffix("_depthwise_conv")
        expected[student], exercise_of[student] = status, "depthwise_conv"
    chatty = solution_path(E["depthwise_conv"]).read_text(encoding="utf-8").replace('EXERCISE = "depthwise_conv"\n', "")
    (folder / "chatty.py").write_text(chatty + '\nprint("blah " * 4_000_000)\n', encoding="utf-8")
    expected["chatty"], exercise_of["chatty"] = "passed", "depthwise_conv"
    assert len(expected) == 30
    return expected, exercise_of


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    expected, exercise_of = _build_class(folder / "submissions")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "minimixer", "check", str(folder / "submissions"),
                             "--timeout", "5", "--json", str(folder / "grades.json"),
                             "--csv", str(folder / "grades.csv")],
                            capture_output=True, text=True, timeout=600, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    seconds = time.perf_counter() - started
    document = json.loads((folder / "grades.json").read_text(encoding="utf-8"))
    with open(folder / "grades.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return dict(expected=expected, exercise_of=exercise_of, result=result, seconds=seconds, json=document,
                csv=rows, folder=folder / "submissions")


def _by_student(graded) -> dict:
    return {s["student"]: s for s in graded["json"]["submissions"]}


def test_one_command_grades_the_whole_class_in_bounded_time(graded):
    result = graded["result"]
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # 30 submissions, 2 workers, three of them hitting a 5 s limit (8 s for the stubborn one)
    assert graded["seconds"] < 240, f"grading took {graded['seconds']:.0f} s"
    out = result.stdout
    assert out.count("\n[") >= 29 and "student" in out and "Most common mistakes:" in out
    assert "8 of 30 submissions pass every check" not in out  # chatty passes too: 9


def test_every_submission_gets_the_status_it_deserves(graded):
    found = {student: s["status"] for student, s in _by_student(graded).items()}
    assert found == graded["expected"]
    assert graded["json"]["totals"] == dict(submissions=30, passed=9, failed=15, timeout=2, crashed=2, error=2)


def test_the_json_lists_every_check_of_every_submission(graded):
    """Each submission: its file, its exercise, every check of that exercise in order, a
    score that counts them, and a hint exactly where a check did not pass."""
    students = _by_student(graded)
    assert len(graded["json"]["submissions"]) == 30
    assert graded["json"]["hint_level"] == "nudge" and graded["json"]["time_limit_per_check"] == 5.0
    for student, entry in students.items():
        exercise = E[graded["exercise_of"][student]]
        assert entry["exercise"] == exercise.name, student
        assert Path(entry["file"]).is_file() and Path(entry["file"]).is_relative_to(graded["folder"]), entry["file"]
        checks = entry["checks"]
        if entry["status"] == "error":
            assert entry["problem"] and entry["problem_hint"] and not checks, entry
            continue
        titles = [c.title for c in exercise.checks] + ([check.runner.OWN_WORK] if exercise.graded else [])
        assert [c["name"] for c in checks] == titles, student
        passed = sum(c["passed"] for c in checks)
        assert entry["score"] == f"{passed}/{len(titles)}" and entry["passed"] == (passed == len(titles)), entry
        for c in checks:
            assert c["passed"] == (c["status"] == "passed"), c
            assert (c["hint"] is None) == c["passed"], c


def test_catalogued_mistakes_are_named_in_the_report(graded):
    students = _by_student(graded)
    for i, (_, key) in enumerate(WRONG):
        mistakes = {c["mistake"] for c in students[f"wrong{i}"]["checks"]}
        assert key in mistakes, (key, students[f"wrong{i}"]["checks"])


def test_cheating_is_reported_as_a_failed_check_with_an_explanation(graded):
    students = _by_student(graded)
    for name in ("cheats_directly", "cheats_quietly", "cheats_with_a_layer"):
        own = students[name]["checks"][-1]
        assert own["mistake"] == "delegates" and not own["passed"], own
        assert "minimixer's own" in own["detail"] and own["hint"]


def test_loops_crashes_and_odd_files_are_survived_and_explained(graded):
    students = _by_student(graded)
    assert "still running after 5 s" in students["loops"]["checks"][0]["detail"]
    assert "was stopped" in students["loops_stubbornly"]["checks"][0]["detail"]
    assert "importing it took longer than 5 s" in students["loops_on_import"]["problem"]
    assert "SIGSEGV" in students["segfault"]["checks"][0]["detail"]
    assert "exit code 7" in students["exits_hard"]["checks"][0]["detail"]
    assert "sys.exit(1) while being imported" in students["exits_on_import"]["problem"]
    assert "MemoryError" in students["allocates"]["checks"][0]["detail"]
    assert "at line 3 of your file" in students["raises"]["checks"][0]["detail"]
    chatty = students["chatty"]
    assert chatty["output_bytes"] > 1_000_000 and 0 < len(chatty["output"]) <= 4000


def test_files_are_identified_by_line_name_or_definitions(graded):
    students = _by_student(graded)
    assert students["pass0"]["identified_by"] == "its EXERCISE line"
    assert students["raises"]["identified_by"] == "its file name"
    assert students["chatty"]["identified_by"] == "the names it defines"


def _rows_expected_from_json(document: dict) -> list:
    """The CSV rows the JSON report implies: one per check, one per file that could not be checked."""
    rows = []
    for s in document["submissions"]:
        base = dict(student=s["student"], file=s["file"], exercise=s["exercise"] or "",
                    submission_status=s["status"], hint_level=document["hint_level"])
        if s["problem"]:
            rows.append(dict(base, check="(the file)", result="error", passed="0", mistake="",
                             hint=s["problem_hint"] or "", detail=s["problem"], seconds=str(s["seconds"])))
        for c in s["checks"]:
            rows.append(dict(base, check=c["name"], result=c["status"], passed=str(int(c["passed"])),
                             mistake=c["mistake"] or "", hint=c["hint"] or "", detail=c["detail"],
                             seconds=str(c["seconds"])))
    return rows


def _disagreements(rows: list, expected: list) -> list:
    """(row number, column, in the CSV, implied by the JSON) for every cell that differs."""
    found = [(len(rows), "number of rows", len(rows), len(expected))] if len(rows) != len(expected) else []
    for number, (row, want) in enumerate(zip(rows, expected), 1):
        found += [(number, column, row[column], want[column]) for column in want if row[column] != want[column]]
    return found


def test_the_csv_matches_the_json_row_by_row(graded):
    rows, document = graded["csv"], graded["json"]
    assert list(rows[0]) == check.classroom.CSV_FIELDS
    expected = _rows_expected_from_json(document)
    assert _disagreements(rows, expected) == []
    # The comparison notices a changed cell, a missing row and two rows exchanged.
    changed = [dict(row) for row in rows]
    changed[7]["result"] = "passed" if changed[7]["result"] != "passed" else "failed"
    assert _disagreements(changed, expected) == [(8, "result", changed[7]["result"], rows[7]["result"])]
    assert _disagreements(rows[:-1], expected)
    assert _disagreements([rows[1], rows[0]] + rows[2:], expected)


def test_the_csv_shows_the_hint_and_the_mistake_of_each_failed_check(graded):
    rows = graded["csv"]
    assert {r["student"] for r in rows} == set(graded["expected"])
    for row in rows:
        assert row["hint_level"] == "nudge"
        assert row["passed"] == ("1" if row["result"] == "passed" else "0")
        if row["result"] == "passed":
            assert row["hint"] == "", row
        elif row["mistake"] and row["mistake"] != "delegates":
            (mistake,) = [e.mistakes[row["mistake"]] for e in E.values() if e.name == row["exercise"]]
            assert row["hint"] == mistake.nudge, row
    failing = [r for r in rows if r["mistake"] == "depthwise_even_padding_side"]
    assert failing and failing[0]["hint"] == E["depthwise_conv"].mistakes["depthwise_even_padding_side"].nudge
    for i, (name, key) in enumerate(WRONG):
        named = [r for r in rows if r["student"] == f"wrong{i}" and r["mistake"] == key]
        assert named and all(r["hint"] == E[name].mistakes[key].nudge for r in named), key


def test_the_summary_table_has_one_row_per_student_with_their_score(graded):
    out = graded["result"].stdout
    table = out[out.index("\nstudent "):].splitlines()[1:]
    for student, entry in _by_student(graded).items():
        (line,) = [line for line in table if line.split()[:1] == [student]]
        assert (entry["score"] if entry["status"] != "error" else "E") in line.split(), (student, line)


# ---------------------------------------------------------------------------- smaller runs
def test_full_hints_and_details_for_a_small_class(tmp_path, capsys):
    write_wrong(tmp_path / "amy", E["depthwise_conv"], "depthwise_kernel_flipped", name="05_depthwise_conv.py")
    (tmp_path / "bo.py").write_text(solution_path(E["patches"]).read_text(encoding="utf-8"), encoding="utf-8")
    assert command.main([str(tmp_path), "--hints", "full", "--details", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "cross-correlations" in out  # the full hint names the mistake
    assert "Checking " in out and "amy" in out and "bo " in out


def _processes_mentioning(text: str) -> dict:
    """{pid: command line} of the running processes whose command line mentions `text` (Linux /proc)."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found[int(cmdline.parent.name)] = line
    return found


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to look for left-over processes")
def test_ctrl_c_stops_the_class_at_once_and_leaves_no_process_behind(tmp_path):
    """Ctrl-C while a stubborn endless loop runs under a 60 s limit: the command ends
    within seconds with status 130, and the student's process is gone too."""
    folder = tmp_path / "ctrl_c_class"
    folder.mkdir()
    for name in ("ann", "ben", "cat"):
        (folder / f"{name}.py").write_text(ODD["loops_stubbornly.py"][0], encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "minimixer", "check", str(folder), "--timeout", "60", "--jobs", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)),
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not _processes_mentioning(str(folder / "ann.py")) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # the student's process is inside its endless loop now
        started = time.perf_counter()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 130, out + err
        assert time.perf_counter() - started < 10 and "interrupted" in err and "Traceback" not in err
        assert _processes_mentioning(str(folder)) == {}
    finally:  # a failure must not leave the endless loops running
        _kill([process.pid, *_processes_mentioning(str(folder))])


def test_python_dash_m_minimixer_dot_check_is_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minimixer.check", str(solution_path(E["patches"]))],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout


def test_a_skeleton_run_directly_checks_itself(tmp_path):
    skeleton = ROOT / "lessons" / "exercises" / E["token_mixing"].skeleton
    result = subprocess.run([sys.executable, str(skeleton)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 1 and "not written yet" in result.stdout, result.stdout + result.stderr


def test_the_readme_and_the_guide_show_the_exit_statuses():
    for doc in (ROOT / "lessons" / "README.md", ROOT / "lessons" / "TEACHING.md"):
        text = doc.read_text(encoding="utf-8")
        assert "--csv" in text and "exit" in text.lower(), doc
    assert textwrap.dedent(command.__doc__).count("Exit status") == 1
