"""Every attack in :mod:`tests.attacks.catalog` is defeated: one `grade` run grades them all.

The run (``python -m autograder grade``, a separate process, ``--timeout 10``) also grades the
honest versions the attacks are built on, so every expectation compares scores from the same
run and the same hidden suite. An attack is skipped only when the machine cannot give the
protection that defends it (see ``Attack.needs`` and ``Sandbox.describe``), and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.lessons import REPO_ROOT, SOLUTIONS_DIR, LESSONS, lesson_by_number
from tests.attacks.catalog import (ATTACKED_LESSON, ATTACKS, FAKE_OUTPUT, MARKER, SECRET_VAR, Attack,
                                   base_source, lesson_source, missing_protections, write_attack)

TIMEOUT = 10.0
SLACK = 15.0
HONEST = ("honest-reference", "honest-broken-loss", "honest-broken-decoder")
BASE_OF = {"reference": "honest-reference", "broken-loss": "honest-broken-loss",
           "broken-decoder": "honest-broken-decoder"}

pytestmark = pytest.mark.slow


def other_lesson() -> int | None:
    """A lesson besides the attacked one whose reference and hidden suite exist."""
    for lesson in LESSONS:
        if lesson.number != ATTACKED_LESSON and (SOLUTIONS_DIR / lesson.folder / lesson.student_file).is_file() \
                and (REPO_ROOT / "autograder" / "suites" / f"lesson{lesson.number}.py").is_file():
            return lesson.number
    return None


def _tree_digest(root: Path) -> dict[str, str]:
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            digests[str(path)] = "link:" + os.readlink(path)
        elif path.is_file():
            digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@dataclass
class Run:
    """The outcome of the one grading run."""

    token: str
    protections: list[str]
    other: int | None
    out: Path
    subs: Path
    returncode: int
    stdout: str
    stderr: str
    wall_time: float
    results: dict[str, dict] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    subs_before: dict[str, str] = field(default_factory=dict)

    def lesson_score(self, name: str, number: int) -> float:
        return self.results[name]["extra_data"]["lessons"][f"lesson{number}"]["score"]

    def passed(self, name: str, number: int) -> set[str]:
        return {t["name"] for t in self.results[name]["tests"]
                if t["tags"][0] == f"lesson{number}" and t["status"] == "passed"}


@pytest.fixture(scope="module")
def protections() -> list[str]:
    from autograder.sandbox import Sandbox
    with Sandbox(preload=False) as sandbox:
        print(sandbox.describe())
        return list(sandbox.protections)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, protections: list[str]) -> Run:
    token = secrets.token_hex(6)
    root = tmp_path_factory.mktemp("attacks")
    subs, out = root / "subs", root / "out"
    subs.mkdir()
    other = other_lesson()
    other_source = (other, lesson_source(other)) if other is not None else None
    lesson = lesson_by_number(ATTACKED_LESSON)
    for name, base in (("honest-reference", "reference"), ("honest-broken-loss", "broken-loss"),
                       ("honest-broken-decoder", "broken-decoder")):
        path = subs / name / lesson.folder / lesson.student_file
        path.parent.mkdir(parents=True)
        path.write_text(base_source(base), encoding="utf-8")
    if other_source is not None:
        other_lesson_ = lesson_by_number(other_source[0])
        path = subs / "honest-reference" / other_lesson_.folder / other_lesson_.student_file
        path.parent.mkdir(parents=True)
        path.write_text(other_source[1], encoding="utf-8")
    skipped = {}
    for attack in ATTACKS:
        missing = missing_protections(attack, protections)
        if missing:
            skipped[attack.name] = missing
        else:
            write_attack(attack, subs, token, other_source)
    before = _tree_digest(subs)
    lessons = ",".join(str(n) for n in sorted({ATTACKED_LESSON} | ({other} if other else set())))
    env = {**os.environ, SECRET_VAR: token}
    command = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
               "--lessons", lessons, "--timeout", str(TIMEOUT), "--jobs", "1"]
    start = time.monotonic()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=1800, stdin=subprocess.DEVNULL)
    outcome = Run(token, protections, other, out, subs, done.returncode, done.stdout, done.stderr,
                  time.monotonic() - start, skipped=skipped, subs_before=before)
    for path in sorted(out.glob("*/results.json")):
        outcome.results[path.parent.name] = json.loads(path.read_text())
    return outcome


def test_the_grader_exits_0_with_a_complete_result_for_every_submission(run: Run) -> None:
    assert run.returncode == 0, f"grade exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    expected = {a.name for a in ATTACKS if a.name not in run.skipped} | set(HONEST)
    assert set(run.results) == expected, f"missing results: {sorted(expected - set(run.results))}"
    count = len(run.results["honest-reference"]["tests"])
    for name, results in run.results.items():
        assert len(results["tests"]) == count, f"{name}: {len(results['tests'])} tests, expected {count}"
        assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))
        for test in results["tests"]:
            assert {"name", "score", "max_score", "visibility", "output", "tags"} <= set(test)
    assert run.lesson_score("honest-reference", ATTACKED_LESSON) == lesson_by_number(ATTACKED_LESSON).points
    assert run.lesson_score("honest-broken-loss", ATTACKED_LESSON) < lesson_by_number(ATTACKED_LESSON).points
    print(f"graded {len(run.results)} submissions in {run.wall_time:.1f} s; protections: {run.protections}")
    for name, results in sorted(run.results.items(), key=lambda item: -item[1]["execution_time"]):
        print(f"  {results['execution_time']:5.1f} s  {results['score']:5g}  {results['extra_data']['status']:8} {name}")


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack_is_defeated(run: Run, attack: Attack) -> None:
    if attack.name in run.skipped:
        pytest.skip(f"{attack.description}: not defended on this machine, which lacks "
                    f"{', '.join(run.skipped[attack.name])} (see the README's Security model section)")
    assert attack.name in run.results, f"{attack.name} got no results.json"
    score = run.lesson_score(attack.name, ATTACKED_LESSON)
    reference = run.lesson_score("honest-reference", ATTACKED_LESSON)
    feedback = json.dumps(run.results[attack.name]["tests"])[:3000]
    if attack.expect == "no-gain":
        honest = BASE_OF[attack.base]
        assert score <= run.lesson_score(honest, ATTACKED_LESSON), (
            f"{attack.name} scored {score}, more than the honest code ({honest}): {feedback}")
        extra = run.passed(attack.name, ATTACKED_LESSON) - run.passed(honest, ATTACKED_LESSON)
        assert not extra, f"{attack.name} passed tests its honest version fails: {sorted(extra)}"
    elif attack.expect in ("crash", "zero"):
        assert score == 0, f"{attack.name} scored {score} in the attacked lesson: {feedback}"
    elif attack.expect == "unharmed":
        assert score == reference, f"{attack.name} should grade as the reference: {feedback}"
    elif attack.expect == "at-most-reference":
        assert score <= reference
    else:
        raise AssertionError(f"unknown expectation {attack.expect}")
    if attack.expect == "crash" and run.other is not None:
        assert run.lesson_score(attack.name, run.other) == run.lesson_score("honest-reference", run.other), (
            f"{attack.name} in lesson {ATTACKED_LESSON} cost lesson {run.other} points")
    if attack.timed:
        honest_time = run.results["honest-reference"]["execution_time"]
        took = run.results[attack.name]["execution_time"]
        assert took <= TIMEOUT + honest_time + SLACK, f"{attack.name} took {took:.1f} s to grade"


def _markers(roots: list[Path], max_depth: int) -> list[str]:
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        base_depth = len(root.parts)
        for dirpath, dirnames, filenames in os.walk(root):
            if len(Path(dirpath).parts) - base_depth >= max_depth:
                dirnames[:] = []
            dirnames[:] = [d for d in dirnames if d not in (".git", "proc")]
            found += [os.path.join(dirpath, n) for n in filenames + dirnames
                      if n.startswith(MARKER) or n.startswith("gf-persist-")]
    return found


def test_nothing_is_written_outside_the_output_folder(run: Run) -> None:
    import numpy
    site_packages = Path(numpy.__file__).resolve().parent.parent
    deep = _markers([REPO_ROOT, run.subs, run.out, site_packages], max_depth=12)
    shallow = _markers([Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path.home(), Path("/work")],
                       max_depth=4)
    mine = [p for p in deep + shallow if run.token in p or "gf-persist-" in p]
    assert not mine, f"attacks wrote outside their working copies: {mine[:20]}"
    assert _tree_digest(run.subs) == run.subs_before, "the submissions were modified"
    forged = f'"forged": "{run.token}"'
    for path in run.out.rglob("*"):
        assert not path.name.startswith(MARKER), f"an attack wrote {path}"
        if path.is_file() and path.suffix in (".json", ".csv", ".md"):
            assert forged not in path.read_text(errors="replace"), f"forged content in {path}"
    for name, results in run.results.items():
        assert results["extra_data"]["submission"] == name, f"{name}/results.json is not the grader's"


def test_every_output_and_every_written_file_is_capped(run: Run) -> None:
    from autograder.report import MAX_FILE_BYTES, MAX_OUTPUT_BYTES
    for path in run.out.rglob("*"):
        if path.is_file():
            assert path.stat().st_size <= MAX_FILE_BYTES, f"{path} holds {path.stat().st_size} bytes"
    for name, results in run.results.items():
        for test in results["tests"]:
            size = len(test["output"].encode("utf-8"))
            assert size <= MAX_OUTPUT_BYTES, f"{name}: {test['name']} says {size} bytes"


def test_student_output_never_reaches_the_grader(run: Run) -> None:
    assert FAKE_OUTPUT not in run.stdout and FAKE_OUTPUT not in run.stderr
    assert "y" * 1000 not in run.stdout and "y" * 1000 not in run.stderr
