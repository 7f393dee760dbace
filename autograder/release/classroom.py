"""The GitHub Classroom autograding workflow of the student repository (``.github/workflows/classroom.yml``).

It follows the format GitHub Classroom writes for a template repository today: one job
``run-autograding-tests`` that skips the Classroom bot's own commits,
``classroom-resources/autograding-command-grader@v1`` steps (a zero exit code earns the step's
``max-score``, a whole number), and a final ``classroom-resources/autograding-grading-reporter@v1``
step that reads each grader's base64 result from the environment variable
``<STEP ID IN CAPITALS>_RESULTS`` and reports the total to Classroom.

Credit is per task (:mod:`.tasks`): one grader step per task, titled ``Task 2.1 — Encoder`` so
that the Actions log reads as the student's checklist, worth the task's points in the grade; the
steps add up to the course total. The public tests run once, in an ordinary step before the
graders (``python -m coursekit.classroom run``: one PyTorch import for the whole check); each
task's grader then reads their report (``python -m coursekit.classroom check 2.1``: no PyTorch,
no pytest). A grader per task running pytest itself would import PyTorch once per task, about
2 s each, for some thirty tasks.

Only the *public* tests run there, in a repository the student controls: the Classroom score is
a convenience, not the grade of record. The hidden suites stay with the TA's bulk grader
(``python -m autograder grade``).

The install step caches pip's downloads (``actions/setup-python``'s ``cache: pip``, keyed on
``pyproject.toml``), so a push re-installs PyTorch from the cache instead of downloading it.
The command grader runs ``command`` through a shell with a reduced environment (``PATH`` and
``HOME`` survive; a virtual environment's activation does not), so the course is installed into
the runner's Python.
"""

from __future__ import annotations

from pathlib import Path

from autograder.lessons import ASSIGNMENTS_DIR, Lesson
from autograder.release.tasks import Task, lesson_tasks
from coursekit.classroom import RUN_STEP

WORKFLOW_PATH = ".github/workflows/classroom.yml"
JOB_ID = "run-autograding-tests"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
PYTHON_VERSION = "3.11"
RUN_TIMEOUT_MINUTES = 15
CHECK_TIMEOUT_MINUTES = 1
# CPU wheels: the default torch wheels on Linux pull in gigabytes of CUDA libraries.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
RUN_COMMAND = "python -m coursekit.classroom run"


def check_command(task: Task) -> str:
    """The command of a task's grader step: pass when every public test of the task passed."""
    return f"python -m coursekit.classroom check {task.id}"


def _quote(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_workflow(lessons: tuple[Lesson, ...] | list[Lesson], assignments: Path = ASSIGNMENTS_DIR) -> str:
    """The workflow text for ``lessons`` (at least one): one grader step per task, in task order."""
    tasks = [task for lesson in sorted(lessons, key=lambda l: l.number)
             for task in lesson_tasks(lesson, assignments)]
    if not tasks:
        raise ValueError("a Classroom workflow needs at least one lesson")
    lines = [
        "# GitHub Classroom autograding: runs the public tests on every push and credits each task",
        "# whose public tests all pass with its points. Generated with the course release: a new",
        "# release overwrites it.",
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
        "      - name: Set up Python (with pip's download cache)",
        "        uses: actions/setup-python@v6",
        "        with:",
        f"          python-version: {_quote(PYTHON_VERSION)}",
        "          cache: pip",
        "          cache-dependency-path: pyproject.toml",
        "      - name: Install the course (CPU-only PyTorch)",
        "        run: |",
        f"          python -m pip install torch torchvision --index-url {TORCH_CPU_INDEX}",
        "          python -m pip install -e .",
        f"      - name: {_quote(RUN_STEP + ' (every lesson, once)')}",
        "        continue-on-error: true",
        f"        timeout-minutes: {RUN_TIMEOUT_MINUTES}",
        f"        run: {RUN_COMMAND}",
    ]
    for task in tasks:
        lines += [
            f"      - name: {_quote(task.heading)}",
            f"        id: {task.step_id}",
            f"        uses: {COMMAND_GRADER}",
            "        with:",
            f"          test-name: {_quote(task.heading)}",
            f"          command: {_quote(check_command(task))}",
            f"          timeout: {CHECK_TIMEOUT_MINUTES}",
            f"          max-score: {task.points}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
    ]
    lines += [f'          {task.step_id.upper()}_RESULTS: "${{{{steps.{task.step_id}.outputs.result}}}}"'
              for task in tasks]
    lines += [
        "        with:",
        f"          runners: {','.join(task.step_id for task in tasks)}",
    ]
    return "\n".join(lines) + "\n"
