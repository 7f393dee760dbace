"""What the instructors own, as fingerprints the release's leak check compares against.

From ``solutions/`` and the hidden suites this collects (:func:`collect_owned`): the statements
inside solution blocks (not those the starters share, nor tiny ones), the statements of reference
helper modules and master-notebook solutions, the bodies and large constants of the ``@graded``
tests, file hashes of the suites, and lesson 1's answer key (the reference's ``Q<n> = ...  #
SOLUTION`` constants and the suite's ``QUESTIONS``). Everything is read as source (ASTs without
positions), never imported. :mod:`autograder.release.leakcheck` scans a release against it.
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
from autograder.lessons import REPO_ROOT, SUITES_DIR, Lesson

LESSON1_SUITE = "lesson1.py"
ANSWER_KEY = "QUESTIONS"
QUESTION_NAME = re.compile(r"^Q\d+$")

# A statement of fewer AST nodes than this (contexts not counted) reveals too little to be a leak:
# ``return self.net(x)`` has 5, ``loss = reconstruction_loss(model(x), x)`` has 8.
MIN_STATEMENT_NODES = 8


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)



# --------------------------------------------------------------------------------------------
# AST fingerprints


def node_key(node: ast.AST) -> str:
    """A node's structure without positions: equal for the same code wherever it stands."""
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def node_weight(node: ast.AST) -> int:
    return sum(1 for n in ast.walk(node) if not isinstance(n, ast.expr_context))


def is_trivial(stmt: ast.stmt) -> bool:
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


def statements(tree: ast.AST) -> Iterator[ast.stmt]:
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            yield node


def body_without_docstring(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def body_key(body: list[ast.stmt]) -> str:
    return "\n".join(node_key(stmt) for stmt in body)


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
class Owned:
    solution_statements: dict[str, _Origin] = field(default_factory=dict)
    solution_lines: dict[str, _Origin] = field(default_factory=dict)   # blocks that do not parse
    suite_bodies: dict[str, _Origin] = field(default_factory=dict)
    suite_statements: dict[str, _Origin] = field(default_factory=dict)
    file_hashes: dict[str, str] = field(default_factory=dict)          # sha256 -> what
    answers: dict[str, tuple[Any, float]] = field(default_factory=dict)   # name -> (answer, tolerance)
    notes: list[str] = field(default_factory=list)


def repo_relative(path: Path) -> str:
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


def normalized_line(line: str) -> str:
    return " ".join(line.split("#", 1)[0].split())


def _add_solution_code(secrets: Owned, source: str, path: Path, shared: set[str]) -> None:
    for first_line, text in solution_blocks(source):
        origin = _Origin(repo_relative(path), first_line, "a solution block")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            for offset, line in enumerate(text.splitlines()):
                norm = normalized_line(line)
                if len(norm) >= 30:
                    secrets.solution_lines.setdefault(norm, _Origin(origin.path, first_line + offset, origin.what))
            continue
        for stmt in statements(tree):
            key = node_key(stmt)
            if is_trivial(stmt) or node_weight(stmt) < MIN_STATEMENT_NODES or key in shared:
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
        shared |= {node_key(stmt) for stmt in statements(ast.parse(starter))}
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


def collect_owned(solutions: Path, suites: Path, lessons: tuple[Lesson, ...]) -> Owned:
    secrets = Owned()
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
        secrets.file_hashes[hashlib.sha256(path.read_bytes()).hexdigest()] = f"a copy of {repo_relative(path)}"
        try:
            tree = ast.parse(sources[path])
        except SyntaxError:
            continue
        for stmt in statements(tree):
            if not is_trivial(stmt) and node_weight(stmt) >= MIN_STATEMENT_NODES and node_key(stmt) not in shared:
                secrets.solution_statements.setdefault(node_key(stmt), _Origin(repo_relative(path), stmt.lineno, "reference code"))
    for path in masters:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for index, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            text = _otter_solution_text(cell_source(cell))
            tree = parse_cell(textwrap.dedent(text)) if text.strip() else None
            for stmt in statements(tree) if tree else ():
                if not is_trivial(stmt) and node_weight(stmt) >= MIN_STATEMENT_NODES and node_key(stmt) not in shared:
                    secrets.solution_statements.setdefault(
                        node_key(stmt), _Origin(f"{repo_relative(path)} cell {index}", stmt.lineno, "a master-notebook solution"))
    _collect_suites(secrets, suites)
    if not secrets.answers and any(lesson.number == 1 for lesson in lessons):
        secrets.notes.append(f"lesson 1 answers not checked: no answer key yet (neither Q<n> constants in "
                             f"the lesson 1 reference nor {ANSWER_KEY} in {LESSON1_SUITE})")
    return secrets


def _collect_suites(secrets: Owned, suites: Path) -> None:
    if not suites.is_dir():
        secrets.notes.append(f"no hidden suites at {suites}: only markers and imports were checked for hidden tests")
        return
    for path in sorted(suites.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        if data.strip():
            secrets.file_hashes[hashlib.sha256(data).hexdigest()] = f"a copy of the hidden suite {repo_relative(path)}"
        try:
            tree = ast.parse(data.decode("utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue   # a suite being written; its hash above still catches a copy
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_graded(node):
                body = body_without_docstring(node)
                if body and sum(node_weight(s) for s in body if not is_trivial(s)) >= MIN_STATEMENT_NODES:
                    secrets.suite_bodies.setdefault(
                        body_key(body), _Origin(repo_relative(path), node.lineno, f"the hidden test {node.name}"))
        for stmt in tree.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and node_weight(stmt) >= 2 * MIN_STATEMENT_NODES:
                secrets.suite_statements.setdefault(
                    node_key(stmt), _Origin(repo_relative(path), stmt.lineno, "a constant of a hidden suite"))
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


def _add_answers(secrets: Owned, answers: dict[str, tuple[Any, float]]) -> None:
    for name, (value, tolerance) in answers.items():
        known = secrets.answers.get(name)
        secrets.answers[name] = (value, tolerance) if known is None else (known[0], max(known[1], tolerance))


def literal(node: ast.AST | None) -> tuple[bool, Any]:
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
            found, value = literal(stmt.value)
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
            found, key = literal(key_node)
            if not found:
                continue
            name = f"Q{key}" if isinstance(key, int) else str(key)
            if not isinstance(value_node, ast.Call) or not value_node.args:
                continue
            found, value = literal(value_node.args[0])
            tolerance = 0.0
            for keyword in value_node.keywords:
                if keyword.arg == "tolerance":
                    ok, tol = literal(keyword.value)
                    tolerance = float(tol) if ok and isinstance(tol, (int, float)) else 0.0
            if found and value is not None:
                answers[name] = (value, tolerance)
    return answers


def same_answer(given: Any, answer: Any, tolerance: float = 0.0) -> bool:
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


