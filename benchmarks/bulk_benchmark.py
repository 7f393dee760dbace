"""Bulk grading throughput: this grader vs a naive baseline vs ``otter run`` (issue #7).

Builds N submissions (a realistic mix: correct, partial with some stubs left, a syntax error,
a missing file, an untouched starter, an infinite loop; a third of them as zips) and prints
submissions per minute and the median seconds per submission for:

(a) ``python -m autograder grade DIR --out OUT --jobs J``: one fork server (torch imported
    once), every lesson of every submission in its own fresh, limited worker process;
(b) a naive baseline with no isolation: a fresh interpreter per submission that imports torch
    and runs the same hidden tests in-process (``autograder.proxy.in_process_handles``), J at
    a time, killed after the same time limit;
(c) ``otter run -a <lesson>/autograder.zip <export>.zip`` on a sample of the submissions, when
    ``python -m autograder otter`` exists and makes the zips (skipped with a message otherwise).

With ``--cluster ADDRESS`` (e.g. ``local:2``), (a) is also run on that Dask cluster: its
throughput against ``--jobs``, the overhead, and a projection for 10,000 submissions on N nodes.

Run: ``python benchmarks/bulk_benchmark.py [-n 100] [--jobs J] [--lessons 2,4] [--skip-baseline]
[--cluster local:2]``.
Nothing is asserted: it prints figures (timings depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from autograder.build.stripper import BEGIN, END, StripError, strip_solutions  # noqa: E402
from autograder.lessons import Lesson, parse_lesson_list  # noqa: E402
from autograder.samples import reference_source as reference  # noqa: E402
from autograder.samples import starter_source as starter  # noqa: E402
from autograder.samples import with_infinite_loop  # noqa: E402

KINDS = ("correct", "correct", "correct", "correct", "correct", "correct", "correct", "correct",
         "correct", "correct", "partial", "partial", "partial", "partial", "partial",
         "syntax-error", "missing-file", "starter", "hanging", "partial")


# --- building the submissions -------------------------------------------------------------

def _stub_block(line: str) -> bool:
    """A ``# BEGIN SOLUTION`` line whose block becomes a stub (not a ``REMOVE`` block)."""
    match = BEGIN.match(line)
    return bool(match) and not match.group("remove")


def partial(lesson: Lesson, keep_fraction: float) -> str:
    """The reference with only its first ``keep_fraction`` of solution blocks done; the rest
    are the starter's stubs."""
    lines = reference(lesson).splitlines()
    blocks = sum(1 for line in lines if _stub_block(line))
    keep = int(blocks * keep_fraction)
    out, index, inside_kept = [], 0, False
    for line in lines:
        if _stub_block(line):
            inside_kept = index < keep
            index += 1
            if inside_kept:
                continue
        elif END.match(line) and inside_kept:
            inside_kept = False
            continue
        out.append(line)
    try:
        return strip_solutions("\n".join(out) + "\n")
    except StripError:
        return starter(lesson)


def submission_files(kind: str, number: int, lessons: tuple[Lesson, ...]) -> dict[str, str]:
    files = {}
    for position, lesson in enumerate(lessons):
        if kind == "starter":
            text = starter(lesson)
        elif kind == "partial":
            text = partial(lesson, keep_fraction=((number + position) % 4 + 1) / 5)
        else:
            text = reference(lesson)
        if kind == "syntax-error" and position == 0:
            text += "\n\ndef unfinished(:\n    pass\n"
        if kind == "hanging" and position == 0:
            text = with_infinite_loop(lesson, text)
        if kind == "missing-file" and position == 0:
            continue
        # every student's file differs (as in a real class), so no result is reused from another
        files[f"{lesson.folder}/{lesson.student_file}"] = f"# {kind} submission {number}\n" + text
    files["README.md"] = f"Submission {number} ({kind}).\n"
    return files


