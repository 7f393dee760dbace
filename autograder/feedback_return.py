"""Give each student the TA's feedback in their own repository: ``python -m autograder return-feedback``.

After ``python -m autograder grade REPOS_DIR --out GRADES_DIR``, each graded repository
``REPOS_DIR/<name>`` has ``GRADES_DIR/<name>/feedback.md`` and ``results.json``. For each
repository this commits that ``feedback.md`` (file :data:`FEEDBACK_FILE` at the top of the
repository) on a branch (``feedback`` by default), with the summary line of ``results.json``
("Total: 87 / 100") as the commit's subject and the per-lesson lines as its body; with
``push=True`` it pushes the branch to the repository's ``origin``.

- **Where the commit goes.** On top of the branch when the repository has it (locally, or as
  ``origin/<branch>``: GitHub Classroom makes a ``feedback`` branch, the base of its "Feedback"
  pull request), otherwise on top of the commit that was graded (``HEAD``). The student's
  checked-out branch, index and files are never touched: the commit is made with git's plumbing
  (a blob, a tree from a private index, ``commit-tree``, ``update-ref``), not by checking out.
  A push is never forced: a branch that moved on ``origin`` is reported, not overwritten.
- **What is refused.** A folder that is not a git repository; a repository whose name maps to
  no graded submission in ``GRADES_DIR``; a dirty one (changed, staged or untracked files: what
  was graded may then not be what was committed); one that has the feedback branch checked out.
- **Idempotent.** When the branch already holds this feedback, nothing is committed; when
  ``origin`` already has the branch at the same commit, nothing is pushed. A second run changes
  nothing.

git is driven through its command line (``subprocess``): it is what every TA already has, with
their credentials for ``push``; GitPython would be a new dependency that itself runs the same
``git`` binary.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder.report import read_results

FEEDBACK_FILE = "feedback.md"
DEFAULT_BRANCH = "feedback"
# Used only when the TA's git has no identity configured (git refuses to commit without one).
FALLBACK_IDENTITY = {"GIT_AUTHOR_NAME": "Teaching team", "GIT_AUTHOR_EMAIL": "teaching-team@example.invalid",
                     "GIT_COMMITTER_NAME": "Teaching team", "GIT_COMMITTER_EMAIL": "teaching-team@example.invalid"}
# Variables that would point git at another repository than the one named with -C.
_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                       "GIT_COMMON_DIR", "GIT_NAMESPACE")

# What happened to a repository; the first three are fine, the last two make the exit status 1.
COMMITTED, PUSHED, UP_TO_DATE, REFUSED, FAILED = "committed", "pushed", "up to date", "refused", "failed"


class GitError(RuntimeError):
    """A git command failed; the message is git's own."""


@dataclass(frozen=True)
class Outcome:
    """What ``return-feedback`` did in one repository."""

    repo: str
    status: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.status not in (REFUSED, FAILED)

    def line(self) -> str:
        return f"{self.repo}: {self.status} — {self.detail}"


