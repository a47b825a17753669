"""Helpers for the fault drills: the product served by gunicorn on the test database, and
volunteers who drive it over HTTP the way the volunteer page does (retrying 503s and dropped
connections with the same request) while recording every answer the server acknowledged."""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from django.conf import settings

from tests.celery_worker import ROOT, test_database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with two sync workers, as in production, on the test database."""

    def __init__(self, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_dir / f"gunicorn-{self.port}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "BEHOLDER_HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            **env,
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "studyapp.wsgi:application",
             "--workers=2", f"--bind=127.0.0.1:{self.port}"],
            cwd=ROOT, env=self.env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                request(self.port, "GET", f"/api/v1/participants/{uuid.uuid4()}/next")
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{self.log()}") from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, payload, {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        if response.status == 503:
            assert response.getheader("Retry-After"), "a 503 must say when to retry"
        return response.status, json.loads(data) if data else {}
    finally:
        connection.close()


class Volunteers:
    """`n` volunteers in threads, each answering a trial every `think_s` seconds until stopped.
    Every request is retried until the server gives a final answer; anything but 200/201/503
    and dropped connections is recorded as an unclean error."""

    def __init__(self, port: int, slug: str, n: int, think_s: float = 0.1) -> None:
        self.port, self.slug, self.n, self.think_s = port, slug, n, think_s
        self.acknowledged: dict[str, list[int]] = {}  # trial uuid -> statuses of its answers
        self.retried: Counter = Counter()  # why requests were retried: 503 or a dropped link
        self.unclean: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "Volunteers":
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.n)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def answered(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def wait_for_answers(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.answered() < count:
            if self.unclean:
                raise AssertionError(f"unclean errors: {self.unclean[:5]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.answered()} answers after {timeout} s, not {count}")
            time.sleep(0.1)

    def _send(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """The same request until it gets a final answer, as the volunteer page retries."""
        while True:
            try:
                status, data = request(self.port, method, path, body)
            except (ConnectionError, http.client.HTTPException, TimeoutError) as exc:
                self._note_retry(type(exc).__name__)
            else:
                if status != 503:
                    if status not in (200, 201):
                        with self._lock:
                            self.unclean.append(f"{method} {path}: {status} {data}")
                    return status, data
                self._note_retry("503")
            time.sleep(0.2)

    def _note_retry(self, why: str) -> None:
        with self._lock:
            self.retried[why] += 1

    def _run(self) -> None:
        status, started = self._send(
            "POST", f"/api/v1/studies/{self.slug}/participants", {"consent": True}
        )
        if status != 201:
            return
        token = started["participant"]
        while not self._stop.is_set():
            status, trial = self._send("GET", f"/api/v1/participants/{token}/next")
            if status != 200 or trial.get("done"):
                return
            time.sleep(self.think_s)
            answer = {"participant": token, "choice": "real", "rt_ms": 600}
            status, _ = self._send("POST", f"/api/v1/trials/{trial['trial']}/response", answer)
            with self._lock:
                self.acknowledged.setdefault(trial["trial"], []).append(status)


class RedisServer:
    """A Redis server of the drill's own on a free port, keeping its data on disk (appendonly)
    as production's does (docker-compose.yml), so it can be stopped and started again."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        subprocess.run(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.dir), "--appendonly", "yes", "--save", "",
             "--daemonize", "yes", "--logfile", str(self.dir / "redis.log")],
            check=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis did not start:\n{(self.dir / 'redis.log').read_text()}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        """SHUTDOWN: the append-only file is flushed, as when a container stops."""
        import redis

        if self._answers():
            redis.Redis.from_url(self.url).shutdown()
        while self._answers():
            time.sleep(0.1)

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False


def queue_detector_run(env: dict, name: str, study_slug: str) -> None:
    """Queues training on the sample set, then scoring of the study, from a separate process
    with `env`'s broker, as the admin does from the web server."""
    code = (
        "from studyapp.models import Study\n"
        "from studyapp.services.detection import detector_run_create\n"
        f"detector_run_create(name={name!r}, recipe='tiny_cpu.toml', "
        "training_filter={'datasets': ['sample']}, "
        f"then_score=Study.objects.get(slug={study_slug!r}))\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
        timeout=120,
    )  # fmt: skip
