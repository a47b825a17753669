import hashlib
import json
from collections import Counter
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image
from sklearn.linear_model import LogisticRegression

from studyapp.sample_set import build_sample_set


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    return build_sample_set(tmp_path_factory.mktemp("sample") / "set", seed=0)


def _rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_command_with_the_same_seed_writes_identical_bytes(summary, tmp_path):
    out = summary.out_dir
    stdout = StringIO()
    call_command("make_sample_set", str(tmp_path / "again"), "--seed", "0", stdout=stdout)
    assert _files(tmp_path / "again") == _files(out)
    assert f"{summary.n_images} images" in stdout.getvalue()


def test_another_seed_gives_other_images(summary, tmp_path):
    out = summary.out_dir
    other = build_sample_set(tmp_path / "other", seed=1)
    assert set(_files(other.out_dir).values()).isdisjoint(_files(out).values())


def test_counts_balance_and_split(summary):
    rows = _rows(summary.manifest_path)
    assert summary.n_images == len(rows) >= 240
    assert len(summary.by_generator) >= 3
    assert len(summary.by_category) >= 3
    assert summary.by_label["real"] == summary.by_label["fake"]
    assert summary.by_split == dict(Counter(r["split"] for r in rows))
    assert summary.by_category == dict(Counter(r["category"] for r in rows))
    assert summary.by_generator == dict(Counter(r["generator"] for r in rows if "generator" in r))
    # every generator/category folder is balanced in each split, and about 30% of it is test
    groups = {key[1:3] for key in summary.by_folder}
    for generator, category in groups:
        n = {
            (split, label): summary.by_folder.get((split, generator, category, label), 0)
            for split in ("train", "test")
            for label in ("real", "fake")
        }
        assert n["train", "real"] == n["train", "fake"] > 0
        assert n["test", "real"] == n["test", "fake"] > 0
        test_share = n["test", "real"] / (n["test", "real"] + n["train", "real"])
        assert 0.25 <= test_share <= 0.35


def test_manifest_matches_folders(summary):
    out = summary.out_dir
    rows = _rows(summary.manifest_path)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*.png")}
    assert {r["path"] for r in rows} == on_disk
    for row in rows:
        split, generator, category, folder, _ = row["path"].split("/")
        assert (split, category) == (row["split"], row["category"])
        assert folder == {"real": "0_real", "fake": "1_fake"}[row["label"]]
        assert row.get("generator", generator) == generator
        assert ("generator" in row) == (row["label"] == "fake")
        assert row["source"]
    hashes = Counter(hashlib.sha256((out / r["path"]).read_bytes()).digest() for r in rows)
    assert max(hashes.values()) == 1  # the importer dedupes by sha256, so no twin may exist


def test_images_share_size_and_format_without_metadata(summary):
    out = summary.out_dir
    for row in _rows(summary.manifest_path):
        with Image.open(out / row["path"]) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (64, 64))
            assert not image.info.keys() - {"gamma"} and not getattr(image, "text", {})


def test_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("someone's file")
    with pytest.raises(FileExistsError, match="not empty"):
        build_sample_set(tmp_path)


def test_colour_histograms_alone_do_not_tell_fakes(summary):
    # the artifacts should need pixels-level evidence, not a colour shift a glance would catch
    rows = _rows(summary.manifest_path)

    def features(row: dict) -> np.ndarray:
        with Image.open(summary.out_dir / row["path"]) as image:
            pixels = np.asarray(image).reshape(-1, 3)
        histograms = [np.histogram(pixels[:, c], bins=16, range=(0, 256))[0] for c in range(3)]
        return np.concatenate(histograms) / len(pixels)

    def table(split: str) -> tuple[np.ndarray, np.ndarray]:
        chosen = [row for row in rows if row["split"] == split]
        return np.array([features(r) for r in chosen]), np.array([r["label"] for r in chosen])

    model = LogisticRegression(max_iter=2000).fit(*table("train"))
    assert model.score(*table("test")) < 0.75
