"""The per-generator table CNNDetection and UniversalFakeDetect report, from scores.

For each generator: accuracy on real images, on its fake images and overall at a threshold
(0.5), average precision and ROC AUC (fake = positive, from scikit-learn) and the expected
calibration error; then the same over all images. Real images that name a generator (as in
CNNDetection's folders) count only in that generator's row; real images without one count in
every generator's row, since they are every generator's negatives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from detector.scoring import ScoreRow, score

ECE_BINS = 15  # Guo et al. 2017
ALL = "all"


@dataclass(frozen=True)
class EvalRow:
    group: str  # a generator name, or "all"
    n_real: int
    n_fake: int
    acc_real: float  # NaN where the group has no real images; likewise below
    acc_fake: float
    acc: float
    ap: float  # NaN where the group holds one label only; likewise auc
    auc: float
    ece: float


@dataclass(frozen=True)
class EvalTable:
    rows: tuple[EvalRow, ...]  # generators in name order, then "all"
    threshold: float
    attribution_accuracy: float | None = None  # N-way heads: share of argmax == true class

    def summary(self) -> str:
        header = f"{'group':<32} {'n_real':>6} {'n_fake':>6} " + " ".join(
            f"{name:>8}" for name in ("acc_real", "acc_fake", "acc", "AP", "AUC", "ECE")
        )
        lines = [header]
        for row in self.rows:
            numbers = (row.acc_real, row.acc_fake, row.acc, row.ap, row.auc, row.ece)
            lines.append(
                f"{row.group:<32} {row.n_real:>6} {row.n_fake:>6} "
                + " ".join(f"{value:>8.4f}" for value in numbers)
            )
        lines.append(f"threshold {self.threshold}")
        if self.attribution_accuracy is not None:
            lines.append(f"generator attribution accuracy {self.attribution_accuracy:.4f}")
        return "\n".join(lines)

    def write_csv(self, path: str | Path) -> None:
        columns = [name for name in EvalRow.__dataclass_fields__]
        lines = [",".join(columns)]
        lines += [",".join(str(getattr(row, name)) for name in columns) for row in self.rows]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def evaluate(
    checkpoint_path: str | Path,
    manifest_path: str | Path,
    *,
    threshold: float = 0.5,
    **score_options,
) -> EvalTable:
    """Scores the manifest with the checkpoint (see `scoring.score`), then tabulates."""
    return evaluate_scores(
        score(checkpoint_path, manifest_path, **score_options), threshold=threshold
    )


def evaluate_scores(rows: Sequence[ScoreRow], *, threshold: float = 0.5) -> EvalTable:
    generators = sorted({row.generator for row in rows if row.label == "fake" and row.generator})
    table = []
    for generator in generators:
        group = [
            row
            for row in rows
            if row.generator == generator or (row.label == "real" and row.generator is None)
        ]
        table.append(_row(generator, group, threshold))
    table.append(_row(ALL, rows, threshold))
    return EvalTable(tuple(table), threshold, _attribution_accuracy(rows))


def _row(name: str, rows: Sequence[ScoreRow], threshold: float) -> EvalRow:
    is_fake = np.array([row.label == "fake" for row in rows], dtype=bool)
    p_fake = np.array([row.p_fake for row in rows], dtype=float)
    said_fake = p_fake >= threshold
    correct = said_fake == is_fake
    two_labels = 0 < is_fake.sum() < len(is_fake)
    return EvalRow(
        group=name,
        n_real=int((~is_fake).sum()),
        n_fake=int(is_fake.sum()),
        acc_real=_mean(correct[~is_fake]),
        acc_fake=_mean(correct[is_fake]),
        acc=_mean(correct),
        ap=float(average_precision_score(is_fake, p_fake)) if two_labels else math.nan,
        auc=float(roc_auc_score(is_fake, p_fake)) if two_labels else math.nan,
        ece=expected_calibration_error(is_fake, p_fake),
    )


def expected_calibration_error(is_fake: np.ndarray, p_fake: np.ndarray) -> float:
    """ECE of the predicted label's confidence, max(p, 1 - p), over ECE_BINS equal-width bins.

    Sum over bins of (bin share of images) * |accuracy in bin - mean confidence in bin|.
    """
    if len(p_fake) == 0:
        return math.nan
    confidence = np.maximum(p_fake, 1 - p_fake)
    correct = (p_fake >= 0.5) == is_fake
    # bins are (lo, hi]; confidence is >= 0.5, so the lower bins stay empty
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, ECE_BINS - 1)
    ece = 0.0
    for b in range(ECE_BINS):
        members = bins == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def _attribution_accuracy(rows: Sequence[ScoreRow]) -> float | None:
    if not rows or len(rows[0].probs) <= 2:
        return None
    hits = [
        max(row.probs, key=row.probs.__getitem__)
        == ("real" if row.label == "real" else row.generator)
        for row in rows
    ]
    return float(np.mean(hits))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan
