"""docker-compose.yml describes the production shape (no Docker engine runs here, so its
structure is checked instead)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_every_part_of_the_product_is_a_service() -> None:
    assert set(services()) == {"postgres", "redis", "storage", "web", "worker", "gpu-worker"}


def test_app_services_share_the_image_and_point_at_the_backing_services() -> None:
    for name in ("web", "worker", "gpu-worker"):
        service = services()[name]
        assert service["build"] == "." and (ROOT / "Dockerfile").exists()
        env = service["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert (
            env["AWS_S3_ENDPOINT_URL"] == "http://storage:8333" and env["AWS_STORAGE_BUCKET_NAME"]
        )
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_web_runs_gunicorn_and_workers_take_their_queues() -> None:
    s = services()
    assert "gunicorn studyapp.wsgi:application" in s["web"]["command"]
    assert "migrate" in s["web"]["command"] and s["web"]["ports"] == ["8000:8000"]
    worker = s["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "studyapp", "worker"]
    assert worker[worker.index("-Q") + 1] == "default"
    gpu = s["gpu-worker"]["command"]
    assert gpu[gpu.index("-Q") + 1] == "gpu" and gpu[gpu.index("--concurrency") + 1] == "1"
    devices = s["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_the_queues_in_compose_are_the_ones_tasks_are_routed_to(settings) -> None:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed == {"gpu"} and settings.CELERY_TASK_DEFAULT_QUEUE == "default"


def test_dockerfile_installs_the_package_and_serves_with_gunicorn() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile and "pip install ." in dockerfile
    assert "collectstatic" in dockerfile and 'CMD ["gunicorn"' in dockerfile
