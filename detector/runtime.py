"""Where and how tensors run: the device, CPU threads, and mixed precision."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch


def pick_device(requested: str | None, local_rank: int = 0) -> torch.device:
    """`requested`, else this rank's GPU if there is one, else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")


@contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Use `n` intra-op CPU threads inside the block (0: leave torch's choice), then restore.

    Small models gain nothing from a second thread and lose a lot when the cores are shared:
    on this 2-core machine, under load, a tiny ConvNeXt step took 50 ms on one thread and
    175-400 ms on two.
    """
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast_for(device: torch.device, precision: str) -> AbstractContextManager:
    """bf16 autocast on GPUs when the recipe asks for it; CPUs run fp32."""
    if device.type == "cuda" and precision == "bf16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
