"""The book's exercise pages say truly what the checker reports for an untouched skeleton.

Each page shows the checker's report on the skeleton as handed out, with one sentence
above it summing that report up. The sentence is built from the report, and these
tests hold it to the printed report line by line: as many FAIL, PASS and SKIP lines
as it says. They need only the standard library and minimixer (no `docs` extra).
"""

import re

import pytest
from docs_support import load_build_script

BUILD = load_build_script()
LABELS = {"fail": "FAIL", "pass": "PASS", "skip": "SKIP"}


def _said(sentence: str, verb: str, total: int) -> int:
    """How many checks the sentence says `verb` ("fail", "pass", "skip"), over all its phrases."""
    pattern = rf"(all {total}|\d+ of the {total}|the one) checks? (?:are |is )?{verb}"
    counts = [m.group(1) for m in re.finditer(pattern, sentence)]
    return sum(total if c.startswith(("all", "the one")) else int(c.split()[0]) for c in counts)


def test_the_sentence_names_every_kind_of_result():
    checks = [dict(name="a", status="failed", detail="`f` is not written yet (it raises NotImplementedError)."),
              dict(name="b", status="failed", detail="`f` is not written yet (it raises NotImplementedError)."),
              dict(name="c", status="failed", detail="f(x) is wrong: 3 of 4 values differ"),
              dict(name="d", status="passed", detail=""),
              dict(name="e", status="skipped", detail="not judged yet: no other check passes.")]
    sentence = BUILD._untouched_summary(checks)
    assert '2 of the 5 checks fail with "not written yet"' in sentence
    assert "1 of the 5 checks fails for another reason" in sentence
    assert '1 of the 5 checks passes already ("d")' in sentence
    assert '1 of the 5 checks is skipped ("e")' in sentence
    assert [_said(sentence, verb, 5) for verb in LABELS] == [3, 1, 1]


def test_a_report_where_everything_fails_says_all():
    checks = [dict(name=n, status="failed", detail="not written yet (NotImplementedError).") for n in "abc"]
    sentence = BUILD._untouched_summary(checks)
    assert 'all 3 checks fail with "not written yet"' in sentence
    assert "pass" not in sentence and "skipped" not in sentence


@pytest.mark.parametrize("skeleton", BUILD.exercises(), ids=lambda p: p.stem)
def test_each_exercise_page_sums_up_the_report_it_shows(skeleton):
    printed, checks = BUILD._checker_report(skeleton)
    page = BUILD._exercise_page(skeleton, printed, checks)
    sentence = BUILD._untouched_summary(checks)
    assert sentence in page and printed.strip() in page
    lines = printed.splitlines()
    total = sum(line.startswith(("  FAIL", "  PASS", "  SKIP")) for line in lines)
    assert total == len(checks) > 0
    for verb, label in LABELS.items():
        shown = sum(line.startswith(f"  {label}") for line in lines)
        assert _said(sentence, verb, total) == shown, (verb, sentence, printed)
    assert "wrote " not in printed  # the checker's note about the JSON file stays off the page
