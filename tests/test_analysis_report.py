"""`python -m analysis.compare` end to end: exports in, summary and reports out, the HTML report
looked at in Chromium."""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from analysis.compare import main
from analysis.simulate import StudySpec, simulate_study
from analysis.summary import SUMMARY_COLUMNS
from tests.browser import ARTIFACTS, chromium

SPEC = StudySpec(
    n_participants=24,
    trials_per_participant=40,
    images_per_group=40,
    sizes=(256, 512),
    clf_acc={"cnn": 0.95, "vit": 0.8},
    practice_trials=2,
    attention_trials=1,
    excluded_participants=2,
)


def _write_exports(folder: Path, *, shortcut: bool) -> tuple[Path, Path]:
    """The two exports as the API writes them (CSV responses, JSONL labelled set with a
    `scores` object), plus a small local file per image × size for the gallery."""
    responses, images = simulate_study(SPEC, seed=3)
    if shortcut:
        images["format"] = np.where(images["label"] == "real", "JPEG", "PNG")
        images["bytes"] = np.where(images["label"] == "real", 1, 4) * images["bytes"]
    rng = np.random.default_rng(0)
    files = folder / "files"
    files.mkdir(parents=True)
    paths = []
    for image, size in zip(images["image"], images["size"], strict=True):
        path = files / f"{image}-{size}.jpg"
        pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(str(path))
    images["path"] = paths
    runs = [c for c in images.columns if c.startswith("score_")]
    images["scores"] = [
        {run[len("score_") :]: row[run] for run in runs} for row in images.to_dict("records")
    ]
    responses_path = folder / "responses.csv"
    images_path = folder / "labelled-set.jsonl"
    responses.to_csv(responses_path, index=False)
    with images_path.open("w") as handle:
        for row in images.drop(columns=runs).to_dict("records"):
            handle.write(json.dumps(row, default=int) + "\n")
    return responses_path, images_path


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compare")
    responses, images = _write_exports(folder, shortcut=True)
    out = folder / "out"
    argv = ["--responses", str(responses), "--images", str(images), "--out", str(out)]
    argv += ["--include-simulated", "--n-boot", "100", "--mixed-boot", "5", "--quiet"]
    assert main(argv) == 0
    return out


def test_help_explains_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "analysis.compare", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in (
        "--study",
        "--responses",
        "--images",
        "--out",
        "--include-simulated",
        "--n-boot",
        "--seed",
        "--no-mixed",
        "--mixed-method",
        "--mixed-boot",
        "--mixed-max-responses",
        "--gallery-size",
        "--gallery-min-responses",
        "--quiet",
    ):
        assert option in result.stdout, option
    assert "simulated participants" in result.stdout


def test_outputs_and_their_content(report):
    for name in (
        "summary.csv",
        "mixed_model.csv",
        "report.md",
        "report.html",
        "accuracy_by_group.png",
        "roc.png",
        "accuracy_by_size.png",
    ):
        assert (report / name).is_file(), name
    summary = pd.read_csv(report / "summary.csv")
    assert tuple(summary.columns) == SUMMARY_COLUMNS
    assert set(summary["clf_run"]) == {"cnn", "vit"}
    overall = summary[summary["dimension"] == "overall"]
    assert len(overall) == 2 and overall["n_participants"].eq(SPEC.n_participants - 2).all()
    one_label = summary[(summary["dimension"] == "generator") & (summary["group"] == "A")]
    assert one_label[["human_dprime", "human_c", "human_auc", "clf_auc"]].isna().all().all()
    markdown = (report / "report.md").read_text()
    n = SPEC.n_participants
    assert f"| practice trials (left out) | {SPEC.practice_trials * n} |" in markdown
    assert f"| attention-check trials (left out) | {SPEC.attention_trials * n} |" in markdown
    assert "main trials of 2 excluded participants (left out)" in markdown
    assert "Mixed-effects logistic regression" in markdown and "generator[B]" in markdown
    assert "crossed-bootstrap refits" in markdown
    assert "⚠ WARNING" in markdown and "originals" in markdown  # real JPEG vs fake PNG
    assert "Fooled most people, not classifier cnn" in markdown
    assert list((report / "gallery" / "cnn").glob("*.png"))
    html = (report / "report.html").read_text()
    assert 'src="data:image/png;base64,' in html and '<img src="accuracy' not in html
    assert 'class="warning"' in html


def test_study_option_loads_through_the_database_loader(tmp_path, monkeypatch):
    calls = []
    responses, images = simulate_study(StudySpec(n_participants=8, images_per_group=20), seed=1)

    def load_study(slug: str, *, include_simulated: bool):
        from analysis.loaders import clean_images, clean_responses

        calls.append((slug, include_simulated))
        return clean_responses(responses), clean_images(images)

    module = types.ModuleType("analysis._django")
    module.load_study = load_study
    monkeypatch.setitem(sys.modules, "analysis._django", module)
    argv = ["--study", "pilot", "--out", str(tmp_path), "--include-simulated", "--quiet"]
    assert main([*argv, "--n-boot", "50", "--no-mixed"]) == 0
    assert calls == [("pilot", True)]
    assert "study `pilot`" in (tmp_path / "report.md").read_text()
    assert "Not fitted" in (tmp_path / "report.md").read_text()


def test_input_errors_exit_with_a_message(tmp_path, capsys):
    bad = tmp_path / "responses.csv"
    bad.write_text("participant,kind\np1,main\n")
    images = tmp_path / "images.csv"
    images.write_text("image,label,size\ni1,real,256\n")
    assert main(["--responses", str(bad), "--images", str(images), "--out", str(tmp_path)]) == 2
    assert "missing column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path)])


@pytest.mark.browser
def test_html_report_shows_every_plot_in_chromium(report):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto((report / "report.html").resolve().as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(
            "() => Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,"
            " width: i.naturalWidth, height: i.naturalHeight}))"
        )
        figures = page.locator("figure img")
        assert figures.count() == 3
        for index in range(figures.count()):
            figures.nth(index).scroll_into_view_if_needed()
            box = figures.nth(index).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
        assert len(images) > 3  # the three figures and the gallery thumbnails
        broken = [i for i in images if not i["complete"] or i["width"] == 0]
        assert not broken, broken
        assert page.locator(".warning").first.is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "analysis-report.png"), full_page=True)
    assert (ARTIFACTS / "analysis-report.png").stat().st_size > 10_000
