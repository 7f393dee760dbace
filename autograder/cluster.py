"""Bulk grading on a Dask cluster: ``python -m autograder grade ... --cluster ADDRESS``.

The client (the TA's ``grade`` command) plans the run exactly as a local run does
(:func:`autograder.grade.plan`: fingerprints, resuming), then hands each submission to the
cluster as one task and writes each result itself, atomically, as it arrives
(:func:`autograder.grade.record`). So resuming, caching, ``grades.csv``, ``summary.md`` and
the exit status are those of a local run, and the same submissions give the same
``results.json``/``feedback.md`` bytes (apart from ``execution_time``).

Every Dask worker keeps one warm :class:`~autograder.session.GradingSession` (the hidden suites
loaded from the worker's own installation, one sandbox fork server), started once by the
:class:`SandboxPlugin` worker plugin, so student code still runs only in sandboxed worker
processes forked on the Dask worker's machine. Dask carries only submission paths (the
submissions must be readable at the same path on every node: a shared file system) and
results; the hidden suites never travel.

Nothing is lost: a task whose Dask worker dies is run again on another worker by the
scheduler, and the client writes each submission once, when its future completes. A
scheduler that goes away ends the run with every finished result on disk; the next run
grades what is left.

Why Dask (rather than a dispatcher of our own): it already does scheduling, retries of tasks
lost with their worker, and the Slurm/PBS/SGE (``dask-jobqueue``) and Kubernetes (the Dask
helm chart and operator) deployments universities run.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from distributed.diagnostics.plugin import WorkerPlugin

from autograder.grade import BulkRun, Planned, grading_code_hash, hidden_paths, record
from autograder.lessons import Lesson, lesson_by_number
from autograder.seeds import course_secret
from autograder.session import GradingSession

if TYPE_CHECKING:
    from autograder.progress import Progress

PLUGIN_NAME = "generative-foundations-sandbox"
LOCAL_PREFIX = "local:"
SLURM = "slurm"
# Any of these keeps student code off TCP, so off the Dask scheduler (see Sandbox.protections).
NETWORK_BARRIERS = frozenset({"no-network", "bwrap:no-network", "landlock-no-tcp", "no-sockets"})
# What ``--cluster-option`` may set for ``--cluster slurm``: dask_jobqueue.SLURMCluster's own
# keyword arguments (as strings, converted below), plus ``jobs``: how many Slurm jobs to start.
SLURM_INT_OPTIONS = ("cores", "processes", "jobs")
SLURM_LIST_OPTIONS = ("job_extra_directives", "job_script_prologue", "worker_extra_args")


class ClusterError(Exception):
    """The cluster could not be reached or set up (a problem of the grading machines)."""


class SandboxPlugin(WorkerPlugin):
    """A Dask worker plugin: one warm :class:`GradingSession` per Dask worker process.

    ``code_hash`` is the client's :func:`grading_code_hash`: a worker whose installation would
    grade differently (other hidden suites or grading code) refuses to start, rather than
    writing results under a fingerprint that does not describe them."""

    name = PLUGIN_NAME
    idempotent = False

    def __init__(self, lessons: list[int], hidden: list[str], code_hash: str, secret: bytes) -> None:
        self.lessons = lessons
        self.hidden = hidden
        self.code_hash = code_hash
        self.secret = secret
        self.session: GradingSession | None = None

    def setup(self, worker: Any) -> None:
        lessons = _lessons(self.lessons)
        own = grading_code_hash(lessons)
        if own != self.code_hash:
            raise ClusterError(f"worker {worker.address} has other grading code than the client "
                               f"(hash {own[:12]} vs {self.code_hash[:12]}): install the same "
                               "version of the course on every node")
        session = GradingSession(lessons, [Path(p) for p in self.hidden], self.secret)
        if not NETWORK_BARRIERS.intersection(session.sandbox.protections):
            session.close()
            raise ClusterError(f"worker {worker.address}: student code could reach the network, and "
                               "so the Dask scheduler, which runs whatever a client sends it. Grade on "
                               "nodes where the sandbox has namespaces, bubblewrap or Landlock >= 4 "
                               f"({session.describe()})")
        self.session = session

    def teardown(self, worker: Any) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _lessons(numbers: list[int]) -> tuple[Lesson, ...]:
    return tuple(lesson_by_number(n) for n in numbers)


def _session(worker: Any = None) -> GradingSession:
    from distributed import get_worker
    plugin = (worker or get_worker()).plugins.get(PLUGIN_NAME)
    if plugin is None or plugin.session is None:
        raise ClusterError("this Dask worker has no grading sandbox")
    return plugin.session


def describe_worker(dask_worker: Any) -> str:
    """Run on a Dask worker (``Client.run`` passes ``dask_worker``): its sandbox's protections."""
    return _session(dask_worker).describe()


def grade_remote(path: str, name: str, key: str, lessons: list[int], timeout: float) -> Any:
    """Run on a Dask worker as a task: grade one whole submission and return its plain result."""
    return _session().grade(Planned(Path(path), name, key, False), _lessons(lessons), timeout)


