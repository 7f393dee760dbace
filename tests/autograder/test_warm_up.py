"""A grading process pays for the checks' lazy imports before any test's clock runs."""

from __future__ import annotations

import subprocess
import sys

from autograder.lessons import REPO_ROOT

PROGRAM = """
import sys
import torch
from autograder.session import _prepare
from autograder.lessons import lesson_by_number
from coursekit.testing import assert_close
_prepare((lesson_by_number(1),))
before = set(sys.modules)
assert_close(torch.ones(3), torch.ones(3), "three ones")
print(sorted(set(sys.modules) - before))
"""


def test_the_first_check_of_a_run_imports_nothing_more():
    # torch.testing.assert_close imports torch.distributed.tensor and sympy on its first call:
    # seconds that the first submission's lesson time used to pay (a timeout under load).
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


UMAP_WARM_UP = """
from coursekit.harness.lesson4 import _umap_dispatchers, warm_fork_server
warm_fork_server()
functions = _umap_dispatchers()
print(len(functions), sum(bool(getattr(f._cache, "_enabled", False)) for f in functions))
"""


def test_the_fork_servers_umap_warm_up_leaves_no_disk_cache_switched_on():
    # The warm-up keeps umap's compiled code on disk for the next run, then switches the cache
    # off: a worker cannot write there, and numba turns a failed cache write into an exception
    # in the student's own call (a student's UMAP with another metric compiles new code).
    done = subprocess.run([sys.executable, "-c", UMAP_WARM_UP], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    functions, still_caching = map(int, done.stdout.split())
    assert functions > 50
    assert still_caching == 0
