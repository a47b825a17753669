"""Round trip: a labelled-set JSONL export (from the command, or from the API with its URLs) is a
manifest that `import_images` takes into a fresh database, run as its own process, and that the
detector reads."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from detector.manifest import read_manifest
from studyapp.models import Image, Study
from studyapp.selectors.exports import LABELLED_SET_FIELDS
from studyapp.services.imports import images_import
from tests.export_fixtures import token_client, user
from tests.imagefiles import write_image

ROOT = Path(__file__).resolve().parent.parent
SIZES = [128, 256]  # the display sizes the tests' settings render


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated SQLite database file, made once and copied for each fresh instance."""
    var = tmp_path_factory.mktemp("template")
    _manage(var, "migrate", "--verbosity", "0")
    return var / "beholder.sqlite3"


def _manage(var: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"BEHOLDER_VAR_DIR": str(var), "BEHOLDER_VARIANT_SIZES": "128"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def import_into_fresh_database(manifest: Path, migrated: Path, tmp_path: Path) -> list[tuple]:
    """Runs `import_images MANIFEST` in a new process against a new database; returns its images
    as (sha256, label, generator, category, split), sorted."""
    var = tmp_path / "fresh"
    var.mkdir()
    shutil.copy(migrated, var / "beholder.sqlite3")
    result = _manage(var, "import_images", str(manifest), "--dataset", "copy")
    assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(var / "beholder.sqlite3") as db:
        return sorted(
            db.execute(
                "SELECT i.sha256, i.label, g.name, c.name, i.split FROM studyapp_image i "
                "LEFT JOIN studyapp_generator g ON g.id = i.generator_id "
                "LEFT JOIN studyapp_category c ON c.id = i.category_id"
            )
        )


@pytest.fixture
def study(tmp_path: Path) -> Study:
    """Six imported images (real ones, and fakes of two generators; two categories; splits),
    in a study shown at both display sizes."""
    source = tmp_path / "source"
    entries = [
        {"path": "r0.png", "label": "real", "category": "faces", "split": "test"},
        {"path": "r1.jpg", "label": "real", "category": "cats", "split": "test"},
        {"path": "r2.png", "label": "real", "category": "cats"},
        {"path": "f0.png", "label": "fake", "generator": "sd14", "category": "faces"},
        {"path": "f1.webp", "label": "fake", "generator": "progan", "category": "cats"},
        {"path": "f2.png", "label": "fake", "generator": "sd14", "split": "test"},
    ]
    for n, entry in enumerate(entries):
        write_image(source / entry["path"], size=(300 + n, 200))
    manifest = source / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    report = images_import(source=manifest, dataset_name="src", sizes=SIZES)
    assert report.imported == 6 and not report.rejected
    study = Study.objects.create(slug="trip", title="Round trip", display_sizes=SIZES)
    study.datasets.set(Image.objects.values_list("dataset", flat=True).distinct())
    return study


def originals() -> list[tuple]:
    return sorted(
        Image.objects.values_list("sha256", "label", "generator__name", "category__name", "split")
    )


def _export(*args: str) -> str:
    out = StringIO()
    call_command("export_labelled_set", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.django_db
def test_with_originals_a_fresh_database_gets_the_same_images(
    study: Study, tmp_path: Path, migrated_database: Path
) -> None:
    out = tmp_path / "export" / "trip.jsonl"
    out.parent.mkdir()

    printed = _export("trip", "--out", str(out), "--files", "originals")

    rows = _lines(out)
    assert f"wrote 12 rows to {out}" in printed
    assert len({row["path"] for row in rows}) == 6  # one original per image, for both sizes
    fresh = import_into_fresh_database(out, migrated_database, tmp_path)
    assert fresh == originals()
    assert {(r["sha256"], r["label"], r["generator"], r["category"]) for r in rows} == {
        image[:4] for image in fresh
    }


@pytest.mark.django_db
def test_by_default_each_row_names_its_variant_file_beside_the_export(
    study: Study, tmp_path: Path, migrated_database: Path
) -> None:
    out = tmp_path / "export" / "trip.jsonl"
    out.parent.mkdir()

    _export("trip", "--out", str(out))

    rows = _lines(out)
    assert len(rows) == 12 and all(list(row) == [*LABELLED_SET_FIELDS, "path"] for row in rows)
    expected = {}
    for row in rows:
        image = Image.objects.get(uuid=row["image"])
        variant = image.variants.get(size=row["size"])
        copied = out.parent / row["path"]
        assert row["path"] == f"trip_files/{row['image']}_{row['size']}.jpg"
        assert copied.read_bytes() == default_storage.open(variant.file.name).read()
        assert row["url"] == default_storage.url(variant.file.name)
        expected[hashlib.sha256(copied.read_bytes()).hexdigest()] = (
            row["label"], row["generator"], row["category"], row["split"] or "",
        )  # fmt: skip
    fresh = import_into_fresh_database(out, migrated_database, tmp_path)
    assert {sha: rest for sha, *rest in fresh} == {k: list(v) for k, v in expected.items()}
    as_detector_reads_it = [
        (row.path, row.file.read_bytes(), row.label, row.generator, row.category, row.split)
        for row in read_manifest(out)
    ]
    assert as_detector_reads_it == [
        (r["path"], (out.parent / r["path"]).read_bytes(), r["label"], r["generator"],
         r["category"], r["split"])
        for r in rows
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_apis_jsonl_imports_through_its_urls(
    study: Study, tmp_path: Path, migrated_database: Path, live_server
) -> None:
    client = token_client(user("staff", staff=True))
    response = client.get(
        "/api/v1/studies/trip/labelled-set",
        {"format": "jsonl"},
        SERVER_NAME=live_server.thread.host,
        SERVER_PORT=str(live_server.thread.port),
    )
    manifest = tmp_path / "api.jsonl"
    manifest.write_bytes(b"".join(response.streaming_content))
    rows = _lines(manifest)
    assert len(rows) == 12 and all(row["url"].startswith(live_server.url) for row in rows)

    fresh = import_into_fresh_database(manifest, migrated_database, tmp_path)

    variants = {}
    for row in rows:
        image = Image.objects.get(uuid=row["image"])
        data = default_storage.open(image.variants.get(size=row["size"]).file.name).read()
        variants[hashlib.sha256(data).hexdigest()] = [
            image.label, row["generator"], row["category"], image.split,
        ]  # fmt: skip
    assert {sha: rest for sha, *rest in fresh} == variants


@pytest.mark.django_db
def test_csv_and_no_files(study: Study, tmp_path: Path) -> None:
    out = tmp_path / "trip.csv"

    _export("trip", "--out", str(out), "--format", "csv", "--files", "none", "--size", "128")

    header, *lines = out.read_text().splitlines()
    assert header.split(",") == list(LABELLED_SET_FIELDS[:-1])
    assert len(lines) == 6 and not (tmp_path / "trip_files").exists()


@pytest.mark.django_db
def test_an_unknown_study_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        _export("nope", "--out", str(tmp_path / "x.jsonl"))
