"""Detector runs in the admin: start training, score a study, watch progress, cancel."""

import pytest

from studyapp.models import DetectorRun
from tests.factories import DatasetFactory, DetectorRunFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list:
    """Tasks sent, instead of a broker (the worker tests use a real one)."""
    sent = []

    def recorder(name: str):
        return lambda *args: sent.append((name, *args)) or _Result()

    monkeypatch.setattr("studyapp.tasks.train_detector.delay", recorder("train"))
    monkeypatch.setattr("studyapp.tasks.score_images.delay", recorder("score"))
    return sent


class _Result:
    id = "task-1"


def test_adding_a_run_in_admin_queues_its_training(
    admin_client, queued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/studyapp/detectorrun/add/",
            {"name": "laion-1", "recipe": "tiny_cpu.toml", "overrides": "{}",
             "training_filter": '{"datasets": ["faces"]}'},
        )  # fmt: skip
    assert response.status_code == 302
    run = DetectorRun.objects.get(name="laion-1")
    assert (run.status, run.training_filter, run.task_id) == (
        "queued",
        {"datasets": ["faces"]},
        "task-1",
    )
    assert queued == [("train", run.pk)]


def test_train_a_detector_on_datasets_from_their_action(
    admin_client, queued, django_capture_on_commit_callbacks
) -> None:
    dataset = DatasetFactory(name="faces")
    action = {"action": "train_on_datasets", "_selected_action": [dataset.pk]}
    form = admin_client.post("/admin/studyapp/dataset/", action)
    assert form.status_code == 200 and "tiny_cpu.toml" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/studyapp/dataset/",
            {**action, "apply": "1", "name": "run-a", "recipe": "tiny_cpu.toml"},
        )
    run = DetectorRun.objects.get(name="run-a")
    assert run.training_filter == {"datasets": ["faces"]} and queued == [("train", run.pk)]
    duplicate = admin_client.post(
        "/admin/studyapp/dataset/",
        {**action, "apply": "1", "name": "run-a", "recipe": "tiny_cpu.toml"},
    )
    assert "exists already" in duplicate.content.decode()


def test_score_a_study_with_a_finished_run(
    admin_client, queued, django_capture_on_commit_callbacks
) -> None:
    study = StudyFactory(slug="s")
    run = DetectorRunFactory(name="done", status="succeeded")
    DetectorRunFactory(name="still-training", status="running")
    action = {"action": "score_studies", "_selected_action": [study.pk]}
    form = admin_client.post("/admin/studyapp/study/", action).content.decode()
    assert "done" in form and "still-training" not in form
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/studyapp/study/", {**action, "apply": "1", "run": run.pk})
    assert queued == [("score", run.pk, study.pk)]


def test_run_pages_show_progress_metrics_and_the_loss_curve(admin_client) -> None:
    run = DetectorRunFactory(
        name="tiny",
        status="running",
        progress={"epoch": 3, "epochs": 15, "step": 4, "steps_per_epoch": 25, "loss": 0.4321,
                  "eta_s": 600, "history": [{"epoch": 1, "loss": 0.69, "val_accuracy": None},
                                            {"epoch": 2, "loss": 0.5, "val_accuracy": None}]},
        metrics={"size": 256, "threshold": 0.5, "rows": [
            {"group": "sd14", "n_real": 10, "n_fake": 10, "acc_real": 0.9, "acc_fake": 0.8,
             "acc": 0.85, "ap": 0.93, "auc": 0.91, "ece": 0.05},
            {"group": "all", "n_real": 10, "n_fake": 10, "acc_real": 0.9, "acc_fake": 0.8,
             "acc": 0.85, "ap": 0.93, "auc": 0.91, "ece": 0.05}]},
    )  # fmt: skip
    listing = admin_client.get("/admin/studyapp/detectorrun/").content.decode()
    assert "epoch 3/15, step 4/25, loss 0.432, about 10 min left" in listing
    assert "85.0%" in listing
    page = admin_client.get(f"/admin/studyapp/detectorrun/{run.pk}/change/").content.decode()
    assert "<tr><th>sd14</th><td>10</td><td>10</td><td>0.900</td><td>0.800</td>" in page
    assert 'src="data:image/png;base64,iVBOR' in page


def test_cancelling_a_run(admin_client) -> None:
    run = DetectorRunFactory(name="long", status="running")
    admin_client.post(
        "/admin/studyapp/detectorrun/", {"action": "cancel_runs", "_selected_action": [run.pk]}
    )
    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished_at is not None
