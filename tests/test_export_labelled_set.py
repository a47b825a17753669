"""The labelled set: one row per pool image × display size, with human votes worked out by hand
(tests/export_fixtures.py tells who answered what), scores per run, and the same rows in JSON,
JSONL and CSV."""

import io
import json
import math

import pandas as pd
import pytest

from studyapp.selectors.exports import (
    LABELLED_SET_CSV_DTYPES,
    LABELLED_SET_FIELDS,
    labelled_set_rows,
    labelled_set_runs,
)
from tests.export_fixtures import pair_mode_study, single_mode_study, token_client, user
from tests.factories import GeneratorFactory

pytestmark = pytest.mark.django_db

NONE = {"human_p_fake": None, "human_majority": None, "human_accuracy": None}

# (image, size) -> the stats its row must carry, from the votes in single_mode_study()
EXPECTED = {
    ("fake_a", 256): dict(
        retired=True, n_responses=1, n_fake_votes=0, human_p_fake=0.0, human_majority="real",
        human_accuracy=0.0, mean_confidence=1.0, scores={"convnext-a": 0.8},
    ),
    ("fake_a", 512): dict(
        retired=True, n_responses=2, n_fake_votes=2, human_p_fake=1.0, human_majority="fake",
        human_accuracy=1.0, mean_confidence=4.5, scores={"convnext-a": 0.91, "convnext-b": 0.55},
    ),
    ("fake_b", 256): dict(
        retired=True, n_responses=2, n_fake_votes=1, human_p_fake=0.5, human_majority="tie",
        human_accuracy=0.5, mean_confidence=2.5, scores={},
    ),
    ("fake_b", 512): dict(
        retired=True, n_responses=0, n_fake_votes=0, **NONE, mean_confidence=None, scores={}
    ),
    ("real_a", 256): dict(
        retired=True, n_responses=0, n_fake_votes=0, **NONE, mean_confidence=None, scores={}
    ),
    ("real_a", 512): dict(
        retired=True, n_responses=3, n_fake_votes=1, human_p_fake=1 / 3, human_majority="real",
        human_accuracy=2 / 3, mean_confidence=11 / 3, scores={"convnext-a": 0.12},
    ),
    ("real_b", 256): dict(
        retired=False, n_responses=1, n_fake_votes=0, human_p_fake=0.0, human_majority="real",
        human_accuracy=1.0, mean_confidence=None, scores={},
    ),
    ("real_b", 512): dict(
        retired=False, n_responses=0, n_fake_votes=0, **NONE, mean_confidence=None, scores={}
    ),
}  # fmt: skip


def _keyed(scenario, rows) -> dict:
    names = {str(image.uuid): name for name, image in scenario.images.items()}
    return {(names[row["image"]], row["size"]): row for row in rows}


def _approx(row: dict) -> dict:
    return {
        key: pytest.approx(value) if isinstance(value, float) else value
        for key, value in row.items()
    }


def test_rows_carry_the_hand_worked_votes_scores_and_retirement() -> None:
    scenario = single_mode_study()

    rows = list(labelled_set_rows(scenario.study))

    assert all(tuple(row) == LABELLED_SET_FIELDS for row in rows)
    assert list(_keyed(scenario, rows)) == list(EXPECTED)  # pool only, by image then size
    for key, row in _keyed(scenario, rows).items():
        stats = {field: row[field] for field in EXPECTED[key]}
        assert stats == _approx(EXPECTED[key]), key


def test_rows_carry_the_images_label_and_native_facts() -> None:
    scenario = single_mode_study()
    fake_a, real_a = scenario.images["fake_a"], scenario.images["real_a"]

    rows = _keyed(scenario, labelled_set_rows(scenario.study, url=lambda name: f"u:{name}"))

    a512 = rows["fake_a", 512]
    assert a512["image"] == str(fake_a.uuid) and a512["sha256"] == fake_a.sha256
    assert (a512["label"], a512["generator"], a512["category"], a512["split"]) == (
        "fake", "sd14", "faces", "test",
    )  # fmt: skip
    assert (a512["width"], a512["height"], a512["format"], a512["bytes"]) == (
        640, 480, "PNG", 123_456,
    )  # fmt: skip
    assert a512["url"] == "u:" + fake_a.variants.get(size=512).file.name
    r256 = rows["real_a", 256]
    assert (r256["label"], r256["generator"], r256["split"], r256["format"]) == (
        "real", None, None, "JPEG",
    )  # fmt: skip
    assert r256["url"] == "u:" + real_a.variants.get(size=256).file.name


