"""Check a student release for anything that must stay with the instructors.

A student repository is public to its student: whatever it contains, the student can read. So
before a release is written, every file in it is checked for

- **solution markers** (``# BEGIN SOLUTION``/``# END SOLUTION``, Otter's ``# SOLUTION``,
  ``# BEGIN TESTS``, ``# ASSIGNMENT CONFIG``, ...): a file was copied from ``solutions/`` or a
  master notebook instead of being generated;
- **reference code**: a statement of a solution block of ``solutions/<lesson>/<file>.py`` (or of a
  master notebook's solution) found in any Python file or notebook code cell. Only the statements
  *inside* solution blocks count, and not those the starters legitimately share (a statement that
  also appears outside the blocks, e.g. ``super().__init__()``) nor tiny ones (``return
  self.net(x)``, ``model.train()``), which give nothing away;
- **hidden tests**: a copy of a suite file of ``autograder/suites/``, the body of one of its
  ``@graded`` tests (under any name), one of its large module-level constants (an answer key), a
  ``@graded(...)`` decorator, a mention of ``autograder.suites``, anything of the
  ``autograder`` package (a folder of that name or an import of it), or a hidden Otter test in a
  notebook's metadata;
- **lesson 1's answers**: a module-level ``Q<n> = <value>`` constant equal to a graded answer. The
  answer key is read from the lesson 1 reference (its ``Q<n> = ...  # SOLUTION`` constants) and
  from the hidden suite ``autograder/suites/lesson1.py`` (its ``QUESTIONS`` dict, whose values are
  calls with the answer first, e.g. ``Question("B", ..., tolerance=0.5)``).
  While neither exists, this part is skipped and the report says so.

Everything is compared as source (ASTs without positions), never imported: the checker runs no
code from the release or the suites.
What counts as the instructors' is collected by :mod:`autograder.release.owned`; this module
scans the release against it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from autograder.build.constants import LINE_MARKER
from autograder.lessons import LESSONS, SOLUTIONS_DIR, SUITES_DIR, Lesson
from autograder.release.owned import (Owned, body_key, body_without_docstring, cell_source,
                                      collect_owned, literal, node_key, normalized_line,
                                      parse_cell, same_answer)


MARKER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("solution marker", re.compile(r"\b(?:BEGIN|END) SOLUTION\b")),
    ("Otter solution marker", LINE_MARKER),
    ("Otter master-notebook marker",
     # otter assign itself writes "<!-- BEGIN QUESTION -->" around manual questions in
     # student notebooks: that HTML comment is legitimate, the raw-cell marker is not.
     re.compile(r"(?<!<!-- )\b(?:BEGIN|END) (?:TESTS|QUESTION|PROMPT|HIDDEN TESTS)\b|\bASSIGNMENT CONFIG\b")),
    ("hidden-suite decorator", re.compile(r"@graded\s*\(")),
    ("reference to the hidden suites", re.compile(r"\bautograder[./]suites\b")),
)
FORBIDDEN_FOLDERS = {"autograder": "the grader package", "solutions": "the reference solutions"}
BINARY_SUFFIXES = {".gz", ".zip", ".png", ".jpg", ".jpeg", ".pt", ".pdf", ".whl"}


@dataclass(frozen=True)
class Leak:
    """One thing found in the release that must not be there."""

    kind: str
    path: str
    line: int | None
    detail: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class LeakReport:
    """What :func:`check_release` found, and which checks it could not run (with why)."""

    leaks: list[Leak] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    files_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.leaks

    def summary(self) -> str:
        head = (f"leak check: {self.files_checked} files, "
                + ("no leaks" if self.ok else f"{len(self.leaks)} leak(s)"))
        lines = [head] + [f"  {leak}" for leak in self.leaks]
        lines += [f"  skipped: {reason}" for reason in self.skipped]
        return "\n".join(lines)


class LeakError(RuntimeError):
    """A release contains solution code or hidden tests; the message lists them."""

    def __init__(self, report: LeakReport) -> None:
        super().__init__(report.summary())
        self.report = report



# --------------------------------------------------------------------------------------------
# Scanning the release


def _read_text(path: Path) -> str | None:
    if path.suffix in BINARY_SUFFIXES:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (keys included), for marker scans of notebook parts."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _hidden_otter_tests(value: Any, trail: str = "metadata") -> Iterator[str]:
    """Paths in notebook metadata to hidden Otter test cases (OK format, or exception format source)."""
    if isinstance(value, dict):
        if value.get("hidden") is True:
            yield trail
        for key, item in value.items():
            yield from _hidden_otter_tests(item, f"{trail}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _hidden_otter_tests(item, f"{trail}[{index}]")
    elif isinstance(value, str) and re.search(r"\bhidden\s*=\s*True\b", value):
        yield trail


class _Scanner:
    def __init__(self, root: Path, secrets: Owned) -> None:
        self.root = root
        self.secrets = secrets
        self.leaks: list[Leak] = []

    def add(self, kind: str, path: Path, line: int | None, detail: str) -> None:
        self.leaks.append(Leak(kind, path.relative_to(self.root).as_posix(), line, detail))

    def scan(self) -> int:
        files = 0
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if ".git" in rel.parts[:1]:
                continue
            if path.is_dir():
                if path.name in FORBIDDEN_FOLDERS:
                    self.add("instructor folder", path, None,
                             f"a folder named {path.name}/ ({FORBIDDEN_FOLDERS[path.name]}) must not be released")
                continue
            if not path.is_file():
                continue
            files += 1
            self.scan_file(path)
        return files

    def scan_file(self, path: Path) -> None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in self.secrets.file_hashes:
            self.add("hidden file", path, None, self.secrets.file_hashes[digest])
        text = _read_text(path)
        if text is None:
            return
        if path.suffix == ".ipynb":
            self.scan_notebook(path, text)
            return
        self.scan_markers(path, text, None)
        if path.suffix == ".py":
            try:
                tree = ast.parse(text)
            except SyntaxError as exc:
                self.scan_lines(path, text.splitlines(), 1)
                self.add("unparsable Python", path, exc.lineno,
                         "the file does not parse, so its code could not be compared with the solutions")
                return
            self.scan_tree(path, tree, None)
            self.scan_lines(path, text.splitlines(), 1)

    def scan_markers(self, path: Path, text: str, part: str | None) -> None:
        for kind, pattern in MARKER_PATTERNS:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                where = f" in {part}" if part else ""
                self.add(kind, path, None if part else line, f"{match.group(0).strip()!r} found{where}")

    def scan_notebook(self, path: Path, text: str) -> None:
        try:
            nb = json.loads(text)
        except ValueError:
            self.add("unreadable notebook", path, None, "not valid JSON, so it could not be checked")
            self.scan_markers(path, text, None)
            return
        if not isinstance(nb, dict):
            self.add("unreadable notebook", path, None, "not a notebook, so it could not be checked")
            return
        self.scan_markers(path, "\n".join(_strings(nb.get("metadata", {}))), "the notebook metadata")
        for trail in _hidden_otter_tests(nb.get("metadata", {})):
            self.add("hidden Otter test", path, None, f"a hidden test case in the notebook's {trail}")
        for index, cell in enumerate(nb.get("cells", [])):
            source = cell_source(cell)
            self.scan_markers(path, source, f"cell {index}")
            self.scan_markers(path, "\n".join(_strings(cell.get("metadata", {}))), f"the metadata of cell {index}")
            self.scan_markers(path, "\n".join(_strings(cell.get("outputs", []))), f"the outputs of cell {index}")
            for trail in _hidden_otter_tests(cell.get("metadata", {}), f"cell {index} metadata"):
                self.add("hidden Otter test", path, None, f"a hidden test case in {trail}")
            if cell.get("cell_type") != "code":
                continue
            if re.match(r"\s*#\s*HIDDEN\b", source):
                self.add("hidden Otter test", path, None, f"code cell {index} is a hidden test (# HIDDEN)")
            tree = parse_cell(source)
            if tree is not None:
                self.scan_tree(path, tree, f"code cell {index}")
            self.scan_lines(path, source.splitlines(), None)

    def scan_tree(self, path: Path, tree: ast.AST, cell: str | None) -> None:
        where = f" ({cell})" if cell else ""
        reported: set[tuple[str, int]] = set()
        covered: set[int] = set()     # nodes inside a statement already reported
        for node in ast.walk(tree):
            if id(node) in covered:
                continue
            line = getattr(node, "lineno", None) if cell is None else None
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "autograder":
                        self.add("grader import", path, line, f"imports {alias.name}{where}")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] == "autograder":
                self.add("grader import", path, line, f"imports from {node.module}{where}")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                origin = self.secrets.suite_bodies.get(body_key(body_without_docstring(node)))
                if origin:
                    self.add("hidden test", path, line,
                             f"{node.name}{where} has the body of {origin.what} ({origin.path}:{origin.line})")
            if isinstance(node, ast.stmt):
                key = node_key(node)
                origin = self.secrets.solution_statements.get(key)
                if origin and (origin.path, origin.line) not in reported:
                    reported.add((origin.path, origin.line))
                    covered |= {id(n) for n in ast.walk(node)}
                    self.add("solution code", path, line,
                             f"a statement{where} of {origin.what} at {origin.path}:{origin.line}")
                origin = self.secrets.suite_statements.get(key)
                if origin:
                    self.add("hidden test", path, line, f"{origin.what} at {origin.path}:{origin.line}{where}")
        if self.secrets.answers and isinstance(tree, ast.Module):
            self.scan_answers(path, tree, where)

    def scan_answers(self, path: Path, tree: ast.Module, where: str) -> None:
        answers = self.secrets.answers or {}
        for stmt in tree.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) \
                else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id in answers:
                    found, value = literal(stmt.value)
                    if found and same_answer(value, *answers[target.id]):
                        self.add("lesson 1 answer", path, stmt.lineno if not where else None,
                                 f"{target.id}{where} is set to the graded answer")

    def scan_lines(self, path: Path, lines: list[str], first: int | None) -> None:
        if not self.secrets.solution_lines:
            return
        for offset, line in enumerate(lines):
            origin = self.secrets.solution_lines.get(normalized_line(line))
            if origin:
                self.add("solution code", path, first + offset if first else None,
                         f"a line of {origin.what} at {origin.path}:{origin.line}")


def check_release(release: Path, *, solutions: Path = SOLUTIONS_DIR, suites: Path = SUITES_DIR,
                  lessons: tuple[Lesson, ...] = LESSONS) -> LeakReport:
    """Check every file under ``release`` (``.git`` aside); the report lists leaks and skipped checks."""
    release = Path(release)
    secrets = collect_owned(Path(solutions), Path(suites), lessons)
    scanner = _Scanner(release, secrets)
    files = scanner.scan()
    return LeakReport(leaks=scanner.leaks, skipped=list(secrets.notes), files_checked=files)


def main(*, release: Path) -> LeakReport:
    """Check ``release``; raises :class:`LeakError` when anything leaks."""
    report = check_release(release)
    if not report.ok:
        raise LeakError(report)
    return report
