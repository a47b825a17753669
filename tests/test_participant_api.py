"""The participant API (DESIGN §3): start, next, response, and its error cases."""

import uuid

import pytest

from studyapp.models import Participant, Response, Study
from tests.factories import DatasetFactory, ImageFactory, StudyFactory
from tests.volunteer import Volunteer

pytestmark = pytest.mark.django_db


@pytest.fixture
def study() -> Study:
    dataset = DatasetFactory(name="faces")
    for i in range(12):
        ImageFactory(dataset=dataset, label="real" if i % 2 else "fake")
    practice = [
        ImageFactory(dataset=dataset, label=label, split="train") for label in ("real", "fake")
    ]
    study = StudyFactory(
        slug="faces", datasets=[dataset], trials_per_participant=6, practice_trials=2, split="test"
    )
    study.practice_images.set(practice)
    return study


def test_a_volunteer_goes_from_consent_to_completion_code(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    started = volunteer.start()
    assert started["n_trials"] == 8

    first = volunteer.next()
    assert first["index"] == 0 and first["of"] == 8 and first["kind"] == "practice"
    assert first["mode"] == "single" and first["size"] == 512 and len(first["images"]) == 1
    response = volunteer.answer(first["trial"], volunteer.right_answer(first["trial"]))
    assert response.status_code == 201
    assert response.json()["feedback"] == {"correct": True}

    done = volunteer.run_to_end()
    assert done == {
        "done": True,
        "completion_code": study.completion_code,
        "redirect_url": None,
        "score": {"correct": 6, "of": 6},
    }
    participant = Participant.objects.get()
    assert (
        participant.finished_at is not None and participant.completion_code == study.completion_code
    )
    assert Response.objects.count() == 8


def test_main_trials_get_no_feedback(client, study: Study) -> None:
    study.practice_trials = 0
    study.save()
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    payload = volunteer.next()
    assert payload["kind"] == "main"
    assert volunteer.answer(payload["trial"], "real").json()["feedback"] is None


def test_the_same_answer_again_is_accepted_once(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    trial = volunteer.next()["trial"]
    assert volunteer.answer(trial, "fake").status_code == 201
    again = volunteer.answer(trial, "fake")
    assert again.status_code == 200
    assert Response.objects.count() == 1
    assert volunteer.next()["index"] == 1


def test_a_different_answer_to_an_answered_trial_is_a_conflict(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    trial = volunteer.next()["trial"]
    volunteer.answer(trial, "fake")
    conflict = volunteer.answer(trial, "real")
    assert conflict.status_code == 409
    assert Response.objects.get().choice == "fake"


def test_answering_ahead_of_the_current_trial_is_a_conflict(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    participant = Participant.objects.get()
    later = participant.trials.get(index=3)
    assert volunteer.answer(str(later.uuid), "fake").status_code == 409
    assert Response.objects.count() == 0


def test_another_participants_token_cannot_answer(client, study: Study) -> None:
    alice, mallory = Volunteer(client, "faces"), Volunteer(client, "faces")
    alice.start()
    mallory.start()
    alice_trial = alice.next()["trial"]
    response = mallory.answer(alice_trial, "fake")
    assert response.status_code == 404
    assert Response.objects.count() == 0
    unknown = Volunteer(client, "faces")
    unknown.token = str(uuid.uuid4())
    assert unknown.answer(alice_trial, "fake").status_code == 404
    assert client.get(f"/api/v1/participants/{uuid.uuid4()}/next").status_code == 404


def test_answers_after_the_study_closed_get_a_clear_error(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    trial = volunteer.next()["trial"]
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    response = volunteer.answer(trial, "fake")
    assert response.status_code == 409
    assert "closed" in response.json()["detail"]
    assert Response.objects.count() == 0
    assert (
        volunteer.post("/api/v1/studies/faces/participants", {"consent": True}).status_code == 409
    )


def test_consent_is_required(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    missing = volunteer.post("/api/v1/studies/faces/participants", {})
    assert missing.status_code == 400 and "consent" in missing.json()
    declined = volunteer.post("/api/v1/studies/faces/participants", {"consent": False})
    assert declined.status_code == 400
    assert Participant.objects.count() == 0


def test_invalid_answers_are_refused(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    trial = volunteer.next()["trial"]
    assert volunteer.answer(trial, "left").status_code == 400
    assert volunteer.answer(trial, "fake", confidence=3).status_code == 400  # no scale here
    assert volunteer.answer(trial, "fake", rt_ms=-5).status_code == 400
    assert Response.objects.count() == 0


def test_an_oversized_body_is_refused_before_it_is_read(client, study: Study) -> None:
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    trial = volunteer.next()["trial"]
    body = {"participant": volunteer.token, "choice": "fake", "note": "x" * 2_000_000}
    url = f"/api/v1/trials/{trial}/response"
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 413 and "1,048,576 bytes" in response.json()["detail"]
    assert not Response.objects.exists()
    assert volunteer.answer(trial, "fake").status_code == 201


def test_an_external_id_resumes_instead_of_starting_twice(client, study: Study) -> None:
    first = Volunteer(client, "faces")
    started = first.start(external_id="PROLIFIC-123", study_id="S1", session_id="X9")
    first.answer(first.next()["trial"], "fake")
    again = Volunteer(client, "faces")
    response = again.post(
        "/api/v1/studies/faces/participants", {"consent": True, "external_id": "PROLIFIC-123"}
    )
    assert response.status_code == 200
    assert response.json()["participant"] == started["participant"]
    assert Participant.objects.count() == 1
    participant = Participant.objects.get()
    assert "PROLIFIC-123" not in participant.external_id_hash
    assert participant.entry_params == {"study_id": "S1", "session_id": "X9"}
    again.token = response.json()["participant"]
    assert again.next()["index"] == 1


def test_failing_attention_checks_excludes_and_gives_the_other_code(client, study: Study) -> None:
    check = ImageFactory(dataset=study.datasets.get(), label="fake", attention_check=True)
    study.attention_checks = 1
    study.max_attention_failures = 0
    study.save()
    volunteer = Volunteer(client, "faces")
    volunteer.start()

    def wrong_on_checks(payload: dict) -> str:
        right = volunteer.right_answer(payload["trial"])
        if payload["kind"] == "attention":
            return "real" if right == "fake" else "fake"
        return right

    done = volunteer.run_to_end(wrong_on_checks)
    participant = Participant.objects.get()
    assert participant.excluded and participant.exclusion_reason == "failed 1 attention checks"
    assert participant.trials.get(kind="attention").image == check
    assert done["completion_code"] == study.excluded_completion_code != study.completion_code


def test_pair_mode_shows_a_real_and_a_generated_image_of_one_category(client, study: Study) -> None:
    study.mode = Study.Mode.PAIR
    study.trials_per_participant = 3
    study.practice_trials = 1  # a practice pair takes both practice images
    study.save()
    volunteer = Volunteer(client, "faces")
    volunteer.start()
    payload = volunteer.next()
    assert payload["mode"] == "pair" and len(payload["images"]) == 2
    done = volunteer.run_to_end()
    assert done["score"] == {"correct": 3, "of": 3}
    for trial in (
        Participant.objects.get().trials.filter(kind="main").select_related("image", "image_right")
    ):
        assert {trial.image.label, trial.image_right.label} == {"real", "fake"}
        assert trial.image.category == trial.image_right.category


def test_a_database_outage_is_a_clean_retryable_error(client, study: Study, monkeypatch) -> None:
    from django.db import OperationalError

    volunteer = Volunteer(client, "faces")
    volunteer.start()
    trial = volunteer.next()["trial"]

    def unavailable(**kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr("studyapp.api.participant.response_record", unavailable)
    response = volunteer.answer(trial, "fake")
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert "try again" in response.json()["detail"]
    monkeypatch.undo()
    assert volunteer.answer(trial, "fake").status_code == 201  # the retry goes through
