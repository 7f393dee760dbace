"""What the trusted grading process loads: never torchvision (issue #17, Gradescope's memory).

torchvision's import costs the grading process about 90 MB (models, ops, its C extension) and
the grader needs none of it: the hidden suites read the committed data subset without it
(``tests/coursekit/test_subset_reader.py``), and loading them imports nothing that pulls it in.
The figures themselves are printed by ``python -m benchmarks gradescope_memory``.
"""

from __future__ import annotations

import subprocess
import sys

from autograder.lessons import REPO_ROOT

LOAD_EVERY_SUITE = """\
import sys
from autograder.lessons import LESSONS
from autograder.suite import load_suite
from coursekit.data import load_fashion_mnist
for lesson in LESSONS:
    load_suite(lesson)
load_fashion_mnist("train", source="subset")
print(sorted(m for m in sys.modules if m.split('.')[0] == 'torchvision'))
"""


def test_the_grading_process_never_imports_torchvision(tmp_path):
    done = subprocess.run([sys.executable, "-c", LOAD_EVERY_SUITE], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                               "GF_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]", f"torchvision was imported: {done.stdout[-500:]}"
