"""One lesson's ``autograder.zip`` for Gradescope (or ``otter run``), made by ``otter generate``.

What the zip holds, and why:
- Otter's own files (``run_autograder``, ``run_otter.py``, ``setup.sh``, ``environment.yml`` with
  our ``requirements.txt`` added to Otter's), written by ``otter generate``;
- ``constraints.txt``, the repository's pins: the image installs exactly those versions (the
  project's dependencies pinned, everything else constrained by ``-c``), with PyTorch's CPU
  wheels, so an image built next term is the one tested today;
- ``otter_config.json``: the :class:`~autograder.otter.plugin.IsolatedGrading` plugin and the
  lesson it grades;
- ``tests/isolated_engine.py``: a 0-point placeholder Otter test (Otter needs a tests folder;
  the plugin replaces every Otter result with the engine's);
- ``autograder/`` and ``coursekit/``: the engine, the hidden suites, the harness and the data
  subset, at the root of the zip. Gradescope unpacks the zip to ``/autograder/source`` and runs
  ``run_otter.py`` from there, so both packages import without being installed. They are not
  Otter "files" on purpose: Otter copies those into the submission folder, next to student code.

The zip holds the hidden tests: it is the instructor's artefact, uploaded to Gradescope only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from autograder.lessons import REPO_ROOT, Lesson
from autograder.otter.plugin import DEFAULT_TIMEOUT, PLUGIN_NAME

PACKAGES = ("autograder", "coursekit")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
CPU_WHEELS = "--extra-index-url https://download.pytorch.org/whl/cpu"
"""Gradescope has no GPU: take torch's CPU wheels (a fraction of the CUDA wheels' size)."""
CPU_BUILDS = ("torch", "torchvision")
"""Packages pinned to their ``+cpu`` build, so the image can never fall back to a CUDA wheel."""
CONSTRAINTS = "constraints.txt"
SOURCE_DIR = "/autograder/source"
"""Where Gradescope (and Otter's Docker image) unpacks the zip before running ``setup.sh``."""
OTTER_ENTRY = 'run_autograder("/autograder")'
"""The last line of the ``run_otter.py`` that ``otter generate`` writes (Gradescope runs it)."""
GRADABLE_ENTRY = ('from autograder.otter.upload import make_gradable\n'
                  '    make_gradable("/autograder/submission")\n'
                  '    ' + OTTER_ENTRY)
"""The same, after making any upload gradable by Otter (see :func:`~.upload.make_gradable`)."""
PLACEHOLDER_TEST = """\
# A 0-point placeholder: Otter needs a tests folder, and the IsolatedGrading plugin replaces
# every result Otter computes with those of the course's isolated engine.
OK_FORMAT = True

test = {
    "name": "isolated_engine",
    "points": 0,
    "suites": [
        {
            "cases": [{"code": ">>> True\\nTrue\\n", "hidden": False, "locked": False}],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }
    ],
}
"""


class OtterGenerateError(RuntimeError):
    """``otter generate`` failed (its output is in the message)."""


def otter_config(lesson: Lesson, timeout: float = DEFAULT_TIMEOUT) -> dict[str, object]:
    """The ``otter_config.json`` of the lesson's zip."""
    return {
        "lang": "python",
        "plugins": [{PLUGIN_NAME: {"lesson": lesson.number, "timeout": timeout}}],
    }


def requirements() -> list[str]:
    """What Gradescope's image needs besides Otter: the project's dependencies (pyproject.toml)
    pinned to the versions of ``constraints.txt`` (CPU builds of :data:`CPU_BUILDS`), and the
    constraints file itself for every other package. Otter itself is left out: ``otter
    generate`` adds the Otter version that made the zip (the constraints pin it too)."""
    return [CPU_WHEELS, f"-c {SOURCE_DIR}/{CONSTRAINTS}",
            *pinned_dependencies(cpu_builds=True, skip=("otter-grader",))]


def pinned_dependencies(*, cpu_builds: bool = False, skip: tuple[str, ...] = ()) -> list[str]:
    """The project's dependencies (pyproject.toml) as ``name==version`` lines, versions from
    ``constraints.txt`` (``+cpu`` builds of :data:`CPU_BUILDS` when ``cpu_builds``), without
    the packages named in ``skip``. Raises :class:`OtterGenerateError` for a dependency
    without a pin."""
    pins = pinned_versions()
    lines = []
    for spec in project_dependencies():
        name = canonicalize_name(Requirement(spec).name)
        if name in skip:
            continue
        if name not in pins:
            raise OtterGenerateError(f"{spec} (pyproject.toml) has no pin in {CONSTRAINTS}; add one")
        lines.append(f"{name}=={pins[name]}{'+cpu' if cpu_builds and name in CPU_BUILDS else ''}")
    return lines


def pinned_versions() -> dict[str, str]:
    """``{canonical package name: version}`` from the repository's ``constraints.txt``."""
    pins = {}
    for line in (REPO_ROOT / CONSTRAINTS).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def project_dependencies() -> list[str]:
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: read the one list we need
        block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
        return re.findall(r'"([^"]+)"', block.group(1)) if block else []
    return list(tomllib.loads(text)["project"]["dependencies"])


def package_files() -> list[Path]:
    """The files of ``autograder/`` and ``coursekit/`` that go into the zip (relative paths)."""
    files = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            rel = path.relative_to(REPO_ROOT)
            if path.is_file() and not SKIPPED_PARTS.intersection(rel.parts) \
                    and path.suffix not in SKIPPED_SUFFIXES:
                files.append(rel)
    return files


def build_autograder_zip(lesson: Lesson, destination: Path, timeout: float = DEFAULT_TIMEOUT,
                         python_version: str | None = None) -> Path:
    """Run ``otter generate`` for ``lesson`` and add the engine; writes ``destination``."""
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="gf-otter-generate-") as tmp:
        stage = Path(tmp)
        (stage / "tests").mkdir()
        (stage / "tests" / "isolated_engine.py").write_text(PLACEHOLDER_TEST, encoding="utf-8")
        (stage / "otter_config.json").write_text(json.dumps(otter_config(lesson, timeout), indent=2) + "\n",
                                                 encoding="utf-8")
        (stage / "requirements.txt").write_text("\n".join(requirements()) + "\n", encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        done = subprocess.run(
            [sys.executable, "-m", "otter", "generate", "--tests-dir", "tests",
             "--output-path", "autograder.zip", "--config", "otter_config.json",
             "--requirements", "requirements.txt", "--no-environment", "--python-version", version],
            cwd=stage, env=env, capture_output=True, text=True)
        archive = stage / "autograder.zip"
        if done.returncode != 0 or not archive.exists():
            raise OtterGenerateError(f"otter generate failed for lesson {lesson.number}:\n"
                                     f"{done.stdout}\n{done.stderr}")
        archive = with_gradable_entry(archive, stage / "patched.zip")
        with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.write(REPO_ROOT / CONSTRAINTS, CONSTRAINTS)
            for rel in package_files():
                zf.write(REPO_ROOT / rel, rel.as_posix())
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, destination)
    return destination


def with_gradable_entry(archive: Path, destination: Path) -> Path:
    """A copy of Otter's zip whose ``run_otter.py`` first calls :func:`~.upload.make_gradable`
    (so a lone lesson file, or a zip with it anywhere, reaches the plugin instead of Otter's
    "No gradable files found")."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "run_otter.py":
                text = data.decode("utf-8")
                if text.count(OTTER_ENTRY) != 1:
                    raise OtterGenerateError(f"run_otter.py of this Otter version has no single "
                                             f"{OTTER_ENTRY!r} line to extend:\n{text}")
                data = text.replace(OTTER_ENTRY, GRADABLE_ENTRY).encode("utf-8")
            target.writestr(info, data)
    return destination
