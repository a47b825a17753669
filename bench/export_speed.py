"""Labelled-set export throughput: rows per second streamed through the API, per format.

Builds a study whose labelled set has --images × 2 display sizes rows (each scored by two
detector runs, with some answered trials), then requests
/api/v1/studies/SLUG/labelled-set?format=json|jsonl|csv as a staff token would, in-process
through Django's full request/response stack, reading the stream to the end.

    python bench/export_speed.py [--images 50000] [--database-url postgres://.../scratch]

Without --database-url it uses a throwaway SQLite file; with one, the database must be a scratch
one: the bench migrates it and adds its rows. Target (DESIGN §5): at least 20,000 rows/s with
memory flat (the streaming test in tests/test_export_streaming.py measures the memory).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--database-url", help="a scratch database (default: a SQLite file)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per format; the best counts")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="beholder-bench-"))
    os.environ["BEHOLDER_VAR_DIR"] = str(workdir)
    os.environ.pop("DATABASE_URL", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")
    os.environ.setdefault("BEHOLDER_HTTPS", "false")
    os.environ["ALLOWED_HOSTS"] = "testserver"  # Django's test client, in-process
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from tests.export_fixtures import bulk_labelled_set, token_client, user

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    study = bulk_labelled_set(args.images)
    n_rows = args.images * len(study.display_sizes)
    print(
        f"database: {settings.DATABASES['default']['ENGINE']}; built {n_rows:,} labelled-set "
        f"rows in {time.perf_counter() - started:.1f} s"
    )
    staff = user(f"bench-{study.pk}", staff=True)
    client: Client = token_client(staff)
    url = f"/api/v1/studies/{study.slug}/labelled-set"
    for fmt in ("jsonl", "json", "csv"):
        best = 0.0
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url, {"format": fmt})
            lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
            elapsed = time.perf_counter() - started
            best = max(best, n_rows / elapsed)
        expected = {"jsonl": n_rows, "json": n_rows, "csv": n_rows + 1}[fmt]
        assert lines == expected, (fmt, lines, expected)
        print(f"format={fmt}: {best:,.0f} rows/s ({n_rows:,} rows; target >= 20,000)")


if __name__ == "__main__":
    main()
