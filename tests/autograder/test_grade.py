"""Bulk grading (issue #7): every submission gets a result; runs are deterministic and resumable.

One real grading run (lesson 2, small submissions) is shared by most tests; orchestration
(skipping, grader errors, interruption) is also tested with a fake sandbox, which is instant.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder import grade
from autograder.lessons import REPO_ROOT, lesson_by_number
from tests.helpers import reference_source, starter_source

L2 = lesson_by_number(2)
EXECUTION_TIME = re.compile(rb'\n  "execution_time": [0-9.e+-]+,')
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]


def build_folder(root: Path) -> Path:
    """A TA's folder: one sub-folder or zip per student, in the layouts students really use."""
    reference, starter = reference_source(2), starter_source(2)
    subs = root / "subs"
    files = {
        "alice/assignments/02-autoencoders/autoencoder.py": reference,  # nested repository
        "carol/02-autoencoders/autoencoder.py": starter,
        "dave/02-autoencoders/autoencoder.py": reference.replace("def evaluate(", "def evaluate(:", 1),
        "erin/README.md": "I forgot to push my work.",
        "grace/a/02-autoencoders/autoencoder.py": reference,
        "grace/b/02-autoencoders/autoencoder.py": starter,
    }
    for relative, text in files.items():
        path = subs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    with zipfile.ZipFile(subs / "bob.zip", "w") as zf:  # an Otter export: files at the root
        zf.writestr("autoencoders.ipynb", "{}")
        zf.writestr("autoencoder.py", reference)
    (subs / "frank.zip").write_bytes(b"PK\x03\x04 truncated upload")
    return subs


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file the run wrote, with the timing field blanked out."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix != ".png":
            files[path.relative_to(out).as_posix()] = EXECUTION_TIME.sub(b"", path.read_bytes())
    return files


@pytest.fixture(scope="module")
def bulk(tmp_path_factory):
    root = tmp_path_factory.mktemp("bulk")
    subs = build_folder(root)
    lines: list[str] = []
    run = grade.main(submissions=[subs], out=root / "out", jobs=2, lessons="2", timeout=60,
                     echo=lines.append, progress=False)
    return {"root": root, "subs": subs, "out": root / "out", "run": run, "lines": lines,
            "first": snapshot(root / "out")}


def results(bulk, name: str) -> dict:
    return json.loads((bulk["out"] / name / "results.json").read_text(encoding="utf-8"))


def test_every_submission_gets_a_result(bulk):
    run = bulk["run"]
    assert run.complete and sorted(p.name for p in run.planned) == NAMES
    for name in NAMES:
        assert (bulk["out"] / name / "feedback.md").is_file()
        data = results(bulk, name)
        assert data["extra_data"]["submission"] == name
        assert data["extra_data"]["fingerprint"].startswith("sha256:")
    assert [line for line in bulk["lines"] if re.match(r"\[\d/7\] ", line)], bulk["lines"]


