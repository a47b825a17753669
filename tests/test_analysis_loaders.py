"""Reading the responses and labelled-set exports into clean tables."""

import json

import pandas as pd
import pytest

from analysis.loaders import AnalysisInputError, read_images, read_responses, score_runs

RESPONSES_CSV = (
    "participant,trial,kind,image,image_right,size,choice,confidence,correct,rt_ms,excluded,"
    "simulated,created,extra\n"
    """p1,t1,main,i1,,512,fake,3,True,812,False,False,2025-03-01T10:00:00Z,x
p1,t2,practice,i2,,512,real,,False,1200,False,False,2025-03-01T10:00:05Z,x
p2,t3,attention,i1,,256,real,1,false,640,true,false,2025-03-01T10:01:00+00:00,x
"""
)


def test_read_responses_csv_gives_clean_dtypes(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text(RESPONSES_CSV)
    frame = read_responses(path)
    assert list(frame.columns) == [
        "participant", "trial", "kind", "image", "image_right", "size", "choice", "confidence",
        "correct", "rt_ms", "excluded", "simulated", "created",
    ]  # fmt: skip
    assert isinstance(frame["participant"].dtype, pd.CategoricalDtype)
    assert list(frame["kind"].cat.categories) == ["practice", "main", "attention"]
    assert str(frame["size"].dtype) == "Int64" and str(frame["confidence"].dtype) == "Int64"
    assert frame["confidence"].isna().tolist() == [False, True, False]
    assert frame["correct"].tolist() == [True, False, False]
    assert frame["excluded"].tolist() == [False, False, True]
    assert frame["image_right"].isna().all()
    assert str(frame["created"].dtype).startswith("datetime64")
    assert frame["created"].iloc[2] == pd.Timestamp("2025-03-01T10:01:00Z")


def test_read_responses_jsonl(tmp_path):
    rows = [
        {"participant": "p1", "trial": "t1", "kind": "main", "image": "i1", "image_right": None,
         "size": 512, "choice": "fake", "confidence": None, "correct": True, "rt_ms": 700,
         "excluded": False, "simulated": True, "created": "2025-03-01T10:00:00Z"},
    ]  # fmt: skip
    path = tmp_path / "responses.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    frame = read_responses(path)
    assert frame.loc[0, "size"] == 512
    assert bool(frame.loc[0, "simulated"]) is True
    assert pd.isna(frame.loc[0, "confidence"])


def test_images_jsonl_scores_become_columns(tmp_path):
    rows = [
        {"image": "i1", "label": "fake", "generator": "sd", "category": "faces", "size": 512,
         "width": 1024, "height": 768, "format": "png", "bytes": 900000,
         "scores": {"cnn": 0.9, "vit": 0.7}, "n_responses": 4},
        {"image": "i2", "label": "real", "generator": "", "category": "faces", "size": 512,
         "width": 640, "height": 480, "format": "JPEG", "bytes": 120000, "scores": {"cnn": 0.2}},
    ]  # fmt: skip
    path = tmp_path / "images.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    frame = read_images(path)
    assert score_runs(frame) == ["cnn", "vit"]
    assert frame["score_cnn"].tolist() == [0.9, 0.2]
    assert pd.isna(frame.loc[1, "score_vit"])
    assert pd.isna(frame.loc[1, "generator"])
    assert frame["format"].tolist() == ["PNG", "JPEG"]
    assert "n_responses" not in frame


def test_images_csv_score_columns(tmp_path):
    path = tmp_path / "images.csv"
    path.write_text(
        "image,url,sha256,label,generator,category,split,size,score_cnn,score_vit\n"
        "i1,/m/1.jpg,ab,fake,sd,faces,test,256,0.8,\n"
        "i1,/m/1b.jpg,ab,fake,sd,faces,test,512,0.6,0.4\n"
    )
    frame = read_images(path)
    assert score_runs(frame) == ["cnn", "vit"]
    assert frame["size"].tolist() == [256, 512]
    assert pd.isna(frame.loc[0, "score_vit"])


def test_missing_columns_are_reported(tmp_path):
    path = tmp_path / "responses.csv"
    path.write_text("participant,kind,image\np1,main,i1\n")
    with pytest.raises(AnalysisInputError, match="size, choice"):
        read_responses(path)
    bad = tmp_path / "images.csv"
    bad.write_text("image,label,size\ni1,maybe,256\n")
    with pytest.raises(AnalysisInputError, match="real or fake"):
        read_images(bad)
    with pytest.raises(AnalysisInputError, match=r"csv or \.jsonl"):
        read_images(tmp_path / "images.xlsx")
