"""The GitHub Classroom autograding workflow of the student repository (``.github/workflows/classroom.yml``).

It follows the format GitHub Classroom writes for a template repository today: one job
``run-autograding-tests`` that skips the Classroom bot's own commits, one
``classroom-resources/autograding-command-grader@v1`` step per lesson (a zero exit code earns
``max-score``), and a final ``classroom-resources/autograding-grading-reporter@v1`` step that
reads each grader's base64 result from the environment variable ``<STEP ID IN CAPITALS>_RESULTS``
and reports the total to Classroom.

Only the *public* tests run there: the student can read them anyway. The hidden suites stay with
the TA's bulk grader (``python -m autograder grade``).

The command grader runs ``setup-command`` and ``command`` through a shell with a reduced
environment (``PATH`` and ``HOME`` survive; a virtual environment's activation does not), so
the course is installed into the runner's Python in an ordinary step before the graders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.lessons import Lesson

WORKFLOW_PATH = ".github/workflows/classroom.yml"
JOB_ID = "run-autograding-tests"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
PYTHON_VERSION = "3.11"
TEST_TIMEOUT_MINUTES = 10
# CPU wheels: the default torch wheels on Linux pull in gigabytes of CUDA libraries.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
SETUP_COMMAND = 'python -c "import coursekit.harness"'

_STEP_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class GraderStep:
    """One ``autograding-command-grader`` step: a lesson's public tests, worth its points."""

    lesson: Lesson

    @property
    def step_id(self) -> str:
        """``lesson2``: a valid step id whose capitalised form prefixes a valid variable name."""
        step_id = self.lesson.key
        assert _STEP_ID.match(step_id), step_id
        return step_id

    @property
    def env_name(self) -> str:
        """The variable the reporter reads this step's result from, e.g. ``LESSON2_RESULTS``."""
        return f"{self.step_id.upper()}_RESULTS"

    @property
    def title(self) -> str:
        words = self.lesson.slug.replace("-", " ")
        return f"Lesson {self.lesson.number} - {words[0].upper()}{words[1:]}"

    @property
    def command(self) -> str:
        """Run the lesson's public tests from its folder (the pytest config is at the repository root)."""
        return f"cd {self.lesson.folder} && python -m pytest -q"


def _quote(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_workflow(lessons: tuple[Lesson, ...] | list[Lesson]) -> str:
    """The workflow text for ``lessons`` (at least one), in lesson order."""
    steps = [GraderStep(lesson) for lesson in sorted(lessons, key=lambda l: l.number)]
    if not steps:
        raise ValueError("a Classroom workflow needs at least one lesson")
    lines = [
        "# GitHub Classroom autograding: runs the public tests of each lesson on every push.",
        "# Generated with the course release: a new release overwrites it.",
        "name: Autograding Tests",
        '"on":',
        "  - push",
        "  - workflow_dispatch",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        f"  {JOB_ID}:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v5",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v6",
        "        with:",
        f"          python-version: {_quote(PYTHON_VERSION)}",
        "      - name: Install the course (CPU-only PyTorch)",
        "        run: |",
        "          python -m pip install --upgrade pip",
        f"          python -m pip install torch torchvision --index-url {TORCH_CPU_INDEX}",
        "          python -m pip install -e .",
    ]
    for step in steps:
        lines += [
            f"      - name: {_quote(step.title)}",
            f"        id: {step.step_id}",
            f"        uses: {COMMAND_GRADER}",
            "        with:",
            f"          test-name: {_quote(step.title + ' (public tests)')}",
            f"          setup-command: {_quote(SETUP_COMMAND)}",
            f"          command: {_quote(step.command)}",
            f"          timeout: {TEST_TIMEOUT_MINUTES}",
            f"          max-score: {step.lesson.points}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
    ]
    lines += [f'          {step.env_name}: "${{{{steps.{step.step_id}.outputs.result}}}}"' for step in steps]
    lines += [
        "        with:",
        f"          runners: {','.join(step.step_id for step in steps)}",
    ]
    return "\n".join(lines) + "\n"
