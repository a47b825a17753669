"""Detector throughput: does the data pipeline keep the model fed? (DESIGN §5)

In one run, on one machine, with the same model, batch size and threads:
- scoring: raw timm forward images/s on synthetic tensors vs end-to-end `detector.scoring.score`
  images/s from JPEG files (decode, resize, crop, forward); target >= 90%;
- training: raw train-step images/s on synthetic tensors (forward, backward, optimiser step) vs
  the images/s of `detector.training.train`'s loop over JPEG files; target >= 85%.

The model is the LAION recipe's network with random weights (no download); on a CPU it defaults to
convnext_tiny so the run takes minutes, on a GPU to convnext_large with bf16 and channels-last.

    python bench/detector_throughput.py
    python bench/detector_throughput.py --device cuda --batch-size 64 --images 2048
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
import timm.optim
import torch
import torch.nn.functional as F
from PIL import Image

from detector import checkpoints
from detector.manifest import LABELS
from detector.model import build_model
from detector.recipes import load_recipe
from detector.runtime import autocast_for, pick_device
from detector.scoring import score
from detector.training import train

RECIPE = Path(__file__).resolve().parent.parent / "experiments" / "laion_sd14_convnext_large.toml"
SCORE_TARGET, TRAIN_TARGET = 0.90, 0.85


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="cpu or cuda (default: a GPU if there is one)")
    parser.add_argument("--model", help="timm name (default: convnext_tiny on CPU, else large)")
    parser.add_argument("--batch-size", type=int, help="default 16 on CPU, 64 on GPU")
    parser.add_argument("--images", type=int, help="JPEG files to score (default 96 / 2048)")
    parser.add_argument("--train-images", type=int, help="per training epoch (default 48 / 1024)")
    parser.add_argument("--workers", type=int, help="decoding processes (default 2 / 8)")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds (default 3)")
    args = parser.parse_args()

    device = pick_device(args.device)
    gpu = device.type == "cuda"
    model_name = args.model or ("convnext_large" if gpu else "convnext_tiny")
    batch = args.batch_size or (64 if gpu else 16)
    n_score = args.images or (2048 if gpu else 96)
    n_train = args.train_images or (1024 if gpu else 48)
    workers = args.workers if args.workers is not None else (8 if gpu else 2)
    recipe = load_recipe(
        RECIPE,
        {
            "model.name": model_name,
            "model.pretrained": None,
            "data.batch_size": batch,
            "data.workers": workers,
            "train.epochs": 2,
            "train.precision": "bf16" if gpu else "fp32",
            "train.channels_last": gpu,
        },
    )
    print(
        f"{model_name}, batch {batch}, {recipe.data.crop} px, device {device}, "
        f"{torch.get_num_threads()} threads, {workers} workers, "
        f"{recipe.train.precision}, channels_last={recipe.train.channels_last}"
    )

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        score_manifest = _write_jpegs(root / "score", n_score)
        train_manifest = _write_jpegs(root / "train", n_train)
        torch.manual_seed(0)
        model = build_model(recipe.model, LABELS)
        checkpoint = root / "model.pt"
        state = {"model": model.state_dict(), "recipe": recipe.to_dict(), "classes": list(LABELS)}
        checkpoints.save_atomic(state, checkpoint)

        # raw and pipeline figures are taken back to back, round after round, so that both of
        # a pair see the same load on a shared machine; the median pair is reported
        scoring, training = [], []
        for round_ in range(args.rounds):
            raw_forward = _raw_forward(model, recipe, device, n_score)
            steady, whole = _end_to_end_score(checkpoint, score_manifest, batch, workers, device)
            raw_step = _raw_train_step(model, recipe, device, n_train)
            loop = _training_loop(recipe, train_manifest, root / f"run{round_}", device)
            print(
                f"round {round_ + 1}: forward {raw_forward:.2f}, score {steady:.2f} "
                f"(whole call {whole:.2f}), train step {raw_step:.2f}, train loop {loop:.2f} img/s"
            )
            scoring.append((raw_forward, steady))
            training.append((raw_step, loop))

    _report("scoring", _median_pair(scoring), SCORE_TARGET, "steady state after the 1st batch")
    _report("training", _median_pair(training), TRAIN_TARGET, "second epoch of train()")


def _write_jpegs(folder: Path, n: int) -> Path:
    """n 320x320 JPEGs cut from scikit-image's photographs, and a manifest of them."""
    folder.mkdir(parents=True)
    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()]
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(rng.integers(200, min(photo.shape[:2]) + 1))
        y, x = (int(rng.integers(0, d - side + 1)) for d in photo.shape[:2])
        image = Image.fromarray(photo[y : y + side, x : x + side]).resize((320, 320))
        image.save(folder / f"{i:05d}.jpg", quality=90)
        lines.append(json.dumps({"path": f"{i:05d}.jpg", "label": LABELS[i % 2]}))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def _synthetic(recipe, device, batch: int) -> torch.Tensor:
    crop = recipe.data.crop
    return torch.randn(batch, 3, crop, crop, device=device).to(memory_format=_memory_format(recipe))


