"""Importing image sets: one image at a time, each stored atomically.

An image's files (original and display variants) are written through Django's storage API first,
then its rows in one transaction; if anything fails, the files just written are deleted again, so
no row lacks its files and no file lacks its row. Re-importing a file (same sha256) is a no-op.
Manifest lines that give a `url` are downloaded first, within the byte limit and a time limit.
"""

import http.client
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from detector import variants
from studyapp import imaging
from studyapp.errors import ImageRejected
from studyapp.import_sources import Candidate, Defaults, Rejection, read_source
from studyapp.models import Category, Dataset, Generator, Image, ImageVariant

_DOWNLOAD_CHUNK = 1024 * 1024


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
    data = _read_bytes(candidate.path) if candidate.path else _download(candidate.url or "")
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
                file=_save(f"v/{uuid.uuid4().hex}.{variants.EXTENSION}", payload, written),
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


def _download(url: str) -> bytes:
    """The body at `url`, or ImageRejected saying why not (HTTP error, unreachable, too large,
    too slow: the whole download must finish within BEHOLDER_DOWNLOAD_TIMEOUT_S)."""
    limit = settings.BEHOLDER_MAX_IMAGE_BYTES
    seconds = settings.BEHOLDER_DOWNLOAD_TIMEOUT_S
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(url, headers={"User-Agent": "beholder-import"})
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise ImageRejected(
                    f"download of {int(length):,} bytes exceeds the limit of {limit:,}"
                )
            chunks, received = [], 0
            while chunk := response.read(_DOWNLOAD_CHUNK):
                received += len(chunk)
                if received > limit:
                    raise ImageRejected(f"download exceeds the limit of {limit:,} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise ImageRejected(f"download failed: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise ImageRejected(f"download timed out after {seconds:g} s") from None
        raise ImageRejected(f"download failed: {reason}") from None
    except TimeoutError:
        raise ImageRejected(f"download timed out after {seconds:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise ImageRejected(f"download failed: {exc}") from None
    return b"".join(chunks)


def _save(name: str, payload: bytes, written: list[str]) -> str:
    stored = default_storage.save(name, ContentFile(payload))
    written.append(stored)
    return stored


def _delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
