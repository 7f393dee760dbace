"""Hidden-test code takes turns: one grading thread at a time, each with its own torch RNG.

A bulk run grades several submissions at once, in threads of one trusted process, and
torch's default random generator belongs to the whole process. Hidden tests draw their data
from it after seeding it with the lesson's seed, so two tests running side by side would
reseed and consume each other's stream: a submission could be tested on different data, and
get a different grade, depending on what was graded beside it (seen as a rare failure of a
correct nearest-neighbour search whose random "far" samples became copies of dataset images).

So a thread runs hidden-test code only while it holds the turn (:func:`test_turn`), and it
gives the turn up while it waits for its worker, where the student's code runs in another
process, and while it reads and decodes the worker's reply (:func:`waiting_for_worker`):
whatever a worker sends, only its own thread spends time on it. Giving the turn up saves the
thread's generator state; taking it back restores it. Each test therefore sees exactly the
stream it would see alone, whatever the other threads do. Only the trusted side's checking is
serialised (it is small next to the student's code); the workers still run in parallel.

Time spent waiting for a shared lock (the turn, the sandbox's fork server) is another
submission's time, not this one's: :func:`clock` leaves it out, and every grading deadline is
measured on it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import torch

_turn = threading.Lock()
_state = threading.local()  # .holding: bool, this thread holds the turn inside a test; .waited: float


def clock() -> float:
    """``time.monotonic()`` less the time this thread has spent waiting in :func:`uncounted`:
    the clock of every grading deadline."""
    return time.monotonic() - getattr(_state, "waited", 0.0)


def _acquire_uncounted(lock: threading.Lock) -> None:
    start = time.monotonic()
    lock.acquire()
    _state.waited = getattr(_state, "waited", 0.0) + time.monotonic() - start


@contextmanager
def uncounted(lock: threading.Lock) -> Iterator[None]:
    """Hold ``lock``; the wait for it does not count on this thread's :func:`clock`."""
    _acquire_uncounted(lock)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def test_turn(seed: int) -> Iterator[None]:
    """Hold the turn for one hidden test, with torch's generator seeded with ``seed``."""
    with uncounted(_turn):
        _state.holding = True
        try:
            # The CPU generator only: the grading process never uses an accelerator, and
            # torch.manual_seed would queue a lazy CUDA/XPU/MTIA seeding per test, each with a
            # formatted stack trace, for the whole run.
            torch.default_generator.manual_seed(seed)
            yield
        finally:
            _state.holding = False


@contextmanager
def waiting_for_worker() -> Iterator[None]:
    """Give the turn up while this thread waits for its worker (a no-op outside a test)."""
    if not getattr(_state, "holding", False):
        yield
        return
    saved = torch.get_rng_state()
    _state.holding = False
    _turn.release()
    try:
        yield
    finally:
        _acquire_uncounted(_turn)
        _state.holding = True
        torch.set_rng_state(saved)
