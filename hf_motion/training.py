"""Training utilities shared by the recipes.

* :func:`set_cpu_threads`: torch's CPU thread count for a training process. ``accelerate launch``
  without a config file sets ``OMP_NUM_THREADS=1`` for a single CPU process, which on a 2-core
  machine makes the main command's training about 3x slower; the recipes call this instead of
  inheriting that.
"""

from __future__ import annotations

import os

__all__ = ["set_cpu_threads"]


def _busy_fraction(seconds: float = 0.25) -> float:
    """The share of all cores busy over the next ``seconds``: measured now, not the 1-minute load
    average, which right after ``pip install`` still counts the install and would halve the threads."""
    import psutil  # an accelerate dependency

    return min(1.0, max(0.0, psutil.cpu_percent(interval=seconds) / 100.0))


def set_cpu_threads(num_threads: int | None = None) -> int:
    """Set torch's CPU threads and return them.

    ``num_threads`` is used as given. ``None`` takes the cores that are idle now (measured over a
    quarter of a second) shared among this node's processes, at least one: on a busy machine
    more threads than idle cores make every step several times slower (the threads wait on each
    other). On a CUDA machine nothing is changed unless ``num_threads`` is given.
    """
    import torch

    if num_threads is not None:
        if int(num_threads) < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        torch.set_num_threads(int(num_threads))
        return int(num_threads)
    if torch.cuda.is_available():
        return torch.get_num_threads()
    from accelerate import PartialState

    cores = os.cpu_count() or 1
    idle = cores * (1.0 - _busy_fraction())
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE") or PartialState().num_processes))  # processes on this node
    threads = max(1, int(round(idle)) // local)
    torch.set_num_threads(threads)
    return threads
