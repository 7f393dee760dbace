"""Session fixtures for the Otter tests: each lesson's autograder.zip, exports and bulk results, made once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from autograder import grade
from autograder.lessons import Lesson
from autograder.otter.autograder_zip import build_autograder_zip
from tests.otter.exports import LessonExports, gradable_lessons, make_exports


@pytest.fixture(scope="session")
def autograder_zip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Lesson], Path]:
    """``autograder_zip(lesson)`` -> the lesson's autograder.zip (built once per session)."""
    made: dict[int, Path] = {}

    def get(lesson: Lesson) -> Path:
        if lesson.number not in made:
            folder = tmp_path_factory.mktemp(f"autograder-{lesson.number}")
            made[lesson.number] = build_autograder_zip(lesson, folder / "autograder.zip")
        return made[lesson.number]
    return get


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Lesson], LessonExports]:
    """``exports(lesson)`` -> the starter's and the reference's export zips (made once)."""
    made: dict[int, LessonExports] = {}

    def get(lesson: Lesson) -> LessonExports:
        if lesson.number not in made:
            made[lesson.number] = make_exports(lesson, tmp_path_factory.mktemp(f"exports-{lesson.number}"))
        return made[lesson.number]
    return get


@pytest.fixture(scope="session")
def bulk(exports, tmp_path_factory: pytest.TempPathFactory) -> Callable[[Lesson, str], dict]:
    """``bulk(lesson, variant)`` -> the results.json ``python -m autograder grade`` writes for
    that export. Every lesson's exports are graded in one run, on first use."""
    made: dict[tuple[int, str], dict] = {}

    def get(lesson: Lesson, variant: str) -> dict:
        if not made:
            root = tmp_path_factory.mktemp("bulk")
            inputs = root / "in"
            inputs.mkdir()
            lessons = gradable_lessons()
            for each in lessons:
                for name, path in exports(each).zips.items():
                    shutil.copyfile(path, inputs / f"lesson{each.number}-{name}.zip")
            grade.main(submissions=[inputs], out=root / "out", jobs=2,
                       lessons=",".join(str(each.number) for each in lessons), echo=lambda _line: None)
            for result in (root / "out").glob("*/results.json"):
                number, name = result.parent.name.removeprefix("lesson").split("-", 1)
                made[(int(number), name)] = json.loads(result.read_text(encoding="utf-8"))
        return made[(lesson.number, variant)]
    return get
