import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from studyapp.services.demo import demo_admin_ensure, demo_sample_set_import

HOST, PORT = "127.0.0.1", 8000


class Command(BaseCommand):
    help = (
        "Set up the demo on the embedded defaults (migrate, sample set, admin user) and serve it "
        "with gunicorn on http://127.0.0.1:8000. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Set up, then exit.")

    def handle(self, *args, no_serve: bool, **options) -> None:
        var_dir = settings.VAR_DIR
        var_dir.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        report = demo_sample_set_import(var_dir=var_dir)
        self.stdout.write(
            f"Sample image set: {report.imported} imported, {report.duplicates} already there, "
            f"{len(report.rejected)} rejected."
        )
        credentials = demo_admin_ensure(var_dir=var_dir)
        base = f"http://{HOST}:{PORT}"
        self.stdout.write(
            self.style.SUCCESS(
                f"\nAdmin: {base}/admin/  user {credentials.username}  "
                f"password {credentials.password}\n"
            )
        )
        if no_serve:
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving {base}/ — press Ctrl-C to stop.")
        sys.stdout.flush()
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        os.execv(
            gunicorn,
            [gunicorn, "studyapp.wsgi:application", "--bind", f"{HOST}:{PORT}", "--workers", "2"],
        )
