"""Turn a reference solution into a starter: solution blocks become stubs that name their task.

A solution block sits inside a function, under the task's prompt::

    def reparameterize(mu, logvar):
        \"\"\"...\"\"\"
        # TODO(task 3.2): draw eps ~ N(0, I) and return mu + exp(0.5 * logvar) * eps.
        # Hint: ...
        # BEGIN SOLUTION
        std = torch.exp(0.5 * logvar)
        return mu + std * torch.randn_like(std)
        # END SOLUTION

and becomes ``raise NotImplementedError("Task 3.2: reparameterize is not implemented yet")``
with the prompt and hints kept. ``# BEGIN SOLUTION REMOVE`` blocks are dropped without a stub
(helpers that only the reference needs). A module-level answer constant is marked at the end
of its line, ``Q3 = "A"  # SOLUTION``, and becomes ``Q3 = None``. Every stub block must have a ``# TODO(task N.M): ...``
line above it in the same function.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection

from autograder.build.constants import AnswerMarkerError, strip_answer_constants

BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN SOLUTION(?P<remove> REMOVE)?\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
TODO = re.compile(r"#\s*TODO\(task (?P<task>\d+\.\d+)\)")
DEF = re.compile(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>\w+)")
CLASS = re.compile(r"^(?P<indent>\s*)class\s+(?P<name>\w+)")
MARKER = "SOLUTION"


class StripError(ValueError):
    """The solution file breaks the marker conventions (a build error for instructors)."""


def _enclosing_name(lines: list[str], index: int, indent: int) -> str:
    """``Class.method`` or ``function`` for the block starting at ``index``."""
    names: list[str] = []
    current = indent
    for line in reversed(lines[:index]):
        for pattern in (DEF, CLASS):
            match = pattern.match(line)
            if match and len(match.group("indent")) < current:
                names.append(match.group("name"))
                current = len(match.group("indent"))
    return ".".join(reversed(names)) or "this part"


def _task_of(lines: list[str], index: int, indent: int) -> str:
    for line in reversed(lines[:index]):
        match = TODO.search(line)
        if match:
            return match.group("task")
        stripped = line.strip()
        if DEF.match(line) and len(line) - len(line.lstrip()) < indent:
            break
        if stripped and not stripped.startswith("#") and len(line) - len(line.lstrip()) < indent:
            break
    raise StripError(f"line {index + 1}: a solution block needs a '# TODO(task N.M): ...' "
                     "prompt above it in the same function")


def strip_solutions(source: str, filename: str = "<solution>",
                    tasks: Collection[str] | None = None) -> str:
    """The starter for ``source``; raises :class:`StripError` on malformed markers.

    Module-level answer constants marked at the end of the line (``Q3 = "A"  # SOLUTION``)
    become ``None`` first (see :mod:`autograder.build.constants`).

    With ``tasks``, only the solution blocks of those tasks become stubs: the others keep their
    reference code, as do ``REMOVE`` helpers and answer constants. That is a student who has done
    every other task (the repository's test that check cells pass in notebook order uses it).
    """
    if tasks is None:
        try:
            source = strip_answer_constants(source, filename)
        except AnswerMarkerError as exc:
            raise StripError(str(exc)) from None
    lines = source.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = BEGIN.match(lines[i])
        if END.match(lines[i]):
            raise StripError(f"{filename}:{i + 1}: END SOLUTION without BEGIN SOLUTION")
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match.group("indent")
        end = i + 1
        while end < len(lines) and not END.match(lines[end]):
            if BEGIN.match(lines[end]):
                raise StripError(f"{filename}:{end + 1}: nested BEGIN SOLUTION")
            end += 1
        if end == len(lines):
            raise StripError(f"{filename}:{i + 1}: BEGIN SOLUTION without END SOLUTION")
        task = None if match.group("remove") else _task_of(lines, i, len(indent))
        if tasks is not None and task not in tasks:
            out.extend(lines[i + 1:end])
        elif task is not None:
            name = _enclosing_name(lines, i, len(indent))
            out.append(f'{indent}raise NotImplementedError("Task {task}: {name} is not implemented yet")')
        i = end + 1
    starter = "\n".join(out) + "\n"
    if MARKER in "".join(l for l in out if l.lstrip().startswith("# BEGIN") or l.lstrip().startswith("# END")):
        raise StripError(f"{filename}: a solution marker was left in the starter")
    try:
        ast.parse(starter, filename=filename)
    except SyntaxError as exc:
        raise StripError(f"{filename}: the generated starter does not parse: {exc}") from None
    return starter
