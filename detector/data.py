"""Manifest images as tensors, and DataLoaders that keep the model fed.

Training randomness lives in two seeded places, so that resuming from a checkpoint replays exactly
the epochs an uninterrupted run would have seen: `EpochSampler` draws each epoch's order from
(seed, epoch), and hands every sample its own augmentation seed, which `ManifestDataset` uses in
whichever worker process decodes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from detector.manifest import ManifestRow
from detector.transforms import Transform
from detector.variants import display_variant


class ManifestDataset(Dataset):
    """(image tensor, target) for each manifest row; index with an int or (seed, int)."""

    def __init__(
        self,
        rows: Sequence[ManifestRow],
        transform: Transform,
        targets: Sequence[int],
        *,
        display_size: int | None = None,
    ) -> None:
        self.rows = list(rows)
        self.transform = transform
        self.targets = list(targets)
        self.display_size = display_size

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        seed, index = key if isinstance(key, tuple) else (None, key)
        with Image.open(self.rows[index].file) as image:
            pixels = image.convert("RGB")
        if self.display_size:
            pixels = display_variant(pixels, self.display_size)
        if seed is None:
            return self.transform(pixels), self.targets[index]
        # fork: in the main process (workers=0) the model's own RNG stream must stay untouched
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.transform(pixels), self.targets[index]


class EpochSampler(Sampler[tuple[int, int]]):
    """Shuffled (sample seed, index) pairs per epoch; with several ranks, each gets its share."""

    def __init__(self, n: int, *, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.seed, self.rank, self.world_size = n, seed, rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.n // self.world_size)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator)
        seeds = torch.randint(2**62, (self.n,), generator=generator)
        # DistributedSampler's rule: pad by wrapping so every rank has the same number of steps
        order = torch.cat([order, order[: len(self) * self.world_size - self.n]])
        for position in range(self.rank, len(order), self.world_size):
            index = int(order[position])
            yield int(seeds[index]), index


def make_loader(
    dataset: ManifestDataset,
    *,
    batch_size: int,
    workers: int,
    sampler: Sampler | None = None,
) -> DataLoader:
    """A DataLoader with worker processes that persist across epochs and, on GPUs, pinned memory."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        # the loader's own seeds come from here, never from the model's RNG
        generator=torch.Generator().manual_seed(0),
    )
