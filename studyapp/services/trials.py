"""The trial loop: the next trial a participant sees, and recording their answer.

Both run a constant number of queries whatever the size of the study: the participant's
`next_index` points at the next unanswered trial, and answers advance it with one conditional
UPDATE, so a repeated or concurrent request can never advance it twice.

This is the hottest path of the product (every volunteer, every few seconds), so its statements
are written as SQL that PostgreSQL and SQLite both run: building the same joins through the ORM
costs several times the CPU of running them (bench/trial_load.py).
"""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from studyapp.errors import (
    InvalidResponse,
    ParticipantNotFound,
    ResponseConflict,
    StudyNotOpen,
    TrialNotFound,
)
from studyapp.models import ImageVariant, Participant, Response, Study, Trial

SINGLE_CHOICES = ("real", "fake")
PAIR_CHOICES = ("left", "right")

# The participant, their study and their current trial with its display files, by token.
_CURRENT_TRIAL_SQL = """
SELECT p.id AS participant_id, p.next_index, p.n_trials, p.simulated,
       s.status, s.mode, s.exposure_ms, s.confidence_scale,
       t.id AS trial_id, t.uuid, t.kind, t.size, t.expected_choice, t.presented_at,
       v.file, vr.file AS file_right
FROM studyapp_participant p
JOIN studyapp_study s ON s.id = p.study_id
LEFT JOIN studyapp_trial t ON t.participant_id = p.id AND t."index" = p.next_index
LEFT JOIN studyapp_imagevariant v ON v.id = t.variant_id
LEFT JOIN studyapp_imagevariant vr ON vr.id = t.variant_right_id
WHERE p.token = %s
"""
_PRESENTED_SQL = (
    "UPDATE studyapp_trial SET presented_at = %s WHERE id = %s AND presented_at IS NULL"
)
# PostgreSQL: both in one statement, one round trip. The UPDATE sees the same snapshot as the
# SELECT, and marks only a first presentation in an open study (as _check_open decides).
_CURRENT_AND_PRESENTED_SQL = f"""
WITH current AS ({_CURRENT_TRIAL_SQL}),
presented AS (
    UPDATE studyapp_trial SET presented_at = %s FROM current
    WHERE studyapp_trial.id = current.trial_id AND studyapp_trial.presented_at IS NULL
      AND (current.status = '{Study.Status.LIVE}'
           OR (current.simulated AND current.status = '{Study.Status.DRAFT}'))
)
SELECT * FROM current
"""

# A trial by uuid, only if it belongs to the participant holding the token; with what scoring
# the answer and advancing the participant need.
_ANSWERED_TRIAL_SQL = """
SELECT t.id AS trial_id, t."index", t.kind, t.expected_choice,
       i.label, ir.label AS label_right,
       p.id AS participant_id, p.next_index, p.n_trials, p.attention_failures, p.excluded,
       p.simulated,
       s.status, s.mode, s.confidence_scale, s.max_attention_failures, s.completion_code,
       s.excluded_completion_code
FROM studyapp_trial t
JOIN studyapp_participant p ON p.id = t.participant_id
JOIN studyapp_study s ON s.id = p.study_id
JOIN studyapp_image i ON i.id = t.image_id
LEFT JOIN studyapp_image ir ON ir.id = t.image_right_id
WHERE t.uuid = %s AND p.token = %s
"""
_INSERT_RESPONSE_SQL = """
INSERT INTO studyapp_response (trial_id, choice, correct, confidence, rt_ms, rendered_width,
                               rendered_height, device_pixel_ratio, created)
"""
_STORED_RESPONSE_SQL = (
    "SELECT choice, confidence, correct FROM studyapp_response WHERE trial_id = %s"
)


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
    created: bool  # False: the same answer was already stored, and nothing changed
    feedback: dict | None  # practice trials only: whether the answer was right, nothing more


class _AlreadyAnswered(Exception):
    """Another request advanced the participant past this trial first."""


def trial_next_for(*, token: uuid.UUID) -> dict:
    """The payload of the participant's next trial, or of the end of the study."""
    marked_in_sql = connection.vendor == "postgresql"
    if marked_in_sql:
        row = _fetch_one(_CURRENT_AND_PRESENTED_SQL, [_uuid_param(token), _now()])
    else:
        row = _fetch_one(_CURRENT_TRIAL_SQL, [_uuid_param(token)])
    if row is None:
        raise ParticipantNotFound("No such participant.")
    if row["next_index"] >= row["n_trials"]:
        return _done_payload(row["participant_id"])
    _check_open(row)
    if row["presented_at"] is None and not marked_in_sql:
        with connection.cursor() as cursor:
            cursor.execute(_PRESENTED_SQL, [_now(), row["trial_id"]])
    storage = ImageVariant._meta.get_field("file").storage
    images = [{"url": storage.url(row["file"])}]
    if row["file_right"] is not None:
        images.append({"url": storage.url(row["file_right"])})
    payload = {
        "trial": str(Trial._meta.get_field("uuid").to_python(row["uuid"])),
        "index": row["next_index"],
        "of": row["n_trials"],
        "kind": row["kind"],
        "mode": row["mode"],
        "images": images,
        "exposure_ms": row["exposure_ms"],
        "size": row["size"],
        "confidence_scale": row["confidence_scale"],
    }
    if row["expected_choice"]:
        payload["instruction"] = _instruction(row["expected_choice"])
    return payload


