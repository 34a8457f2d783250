"""Threads that follow the cores actually free.

On a machine whose other core is busy, a learner on two OpenMP threads waits on the busy core at every
tree. Measured on the 2-core bench machine while another job kept it busy (LightGBM, 100,000 x 20, 150
trees): one thread 1.0 s; two threads 4.2-16.9 s with OpenMP's default (spinning) wait, 1.1 s with
``OMP_WAIT_POLICY=PASSIVE``. So ``lamarck`` sets ``OMP_WAIT_POLICY=PASSIVE`` when it is imported (unless
the user set it; the OpenMP runtimes of LightGBM, XGBoost and scikit-learn read it when they load), and a
search gives its learners no more threads than the cores that other processes leave free:

    >>> search_threads(4, cores=4, busy=0.0), search_threads(4, cores=2, busy=1.0), search_threads(2, cores=2, busy=3.0)
    (4, 1, 1)
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

__all__ = ["busy_cores", "search_threads"]

_PROC = Path("/proc")


def busy_cores(*, samples: int = 5, interval_s: float = 0.01, proc: Path = _PROC) -> float:
    """Cores that other processes keep busy now: the median, over a few samples, of the machine's
    runnable threads (``/proc/loadavg``) less this process's own (``/proc/self/task/*/stat``); elsewhere
    than Linux, the 1-minute load average less one (this process). About 50 ms; 0.0 when unknown."""
    loadavg = proc / "loadavg"
    if not loadavg.exists():
        try:
            return max(0.0, os.getloadavg()[0] - 1.0)
        except (AttributeError, OSError):
            return 0.0
    counts = []
    for i in range(samples):
        if i:
            time.sleep(interval_s)
        try:
            running = int(loadavg.read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        counts.append(running - _own_running(proc))
    return max(0.0, float(statistics.median(counts)))


def _own_running(proc: Path) -> int:
    """This process's threads in state R (running or runnable), at least 1 (the one reading)."""
    n = 0
    for stat in (proc / "self" / "task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # the state follows the command name, which is in parentheses and may hold spaces
        if text[text.rfind(")") + 2 : text.rfind(")") + 3] == "R":
            n += 1
    return max(n, 1)


def search_threads(n_jobs: int, *, cores: int | None = None, busy: float | None = None) -> int:
    """Threads a search's learners may use: ``n_jobs``, at most the cores left free by other processes
    (:func:`busy_cores`), at least one."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = busy if busy is not None else busy_cores()
    return max(1, min(n_jobs, round(cores - busy)))
