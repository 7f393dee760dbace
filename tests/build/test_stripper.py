"""The solution stripper: blocks become stubs naming their task; malformed markers are build errors."""

import ast

import pytest

from autograder.build.stripper import StripError, strip_solutions

SOURCE = '''
import torch


class Model(torch.nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        # TODO(task 9.1): build the layers.
        # Hint: one Linear layer is enough.
        # BEGIN SOLUTION
        self.layer = torch.nn.Linear(width, width)
        # END SOLUTION

    def forward(self, x):
        # TODO(task 9.1): apply the layer.
        # BEGIN SOLUTION
        return self.layer(x)
        # END SOLUTION


def helper(x):
    # TODO(task 9.2): double x.
    # BEGIN SOLUTION
    y = x * 2
    # END SOLUTION
    # BEGIN SOLUTION REMOVE
    assert y is not None
    # END SOLUTION
    return y
'''


def test_blocks_become_stubs_that_name_task_and_function():
    starter = strip_solutions(SOURCE)
    assert 'raise NotImplementedError("Task 9.1: Model.__init__ is not implemented yet")' in starter
    assert 'raise NotImplementedError("Task 9.1: Model.forward is not implemented yet")' in starter
    assert 'raise NotImplementedError("Task 9.2: helper is not implemented yet")' in starter


def test_prompts_and_hints_are_kept_and_solutions_removed():
    starter = strip_solutions(SOURCE)
    assert "# TODO(task 9.1): build the layers." in starter
    assert "# Hint: one Linear layer is enough." in starter
    for leaked in ("torch.nn.Linear(width, width)", "x * 2", "assert y is not None", "SOLUTION"):
        assert leaked not in starter


def test_remove_blocks_leave_no_stub():
    starter = strip_solutions(SOURCE)
    helper = starter[starter.index("def helper"):]
    assert helper.count("NotImplementedError") == 1


def test_starter_parses_and_every_stub_raises():
    tree = ast.parse(strip_solutions(SOURCE))
    raising = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
               and any(isinstance(s, ast.Raise) for s in node.body)}
    assert raising == {"__init__", "forward", "helper"}


@pytest.mark.parametrize("broken, problem", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "TODO"),
    ("def f():\n    # TODO(task 1.1): x\n    # BEGIN SOLUTION\n    return 1\n", "without END"),
    ("def f():\n    return 1\n    # END SOLUTION\n", "without BEGIN"),
    ("def f():\n    # TODO(task 1.1): x\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    # END SOLUTION\n", "nested"),
])
def test_malformed_markers_are_build_errors(broken, problem):
    with pytest.raises(StripError, match=problem):
        strip_solutions(broken)


def test_todo_of_another_function_does_not_count():
    source = ("def f():\n    # TODO(task 1.1): x\n    return 1\n\n\n"
              "def g():\n    # BEGIN SOLUTION\n    return 2\n    # END SOLUTION\n")
    with pytest.raises(StripError, match="TODO"):
        strip_solutions(source)


def test_stubbing_some_tasks_keeps_the_others_solved():
    partial = strip_solutions(SOURCE, tasks={"9.2"})
    assert "torch.nn.Linear(width, width)" in partial and "return self.layer(x)" in partial
    assert 'raise NotImplementedError("Task 9.2: helper is not implemented yet")' in partial
    assert "Task 9.1" not in partial.replace("TODO(task 9.1)", "")
    assert "assert y is not None" in partial  # REMOVE helpers stay: solved tasks may need them

    namespace: dict = {}
    exec(compile(partial, "<partial>", "exec"), namespace)
    assert namespace["Model"]()(__import__("torch").ones(1, 3)).shape == (1, 3)
    with pytest.raises(NotImplementedError, match="Task 9.2"):
        namespace["helper"](1)
    assert strip_solutions(SOURCE, tasks={"9.1", "9.2"}).count("NotImplementedError") == 3
