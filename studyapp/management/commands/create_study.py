from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from studyapp.errors import BeholderError
from studyapp.models import Dataset, Study
from studyapp.services.studies import study_create


def _sizes(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = (
        "Create a study over a dataset's test split (all of it when it has no split), the scripted "
        "equivalent of creating one in admin. Prints the volunteer URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--title", default="")
        parser.add_argument("--trials", type=int, default=40, help="main trials per participant")
        parser.add_argument("--sizes", type=_sizes, help="display sizes, e.g. 256,512")
        parser.add_argument("--practice", type=int, default=4, help="practice trials")
        parser.add_argument("--attention", type=int, default=2, help="attention checks")
        parser.add_argument("--confidence-scale", type=int, help="k for a 1..k confidence rating")
        parser.add_argument("--exposure-ms", type=int, help="show each image this long")
        parser.add_argument("--mode", choices=[m.value for m in Study.Mode], default="single")
        parser.add_argument("--live", action="store_true", help="open it to volunteers now")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options) -> None:
        try:
            dataset = Dataset.objects.get(name=options["dataset"])
        except Dataset.DoesNotExist:
            raise CommandError(f"no dataset named {options['dataset']!r}") from None
        try:
            study = study_create(
                slug=options["slug"],
                dataset=dataset,
                title=options["title"],
                trials_per_participant=options["trials"],
                display_sizes=options["sizes"],
                practice_trials=options["practice"],
                attention_checks=options["attention"],
                confidence_scale=options["confidence_scale"],
                exposure_ms=options["exposure_ms"],
                mode=options["mode"],
                live=options["live"],
            )
        except BeholderError as exc:
            raise CommandError(str(exc)) from None
        url = options["base_url"].rstrip("/") + reverse("volunteer", args=[study.slug])
        self.stdout.write(f"Created study {study.slug} ({study.get_status_display()}): {url}")
