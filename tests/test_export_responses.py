"""The responses export: one row per answered trial, pseudonymous participants, exclusion flags,
and the same rows in JSON, JSONL and CSV."""

import io
import json
import math

import pandas as pd
import pytest

from studyapp.models import Response, Trial
from studyapp.selectors.exports import RESPONSE_FIELDS, RESPONSES_CSV_DTYPES, responses_rows
from tests.export_fixtures import pair_mode_study, single_mode_study, token_client, user

pytestmark = pytest.mark.django_db


def test_one_row_per_answered_trial_participant_by_participant() -> None:
    scenario = single_mode_study()
    p = scenario.participants

    rows = list(responses_rows(scenario.study))

    answered = Response.objects.filter(trial__participant__simulated=False)
    assert len(rows) == answered.count() == 12  # p2's unanswered trial has no row
    assert all(tuple(row) == RESPONSE_FIELDS for row in rows)
    expected_order = [
        str(uuid)
        for uuid in answered.order_by("trial__participant_id", "trial__index").values_list(
            "trial__uuid", flat=True
        )
    ]
    assert [row["trial"] for row in rows] == expected_order
    first = rows[0]  # p1's practice trial
    trial = Trial.objects.get(uuid=first["trial"])
    assert trial.participant == p["p1"] and first["kind"] == "practice"
    assert first["image"] == str(scenario.images["practice"].uuid) and first["image_right"] is None
    assert (first["size"], first["choice"], first["confidence"], first["correct"]) == (
        512, "real", 3, True,
    )  # fmt: skip
    assert (first["rt_ms"], first["rendered_width"], first["device_pixel_ratio"]) == (700, 512, 2.0)
    assert first["created"] == trial.response.created.isoformat()
    assert {row["kind"] for row in rows} == {"practice", "main", "attention"}


def test_participants_are_stable_pseudonyms_never_their_tokens() -> None:
    scenario = single_mode_study()
    p = scenario.participants

    rows = list(responses_rows(scenario.study, include_simulated=True))
    again = list(responses_rows(scenario.study, include_simulated=True))

    by_participant = {}
    for row in rows:
        owner = Trial.objects.get(uuid=row["trial"]).participant
        by_participant.setdefault(owner.pk, set()).add(row["participant"])
    assert all(len(names) == 1 for names in by_participant.values())  # one name each
    names = [next(iter(names)) for names in by_participant.values()]
    assert len(set(names)) == len(names) == 5
    assert all(len(name) == 16 and int(name, 16) >= 0 for name in names)
    dump = json.dumps(rows)
    for participant in p.values():
        assert str(participant.token) not in dump and participant.token.hex not in dump
    assert [row["participant"] for row in again] == [row["participant"] for row in rows]


def test_excluded_participants_are_flagged_and_simulated_ones_left_out_unless_asked() -> None:
    scenario = single_mode_study()

    rows = list(responses_rows(scenario.study))
    with_simulated = list(responses_rows(scenario.study, include_simulated=True))

    excluded = [row for row in rows if row["excluded"]]
    assert len(excluded) == 1 and excluded[0]["exclusion_reason"] == "failed attention checks"
    assert all(row["exclusion_reason"] == "" for row in rows if not row["excluded"])
    assert not any(row["simulated"] for row in rows)
    assert len(with_simulated) == 13
    [simulated] = [row for row in with_simulated if row["simulated"]]
    assert simulated["choice"] == "fake" and simulated["participant"] not in {
        row["participant"] for row in rows
    }


def test_pair_mode_rows_name_both_images() -> None:
    scenario = pair_mode_study()
    i = scenario.images

    rows = list(responses_rows(scenario.study))

    assert [(row["image"], row["image_right"], row["choice"]) for row in rows] == [
        (str(i["f1"].uuid), str(i["r1"].uuid), "left"),
        (str(i["r1"].uuid), str(i["f1"].uuid), "left"),
        (str(i["f2"].uuid), str(i["r2"].uuid), "right"),
    ]
    assert [row["correct"] for row in rows] == [True, False, False]


def test_json_jsonl_and_csv_carry_the_same_rows_and_csv_has_the_documented_dtypes() -> None:
    scenario = single_mode_study()
    client = token_client(user("staff", staff=True))
    url = f"/api/v1/studies/{scenario.study.slug}/responses"

    bodies = {
        fmt: b"".join(client.get(url, {"format": fmt}).streaming_content)
        for fmt in ("json", "jsonl", "csv")
    }

    rows = json.loads(bodies["json"])
    assert len(rows) == 12
    assert [json.loads(line) for line in bodies["jsonl"].decode().splitlines()] == rows
    frame = pd.read_csv(
        io.BytesIO(bodies["csv"]), dtype=RESPONSES_CSV_DTYPES, parse_dates=["created"]
    )
    assert list(frame.columns) == list(RESPONSE_FIELDS)
    dtypes = {column: str(dtype) for column, dtype in frame.dtypes.items()}
    assert dtypes == {**RESPONSES_CSV_DTYPES, "created": "datetime64[us, UTC]"}
    inferred = pd.read_csv(io.BytesIO(bodies["csv"]))
    for column in ("size", "correct", "excluded", "simulated", "device_pixel_ratio"):
        assert str(inferred[column].dtype) == RESPONSES_CSV_DTYPES[column], column
    for row, record in zip(rows, frame.to_dict("records"), strict=True):
        assert record["created"] == pd.Timestamp(row.pop("created"))
        del record["created"]
        for key, value in record.items():
            if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
                record[key] = "" if key == "exclusion_reason" else None
        assert record == row
