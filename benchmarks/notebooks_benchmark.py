"""Notebook run times: each lesson notebook, top to bottom, on the subset and on the full data.

This is the source of truth for the run-time table at the top of every notebook (budget: at most
6 minutes on the full data on a 2-core laptop). Each student notebook from ``assignments/`` runs
headless with the reference module in place (``autograder.build.run_notebook``), with its
normal (not quick) settings, its kernel on ONE CPU thread so that the figure does not depend on
how busy the machine is. It prints, per notebook and data source, the wall-clock time, the
kernel's CPU time and the quality figures the notebook prints (lesson 2's test MSE at latent 32,
lesson 3's test -ELBO), judged against their bars on the full data. On a loaded machine the CPU
time is the figure to quote; the wall time is what a student with a free core waits. Lesson 4 trains its own VAE (no ``vae.pt`` from lesson 3): its worst case.

    python benchmarks/notebooks_benchmark.py                 # every notebook, subset and full
    python benchmarks/notebooks_benchmark.py --data full --lessons 3

The full data is taken from ``GF_DATA_ROOT`` (a folder with the four IDX files) or torchvision's
cache; without it, the full-data rows say so.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from autograder.build.run_notebook import execute_lesson_notebook  # noqa: E402
from autograder.lessons import LESSONS  # noqa: E402
from coursekit.data import DataNotFoundError, load_fashion_mnist  # noqa: E402

BUDGET_SECONDS = 6 * 60
# Quality lines the notebooks print, and their bars (see the notebooks' texts).
QUALITY = {
    2: (re.compile(r"latent_dim\s+32: test MSE (\d+\.\d+)"), "test MSE at latent 32", 0.0095),
    3: (re.compile(r"test -ELBO of the VAE: (\d+\.\d+)"), "VAE test -ELBO (nats)", 242.0),
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _text(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def run_one(lesson, data: str) -> str:
    """Run one notebook; return its table row."""
    with tempfile.TemporaryDirectory(prefix="gf-nb-bench-") as tmp:
        wall, cpu = time.perf_counter(), _children_cpu()
        nb, _ = execute_lesson_notebook(lesson, Path(tmp), quick=False, data=data, threads=1)
        wall, cpu = time.perf_counter() - wall, _children_cpu() - cpu
    quality = ""
    if lesson.number in QUALITY:
        pattern, what, bar = QUALITY[lesson.number]
        found = pattern.findall(_text(nb))
        value = float(found[-1]) if found else float("nan")
        verdict = "" if data != "full" else f" (bar {bar:g}: {'met' if value <= bar else 'NOT met'})"
        quality = f"{what} {value:g}{verdict}"
    # One kernel thread: its CPU time is the wall time on a machine with a free core.
    within = "" if data == "subset" else (" within budget" if cpu <= BUDGET_SECONDS else " OVER BUDGET")
    return (f"{lesson.folder:36s} {data:6s} {wall / 60:5.1f} min wall, {cpu / 60:5.1f} min kernel CPU"
            f"{within}  {quality}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("subset", "full", "both"), default="both")
    parser.add_argument("--lessons", default="", help="comma-separated lesson numbers (default: all with a notebook)")
    args = parser.parse_args(argv)
    wanted = {int(n) for n in args.lessons.split(",") if n.strip()}
    lessons = [l for l in LESSONS if l.notebook and (not wanted or l.number in wanted)]
    sources = ("subset", "full") if args.data == "both" else (args.data,)
    try:
        load_fashion_mnist("test", source="full", limit=1)
        have_full = True
    except DataNotFoundError:
        have_full = False
    print(f"budget: {BUDGET_SECONDS / 60:g} min per notebook on the full data, judged on the kernel's CPU time "
          f"(1 thread); load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for lesson in lessons:
        for data in sources:
            if data == "full" and not have_full:
                print(f"{lesson.folder:36s} full   skipped: the full Fashion-MNIST is not on this machine")
                continue
            print(run_one(lesson, data), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
