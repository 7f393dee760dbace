"""Progress of a bulk run: a tqdm bar with an ETA on a terminal, plain lines otherwise.

With a bar, only notable submissions (errors, timeouts) get a line of their own above it; in a
log (not a terminal) every finished submission gets one line, prefixed by ``[done/total]``.
"""

from __future__ import annotations

import sys
from typing import Any, Callable


class Progress:
    """Counts finished submissions out of ``total`` (``done`` of them already up to date)."""

    def __init__(self, total: int, done: int = 0, echo: Callable[[str], None] = print,
                 bar: bool | None = None) -> None:
        self.total = total
        self.done = done
        self.echo = echo
        if bar is None:
            bar = _is_terminal(sys.stderr)
        self._bar: Any = None
        if bar:
            from tqdm import tqdm
            self._bar = tqdm(total=total, initial=done, unit="sub", file=sys.stderr,
                             dynamic_ncols=True, smoothing=0.1, desc="Grading")

    def note(self, text: str) -> None:
        """A line that is not about one submission (e.g. the sandbox's protections)."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            self.echo(text)

    def advance(self, line: str, notable: bool = False) -> None:
        """One more submission finished; ``line`` says how it went."""
        self.done += 1
        if self._bar is not None:
            if notable:
                self._bar.write(line, file=sys.stderr)
            self._bar.set_postfix_str(line.split(":", 1)[0][:30], refresh=False)
            self._bar.update(1)
        else:
            self.echo(f"[{self.done}/{self.total}] {line}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
