"""The trial loop: the next trial a participant sees, and recording their answer.

Both run a constant number of queries whatever the size of the study: the participant's
`next_index` points at the next unanswered trial, and answers advance it with one conditional
UPDATE, so a repeated or concurrent request can never advance it twice.
"""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from studyapp.errors import (
    InvalidResponse,
    ParticipantNotFound,
    ResponseConflict,
    StudyNotOpen,
    TrialNotFound,
)
from studyapp.models import Participant, Response, Study, Trial

# The columns the loop reads: fewer columns make each query cheaper to build and to load.
_PARTICIPANT_COLUMNS = (
    "next_index", "n_trials", "attention_failures", "excluded", "simulated", "completion_code",
    "study__status", "study__mode", "study__exposure_ms", "study__confidence_scale",
    "study__trials_per_participant", "study__completion_url", "study__completion_code",
    "study__excluded_completion_code", "study__max_attention_failures",
)  # fmt: skip
SINGLE_CHOICES = ("real", "fake")
PAIR_CHOICES = ("left", "right")


@dataclass(frozen=True)
class Answer:
    choice: str
    confidence: int | None = None
    rt_ms: int | None = None
    rendered_width: int | None = None
    rendered_height: int | None = None
    device_pixel_ratio: float | None = None


@dataclass(frozen=True)
class Recorded:
    response: Response
    created: bool
    feedback: dict | None  # practice trials only: whether the answer was right, nothing more


def trial_next_for(*, token: uuid.UUID) -> dict:
    """The payload of the participant's next trial, or of the end of the study."""
    participant = _participant(token)
    study = participant.study
    if participant.next_index >= participant.n_trials:
        return _done_payload(participant)
    _check_open(participant)
    trial = (
        Trial.objects.select_related("variant", "variant_right")
        .only("uuid", "index", "kind", "size", "expected_choice", "presented_at",
              "variant__file", "variant_right__file")
        .get(participant=participant, index=participant.next_index)
    )  # fmt: skip
    if trial.presented_at is None:
        Trial.objects.filter(pk=trial.pk, presented_at__isnull=True).update(
            presented_at=timezone.now()
        )
    images = [{"url": trial.variant.file.url}]
    if trial.variant_right is not None:
        images.append({"url": trial.variant_right.file.url})
    payload = {
        "trial": str(trial.uuid),
        "index": trial.index,
        "of": participant.n_trials,
        "kind": trial.kind,
        "mode": study.mode,
        "images": images,
        "exposure_ms": study.exposure_ms,
        "size": trial.size,
        "confidence_scale": study.confidence_scale,
    }
    if trial.expected_choice:
        payload["instruction"] = _instruction(trial.expected_choice)
    return payload


def response_record(*, trial_uuid: uuid.UUID, token: uuid.UUID, answer: Answer) -> Recorded:
    """Stores the participant's answer to their current trial; the same answer again is a no-op,
    a different one a conflict. A trial of another participant is not found."""
    try:
        trial = (
            Trial.objects.select_related("participant__study", "image", "image_right")
            .only(
                "index", "kind", "expected_choice", "image__label", "image_right__label",
                *(f"participant__{column}" for column in _PARTICIPANT_COLUMNS),
            )
            .get(uuid=trial_uuid, participant__token=token)
        )  # fmt: skip
    except Trial.DoesNotExist:
        raise TrialNotFound("No such trial for this participant.") from None
    participant = trial.participant
    _check_open(participant)
    _validate(answer, participant.study)
    if trial.index < participant.next_index:
        return _repeat(trial, answer)
    if trial.index > participant.next_index:
        raise ResponseConflict("Answer the current trial first.")

    correct = _is_correct(trial, answer.choice)
    try:
        with transaction.atomic():
            response = Response.objects.create(
                trial=trial,
                choice=answer.choice,
                correct=correct,
                confidence=answer.confidence,
                rt_ms=answer.rt_ms,
                rendered_width=answer.rendered_width,
                rendered_height=answer.rendered_height,
                device_pixel_ratio=answer.device_pixel_ratio,
            )
            _advance(participant, trial, correct)
    except IntegrityError:
        return _repeat(trial, answer)  # the same request arrived twice at once
    feedback = {"correct": correct} if trial.kind == Trial.Kind.PRACTICE else None
    return Recorded(response, True, feedback)


