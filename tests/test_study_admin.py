"""Studies in admin and by command: create, preview, open/close, live progress."""

import pytest
from django.core.management import CommandError, call_command

from studyapp.models import Study
from tests.factories import DatasetFactory, ImageFactory
from tests.volunteer import Volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(settings):
    settings.BEHOLDER_VARIANT_SIZES = [512]  # what the factories render
    dataset = DatasetFactory(name="faces")
    for i in range(10):
        ImageFactory(dataset=dataset, label=("real", "fake")[i % 2], split="test")
    for i in range(4):
        ImageFactory(dataset=dataset, label=("real", "fake")[i % 2], split="train")
    return dataset


def test_create_study_builds_a_pool_of_the_test_split_with_practice_from_train(
    dataset, capsys
) -> None:
    call_command(
        "create_study", "faces-1", "--dataset", "faces", "--trials", "6", "--sizes", "512",
        "--practice", "2", "--attention", "1", "--confidence-scale", "4", "--exposure-ms", "800",
        "--mode", "single", "--live",
    )  # fmt: skip
    assert "http://127.0.0.1:8000/s/faces-1/" in capsys.readouterr().out
    study = Study.objects.get(slug="faces-1")
    assert (study.status, study.split, study.display_sizes) == ("live", "test", [512])
    assert (study.trials_per_participant, study.practice_trials, study.attention_checks) == (
        6,
        2,
        1,
    )
    assert (study.confidence_scale, study.exposure_ms, study.mode) == (4, 800, "single")
    practice = list(study.practice_images.values_list("split", "label"))
    assert sorted(practice) == [
        ("train", "fake"),
        ("train", "fake"),
        ("train", "real"),
        ("train", "real"),
    ]


def test_create_study_refuses_what_cannot_work(dataset) -> None:
    with pytest.raises(CommandError, match="no dataset named"):
        call_command("create_study", "x", "--dataset", "nope")
    with pytest.raises(CommandError, match="have no variants"):
        call_command("create_study", "x", "--dataset", "faces", "--sizes", "999")
    with pytest.raises(CommandError, match="each participant needs 10 real"):
        call_command("create_study", "x", "--dataset", "faces", "--trials", "20")
    assert not Study.objects.exists()


def test_admin_opens_closes_and_shows_progress(admin_client, client, dataset) -> None:
    call_command(
        "create_study", "faces-2", "--dataset", "faces", "--trials", "4", "--practice", "0",
        "--attention", "0",
    )  # fmt: skip
    study = Study.objects.get(slug="faces-2")
    assert client.get("/s/faces-2/").status_code == 409  # a draft is not open

    admin_client.post(
        "/admin/studyapp/study/", {"action": "open_studies", "_selected_action": [study.pk]}
    )
    study.refresh_from_db()
    assert study.status == "live"
    Volunteer(client, "faces-2").start()
    volunteer = Volunteer(client, "faces-2")
    volunteer.start()
    volunteer.run_to_end()

    page = admin_client.get(f"/admin/studyapp/study/{study.pk}/change/").content.decode()
    assert "2 started · 1 finished · 0 excluded · 4 responses · 10 images in the pool" in page
    assert "<tr><td>0</td><td>6</td></tr><tr><td>1</td><td>4</td></tr>" in page
    assert 'href="/s/faces-2/?preview=1"' in page

    admin_client.post(
        "/admin/studyapp/study/", {"action": "close_studies", "_selected_action": [study.pk]}
    )
    study.refresh_from_db()
    assert study.status == "closed"


def test_staff_preview_a_draft_and_their_answers_are_marked_simulated(
    admin_client, dataset
) -> None:
    call_command(
        "create_study", "faces-3", "--dataset", "faces", "--trials", "4", "--practice", "0"
    )
    assert admin_client.get("/s/faces-3/?preview=1").status_code == 200
    response = admin_client.post(
        "/api/v1/studies/faces-3/participants?preview=1",
        {"consent": True},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Study.objects.get(slug="faces-3").participants.get().simulated
