"""``python -m autograder return-feedback``: the TA's feedback back into each student's repository.

Offline and for real: student repositories are local git repositories whose ``origin`` is a
local bare repository; they are graded by ``python -m autograder grade`` (lesson 1 only, which is
quick), then the feedback is returned with ``--push`` and read back from the bare remotes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.cli import cli
from autograder.lessons import ASSIGNMENTS_DIR, SOLUTIONS_DIR, lesson_by_number

L1 = lesson_by_number(1)
STUDENT = ["-c", "user.name=A Student", "-c", "user.email=student@example.invalid"]


def git(where: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def invoke(*args) -> object:
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


@pytest.fixture(autouse=True)
def no_personal_git_config(tmp_path, monkeypatch):
    """The TA's own git configuration plays no part (the fallback identity is used)."""
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def make_repo(root: Path, name: str, lesson_file: Path) -> Path:
    """``root/repos/<name>``: a student's clone with one commit on main, and its bare
    ``root/origins/<name>.git`` as origin."""
    origin = root / "origins" / f"{name}.git"
    repo = root / "repos" / name
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(root, "init", "--quiet", "--initial-branch=main", str(repo))
    (repo / L1.folder).mkdir()
    shutil.copyfile(lesson_file, repo / L1.relative_path)
    (repo / "README.md").write_text(f"{name}'s work\n")
    git(repo, "add", "-A")
    git(repo, *STUDENT, "commit", "--quiet", "-m", "my work")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "origin", "main")
    return repo


@pytest.fixture(scope="module")
def grades(tmp_path_factory) -> Path:
    """alice (the reference: 10/10) and bob (the starter: 0/10), graded for real."""
    root = tmp_path_factory.mktemp("graded")
    make_repo(root, "alice", SOLUTIONS_DIR / L1.relative_path)
    make_repo(root, "bob", ASSIGNMENTS_DIR / L1.relative_path)
    result = invoke("grade", root / "repos", "--out", root / "grades", "--lessons", "1", "--jobs", "2")
    assert result.exit_code == 0, result.output
    return root / "grades"


def class_of(root: Path, **students: Path) -> Path:
    for name, lesson_file in students.items():
        make_repo(root, name, lesson_file)
    return root / "repos"


