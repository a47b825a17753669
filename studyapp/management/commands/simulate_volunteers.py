import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client

from studyapp.services.simulation import Behaviour, simulate_volunteers


def _by_generator(value: str) -> dict[str, float]:
    pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
    try:
        return {name.strip(): float(p) for name, p in pairs}
    except ValueError:
        raise ValueError("expected NAME=P pairs, e.g. sd14=0.6,progan=0.8") from None


class Command(BaseCommand):
    help = (
        "Drive the participant API with simulated volunteers who answer correctly with the given "
        "probability (per generator with --by-generator). Their participants are marked simulated "
        "and left out of analyses unless asked for."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--n", type=int, default=10, help="number of volunteers")
        parser.add_argument("--accuracy", type=float, default=0.7)
        parser.add_argument("--by-generator", type=_by_generator, help="e.g. sd14=0.6,progan=0.8")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, slug: str, n: int, accuracy: float, by_generator, seed: int, **options):
        # The same code path as the browser: URL routing, API views, services.
        client = Client(HTTP_HOST="127.0.0.1", secure=True)

        def post(url: str, body: dict) -> tuple[int, dict]:
            response = client.post(url, json.dumps(body), content_type="application/json")
            return response.status_code, response.json()

        def get(url: str) -> tuple[int, dict]:
            response = client.get(url)
            return response.status_code, response.json()

        try:
            report = simulate_volunteers(
                slug=slug,
                n=n,
                behaviour=Behaviour(accuracy=accuracy, by_generator=by_generator),
                post=post,
                get=get,
                seed=seed,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        share = report.correct / report.responses if report.responses else 0.0
        self.stdout.write(
            f"{report.participants} simulated volunteers answered {report.responses} trials, "
            f"{share:.1%} correctly"
        )