def parse_options(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--cluster-option``) as a dict; a pair without ``=`` is an error."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def slurm_settings(options: dict[str, str]) -> tuple[dict[str, Any], int]:
    """``dask_jobqueue.SLURMCluster`` keyword arguments from ``--cluster-option`` values (e.g.
    ``queue=short``, ``cores=8``, ``memory=16GB``, ``walltime=01:00:00``, ``account=...``;
    list-valued ones separated by ``;``), and how many jobs to start (``jobs``, default 1).
    Each job runs one ``dask worker`` with the grader's own Python, whose threads (``cores``)
    each grade one submission at a time."""
    kwargs: dict[str, Any] = {"cores": 2, "memory": "8GB", "processes": 1, "python": sys.executable}
    for key, value in options.items():
        if key == "wait":
            continue
        if key in SLURM_INT_OPTIONS:
            kwargs[key] = int(value)
        elif key in SLURM_LIST_OPTIONS:
            kwargs[key] = [part.strip() for part in value.split(";") if part.strip()]
        else:
            kwargs[key] = value
    return kwargs, kwargs.pop("jobs", 1)


def slurm_cluster(options: dict[str, str]) -> Any:
    """A started ``SLURMCluster`` (:func:`slurm_settings`); run from a node that can ``sbatch``."""
    if shutil.which("sbatch") is None:
        raise ClusterError("--cluster slurm needs Slurm's sbatch on this machine: run the command "
                           "on the cluster's login node")
    from dask_jobqueue import SLURMCluster

    kwargs, jobs = slurm_settings(options)
    try:
        cluster = SLURMCluster(**kwargs)
    except TypeError as exc:
        raise ClusterError(f"--cluster-option: {exc}") from None
    cluster.scale(jobs=jobs)
    return cluster


@contextlib.contextmanager
def connect(address: str, options: dict[str, str]) -> Iterator[Any]:
    """A Dask client for ``address``: ``local:N`` (a LocalCluster of N worker processes, one
    thread each), ``slurm`` (a SLURMCluster from ``options``) or a scheduler address
    (``tcp://host:8786``)."""
    from distributed import Client, LocalCluster

    cluster: Any = None
    try:
        if address.startswith(LOCAL_PREFIX):
            count = int(address[len(LOCAL_PREFIX):])
            if count < 1:
                raise ValueError
            cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        elif address == SLURM:
            cluster = slurm_cluster(options)
        elif options:
            raise ClusterError("--cluster-option applies to --cluster slurm only")
        client = Client(cluster if cluster is not None else address, timeout="30s")
    except ValueError:
        raise ClusterError(f"--cluster {address!r}: expected local:N with N >= 1, slurm, "
                           "or a scheduler address such as tcp://host:8786") from None
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(f"could not reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def grade_on_cluster(run: BulkRun, todo: list[Planned], lessons: tuple[Lesson, ...], timeout: float,
                     bar: Progress, address: str, options: dict[str, str]) -> None:
    """Grade ``todo`` on the cluster at ``address``; each result is written as it arrives.

    Submissions left without a result (the scheduler went away, a task failed on every worker
    it was tried on) are counted in ``run.failed``: the run is then incomplete (exit status 1)
    and the next run grades just those."""
    from distributed import as_completed

    numbers = [lesson.number for lesson in lessons]
    hidden = [str(p) for p in hidden_paths(run.out, [p.path for p in todo])]
    with connect(address, options) as client:
        client.wait_for_workers(1, timeout=_wait_seconds(options))
        try:
            plugin = SandboxPlugin(numbers, hidden, grading_code_hash(lessons), course_secret(run.out))
            client.register_plugin(plugin, name=PLUGIN_NAME)
        except Exception as exc:  # noqa: BLE001 - raised on a worker, whatever its type
            raise ClusterError(f"a Dask worker could not start its grading sandbox: {exc}") from None
        for worker, line in sorted(client.run(describe_worker).items()):
            bar.note(f"{worker}: {line}")
        futures = {client.submit(grade_remote, str(item.path), item.name, item.key, numbers, timeout,
                                 key=f"grade-{item.key}-{item.name}", pure=False): item
                   for item in todo}
        left = dict(futures)
        try:
            for future in as_completed(futures):
                if future.cancelled():  # the client lost the scheduler: it cancels every future
                    raise ClusterError("the connection to the Dask scheduler was lost")
                item = left.pop(future)
                try:
                    outcome: Any = future.result()
                except Exception as exc:  # noqa: BLE001 - the grader failed on every worker tried
                    outcome = exc
                record(run, bar, item, outcome)
        except KeyboardInterrupt:
            client.cancel(list(left))
            raise
        except Exception as exc:  # noqa: BLE001 - the scheduler went away, or the connection
            reason = f"the Dask cluster was lost ({type(exc).__name__}: {exc})"
            for item in left.values():
                run.failed[item.name] = reason
            bar.note(f"Stopped: {reason}. Finished results are on disk; run again to grade the rest.")


def _wait_seconds(options: dict[str, str]) -> float:
    """How long to wait for a first worker: a Slurm job may queue for a while."""
    return float(options.get("wait", 600 if options else 120))
