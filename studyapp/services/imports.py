"""Importing image sets: one image at a time, each stored atomically.

An image's files (original and display variants) are written through Django's storage API first,
then its rows in one transaction; if anything fails, the files just written are deleted again, so
no row lacks its files and no file lacks its row. Re-importing a file (same sha256) is a no-op.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from studyapp import imaging
from studyapp.errors import ImageRejected
from studyapp.import_sources import Candidate, Defaults, Rejection, read_source
from studyapp.models import Category, Dataset, Generator, Image, ImageVariant


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class _Lookups:
    """Generators and categories by name, created on first use and cached for the import."""

    def __init__(self) -> None:
        self._generators: dict[str, Generator] = {}
        self._categories: dict[str, Category] = {}

    def generator(self, name: str | None) -> Generator | None:
        if not name:
            return None
        if name not in self._generators:
            self._generators[name], _ = Generator.objects.get_or_create(name=name)
        return self._generators[name]

    def category(self, name: str | None) -> Category | None:
        if not name:
            return None
        if name not in self._categories:
            self._categories[name], _ = Category.objects.get_or_create(name=name)
        return self._categories[name]


def images_import(
    *,
    source: Path,
    dataset_name: str,
    defaults: Defaults = Defaults(),
    sizes: list[int] | None = None,
    on_item: Callable[[], None] | None = None,
) -> ImportReport:
    """Imports every image of `source` into the dataset (created if new)."""
    dataset, _ = Dataset.objects.get_or_create(name=dataset_name, defaults={"source": str(source)})
    sizes = sorted(set(sizes or settings.BEHOLDER_VARIANT_SIZES))
    lookups = _Lookups()
    report = ImportReport()
    for item in read_source(source, defaults):
        if isinstance(item, Rejection):
            report.rejected.append(item)
        else:
            try:
                created = image_import(
                    candidate=item, dataset=dataset, sizes=sizes, lookups=lookups
                )
            except ImageRejected as exc:
                report.rejected.append(Rejection(item.where, str(exc)))
            else:
                if created:
                    report.imported += 1
                else:
                    report.duplicates += 1
        if on_item:
            on_item()
    return report


def image_import(
    *, candidate: Candidate, dataset: Dataset, sizes: list[int], lookups: _Lookups
) -> Image | None:
    """Stores one image with its variants; returns None when it is already stored."""
    data = _read_bytes(candidate.path)
    decoded = imaging.decode(data, max_pixels=settings.BEHOLDER_MAX_IMAGE_PIXELS)
    if Image.objects.filter(sha256=decoded.sha256).exists():
        return None
    renders = [
        (size, *imaging.render_variant(decoded, size, quality=settings.BEHOLDER_VARIANT_QUALITY))
        for size in sizes
    ]
    generator = lookups.generator(candidate.generator)
    category = lookups.category(candidate.category)
    written: list[str] = []
    try:
        original_name = _save(f"originals/{decoded.sha256}.{decoded.format.lower()}", data, written)
        variant_rows = [
            ImageVariant(
                size=size,
                file=_save(f"v/{uuid.uuid4().hex}.{imaging.VARIANT_EXTENSION}", payload, written),
                width=width,
                height=height,
                bytes=len(payload),
            )
            for size, payload, width, height in renders
        ]
        with transaction.atomic():
            image = Image.objects.create(
                dataset=dataset,
                label=candidate.label,
                generator=generator,
                category=category,
                split=candidate.split or "",
                original=original_name,
                sha256=decoded.sha256,
                width=decoded.width,
                height=decoded.height,
                format=decoded.format,
                bytes=decoded.bytes,
                prompt=candidate.prompt,
                source_path=candidate.source_path,
                metadata=candidate.metadata,
            )
            for row in variant_rows:
                row.image = image
            ImageVariant.objects.bulk_create(variant_rows)
    except IntegrityError:
        _delete(written)
        if Image.objects.filter(sha256=decoded.sha256).exists():
            return None  # another import stored the same file a moment ago
        raise
    except BaseException:
        _delete(written)
        raise
    return image


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > settings.BEHOLDER_MAX_IMAGE_BYTES:
            raise ImageRejected(
                f"file of {size:,} bytes exceeds the limit of {settings.BEHOLDER_MAX_IMAGE_BYTES:,}"
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageRejected("file not found") from None
    except IsADirectoryError:
        raise ImageRejected("is a folder, not a file") from None
    except PermissionError:
        raise ImageRejected("file not readable (permission denied)") from None


def _save(name: str, payload: bytes, written: list[str]) -> str:
    stored = default_storage.save(name, ContentFile(payload))
    written.append(stored)
    return stored


def _delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
