"""Otter-Grader packaging (``otter --out DIR``, docs/cli.md): student notebooks and ``autograder.zip``.

- :mod:`.artefacts` — ``main(*, out, ...)``: per notebook lesson, the student folder (from
  ``assignments/``, made by ``otter assign`` in the build) and the Gradescope ``autograder.zip``;
- :mod:`.autograder_zip` — ``otter generate`` plus the engine, the hidden suites and the data;
- :mod:`.plugin` — the Otter plugin that grades with the isolated engine and discards whatever
  Otter's kernel reports.
"""

from autograder.otter.artefacts import main

__all__ = ["main"]
