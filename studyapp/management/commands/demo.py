import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from studyapp.services.demo import (
    demo_admin_ensure,
    demo_detector_ensure,
    demo_sample_set_import,
    demo_study_ensure,
)

HOST, PORT = "127.0.0.1", 8000


class Command(BaseCommand):
    help = (
        "Bring up the demo on the embedded defaults: migrate, import the sample set, create an "
        "admin user and a live demo study, queue the tiny detector's training and scoring, then "
        "serve on http://127.0.0.1:8000 with gunicorn and a Celery worker until Ctrl-C. "
        "Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-serve", action="store_true", help="Set up and queue the work, then exit."
        )

    def handle(self, *args, no_serve: bool, **options) -> None:
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        report = demo_sample_set_import(var_dir=var_dir)
        self.stdout.write(
            f"Sample image set: {report.imported} imported, {report.duplicates} already there, "
            f"{len(report.rejected)} rejected."
        )
        credentials = demo_admin_ensure(var_dir=var_dir)
        study = demo_study_ensure()
        run = demo_detector_ensure(study=study)
        base = f"http://{HOST}:{PORT}"
        self.stdout.write(
            self.style.SUCCESS(
                "\nBeholder demo\n"
                f"  Volunteer page: {base}{reverse('volunteer', args=[study.slug])}\n"
                f"  Admin:          {base}/admin/  (user {credentials.username}, "
                f"password {credentials.password})\n"
                f"  API docs:       {base}/api/docs/\n"
                f"  Detector:       run {run.name} trains, then scores the study, in the "
                "background (progress: Admin > Detector runs)\n"
                "  After labelling, compare people and the detector:\n"
                f"    .venv/bin/python -m analysis.compare --study {study.slug} "
                f"--out {var_dir / 'report'}\n"
            )
        )
        if not no_serve:
            self._serve(base)

    def _serve(self, base: str) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        bin_dir = Path(sys.executable).parent
        processes = [
            subprocess.Popen(
                [bin_dir / "celery", "-A", "studyapp", "worker", "-Q", "default,gpu",
                 "--pool", "solo", "--loglevel", "WARNING"]
            ),
            subprocess.Popen(
                [bin_dir / "gunicorn", "studyapp.wsgi:application", "--bind", f"{HOST}:{PORT}",
                 "--workers", "2", "--log-level", "warning"]
            ),
        ]  # fmt: skip
        self.stdout.write(f"Serving {base}/ with a Celery worker — press Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops everything too, like Ctrl-C
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:  # a worker finishing a training epoch
                    process.kill()
                    process.wait()
            self.stdout.write(
                "Stopped the web server and the worker. An unfinished detector run goes on "
                "from its last checkpoint at the next start."
            )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
