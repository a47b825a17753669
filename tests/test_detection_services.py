"""Detector runs on the platform's images, in-process: leakage, failure, idempotent scoring.
(The same services through a real Celery worker are in test_detection_worker.py.)"""

import pytest
from django.core.management import call_command

from studyapp.models import DetectorRun, Image, Study
from studyapp.selectors.pool import study_pool
from studyapp.services.detection import (
    detector_run_score,
    detector_run_train,
    training_images,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(sample_set) -> None:
    call_command("import_images", str(sample_set.manifest_path), "--dataset", "sample")


def test_images_in_a_live_study_pool_never_reach_a_training_manifest(sample) -> None:
    everything = {"datasets": ["sample"], "splits": ["train", "val", "test", ""]}
    before = set(training_images(everything).values_list("pk", flat=True))
    call_command("create_study", "live", "--dataset", "sample", "--trials", "10", "--live")
    pool = set(study_pool(Study.objects.get(slug="live")).values_list("pk", flat=True))
    after = set(training_images(everything).values_list("pk", flat=True))
    assert pool and pool <= before
    assert after == before - pool
    Study.objects.filter(slug="live").update(status=Study.Status.CLOSED)
    assert set(training_images(everything).values_list("pk", flat=True)) == before


def test_a_bad_recipe_or_missing_weights_fail_the_run_with_a_readable_message(sample) -> None:
    unknown = DetectorRun.objects.create(
        name="bad", recipe="tiny_cpu.toml", overrides={"model.depth": 3}
    )
    detector_run_train(run_id=unknown.pk)
    unknown.refresh_from_db()
    assert unknown.status == "failed" and "model.depth" in unknown.error

    weights = DetectorRun.objects.create(
        name="weights",
        recipe="tiny_cpu.toml",
        overrides={"model.pretrained": "/no/such/weights.pth"},
    )
    detector_run_train(run_id=weights.pk)
    weights.refresh_from_db()
    assert weights.status == "failed" and "/no/such/weights.pth" in weights.error


def test_training_then_scoring_a_study_twice_changes_nothing(sample) -> None:
    call_command(
        "create_study", "scored", "--dataset", "sample", "--trials", "10", "--sizes", "128,256",
        "--practice", "2", "--attention", "0",
    )  # fmt: skip
    study = Study.objects.get(slug="scored")
    run = DetectorRun.objects.create(
        name="tiny",
        recipe="tiny_cpu.toml",
        training_filter={"datasets": ["sample"]},
    )

    detector_run_train(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    overall = next(row for row in run.metrics["rows"] if row["group"] == "all")
    assert overall["acc"] >= 0.9, run.metrics
    assert len(run.progress["history"]) == run.progress["epochs"]

    n = detector_run_score(run_id=run.pk, study_id=study.pk)
    shown = Image.objects.filter(pk__in=study_pool(study).values("pk")).count() + 4  # + practice
    assert n == 2 * shown == run.scores.count()
    first = sorted(run.scores.values_list("image_id", "size", "p_fake"))
    detector_run_score(run_id=run.pk, study_id=study.pk)
    assert sorted(run.scores.values_list("image_id", "size", "p_fake")) == first
