"""Grading on a Dask cluster (``grade --cluster``): a real scheduler and real ``dask worker``
processes on the loopback interface, compared byte for byte with a local run; a worker killed
mid-run; a scheduler that goes away; the Slurm job script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from autograder.lessons import REPO_ROOT  # noqa: E402
from tests.helpers import reference_source, scratch_kinds, starter_source, write_submission  # noqa: E402

pytestmark = pytest.mark.slow
LESSONS = "1,4"  # the two cheapest lessons: the cluster path is what is under test
HANG = "\n\ndef fit_histogram(*args, **kwargs):\n    while True:\n        pass\n"
CRASH = "\n\ndef fit_histogram(*args, **kwargs):\n    import os\n    os._exit(3)\n"
STARTUP = 120.0


def _env() -> dict[str, str]:
    # One course secret for every run here, so a local and a cluster run seed alike.
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GF_GRADER_SECRET": "cluster-tests"}


class DaskProcesses:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (no nanny: a killed
    worker stays dead), all stopped by :meth:`close`."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.folder = folder
        self.scheduler_file = folder / "scheduler.json"
        self.scheduler = self._start("scheduler", "distributed.cli.dask_scheduler", "--port", "0",
                                     "--no-dashboard", "--scheduler-file", str(self.scheduler_file))
        deadline = time.monotonic() + STARTUP
        while not self.scheduler_file.exists():
            assert time.monotonic() < deadline and self.scheduler.poll() is None, self._log("scheduler")
            time.sleep(0.2)
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        self.workers = [self._start(f"worker{i}", "distributed.cli.dask_worker", "--nthreads", "1",
                                    "--no-nanny", "--no-dashboard", "--scheduler-file",
                                    str(self.scheduler_file)) for i in range(workers)]

    def _start(self, name: str, module: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w")
        return subprocess.Popen([sys.executable, "-m", module, "--host", "127.0.0.1", *args],
                                stdout=log, stderr=subprocess.STDOUT, env=_env(), cwd=self.folder)

    def _log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def client(self):
        from distributed import Client
        return Client(self.address, timeout="60s")

    def close(self) -> None:
        """Stop the workers as a job scheduler would (SIGTERM: each closes its grading session),
        then the scheduler; whatever does not end in time is killed."""
        for group in (self.workers, [self.scheduler]):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            for process in group:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def dask_processes(tmp_path):
    started: list[DaskProcesses] = []

    def start(workers: int = 2) -> DaskProcesses:
        folder = tmp_path / f"dask{len(started)}"
        folder.mkdir()
        started.append(DaskProcesses(folder, workers))
        return started[-1]

    yield start
    for processes in started:
        processes.close()


def grade_command(subs: Path, out: Path, *options: str, timeout: str = "20") -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
            "--lessons", LESSONS, "--timeout", timeout, *options]


def run_grade(*command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, env=_env(),
                          cwd=REPO_ROOT, timeout=timeout)


def mixed_submissions(root: Path) -> Path:
    """A small mixed class: correct, untouched, broken, half-missing, zipped, crashing."""
    subs = root / "subs"
    reference = {1: reference_source(1), 4: reference_source(4)}
    write_submission(subs, "ada", reference)
    write_submission(subs, "ben", {1: starter_source(1), 4: starter_source(4)})
    write_submission(subs, "cy", {1: reference_source(1), 4: reference_source(4) + "\ndef broken(:\n"})
    write_submission(subs, "dee", {1: reference_source(1)})
    write_submission(subs, "eve", {1: reference_source(1) + CRASH, 4: reference_source(4)})
    zipped = write_submission(root / "zipped", "fay", reference)
    with zipfile.ZipFile(subs / "fay.zip", "w") as archive:
        for path in zipped.rglob("*.py"):
            archive.write(path, path.relative_to(zipped).as_posix())
    return subs


def without_time(folder: Path) -> dict:
    data = json.loads((folder / "results.json").read_text())
    data.pop("execution_time")
    return data


def graded_lines(stdout: str) -> list[str]:
    """The names of the submissions the run wrote a result for, one per progress line."""
    return [line.split("] ", 1)[1].split(":", 1)[0] for line in stdout.splitlines()
            if line.startswith("[") and "] " in line]


def test_a_cluster_run_writes_what_a_local_run_writes(tmp_path, dask_processes):
    subs = mixed_submissions(tmp_path)
    names = ["ada", "ben", "cy", "dee", "eve", "fay"]
    # Generous time per lesson (nothing here hangs): results must not depend on the machine's load.
    local = run_grade(*grade_command(subs, tmp_path / "local", "--jobs", "2", timeout="90"))
    assert local.returncode == 0, local.stdout + local.stderr
    dask = dask_processes(workers=2)
    remote = run_grade(*grade_command(subs, tmp_path / "cluster", "--cluster", dask.address, timeout="90"))
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert remote.stdout.count("Sandbox protections in force") == 2  # one line per Dask worker
    assert sorted(graded_lines(remote.stdout)) == names
    for name in names:
        assert without_time(tmp_path / "cluster" / name) == without_time(tmp_path / "local" / name), name
        assert ((tmp_path / "cluster" / name / "feedback.md").read_bytes()
                == (tmp_path / "local" / name / "feedback.md").read_bytes()), name
    for table in ("grades.csv", "summary.md"):
        assert (tmp_path / "cluster" / table).read_bytes() == (tmp_path / "local" / table).read_bytes()
    again = run_grade(*grade_command(subs, tmp_path / "cluster", "--cluster", dask.address, timeout="90"))
    assert again.returncode == 0 and "0 to grade, 6 up to date" in again.stdout  # resumable, as locally


def test_a_worker_killed_mid_run_loses_nothing(tmp_path, dask_processes):
    subs = tmp_path / "subs"
    names = [f"s{i}" for i in range(5)]
    for name in names:  # each takes the lesson's whole timeout: the kill lands mid-task
        write_submission(subs, name, {1: reference_source(1) + HANG + f"# {name}\n"})  # no cache reuse
    dask = dask_processes(workers=2)
    out = tmp_path / "out"
    command = grade_command(subs, out, "--cluster", dask.address, timeout="8")
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=_env(), cwd=REPO_ROOT)
    with dask.client() as client:
        deadline = time.monotonic() + STARTUP
        while True:  # wait until both workers are grading, then kill one
            busy = [worker for worker, keys in client.processing().items() if keys]
            if len(busy) == 2:
                break
            assert time.monotonic() < deadline and run.poll() is None, "the workers never got busy"
            time.sleep(0.2)
        victim_tasks = client.processing()[busy[0]]
        victim = client.run(os.getpid, workers=[busy[0]])[busy[0]]
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stdout + stderr
    assert victim_tasks, "the killed worker had a submission in hand"
    assert sorted(graded_lines(stdout)) == names  # every submission written, none twice
    for name in names:
        assert json.loads((out / name / "results.json").read_text())["extra_data"]["status"] == "timeout"


def test_a_lost_scheduler_ends_the_run_and_the_next_run_resumes(tmp_path, dask_processes):
    subs = tmp_path / "subs"
    names = [f"s{i}" for i in range(4)]
    for i, name in enumerate(names):  # all but one hang; each differs, so none reuses another's result
        write_submission(subs, name, {1: reference_source(1) + (HANG + f"# {name}\n" if i else "")})
    dask = dask_processes(workers=1)
    out = tmp_path / "out"
    run = subprocess.Popen(grade_command(subs, out, "--cluster", dask.address, timeout="8"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                           cwd=REPO_ROOT)
    deadline = time.monotonic() + STARTUP
    while not list(out.glob("*/results.json")):
        assert time.monotonic() < deadline and run.poll() is None, "nothing was graded"
        time.sleep(0.2)
    dask.scheduler.kill()
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 1, stdout + stderr
    assert "Dask" in stdout and "run again" in stdout.lower()
    finished = sorted(p.parent.name for p in out.glob("*/results.json"))
    assert finished and len(finished) < len(names)
    resumed = run_grade(*grade_command(subs, out, "--jobs", "2", timeout="8"))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{len(names) - len(finished)} to grade, {len(finished)} up to date" in resumed.stdout
    assert sorted(graded_lines(resumed.stdout)) == sorted(set(names) - set(finished))


def test_a_dask_worker_process_stopped_by_sigterm_removes_its_folders(tmp_path, monkeypatch):
    """A nanny's worker process (``--cluster local:N``, ``dask worker``, Slurm) leaves SIGTERM at
    its default, and ``timeout``, ``scancel`` or ``kill`` of the group send it one: its grading
    session's folders go with it."""
    from distributed import Client, LocalCluster

    from autograder.cluster import PLUGIN_NAME, SandboxPlugin
    from autograder.grade import grading_code_hash
    from autograder.lessons import lesson_by_number

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the worker process's temp folder
    plugin = SandboxPlugin([1], [], grading_code_hash((lesson_by_number(1),)), b"secret")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(plugin, name=PLUGIN_NAME)
        assert scratch_kinds(tmp_path) == ["gf-unpacked", "gf-workers"]
        folders = list(tmp_path.glob("gf-*"))
        [pid] = client.run(os.getpid).values()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:  # reaped by the nanny
            time.sleep(0.1)
        assert not os.path.exists(f"/proc/{pid}")
        assert [p for p in folders if p.exists()] == []