def _participant(token: uuid.UUID) -> Participant:
    try:
        return (
            Participant.objects.select_related("study").only(*_PARTICIPANT_COLUMNS).get(token=token)
        )
    except Participant.DoesNotExist:
        raise ParticipantNotFound("No such participant.") from None


def _check_open(participant: Participant) -> None:
    status = participant.study.status
    if status == Study.Status.LIVE or (participant.simulated and status == Study.Status.DRAFT):
        return
    raise StudyNotOpen("This study is closed and takes no more answers. Thank you for your time.")


def _validate(answer: Answer, study: Study) -> None:
    choices = PAIR_CHOICES if study.mode == Study.Mode.PAIR else SINGLE_CHOICES
    if answer.choice not in choices:
        raise InvalidResponse(f"choice must be one of {', '.join(choices)}")
    scale = study.confidence_scale
    if answer.confidence is not None and not (scale and 1 <= answer.confidence <= scale):
        raise InvalidResponse(
            f"confidence must be between 1 and {scale}"
            if scale
            else "this study takes no confidence"
        )


def _is_correct(trial: Trial, choice: str) -> bool:
    if trial.expected_choice:
        return choice == trial.expected_choice
    if trial.image_right is not None:
        return choice == ("left" if trial.image.label == "fake" else "right")
    return choice == trial.image.label


def _advance(participant: Participant, trial: Trial, correct: bool) -> None:
    """Moves the participant past `trial`; flags exclusion and completion as they happen."""
    changes: dict = {"next_index": F("next_index") + 1}
    failures = participant.attention_failures
    if trial.kind == Trial.Kind.ATTENTION and not correct:
        failures += 1
        changes["attention_failures"] = failures
        if failures > participant.study.max_attention_failures and not participant.excluded:
            changes["excluded"] = participant.excluded = True
            changes["exclusion_reason"] = f"failed {failures} attention checks"
    if trial.index + 1 == participant.n_trials:
        study = participant.study
        changes["finished_at"] = timezone.now()
        changes["completion_code"] = (
            study.excluded_completion_code if participant.excluded else study.completion_code
        )
    updated = Participant.objects.filter(pk=participant.pk, next_index=trial.index).update(
        **changes
    )
    if updated != 1:
        raise IntegrityError("trial already answered")  # lost a race with the same answer


def _repeat(trial: Trial, answer: Answer) -> Recorded:
    response = Response.objects.filter(trial=trial).first()
    if response is None:
        raise ResponseConflict("Answer the current trial first.")
    if (response.choice, response.confidence) != (answer.choice, answer.confidence):
        raise ResponseConflict("This trial was already answered differently.")
    feedback = {"correct": response.correct} if trial.kind == Trial.Kind.PRACTICE else None
    return Recorded(response, False, feedback)


def _done_payload(participant: Participant) -> dict:
    study = participant.study
    correct = Response.objects.filter(
        trial__participant=participant, trial__kind=Trial.Kind.MAIN, correct=True
    ).count()
    return {
        "done": True,
        "completion_code": participant.completion_code,
        "redirect_url": study.completion_url or None,
        "score": {"correct": correct, "of": study.trials_per_participant},
    }


def _instruction(expected: str) -> str:
    words = {
        "real": "Real photo",
        "fake": "AI-generated",
        "left": "the left image",
        "right": "the right image",
    }
    return f"Attention check: whatever you see, please answer “{words[expected]}” for this one."
