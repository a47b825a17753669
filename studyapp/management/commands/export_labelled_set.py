import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from studyapp.api.renderers import EXPORT_RENDERERS
from studyapp.models import Study
from studyapp.selectors.exports import (
    LABELLED_SET_FIELDS,
    LabelledSetEntry,
    labelled_set_columns,
    labelled_set_entries,
    labelled_set_flat_rows,
    labelled_set_runs,
    storage_url_maker,
)

_RENDERERS = {renderer.format: renderer for renderer in EXPORT_RENDERERS}


class Command(BaseCommand):
    help = (
        "Export a study's labelled set to a file, the offline equivalent of "
        "/api/v1/studies/SLUG/labelled-set. By default each row's display variant is copied "
        "into a folder beside the file (FILE's name + '_files') and named in a `path` field, so "
        "a JSONL export is directly a manifest for import_images and `python -m detector`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The study's slug.")
        parser.add_argument("--out", type=Path, required=True, help="File to write.")
        parser.add_argument(
            "--format", choices=sorted(_RENDERERS), default="jsonl", help="Default: jsonl."
        )
        parser.add_argument(
            "--files",
            choices=["variants", "originals", "none"],
            default="variants",
            help="Copy each row's display variant (default: the pixels people and detectors "
            "saw), the image's original (importing those into a fresh database gives back the "
            "same images, sha256 included), or nothing (no `path` field).",
        )
        parser.add_argument("--size", type=int, help="Only this display size (px).")
        parser.add_argument(
            "--include-simulated",
            action="store_true",
            help="Count simulated participants in the human stats.",
        )
        parser.add_argument(
            "--base-url",
            default="",
            help="Site address that makes relative `url` values absolute, e.g. "
            "https://beholder.example.org",
        )

    def handle(
        self,
        *args,
        slug: str,
        out: Path,
        format: str,
        files: str,
        size: int | None,
        include_simulated: bool,
        base_url: str,
        **options,
    ) -> None:
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            raise CommandError(f"no study with slug {slug!r}")
        folder = out.parent / f"{out.stem}_files"
        if files != "none":
            folder.mkdir(parents=True, exist_ok=True)
        entries = labelled_set_entries(
            study, include_simulated=include_simulated, size=size, url=_url_maker(base_url)
        )
        progress = tqdm(desc="exporting", unit="row", file=sys.stderr, disable=None)
        rows = self._rows(entries, files, folder, progress)
        columns = [*LABELLED_SET_FIELDS]
        if format == "csv":
            columns = labelled_set_columns(labelled_set_runs(study, size=size))
            rows = labelled_set_flat_rows(rows)
        if files != "none":
            columns.append("path")
        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("wb") as stream:
                for chunk in _RENDERERS[format]().stream(rows, columns):
                    stream.write(chunk)
            os.replace(partial, out)
        finally:
            progress.close()
            partial.unlink(missing_ok=True)
        copied = f"; files in {folder}" if files != "none" else ""
        self.stdout.write(f"wrote {self.n_rows} rows to {out}{copied}")

    def _rows(
        self, entries: Iterator[LabelledSetEntry], files: str, folder: Path, progress: tqdm
    ) -> Iterator[dict]:
        self.n_rows, last_copied = 0, ""
        for entry in entries:
            row = entry.row
            if files != "none":
                source = entry.variant_file if files == "variants" else entry.original_file
                suffix = PurePosixPath(source).suffix
                name = (
                    f"{row['image']}_{row['size']}{suffix}"
                    if files == "variants"
                    else (f"{row['image']}{suffix}")
                )
                if name != last_copied:  # rows of one image are adjacent: copy an original once
                    _copy(source, folder / name)
                    last_copied = name
                row = {**row, "path": f"{folder.name}/{name}"}
            self.n_rows += 1
            progress.update()
            yield row


def _copy(name: str, destination: Path) -> None:
    try:
        with default_storage.open(name, "rb") as source, destination.open("wb") as target:
            shutil.copyfileobj(source, target)
    except FileNotFoundError:
        raise CommandError(f"{name} is missing from storage") from None


def _url_maker(base_url: str):
    base = base_url.rstrip("/")
    stored_url = storage_url_maker()

    def url(name: str) -> str:
        stored = stored_url(name)
        return base + stored if base and stored.startswith("/") else stored

    return url
