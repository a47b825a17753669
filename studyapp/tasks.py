"""Celery tasks: thin wrappers over the detection services. Both go to the `gpu` queue.

Late acknowledgement with reject-on-worker-lost re-queues a task whose worker dies; transient
database or broker trouble retries with backoff; the services are idempotent either way.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from studyapp.services.detection import detector_run_score, detector_run_train

_RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError, ConnectionError, TimeoutError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


@shared_task(**_RELIABLE)
def train_detector(run_id: int) -> None:
    detector_run_train(run_id=run_id)


@shared_task(**_RELIABLE)
def score_images(run_id: int, study_id: int) -> None:
    detector_run_score(run_id=run_id, study_id=study_id)
