"""The seeds of a graded lesson: unpredictable to the student, reproducible for the TA.

Hidden tests draw their inputs from torch's generator, and the worker is seeded before each
test. With a fixed seed a lesson file could recognise the grader's inputs (torch's first
``randn`` at seed 0 is 1.5409960746765137) and answer from a table. So each lesson's seeds are
an HMAC of a **course secret** and the lesson file's bytes: the same file graded with the same
secret gets the same seeds (a regrade gives byte-identical results), while a student who
does not hold the secret cannot compute them, and any edit of the file changes them.
The grader's side and the worker get different seeds, so the worker's own seed (which student
code can read) says nothing about the inputs the trusted side draws.

The secret is ``$GF_GRADER_SECRET`` when set (use one value for a course, e.g. in the
Gradescope autograder's environment, to make results reproducible everywhere); otherwise a
random one kept in the output folder as ``.grader-secret`` (created by the first run, reused by
every later run into the same folder; workers never see the output folder).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

SECRET_VARIABLE = "GF_GRADER_SECRET"
SECRET_FILE = ".grader-secret"
SEED_RANGE = 2**32  # numpy's seeds must lie below it (coursekit.harness.seed_everything)


@dataclass(frozen=True)
class LessonSeeds:
    """``grader``: torch's generator on the trusted side, per test; ``worker``: the worker's."""

    grader: int
    worker: int

    def as_dict(self) -> dict[str, int]:
        return {"grader": self.grader, "worker": self.worker}


def course_secret(out: Path | None) -> bytes:
    """The course secret: ``$GF_GRADER_SECRET``, else the output folder's ``.grader-secret``
    (made with 32 random bytes when missing; readable by the grader's user only); without an
    output folder (``None``: one submission graded for a look), a fresh random one."""
    configured = os.environ.get(SECRET_VARIABLE, "")
    if configured:
        return configured.encode("utf-8")
    if out is None:
        return secrets.token_hex(32).encode("ascii")
    path = out / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    out.mkdir(parents=True, exist_ok=True)
    made = secrets.token_hex(32).encode("ascii")
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f"{SECRET_FILE}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(made)
        os.link(tmp, path)  # complete or absent, never half-written; never overwrites
    except FileExistsError:  # another run made it first: use theirs
        made = path.read_bytes().strip()
    finally:
        os.unlink(tmp)
    return made


def _derive(secret: bytes, purpose: str, lesson: int, content: bytes) -> int:
    message = f"{purpose}\0lesson{lesson}\0".encode("ascii") + content
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % SEED_RANGE


def lesson_seeds(secret: bytes, lesson: int, content: bytes) -> LessonSeeds:
    """The seeds for lesson ``lesson`` of a file holding ``content``."""
    return LessonSeeds(_derive(secret, "grader", lesson, content), _derive(secret, "worker", lesson, content))


def secret_id(secret: bytes) -> str:
    """A name for the secret that reveals nothing of it (part of a result's fingerprint)."""
    return hmac.new(secret, b"fingerprint", hashlib.sha256).hexdigest()[:16]
