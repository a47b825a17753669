"""The demo set-up: everything a newcomer needs to see Beholder working. Every step is
idempotent, so running the demo again changes nothing that is already there."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model

from studyapp.models import Dataset, DetectorRun, Study
from studyapp.sample_set import build_sample_set
from studyapp.services.detection import (
    detector_run_create,
    detector_run_enqueue,
    study_score_enqueue,
)
from studyapp.services.imports import ImportReport, images_import
from studyapp.services.studies import study_create

DEMO_DATASET = "sample"
DEMO_STUDY = "demo"
DEMO_RUN = "demo-tiny"
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class AdminCredentials:
    username: str
    password: str


def demo_sample_set_import(*, var_dir: Path) -> ImportReport:
    """Builds the sample set once under `var_dir` and imports it (a no-op when already in)."""
    folder = var_dir / "sample-set"
    manifest = folder / "manifest.jsonl"
    if not manifest.exists():
        build_sample_set(folder)
    return images_import(source=manifest, dataset_name=DEMO_DATASET)


def demo_admin_ensure(*, var_dir: Path) -> AdminCredentials:
    """Creates the demo superuser once; its password is kept in `var_dir` to print again."""
    password_file = var_dir / "admin-password"
    user_model = get_user_model()
    user = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if user is None or not password_file.exists():
        password = secrets.token_urlsafe(12)
        if user is None:
            user_model.objects.create_superuser(ADMIN_USERNAME, password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        password_file.write_text(password)
        password_file.chmod(0o600)
    return AdminCredentials(ADMIN_USERNAME, password_file.read_text().strip())


def demo_study_ensure() -> Study:
    """The live demo study over the sample set's test split."""
    existing = Study.objects.filter(slug=DEMO_STUDY).first()
    if existing is not None:
        return existing
    return study_create(
        slug=DEMO_STUDY,
        dataset=Dataset.objects.get(name=DEMO_DATASET),
        title="Real photo or AI-generated? (demo)",
        trials_per_participant=20,
        practice_trials=4,
        attention_checks=2,
        confidence_scale=4,
        live=True,
    )


def demo_detector_ensure(*, study: Study) -> DetectorRun:
    """The tiny detector, trained on the sample set's train split, then scoring the study. A run
    left unfinished by an earlier demo is queued again (it resumes from its checkpoint)."""
    run = DetectorRun.objects.filter(name=DEMO_RUN).first()
    if run is None:
        return detector_run_create(
            name=DEMO_RUN,
            recipe="tiny_cpu.toml",
            training_filter={"datasets": [DEMO_DATASET]},
            then_score=study,
        )
    if run.status in (DetectorRun.Status.QUEUED, DetectorRun.Status.RUNNING):
        detector_run_enqueue(run=run, then_score=study)
    elif run.status == DetectorRun.Status.SUCCEEDED and not run.scores.exists():
        study_score_enqueue(run=run, study=study)
    return run
