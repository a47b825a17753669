import json
from pathlib import Path

import pytest

from detector.errors import ManifestError
from detector.manifest import classes_for, read_manifest, target_of


@pytest.fixture
def images(tmp_path):
    for name in ("a.png", "b.png", "sub/c.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"not decoded here")
    return tmp_path


def _write(folder: Path, *rows) -> Path:
    path = folder / "m.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_paths_are_relative_to_the_manifest_or_absolute(images):
    manifest = _write(
        images,
        {"path": "a.png", "label": "real", "category": "faces", "split": "train"},
        "",
        {"path": str(images / "sub/c.png"), "label": "fake", "generator": "g1", "split": "test"},
    )
    rows = read_manifest(manifest)
    assert [row.path for row in rows] == ["a.png", str(images / "sub/c.png")]
    assert rows[0].file == images / "a.png" and rows[0].category == "faces"
    assert (rows[1].generator, rows[1].split) == ("g1", "test")
    assert [row.path for row in read_manifest(manifest, split="test")] == [rows[1].path]


def test_a_labelled_set_export_row_is_a_manifest_row(images):
    export_row = {
        "image": "6f1c0a4e-0000-4000-8000-000000000000",
        "url": "/media/v/abc.jpg",
        "path": "b.png",
        "sha256": "ab" * 32,
        "label": "real",
        "generator": None,
        "category": "scenes",
        "split": None,
        "size": 512,
        "n_responses": 12,
        "human_p_fake": 0.25,
        "scores": {"tiny": 0.1},
    }
    (row,) = read_manifest(_write(images, export_row))
    assert (row.path, row.label, row.generator, row.split) == ("b.png", "real", None, None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ('["a.png", "real"]', "line 2: expected a JSON object"),
        ('{"label": "real"}', "line 2: 'path'"),
        ('{"path": "a.png", "label": "generated"}', "line 2: 'label' must be 'real' or 'fake'"),
        ('{"path": "a.png", "label": "fake", "generator": 3}', "line 2: 'generator'"),
        ('{"path": "gone.png", "label": "real"}', "line 2: image .*gone.png not found"),
    ],
)
def test_bad_lines_are_named(images, line, message):
    manifest = _write(images, {"path": "a.png", "label": "real"}, line)
    with pytest.raises(ManifestError, match=message):
        read_manifest(manifest)


def test_an_empty_split_and_a_missing_manifest_are_errors(images):
    manifest = _write(images, {"path": "a.png", "label": "real", "split": "train"})
    with pytest.raises(ManifestError, match="no images in split 'test'"):
        read_manifest(manifest, split="test")
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(images / "absent.jsonl")


def test_nway_classes_and_targets(images):
    rows = read_manifest(
        _write(
            images,
            {"path": "a.png", "label": "real"},
            {"path": "b.png", "label": "fake", "generator": "u-vit-h"},
            {"path": "sub/c.png", "label": "fake", "generator": "dit-xl-2"},
        )
    )
    classes = classes_for(rows)
    assert classes == ("real", "dit-xl-2", "u-vit-h")
    assert [target_of(row, classes) for row in rows] == [0, 2, 1]
    assert [target_of(row, ("real", "fake")) for row in rows] == [0, 1, 1]
    with pytest.raises(ManifestError, match="not one of"):
        target_of(rows[1], ("real", "dit-xl-2"))
