"""What one trusted process holds while it grades: the hidden suites, one sandbox, a lesson cache.

A local run (:func:`autograder.grade.main`) opens one :class:`GradingSession` and grades in
threads over it; on a cluster every Dask worker opens its own (:mod:`autograder.cluster`).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from autograder.lessons import Lesson
from autograder.report import SubmissionResult
from autograder.scratch import OwnedFolder

if TYPE_CHECKING:
    from autograder.grade import Planned


class Interrupted(Exception):
    """Raised in grading threads once the run is stopping (Ctrl-C, SIGTERM)."""


class LessonCache:
    """Lessons already graded in this run, by lesson and file content.

    A lesson file is self-contained (docs/README.md) and its worker sees nothing else, so two
    byte-identical copies (an untouched starter, a shared file) get the same result: the
    second copy reuses the first's instead of being run again. Threads asking for a lesson
    that is being graded wait for it; if that grading fails, the next asker grades it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[int, float, str], tuple[threading.Event, list[Any]]] = {}

    def get(self, key: tuple[int, float, str], compute: Callable[[], Any]) -> Any:
        while True:
            with self._lock:
                entry = self._entries.get(key)
                owner = entry is None
                if owner:
                    entry = self._entries[key] = (threading.Event(), [])
            done, box = entry
            if owner:
                try:
                    box.append(compute())
                except BaseException:
                    with self._lock:
                        del self._entries[key]
                    raise
                finally:
                    done.set()
                return box[0]
            done.wait()
            if box:
                return box[0]


class _Workers:
    """Hands out sandbox workers and, when the run stops, kills those still running."""

    def __init__(self, spawn: Callable[[Path], Any]) -> None:
        self._spawn = spawn
        self._lock = threading.Lock()
        self._active: list[Any] = []
        self.stopping = threading.Event()

    def spawn(self, student_file: Path) -> Any:
        if self.stopping.is_set():
            raise Interrupted()
        worker = self._spawn(student_file)
        with self._lock:
            self._active = [w for w in self._active if w.alive] + [worker]
        if self.stopping.is_set():
            worker.kill()
            raise Interrupted()
        return worker

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for worker in self._active:
                if worker.alive:
                    try:
                        os.killpg(worker.pid, signal.SIGKILL)  # its thread then cleans up
                    except (ProcessLookupError, PermissionError):
                        pass


def _prepare(lessons: tuple[Lesson, ...]) -> None:
    """What every grading process does once before its first test (see :class:`GradingSession`)."""
    from autograder.suite import prepare_suites
    from coursekit.testing import warm_up_comparisons

    prepare_suites(lessons)
    warm_up_comparisons()
    # The first torch.optim optimizer of a process imports torch._dynamo (a second of one core):
    # the trusted side's is a replayed epoch (autograder.suites.crosscheck), inside a test's turn.
    import torch._dynamo  # noqa: F401


class GradingSession:
    """What one trusted process needs to grade submissions: the hidden suites loaded (and
    checked) once, one sandbox (fork server), a private folder for unpacked zips, a
    :class:`LessonCache` and the course secret that seeds the hidden inputs. A local run opens one; on a cluster, every Dask worker opens its own
    (:mod:`autograder.cluster`). Use as a context manager; :meth:`grade` is thread-safe."""

    def __init__(self, lessons: tuple[Lesson, ...], hidden: list[Path], secret: bytes) -> None:
        import torch

        from autograder.sandbox import Limits, Sandbox
        from autograder.suite import load_suite

        for lesson in lessons:
            load_suite(lesson)  # load (and check) every hidden suite once, before any worker starts
        self._torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the trusted side only checks results; leave the cores to workers
        # Read the data (and the like) and warm the checks while the sandbox's fork server
        # starts, not during the first submission's tests (whose time would pay for it).
        preparing = threading.Thread(target=_prepare, args=(lessons,), daemon=True)
        preparing.start()
        self._unpacked = OwnedFolder("gf-unpacked-")
        self.unpacked = self._unpacked.path  # zips, hidden from workers too
        try:
            self.sandbox = Sandbox(limits=Limits(), hidden_paths=list(hidden) + [self.unpacked],
                                   warm_lessons=tuple(lesson.number for lesson in lessons))
        except BaseException:
            self._release()
            raise
        preparing.join()
        self._workers = _Workers(self.sandbox.spawn)
        self._cache = LessonCache()
        self._secret = secret

    def describe(self) -> str:
        """The sandbox's protections in force, as one line."""
        return self.sandbox.describe()

    def grade(self, item: Planned, lessons: tuple[Lesson, ...], timeout: float) -> SubmissionResult:
        """Grade one planned submission (nothing is written). Raises :class:`Interrupted` once
        :meth:`stop` was called: its workers may have been killed, so it has no real result."""
        from autograder import grade  # late: grade imports this module (and tests replace grade_submission)
        result = grade.grade_submission(item.path, lessons, self._workers.spawn, timeout, name=item.name,
                                  tmp_root=self.unpacked, key=item.key, cache=self._cache,
                                  secret=self._secret)
        if self._workers.stopping.is_set():
            raise Interrupted()
        return result

    def stop(self) -> None:
        """Kill every running worker; grading threads then end with :class:`Interrupted`."""
        self._workers.stop()

    def close(self) -> None:
        try:
            self.sandbox.close()
        finally:
            self._release()

    def _release(self) -> None:
        import torch
        torch.set_num_threads(self._torch_threads)
        self._unpacked.remove()

    def __enter__(self) -> "GradingSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
