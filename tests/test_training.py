"""hf_motion.training: the CPU thread count the recipes train with."""

import os

import pytest
import torch

from hf_motion import training
from hf_motion.training import set_cpu_threads


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_explicit_threads_are_set(restore_threads):
    assert set_cpu_threads(1) == 1
    assert torch.get_num_threads() == 1


def test_zero_threads_is_an_error(restore_threads):
    with pytest.raises(ValueError, match="at least 1"):
        set_cpu_threads(0)


def test_default_is_the_idle_cores_not_omp_num_threads(monkeypatch, restore_threads):
    # accelerate launch sets OMP_NUM_THREADS=1 for one CPU process; the default must not inherit it.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(training, "_busy_fraction", lambda: 3.0 / 8)
    assert set_cpu_threads() == 5
    assert torch.get_num_threads() == 5


def test_default_shares_idle_cores_among_local_processes(monkeypatch, restore_threads):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(training, "_busy_fraction", lambda: 7.6 / 8)  # busy machine: still one thread each
    assert set_cpu_threads() == 1


def test_busy_fraction_is_a_share_of_the_cores():
    assert 0.0 <= training._busy_fraction(0.05) <= 1.0
