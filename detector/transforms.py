"""Image transforms of the two published recipes (the display variant is in `variants`).

LAION (SD-1.4 classifier): resize 256 -> random crop 224, flips, brightness/contrast, affine,
rotation, coarse dropout; eval: resize 256 -> centre crop 224.
CNNDetection (Wang et al. 2020): resize 256, Gaussian blur sigma ~ U[0, 3] with probability p,
JPEG quality ~ U{30..100} with probability p, random crop 224, horizontal flip; eval: centre crop
224 of the image as it is.

All random choices draw from torch's generator, which the dataset seeds per sample, so an
augmented epoch is the same whether or not training was resumed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import torch
from PIL import Image
from torch import nn
from torchvision.transforms import v2

from detector.recipes import DataSpec

Transform = Callable[[Image.Image], torch.Tensor]


def train_transform(spec: DataSpec, mean: Sequence[float], std: Sequence[float]) -> Transform:
    if spec.transforms == "laion":
        return v2.Compose(
            [
                v2.ToImage(),
                *_resize(spec),
                v2.RandomCrop(spec.crop, pad_if_needed=True),
                v2.RandomHorizontalFlip(),
                v2.RandomVerticalFlip(),
                v2.ColorJitter(brightness=0.2, contrast=0.2),
                v2.RandomAffine(degrees=0, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5),
                v2.RandomRotation(15),
                *_to_float(mean, std),
                # coarse dropout: a few small holes filled with the mean colour (0 once normalised)
                *[v2.RandomErasing(p=0.5, scale=(0.01, 0.04), value=0) for _ in range(4)],
            ]
        )
    # sigma ~ U[0, 3]: torchvision needs sigma > 0 and a fixed kernel covering +-3 sigma
    blur = v2.GaussianBlur(kernel_size=19, sigma=(1e-3, 3.0))
    return v2.Compose(
        [
            *_resize(spec),
            # blur and JPEG work on the Pillow image, as CNNDetection's did
            v2.RandomApply([blur], p=spec.blur_jpeg_prob),
            v2.RandomApply([RandomJPEG(30, 100)], p=spec.blur_jpeg_prob),
            v2.ToImage(),
            v2.RandomCrop(spec.crop, pad_if_needed=True),
            v2.RandomHorizontalFlip(),
            *_to_float(mean, std),
        ]
    )


class RandomJPEG(nn.Module):
    """Re-encode a Pillow image as JPEG with quality ~ U{low..high}, drawn from torch's RNG.

    Pillow rather than torchvision's JPEG transform, whose codec torchvision has deprecated.
    """

    def __init__(self, low: int, high: int) -> None:
        super().__init__()
        self.low, self.high = low, high

    def forward(self, image: Image.Image) -> Image.Image:
        return _jpeg(image, quality=int(torch.randint(self.low, self.high + 1, ())))


def eval_transform(spec: DataSpec, mean: Sequence[float], std: Sequence[float]) -> Transform:
    # CNNDetection evaluates on the image as it is; LAION resizes first
    resize = _resize(spec) if spec.transforms == "laion" or spec.eval_resize else []
    return v2.Compose([v2.ToImage(), *resize, v2.CenterCrop(spec.crop), *_to_float(mean, std)])


def _jpeg(image: Image.Image, **options) -> Image.Image:
    """`image` as it comes back from a JPEG file written with `options`."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", **options)
    buffer.seek(0)
    with Image.open(buffer) as encoded:
        return encoded.convert("RGB")


def _resize(spec: DataSpec) -> list[v2.Transform]:
    if not spec.resize:
        return []
    return [v2.Resize(spec.resize, interpolation=v2.InterpolationMode.BICUBIC, antialias=True)]


def _to_float(mean: Sequence[float], std: Sequence[float]) -> list[v2.Transform]:
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean=list(mean), std=list(std))]
