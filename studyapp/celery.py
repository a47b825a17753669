"""The Celery app. Training and scoring go to the `gpu` queue (GPU workers in production), the
rest to `default`. Tasks acknowledge late and are re-queued when their worker dies, so a run
survives a lost worker; tasks are idempotent, so a re-delivered one is harmless."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studyapp.settings")

app = Celery("beholder")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
