"""The compute threads of a worker: one per library.

torch (OpenMP, MKL) and numba (umap-learn, lesson 4) would otherwise start one thread per CPU
in every worker, against a worker's process limit of a few dozen (``RLIMIT_NPROC``). The
sandbox starts the fork server with these variables, so libraries imported there read them, and
the worker sets them again after its environment is emptied: numba re-reads its ``NUMBA_*``
variables before each compilation, and one it saw at import but no longer finds resets its
thread count to one per CPU (then refuses to run parallel code on the pool already launched).
"""

from __future__ import annotations

import os

WORKER_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def keep_one_thread_each() -> None:
    """Put :data:`WORKER_THREADS` back into this (emptied) process environment."""
    os.environ.update(WORKER_THREADS)
