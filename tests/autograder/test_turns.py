"""Hidden tests run in parallel threads of one process; each must see its own random stream,
and work shared between tests of a lesson must be computed once per worker."""

from __future__ import annotations

import threading

import pytest
import torch

from autograder.proxy import InProcessTransport, WorkerClient, in_process_handles
from autograder.protocol import HARNESS_ID
from autograder import turns
from autograder.suite import shared
from autograder.turns import test_turn as take_turn  # not collected as a test


def stream(seed: int, n: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand(n)


def test_a_test_keeps_its_stream_while_the_worker_reseeds_torch():
    """The in-process "worker" reseeds the process's generator; the test's draws go on as if
    nothing happened (without turns, the second draw would follow seed 12345)."""
    client = WorkerClient(InProcessTransport())
    with take_turn(0):
        first = torch.rand(4)
        client.seed(12345)
        second = torch.rand(4)
    assert torch.equal(torch.cat([first, second]), stream(0, 8))


def test_an_in_process_worker_keeps_its_own_stream_between_requests():
    """As in a worker process, the student's draws go on from call to call (the turn restores
    the trusted side's generator after each exchange, which must not rewind the worker's), and
    the worker's seed does not move the trusted side's stream."""
    client = WorkerClient(InProcessTransport())
    torch_module = client.harness().torch
    with take_turn(0):
        client.seed(7)
        first, second = torch_module.rand(3), torch_module.rand(3)
        ours = torch.rand(4)
    assert torch.equal(torch.cat([first, second]), stream(7, 6))
    assert torch.equal(ours, stream(0, 4))


class _SlowTransport(InProcessTransport):
    """Holds every exchange until ``release`` is set, announcing it through ``inside``."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def exchange(self, frame: bytes, timeout: float) -> tuple[bytes, bytes]:
        self.inside.set()
        assert self.release.wait(10)
        return super().exchange(frame, timeout)


def test_two_grading_threads_do_not_share_a_random_stream():
    """Thread A waits for its worker in the middle of a test; thread B runs a whole test with
    another seed meanwhile. Each sees exactly the stream of its own seed."""
    transport = _SlowTransport()
    client = WorkerClient(transport)
    seen: dict[str, torch.Tensor] = {}

    def thread_a() -> None:
        with take_turn(0):
            first = torch.rand(4)
            client.seed(3)  # sent with the request below
            client.request({"op": "getattr", "target": HARNESS_ID, "name": "__name__"})
            seen["a"] = torch.cat([first, torch.rand(4)])

    def thread_b() -> None:
        assert transport.inside.wait(10)
        with take_turn(7):  # would block forever if A kept the turn while waiting
            seen["b"] = torch.rand(8)
        transport.release.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert torch.equal(seen["a"], stream(0, 8))
    assert torch.equal(seen["b"], stream(7, 8))


class _ManualTime:
    """A ``time`` module whose clock moves only when the test says; ``reads`` counts reads."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.reads = threading.Semaphore(0)

    def monotonic(self) -> float:
        self.reads.release()
        return self.now


def test_waiting_for_a_shared_lock_does_not_count_on_the_waiters_clock(monkeypatch):
    """A minute spent waiting while another submission holds the turn (or the fork server) is
    not the waiting submission's time: its deadline clock stands still meanwhile."""
    manual = _ManualTime()
    monkeypatch.setattr(turns, "time", manual)
    lock = threading.Lock()
    lock.acquire()  # another grading thread holds it
    seen: dict[str, float] = {}

    def waiter() -> None:
        before = turns.clock()
        with turns.uncounted(lock):
            manual.now += 2.0  # two seconds of its own work while holding the lock
            seen["elapsed"] = turns.clock() - before

    thread = threading.Thread(target=waiter)
    thread.start()
    assert manual.reads.acquire(timeout=10) and manual.reads.acquire(timeout=10)  # now waiting
    manual.now += 60.0
    lock.release()
    thread.join(10)
    assert seen["elapsed"] == 2.0


@pytest.fixture()
def tiny_module(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text("calls = []\n\ndef work(x):\n    calls.append(x)\n    if x < 0:\n"
                    "        raise ValueError('negative')\n    return x * 2\n\n"
                    "def count():\n    return len(calls)\n")
    return path


def test_shared_work_runs_once_per_worker_and_again_in_a_new_one(tiny_module):
    @shared
    def doubled(student, harness):
        return student.work(21)

    student, harness, _ = in_process_handles(str(tiny_module), "tiny_a")
    assert doubled(student, harness) == 42
    assert doubled(student, harness) == 42
    assert student.count() == 1  # the second test reused the first one's result

    fresh_student, fresh_harness, _ = in_process_handles(str(tiny_module), "tiny_b")
    assert doubled(fresh_student, fresh_harness) == 42
    assert fresh_student.count() == 1  # a new worker (module) computes afresh


def test_a_shared_failure_fails_every_test_that_needs_it(tiny_module):
    @shared
    def broken(student, harness):
        return student.work(-1)

    student, harness, _ = in_process_handles(str(tiny_module), "tiny_c")
    for _ in range(2):
        with pytest.raises(Exception, match="negative"):
            broken(student, harness)
    assert student.count() == 1
