"""The teacher's material stays complete as the lessons and exercises change.

* the answer key (lessons/exercises/solutions/TRY_THIS.md) answers every "Try this"
  question of every lesson: as many numbered answers as the lesson has questions;
* the course plan (lessons/TEACHING.md) gives every session its objectives,
  prerequisites, lessons with run times, exercises with check times and study time,
  and uses every lesson and every exercise;
* the guide's table of exercises agrees with the checker's registry.
"""

import re
from pathlib import Path

import pytest

from minimixer import check

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
GUIDE = (LESSONS / "TEACHING.md").read_text(encoding="utf-8")
KEY = (LESSONS / "exercises" / "solutions" / "TRY_THIS.md").read_text(encoding="utf-8")
LEVELS = {"easy": "Easy", "moderate": "Moderate", "hard": "Hard"}
SCRIPTS = [p for level in LEVELS for p in sorted((LESSONS / level).glob("[0-9]*.py"))]


def _short_name(script: Path) -> str:
    """easy/03_train_a_mixer.py -> "Easy 3", as the answer key's headings and the lessons' titles say."""
    return f"{LEVELS[script.parent.name]} {int(script.stem[:2])}"


def _questions(script: Path) -> list:
    """The numbers of the lesson's "Try this" questions, in order."""
    text = script.read_text(encoding="utf-8")
    section = text[text.index("# ## Try this"):]
    section = re.split(r"\n# %%|\n# ## ", section[1:])[0]
    return [int(n) for n in re.findall(r"^# (\d+)\. ", section, flags=re.M)]


def _answers(short_name: str) -> list:
    """The numbers of the answers under the answer key's heading for one lesson."""
    found = re.search(rf"^## {short_name} · .*?$(.*?)(?=^## |\Z)", KEY, flags=re.M | re.S)
    assert found, f"the answer key has no section for {short_name}"
    return [int(n) for n in re.findall(r"^(\d+)\. ", found.group(1), flags=re.M)]


def _sessions() -> list:
    return re.findall(r"^### (Session \d+.*?)$(.*?)(?=^##)", GUIDE, flags=re.M | re.S)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_try_this_question_has_an_answer(script):
    questions = _questions(script)
    assert questions == list(range(1, len(questions) + 1)) and len(questions) >= 3, questions
    assert _answers(_short_name(script)) == questions


def test_the_answer_key_has_a_section_per_lesson_and_no_other():
    headings = re.findall(r"^## (\w+ \d+) · ", KEY, flags=re.M)
    assert headings == [_short_name(script) for script in SCRIPTS]
    assert f"the {len(SCRIPTS)} lessons" in KEY


def test_every_session_of_the_course_plan_is_complete():
    sessions = _sessions()
    assert len(sessions) >= 5
    for title, body in sessions:
        for field in ("Objectives.", "Prerequisites.", "Lessons.", "Study time."):
            assert f"**{field}**" in body, f"{title}: no {field}"
        exercises = re.search(r"\*\*Exercises?\.\*\* (.*)", body)
        assert exercises and re.search(r"Checks?: [\d.]+ s", exercises.group(1)), f"{title}: no exercise or check time"
        lessons = re.search(r"\*\*Lessons\.\*\* (.*?)(?=\n\* )", body, flags=re.S).group(1)
        assert "Revisit" in lessons or re.search(r"\(\d[^)]* s /", lessons), f"{title}: lessons without run times"


def test_the_course_plan_uses_every_lesson_and_every_exercise():
    lessons_used, exercises_used = set(), set()
    for _, body in _sessions():
        lessons = re.search(r"\*\*Lessons\.\*\* (.*?)(?=\n\* )", body, flags=re.S).group(1)
        lessons_used |= set(re.findall(r"\b([EMH]\d)\b", lessons))
        exercises = re.search(r"\*\*Exercises?\.\*\* (.*)", body).group(1)
        exercises_used |= {int(n) for n in re.findall(r"\b(\d)\b \(", exercises)}
    assert lessons_used == {_short_name(s)[0] + _short_name(s).split()[1] for s in SCRIPTS}
    assert exercises_used == {e.number for e in check.EXERCISES.values()}


def test_the_guides_table_of_exercises_matches_the_checker():
    rows = re.findall(r"^\| (\d+) \| `(\d\d_\w+\.py)`: .*? \| (\w+) \| .*? \| (\d+) \| (\d+) \|$", GUIDE, flags=re.M)
    assert len(rows) == len(check.EXERCISES)
    for (number, skeleton, level, checks, mistakes), exercise in zip(rows, check.EXERCISES.values()):
        assert (int(number), skeleton, level) == (exercise.number, exercise.skeleton, exercise.level)
        assert (int(checks), int(mistakes)) == (len(exercise.checks), len(exercise.mistakes)), skeleton