def refs(root: Path) -> dict[str, str]:
    """Every ref of every clone and bare origin under ``root``."""
    found = {}
    for repo in sorted((root / "repos").iterdir()) + sorted((root / "origins").glob("*.git")):
        if (repo / ".git").exists() or repo.suffix == ".git":
            for line in git(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines():
                ref, sha = line.split()
                found[f"{repo.name}:{ref}"] = sha
    return found


def test_feedback_is_committed_on_a_branch_and_pushed_to_origin_and_a_second_run_changes_nothing(
        grades, tmp_path):
    repos = class_of(tmp_path, alice=SOLUTIONS_DIR / L1.relative_path, bob=ASSIGNMENTS_DIR / L1.relative_path)
    heads = {name: git(repos / name, "rev-parse", "HEAD") for name in ("alice", "bob")}

    result = invoke("return-feedback", grades, repos, "--push")
    assert result.exit_code == 0, result.output
    assert "alice: pushed — feedback.md on branch 'feedback'" in result.output
    assert "bob: pushed" in result.output

    for name, total in (("alice", "Total: 10 / 10"), ("bob", "Total: 0 / 10")):
        origin = tmp_path / "origins" / f"{name}.git"
        assert git(origin, "show", "feedback:feedback.md") + "\n" == (grades / name / "feedback.md").read_text()
        assert git(origin, "rev-parse", "feedback^") == heads[name], "on top of the graded commit"
        assert git(origin, "log", "-1", "--format=%s", "feedback") == f"Feedback from the teaching team: {total}"
        assert "Lesson 1" in git(origin, "log", "-1", "--format=%b", "feedback")
        assert git(origin, "diff", "--name-only", "main", "feedback") == "feedback.md"
        # the student's clone: same branch, same commit, nothing changed in the files
        clone = repos / name
        assert git(clone, "symbolic-ref", "HEAD") == "refs/heads/main"
        assert git(clone, "rev-parse", "HEAD") == heads[name]
        assert git(clone, "status", "--porcelain") == ""
        assert not (clone / "feedback.md").exists()
        assert git(clone, "rev-parse", "feedback") == git(origin, "rev-parse", "feedback")

    before = refs(tmp_path)
    again = invoke("return-feedback", grades, repos, "--push")
    assert again.exit_code == 0, again.output
    assert again.output.count("up to date") == 2 and "already on origin" in again.output
    assert refs(tmp_path) == before


def test_dirty_unknown_and_non_git_folders_are_refused_and_the_others_still_get_their_feedback(
        grades, tmp_path):
    repos = class_of(tmp_path, alice=SOLUTIONS_DIR / L1.relative_path, bob=ASSIGNMENTS_DIR / L1.relative_path,
                     zoe=ASSIGNMENTS_DIR / L1.relative_path)
    (repos / "bob" / L1.relative_path).write_text("# changed after grading\n")     # dirty: modified
    (repos / "not-a-repo").mkdir()
    (repos / "not-a-repo" / "notes.txt").write_text("hi")
    before = refs(tmp_path)

    result = invoke("return-feedback", grades, repos)
    assert result.exit_code == 1, result.output
    assert "alice: committed — feedback.md on branch 'feedback'" in result.output and "not pushed" in result.output
    assert "bob: refused — the working tree is not clean" in result.output
    assert "zoe: refused — no graded submission named 'zoe'" in result.output
    assert "not-a-repo: refused — not a git repository" in result.output
    after = refs(tmp_path)
    assert {ref for ref in after if ref not in before} == {"alice:refs/heads/feedback"}, "only alice changed"
    assert all(after[ref] == sha for ref, sha in before.items())

    git(repos / "bob", "checkout", "--quiet", "--", L1.relative_path)
    (repos / "bob" / "scratch.py").write_text("x = 1\n")                                 # dirty: untracked
    assert "bob: refused — the working tree is not clean (scratch.py)" in invoke(
        "return-feedback", grades, repos).output


def test_classroom_feedback_branch_is_built_on_and_never_force_pushed(grades, tmp_path):
    repos = class_of(tmp_path, alice=SOLUTIONS_DIR / L1.relative_path)
    clone, origin = repos / "alice", tmp_path / "origins" / "alice.git"
    # Classroom's feedback branch: the starting commit, on origin only (a fresh clone sees origin/feedback)
    starter = git(clone, "rev-parse", "HEAD")
    git(clone, "push", "--quiet", "origin", "HEAD:refs/heads/feedback")
    git(clone, "update-ref", "-d", "refs/heads/feedback")
    git(clone, "fetch", "--quiet", "origin")
    (clone / "more.txt").write_text("more work\n")
    git(clone, "add", "more.txt")
    git(clone, *STUDENT, "commit", "--quiet", "-m", "more work")

    result = invoke("return-feedback", grades, repos, "--push", "--branch", "feedback")
    assert result.exit_code == 0, result.output
    assert git(origin, "rev-parse", "feedback^") == starter, "a fast-forward of Classroom's branch"

    # someone else moved origin's branch: the push is refused by git, reported, and nothing is overwritten
    tree = git(origin, "rev-parse", "feedback^{tree}")
    other = git(origin, *STUDENT, "commit-tree", "-p", "feedback", "-m", "someone else", tree)
    git(origin, "update-ref", "refs/heads/feedback", other)
    changed = tmp_path / "grades-changed"
    shutil.copytree(grades / "alice", changed / "alice", dirs_exist_ok=True)
    (changed / "alice" / "feedback.md").write_text("# Feedback for alice\n\nRegraded.\n")
    result = invoke("return-feedback", changed, repos, "--push")
    assert result.exit_code == 1 and "alice: failed — git push" in result.output
    assert git(origin, "rev-parse", "feedback") == other


def test_a_bad_branch_name_is_a_usage_error(grades, tmp_path):
    (tmp_path / "repos").mkdir()
    result = invoke("return-feedback", grades, tmp_path / "repos", "--branch", "bad..name")
    assert result.exit_code == 2 and "not a valid branch name" in result.output