def test_scores_and_statuses(bulk):
    with open(bulk["out"] / "grades.csv", newline="") as f:
        rows = {row["name"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == NAMES
    assert rows["alice"]["lesson2"] == "30" and rows["alice"]["status"] == "ok"
    assert rows["bob"]["lesson2"] == "30"  # the export's files at the zip root, beside the notebook
    assert rows["carol"]["lesson2"] == "0" and rows["carol"]["status"] == "ok"
    for name in ("dave", "erin", "frank", "grace"):
        assert rows[name]["total"] == "0" and rows[name]["status"] == "error", name


def test_problems_are_explained_to_the_student(bulk):
    assert "could not be imported" in (bulk["out"] / "dave" / "feedback.md").read_text()
    assert "was not found" in (bulk["out"] / "erin" / "feedback.md").read_text()
    assert "frank.zip is not a valid zip file" in (bulk["out"] / "frank" / "feedback.md").read_text()
    grace = (bulk["out"] / "grace" / "feedback.md").read_text()
    assert "2 copies" in grace and "`a/02-autoencoders/autoencoder.py`" in grace


def test_summary_and_histogram(bulk):
    summary = (bulk["out"] / "summary.md").read_text()
    assert "7 submission(s)" in summary and "Status: ok 3 · partial 0 · error 4 · timeout 0" in summary
    assert "## Most-failed tests" in summary and "`frank` (error)" in summary
    assert (bulk["out"] / "scores.png").stat().st_size > 1000


def test_rerun_skips_what_is_up_to_date_without_a_sandbox(bulk, monkeypatch):
    import autograder.sandbox

    def no_sandbox(*args, **kwargs):
        raise AssertionError("nothing should be graded")

    monkeypatch.setattr(autograder.sandbox, "Sandbox", no_sandbox)
    lines: list[str] = []
    run = grade.main(submissions=[bulk["subs"]], out=bulk["out"], jobs=2, lessons="2", timeout=60,
                     echo=lines.append, progress=False)
    assert run.complete and not run.graded and len(run.skipped) == 7
    assert "0 to grade, 7 up to date" in lines[0]
    assert snapshot(bulk["out"]) == bulk["first"]


def test_regrade_is_byte_identical_apart_from_timing(bulk):
    """--force regrades everything; every file matches the first run except execution_time."""
    run = grade.main(submissions=[bulk["subs"]], out=bulk["out"], jobs=1, lessons="2", timeout=60,
                     force=True, echo=lambda _: None, progress=False)
    assert len(run.graded) == 7
    assert snapshot(bulk["out"]) == bulk["first"]


def test_other_settings_make_results_stale(bulk, tmp_path):
    subs, out = bulk["subs"], bulk["out"]
    planned = {p.name: p for p in grade.plan([subs], out, (L2,), 60)}
    assert all(p.up_to_date for p in planned.values())
    assert not any(p.up_to_date for p in grade.plan([subs], out, (L2,), 61))
    assert not any(p.up_to_date for p in grade.plan([subs], out, (L2,), 60, force=True))
    assert not any(p.up_to_date for p in grade.plan([subs], out, (L2, lesson_by_number(3)), 60))
    assert grade.grading_code_hash((L2,)) != grade.grading_code_hash((lesson_by_number(3),))
    # the same submission moved elsewhere is still up to date: only content counts
    moved = tmp_path / "elsewhere" / "alice"
    shutil.copytree(subs / "alice", moved)
    assert grade.plan([moved], out, (L2,), 60)[0].up_to_date


# --- orchestration with a fake sandbox --------------------------------------------------

def run_fake(subs, force=False):
    lines: list[str] = []
    run = grade.main(submissions=[subs], out=subs.parent / "out", jobs=2, lessons="2", force=force,
                     echo=lines.append, progress=False)
    return run, lines


def test_only_changed_submissions_are_regraded(fake_grading):
    subs, _ = fake_grading
    run, _ = run_fake(subs)
    assert sorted(r.name for r in run.graded) == ["alice", "bob", "carol"]
    (subs / "bob" / L2.folder / L2.student_file).write_text("# bob, resubmitted\n")
    run, lines = run_fake(subs)
    assert [r.name for r in run.graded] == ["bob"] and sorted(run.skipped) == ["alice", "carol"]
    assert "1 to grade, 2 up to date" in lines[0]


def test_a_grader_error_writes_no_result_and_fails_the_run(fake_grading):
    subs, behaviour = fake_grading
    behaviour["bob"] = "crash"
    run, lines = run_fake(subs)
    assert not run.complete and "bob" in run.failed
    assert not (subs.parent / "out" / "bob" / "results.json").exists()
    assert any("NOT GRADED bob" in line for line in lines)
    with open(subs.parent / "out" / "grades.csv") as f:
        assert [row["name"] for row in csv.DictReader(f)] == ["alice", "carol"]
    behaviour.clear()
    run, _ = run_fake(subs)  # the next run retries it
    assert run.complete and [r.name for r in run.graded] == ["bob"]


def test_an_interrupted_run_keeps_what_was_graded(fake_grading):
    subs, behaviour = fake_grading
    behaviour["carol"] = "interrupt"
    run, lines = run_fake(subs)
    assert run.interrupted and not run.complete
    assert "Run the same command again" in lines[-1]
    assert not (subs.parent / "out" / "grades.csv").exists()
    assert not (subs.parent / "out" / "carol" / "results.json").exists()
    behaviour.clear()
    run, _ = run_fake(subs)
    assert run.complete and "carol" in [r.name for r in run.graded]


def test_progress_bar_on_a_terminal(fake_grading, capsys):
    subs, _ = fake_grading
    grade.main(submissions=[subs], out=subs.parent / "out", lessons="2", progress=True,
               echo=lambda _: None)
    assert "3/3" in capsys.readouterr().err


# --- a real run killed halfway ----------------------------------------------------------

def test_a_killed_run_resumes_without_regrading(tmp_path):
    subs = tmp_path / "subs"
    for i in range(6):  # tiny submissions whose import takes a moment: the kill lands midway
        path = subs / f"s{i}" / L2.folder / L2.student_file
        path.parent.mkdir(parents=True)
        path.write_text(f"import time\ntime.sleep(0.5)\nSTUDENT = {i}\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
               "--lessons", "2", "--jobs", "1", "--timeout", "60"]
    first = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/results.json")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = {p.parent.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("*/results.json")}
    assert 1 <= len(done_before) < 6, done_before.keys()

    second = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{6 - len(done_before)} to grade, {len(done_before)} up to date" in second.stdout
    for name, (data, mtime) in done_before.items():
        path = out / name / "results.json"
        assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime, name
    with open(out / "grades.csv") as f:
        assert [row["name"] for row in csv.DictReader(f)] == [f"s{i}" for i in range(6)]

    # a third run has nothing to do, and does not even import torch
    check = ("import sys; from pathlib import Path; from autograder import grade; "
             f"run = grade.main(submissions=[Path({str(subs)!r})], out=Path({str(out)!r}), "
             "lessons='2', timeout=60, echo=lambda _: None); "
             "print(len(run.skipped), 'torch' in sys.modules)")
    third = subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=120)
    assert third.stdout.split() == ["6", "False"], third.stdout + third.stderr


# --- identical lesson files are graded once per run -------------------------------------

def test_lesson_cache_computes_each_key_once_across_threads():
    import threading
    cache = grade.LessonCache()
    calls = []
    release = threading.Event()

    def compute():
        calls.append(1)
        release.wait(5)
        return "result"

    answers = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get((2, 60.0, "h"), compute)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    release.set()
    for thread in threads:
        thread.join(5)
    assert answers == ["result"] * 4 and len(calls) == 1
    assert cache.get((2, 60.0, "other"), lambda: "second") == "second"


def test_lesson_cache_retries_after_a_failure():
    cache = grade.LessonCache()

    def fail():
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        cache.get((2, 60.0, "h"), fail)
    assert cache.get((2, 60.0, "h"), lambda: "graded") == "graded"


def test_identical_files_share_a_result_in_a_real_run(bulk):
    """alice's folder and bob's export hold the same reference file: same lesson result."""
    alice, bob = results(bulk, "alice"), results(bulk, "bob")
    assert alice["tests"] == bob["tests"] and alice["score"] == 30
