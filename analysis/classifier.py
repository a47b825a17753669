"""Classifier metrics on one group of images: accuracy at 0.5, AUC, AP, calibration, and the
operating point that matches the humans' false-alarm rate.

A score is the run's probability that the image is generated; the classifier says "fake" when the
score is above the threshold (0.5 unless stated), as in the CNNDetection evaluation.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

ECE_BINS = 15


@dataclass(frozen=True)
class ClassifierMetrics:
    """Accuracies (overall, on real, on fake), ROC AUC, average precision and expected calibration
    error; AUC and AP are NaN where the group holds one label only."""

    n: int
    acc: float
    acc_real: float
    acc_fake: float
    auc: float
    ap: float
    ece: float

    def summary(self) -> str:
        return (
            f"n={self.n} acc={self.acc:.4f} (real {self.acc_real:.4f}, fake {self.acc_fake:.4f}) "
            f"AUC={self.auc:.4f} AP={self.ap:.4f} ECE={self.ece:.4f}"
        )


@dataclass(frozen=True)
class OperatingPoint:
    """The classifier at the threshold whose false-alarm rate on real images matches a target."""

    threshold: float
    false_alarm_rate: float
    hit_rate: float
    acc: float

    def summary(self) -> str:
        return (
            f"threshold={self.threshold:.4f}: F={self.false_alarm_rate:.4f} "
            f"H={self.hit_rate:.4f} acc={self.acc:.4f}"
        )


def classifier_metrics(
    is_fake: np.ndarray, p_fake: np.ndarray, threshold: float = 0.5, n_bins: int = ECE_BINS
) -> ClassifierMetrics:
    """Metrics of scores `p_fake` against labels `is_fake` (NaN scores are left out)."""
    is_fake = np.asarray(is_fake, bool)
    p_fake = np.asarray(p_fake, float)
    keep = ~np.isnan(p_fake)
    is_fake, p_fake = is_fake[keep], p_fake[keep]
    if len(p_fake) == 0:
        return ClassifierMetrics(0, *([np.nan] * 6))
    correct = (p_fake > threshold) == is_fake
    both = is_fake.any() and (~is_fake).any()
    return ClassifierMetrics(
        n=len(p_fake),
        acc=float(correct.mean()),
        acc_real=float(correct[~is_fake].mean()) if (~is_fake).any() else np.nan,
        acc_fake=float(correct[is_fake].mean()) if is_fake.any() else np.nan,
        auc=float(roc_auc_score(is_fake, p_fake)) if both else np.nan,
        ap=float(average_precision_score(is_fake, p_fake)) if both else np.nan,
        ece=expected_calibration_error(is_fake, p_fake, n_bins),
    )


def expected_calibration_error(
    is_fake: np.ndarray, p_fake: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """ECE of the predicted label's confidence max(p, 1 − p) in equal-width bins (Guo et al. 2017):
    Σ_b (n_b / n)·|accuracy_b − mean confidence_b|."""
    is_fake = np.asarray(is_fake, bool)
    p_fake = np.asarray(p_fake, float)
    if len(p_fake) == 0:
        return np.nan
    predicted_fake = p_fake > 0.5
    confidence = np.where(predicted_fake, p_fake, 1.0 - p_fake)
    correct = predicted_fake == is_fake
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    acc_b = np.bincount(bins, correct, n_bins)
    conf_b = np.bincount(bins, confidence, n_bins)
    return float(np.sum(np.abs(acc_b - conf_b)) / len(p_fake))


def threshold_for_false_alarm_rate(real_scores: np.ndarray, rate: float) -> float:
    """The threshold t with round(rate·n) real scores above it, so that "fake when p > t" raises
    false alarms on real images at (as near as the scores allow) the given rate."""
    real_scores = np.sort(np.asarray(real_scores, float)[~np.isnan(real_scores)])[::-1]
    if len(real_scores) == 0 or np.isnan(rate):
        return np.nan
    k = round(rate * len(real_scores))
    if k >= len(real_scores):
        return float(np.nextafter(real_scores[-1], -np.inf))
    return float(real_scores[k])


def operating_point(is_fake: np.ndarray, p_fake: np.ndarray, threshold: float) -> OperatingPoint:
    """False-alarm rate, hit rate and accuracy of "fake when p > threshold"."""
    is_fake = np.asarray(is_fake, bool)
    p_fake = np.asarray(p_fake, float)
    keep = ~np.isnan(p_fake)
    is_fake, p_fake = is_fake[keep], p_fake[keep]
    if np.isnan(threshold) or len(p_fake) == 0:
        return OperatingPoint(threshold, np.nan, np.nan, np.nan)
    says_fake = p_fake > threshold
    fa = float(says_fake[~is_fake].mean()) if (~is_fake).any() else np.nan
    hit = float(says_fake[is_fake].mean()) if is_fake.any() else np.nan
    return OperatingPoint(threshold, fa, hit, float((says_fake == is_fake).mean()))
