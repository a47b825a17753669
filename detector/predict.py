"""Turning logits into probabilities, and running a model over a loader without gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from detector.runtime import autocast_for


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(B, n_classes) class probabilities, in the model's class order.

    A binary head has one logit, for "fake", and gives columns ("real", "fake"); an N-way head
    has one logit per class.
    """
    logits = logits.float()
    if logits.shape[1] == 1:
        p_fake = torch.sigmoid(logits[:, 0])
        return torch.stack([1 - p_fake, p_fake], dim=1)  # classes are ("real", "fake")
    return torch.softmax(logits, dim=1)


def p_fake_of(probs: torch.Tensor, classes: tuple[str, ...]) -> torch.Tensor:
    """Probability that the image is generated: the "fake" class, or all but "real" (N-way)."""
    if "fake" in classes:
        return probs[:, classes.index("fake")]
    return 1 - probs[:, classes.index("real")]


def predict(
    model: nn.Module,
    loader: DataLoader,
    *,
    device: torch.device,
    precision: str,
    channels_last: bool,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[torch.Tensor]:
    """Yields (B, n_classes) probabilities per batch, in the loader's order."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for images, _ in loader:
                images = images.to(device, non_blocking=True, memory_format=memory_format)
                with autocast_for(device, precision):
                    logits = model(images)
                probs = probabilities(logits).cpu()
                if on_batch is not None:
                    on_batch(len(probs))
                yield probs
    finally:
        model.train(was_training)
