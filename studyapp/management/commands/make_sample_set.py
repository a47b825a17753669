from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studyapp.sample_set import build_sample_set


class Command(BaseCommand):
    help = (
        "Build the sample image set (real photo crops from installed wheels and generated images) "
        "into DIR as CNNDetection-style folders plus manifest.jsonl. Deterministic from --seed."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path, help="output folder; created, must be empty")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    def handle(self, *args, **options):
        try:
            summary = build_sample_set(options["dir"], seed=options["seed"])
        except FileExistsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary.summary())
