"""Signal detection measures for real/fake judgements ("fake" is the signal).

Formulas follow Stanislaw & Todorov (1999): d' = z(H) − z(F) and c = −(z(H) + z(F)) / 2. Rates of
0 or 1 would make z infinite, so counts get the log-linear correction of Hautus (1995) — add 0.5 to
every cell, H = (hits + 0.5) / (signals + 1) — applied to every group alike, not only the extreme
ones, so groups stay comparable. Two-alternative forced choice (pair mode) uses d' = √2·z(pc)
(Macmillan & Creelman 2005), with pc corrected the same way.
"""

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True)
class SDTResult:
    """d' and criterion c with the hit and false-alarm rates they were computed from."""

    dprime: float
    c: float
    hit_rate: float
    false_alarm_rate: float

    def summary(self) -> str:
        return (
            f"d'={self.dprime:.4f} c={self.c:.4f} "
            f"(H={self.hit_rate:.4f}, F={self.false_alarm_rate:.4f})"
        )


@dataclass(frozen=True)
class RatingROC:
    """The empirical ROC of a rating scale: one (F, H) point per criterion, and its area."""

    false_alarm_rates: np.ndarray
    hit_rates: np.ndarray
    auc: float

    def summary(self) -> str:
        return f"rating ROC with {len(self.hit_rates)} points, AUC={self.auc:.4f}"


def sdt_from_rates(hit_rate: float, false_alarm_rate: float) -> SDTResult:
    """d' and c from hit and false-alarm rates (both strictly between 0 and 1)."""
    dprime, c = dprime_c(np.asarray(hit_rate, float), np.asarray(false_alarm_rate, float))
    return SDTResult(float(dprime), float(c), float(hit_rate), float(false_alarm_rate))


def sdt_from_counts(hits: float, signals: float, false_alarms: float, noise: float) -> SDTResult:
    """d' and c from counts with the log-linear correction; NaN where a class has no trials."""
    if signals <= 0 or noise <= 0:
        return SDTResult(np.nan, np.nan, np.nan, np.nan)
    h = loglinear_rate(hits, signals)
    f = loglinear_rate(false_alarms, noise)
    return sdt_from_rates(float(h), float(f))


def loglinear_rate(count: np.ndarray | float, total: np.ndarray | float) -> np.ndarray:
    """(count + 0.5) / (total + 1), Hautus (1995); works on arrays of (weighted) counts."""
    return (np.asarray(count, float) + 0.5) / (np.asarray(total, float) + 1.0)


def dprime_c(hit_rate: np.ndarray, false_alarm_rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised d' = z(H) − z(F) and c = −(z(H) + z(F)) / 2."""
    zh = norm.ppf(hit_rate)
    zf = norm.ppf(false_alarm_rate)
    return zh - zf, -(zh + zf) / 2.0


def dprime_2afc(correct: np.ndarray | float, total: np.ndarray | float) -> np.ndarray:
    """d' = √2·z(pc) for two-alternative forced choice, pc log-linear corrected."""
    total = np.asarray(total, float)
    pc = loglinear_rate(correct, total)
    return np.where(total > 0, np.sqrt(2.0) * norm.ppf(pc), np.nan)


def rating_scores(choice_fake: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """One "how fake" score per response on a 2k-point scale: +confidence if the choice was fake,
    −confidence if real (a confidence of k is the surest answer either way)."""
    confidence = np.asarray(confidence, float)
    return np.where(np.asarray(choice_fake, bool), confidence, -confidence)


def rating_roc(
    is_fake: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None
) -> RatingROC:
    """Rating-scale ROC: cumulating responses from the surest "fake" down gives one (F, H) point
    per criterion; the area is the trapezoidal one through those points, which is what
    scikit-learn's `roc_auc_score` computes on the same scores (ties share a point)."""
    is_fake = np.asarray(is_fake, bool)
    score = np.asarray(score, float)
    weight = np.ones(len(score)) if weight is None else np.asarray(weight, float)
    if not (is_fake & (weight > 0)).any() or not (~is_fake & (weight > 0)).any():
        return RatingROC(np.array([]), np.array([]), np.nan)
    levels = np.unique(score)[::-1]
    position = np.searchsorted(-levels, -score)
    fake_counts = np.bincount(position, weights=weight * is_fake, minlength=len(levels))
    real_counts = np.bincount(position, weights=weight * ~is_fake, minlength=len(levels))
    hits = np.cumsum(fake_counts) / fake_counts.sum()
    false_alarms = np.cumsum(real_counts) / real_counts.sum()
    auc = float(roc_auc_score(is_fake, score, sample_weight=weight))
    return RatingROC(false_alarms[:-1], hits[:-1], auc)
