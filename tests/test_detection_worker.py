"""Training and scoring through a real Celery worker process: end to end, a worker killed
mid-training and mid-scoring, failing runs, idempotent scoring."""

import time

import pytest
from django.conf import settings

from studyapp.models import DetectorRun, Score
from studyapp.services.detection import detector_run_create, study_score_enqueue
from tests.celery_worker import Worker, clear_broker, finished, shown_variants, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TINY = {"datasets": ["sample"]}


@pytest.fixture
def workers(tmp_path):
    clear_broker()
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        started.append(Worker(tmp_path, **env).start())
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


def test_train_then_score_a_study_through_a_worker(scored_study, workers) -> None:
    worker = workers()
    broken = detector_run_create(
        name="broken", recipe="tiny_cpu.toml", overrides={"train.epochz": 3}
    )
    run = detector_run_create(name="tiny", recipe="tiny_cpu.toml", training_filter=TINY)

    broken = wait_until(lambda: finished(broken), 60, "the broken run ending", worker)
    assert broken.status == "failed" and "epochz" in broken.error
    run = wait_until(lambda: finished(run), 600, "training", worker)  # the same worker goes on
    assert run.status == "succeeded", run.error
    overall = next(row for row in run.metrics["rows"] if row["group"] == "all")
    assert overall["acc"] >= 0.9 and overall["acc_real"] >= 0.85 and overall["acc_fake"] >= 0.85
    assert run.checkpoint.name == f"checkpoints/{run.pk}-tiny/model.pt"

    study_score_enqueue(run=run, study=scored_study)
    expected = shown_variants(scored_study)
    wait_until(lambda: run.scores.count() == expected, 120, "scoring", worker)
    sizes = dict.fromkeys(scored_study.display_sizes, 0)
    for size in run.scores.values_list("size", flat=True):
        sizes[size] += 1
    assert sizes == dict.fromkeys(scored_study.display_sizes, expected // 2)
    first = sorted(run.scores.values_list("image_id", "size", "p_fake"))

    study_score_enqueue(run=run, study=scored_study)  # again: nothing changes
    wait_until(
        lambda: worker.log().count("variants of study scored") == 2, 120, "rescoring", worker
    )
    assert sorted(run.scores.values_list("image_id", "size", "p_fake")) == first
    assert Score.objects.count() == expected


@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="a killed worker's task comes back only from a broker that tracks unacknowledged "
    "tasks (Redis, as in CI and production); the embedded filesystem broker does not",
)
def test_a_run_survives_its_worker_being_killed(scored_study, workers) -> None:
    visibility = {"CELERY_VISIBILITY_TIMEOUT": "4"}
    first = workers(**visibility)
    run = detector_run_create(name="tiny", recipe="tiny_cpu.toml", training_filter=TINY)
    wait_until(
        lambda: DetectorRun.objects.get(pk=run.pk).progress.get("history"), 300, "an epoch", first
    )
    first.kill()
    run.refresh_from_db()
    assert run.status == "running"
    epochs_before = len(run.progress["history"])

    time.sleep(5)  # past the visibility timeout: the next worker takes the task back
    second = workers(**visibility)
    run = wait_until(lambda: finished(run), 600, "the resumed training", second)
    assert run.status == "succeeded", run.error
    assert f"resuming after epoch {epochs_before}" in second.log()
    assert run.progress["resumed_after_epoch"] == epochs_before
    assert [h["epoch"] for h in run.progress["history"]] == list(
        range(1, run.progress["epochs"] + 1)
    )

    # Killed again mid-scoring, between two committed batches: the next worker scores again,
    # and the upsert leaves exactly one score per variant.
    study_score_enqueue(run=run, study=scored_study)
    expected = shown_variants(scored_study)
    wait_until(lambda: 0 < run.scores.count() < expected, 120, "a batch of scores", second, 0.02)
    second.kill()
    assert run.scores.count() < expected
    time.sleep(5)
    third = workers(**visibility)
    wait_until(lambda: run.scores.count() == expected, 120, "the rescoring", third)
    assert run.scores.values("image", "size").distinct().count() == expected
