"""Strip answer constants: ``Q3 = "B"  # SOLUTION`` in a solution becomes ``Q3 = None`` in the starter.

Solution blocks (:mod:`.stripper`) live inside functions. Module-level answers (lesson 1's
concept questions) are one line each, so they are marked at the end of the line instead::

    Q3 = "A"  # SOLUTION        ->    Q3 = None
    Q5: float = 236.0  # SOLUTION   ->    Q5: float = None

Only a one-line, module-level assignment of a single name may carry the marker. Anything else
(an indented line, a value that continues on the next line, a statement that is not an
assignment) is an :class:`AnswerMarkerError`, so a misplaced marker fails the build instead of
leaking an answer into a starter.
"""

from __future__ import annotations

import ast
import re

# The end-of-line marker itself, wherever it stands (the release's leak check looks for it too).
LINE_MARKER = re.compile(r"#\s*SOLUTION\s*$", re.MULTILINE)
# A code line, indented or not, whose trailing comment is exactly "# SOLUTION" (comment-only
# lines such as "# BEGIN SOLUTION" never match).
MARKED = re.compile(r"^\s*[^#\s].*?\s*" + LINE_MARKER.pattern)
# ``NAME = value`` or ``NAME: annotation = value`` at the start of a line.
ASSIGNMENT = re.compile(r"^(?P<target>[A-Za-z_]\w*\s*(?::[^=]+)?=\s*)(?P<value>\S.*)$")


class AnswerMarkerError(ValueError):
    """A ``# SOLUTION`` end-of-line marker on a line that is not a one-line answer constant."""


def _is_one_line_expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


def strip_answer_constants(source: str, filename: str = "<solution>") -> str:
    """``source`` with the value of every ``NAME = value  # SOLUTION`` line replaced by ``None``."""
    out = []
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        body = line.rstrip("\r\n")
        if not MARKED.match(body):
            out.append(line)
            continue
        assignment = ASSIGNMENT.match(body[:body.rindex("#")].rstrip())
        if not assignment or not _is_one_line_expression(assignment.group("value")):
            raise AnswerMarkerError(
                f"{filename}:{number}: '# SOLUTION' at the end of a line marks a one-line, "
                f"module-level answer such as `Q3 = \"B\"  # SOLUTION`; found {body.strip()!r}")
        out.append(f"{assignment.group('target')}None{line[len(body):]}")
    return "".join(out)
