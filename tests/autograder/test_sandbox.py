"""The sandbox: limits, an empty environment, hidden paths, no network, and kills that end everything.

One sandbox (one fork server) serves the whole module; each test gets a fresh worker whose
student file runs any code it is given (``probe.run(code)`` returns the code's ``result``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder import bwrap
from autograder.proxy import StudentError, WorkerLost
from autograder.sandbox import REPO_ROOT, Limits, Sandbox
from autograder.processes import children_of
from autograder.threads import WORKER_THREADS
from tests.helpers import scratch_kinds

PROBE = '''
def run(code):
    namespace = {}
    exec(code, namespace)
    return namespace.get("result")
'''
LIMITS = Limits(memory_bytes=1024**3, cpu_seconds=60, file_bytes=4 * 1024**2, open_files=64,
                processes=32, disk_bytes=32 * 1024**2)


@pytest.fixture(scope="module")
def secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hidden")
    (folder / "answers.txt").write_text("the expected values")
    os.chmod(folder, 0o755)
    os.chmod(folder / "answers.txt", 0o644)
    return folder


@pytest.fixture(scope="module")
def probe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("student") / "probe.py"
    path.write_text(PROBE)
    return path


@pytest.fixture(scope="module")
def sandbox(secret: Path) -> Sandbox:
    with Sandbox(limits=LIMITS, hidden_paths=[secret]) as box:
        yield box


def start(box: Sandbox, probe_file: Path, timeout: float = 30.0):
    worker = box.spawn(probe_file)
    worker.client.default_timeout = timeout
    worker.client.import_module(str(worker.module_path), "probe")
    return worker


@pytest.fixture
def worker(sandbox: Sandbox, probe_file: Path):
    worker = start(sandbox, probe_file)
    yield worker
    worker.kill()


def run(worker, code: str, timeout: float = 30.0):
    worker.client.default_timeout = timeout
    return worker.client.student().run(code)


def needs(sandbox: Sandbox, protection: str) -> None:
    if protection not in sandbox.protections:
        pytest.skip(f"this machine cannot give {protection}: {sandbox.describe()}")


# --------------------------------------------------------------------------- always


def test_describe_says_what_is_in_force_and_what_is_not(sandbox: Sandbox) -> None:
    text = sandbox.describe()
    assert text.startswith("Sandbox protections in force: ")
    for name in ("resource-limits", "process-limit", "wall-clock-kill", "empty-environment",
                 "private-working-copy", "plain-data-only"):
        assert name in sandbox.protections
    if not sandbox.namespaces:
        assert "Not available" in text


def test_the_environment_is_empty(worker) -> None:
    env = run(worker, "import os; result = dict(os.environ)")
    assert set(env) <= {"HOME", "PATH", "LANG", "TMPDIR", *WORKER_THREADS}
    assert not any(key in env for key in os.environ if key not in ("HOME", "PATH", "LANG"))


def test_resource_limits_are_applied(worker, sandbox: Sandbox) -> None:
    limits = run(worker, "import resource as r; result = {n: r.getrlimit(getattr(r, n))[1] for n in "
                         "('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_CORE')}")
    assert limits["RLIMIT_CPU"] == LIMITS.cpu_seconds + 1
    assert limits["RLIMIT_FSIZE"] == LIMITS.file_bytes
    assert limits["RLIMIT_NOFILE"] == LIMITS.open_files
    assert limits["RLIMIT_CORE"] == 0
    assert LIMITS.memory_bytes < limits["RLIMIT_AS"] < LIMITS.memory_bytes + 8 * 1024**3
    assert limits["RLIMIT_NPROC"] >= LIMITS.processes and limits["RLIMIT_NPROC"] != -1
    if sandbox.namespaces or sandbox.is_root:
        assert limits["RLIMIT_NPROC"] == LIMITS.processes


def test_memory_and_file_size_limits_bite(worker) -> None:
    with pytest.raises(StudentError, match="MemoryError"):
        run(worker, "result = len(bytearray(2 * 1024 ** 3))")
    with pytest.raises(StudentError, match="File too large|EFBIG|Errno 27"):
        run(worker, "f = open('big', 'wb'); f.write(b'0' * (8 * 1024 ** 2)); f.flush(); f.close()")


def test_the_working_copy_holds_only_the_student_file(worker) -> None:
    assert run(worker, "import os; result = sorted(os.listdir('.'))") == ["probe.py"]


def test_printing_reaches_nobody(worker) -> None:
    assert run(worker, "print('x' * 10**6); import sys; sys.stderr.write('y'); result = 1") == 1


def test_a_call_past_its_deadline_kills_the_worker(sandbox: Sandbox, probe_file: Path) -> None:
    worker = start(sandbox, probe_file)
    start_time = time.monotonic()
    with pytest.raises(WorkerLost) as lost:
        run(worker, "while True: pass", timeout=1.0)
    assert lost.value.timed_out and time.monotonic() - start_time < 5
    worker.kill()


def _alive_with(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def test_kill_ends_the_worker_and_everything_it_started(sandbox: Sandbox, probe_file: Path) -> None:
    sleep = shutil.which("sleep", path="/usr/bin:/bin")
    if sleep is None:
        pytest.skip("no sleep program")
    worker = start(sandbox, probe_file)
    marker = f"gf-sleep-{os.getpid()}-{time.monotonic_ns()}"
    code = f'''
import os, subprocess
subprocess.Popen(["{marker}-a", "300"], executable="{sleep}", start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("{sleep}", ["{marker}-b", "300"])
    os._exit(0)
result = True
'''
    assert run(worker, code)
    deadline = time.monotonic() + 10
    while len(_alive_with(marker)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_alive_with(marker)) == 2, "the worker's children did not start"
    worker.kill()
    deadline = time.monotonic() + 10
    while _alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive_with(marker), "processes the worker started survived its kill"


def test_a_fork_bomb_stops_at_the_process_limit(sandbox: Sandbox, probe_file: Path) -> None:
    worker = start(sandbox, probe_file)
    code = '''
import os, time
children = 0
try:
    while children < 1000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError:
    pass
result = children
'''
    children = run(worker, code)
    if sandbox.namespaces or sandbox.private_users:
        assert children < LIMITS.processes
    else:  # the limit counts all the grader user's tasks: on top of those it had at the start
        assert children < 2 * LIMITS.processes
    worker.kill()


def test_a_crashed_worker_does_not_harm_the_sandbox(sandbox: Sandbox, probe_file: Path) -> None:
    worker = start(sandbox, probe_file)
    with pytest.raises(WorkerLost):
        run(worker, "import os; os._exit(3)")
    worker.kill()
    again = start(sandbox, probe_file)
    assert run(again, "result = 6 * 7") == 42
    again.kill()


# A grader that starts a worker, prints its fork server's pid and then waits on an endless loop.
OWNER = """
import sys
from pathlib import Path
from autograder.sandbox import Limits, Sandbox
box = Sandbox(limits=Limits(cpu_seconds=30), isolation=sys.argv[2])
worker = box.spawn(Path(sys.argv[1]))
worker.client.import_module(str(worker.module_path), "probe")
print(box._process.pid, flush=True)
worker.client.default_timeout = 600
worker.client.student().run("while True: pass")
"""


def _state(pid: int) -> str:
    """The process's state letter ("R" running, "S" sleeping, "Z" zombie, ...); "" once gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie, waiting for a parent to reap it, counts as ended)."""
    return _state(pid) in ("", "Z", "X")


