"""Seed sweep: does a hidden suite ever fail CORRECT code, depending on the seed?

Each submission's hidden tests are seeded from the course secret and the file's bytes
(:mod:`autograder.seeds`), so every student gets different random inputs. A statistical check
that fails correct code on 1 seed in 300 fails dozens of students in a 10,000-submission course,
and CI, which sees a handful of seeds, never notices. This script grades one correct lesson file
(the reference by default, or the lesson's correct alternatives ``tests/alternatives/lessonN_*.py``)
under N course secrets, ``lesson_seeds(b"sweep-<i>", lesson, content)`` for i in
``first .. first+N-1``, through :func:`autograder.runner.run_test`, so each test is seeded
exactly as in grading. Every seed gets a fresh in-process worker
(:func:`autograder.proxy.in_process_handles`: no sandbox, fine for trusted code only), so
``@shared`` results are computed per seed, as in a real run.

It asserts nothing; it prints, per test, failures/N and the first failure (its secret index,
its seeds and the message), then the time per seed::

    python benchmarks/seed_sweep.py --lesson 1 -n 500
    python benchmarks/seed_sweep.py --lesson 3 -n 500 --skip-slow
    python benchmarks/seed_sweep.py --lesson 3 -n 100 --tests 3.7
    python benchmarks/seed_sweep.py --lesson 4 -n 100 --alternatives

``--skip-slow`` leaves out the tests that the suite gives more than the default time (those that
train a model, about 1 s each, lesson 4's UMAP, about 6 s, lesson 3's importance sampling on the
exact model and lesson 1's sampling statistics). Run long sweeps under ``nice -n 19`` on a shared machine.
Not part of ``python -m benchmarks`` (its defaults would sweep for hours): run it directly.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

from autograder.lessons import SOLUTIONS_DIR, Lesson, lesson_by_number  # noqa: E402
from autograder.proxy import in_process_handles  # noqa: E402
from autograder.runner import run_test  # noqa: E402
from autograder.seeds import lesson_seeds  # noqa: E402
from autograder.suite import DEFAULT_TEST_TIMEOUT, GradedTest, load_suite, prepare_suites  # noqa: E402
from tests.mutants.catalog import all_alternatives  # noqa: E402


def sweep_secret(index: int) -> bytes:
    """The course secret of sweep run ``index`` (any distinct bytes give independent seeds)."""
    return f"sweep-{index}".encode("ascii")


def selected_tests(lesson: Lesson, substring: str, skip_slow: bool) -> list[GradedTest]:
    """The lesson's graded tests whose name or id contains one of the comma-separated parts of
    ``substring`` (all for ""), or whose task one is (``"3.7"``), less the
    slow ones (those the suite gives more than the default time) when ``skip_slow``."""
    tests = load_suite(lesson)
    if skip_slow:
        tests = [t for t in tests if t.timeout <= DEFAULT_TEST_TIMEOUT]
    needles = [part.strip().lower() for part in substring.split(",")]
    return [t for t in tests if any(needle in t.name.lower() or needle in t.id.lower() or needle == t.task
                                    for needle in needles)]


def sweep_file(lesson: Lesson, file: Path, tests: list[GradedTest], n: int, first: int) -> None:
    """Grade ``file`` under secrets first .. first+n-1 and print what failed."""
    content = file.read_bytes()
    failures: dict[str, int] = defaultdict(int)
    first_failure: dict[str, str] = {}
    seconds: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    for index in range(first, first + n):
        seeds = lesson_seeds(sweep_secret(index), lesson.number, content)
        _, _, client = in_process_handles(str(file), lesson.module_name)  # fresh worker per seed
        for test in tests:
            began = time.perf_counter()
            result = run_test(test, client, float("inf"), seeds)
            seconds[test.id] += time.perf_counter() - began
            if result.status != "passed":
                failures[test.id] += 1
                if test.id not in first_failure:
                    first_failure[test.id] = (f"secret {index} (grader seed {seeds.grader}, worker seed "
                                              f"{seeds.worker}), {result.status}: {result.output}")
                    print(f"  ! {test.id} failed at secret {index}: {result.output[:300]}", flush=True)
        done = index - first + 1
        if done % 50 == 0 or done == n:
            print(f"  ... {done}/{n} seeds, {sum(failures.values())} failures, "
                  f"{(time.perf_counter() - start) / done:.2f} s per seed", flush=True)
    wall = time.perf_counter() - start
    print(f"\n{file.relative_to(REPO_ROOT)}: lesson {lesson.number}, {len(tests)} tests x {n} seeds "
          f"(secrets {first}..{first + n - 1}), {wall / n:.2f} s per seed")
    width = max(len(t.id) for t in tests)
    for test in tests:
        count = failures[test.id]
        print(f"  {test.id:<{width}}  {count:>4}/{n}  {seconds[test.id] / n * 1000:7.1f} ms/seed"
              + (f"  FAILS {count / n:.2%}" if count else ""))
    for test in tests:
        if test.id in first_failure:
            print(f"\n  first failure of {test.id}: {first_failure[test.id]}")
    print(flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", type=int, required=True, help="lesson number")
    parser.add_argument("--file", type=Path, default=None,
                        help="the correct lesson file to sweep (default: the reference in solutions/)")
    parser.add_argument("--alternatives", action="store_true",
                        help="sweep each correct alternative tests/alternatives/lessonN_*.py instead")
    parser.add_argument("-n", type=int, default=100, help="number of seeds (default 100)")
    parser.add_argument("--first", type=int, default=0, help="index of the first secret (default 0)")
    parser.add_argument("--tests", default="", help="only tests whose name or id contains one of these comma-separated words, "
                             "or of one of these tasks (e.g. slerp,3.7)")
    parser.add_argument("--skip-slow", action="store_true",
                        help="skip the tests with more than the default time (training, UMAP, ...)")
    args = parser.parse_args(argv)

    lesson = lesson_by_number(args.lesson)
    torch.set_num_threads(1)  # as a worker and the trusted side run
    prepare_suites((lesson,))
    tests = selected_tests(lesson, args.tests, args.skip_slow)
    if not tests:
        raise SystemExit("no test of the lesson matches --tests")
    if args.alternatives:
        files = [path for _, number, path in all_alternatives() if number == lesson.number]
    else:
        files = [args.file or SOLUTIONS_DIR / lesson.folder / lesson.student_file]
    for file in files:
        sweep_file(lesson, file.resolve(), tests, args.n, args.first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