def test_the_slurm_job_script_runs_a_dask_worker_with_the_options_given():
    from dask_jobqueue import SLURMCluster

    from autograder.cluster import parse_options, slurm_settings
    options = parse_options(["queue=short", "cores=8", "memory=16GB", "walltime=01:00:00",
                             "account=cs101", "jobs=3", "job_extra_directives=--exclusive"])
    kwargs, jobs = slurm_settings(options)
    assert jobs == 3
    cluster = SLURMCluster(**kwargs)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p short", "#SBATCH -A cs101", "#SBATCH --cpus-per-task=8",
                 "#SBATCH -t 01:00:00", "#SBATCH --exclusive", "#SBATCH --mem=15G"):
        assert line in script.splitlines(), script
    command = script.strip().splitlines()[-1]
    assert command.startswith(f"{sys.executable} -m distributed.cli.dask_worker ")
    assert "--nthreads 8" in command  # each thread grades one submission at a time


def test_cluster_options_are_checked(tmp_path):
    from autograder.cluster import parse_options
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_options(["queue"])
    subs = write_submission(tmp_path / "subs", "ada", {1: reference_source(1)})
    usage = [("--cluster-option", "queue=short"), ("--cluster", "local:2", "--jobs", "2"),
             ("--cluster", "slurm", "--cluster-option", "queue")]
    for options in usage:
        result = run_grade(*grade_command(subs, tmp_path / "out", *options), timeout=120)
        assert result.returncode == 2, (options, result.stderr)
    result = run_grade(*grade_command(subs, tmp_path / "out", "--cluster", "local:0"), timeout=120)
    assert result.returncode == 1 and "local:N with N >= 1" in result.stderr