def build_submissions(root: Path, n: int, lessons: tuple[Lesson, ...]) -> dict[str, str]:
    """``root/student-NNN/`` folders and ``root/student-NNN.zip`` files; returns name -> kind."""
    kinds = {}
    for number in range(n):
        kind = KINDS[number % len(KINDS)]
        name = f"student-{number:03d}"
        files = submission_files(kind, number, lessons)
        if number % 3 == 2:  # an export zip: the repository's files under one top folder
            with zipfile.ZipFile(root / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
                for relative, text in files.items():
                    zf.writestr(f"assignment-{name}/{relative}", text)
        else:
            for relative, text in files.items():
                path = root / name / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        kinds[name] = kind
    return kinds


# --- (a) this grader --------------------------------------------------------------------

def run_grader(subs: Path, out: Path, lessons: str, jobs: int, timeout: float, cluster: str = ""
               ) -> tuple[float, dict[str, float], dict, str]:
    """(wall seconds, seconds per submission by name, score by name, the run's plan line);
    on a Dask cluster (``--cluster``) instead of ``jobs`` threads when ``cluster`` is given."""
    start = time.perf_counter()
    where = ["--cluster", cluster] if cluster else ["--jobs", str(jobs)]
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
                           "--lessons", lessons, "--timeout", str(timeout), *where],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"the grader failed with exit status {done.returncode}")
    times, scores = {}, {}
    for results in sorted(out.glob("*/results.json")):
        data = json.loads(results.read_text())
        times[results.parent.name] = data["execution_time"]
        scores[results.parent.name] = data["score"]
    plan = next((line.split(": ", 1)[-1] for line in done.stdout.splitlines() if "to grade" in line), "")
    return wall, times, scores, plan


# --- (b) a naive baseline: a fresh interpreter per submission, tests in-process -------------

def baseline_one(path: Path, lessons: str) -> float:
    """Grade one submission in this process, no isolation at all; returns the score."""
    from autograder.proxy import in_process_handles
    from autograder.submission import OpenedSubmission, SubmissionError, locate
    from autograder.suite import load_suite
    import torch

    torch.set_num_threads(1)
    selected = parse_lesson_list(lessons)
    score = 0.0
    try:
        with OpenedSubmission(path) as root:
            located = locate(root, selected)
            for lesson in selected:
                file = located.files.get(lesson.number)
                if file is None:
                    continue
                try:
                    student, harness, client = in_process_handles(str(file), lesson.module_name)
                except Exception:  # noqa: BLE001 - the submission does not import
                    continue
                for test in load_suite(lesson):
                    torch.manual_seed(0)
                    try:
                        client.seed(0)
                        test.fn(student=student, harness=harness)
                        score += test.points
                    except Exception:  # noqa: BLE001 - a failed test
                        pass
    except SubmissionError:
        pass
    return score


def run_baseline(subs: Path, lessons: str, jobs: int, timeout: float, n_lessons: int
                 ) -> tuple[float, list[float], dict]:
    from autograder.submission import expand_inputs

    paths = expand_inputs([subs], parse_lesson_list(lessons))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one core each, like a worker

    def one(path: Path) -> tuple[float, float | None]:
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, __file__, "--baseline-one", str(path),
                                   "--lessons", lessons], cwd=REPO_ROOT, capture_output=True,
                                  text=True, timeout=timeout * n_lessons, env=env)
            score = float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            score = None
        return time.perf_counter() - start, score

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(one, paths))
    wall = time.perf_counter() - start
    return wall, [t for t, _ in outcomes], {p.name.removesuffix(".zip"): s for p, (_, s) in zip(paths, outcomes)}


# --- (c) otter run ------------------------------------------------------------------------

