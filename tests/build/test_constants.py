"""Answer constants: ``Q3 = "B"  # SOLUTION`` lines lose their value in the starter; misuse is a build error."""

import ast

import pytest

from autograder.build.constants import AnswerMarkerError, strip_answer_constants

SOURCE = '''"""A concept check."""

import torch

# Q1. Which one?
#       A) this  B) that
Q1 = "B"  # SOLUTION

# Q2. (numeric) How many?
Q2 = 236.0  # SOLUTION
Q3: float | None = 2 ** 10   #   SOLUTION
Q4 = "#"  # SOLUTION
NOT_AN_ANSWER = 3  # a normal comment, not a marker
TOLERANCE = 1e-4


def f(x):
    # TODO(task 9.1): return x.
    # BEGIN SOLUTION
    return x
    # END SOLUTION
'''


def constants(source: str) -> dict:
    """The module-level ``NAME = literal`` assignments of ``source``."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            found[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign):
            found[node.target.id] = ast.literal_eval(node.value)
    return found


def test_marked_values_become_none_and_the_marker_goes():
    starter = strip_answer_constants(SOURCE)
    values = constants(starter)
    assert values["Q1"] is None and values["Q2"] is None and values["Q3"] is None and values["Q4"] is None
    assert "SOLUTION\n" not in starter.replace("# END SOLUTION\n", "").replace("# BEGIN SOLUTION\n", "")
    for leaked in ('"B"', "236.0", "2 ** 10", '"#"'):
        assert leaked not in starter


def test_annotations_questions_and_unmarked_lines_are_kept():
    starter = strip_answer_constants(SOURCE)
    assert "Q3: float | None = None\n" in starter
    assert "# Q1. Which one?\n#       A) this  B) that\n" in starter
    assert "NOT_AN_ANSWER = 3  # a normal comment, not a marker\n" in starter
    assert "TOLERANCE = 1e-4\n" in starter


def test_solution_blocks_are_left_for_the_block_stripper():
    starter = strip_answer_constants(SOURCE)
    assert "    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n" in starter


def test_only_marked_lines_change():
    starter = strip_answer_constants(SOURCE)
    before, after = SOURCE.splitlines(), starter.splitlines()
    assert len(before) == len(after)
    changed = [b for b, a in zip(before, after) if b != a]
    assert [line.split("=")[0].split(":")[0].strip() for line in changed] == ["Q1", "Q2", "Q3", "Q4"]


def test_line_endings_are_preserved():
    assert strip_answer_constants('Q1 = "A"  # SOLUTION\r\nX = 1\r\n') == "Q1 = None\r\nX = 1\r\n"
    assert strip_answer_constants('Q1 = "A"  # SOLUTION') == "Q1 = None"


def test_source_without_markers_is_unchanged():
    unmarked = SOURCE.replace("  # SOLUTION", "").replace("   #   SOLUTION", "")
    assert strip_answer_constants(unmarked) == unmarked


@pytest.mark.parametrize("line", [
    '    Q1 = "B"  # SOLUTION',                 # indented: not a module-level constant
    'Q1 = (  # SOLUTION',                       # the value goes on over several lines
    'return 3  # SOLUTION',                     # not an assignment
    'Q1 = Q2 = "B"  # SOLUTION',                # chained assignment
    'Q1 += 1  # SOLUTION',                      # augmented assignment
    'Q1 =  # SOLUTION',                         # no value
])
def test_a_misplaced_marker_is_a_build_error_naming_the_line(line):
    source = f"import torch\n\n{line}\n"
    with pytest.raises(AnswerMarkerError, match=r"concept_check\.py:3: .*one-line, module-level answer"):
        strip_answer_constants(source, "concept_check.py")


def test_comment_lines_and_solution_block_markers_are_not_answer_markers():
    source = "# SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n# the answer: see # SOLUTION\n"
    assert strip_answer_constants(source) == source
