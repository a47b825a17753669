"""The README's main command, non-interactively, on an empty folder with the embedded defaults
(SQLite, local files, filesystem broker): it sets up a study one volunteer can complete, and a
second run changes nothing."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def manage(var_dir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env |= {"BEHOLDER_VAR_DIR": str(var_dir), "BEHOLDER_HTTPS": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def counts(var_dir: Path) -> str:
    return manage(var_dir, "shell", "-v", "0", "-c", (
        "from studyapp.models import *; from django.contrib.auth.models import User; "
        "print([m.objects.count() for m in (Image, ImageVariant, Study, DetectorRun, User)])"
    ))  # fmt: skip


def test_the_demo_sets_up_a_study_a_volunteer_can_complete(tmp_path: Path) -> None:
    var_dir = tmp_path / "fresh"
    out = manage(var_dir, "demo", "--no-serve")

    assert "Sample image set: 576 imported, 0 already there, 0 rejected." in out
    assert "Volunteer page: http://127.0.0.1:8000/s/demo/" in out
    assert re.search(r"Admin: +http://127.0.0.1:8000/admin/ +\(user admin, password \S+\)", out)
    assert "API docs:       http://127.0.0.1:8000/api/docs/" in out
    assert "python -m analysis.compare --study demo" in out
    assert list((var_dir / "broker" / "queue").iterdir()), "the detector's training is not queued"

    volunteer = manage(var_dir, "simulate_volunteers", "demo", "--n", "1")
    assert "1 simulated volunteers answered 26 trials" in volunteer  # 4 practice, 20 main, 2 checks


def test_running_the_demo_twice_adds_nothing(tmp_path: Path) -> None:
    var_dir = tmp_path / "twice"
    first = manage(var_dir, "demo", "--no-serve")
    before = counts(var_dir)
    second = manage(var_dir, "demo", "--no-serve")

    assert counts(var_dir) == before == "[576, 1152, 1, 1, 1]\n"
    assert "Sample image set: 0 imported, 576 already there, 0 rejected." in second
    password = re.compile(r"password (\S+)\)")
    assert password.search(first).group(1) == password.search(second).group(1)
