"""The demo set-up: everything a newcomer needs to see Beholder working, idempotent."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model

from studyapp.sample_set import build_sample_set
from studyapp.services.imports import ImportReport, images_import

DEMO_DATASET = "sample"
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
