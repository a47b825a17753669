"""A real Celery worker process for tests, on the test database and the configured broker
(Redis in CI, the embedded filesystem broker elsewhere)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from studyapp.models import DetectorRun, Image, Study
from studyapp.selectors.pool import study_pool

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`celery -A studyapp worker` as a subprocess; its log is kept for assertions."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.log_path = log_dir / f"worker-{uuid.uuid4().hex[:8]}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "BEHOLDER_WORK_DIR": str(settings.BEHOLDER_WORK_DIR),
            "BEHOLDER_VARIANT_SIZES": ",".join(map(str, settings.BEHOLDER_VARIANT_SIZES)),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "LOG_LEVEL": "INFO",
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Worker":
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studyapp", "worker", "-Q", "default,gpu",
             "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "-n", f"test-{uuid.uuid4().hex[:8]}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.wait_for_log("ready.", timeout)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited ({self.process.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no {text!r} in the worker's log after {timeout} s:\n{self.log()}"
                )
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no chance to acknowledge, re-queue or clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def clear_broker() -> None:
    """Empties the tests' broker: queued tasks and, on Redis, unacknowledged ones of earlier
    runs (which a worker would otherwise restore)."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()
    else:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        for message in folder.glob("*"):
            message.unlink()


def wait_until(condition, timeout: float, what: str, worker: Worker, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen in {timeout} s; worker log:\n{worker.log()}")
        time.sleep(poll)
    return result


def finished(run: DetectorRun):
    run.refresh_from_db()
    return run if run.status in ("succeeded", "failed", "cancelled") else None


def shown_variants(study: Study) -> int:
    pool = Image.objects.filter(pk__in=study_pool(study).values("pk")).count()
    return (pool + study.practice_images.count()) * len(study.display_sizes)
