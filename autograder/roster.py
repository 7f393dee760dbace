"""GitHub Classroom rosters: read one, and match graded submissions to its rows.

GitHub Classroom exports its roster as a CSV with the columns ``identifier`` (what the
instructor uploaded: a student id, an email, a login), ``github_username``, ``github_id`` and
``name``. A TA's submissions are named after students' GitHub accounts or after their
identifiers: ``gh classroom clone student-repos`` makes ``<assignment>-<github username>``
folders, LMS and Gradescope downloads use identifiers or names, and a student may simply be a
folder named ``alice``.

A submission name matches a roster row when one of the row's keys (its GitHub username or its
identifier) is the whole name, or a part of it delimited by ``-``, ``_``, ``.``, a space or
the ends of the name (so ``hw6-alice`` matches ``alice`` but not ``al``). When several rows
match, the one with the longest key wins (``hw6-alice-smith`` is ``alice-smith``'s, not
``smith``'s); a tie between rows is ambiguous and matches nothing. A row matched by several
submissions is a conflict: none of them is used, so a wrong grade never reaches the gradebook.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

ROSTER_COLUMNS = ("identifier", "github_username", "github_id", "name")
NAME_DELIMITERS = "-_. "


class RosterError(ValueError):
    """The roster file cannot be used (missing, unreadable, wrong columns); the message says why."""


@dataclass(frozen=True)
class RosterRow:
    """One student of the roster, as GitHub Classroom exports it."""

    identifier: str
    github_username: str
    github_id: str
    name: str

    @property
    def keys(self) -> tuple[str, ...]:
        """What a submission may be named after: the GitHub username and the identifier."""
        return tuple(dict.fromkeys(k for k in (self.github_username, self.identifier) if k))

    @property
    def label(self) -> str:
        """How reports name the student: ``name (identifier, @username)``, with what is known."""
        details = ", ".join(p for p in (self.identifier, f"@{self.github_username}" if self.github_username else "") if p)
        return f"{self.name} ({details})" if self.name and details else (self.name or details)


@dataclass
class RosterMatch:
    """Submissions and roster rows, matched.

    ``by_row`` maps a row's index in the roster to its one submission name;
    ``unmatched`` lists submission names that match no row (or several rows equally well);
    ``missing`` the indexes of rows with no submission; ``conflicts`` a row's index to the
    several submissions that match it (none of them is used).
    """

    rows: list[RosterRow]
    by_row: dict[int, str] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    conflicts: dict[int, list[str]] = field(default_factory=dict)


def read_roster(path: Path) -> list[RosterRow]:
    """The rows of a GitHub Classroom roster CSV; raises :class:`RosterError` with the reason."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError(f"roster {path} does not exist.") from None
    except UnicodeDecodeError:
        raise RosterError(f"roster {path} is not UTF-8 text (export it again from GitHub Classroom "
                          "as CSV).") from None
    except OSError as exc:
        raise RosterError(f"roster {path} could not be read: {exc.strerror or type(exc).__name__}.") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    absent = [column for column in ("identifier", "github_username") if column not in header]
    if absent:
        raise RosterError(f"roster {path} has no column {', '.join(absent)}; expected GitHub Classroom's "
                          f"roster export with the columns {', '.join(ROSTER_COLUMNS)} (found: "
                          f"{', '.join(header) or 'nothing'}).")
    rows = []
    for record in reader:
        values = {(k or "").strip(): (v or "").strip() for k, v in record.items() if isinstance(v, str)}
        row = RosterRow(*(values.get(column, "") for column in ROSTER_COLUMNS))
        if row.keys:
            rows.append(row)
    if not rows:
        raise RosterError(f"roster {path} has no student rows.")
    return rows


def _key_pattern(key: str) -> re.Pattern[str]:
    edge = f"[{re.escape(NAME_DELIMITERS)}]"
    return re.compile(f"(?:^|{edge}){re.escape(key.lower())}(?:{edge}|$)")


def _row_for(name: str, rows: list[RosterRow]) -> int | None:
    """The index of the row whose longest matching key is the longest; None if none or a tie."""
    best: dict[int, int] = {}
    lowered = name.lower()
    for index, row in enumerate(rows):
        lengths = [len(key) for key in row.keys if _key_pattern(key).search(lowered)]
        if lengths:
            best[index] = max(lengths)
    if not best:
        return None
    longest = max(best.values())
    winners = [index for index, length in best.items() if length == longest]
    return winners[0] if len(winners) == 1 else None


def match_submissions(names: list[str], rows: list[RosterRow]) -> RosterMatch:
    """Match submission names (the ``<name>`` folders of a grading run) to roster rows."""
    result = RosterMatch(rows=rows)
    claims: dict[int, list[str]] = {}
    for name in sorted(names):
        index = _row_for(name, rows)
        if index is None:
            result.unmatched.append(name)
        else:
            claims.setdefault(index, []).append(name)
    for index, claimed in claims.items():
        if len(claimed) == 1:
            result.by_row[index] = claimed[0]
        else:
            result.conflicts[index] = claimed
    result.missing = [index for index in range(len(rows)) if index not in claims]
    return result
