"""Peak memory of grading one submission on Gradescope (issue #17).

Gradescope runs ``run_autograder`` -> ``run_otter.py`` -> our plugin -> ``python -m autograder
grade`` -> its fork server -> one worker per lesson, all inside one container whose memory is
capped (768 MB by default). This benchmark builds the lesson's ``autograder.zip`` and the
reference's export zip, runs ``otter run -a autograder.zip export.zip`` (the same
``run_otter.py`` code path, without Docker) and samples the whole process tree every
``--interval`` seconds. It prints the peak of the summed proportional set size (PSS: shared
pages are split between the processes that share them, so the sum is what the container is
charged for) and each process's share at that peak, with the torch build it ran on.

Run: ``python benchmarks/gradescope_memory_benchmark.py [--lesson 2] [--interval 0.05]``.
Nothing is asserted: the figures depend on the torch build (CUDA or CPU) and the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

MB = 1024 ** 2
ROLES = (("zygote", "fork server / worker"), ("autograder grade", "grading process"),
         ("otter run", "otter run"), ("ipykernel", "Otter's kernel"))


@dataclass
class TreePeak:
    """The largest summed PSS seen over a process tree, and each process's PSS at that moment."""

    total: int = 0
    processes: dict[int, tuple[str, int]] = field(default_factory=dict)
    samples: int = 0


def role(process: psutil.Process) -> str:
    """A short name for a process of the grading tree, from its command line."""
    try:
        command = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    for marker, name in ROLES:
        if marker in command:
            return name
    return command[:60] or process.name()


def tree_pss(root: psutil.Process) -> dict[int, tuple[str, int]]:
    """``{pid: (role, PSS bytes)}`` for ``root`` and all its descendants still alive."""
    found = {}
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return found
    for process in members:
        try:
            found[process.pid] = (role(process), process.memory_full_info().pss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def sample_until_exit(popen: subprocess.Popen, interval: float) -> TreePeak:
    """Sample the tree of ``popen`` every ``interval`` seconds until it exits."""
    peak = TreePeak()
    root = psutil.Process(popen.pid)
    while popen.poll() is None:
        now = tree_pss(root)
        peak.samples += 1
        total = sum(pss for _, pss in now.values())
        if total > peak.total:
            peak.total, peak.processes = total, now
        time.sleep(interval)
    return peak


def torch_build() -> str:
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__, "
                           "'CUDA' if torch.version.cuda else 'CPU-only')"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--each", action="store_true", help="also print every process at the peak")
    args = parser.parse_args(argv)

    from autograder.lessons import lesson_by_number
    from autograder.otter.autograder_zip import build_autograder_zip
    from tests.helpers import reference_source
    from tests.otter.exports import student_notebook, write_export

    lesson = lesson_by_number(args.lesson)
    with tempfile.TemporaryDirectory(prefix="gf-memory-") as tmp:
        work = Path(tmp)
        archive = build_autograder_zip(lesson, work / "autograder.zip")
        (work / "out").mkdir()
        export = write_export(work / "export.zip", lesson, student_notebook(lesson),
                              reference_source(lesson.number))
        started = time.monotonic()
        popen = subprocess.Popen([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(archive),
                                  "-o", str(work / "out"), str(export)], cwd=REPO_ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        peak = sample_until_exit(popen, args.interval)
        output = popen.stdout.read().decode(errors="replace") if popen.stdout else ""
        wall = time.monotonic() - started
        try:
            score = json.loads((work / "out" / "results.json").read_text())["score"]
        except (OSError, ValueError, KeyError):
            print(output[-3000:])
            score = None
    print(f"torch: {torch_build()}; lesson {lesson.number}, reference export, `otter run` "
          f"({peak.samples} samples, every {args.interval:g} s)")
    print(f"score {score} / {lesson.points}, {wall:.1f} s wall")
    print(f"PEAK PSS of the whole process tree: {peak.total / MB:.0f} MB")
    by_role: dict[str, list[int]] = {}
    for name, pss in peak.processes.values():
        by_role.setdefault(name, []).append(pss)
    for name, sizes in sorted(by_role.items(), key=lambda item: -sum(item[1])):
        print(f"  {name:<24} {sum(sizes) / MB:7.0f} MB  ({len(sizes)} process(es))")
    if args.each:
        for pid, (name, pss) in sorted(peak.processes.items()):
            print(f"    pid {pid:<8} {name:<24} {pss / MB:7.0f} MB")
    return 0 if score is not None else 1


if __name__ == "__main__":
    sys.exit(main())
