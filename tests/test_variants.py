"""Display variants carry nothing that tells real from generated but the pixels (DESIGN §6)."""

import io
import re
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import JpegImagePlugin

from studyapp.models import ImageVariant
from studyapp.services.imports import images_import
from tests.imagefiles import jpeg_segments, write_image

pytestmark = pytest.mark.django_db

APP1, APP2, APP13, COM = 0xE1, 0xE2, 0xED, 0xFE


@pytest.fixture
def imported(tmp_path: Path) -> list[ImageVariant]:
    root = tmp_path / "set"
    write_image(
        root / "portraits" / "0_real" / "holiday_photo.jpg",
        size=(300, 200),
        exif_description="Canon EOS",
    )
    write_image(root / "portraits" / "0_real" / "grey_scan.png", size=(90, 120), mode="L")
    write_image(
        root / "portraits" / "1_fake" / "sd_output.png",
        size=(200, 200),
        mode="RGBA",
        png_text={"parameters": "a portrait, Steps: 20, Sampler: Euler a, Model: sd14"},
    )
    write_image(root / "portraits" / "1_fake" / "gan_sample.webp", size=(64, 64))
    report = images_import(source=root, dataset_name="d", defaults=_defaults("stablediffusion14"))
    assert report.imported == 4 and not report.rejected
    return list(ImageVariant.objects.select_related("image__generator", "image__category"))


def _defaults(generator: str):
    from studyapp.import_sources import Defaults

    return Defaults(generator=generator)


def test_variants_carry_no_metadata(imported: list[ImageVariant]) -> None:
    for variant in imported:
        data = variant.file.read()
        markers = jpeg_segments(data)
        assert not {APP1, APP2, APP13, COM} & set(markers), f"metadata segment in {variant}"
        image = PILImage.open(io.BytesIO(data))
        assert not image.getexif()
        assert not {"exif", "icc_profile", "xmp", "comment", "parameters"} & set(image.info)
        assert b"sd14" not in data and b"Canon" not in data and b"Steps" not in data


def test_real_and_fake_variants_of_one_size_are_encoded_alike(imported: list[ImageVariant]) -> None:
    by_size: dict[int, set] = {}
    for variant in imported:
        image = PILImage.open(variant.file.open("rb"))
        signature = (
            image.format,
            image.mode,
            JpegImagePlugin.get_sampling(image),
            tuple(tuple(table) for table in image.quantization.values()),
            image.info.get("progressive", 0),
            image.info.get("jfif_version"),
        )
        by_size.setdefault(variant.size, set()).add(signature)
        assert max(variant.width, variant.height) == variant.size
        assert (image.width, image.height) == (variant.width, variant.height)
    assert set(by_size) == {128, 256}
    for size, signatures in by_size.items():
        assert len(signatures) == 1, f"variants of {size}px differ in encoding: {signatures}"
    labels = {v.image.label for v in imported}
    assert labels == {"real", "fake"}


def test_variant_file_names_are_opaque(imported: list[ImageVariant]) -> None:
    for variant in imported:
        name = variant.file.name
        assert re.fullmatch(r"v/[0-9a-f]{32}\.jpg", name), name
        image = variant.image
        for word in ("real", "fake", "stablediffusion", "portraits", Path(image.source_path).stem):
            assert word not in name.lower()
