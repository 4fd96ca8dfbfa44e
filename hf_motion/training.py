"""Training utilities shared by the recipes.

* :func:`set_cpu_threads`: torch's CPU thread count for a training process. ``accelerate launch``
  without a config file sets ``OMP_NUM_THREADS=1`` for a single CPU process, which on a 2-core
  machine makes the main command's training about 3x slower; the recipes call this instead of
  inheriting that.
"""

from __future__ import annotations

import os

__all__ = ["set_cpu_threads"]


def set_cpu_threads(num_threads: int | None = None) -> int:
    """Set torch's CPU threads and return them.

    ``num_threads`` is used as given. ``None`` takes the cores that are idle now (CPU count minus
    the 1-minute load average) shared among this node's processes, at least one: on a busy machine
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
    try:
        idle = cores - os.getloadavg()[0]
    except OSError:  # no load average on this platform
        idle = cores
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE") or PartialState().num_processes))  # processes on this node
    threads = max(1, int(round(idle)) // local)
    torch.set_num_threads(threads)
    return threads
