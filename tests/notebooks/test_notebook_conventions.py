"""The data and run-time conventions every lesson notebook follows (static checks, no execution).

- The first code that prints is ``DATA = notebook_data()``: the notebook's first output names the
  data it trains on (the full Fashion-MNIST, downloaded if needed, or the subset with a notice).
- Every ``load_fashion_mnist`` call passes ``source=DATA``, so the whole notebook uses that data.
- The first cell opens with the run-time table (subset / full data) that
  ``benchmarks/notebooks_benchmark.py`` measures, and the full-data time is within the budget.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS
from benchmarks.notebooks_benchmark import BUDGET_SECONDS

WITH_NOTEBOOKS = [l for l in LESSONS if l.notebook and (ASSIGNMENTS_DIR / l.folder / l.notebook).exists()]
IDS = [l.folder for l in WITH_NOTEBOOKS]
TABLE_ROW = re.compile(r"^\| measured on one CPU thread \| (?P<subset>[\d.]+) min \| (?P<full>[\d.]+) min", re.MULTILINE)


def _notebook(lesson) -> nbformat.NotebookNode:
    return nbformat.read(ASSIGNMENTS_DIR / lesson.folder / lesson.notebook, as_version=4)


def _calls(source: str, name: str) -> list[ast.Call]:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return [node for node in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == name]


@pytest.mark.parametrize("lesson", WITH_NOTEBOOKS, ids=IDS)
def test_first_output_names_the_data_and_every_load_uses_it(lesson):
    code = [c.source for c in _notebook(lesson).cells if c.cell_type == "code"]
    first = next(i for i, source in enumerate(code) if _calls(source, "notebook_data"))
    assert not any(_calls(source, name) for source in code[:first] for name in ("print", "load_fashion_mnist")), \
        f"{lesson.notebook}: something prints or loads data before notebook_data()"
    setup = code[first]
    assert setup.index("notebook_data()") < min((setup.index(w) for w in ("print(", "load_fashion_mnist(")
                                                 if w in setup), default=len(setup))
    loads = [call for source in code for call in _calls(source, "load_fashion_mnist")]
    assert loads
    for call in loads:
        source = {k.arg: k.value for k in call.keywords}.get("source")
        assert isinstance(source, ast.Name) and source.id == "DATA", \
            f"{lesson.notebook}: load_fashion_mnist(...) without source=DATA: {ast.unparse(call)}"


@pytest.mark.parametrize("lesson", WITH_NOTEBOOKS, ids=IDS)
def test_first_cell_states_measured_run_times_within_budget(lesson):
    intro = next(c.source for c in _notebook(lesson).cells if c.cell_type == "markdown")
    row = TABLE_ROW.search(intro)
    assert row, f"{lesson.notebook}: the first cell has no run-time table (python benchmarks/notebooks_benchmark.py)"
    assert float(row.group("full")) * 60 <= BUDGET_SECONDS
    assert float(row.group("subset")) <= float(row.group("full"))
