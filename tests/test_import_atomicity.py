"""Each image is stored atomically: a failure while writing files or rows leaves neither behind."""

from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.db import DatabaseError

from studyapp.models import Image, ImageVariant
from studyapp.services.imports import images_import
from tests.imagefiles import write_image

pytestmark = pytest.mark.django_db


def stored_files(media_root: Path) -> list[Path]:
    return [p for p in media_root.rglob("*") if p.is_file()]


@pytest.fixture
def three_images(tmp_path: Path) -> Path:
    root = tmp_path / "set"
    for name in ("a", "b", "c"):
        write_image(root / "0_real" / f"{name}.png")
    return root


def test_a_storage_failure_midway_leaves_no_rows_and_no_files(
    three_images: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage_class = type(storages["default"])
    real_save = storage_class.save
    calls = {"n": 0}

    def failing_save(self, name, content, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # second image: original and first variant written, then failure
            raise OSError("disk full")
        return real_save(self, name, content, **kwargs)

    monkeypatch.setattr(storage_class, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        images_import(source=three_images, dataset_name="d")

    assert Image.objects.count() == 1
    assert ImageVariant.objects.count() == 2
    assert len(stored_files(media_root)) == 3


def test_a_database_failure_removes_the_files_just_written(
    three_images: Path, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_bulk_create(*args, **kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(ImageVariant.objects, "bulk_create", failing_bulk_create)
    with pytest.raises(DatabaseError):
        images_import(source=three_images, dataset_name="d")

    assert Image.objects.count() == 0
    assert stored_files(media_root) == []
