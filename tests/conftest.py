"""Shared fixtures. Every test gets its own media folder, so stored files can be counted."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings


@pytest.hookimpl(trylast=True)  # after pytest-django's own ordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # After a database restart, connections held by session-wide servers (the live server's
    # thread) are dead: the drill that restarts it goes after every other test.
    items.sort(key=lambda item: item.get_closest_marker("restarts_postgres") is not None)


@pytest.fixture(autouse=True, scope="session")
def _plain_http() -> None:
    """Test clients and the live server speak plain HTTP, and pages render without a
    collectstatic manifest. Session-wide, so the live server is built with it."""
    override = override_settings(
        SECURE_SSL_REDIRECT=False,
        STORAGES={
            **django_settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.BEHOLDER_WORK_DIR = tmp_path / "work"
    settings.BEHOLDER_VARIANT_SIZES = [128, 256]
    return settings.MEDIA_ROOT


@pytest.fixture
def media_root(_media_root: Path) -> Path:
    return _media_root


@pytest.fixture(scope="session")
def sample_set(tmp_path_factory: pytest.TempPathFactory):
    """The sample image set, built once per test run (seed 0)."""
    from studyapp.sample_set import build_sample_set

    return build_sample_set(tmp_path_factory.mktemp("sample-set") / "set", seed=0)


@pytest.fixture
def scored_study(sample_set):
    """The sample set imported and a live study on its test split, shown at 128 and 256 px: what
    a detector is trained beside and scored on."""
    from django.core.management import call_command

    from studyapp.models import Study

    call_command("import_images", str(sample_set.manifest_path), "--dataset", "sample")
    call_command(
        "create_study", "scored", "--dataset", "sample", "--trials", "10", "--sizes", "128,256",
        "--practice", "2", "--attention", "0",
    )  # fmt: skip
    return Study.objects.get(slug="scored")