def otter_zips(work: Path, lessons: tuple[Lesson, ...]) -> dict[int, Path] | str:
    """Each notebook lesson's autograder.zip from ``python -m autograder otter``, or why not."""
    from autograder.cli import cli
    if "otter" not in cli.commands:
        return "`python -m autograder otter` does not exist yet"
    out = work / "otter"
    done = subprocess.run([sys.executable, "-m", "autograder", "otter", "--out", str(out),
                           "--lessons", ",".join(str(l.number) for l in lessons)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    zips = {l.number: out / l.folder / "autograder.zip" for l in lessons
            if (out / l.folder / "autograder.zip").is_file()}
    if not zips:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return f"`python -m autograder otter` made no autograder.zip ({' / '.join(tail)})"
    return zips


def otter_sample(subs: Path, kinds: dict[str, str], sample: int) -> list[str]:
    """A fixed random sample of the folder submissions (every kind has the same chance of
    being picked, so the sample has about the run's mix, not only the costliest kind)."""
    folders = [name for name in sorted(kinds) if (subs / name).is_dir()]
    return sorted(random.Random(0).sample(folders, min(sample, len(folders))))


def run_otter(subs: Path, work: Path, names: list[str], lessons: tuple[Lesson, ...],
              zips: dict[int, Path], jobs: int) -> tuple[float, list[float], list[str]]:
    """``otter run`` on export zips (student notebook + lesson file) of the submissions
    ``names``, one run per notebook lesson; returns (wall, seconds per submission, runs that
    gave no result)."""
    otter = shutil.which("otter", path=str(Path(sys.executable).parent)) or "otter"
    failures: list[str] = []

    def one(name: str) -> float:
        total = 0.0
        for lesson in lessons:
            if lesson.number not in zips:
                continue
            export = work / "exports" / name / f"{lesson.number}.zip"
            output = export.parent / f"out-{lesson.number}"
            output.mkdir(parents=True, exist_ok=True)
            notebook = zips[lesson.number].parent / "student" / (lesson.notebook or "")
            with zipfile.ZipFile(export, "w") as zf:
                if notebook.is_file():
                    zf.write(notebook, notebook.name)
                source = subs / name / lesson.folder / lesson.student_file
                if source.is_file():
                    zf.write(source, lesson.student_file)
            start = time.perf_counter()
            done = subprocess.run([otter, "run", "-a", str(zips[lesson.number]), "-o", str(output),
                                   str(export)], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=1800)
            total += time.perf_counter() - start
            try:
                json.loads((output / "results.json").read_text())["score"]
            except (OSError, ValueError, KeyError):
                tail = " / ".join((done.stdout + done.stderr).strip().splitlines()[-2:])
                failures.append(f"{name} lesson {lesson.number}: {tail}")
        return total

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        times = list(pool.map(one, names))
    return time.perf_counter() - start, times, failures


# --- (a') the same grader on a Dask cluster -------------------------------------------------

PROJECTED = 10_000
PROJECTION_NODES = (1, 4, 16, 64)


def report_cluster(args: argparse.Namespace, subs: Path, work: Path, lessons: str, wall_a: float,
                   scores_a: dict) -> None:
    """Grade the same submissions with ``--cluster``; print its throughput against (a), the
    overhead, and a projection for 10,000 submissions from the measured cost per submission."""
    wall, by_name, scores, _ = run_grader(subs, work / "out-cluster", lessons, args.jobs, args.timeout,
                                          cluster=args.cluster)
    times = list(by_name.values())
    print(line(f"(a') --cluster {args.cluster}", len(times), wall, times), flush=True)
    overhead = (wall - wall_a) / wall_a * 100
    same = sum(1 for name, score in scores.items() if scores_a.get(name) == score)
    print(f"    vs (a) --jobs {args.jobs}: {overhead:+.1f}% wall time; same score on {same} of "
          f"{len(scores)} submissions", flush=True)
    core_seconds = wall_a * args.jobs / len(times)  # what one submission costs a core, queueing included
    print(f"    cost: {core_seconds:.2f} core-seconds per submission (from (a)). {PROJECTED:,} "
          f"submissions on nodes of {args.node_cores} cores: " + ", ".join(
              f"{nodes} node{'s' if nodes > 1 else ''} {PROJECTED * core_seconds / (nodes * args.node_cores) / 60:.0f} min"
              for nodes in PROJECTION_NODES), flush=True)


# --- the report ---------------------------------------------------------------------------

def line(label: str, count: int, wall: float, times: list[float]) -> str:
    return (f"{label:<28} {count:4d} in {wall:7.1f} s: {count / wall * 60:7.1f} submissions/min, "
            f"median {statistics.median(times):5.2f} s per submission")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100, help="number of submissions (default 100)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel submissions for every contender (default: the number of cores)")
    parser.add_argument("--lessons", default=None,
                        help="lessons to grade (default: every lesson with a reference and a hidden suite)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per lesson (default 20)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run (b) and (c)")
    parser.add_argument("--otter-sample", type=int, default=8,
                        help="submissions timed with `otter run`, a fixed random sample (default 8; it is slow)")
    parser.add_argument("--cluster", default=None, metavar="ADDRESS",
                        help="also grade on a Dask cluster (e.g. local:2) and compare with --jobs")
    parser.add_argument("--node-cores", type=int, default=32,
                        help="cores per node for the 10,000-submission projection (default 32)")
    parser.add_argument("--keep", type=Path, default=None, help="build and grade under this folder, and keep it")
    parser.add_argument("--baseline-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.baseline_one:
        print(baseline_one(args.baseline_one, args.lessons))
        return 0

    if args.lessons:
        lessons = parse_lesson_list(args.lessons)
    else:
        from autograder.demo import available_lessons
        lessons = available_lessons()
    lesson_list = ",".join(str(l.number) for l in lessons)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="gf-bench-"))
    if args.keep and work.exists():
        shutil.rmtree(work)
    subs = work / "submissions"
    subs.mkdir(parents=True)
    kinds = build_submissions(subs, args.n, lessons)
    mix = ", ".join(f"{count} {kind}" for kind, count in sorted(
        {k: list(kinds.values()).count(k) for k in set(kinds.values())}.items()))
    print(f"{args.n} submissions ({mix}; {sum(1 for p in subs.glob('*.zip'))} as zips), "
          f"lessons {lesson_list}, {args.jobs} jobs on {os.cpu_count()} cores, "
          f"{args.timeout:g} s per lesson", flush=True)
    try:
        wall_a, by_name_a, scores_a, _ = run_grader(subs, work / "out", lesson_list, args.jobs, args.timeout)
        times_a = list(by_name_a.values())
        print(line("(a) python -m autograder", len(times_a), wall_a, times_a), flush=True)
        correct = [t for name, t in by_name_a.items() if kinds.get(name) == "correct"]
        print(f"    median on the correct submissions only: {statistics.median(correct):.2f} s", flush=True)
        wall_r, _, _, plan = run_grader(subs, work / "out", lesson_list, args.jobs, args.timeout)
        print(f"    the same command again: {wall_r:.1f} s ({plan.rstrip('.')})", flush=True)
        if args.cluster:
            report_cluster(args, subs, work, lesson_list, wall_a, scores_a)
        if args.skip_baseline:
            return 0
        wall_b, times_b, scores_b = run_baseline(subs, lesson_list, args.jobs, args.timeout, len(lessons))
        print(line("(b) naive, no isolation", len(times_b), wall_b, times_b), flush=True)
        differ = sorted(f"{name} ({kinds.get(name)}: {scores_a.get(name)} vs {score})"
                        for name, score in scores_b.items() if score != scores_a.get(name))
        print(f"    (a) and (b) agree on {len(scores_b) - len(differ)} of {len(scores_b)} scores"
              + (f"; they differ on {', '.join(differ)} (None: killed at the time limit)" if differ else ""),
              flush=True)
        print(f"    speed-up (a)/(b): {(len(times_a) / wall_a) / (len(times_b) / wall_b):.1f}x throughput",
              flush=True)
        zips = otter_zips(work, lessons)
        if isinstance(zips, str):
            print(f"(c) otter run: skipped: {zips}")
            return 0
        names = otter_sample(subs, kinds, args.otter_sample)
        mix_c = ", ".join(f"{kinds[n]}" for n in names)
        wall_c, times_c, failures = run_otter(subs, work, names, lessons, zips, args.jobs)
        count = len(times_c)
        print(line(f"(c) otter run (sample of {count})", count, wall_c, times_c)
              + f", {len(zips)} notebook lesson(s) each ({mix_c})")
        same = [by_name_a[n] for n in names]
        print(f"    (a) on the same {count} submissions: median {statistics.median(same):.2f} s, mean "
              f"{statistics.mean(same):.2f} s (all its lessons) vs mean {statistics.mean(times_c):.2f} s "
              f"for (c): {sum(times_c) / sum(same):.1f}x less time per submission, like for like")
        for failure in failures:
            print(f"    no result: {failure}")
        print(f"    speed-up (a)/(c): {(len(times_a) / wall_a) / (count / wall_c):.1f}x throughput ((a) over "
              "the whole run, hanging submissions included; (c) over its sample)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
