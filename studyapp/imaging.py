"""Decoding untrusted image files and rendering the display variants people and detectors see.

Pure Pillow, no Django. Every variant goes through exactly the same pipeline whatever the image's
origin: orientation applied, colours converted to sRGB, flattened to RGB, resized with one filter,
encoded with one set of JPEG settings, and written from a fresh image that carries no metadata.
"""

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from detector.variants import encode_variant
from studyapp.errors import ImageRejected

ImageFile.LOAD_TRUNCATED_IMAGES = False

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"})
_BACKGROUND = (255, 255, 255)
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class DecodedImage:
    """An original's facts plus its pixels, normalised to sRGB RGB for rendering."""

    sha256: str
    format: str
    width: int
    height: int
    bytes: int
    pixels: Image.Image


def decode(data: bytes, *, max_pixels: int) -> DecodedImage:
    """Fully decode an untrusted file. Raises ImageRejected with a readable reason."""
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            _check_size(probe, max_pixels)
            probe.verify()  # structural checks (e.g. PNG chunk CRCs) before the costly decode
            image = Image.open(io.BytesIO(data))
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(f"corrupt or truncated image: {exc}") from None
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(f"unsupported format {image.format}")
    fmt, width, height = image.format, image.width, image.height
    return DecodedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        bytes=len(data),
        pixels=_normalise(image),
    )


def render_variant(image: DecodedImage, size: int, *, quality: int) -> tuple[bytes, int, int]:
    """The display variant at `size` (the detector's very encoding); (JPEG, width, height)."""
    data = encode_variant(image.pixels, size, quality=quality)
    with Image.open(io.BytesIO(data)) as encoded:
        return data, encoded.width, encoded.height


def _check_size(image: Image.Image, max_pixels: int) -> None:
    pixels = image.width * image.height
    if pixels > max_pixels:
        raise ImageRejected(
            f"decompression bomb: {image.width}×{image.height} = {pixels:,} pixels exceeds the "
            f"limit of {max_pixels:,}"
        )


def _normalise(image: Image.Image) -> Image.Image:
    """Upright, sRGB, RGB pixels with no metadata attached."""
    ImageOps.exif_transpose(image, in_place=True)
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
        except ImageCms.PyCMSError:
            pass  # a broken profile: keep the pixels as they are, like browsers do
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.info = {}
    return image
