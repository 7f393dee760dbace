"""Finding and killing processes through ``/proc`` (Linux only).

The fork server needs the children of a process (to kill orphans a worker left behind) and,
without private users, how many tasks a user runs (a worker's process limit adds to it).
``psutil`` would answer both, but it is not a dependency of the grader, and these reads are
two small loops over ``/proc``.
"""

from __future__ import annotations

import os
import signal


def children_of(pid: int) -> list[int]:
    """The child processes of ``pid`` (from ``/proc``)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children += [int(c) for c in f.read().split()]
        return children
    except OSError:  # a kernel without /proc/<pid>/task/<tid>/children: read every process's parent
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return children


def kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (a worker's private user): escapes from its process group too."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def count_tasks(uid: int) -> int:
    """How many tasks (threads included) ``uid`` runs now, as far as ``/proc`` shows."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return total
