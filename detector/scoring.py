"""Scoring a manifest with a checkpoint: the probability that each image is generated.

Deterministic given the checkpoint: eval transforms only, no randomness, fixed batch order. With
`size`, each image is first rendered as the display variant volunteers see at that size (the
same resize and JPEG re-encoding), so people and the classifier judge the same pixels.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from detector import checkpoints
from detector.data import ManifestDataset, make_loader
from detector.manifest import read_manifest
from detector.model import Detector, build_model
from detector.predict import p_fake_of, predict
from detector.recipes import Recipe, recipe_from_dict
from detector.runtime import cpu_threads, pick_device
from detector.transforms import eval_transform


@dataclass(frozen=True)
class ScoreRow:
    path: str  # as written in the manifest
    label: str
    p_fake: float
    probs: Mapping[str, float]  # per class; ("real", "fake") for a binary head
    generator: str | None = None
    category: str | None = None
    split: str | None = None


@dataclass(frozen=True)
class LoadedModel:
    model: Detector
    recipe: Recipe
    classes: tuple[str, ...]


def load_model(checkpoint_path: str | Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    """The trained network of a checkpoint, in eval mode on `device`."""
    state = checkpoints.load(checkpoint_path, device="cpu")
    # the weights come from the checkpoint; the recipe's pretrained file need not exist here
    recipe = recipe_from_dict(
        state["recipe"], {"model.pretrained": None}, origin=f"recipe in {checkpoint_path}"
    )
    classes = tuple(state["classes"])
    model = build_model(recipe.model, classes)
    model.load_state_dict(state["model"])
    memory_format = torch.channels_last if recipe.train.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format).eval()
    return LoadedModel(model, recipe, classes)


def score(
    checkpoint_path: str | Path,
    manifest_path: str | Path,
    *,
    split: str | None = None,
    size: int | None = None,
    batch_size: int = 64,
    workers: int = 2,
    device: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[ScoreRow]:
    """Scores every image of the manifest (or of its `split`); `on_progress(done, total)`."""
    run_device = pick_device(device)
    loaded = load_model(checkpoint_path, device=run_device)
    rows = read_manifest(manifest_path, split=split)
    config = loaded.model.backbone.pretrained_cfg
    dataset = ManifestDataset(
        rows,
        eval_transform(loaded.recipe.data, config["mean"], config["std"]),
        targets=[0] * len(rows),  # unused: scoring needs no labels
        display_size=size,
    )
    loader = make_loader(dataset, batch_size=batch_size, workers=workers)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, len(rows))

    with cpu_threads(loaded.recipe.train.threads):
        batches = predict(
            loaded.model,
            loader,
            device=run_device,
            precision=loaded.recipe.train.precision,
            channels_last=loaded.recipe.train.channels_last,
            on_batch=advance,
        )
        probs = torch.cat(list(batches))
    p_fake = p_fake_of(probs, loaded.classes)
    return [
        ScoreRow(
            path=row.path,
            label=row.label,
            p_fake=float(p),
            probs=dict(zip(loaded.classes, map(float, class_probs), strict=True)),
            generator=row.generator,
            category=row.category,
            split=row.split,
        )
        for row, p, class_probs in zip(rows, p_fake.tolist(), probs.tolist(), strict=True)
    ]


def write_scores_csv(rows: Iterable[ScoreRow], path: str | Path) -> None:
    """`path, label, p_fake, generator, category, split`, then `p_<class>` for N-way heads.

    Written to a temporary file and renamed, so a crash never leaves half the scores behind.
    """
    rows = list(rows)
    path = Path(path)
    class_names = list(rows[0].probs) if rows else []
    per_class = class_names if len(class_names) > 2 else []
    columns = ["path", "label", "p_fake", "generator", "category", "split"]
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(columns + [f"p_{name}" for name in per_class])
        for row in rows:
            fixed = [row.path, row.label, repr(row.p_fake), row.generator, row.category, row.split]
            writer.writerow(
                [value if value is not None else "" for value in fixed]
                + [repr(row.probs[name]) for name in per_class]
            )
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def read_scores_csv(path: str | Path) -> list[ScoreRow]:
    """Reads back what `write_scores_csv` wrote."""
    with Path(path).open(newline="", encoding="utf-8") as file:
        records = list(csv.DictReader(file))
    out = []
    for record in records:
        p_fake = float(record["p_fake"])
        probs = {
            key.removeprefix("p_"): float(value)
            for key, value in record.items()
            if key.startswith("p_") and key != "p_fake"
        } or {"real": 1 - p_fake, "fake": p_fake}
        out.append(
            ScoreRow(
                path=record["path"],
                label=record["label"],
                p_fake=p_fake,
                probs=probs,
                generator=record.get("generator") or None,
                category=record.get("category") or None,
                split=record.get("split") or None,
            )
        )
    return out