class _Git:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}

    def __call__(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                 check: bool = True) -> str:
        result = subprocess.run(["git", "-C", str(self.repo), *args], input=input, capture_output=True,
                                text=True, env={**self.env, **(env or {})}, timeout=300)
        if check and result.returncode != 0:
            raise GitError(f"git {args[0]}: {(result.stderr or result.stdout).strip()}")
        return result.stdout.strip() if result.returncode == 0 else ""

    def rev(self, ref: str) -> str:
        return self("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)


def _identity(git: _Git) -> dict[str, str]:
    configured = git("config", "user.email", check=False) and git("config", "user.name", check=False)
    return {} if configured else FALLBACK_IDENTITY


def _message(results: dict) -> str:
    lines = [line for line in str(results.get("output", "")).splitlines() if line.strip()]
    subject = f"Feedback from the teaching team: {lines[0]}" if lines else "Feedback from the teaching team"
    return "\n\n".join([subject, "\n".join(lines[1:])]).strip() + "\n"


def _refusal(git: _Git, name: str, grades: Path, branch: str) -> str | None:
    """Why this repository must not be touched, or None."""
    if Path(git("rev-parse", "--show-toplevel", check=False) or "/nonexistent").resolve() != git.repo.resolve():
        return "not a git repository (its own top folder)"
    if read_results(grades / name) is None:
        return f"no graded submission named {name!r} in {grades} (grade the repositories first)"
    if not git.rev("HEAD"):
        return "the repository has no commit"
    dirty = git("status", "--porcelain", "--untracked-files=normal")
    if dirty:
        shown = ", ".join(line[3:] for line in dirty.splitlines()[:3])
        return f"the working tree is not clean ({shown}): what was graded may not be what was committed"
    if git("symbolic-ref", "--quiet", "HEAD", check=False) == f"refs/heads/{branch}":
        return f"the branch {branch!r} is checked out: switch to the student's branch first"
    return None


def _commit(git: _Git, name: str, grades: Path, branch: str) -> tuple[bool, str]:
    """Commit the feedback on ``branch`` unless it is already there; returns (committed, commit)."""
    results = read_results(grades / name) or {}
    feedback = (grades / name / FEEDBACK_FILE).read_text(encoding="utf-8")
    parent = git.rev(f"refs/heads/{branch}") or git.rev(f"refs/remotes/origin/{branch}") or git.rev("HEAD")
    blob = git("hash-object", "-w", "--stdin", input=feedback)
    with tempfile.TemporaryDirectory(prefix="gf-feedback-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git("read-tree", parent, env=index)
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{FEEDBACK_FILE}", env=index)
        tree = git("write-tree", env=index)
    local = git.rev(f"refs/heads/{branch}")
    if tree == git("rev-parse", f"{parent}^{{tree}}"):
        if not local:
            git("update-ref", f"refs/heads/{branch}", parent, "")
        return False, parent
    commit = git("commit-tree", tree, "-p", parent, input=_message(results), env=_identity(git))
    git("update-ref", "-m", "return-feedback", f"refs/heads/{branch}", commit, local)
    return True, commit


def _push(git: _Git, branch: str, commit: str) -> bool:
    """Push ``branch`` to origin unless origin already has it at ``commit``; never forced."""
    remote = git("ls-remote", "origin", f"refs/heads/{branch}")
    if remote.split("\t")[0] == commit:
        return False
    git("push", "--quiet", "origin", f"refs/heads/{branch}:refs/heads/{branch}")
    return True


def return_one(repo: Path, grades: Path, branch: str = DEFAULT_BRANCH, push: bool = False) -> Outcome:
    """Commit (and push) the feedback of one repository; never raises for a git problem."""
    git = _Git(repo)
    try:
        refusal = _refusal(git, repo.name, grades, branch)
        if refusal:
            return Outcome(repo.name, REFUSED, refusal)
        committed, commit = _commit(git, repo.name, grades, branch)
        where = f"{FEEDBACK_FILE} on branch {branch!r} ({commit[:10]})"
        if push and _push(git, branch, commit):
            return Outcome(repo.name, PUSHED, f"{where}{', new commit' if committed else ''}, pushed to origin")
        if committed:
            return Outcome(repo.name, COMMITTED, where + ("" if push else "; not pushed (add --push)"))
        return Outcome(repo.name, UP_TO_DATE, where + (" is already on origin" if push else " is already there"))
    except (GitError, OSError, subprocess.TimeoutExpired) as exc:
        return Outcome(repo.name, FAILED, str(exc))


def main(*, grades: Path, repos: Path, branch: str = DEFAULT_BRANCH, push: bool = False,
         echo: Callable[[str], None] = print) -> list[Outcome]:
    """Return the feedback of every repository (sub-folder) of ``repos``; one line per repository,
    then the graded submissions that have no repository there."""
    grades, repos = Path(grades), Path(repos)
    for folder, what in ((grades, "GRADES_DIR"), (repos, "REPOS_DIR")):
        if not folder.is_dir():
            raise FileNotFoundError(f"{what} {folder} is not a folder")
    valid = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True, text=True)
    if valid.returncode != 0:
        raise ValueError(f"{branch!r} is not a valid branch name: {valid.stderr.strip()}")
    outcomes = []
    for repo in sorted(p for p in repos.iterdir() if p.is_dir() and not p.name.startswith(".")):
        outcome = return_one(repo, grades, branch, push)
        echo(outcome.line())
        outcomes.append(outcome)
    names = {repo.name for repo in repos.iterdir()}
    unmatched = sorted(p.name for p in grades.iterdir() if read_results(p) is not None and p.name not in names)
    if unmatched:
        echo(f"graded but with no repository in {repos}: {', '.join(unmatched)}")
    return outcomes
