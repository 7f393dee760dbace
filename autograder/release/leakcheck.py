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
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from autograder.build.constants import LINE_MARKER
from autograder.build.stripper import BEGIN, END, strip_solutions
from autograder.lessons import LESSONS, REPO_ROOT, SOLUTIONS_DIR, Lesson

SUITES_DIR = REPO_ROOT / "autograder" / "suites"
LESSON1_SUITE = "lesson1.py"
ANSWER_KEY = "QUESTIONS"
QUESTION_NAME = re.compile(r"^Q\d+$")

# A statement of fewer AST nodes than this (contexts not counted) reveals too little to be a leak:
# ``return self.net(x)`` has 5, ``loss = reconstruction_loss(model(x), x)`` has 8.
MIN_STATEMENT_NODES = 8

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
# AST fingerprints


def _key(node: ast.AST) -> str:
    """A node's structure without positions: equal for the same code wherever it stands."""
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _weight(node: ast.AST) -> int:
    return sum(1 for n in ast.walk(node) if not isinstance(n, ast.expr_context))


def _is_trivial(stmt: ast.stmt) -> bool:
    """``pass``, a docstring or ``...``, ``super().__init__(...)``, a ``raise NotImplementedError``."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if (isinstance(func, ast.Attribute) and func.attr == "__init__" and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "super"):
            return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return True
    return False


def _statements(tree: ast.AST) -> Iterator[ast.stmt]:
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            yield node


def _body_without_docstring(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _body_key(body: list[ast.stmt]) -> str:
    return "\n".join(_key(stmt) for stmt in body)


_MAGIC = re.compile(r"^\s*[%!]")


def parse_cell(source: str) -> ast.Module | None:
    """A notebook code cell as Python: IPython magics and shell lines become ``pass``."""
    lines = ["pass" if _MAGIC.match(line) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


# --------------------------------------------------------------------------------------------
# What the instructors own: solution units and hidden-suite fingerprints


@dataclass(frozen=True)
class _Origin:
    path: str          # repository-relative
    line: int
    what: str          # e.g. "solution block of Encoder.__init__"


@dataclass
class _Secrets:
    solution_statements: dict[str, _Origin] = field(default_factory=dict)
    solution_lines: dict[str, _Origin] = field(default_factory=dict)   # blocks that do not parse
    suite_bodies: dict[str, _Origin] = field(default_factory=dict)
    suite_statements: dict[str, _Origin] = field(default_factory=dict)
    file_hashes: dict[str, str] = field(default_factory=dict)          # sha256 -> what
    answers: dict[str, tuple[Any, float]] = field(default_factory=dict)   # name -> (answer, tolerance)
    notes: list[str] = field(default_factory=list)


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def solution_blocks(source: str) -> list[tuple[int, str]]:
    """``(first line number, dedented text)`` of each ``BEGIN SOLUTION`` ... ``END SOLUTION`` block."""
    lines = source.splitlines()
    blocks, start = [], None
    for index, line in enumerate(lines):
        if BEGIN.match(line):
            start = index + 1
        elif END.match(line) and start is not None:
            blocks.append((start + 1, textwrap.dedent("\n".join(lines[start:index]))))
            start = None
    return blocks


def _normalized_line(line: str) -> str:
    return " ".join(line.split("#", 1)[0].split())


def _add_solution_code(secrets: _Secrets, source: str, path: Path, shared: set[str]) -> None:
    for first_line, text in solution_blocks(source):
        origin = _Origin(_rel(path), first_line, "a solution block")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            for offset, line in enumerate(text.splitlines()):
                norm = _normalized_line(line)
                if len(norm) >= 30:
                    secrets.solution_lines.setdefault(norm, _Origin(origin.path, first_line + offset, origin.what))
            continue
        for stmt in _statements(tree):
            key = _key(stmt)
            if _is_trivial(stmt) or _weight(stmt) < MIN_STATEMENT_NODES or key in shared:
                continue
            secrets.solution_statements.setdefault(
                key, _Origin(origin.path, first_line + stmt.lineno - 1, origin.what))


def _shared_statements(sources: Iterable[str]) -> set[str]:
    """Statements of the starters (solution files with their blocks stripped): shared legitimately."""
    shared: set[str] = set()
    for source in sources:
        # Lines marked ``# SOLUTION`` (lesson 1's answer constants) are not in the starter either.
        source = "\n".join(re.sub(r"^(\s*).*$", r"\1pass", line) if LINE_MARKER.search(line) else line
                           for line in source.splitlines())
        try:
            starter = strip_solutions(source)
        except Exception:  # noqa: BLE001 - a malformed solution file is the build's error to report
            continue
        shared |= {_key(stmt) for stmt in _statements(ast.parse(starter))}
    return shared


def _otter_solution_text(cell_source: str) -> str:
    """The solution lines of a master-notebook code cell (Otter's block and line markers)."""
    keep, inside = [], False
    for line in cell_source.splitlines():
        if BEGIN.match(line):
            inside = True
        elif END.match(line):
            inside = False
        elif inside or LINE_MARKER.search(line):
            keep.append(LINE_MARKER.sub("", line))
    return "\n".join(keep)


def _collect_secrets(solutions: Path, suites: Path, lessons: tuple[Lesson, ...]) -> _Secrets:
    secrets = _Secrets()
    student_files: list[Path] = []
    other_python: list[Path] = []
    masters: list[Path] = []
    for lesson in lessons:
        folder = solutions / lesson.folder
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            public = path.relative_to(folder).parts[0] == "tests" or path.name == "README.md"
            if path.name == lesson.student_file and path.parent == folder:
                student_files.append(path)
            elif path.suffix == ".ipynb":
                masters.append(path)
            elif path.suffix == ".py" and not public:
                other_python.append(path)
    sources = {path: path.read_text(encoding="utf-8") for path in student_files + other_python}
    shared = _shared_statements(sources[p] for p in student_files)
    for path in student_files:
        _add_solution_code(secrets, sources[path], path, shared)
        if path.parent.name == _folder_of(lessons, 1):
            _add_answers(secrets, _answers_of_reference(sources[path]))
    for path in other_python:
        # A helper module next to the reference is not copied to the starter: all of it is secret.
        secrets.file_hashes[hashlib.sha256(path.read_bytes()).hexdigest()] = f"a copy of {_rel(path)}"
        try:
            tree = ast.parse(sources[path])
        except SyntaxError:
            continue
        for stmt in _statements(tree):
            if not _is_trivial(stmt) and _weight(stmt) >= MIN_STATEMENT_NODES and _key(stmt) not in shared:
                secrets.solution_statements.setdefault(_key(stmt), _Origin(_rel(path), stmt.lineno, "reference code"))
    for path in masters:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for index, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            text = _otter_solution_text(_cell_source(cell))
            tree = parse_cell(textwrap.dedent(text)) if text.strip() else None
            for stmt in _statements(tree) if tree else ():
                if not _is_trivial(stmt) and _weight(stmt) >= MIN_STATEMENT_NODES and _key(stmt) not in shared:
                    secrets.solution_statements.setdefault(
                        _key(stmt), _Origin(f"{_rel(path)} cell {index}", stmt.lineno, "a master-notebook solution"))
    _collect_suites(secrets, suites)
    if not secrets.answers and any(lesson.number == 1 for lesson in lessons):
        secrets.notes.append(f"lesson 1 answers not checked: no answer key yet (neither Q<n> constants in "
                             f"the lesson 1 reference nor {ANSWER_KEY} in {LESSON1_SUITE})")
    return secrets


def _collect_suites(secrets: _Secrets, suites: Path) -> None:
    if not suites.is_dir():
        secrets.notes.append(f"no hidden suites at {suites}: only markers and imports were checked for hidden tests")
        return
    for path in sorted(suites.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        if data.strip():
            secrets.file_hashes[hashlib.sha256(data).hexdigest()] = f"a copy of the hidden suite {_rel(path)}"
        try:
            tree = ast.parse(data.decode("utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue   # a suite being written; its hash above still catches a copy
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_graded(node):
                body = _body_without_docstring(node)
                if body and sum(_weight(s) for s in body if not _is_trivial(s)) >= MIN_STATEMENT_NODES:
                    secrets.suite_bodies.setdefault(
                        _body_key(body), _Origin(_rel(path), node.lineno, f"the hidden test {node.name}"))
        for stmt in tree.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _weight(stmt) >= 2 * MIN_STATEMENT_NODES:
                secrets.suite_statements.setdefault(
                    _key(stmt), _Origin(_rel(path), stmt.lineno, "a constant of a hidden suite"))
        if path.name == LESSON1_SUITE:
            _add_answers(secrets, _answers_of_suite(tree))


def _is_graded(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A hidden test: decorated with ``@graded(...)`` (helpers of a suite may be shared with public tests)."""
    for decorator in fn.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "graded":
            return True
    return False


def _folder_of(lessons: tuple[Lesson, ...], number: int) -> str | None:
    return next((lesson.folder for lesson in lessons if lesson.number == number), None)


def _add_answers(secrets: _Secrets, answers: dict[str, tuple[Any, float]]) -> None:
    for name, (value, tolerance) in answers.items():
        known = secrets.answers.get(name)
        secrets.answers[name] = (value, tolerance) if known is None else (known[0], max(known[1], tolerance))


def _literal(node: ast.AST | None) -> tuple[bool, Any]:
    if node is None:
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _answers_of_reference(source: str) -> dict[str, tuple[Any, float]]:
    """The reference's module-level ``Q<n> = <literal>`` constants (lesson 1's answers)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    answers = {}
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            else stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and QUESTION_NAME.match(target.id):
            found, value = _literal(stmt.value)
            if found and value is not None:
                answers[target.id] = (value, 0.0)
    return answers


def _answers_of_suite(tree: ast.Module) -> dict[str, tuple[Any, float]]:
    """``QUESTIONS = {"Q1": Question("B", ..., tolerance=0.5), ...}``: each answer and its tolerance."""
    answers: dict[str, tuple[Any, float]] = {}
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        if not any(isinstance(t, ast.Name) and t.id == ANSWER_KEY for t in targets):
            continue
        if not isinstance(stmt.value, ast.Dict):
            continue
        for key_node, value_node in zip(stmt.value.keys, stmt.value.values):
            found, key = _literal(key_node)
            if not found:
                continue
            name = f"Q{key}" if isinstance(key, int) else str(key)
            if not isinstance(value_node, ast.Call) or not value_node.args:
                continue
            found, value = _literal(value_node.args[0])
            tolerance = 0.0
            for keyword in value_node.keywords:
                if keyword.arg == "tolerance":
                    ok, tol = _literal(keyword.value)
                    tolerance = float(tol) if ok and isinstance(tol, (int, float)) else 0.0
            if found and value is not None:
                answers[name] = (value, tolerance)
    return answers


def _same_answer(given: Any, answer: Any, tolerance: float = 0.0) -> bool:
    if given is None:
        return False
    if isinstance(given, str) and isinstance(answer, str):
        return given.strip().casefold() == answer.strip().casefold()
    if isinstance(answer, (set, frozenset, list, tuple)) and isinstance(given, (set, frozenset, list, tuple)):
        return {str(x).strip().casefold() for x in given} == {str(x).strip().casefold() for x in answer}
    numbers = (int, float)
    if isinstance(given, bool) or isinstance(answer, bool):
        return type(given) is type(answer) and given == answer
    if isinstance(given, numbers) and isinstance(answer, numbers):
        return abs(given - answer) <= max(tolerance, 1e-9 * max(1.0, abs(answer)))
    try:
        return type(given) is type(answer) and bool(given == answer)
    except Exception:  # noqa: BLE001
        return False


# --------------------------------------------------------------------------------------------
# Scanning the release


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


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
    def __init__(self, root: Path, secrets: _Secrets) -> None:
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
            source = _cell_source(cell)
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
                origin = self.secrets.suite_bodies.get(_body_key(_body_without_docstring(node)))
                if origin:
                    self.add("hidden test", path, line,
                             f"{node.name}{where} has the body of {origin.what} ({origin.path}:{origin.line})")
            if isinstance(node, ast.stmt):
                key = _key(node)
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
                    found, value = _literal(stmt.value)
                    if found and _same_answer(value, *answers[target.id]):
                        self.add("lesson 1 answer", path, stmt.lineno if not where else None,
                                 f"{target.id}{where} is set to the graded answer")

    def scan_lines(self, path: Path, lines: list[str], first: int | None) -> None:
        if not self.secrets.solution_lines:
            return
        for offset, line in enumerate(lines):
            origin = self.secrets.solution_lines.get(_normalized_line(line))
            if origin:
                self.add("solution code", path, first + offset if first else None,
                         f"a line of {origin.what} at {origin.path}:{origin.line}")


def check_release(release: Path, *, solutions: Path = SOLUTIONS_DIR, suites: Path = SUITES_DIR,
                  lessons: tuple[Lesson, ...] = LESSONS) -> LeakReport:
    """Check every file under ``release`` (``.git`` aside); the report lists leaks and skipped checks."""
    release = Path(release)
    secrets = _collect_secrets(Path(solutions), Path(suites), lessons)
    scanner = _Scanner(release, secrets)
    files = scanner.scan()
    return LeakReport(leaks=scanner.leaks, skipped=list(secrets.notes), files_checked=files)


def main(*, release: Path) -> LeakReport:
    """Check ``release``; raises :class:`LeakError` when anything leaks."""
    report = check_release(release)
    if not report.ok:
        raise LeakError(report)
    return report
