"""The display variant: how an image is shown to people at one display size, and so how the
detector must see it to judge the same pixels. Pillow only (no torch), so the platform's import
renders its variants with this very function.

The long side is scaled to the display size with one bicubic filter, then the image is encoded as
baseline JPEG, 4:2:0, at one quality, from pixels that carry no metadata.
"""

from __future__ import annotations

import io

from PIL import Image

QUALITY = 90  # the platform's default (BEHOLDER_VARIANT_QUALITY)
FORMAT, EXTENSION = "JPEG", "jpg"
RESAMPLING = Image.Resampling.BICUBIC  # as timm's ConvNeXt preprocessing


def encode_variant(image: Image.Image, size: int, *, quality: int = QUALITY) -> bytes:
    """`image` (RGB) as the JPEG file of its display variant at `size`."""
    scale = size / max(image.width, image.height)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    if (width, height) != image.size:
        # reducing_gap makes large downscales cheap at no visible cost
        image = image.resize((width, height), RESAMPLING, reducing_gap=2.0)
    image.info = {}  # metadata never travels into a variant
    buffer = io.BytesIO()
    image.save(
        buffer,
        format=FORMAT,
        quality=quality,
        subsampling="4:2:0",
        optimize=False,
        progressive=False,
    )
    return buffer.getvalue()


def display_variant(image: Image.Image, size: int, *, quality: int = QUALITY) -> Image.Image:
    """The pixels a volunteer sees at display size `size`."""
    with Image.open(io.BytesIO(encode_variant(image, size, quality=quality))) as encoded:
        return encoded.convert("RGB")