def _descendants(root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        children = children_of(todo.pop())
        found += children
        todo += children
    return found


def test_workers_die_with_the_grader(probe_file: Path) -> None:
    """A grader killed with SIGKILL (no clean-up runs) takes the fork server and every worker,
    even one stuck in an endless loop, with it: none is left to burn CPU until its limit. Both
    the strongest mode and the fallback, at the same time (each grader starts its own torch)."""
    owners = {mode: subprocess.Popen([sys.executable, "-c", OWNER, str(probe_file), mode], cwd=REPO_ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
              for mode in ("auto", "none")}
    trees: dict[str, list[int]] = {}
    try:
        for mode, owner in owners.items():
            zygote = int(owner.stdout.readline() or 0)
            assert zygote, f"the grader ({mode}) did not start a worker"
            trees[mode] = [zygote] + _descendants(zygote)
        deadline = time.monotonic() + 5  # until each worker spins in its loop
        while time.monotonic() < deadline and not all(any(_state(p) == "R" for p in tree[1:])
                                                      for tree in trees.values()):
            time.sleep(0.1)
        for mode, tree in trees.items():
            assert any(_state(p) == "R" for p in tree[1:]), f"no worker ({mode}) runs the endless loop"
            trees[mode] = tree[:1] + _descendants(tree[0])  # with the next worker's, started meanwhile
        for owner in owners.values():
            owner.kill()
            owner.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(_gone(p) for t in trees.values() for p in t):
            time.sleep(0.05)
        survivors = {mode: [p for p in tree if not _gone(p)] for mode, tree in trees.items()}
        assert survivors == {mode: [] for mode in trees}, "processes outlived the grader"
    finally:
        for owner in owners.values():
            owner.kill()
            owner.wait()
        for pid in [p for tree in trees.values() for p in tree]:  # leave no survivor spinning
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


# A grader that starts a worker (its working copy now lies in the sandbox's folder), says so,
# and waits to be stopped.
STOPPED = """
import sys, time
from pathlib import Path
from autograder.sandbox import Sandbox
box = Sandbox(preload=False)
worker = box.spawn(Path(sys.argv[1]))
print("ready", flush=True)
time.sleep(120)
"""


def test_a_grader_stopped_or_killed_leaves_no_folder_behind(tmp_path: Path, probe_file: Path) -> None:
    """SIGTERM (``kill``, ``timeout``, Slurm) where nothing handles it: the folder goes, and the
    grader still dies of the signal. SIGKILL: the folder stays until the next grader starts."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}

    def grader(code: str = STOPPED) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "-c", code, str(probe_file)], cwd=REPO_ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout.readline() == "ready\n"
        return process

    def folders() -> list[str]:
        return scratch_kinds(tmp_path, "*")

    stopped = grader()
    assert folders() == ["gf-workers"] and list(tmp_path.glob("gf-workers-*/w-*/probe.py"))
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=30) == -signal.SIGTERM
    assert folders() == []

    killed = grader()
    killed.kill()
    killed.wait()
    assert folders() == ["gf-workers"]
    next_one = grader("from autograder.sandbox import Sandbox; Sandbox(preload=False).close(); print('ready')")
    assert next_one.wait(timeout=30) == 0
    assert folders() == []


# --------------------------------------------------------------------------- with namespaces


def test_hidden_paths_are_out_of_reach(worker, sandbox: Sandbox, secret: Path) -> None:
    needs(sandbox, "private-filesystem")
    for path in (secret / "answers.txt", REPO_ROOT / "solutions", REPO_ROOT / "autograder" / "suites",
                 REPO_ROOT / "tests", REPO_ROOT / ".git"):
        assert not run(worker, f"import os; result = os.access({str(path)!r}, os.R_OK)"), path
    home = Path.home().resolve()
    if home in (Path("/"), Path("/tmp")):
        return
    python_dirs = {Path(p).resolve().relative_to(home).parts[0] for p in (sys.prefix, sys.base_prefix)
                   if Path(p).resolve().is_relative_to(home)}
    seen = run(worker, f"import os; result = os.listdir({str(home)!r}) if os.path.isdir({str(home)!r}) else []")
    assert set(seen) <= python_dirs, f"the worker sees {seen} in {home}"
    assert run(worker, "import fractions, decimal; result = 'stdlib imports work'")


def test_a_workers_memory_names_no_hidden_path(worker, secret: Path) -> None:
    """Nothing reachable in a worker (every object the garbage collector tracks, every frame up
    the stack it inherited from the fork server) names a hidden path: with the folders of a
    run's other submissions among them, the roster stays out of reach."""
    code = f'''
import gc, sys
def _find(backwards):
    needle, found = backwards[::-1], []
    def look(values):
        found.extend(v for v in values if isinstance(v, str) and v is not needle and needle in v)
    for obj in gc.get_objects():
        try:
            if isinstance(obj, dict):
                look(list(obj.keys()) + list(obj.values()))
            elif isinstance(obj, (list, tuple, set, frozenset)):
                look(list(obj))
        except Exception:
            pass
    frame = sys._getframe()
    while frame is not None:
        look(list(frame.f_locals.values()))
        frame = frame.f_back
    return found
result = _find({str(secret)[::-1]!r})
'''
    assert run(worker, code) == []


def test_there_is_no_network(worker, sandbox: Sandbox) -> None:
    needs(sandbox, "no-network")
    code = '''
import socket
result = []
for address in (("1.1.1.1", 53), ("127.0.0.1", 22)):
    try:
        socket.create_connection(address, timeout=2).close()
        result.append(address)
    except OSError:
        pass
'''
    assert run(worker, code) == []


def test_tmp_is_private_and_the_file_system_read_only(sandbox: Sandbox, probe_file: Path) -> None:
    needs(sandbox, "private-tmp")
    first = start(sandbox, probe_file)
    name = f"gf-private-{os.getpid()}"
    assert run(first, f"open('/tmp/{name}', 'w').write('x'); result = True")
    with pytest.raises(StudentError, match="Read-only|Permission"):
        run(first, "open('/usr/gf-x', 'w')")
    first.kill()
    assert not Path(f"/tmp/{name}").exists()
    second = start(sandbox, probe_file)
    assert not run(second, f"import os; result = os.path.exists('/tmp/{name}')")
    second.kill()


def test_other_processes_are_invisible(worker, sandbox: Sandbox) -> None:
    needs(sandbox, "private-processes")
    pids = run(worker, "import os; result = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())")
    assert len(pids) <= 3, f"the worker sees {len(pids)} processes"
    assert not run(worker, "import os; result = os.getuid() == 0 or os.geteuid() == 0")


# --------------------------------------------------------------------------- other modes


def test_without_namespaces_the_grader_still_runs_and_says_what_is_missing(probe_file: Path,
                                                                          secret: Path) -> None:
    with Sandbox(limits=LIMITS, hidden_paths=[secret], isolation="none") as box:
        assert not box.namespaces and "Not available" in box.describe()
        worker = start(box, probe_file)
        assert run(worker, "import resource; result = resource.getrlimit(resource.RLIMIT_FSIZE)[1]") \
            == LIMITS.file_bytes
        assert set(run(worker, "import os; result = list(os.environ)")) <= {
            "HOME", "PATH", "LANG", "TMPDIR", *WORKER_THREADS}
        if "landlock-filesystem" in box.protections:  # the fallback still keeps files out of reach
            for path in (secret / "answers.txt", REPO_ROOT / "solutions" / "README.md", REPO_ROOT / ".git" / "HEAD"):
                with pytest.raises(StudentError, match="Permission|No such file"):
                    run(worker, f"open({str(path)!r}).read()")
            with pytest.raises(StudentError, match="Permission"):
                run(worker, "open('/tmp/gf-landlock-escape', 'w')")
            assert run(worker, "open('mine.txt', 'w').write('ok'); result = open('mine.txt').read()") == "ok"
        if "no-sockets" in box.protections:
            with pytest.raises(StudentError, match="Permission"):
                run(worker, "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)")
        worker.kill()


@pytest.mark.skipif(bwrap.find() is None, reason="bubblewrap is not installed")
def test_bubblewrap_mode_hides_files_and_network(probe_file: Path, secret: Path) -> None:
    if not bwrap.works(bwrap.find()):
        pytest.skip("bwrap cannot make namespaces on this machine")
    with Sandbox(limits=LIMITS, hidden_paths=[secret], isolation="bwrap") as box:
        assert box.in_bwrap
        worker = start(box, probe_file)
        assert not run(worker, f"import os; result = os.access({str(REPO_ROOT / 'solutions')!r}, os.R_OK)")
        assert not run(worker, f"import os; result = os.access({str(secret)!r}, os.R_OK)")
        with pytest.raises(StudentError):
            run(worker, "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)")
        worker.kill()


def test_a_dead_fork_server_is_restarted(probe_file: Path) -> None:
    with Sandbox(limits=LIMITS) as box:
        box._process.kill()
        box._process.wait()
        worker = start(box, probe_file)
        assert run(worker, "result = 1") == 1
        worker.kill()


# --------------------------------------------------------------------------- as a non-root user

AS_NOBODY = r'''
set -e
mount --make-rprivate /
for dir in "$@"; do
  # make the Python installation reachable for nobody when it lives in a private home (/root)
  mkdir -p "$GF_STAGE$dir" && mount --bind "$dir" "$GF_STAGE$dir"
done
mount -t tmpfs -o mode=755 tmpfs /root
for dir in "$@"; do mkdir -p "$dir" && mount --bind "$GF_STAGE$dir" "$dir"; done
exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
  "$GF_PYTHON" -m autograder grade "$GF_SUBS" --out "$GF_OUT" --lessons 2 --timeout 60 --jobs 1
'''


@pytest.mark.slow
def test_a_non_root_grader_isolates_workers_too() -> None:
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
        pytest.skip("needs root (to become nobody) and util-linux; CI as a normal user runs the rest")
    from tests.attacks.catalog import ATTACKS, base_source, write_attack
    tmp_path = Path(tempfile.mkdtemp(prefix="gf-nobody-"))  # pytest's own folder is private to root
    try:
        _grade_as_nobody(tmp_path, ATTACKS, base_source, write_attack)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _grade_as_nobody(tmp_path: Path, ATTACKS, base_source, write_attack) -> None:
    subs, out, stage = tmp_path / "subs", tmp_path / "out", tmp_path / "stage"
    for path in (tmp_path, subs, out, stage):
        path.mkdir(exist_ok=True)
        os.chmod(path, 0o777)
    for name, base in (("reference", "reference"), ("honest", "broken-loss")):
        path = subs / name / "02-autoencoders" / "autoencoder.py"
        path.parent.mkdir(parents=True)
        path.write_text(base_source(base))
    chosen = {"read-hidden", "network", "proc-snooping", "write-anywhere"}  # none can hurt the grader
    for attack in ATTACKS:
        if attack.name in chosen:
            write_attack(attack, subs, "nobody", None)
    for path in subs.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    private = [str(Path(sys.base_prefix).resolve())] if str(Path(sys.base_prefix).resolve()).startswith("/root") else []
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GF_STAGE": str(stage), "GF_PYTHON": sys.executable,
           "GF_SUBS": str(subs), "GF_OUT": str(out)}
    done = subprocess.run(["unshare", "-m", "sh", "-c", AS_NOBODY, "sh", *private], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Sandbox protections in force" in done.stdout
    assert "unprivileged-user" not in done.stdout.split("Not available")[0]
    import json
    scores = {p.parent.name: json.loads(p.read_text())["score"] for p in out.glob("*/results.json")}
    assert scores.pop("reference") == 30
    honest = scores.pop("honest")
    assert set(scores) == chosen
    in_force = done.stdout.split("Not available")[0]
    if "private-filesystem" in in_force and "no-network" in in_force and "private-processes" in in_force:
        assert all(score <= honest for score in scores.values()), (honest, scores)
        assert not list(Path("/tmp").glob("gf-attack-marker-nobody*"))


@pytest.mark.slow
def test_a_lesson4_worker_runs_numba_on_one_thread_even_after_a_new_compilation(probe_file: Path) -> None:
    """umap-learn's numba would start a thread per CPU in each worker: the fork server (warmed for
    lesson 4, so numba's pool is launched there) and the worker both say one, even after numba
    re-reads its environment before a new compilation."""
    with Sandbox(limits=Limits(memory_bytes=4 * 1024**3, cpu_seconds=120, processes=64),
                 warm_lessons=(4,)) as box:
        worker = start(box, probe_file, timeout=120)
        try:
            before, after, total = run(worker, (
                "import numba, numpy as np\n"
                "before = (numba.config.NUMBA_NUM_THREADS, numba.get_num_threads())\n"
                "@numba.njit(parallel=True)\n"
                "def total(x):\n"
                "    s = 0.0\n"
                "    for i in numba.prange(x.shape[0]):\n"
                "        s += x[i]\n"
                "    return s\n"
                "value = total(np.arange(10.0))\n"   # compiles: numba re-reads its environment
                "result = (before, (numba.config.NUMBA_NUM_THREADS, numba.get_num_threads()), value)\n"),
                timeout=120)
        finally:
            worker.kill()
    assert tuple(before) == (1, 1) and tuple(after) == (1, 1) and total == 45.0