def _raw_forward(model, recipe, device, n_images: int) -> float:
    model = model.to(device, memory_format=_memory_format(recipe)).eval()
    images = _synthetic(recipe, device, recipe.data.batch_size)
    n_batches = math.ceil(n_images / len(images))
    with torch.inference_mode(), autocast_for(device, recipe.train.precision):
        for _ in range(2):  # warm-up: allocator, kernels
            model(images)
        _sync(device)
        started = time.perf_counter()
        for _ in range(n_batches):
            model(images).float().cpu()  # scoring also copies probabilities to the host
        elapsed = time.perf_counter() - started
    return n_batches * len(images) / elapsed


def _end_to_end_score(checkpoint, manifest, batch, workers, device) -> tuple[float, float]:
    """(steady-state images/s after the first batch, images/s of the whole call)."""
    marks: list[tuple[float, int]] = []
    started = time.perf_counter()
    rows = score(
        checkpoint,
        manifest,
        batch_size=batch,
        workers=workers,
        device=str(device),
        on_progress=lambda done, total: marks.append((time.perf_counter(), done)),
    )
    whole = len(rows) / (time.perf_counter() - started)
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    return (n1 - n0) / (t1 - t0), whole


def _raw_train_step(model, recipe, device, n_images: int) -> float:
    model = model.to(device, memory_format=_memory_format(recipe)).train()
    spec = recipe.train
    optimizer = timm.optim.create_optimizer_v2(
        model, opt=spec.optimizer, lr=spec.lr, weight_decay=spec.weight_decay, betas=spec.betas
    )
    images = _synthetic(recipe, device, recipe.data.batch_size)
    targets = torch.randint(0, 2, (len(images),), device=device).float()

    def step() -> None:
        with autocast_for(device, spec.precision):
            loss = F.binary_cross_entropy_with_logits(model(images)[:, 0].float(), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    _sync(device)
    n_steps = math.ceil(n_images / len(images))
    started = time.perf_counter()
    for _ in range(n_steps):
        step()
    _sync(device)
    return n_steps * len(images) / (time.perf_counter() - started)


def _training_loop(recipe, manifest, out_dir, device) -> float:
    """images/s of train()'s second epoch: workers and allocator are warm by then."""
    result = train(recipe, manifest, out_dir, split=None, device=str(device))
    return result.history[-1]["images_per_s"]


def _memory_format(recipe) -> torch.memory_format:
    return torch.channels_last if recipe.train.channels_last else torch.contiguous_format


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return sorted(pairs, key=lambda pair: pair[1] / pair[0])[len(pairs) // 2]


def _report(what: str, pair: tuple[float, float], target: float, note: str) -> None:
    raw, pipeline = pair
    ratio = pipeline / raw
    verdict = "PASS" if ratio >= target else "FAIL"
    print(
        f"{what:>8}: raw {raw:8.2f} img/s | pipeline {pipeline:8.2f} img/s ({note}) | "
        f"{ratio:6.1%} of raw, target {target:.0%}: {verdict}"
    )


if __name__ == "__main__":
    main()
