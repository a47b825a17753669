"""Checkpoint files: written atomically, read back with tensors-and-primitives only.

A checkpoint is a dict with at least `model` (the Detector's state dict), `recipe`
(`Recipe.to_dict()`) and `classes`; a training checkpoint adds the optimiser, scheduler, RNG
states and the number of finished epochs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from detector.errors import CheckpointError

LAST = "last.pt"  # the training state after the latest finished epoch; resume starts here
FINAL = "model.pt"  # weights and recipe only, for scoring


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Write `state` to `path` so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as file:
        torch.save(state, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def load(path: str | Path, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise CheckpointError(f"checkpoint {path} cannot be read: {exc}") from None
    if not isinstance(state, dict) or not {"model", "recipe", "classes"} <= state.keys():
        raise CheckpointError(f"{path} is not a detector checkpoint")
    return state
