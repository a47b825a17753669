import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from studyapp.import_sources import Defaults, SourceError
from studyapp.services.imports import images_import


class Command(BaseCommand):
    help = (
        "Import an image set: a JSONL manifest, a CNNDetection folder (0_real/1_fake under "
        "[split/][generator/][category/]) or a GenImage folder "
        "(<generator>/<train|val>/ai|nature). "
        "Files already stored (same sha256) are skipped. Exits 1 if any file or line was rejected, "
        "after importing the good ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path, help="Manifest file or folder.")
        parser.add_argument("--dataset", required=True, help="Dataset name (created if new).")
        parser.add_argument(
            "--split", choices=["train", "val", "test"], help="Where the source gives none."
        )
        parser.add_argument(
            "--generator", help="Generator of the fake images, where the source gives none."
        )
        parser.add_argument("--category", help="Category, where the source gives none.")

    def handle(
        self, *args, source: Path, dataset: str, split, generator, category, **options
    ) -> None:
        defaults = Defaults(split=split, generator=generator, category=category)
        progress = tqdm(desc="importing", unit="img", file=sys.stderr, disable=None)
        try:
            report = images_import(
                source=source, dataset_name=dataset, defaults=defaults, on_item=progress.update
            )
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
        for rejection in report.rejected:
            self.stderr.write(f"rejected {rejection.where}: {rejection.reason}")
        self.stdout.write(
            f"imported {report.imported}, duplicates {report.duplicates}, "
            f"rejected {len(report.rejected)}"
        )
        if report.rejected:
            sys.exit(1)
