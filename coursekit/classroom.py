"""The GitHub Classroom check of your repository: public tests run once, credit given per task.

The workflow ``.github/workflows/classroom.yml`` runs two kinds of step:

1. ``python -m coursekit.classroom run`` runs every lesson's public tests once (one Python, one
   PyTorch import) and writes what happened to each test, with the task it is marked with
   (``@task("2.1")``), to :data:`REPORT` (JSON, written atomically);
2. one step per task, ``python -m coursekit.classroom check 2.1``, reads that report and passes
   (exit status 0, so Classroom awards the task's points) when every public test of the task
   passed. It prints each test of the task and, for a failed one, its message. It imports
   neither PyTorch nor pytest, so a step costs a fraction of a second.

The Classroom score is a convenience for you, computed from the public tests only, in your own
repository: it is not the grade. Your grade comes from the teaching team's grader, with more
tests, after the deadline.

Run it yourself from the top of the repository: ``python -m coursekit.classroom run``, then
``python -m coursekit.classroom check 2.1``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPORT = Path(".classroom") / "public-tests.json"
REPORT_VERSION = 1
RUN_STEP = "Run the public tests"
MESSAGE_LINES = 12

__all__ = ["REPORT", "RUN_STEP", "TaskReport", "check", "main", "run"]


class TaskReport:
    """A pytest plugin: records each test's task, outcome and first failure message, and writes
    them to ``path`` at the end of the session.

    Shape of the report: ``{"version": 1, "exit_status": int, "tests": [{"nodeid", "task",
    "outcome" ("passed" / "failed" / "skipped"), "message"}], "errors": [{"nodeid", "message"}]}``;
    ``errors`` are test files that could not be collected (their tests are missing from ``tests``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.tasks: dict[str, str | None] = {}
        self.tests: dict[str, dict[str, Any]] = {}
        self.errors: list[dict[str, str]] = []

    def pytest_collection_modifyitems(self, items: list[Any]) -> None:
        from coursekit.pytest_plugin import task_of
        self.tasks = {item.nodeid: task_of(item) for item in items}

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append({"nodeid": report.nodeid, "message": _message(report)})

    def pytest_runtest_logreport(self, report: Any) -> None:
        entry = self.tests.setdefault(report.nodeid, {
            "nodeid": report.nodeid, "task": self.tasks.get(report.nodeid),
            "outcome": "passed", "message": ""})
        if entry["outcome"] != "passed":
            return       # keep the first problem (a teardown error after a failure adds nothing)
        if report.failed:
            entry["outcome"], entry["message"] = "failed", _message(report)
        elif report.skipped:
            entry["outcome"], entry["message"] = "skipped", _message(report)

    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        data = {"version": REPORT_VERSION, "exit_status": int(exitstatus),
                "tests": list(self.tests.values()), "errors": self.errors}
        _atomic_write(self.path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def _message(report: Any) -> str:
    """A skip's reason, or what a failed test says (:func:`coursekit.pytest_plugin.failure_message`)."""
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])           # (file, line, reason)
    from coursekit.pytest_plugin import failure_message
    return failure_message(report)


def _atomic_write(path: Path, text: str) -> None:
    """Readers see no report or a whole one (a temp file, then ``os.replace``). Written here
    rather than imported from the grader's ``report`` module: the student's repository holds
    ``coursekit`` only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(pytest_args: list[str], report: Path = REPORT) -> int:
    """Run the public tests (pytest's configuration decides which) and write the report.

    Returns 0 when the report was written, whatever the tests' outcomes (each task's step
    decides about its own tests), and pytest's exit status when it could not run at all.
    """
    import pytest

    Path(report).unlink(missing_ok=True)      # a stale report must not pass the task steps
    # No tracebacks here: each task's step shows its own tests with their messages.
    status = pytest.main(["--continue-on-collection-errors", "-q", "--tb=no", *pytest_args],
                         plugins=[TaskReport(report)])
    if not Path(report).is_file():
        print(f"pytest stopped before any test ran (exit status {int(status)}): no task can pass.")
        return int(status) or 1
    print("Each task's step below lists its public tests, with the message of each that failed.")
    return 0


def check(task_id: str, report: Path = REPORT) -> int:
    """Print the public tests of ``task_id`` from the report; 0 when there are some and all passed."""
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"Task {task_id}: the public tests did not run (no readable {Path(report).as_posix()}), "
              f"so this task cannot pass here. Look at the step \"{RUN_STEP}\" above.")
        return 1
    tests = [t for t in data.get("tests", []) if t.get("task") == task_id]
    if not tests:
        print(f"Task {task_id}: no public test of this task ran, so it cannot pass here.")
        for error in data.get("errors", []):
            print(f"  {error['nodeid']} could not be loaded:\n{_indent(error['message'])}")
        return 1
    failed = [t for t in tests if t["outcome"] != "passed"]
    print(f"Task {task_id}: {len(tests) - len(failed)} of {len(tests)} public tests passed.")
    for test in tests:
        print(f"  {test['outcome'].upper():7} {test['nodeid']}")
        if test["outcome"] != "passed" and test["message"]:
            print(_indent(test["message"]))
    if failed:
        print("Run one on your machine, from the top of the repository, with\n"
              f"  python -m pytest \"{failed[0]['nodeid']}\"")
    return 1 if failed else 0


def _indent(text: str) -> str:
    lines = text.strip().splitlines()[:MESSAGE_LINES]
    return "\n".join("            " + line for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.classroom", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run every public test once and write the report")
    run_parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")
    check_parser = commands.add_parser("check", help="pass when every public test of a task passed")
    check_parser.add_argument("task", help="a task id, e.g. 2.1")
    args, unknown = parser.parse_known_args(argv)
    if args.command == "run":
        return run(unknown + args.pytest_args)      # options meant for pytest are pytest's to judge
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return check(args.task)


if __name__ == "__main__":
    sys.exit(main())
