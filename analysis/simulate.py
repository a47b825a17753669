"""Simulated studies with known truth, in the shape of the platform's exports.

Used by the tests (coverage of the intervals, recovery of known accuracies) and by
`bench/analysis_scale.py`. People answer correctly with probability
clip(acc[group] + a[participant] + b[image]), a and b uniform and centred, so the population
accuracy of each generator (and of real images) is exactly the configured one; a classifier run
answers correctly with its own probability per image and size, its score on the right side of 0.5.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class StudySpec:
    """What to simulate. `human_acc` maps a generator (or `real`) to people's accuracy on it;
    `clf_acc` maps a run name to its accuracy on every image."""

    n_participants: int = 40
    trials_per_participant: int = 60
    images_per_group: int = 100
    sizes: tuple[int, ...] = (256, 512)
    human_acc: dict[str, float] = field(default_factory=lambda: {"real": 0.7, "A": 0.6, "B": 0.8})
    clf_acc: dict[str, float] = field(default_factory=lambda: {"detector": 0.95})
    participant_spread: float = 0.1
    image_spread: float = 0.1
    confidence_scale: int | None = 4
    categories: tuple[str, ...] = ("faces", "scenes")
    practice_trials: int = 0
    attention_trials: int = 0
    excluded_participants: int = 0
    mode: str = "single"


def simulate_study(spec: StudySpec, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(responses, images) frames with the export columns; see the module docstring."""
    rng = np.random.default_rng(seed)
    images = _images(spec, rng)
    simulate = _pair_responses if spec.mode == "pair" else _single_responses
    responses = simulate(spec, images, rng)
    order = responses.groupby("participant", sort=False).cumcount().to_numpy()
    responses.loc[order < spec.practice_trials, "kind"] = "practice"
    attention_from = spec.trials_per_participant - spec.attention_trials
    responses.loc[order >= attention_from, "kind"] = "attention"
    return responses, images.drop(columns=["_group", "_b"])


def _images(spec: StudySpec, rng: np.random.Generator) -> pd.DataFrame:
    groups = list(spec.human_acc)
    n = spec.images_per_group * len(groups)
    group = np.repeat(groups, spec.images_per_group)
    is_fake = group != "real"
    ids = np.array([f"img-{seed_part:06d}" for seed_part in range(n)])
    width = rng.choice([256, 384, 512, 768, 1024, 2048], n)
    height = (width * rng.choice([0.75, 1.0, 1.5], n)).astype(int)
    base = pd.DataFrame(
        {
            "image": ids,
            "url": [f"/media/{i}.jpg" for i in ids],
            "sha256": [f"{k:064x}" for k in range(n)],
            "label": np.where(is_fake, "fake", "real"),
            "generator": np.where(is_fake, group, ""),
            "category": rng.choice(list(spec.categories), n),
            "split": "test",
            "width": width,
            "height": height,
            "format": rng.choice(["JPEG", "PNG"], n),
            "bytes": (width * height * rng.uniform(0.2, 1.5, n)).astype(int),
            "_group": group,
            "_b": rng.uniform(-spec.image_spread, spec.image_spread, n),
        }
    )
    frames = []
    for size in spec.sizes:
        frame = base.copy()
        frame["size"] = size
        for run, acc in spec.clf_acc.items():
            right = rng.random(n) < acc
            says_fake = np.where(right, is_fake, ~is_fake)
            margin = rng.uniform(0.01, 0.5, n)
            frame["score_" + run] = np.where(says_fake, 0.5 + margin, 0.5 - margin)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _assignments(
    spec: StudySpec, n_images: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    per = min(spec.trials_per_participant, n_images)
    participant = np.repeat(np.arange(spec.n_participants), per)
    image = np.concatenate(
        [rng.choice(n_images, per, replace=False) for _ in range(spec.n_participants)]
    )
    return participant, image


def _frame(
    spec: StudySpec, participant: np.ndarray, size: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(participant)
    excluded = participant < spec.excluded_participants
    return pd.DataFrame(
        {
            "participant": np.char.add("p", participant.astype(str)),
            "trial": [f"t-{k:08d}" for k in range(n)],
            "kind": "main",
            "size": size,
            "rt_ms": rng.lognormal(7.3, 0.4, n).astype(int),
            "excluded": excluded,
            "simulated": True,
            "created": pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(np.arange(n), unit="s"),
        }
    )


def _probability(spec, images, image_index, participant, rng) -> np.ndarray:
    first = images.drop_duplicates("image")
    acc = first["_group"].map(spec.human_acc).to_numpy(float)[image_index]
    a = rng.uniform(-spec.participant_spread, spec.participant_spread, spec.n_participants)
    return np.clip(acc + a[participant] + first["_b"].to_numpy()[image_index], 0.01, 0.99)


def _single_responses(spec, images, rng) -> pd.DataFrame:
    first = images.drop_duplicates("image")
    participant, image_index = _assignments(spec, len(first), rng)
    n = len(participant)
    correct = rng.random(n) < _probability(spec, images, image_index, participant, rng)
    is_fake = (first["label"].to_numpy() == "fake")[image_index]
    says_fake = np.where(correct, is_fake, ~is_fake)
    out = _frame(spec, participant, rng.choice(spec.sizes, n), rng)
    out["image"] = first["image"].to_numpy()[image_index]
    out["image_right"] = ""
    out["choice"] = np.where(says_fake, "fake", "real")
    out["confidence"] = _confidence(spec, correct, rng)
    out["correct"] = correct
    return out


def _pair_responses(spec, images, rng) -> pd.DataFrame:
    first = images.drop_duplicates("image")
    fakes = np.flatnonzero(first["label"].to_numpy() == "fake")
    reals = np.flatnonzero(first["label"].to_numpy() == "real")
    participant, pick = _assignments(spec, len(fakes), rng)
    fake_index = fakes[pick]
    real_index = rng.choice(reals, len(pick))
    n = len(participant)
    correct = rng.random(n) < _probability(spec, images, fake_index, participant, rng)
    fake_left = rng.random(n) < 0.5
    ids = first["image"].to_numpy()
    out = _frame(spec, participant, rng.choice(spec.sizes, n), rng)
    out["image"] = np.where(fake_left, ids[fake_index], ids[real_index])
    out["image_right"] = np.where(fake_left, ids[real_index], ids[fake_index])
    picked_left = np.where(correct, fake_left, ~fake_left)
    out["choice"] = np.where(picked_left, "left", "right")
    out["confidence"] = _confidence(spec, correct, rng)
    out["correct"] = correct
    return out


def _confidence(spec: StudySpec, correct: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if spec.confidence_scale is None:
        return np.full(len(correct), None, dtype=object)
    k = spec.confidence_scale
    sure = np.clip(rng.normal(np.where(correct, 0.65, 0.4), 0.25) * k + 0.5, 1, k)
    return sure.astype(int)
