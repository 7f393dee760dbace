"""Hidden-test code takes turns: one grading thread at a time, each with its own torch RNG.

A bulk run grades several submissions at once, in threads of one trusted process, and
torch's default random generator belongs to the whole process. Hidden tests draw their data
from it after seeding it with ``SEED``, so two tests running side by side would reseed and
consume each other's stream: a submission could be tested on different data, and get a
different grade, depending on what was graded beside it (seen as a rare failure of a correct
nearest-neighbour search whose random "far" samples became copies of dataset images).

So a thread runs hidden-test code only while it holds the turn (:func:`test_turn`), and it
gives the turn up only while it waits for its worker, where the student's code runs in
another process (:func:`waiting_for_worker`). Giving the turn up saves the thread's generator
state; taking it back restores it. Each test therefore sees exactly the stream it would see
alone, whatever the other threads do. Only the trusted side's checking is serialised (it is
small next to the student's code); the workers still run in parallel.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import torch

_turn = threading.Lock()
_state = threading.local()  # .holding: bool, this thread holds the turn inside a test


@contextmanager
def test_turn(seed: int) -> Iterator[None]:
    """Hold the turn for one hidden test, with torch's generator seeded with ``seed``."""
    with _turn:
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
        _turn.acquire()
        _state.holding = True
        torch.set_rng_state(saved)
