"""assignments/ is generated from solutions/: the committed copy must be up to date."""

import ast

from autograder.build.assignments import stale_files
from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, SOLUTIONS_DIR


def test_committed_assignments_match_a_fresh_build():
    stale = stale_files()
    assert not stale, ("assignments/ is out of date with solutions/; run `python -m autograder build` "
                       "and commit:\n" + "\n".join(stale))


def test_every_lesson_with_a_solution_has_a_starter_whose_stubs_raise():
    for lesson in LESSONS:
        solution = SOLUTIONS_DIR / lesson.folder / lesson.student_file
        if not solution.exists():
            continue
        starter = ASSIGNMENTS_DIR / lesson.folder / lesson.student_file
        tree = ast.parse(starter.read_text())
        messages = [node.exc.args[0].value for node in ast.walk(tree)
                    if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and getattr(node.exc.func, "id", "") == "NotImplementedError"
                    and node.exc.args and isinstance(node.exc.args[0], ast.Constant)]
        assert messages, f"{starter} has no stubs"
        assert all(m.startswith(f"Task {lesson.number}.") for m in messages), messages