def test_simulated_participants_count_only_when_asked() -> None:
    scenario = single_mode_study()

    rows = _keyed(scenario, labelled_set_rows(scenario.study, include_simulated=True))

    a512 = rows["fake_a", 512]
    assert (a512["n_responses"], a512["n_fake_votes"]) == (3, 3)
    assert a512["mean_confidence"] == pytest.approx(4.0)
    assert rows["real_a", 512]["n_responses"] == 3  # the simulated participant never saw it


def test_size_keeps_one_display_size() -> None:
    scenario = single_mode_study()

    rows = list(labelled_set_rows(scenario.study, size=512))

    assert [key for key in _keyed(scenario, rows)] == [k for k in EXPECTED if k[1] == 512]
    assert list(labelled_set_rows(scenario.study, size=1024)) == []


def test_the_pool_follows_the_studys_generator_filter_and_keeps_real_images() -> None:
    scenario = single_mode_study()
    scenario.study.generators.set([GeneratorFactory(name="progan")])

    names = {name for name, _ in _keyed(scenario, labelled_set_rows(scenario.study))}

    assert names == {"fake_b", "real_a", "real_b"}


def test_runs_are_those_that_scored_the_set() -> None:
    scenario = single_mode_study()

    assert labelled_set_runs(scenario.study) == ["convnext-a", "convnext-b"]
    assert labelled_set_runs(scenario.study, size=256) == ["convnext-a"]


def test_in_pair_mode_a_response_counts_for_both_images() -> None:
    scenario = pair_mode_study()

    rows = _keyed(scenario, labelled_set_rows(scenario.study))

    stats = {
        name: (
            row["n_responses"],
            row["n_fake_votes"],
            row["human_majority"],
            row["human_accuracy"],
        )
        for (name, _), row in rows.items()
    }
    assert stats == {
        "f1": (2, 1, "tie", 0.5),  # p1 picked it (left), p2 picked the real one beside it
        "f2": (1, 0, "real", 0.0),  # p3 picked the real one on the right
        "r1": (2, 1, "tie", 0.5),
        "r2": (1, 1, "fake", 0.0),
    }
    assert rows["f1", 512]["mean_confidence"] == pytest.approx(3.0)  # (4 + 2) / 2


def _export(client, slug: str, fmt: str, **params) -> tuple[str, bytes]:
    response = client.get(f"/api/v1/studies/{slug}/labelled-set", {"format": fmt, **params})
    assert response.status_code == 200
    assert response.streaming
    return response["Content-Type"], b"".join(response.streaming_content)


def test_json_jsonl_and_csv_carry_the_same_rows_and_csv_has_the_documented_dtypes() -> None:
    scenario = single_mode_study()
    client = token_client(user("staff", staff=True))
    slug = scenario.study.slug

    json_type, json_body = _export(client, slug, "json")
    jsonl_type, jsonl_body = _export(client, slug, "jsonl")
    csv_type, csv_body = _export(client, slug, "csv")

    assert json_type == "application/json; charset=utf-8"
    assert jsonl_type == "application/x-ndjson; charset=utf-8"
    assert csv_type == "text/csv; charset=utf-8"
    rows = json.loads(json_body)
    assert len(rows) == len(EXPECTED)
    assert [json.loads(line) for line in jsonl_body.decode().splitlines()] == rows
    expected_stats = {key: _approx(stats) for key, stats in EXPECTED.items()}
    assert {k: {f: r[f] for f in EXPECTED[k]} for k, r in _keyed(scenario, rows).items()} == (
        expected_stats
    )

    inferred = pd.read_csv(io.BytesIO(csv_body))
    frame = pd.read_csv(io.BytesIO(csv_body), dtype=LABELLED_SET_CSV_DTYPES)
    score_columns = ["score_convnext-a", "score_convnext-b"]
    assert list(frame.columns) == [*LABELLED_SET_FIELDS[:-1], *score_columns]
    documented = {**LABELLED_SET_CSV_DTYPES, **dict.fromkeys(score_columns, "float64")}
    assert {c: str(t) for c, t in frame.dtypes.items()} == documented
    for column, dtype in documented.items():
        if dtype != "str":  # numbers and booleans come out right without being told
            assert str(inferred[column].dtype) == dtype, column
    from_csv = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        for record in frame.to_dict("records")
    ]
    for row, record in zip(rows, from_csv, strict=True):
        scores = row.pop("scores")
        flat = {**row, **{c: scores.get(c.removeprefix("score_")) for c in score_columns}}
        assert record == _approx(flat)
