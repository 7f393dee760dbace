"""Every command of the student README, exercised as written.

The README's shell blocks are read from the built release. The test commands run literally in a
copy of the release (bash, from the lesson folder); ``python -m venv .venv`` and the activation
run literally too. The two ``pip install`` lines need a package index, so they are checked for
their form only: ``python -m pip`` (the environment's pip on every system), the CPU-only index
first. PowerShell cannot run here: its block must be the bash block line for line, but for the
activation line, and use nothing PowerShell 5 lacks (``&&``, ``source``, ``/`` in paths).
"""

from __future__ import annotations

import re

import pytest

from tests.release.helpers import run_in

BLOCK = re.compile(r"```(bash|powershell)\n(.*?)```", re.DOTALL)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _blocks(release_tree) -> list[tuple[str, list[str]]]:
    text = (release_tree / "README.md").read_text(encoding="utf-8")
    return [(shell, [line.strip() for line in body.splitlines() if line.strip()])
            for shell, body in BLOCK.findall(text)]


def _command_blocks(release_tree, shell: str) -> list[list[str]]:
    return [lines for kind, lines in _blocks(release_tree) if kind == shell]


def test_setup_commands_cpu_tip_first_and_powershell_twin(release_tree):
    setup = _command_blocks(release_tree, "bash")[0]
    installs = [i for i, line in enumerate(setup) if " pip install" in line]
    assert installs and CPU_INDEX in setup[installs[0]], f"the CPU-only PyTorch line must come first: {setup}"
    assert all(line.startswith("python -m pip install") for line in setup if "pip" in line), setup
    readme = (release_tree / "README.md").read_text(encoding="utf-8")
    assert readme.index("CPU-only") < readme.index("pip install"), "the CPU-only tip must precede the first install"
    (powershell,) = _command_blocks(release_tree, "powershell")
    assert len(powershell) == len(setup)
    differing = [(b, p) for b, p in zip(setup, powershell) if b != p]
    assert differing == [("source .venv/bin/activate", ".venv\\Scripts\\Activate.ps1")], differing
    for line in powershell:
        assert "&&" not in line and not line.startswith("source") and "/" not in line.split(" --index-url ")[0], line


def test_venv_and_activation_run_as_written(release_tree, tmp_path):
    setup = _command_blocks(release_tree, "bash")[0]
    runnable = [line for line in setup if " pip install" not in line]
    assert runnable == ["python -m venv .venv", "source .venv/bin/activate"], runnable
    result = run_in(tmp_path, release_tree, " && ".join(runnable) + ' && python -c "import sys; print(sys.prefix)"',
                    timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(".venv"), result.stdout


def test_lesson_commands_run_as_written(fresh_copy):
    release = fresh_copy()
    lesson_block = next(lines for lines in _command_blocks(release, "bash") if lines[0].startswith("cd "))
    folder = release / lesson_block[0].split()[1]
    assert folder.is_dir(), lesson_block[0]
    outputs = {}
    for command in lesson_block[1:]:
        result = run_in(folder, release, command)
        assert result.returncode == 1, f"{command}: the untouched starter should fail\n{result.stdout[-2000:]}"
        outputs[command] = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    everything, one_task, first_only = (outputs[c] for c in lesson_block[1:])
    task = next(word for word in lesson_block[2].split() if word.startswith("task_"))
    task_id = task[len("task_"):].replace("_", ".")
    assert one_task and all(f"task {task_id} " in line for line in one_task), one_task
    assert set(one_task) < set(everything), "-k selected every test"
    assert len(first_only) == 1, first_only
