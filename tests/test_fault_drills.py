"""Fault drills under load: PostgreSQL restarted and Redis stopped while volunteers answer
through gunicorn. Volunteers may see 503s and must retry; no acknowledged answer may be lost,
stored twice or half-written.

The PostgreSQL drill restarts the server the tests run on, so it runs only where a command to do
that is given (CI sets BEHOLDER_DRILL_POSTGRES_RESTART); the Redis drill starts a Redis server
of its own, kept on disk as in production (docker-compose.yml: appendonly)."""

import os
import subprocess
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.models import Count, F

from studyapp.models import DetectorRun, Participant, Response, Study
from studyapp.services.studies import study_set_status
from tests.celery_worker import Worker, finished, shown_variants, wait_until
from tests.drills import RedisServer, Server, Volunteers, queue_detector_run
from tests.factories import DatasetFactory, ImageFactory, StudyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

POSTGRES_RESTART = os.environ.get("BEHOLDER_DRILL_POSTGRES_RESTART", "")


@pytest.fixture
def study() -> Study:
    dataset = DatasetFactory(name="drill")
    for i in range(120):
        ImageFactory(dataset=dataset, label=("real", "fake")[i % 2])
    return StudyFactory(slug="drill", datasets=[dataset], trials_per_participant=100)


def assert_every_acknowledged_answer_stored_once(study: Study, volunteers: Volunteers) -> None:
    assert not volunteers.unclean, volunteers.unclean[:5]
    stored = Counter(
        str(trial)
        for trial in Response.objects.filter(trial__participant__study=study).values_list(
            "trial__uuid", flat=True
        )
    )
    assert set(stored) == set(volunteers.acknowledged)  # none lost, none unacknowledged
    assert max(stored.values()) == 1
    assert all(statuses.count(201) == 1 for statuses in volunteers.acknowledged.values())
    # each participant's position moved exactly with their stored answers: nothing half-written
    participants = Participant.objects.filter(study=study).annotate(
        answered=Count("trials__response")
    )
    assert not participants.exclude(answered=F("next_index")).exists()


@pytest.mark.restarts_postgres
@pytest.mark.skipif(
    not POSTGRES_RESTART or connection.vendor != "postgresql",
    reason="restarts the PostgreSQL server: needs BEHOLDER_DRILL_POSTGRES_RESTART (set by CI)",
)
def test_postgres_restart_under_load_loses_no_answer(study, tmp_path) -> None:
    try:
        with Server(tmp_path) as server, Volunteers(server.port, study.slug, 6) as volunteers:
            volunteers.wait_for_answers(40, timeout=60)
            subprocess.run(POSTGRES_RESTART, shell=True, check=True, timeout=120)
            volunteers.wait_for_answers(volunteers.answered() + 60, timeout=60)
    finally:
        connections.close_all()  # this process's connection died with the server

    assert volunteers.retried, "the restart should have cost some requests a retry"
    assert_every_acknowledged_answer_stored_once(study, volunteers)


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="Celery on Redis, as in CI and production (the embedded broker is a local folder)",
)
def test_redis_stop_keeps_trials_served_and_queued_work_resumes(scored_study, tmp_path) -> None:
    study_set_status(study=scored_study, status=Study.Status.LIVE)
    redis_server = RedisServer(tmp_path / "redis").start()
    broker = {"CELERY_BROKER_URL": redis_server.url}
    worker = Worker(tmp_path, **broker)
    try:
        with Server(tmp_path, **broker) as server:
            # Queued before the outage while no worker runs: training, then scoring the study.
            queue_detector_run(server.env, "queued-before", scored_study.slug)
            redis_server.stop()

            with Volunteers(server.port, scored_study.slug, 6, think_s=0) as volunteers:
                volunteers.wait_for_answers(6 * 12, timeout=60)  # 2 practice + 10 trials each
            assert not volunteers.retried  # the trial loop never needs the broker
            assert_every_acknowledged_answer_stored_once(scored_study, volunteers)

            # Work asked for during the outage fails at once, saying why, instead of hanging.
            queue_detector_run(server.env, "asked-during", scored_study.slug)
            during = DetectorRun.objects.get(name="asked-during")
            assert during.status == "failed" and "task queue is unreachable" in during.error

        redis_server.start()
        worker.start()
        run = wait_until(
            lambda: finished(DetectorRun.objects.get(name="queued-before")), 600, "training", worker
        )
        assert run.status == "succeeded", run.error
        expected = shown_variants(scored_study)
        wait_until(lambda: run.scores.count() == expected, 120, "scoring", worker)
    finally:
        worker.stop()
        redis_server.stop()
