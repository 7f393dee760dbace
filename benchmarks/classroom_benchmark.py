"""How long the Classroom check's commands take on the reference, against the alternatives.

Builds the student release, copies every lesson's reference file in, and times, in that folder
with this Python (the install step is left out: it is the same for all three):

- **per task, one test run** (the workflow as released): ``python -m coursekit.classroom run``,
  then every task's ``python -m coursekit.classroom check N.M``, read from the workflow itself;
- **per lesson** (the workflow before per-task credit): for each lesson, the setup command
  ``python -c "import coursekit.harness"`` and ``cd <lesson> && python -m pytest -q``;
- **per task, one pytest each** (the obvious design, not taken): for each task,
  ``python -m pytest -q <that task's tests>``.

Prints wall-clock and CPU seconds of each (CPU time moves less with the machine's load) and the load. ``python benchmarks/classroom_benchmark.py``
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.lessons import SOLUTIONS_DIR  # noqa: E402
from autograder.release import build_tree  # noqa: E402
from autograder.release.classroom import COMMAND_GRADER, JOB_ID, RUN_COMMAND, WORKFLOW_PATH  # noqa: E402
from coursekit.classroom import REPORT  # noqa: E402

OLD_SETUP = 'python -c "import coursekit.harness"'


class Clock:
    """Wall-clock and CPU seconds (user + system, of the commands' processes) spent in ``shell``."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def shell(self, command: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1",
               "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, timeout=900)
        self.wall += time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    def __str__(self) -> str:
        return f"{self.wall:6.1f} s wall, {self.cpu:6.1f} s CPU"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gf-classroom-bench-") as tmp:
        release = Path(tmp) / "release"
        lessons = build_tree(release)
        for lesson in lessons:
            shutil.copyfile(SOLUTIONS_DIR / lesson.relative_path, release / lesson.relative_path)
        steps = yaml.safe_load((release / WORKFLOW_PATH).read_text())["jobs"][JOB_ID]["steps"]
        checks = [step["with"]["command"] for step in steps if step.get("uses") == COMMAND_GRADER]

        load = os.getloadavg()[0]
        run, graders = Clock(), Clock()
        run.shell(RUN_COMMAND, release)
        for command in checks:
            graders.shell(command, release)
        report = json.loads((release / REPORT).read_text())

        per_lesson = Clock()
        for lesson in lessons:
            per_lesson.shell(OLD_SETUP, release)
            per_lesson.shell(f"cd {lesson.folder} && python -m pytest -q", release)

        by_task: dict[str, list[str]] = {}
        for test in report["tests"]:
            by_task.setdefault(test["task"], []).append(test["nodeid"])
        one_pytest_each = Clock()
        for ids in by_task.values():
            one_pytest_each.shell("python -m pytest -q " + " ".join(f'"{n}"' for n in ids), release)

    print(f"Classroom check on the reference: {len(checks)} task steps, {len(report['tests'])} public tests; "
          f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, {os.cpu_count()} cores")
    print(f"  per task, one test run (released): test run {run}; {len(checks)} task steps {graders}")
    print(f"  per lesson (before):                {per_lesson}  ({len(lessons)} lessons, setup + pytest each)")
    print(f"  per task, one pytest each:          {one_pytest_each}  ({len(by_task)} pytest runs)")
    wall, cpu = run.wall + graders.wall - per_lesson.wall, run.cpu + graders.cpu - per_lesson.cpu
    print(f"  released minus before: {wall:+.1f} s wall, {cpu:+.1f} s CPU (the goal: less than +30 s)")

if __name__ == "__main__":
    main()