def response_record(*, trial_uuid: uuid.UUID, token: uuid.UUID, answer: Answer) -> Recorded:
    """Stores the participant's answer to their current trial; the same answer again is a no-op,
    a different one a conflict. A trial of another participant is not found."""
    row = _fetch_one(_ANSWERED_TRIAL_SQL, [_uuid_param(trial_uuid), _uuid_param(token)])
    if row is None:
        raise TrialNotFound("No such trial for this participant.")
    _check_open(row)
    _validate(answer, row)
    if row["index"] < row["next_index"]:
        return _repeat(row, answer)
    if row["index"] > row["next_index"]:
        raise ResponseConflict("Answer the current trial first.")

    correct = _is_correct(row, answer.choice)
    response = [
        row["trial_id"],
        answer.choice,
        correct,
        answer.confidence,
        answer.rt_ms,
        answer.rendered_width,
        answer.rendered_height,
        answer.device_pixel_ratio,
        _now(),
    ]
    try:
        stored = _store_answer(row, _participant_changes(row, correct), response)
    except IntegrityError:
        stored = False
    if not stored:
        return _repeat(row, answer)  # the same request arrived twice at once
    return Recorded(True, _feedback(row, correct))


def _fetch_one(sql: str, params: list) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchone()
        if values is None:
            return None
        return dict(zip((column[0] for column in cursor.description), values, strict=True))


def _uuid_param(value: uuid.UUID | str):
    """A UUID as this database stores it (native on PostgreSQL, hex text on SQLite)."""
    return Trial._meta.get_field("uuid").get_db_prep_value(value, connection)


def _now():
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _check_open(row: dict) -> None:
    status = row["status"]
    if status == Study.Status.LIVE or (row["simulated"] and status == Study.Status.DRAFT):
        return
    raise StudyNotOpen("This study is closed and takes no more answers. Thank you for your time.")


def _validate(answer: Answer, row: dict) -> None:
    choices = PAIR_CHOICES if row["mode"] == Study.Mode.PAIR else SINGLE_CHOICES
    if answer.choice not in choices:
        raise InvalidResponse(f"choice must be one of {', '.join(choices)}")
    scale = row["confidence_scale"]
    if answer.confidence is not None and not (scale and 1 <= answer.confidence <= scale):
        raise InvalidResponse(
            f"confidence must be between 1 and {scale}"
            if scale
            else "this study takes no confidence"
        )


def _is_correct(row: dict, choice: str) -> bool:
    if row["expected_choice"]:
        return choice == row["expected_choice"]
    if row["label_right"] is not None:
        return choice == ("left" if row["label"] == "fake" else "right")
    return choice == row["label"]


def _participant_changes(row: dict, correct: bool) -> dict:
    """Columns of the participant that the answer changes besides `next_index`: exclusion and
    completion are flagged as they happen."""
    changes: dict = {}
    excluded = bool(row["excluded"])
    if row["kind"] == Trial.Kind.ATTENTION and not correct:
        failures = row["attention_failures"] + 1
        changes["attention_failures"] = failures
        if failures > row["max_attention_failures"] and not excluded:
            excluded = changes["excluded"] = True
            changes["exclusion_reason"] = f"failed {failures} attention checks"
    if row["index"] + 1 == row["n_trials"]:
        changes["finished_at"] = _now()
        changes["completion_code"] = (
            row["excluded_completion_code"] if excluded else row["completion_code"]
        )
    return changes


def _store_answer(row: dict, changes: dict, response: list) -> bool:
    """Moves the participant past the trial and stores the response: both or neither. False
    when a concurrent request moved the participant first."""
    # Column names come from _participant_changes, never from the request.
    assignments = "".join(f", {column} = %s" for column in changes)
    advance = (
        f"UPDATE studyapp_participant SET next_index = next_index + 1{assignments} "
        "WHERE id = %s AND next_index = %s"
    )
    params = [*changes.values(), row["participant_id"], row["index"]]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement is atomic by itself: one round trip instead of BEGIN, UPDATE,
            # INSERT and COMMIT. No row comes out of `advanced` when the guard fails.
            cursor.execute(
                f"WITH advanced AS ({advance} RETURNING id) {_INSERT_RESPONSE_SQL} "
                "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s FROM advanced",
                [*params, *response],
            )
            return cursor.rowcount == 1
        with transaction.atomic():
            cursor.execute(advance, params)
            if cursor.rowcount != 1:
                return False
            cursor.execute(
                f"{_INSERT_RESPONSE_SQL} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", response
            )
    return True


def _repeat(row: dict, answer: Answer) -> Recorded:
    stored = _fetch_one(_STORED_RESPONSE_SQL, [row["trial_id"]])
    if stored is None:
        raise ResponseConflict("Answer the current trial first.")
    if (stored["choice"], stored["confidence"]) != (answer.choice, answer.confidence):
        raise ResponseConflict("This trial was already answered differently.")
    return Recorded(False, _feedback(row, bool(stored["correct"])))


def _feedback(row: dict, correct: bool) -> dict | None:
    return {"correct": correct} if row["kind"] == Trial.Kind.PRACTICE else None


def _done_payload(participant_id: int) -> dict:
    participant = Participant.objects.select_related("study").get(pk=participant_id)
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
