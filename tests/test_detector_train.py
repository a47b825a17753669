"""Training the tiny recipe on the sample set, on CPU: accuracy, resume, cancel, scoring."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from detector import checkpoints
from detector.cli import main
from detector.errors import CheckpointError
from detector.evaluation import evaluate, evaluate_scores
from detector.recipes import load_recipe
from detector.scoring import score
from detector.training import Progress, train
from detector.variants import display_variant
from studyapp.sample_set import build_sample_set

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "experiments" / "tiny_cpu.toml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample_set(tmp_path_factory.mktemp("sample") / "set", seed=0)


@pytest.fixture(scope="module")
def trained(sample, tmp_path_factory):
    reports: list[Progress] = []
    result = train(
        load_recipe(TINY),
        sample.manifest_path,
        tmp_path_factory.mktemp("run"),
        split="train",
        on_progress=reports.append,
    )
    return result, reports


@pytest.fixture(scope="module")
def small_manifest(sample, tmp_path_factory):
    """64 training images (every sixth): enough for tests that take a few seconds."""
    rows = [json.loads(line) for line in sample.manifest_path.read_text().splitlines()]
    chosen = [row for row in rows if row["split"] == "train"][::6][:64]
    for row in chosen:
        row["path"] = str(sample.out_dir / row["path"])
    path = tmp_path_factory.mktemp("small") / "small.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in chosen))
    return path


def test_tiny_recipe_learns_the_sample_set(trained, sample):
    result, reports = trained
    assert not result.stopped and result.epochs_completed == 15
    assert result.checkpoint.name == "model.pt"
    table = evaluate(result.checkpoint, sample.manifest_path, split="test", workers=0)
    overall = table.rows[-1]
    assert overall.n_real + overall.n_fake == sample.by_split["test"]
    assert overall.acc >= 0.90, table.summary()
    assert overall.acc_real >= 0.85 and overall.acc_fake >= 0.85, table.summary()
    # the callback saw every epoch end, with a falling loss and a sane ETA
    ends = [p for p in reports if p.epoch_done]
    assert [p.epoch for p in ends] == list(range(1, 16))
    assert ends[-1].loss < ends[0].loss and ends[-1].eta_s == 0
    assert all(p.steps_per_epoch == ends[0].steps_per_epoch and p.eta_s >= 0 for p in reports)


def test_scores_are_deterministic_whatever_the_workers(trained, sample):
    checkpoint = trained[0].checkpoint
    first = score(checkpoint, sample.manifest_path, split="test", workers=0, batch_size=32)
    again = score(checkpoint, sample.manifest_path, split="test", workers=2, batch_size=32)
    assert [r.p_fake for r in first] == [r.p_fake for r in again]
    assert [r.path for r in first] == [
        json.loads(line)["path"]
        for line in sample.manifest_path.read_text().splitlines()
        if json.loads(line)["split"] == "test"
    ]
    assert all(r.probs["fake"] == r.p_fake and 0 <= r.p_fake <= 1 for r in first)


def test_scoring_at_a_display_size_sees_the_display_variant(trained, sample, tmp_path):
    checkpoint = trained[0].checkpoint
    rows = [json.loads(line) for line in sample.manifest_path.read_text().splitlines()][:24]
    # what volunteers see at 48 px, written losslessly, then scored as plain files
    for row in rows:
        with Image.open(sample.out_dir / row["path"]) as image:
            display_variant(image.convert("RGB"), 48).save(tmp_path / Path(row["path"]).name)
    subset = tmp_path / "subset.jsonl"
    subset.write_text(
        "".join(json.dumps({**r, "path": str(sample.out_dir / r["path"])}) + "\n" for r in rows)
    )
    rendered = tmp_path / "rendered.jsonl"
    rendered.write_text(
        "".join(json.dumps({**r, "path": Path(r["path"]).name}) + "\n" for r in rows)
    )
    at_size = score(checkpoint, subset, size=48, workers=0)
    assert [r.p_fake for r in at_size] == [r.p_fake for r in score(checkpoint, rendered, workers=0)]
    assert [r.p_fake for r in at_size] != [r.p_fake for r in score(checkpoint, subset, workers=0)]


def test_cli_score_and_evaluate(trained, sample, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    source = ["--checkpoint", str(trained[0].checkpoint), "--manifest", str(sample.manifest_path),
              "--split", "test", "--workers", "0"]  # fmt: skip
    assert main(["score", *source, "--out", str(out)]) == 0
    with out.open() as file:
        written = list(csv.DictReader(file))
    assert len(written) == sample.by_split["test"]
    assert {"path", "label", "p_fake"} <= set(written[0])
    assert all((sample.out_dir / r["path"]).is_file() for r in written)

    assert main(["evaluate", "--scores", str(out)]) == 0
    from_csv = capsys.readouterr().out
    assert main(["evaluate", *source]) == 0
    direct = capsys.readouterr().out
    assert from_csv.splitlines()[-5:] == direct.splitlines()[-5:]
    assert "standin-upsample-checkerboard" in direct


@pytest.mark.parametrize("command", [[], ["train"], ["score"], ["evaluate"]])
def test_help_explains_each_command(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    assert "manifest" in capsys.readouterr().out


class Crash(Exception):
    """Stands in for a killed worker: nothing after it runs."""


def test_resume_after_a_crash_ends_with_the_same_weights(small_manifest, tmp_path):
    recipe = load_recipe(TINY, {"train.epochs": 3})
    straight = train(recipe, small_manifest, tmp_path / "straight", split="train")

    def crash_in_epoch_2(progress: Progress) -> None:
        if progress.epoch == 2 and not progress.epoch_done:
            raise Crash

    with pytest.raises(Crash):
        train(
            recipe,
            small_manifest,
            tmp_path / "resumed",
            split="train",
            on_progress=crash_in_epoch_2,
            progress_interval_s=0,
        )
    assert checkpoints.load(tmp_path / "resumed" / checkpoints.LAST)["epoch"] == 1
    assert not (tmp_path / "resumed" / checkpoints.FINAL).exists()

    seen: list[Progress] = []
    resumed = train(
        recipe,
        small_manifest,
        tmp_path / "resumed",
        split="train",
        on_progress=seen.append,
        progress_interval_s=0,
    )
    assert seen[0].epoch == 2  # epoch 1 was not trained again
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    expected = checkpoints.load(straight.checkpoint)["model"]
    got = checkpoints.load(resumed.checkpoint)["model"]
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[key], got[key]) for key in expected)


def test_should_stop_cancels_between_steps_and_keeps_the_last_epoch(small_manifest, tmp_path):
    recipe = load_recipe(TINY, {"train.epochs": 3})
    steps = 0

    def after_a_few_steps_of_epoch_2(progress: Progress) -> None:
        nonlocal steps
        steps += progress.epoch == 2

    result = train(
        recipe,
        small_manifest,
        tmp_path,
        on_progress=after_a_few_steps_of_epoch_2,
        should_stop=lambda: steps >= 2,
        progress_interval_s=0,
    )
    assert result.stopped and result.epochs_completed == 1
    assert result.checkpoint == tmp_path / checkpoints.LAST
    with pytest.raises(CheckpointError, match="another recipe"):
        train(load_recipe(TINY, {"train.epochs": 3, "train.lr": 1e-3}), small_manifest, tmp_path)


def test_nway_head_attributes_generators(small_manifest, tmp_path):
    recipe = load_recipe(TINY, {"train.epochs": 1, "model.head": "nway"})
    result = train(recipe, small_manifest, tmp_path, split="train")
    assert result.classes == (
        "real",
        "dcgan-faces",
        "standin-oversmoothed-diffusion",
        "standin-upsample-checkerboard",
    )
    rows = score(result.checkpoint, small_manifest, workers=0)
    for row in rows:
        assert list(row.probs) == list(result.classes)
        assert sum(row.probs.values()) == pytest.approx(1, abs=1e-6)
        assert row.p_fake == pytest.approx(1 - row.probs["real"], abs=1e-6)
    assert evaluate_scores(rows).attribution_accuracy is not None


def test_torchrun_ddp_on_two_ranks_matches_one_process_with_their_joint_batch(
    small_manifest, tmp_path
):
    # two ranks of 16 images average their gradients: one process with batches of 32 that
    # holds the same images must end with the same weights, up to float summation order
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               "2", "-m", "detector", "train", "--config", str(TINY), "--manifest",
               str(small_manifest), "--out", str(tmp_path / "ddp"), "--set", "train.epochs=2",
               "--device", "cpu"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("2 epochs; checkpoint") == 1  # rank 0 speaks for both

    recipe = load_recipe(TINY, {"train.epochs": 2, "data.batch_size": 32})
    single = train(recipe, small_manifest, tmp_path / "single")
    ddp = checkpoints.load(tmp_path / "ddp" / checkpoints.FINAL)
    expected = checkpoints.load(single.checkpoint)["model"]
    for key, value in expected.items():
        torch.testing.assert_close(ddp["model"][key], value, rtol=0, atol=1e-5)
    assert [h["loss"] for h in ddp["history"]] == pytest.approx(
        [h["loss"] for h in single.history], abs=1e-5
    )


def test_gradient_accumulation_matches_the_larger_batch(small_manifest, tmp_path):
    # two accumulated batches of 16 make the same updates as one batch of 32 (LayerNorm has
    # no batch statistics); only the summation order differs
    halves = load_recipe(TINY, {"train.epochs": 2, "train.accumulate": 2})
    whole = load_recipe(TINY, {"train.epochs": 2, "data.batch_size": 32})
    a = checkpoints.load(train(halves, small_manifest, tmp_path / "a").checkpoint)["model"]
    b = checkpoints.load(train(whole, small_manifest, tmp_path / "b").checkpoint)["model"]
    for key, value in b.items():
        torch.testing.assert_close(a[key], value, rtol=0, atol=1e-5)


def test_plateau_schedule_follows_validation_accuracy(small_manifest, tmp_path):
    rows = [json.loads(line) for line in small_manifest.read_text().splitlines()]
    for row in rows[::4]:
        row["split"] = "val"
    manifest = tmp_path / "with_val.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    recipe = load_recipe(
        TINY,
        {
            "train.epochs": 3,
            "train.optimizer": "adam",
            "train.schedule": "plateau",
            "train.plateau_patience": 0,
            "train.lr": 1e-3,
        },
    )
    ends: list[Progress] = []
    result = train(recipe, manifest, tmp_path / "run", on_progress=ends.append)
    accuracies = [h["val_accuracy"] for h in result.history]
    assert all(0 <= a <= 1 for a in accuracies)
    assert [p.val_accuracy for p in ends if p.epoch_done] == accuracies
    # patience 0: an epoch whose accuracy does not beat the best by 0.1% divides the rate by 10
    # for the epochs after it
    lr, best = 1e-3, -1.0
    for entry, accuracy in zip(result.history, accuracies, strict=True):
        assert entry["lr"] == pytest.approx(lr)
        if accuracy > best + 1e-3:
            best = accuracy
        else:
            lr /= 10


def test_cli_train_with_overrides_on_a_manifest_without_splits(small_manifest, tmp_path, capsys):
    rows = [json.loads(line) for line in small_manifest.read_text().splitlines()][:20]
    manifest = tmp_path / "unsplit.jsonl"
    manifest.write_text("".join(json.dumps({**r, "split": None}) + "\n" for r in rows))
    out = tmp_path / "run"
    argv = ["train", "--config", str(TINY), "--manifest", str(manifest), "--out", str(out),
            "--split", "all", "--set", "train.epochs=1", "--set", "model.head=nway"]  # fmt: skip
    assert main(argv) == 0
    assert "1 epochs; checkpoint" in capsys.readouterr().out
    state = checkpoints.load(out / checkpoints.FINAL)
    assert state["recipe"]["train"]["epochs"] == 1 and state["recipe"]["model"]["head"] == "nway"
    assert main([*argv[:-4], "--set", "train.epochs=x y"]) == 2  # a bad value is named, not raised
    assert "train.epochs" in capsys.readouterr().err