def test_a_worker_that_cannot_build_its_sandbox_stops_the_run_with_a_clear_error(tmp_path, monkeypatch):
    subs = write_submission(tmp_path / "subs", "ada", {1: reference_source(1)})
    monkeypatch.setenv("GF_SANDBOX", "no-such-mode")  # the worker's Sandbox refuses to start
    result = run_grade(*grade_command(subs, tmp_path / "out", "--cluster", "local:1"), timeout=300)
    assert result.returncode == 1
    assert "Error: a Dask worker could not start its grading sandbox" in result.stderr
    assert not (tmp_path / "out" / "ada" / "results.json").exists()


def test_a_worker_whose_sandbox_leaves_the_network_open_refuses_to_grade(monkeypatch):
    from autograder import cluster
    from autograder.grade import grading_code_hash
    from autograder.lessons import lesson_by_number

    class OpenSandbox:
        protections = ["separate-process", "resource-limits", "landlock-filesystem"]

    class Session:
        closed = False

        def __init__(self, lessons, hidden, secret):
            self.sandbox = OpenSandbox()

        def describe(self):
            return "Sandbox protections in force: separate-process"

        def close(self):
            Session.closed = True

    class Worker:
        address = "tcp://10.0.0.7:4000"

    monkeypatch.setattr(cluster, "GradingSession", Session)
    plugin = cluster.SandboxPlugin([1], [], grading_code_hash((lesson_by_number(1),)), b"secret")
    with pytest.raises(cluster.ClusterError, match="could reach the network"):
        plugin.setup(Worker())
    assert Session.closed and plugin.session is None
    plugin = cluster.SandboxPlugin([1], [], "another-hash", b"secret")
    with pytest.raises(cluster.ClusterError, match="other grading code"):
        plugin.setup(Worker())
