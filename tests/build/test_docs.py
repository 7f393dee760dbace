"""docs/ holds the contract; its generated pages must match the code they describe."""

from __future__ import annotations

import re

from autograder.build import docs
from autograder.lessons import LESSONS, REPO_ROOT


def test_generated_docs_are_up_to_date():
    stale = docs.stale_files()
    assert not stale, ("docs/ is out of date; run `python -m autograder build` and commit: "
                       + ", ".join(stale))


def test_every_lesson_page_lists_its_api_tasks_and_points():
    pages = docs.pages()
    for lesson in LESSONS:
        page = pages[docs.lesson_page_name(lesson)]
        assert f"**{lesson.points} points**" in page
        solution = (REPO_ROOT / "solutions" / lesson.folder / lesson.student_file).read_text()
        tasks = set(re.findall(r"TODO\(task (\d+\.\d+)\)", solution))
        assert tasks and all(f"task {task}" in page for task in tasks), lesson.folder


def test_no_answer_reaches_the_docs():
    page = docs.pages()["lesson-1.md"]
    solution = (REPO_ROOT / "solutions" / LESSONS[0].folder / LESSONS[0].student_file).read_text()
    answers = re.findall(r'^(Q\d+) = ("?[^"\s]+"?)  # SOLUTION$', solution, flags=re.M)
    assert answers
    for name, value in answers:
        assert f"{name} = {value}" not in page
    assert "`Q1`" in page


def test_the_contract_lives_in_the_repository():
    """A clone has no outside SPEC.md: README, CONTRIBUTING, docs and code point to docs/ instead."""
    offenders = []
    for path in [*REPO_ROOT.glob("*.md"), *(REPO_ROOT / "docs").glob("*.md"),
                 *(REPO_ROOT / "autograder").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if "SPEC.md" in text or "SPEC §" in text:
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert not offenders


def test_the_readme_lesson_table_matches_the_registry():
    """README's table is the one hand-kept copy of the registry (CONTRIBUTING, "Adding a lesson")."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| `([^`]+)` \| (?:`([^`]+)`|[^|]*?) \| (\d+) \|$", readme, re.M)
    assert rows == [(str(l.number), l.folder, l.student_file, l.notebook or "", str(l.points)) for l in LESSONS]
